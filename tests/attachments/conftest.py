"""The attachment tests' app (it serves the test-only questionnaire, whose image/file questions take files)
and an S3-compatible server process: moto's server mode, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from tests.schemas_app import app_with_test_forms

    return app_with_test_forms()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server in its own process (a real HTTP endpoint, not a mock object)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **S3_ENV},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()  # noqa: S310 - loopback
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the moto S3 server exited at start-up") from None
                time.sleep(0.1)
        else:
            raise RuntimeError("the moto S3 server did not answer within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_client(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import boto3

    for k, v in S3_ENV.items():
        monkeypatch.setenv(k, v)
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
