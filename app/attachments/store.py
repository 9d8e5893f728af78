"""Content-addressed blob stores: the bytes of an attachment live under their SHA-256, written once.

Two kinds, chosen by configuration (`ATTACHMENTS_S3_BUCKET` set → S3-compatible, else local disk):
- `LocalStore`: `<ATTACHMENTS_DIR>/ab/cd/<sha256>`, written to a temporary file in the same folder,
  fsynced, renamed into place and the folder fsynced, so a stored blob survives a crash and a reader never
  sees half a file. Good for one machine (any number of worker processes on it).
- `S3Store`: one object per blob (`<prefix><sha256>`) in an S3-compatible bucket, for deployments whose
  processes run on several machines. The object is sent with its SHA-256 checksum (x-amz-checksum-sha256),
  which Amazon S3 verifies on arrival (moto, the test server, does not).

A blob is always stored before the database row that names it is committed: a crash in between leaves an
unreferenced blob (harmless; the retry writes the same key), never a row without its bytes.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from app.core.config import Settings, get_settings

CHUNK = 1 << 16


class BlobStore(Protocol):
    def put(self, sha256: str, data: bytes) -> None:
        """Store `data` under its SHA-256 (idempotent: the same key always holds the same bytes)."""

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> Iterator[bytes]:
        """The stored bytes, in chunks."""


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.is_file():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def open(self, sha256: str) -> Iterator[bytes]:
        with self._path(sha256).open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


class S3Store:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def put(self, sha256: str, data: bytes) -> None:
        if self.exists(sha256):
            return
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        self.client.put_object(Bucket=self.bucket, Key=self._key(sha256), Body=data, ChecksumSHA256=checksum)

    def open(self, sha256: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()


def make_store(settings: Settings) -> BlobStore:
    if settings.attachments_s3_bucket:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=settings.attachments_s3_endpoint_url or None,
            region_name=settings.attachments_s3_region or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        return S3Store(client, settings.attachments_s3_bucket, settings.attachments_s3_prefix)
    return LocalStore(settings.attachments_dir)


@lru_cache
def get_store() -> BlobStore:
    return make_store(get_settings())
