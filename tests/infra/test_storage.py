"""Storage: the local folder and S3 through boto3 against moto's S3 server over real HTTP."""

from __future__ import annotations

import socket

import pytest

from infra.storage import LocalStorage
from infra.storage import NotFound
from infra.storage import S3Storage
from infra.storage import school_key


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    storage = S3Storage("legitka-test", endpoint_url=s3_endpoint, region="eu-central-1",
                        access_key="testing", secret_key="testing")
    storage.ensure_bucket()
    return storage


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    return LocalStorage(tmp_path) if request.param == "local" else request.getfixturevalue("s3")


def test_put_get_delete_roundtrip(storage):
    key = school_key(7, "photos", "abc123.jpg")
    assert not storage.exists(key)
    storage.put(key, b"\xff\xd8jpeg bytes", "image/jpeg")
    assert storage.exists(key) and storage.get(key) == b"\xff\xd8jpeg bytes"
    storage.put(key, b"replaced", "image/jpeg")  # deterministic keys: a retry overwrites
    assert storage.get(key) == b"replaced"
    storage.delete(key)
    with pytest.raises(NotFound):
        storage.get(key)


def test_s3_objects_carry_their_content_type(s3):
    key = school_key(7, "orders", 3, "cards.pdf")
    s3.put(key, b"%PDF-1.7", "application/pdf")
    assert s3.client.head_object(Bucket=s3.bucket, Key=key)["ContentType"] == "application/pdf"


@pytest.mark.parametrize("part", ["44051401458 Kowalski.jpg", "../etc", "a/b", "", "Żółw.jpg"])
def test_keys_refuse_anything_but_ids_words_and_tokens(part):
    with pytest.raises(ValueError):
        school_key(1, "photos", part)


def test_local_storage_cannot_escape_its_root(tmp_path):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path / "root").put("../outside.txt", b"x", "text/plain")


def test_the_app_builds_s3_storage_from_settings(s3_endpoint):
    from infra.crypto import new_key
    from infra.storage import build_storage
    from infra.storage_crypto import EncryptedStorage

    storage = build_storage({"S3_BUCKET": "from-settings", "S3_ENDPOINT_URL": s3_endpoint, "S3_REGION": "eu-central-1",
                             "S3_ACCESS_KEY": "testing", "S3_SECRET_KEY": "testing", "S3_CREATE_BUCKET": True,
                             "PESEL_KEY": new_key()})
    assert isinstance(storage, EncryptedStorage) and isinstance(storage.inner, S3Storage)
    storage.put(school_key(1, "x.txt"), b"ok", "text/plain")
    assert storage.get(school_key(1, "x.txt")) == b"ok"


def test_files_are_stored_and_read_back_in_chunks(storage, tmp_path):
    """A large upload (a school's photo ZIP) goes to storage and back through files, never whole in memory."""
    import hashlib
    import os

    key = school_key(7, "imports", "zip123.bin")
    source = tmp_path / "upload.zip"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    with source.open("rb") as upload:
        storage.put_file(key, upload, "application/zip")
    back = tmp_path / "back.zip"
    with back.open("wb") as target:
        storage.get_file(key, target)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert not list(tmp_path.rglob("*.part"))
    storage.delete(key)
    with back.open("wb") as target, pytest.raises(NotFound):
        storage.get_file(key, target)
