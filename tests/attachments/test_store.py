"""Both blob stores keep bytes under their SHA-256, idempotently; the S3 one against a real S3 server process."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from app.attachments.store import LocalStore, S3Store, make_store
from app.core.config import Settings


def _roundtrip(store) -> None:  # type: ignore[no-untyped-def]
    data = b"\xff\xd8\xff" + uuid.uuid4().bytes * 50_000  # ~800 kB, several read chunks
    digest = hashlib.sha256(data).hexdigest()
    assert not store.exists(digest)
    store.put(digest, data)
    store.put(digest, data)  # idempotent
    assert store.exists(digest)
    assert b"".join(store.open(digest)) == data


def test_local_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    _roundtrip(store)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert (
        len(files) == 1
        and files[0].name == files[0].parent.parent.name + files[0].parent.name + files[0].name[4:]
    )
    assert not list(tmp_path.rglob(".incoming-*"))


def test_s3_store_against_a_real_server(s3_client) -> None:  # type: ignore[no-untyped-def]
    bucket = f"kc-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    store = S3Store(s3_client, bucket, "attachments/")
    _roundtrip(store)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("attachments/")


def test_configuration_chooses_the_store(tmp_path: Path, s3_endpoint: str, s3_client) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(make_store(Settings(attachments_dir=tmp_path)), LocalStore)
    s3 = make_store(
        Settings(
            attachments_s3_bucket="b",
            attachments_s3_endpoint_url=s3_endpoint,
            attachments_s3_region="us-east-1",
        )
    )
    assert isinstance(s3, S3Store) and s3.bucket == "b" and s3.prefix == "attachments/"
