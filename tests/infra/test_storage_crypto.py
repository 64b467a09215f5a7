"""Every stored object encrypted at rest (docs/security.md T3.20), on the local folder and on
moto's S3 server: what the folder or bucket holds, what is refused (altered, truncated,
reordered, moved, unknown key), legacy plain objects read and then encrypted in place, the
printers' recipient-encrypted packages left as they are, and memory bounded for a large file."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import pytest

from infra.envelope import CHUNK_BYTES
from infra.envelope import HEADER_BYTES
from infra.envelope import MAGIC
from infra.envelope import TAG_BYTES
from infra.envelope import EnvelopeError
from infra.envelope import StorageKeys
from infra.storage import LocalStorage
from infra.storage import NotFound
from infra.storage import S3Storage
from infra.storage import school_key
from infra.storage_crypto import EncryptedStorage
from infra.storage_crypto import encrypt_all
from infra.storage_crypto import keys_from_config
from tests.infra.test_storage import s3_endpoint  # noqa: F401 (the moto server fixture)

PESEL = "44051401458"
SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c" + b"\x00\x04" + os.urandom(64)  # a 7z signature, then (encrypted) noise


@pytest.fixture
def keys():
    return StorageKeys(os.urandom(32))


@pytest.fixture
def bucket(s3_endpoint):  # noqa: F811
    """A fresh versioned bucket on moto: every version of every object in it is this test's."""
    backend = S3Storage(f"legitka-envelope-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint,
                        region="eu-central-1", access_key="testing", secret_key="testing")
    backend.ensure_bucket(versioned=True)
    return backend


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path):
    return LocalStorage(tmp_path / "files") if request.param == "local" else request.getfixturevalue("bucket")


def raw(backend, key: str) -> bytes:
    """The bytes the folder or bucket holds under `key`, past the encryption layer."""
    return backend.get(key)


def every_version(backend) -> list[bytes]:
    if isinstance(backend, LocalStorage):
        return [raw(backend, key) for key in backend.keys_under()]
    listing = backend.client.list_object_versions(Bucket=backend.bucket)
    return [backend.client.get_object(Bucket=backend.bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
            for v in listing.get("Versions", [])]


def test_objects_are_stored_encrypted_and_read_back_plain(backend, keys):
    storage = EncryptedStorage(backend, keys)
    key = school_key(7, "photos", "abc.jpg")
    photo = b"\xff\xd8\xff\xe0 pupil " + PESEL.encode() + b" Wr\xc3\xb3blewska" + os.urandom(3 * CHUNK_BYTES)
    storage.put(key, photo, "image/jpeg")
    stored = raw(backend, key)
    assert stored.startswith(MAGIC) and PESEL.encode() not in stored and b"\xff\xd8\xff" not in stored[:64]
    assert storage.get(key) == photo and storage.exists(key)
    for size in (0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES):  # every boundary
        data = os.urandom(size)
        storage.put_file(key, io.BytesIO(data), "application/zip")
        assert len(raw(backend, key)) == HEADER_BYTES + size + TAG_BYTES * max(1, -(-size // CHUNK_BYTES))
        back = io.BytesIO()
        storage.get_file(key, back)
        assert back.getvalue() == data and storage.get(key) == data
    storage.delete(key)
    with pytest.raises(NotFound):
        storage.get(key)


def test_a_file_past_boto3s_multipart_threshold_goes_to_s3_encrypted_and_back(bucket, keys, tmp_path):
    # boto3 reads a non-seekable source a part (8 MB) at a time and takes a short read for its end.
    storage = EncryptedStorage(bucket, keys)
    key = school_key(7, "imports", "big.bin")
    data = os.urandom(9 * 1024 * 1024 + 5)
    storage.put_file(key, io.BytesIO(data), "application/zip")
    assert len(raw(bucket, key)) == HEADER_BYTES + len(data) + TAG_BYTES * -(-len(data) // CHUNK_BYTES)
    with (tmp_path / "back.bin").open("wb") as target:
        storage.get_file(key, target)
    assert (tmp_path / "back.bin").read_bytes() == data
    package = school_key(7, "orders", 1, "package.7z")
    packed = SEVEN_ZIP + os.urandom(9 * 1024 * 1024)
    storage.put_file(package, io.BytesIO(packed), "application/x-7z-compressed", recipient_encrypted=True)
    assert raw(bucket, package) == packed


def test_an_altered_truncated_reordered_or_extended_object_is_refused(backend, keys):
    storage = EncryptedStorage(backend, keys)
    key = school_key(7, "imports", "list.bin")
    storage.put(key, os.urandom(3 * CHUNK_BYTES + 100), "application/octet-stream")
    stored = raw(backend, key)
    sealed = CHUNK_BYTES + TAG_BYTES
    chunks = [stored[HEADER_BYTES + i * sealed: HEADER_BYTES + (i + 1) * sealed] for i in range(4)]
    flipped = bytearray(stored)
    flipped[HEADER_BYTES + sealed + 5] ^= 1
    header = bytearray(stored[:HEADER_BYTES])
    header[20] ^= 1  # a byte of the salt
    damaged = {
        "a flipped bit": bytes(flipped),
        "cut at a chunk boundary": stored[: HEADER_BYTES + 2 * sealed],
        "cut inside a chunk": stored[:-7],
        "cut inside the header": stored[: HEADER_BYTES - 3],
        "two chunks swapped": stored[:HEADER_BYTES] + chunks[1] + chunks[0] + chunks[2] + chunks[3],
        "a chunk appended": stored + chunks[0],
        "an altered header": bytes(header) + stored[HEADER_BYTES:],
    }
    for what, data in damaged.items():
        backend.put(key, data, "application/octet-stream")
        with pytest.raises(EnvelopeError, match=f"stored object {key} cannot be decrypted"):
            storage.get(key)
        with pytest.raises(EnvelopeError):
            storage.get_file(key, io.BytesIO())
        print(what, "refused")


def test_an_object_moved_to_another_key_is_refused(backend, keys):
    storage = EncryptedStorage(backend, keys)
    source, other = school_key(1, "photos", "a.jpg"), school_key(2, "photos", "a.jpg")
    storage.put(source, b"photo of school 1", "image/jpeg")
    backend.put(other, raw(backend, source), "image/jpeg")  # copied by someone with access to the bucket
    with pytest.raises(EnvelopeError, match="belongs under another key"):
        storage.get(other)
    with pytest.raises(EnvelopeError):
        storage.get_file(other, io.BytesIO())


def test_an_object_under_an_unknown_key_names_the_missing_setting(backend, keys):
    key = school_key(7, "photos", "x.jpg")
    EncryptedStorage(backend, keys).put(key, b"photo", "image/jpeg")
    with pytest.raises(EnvelopeError, match="unknown storage key .*LEGITKA_STORAGE_KEY"):
        EncryptedStorage(backend, StorageKeys(os.urandom(32))).get(key)


def test_legacy_plain_objects_are_read_then_encrypted_in_place_by_the_command(backend, keys):
    storage = EncryptedStorage(backend, keys)
    photo, roster = school_key(7, "photos", "old.jpg"), school_key(7, "imports", "old.bin")
    package = school_key(7, "orders", 3, "attempts", 1, "package.7z")
    backend.put(photo, b"\xff\xd8\xff\xe0 old photo", "image/jpeg")  # written before T3.20
    backend.put(roster, f"Kowalska;{PESEL}".encode(), "text/csv")
    backend.put(package, SEVEN_ZIP, "application/x-7z-compressed")
    big = os.urandom(2 * CHUNK_BYTES + 3)
    backend.put(school_key(7, "imports", "big.bin"), big, "application/zip")
    storage.put(school_key(7, "photos", "new.jpg"), b"new photo", "image/jpeg")
    assert storage.get(photo) == b"\xff\xd8\xff\xe0 old photo"  # legacy objects stay readable

    assert encrypt_all(storage) == {"encrypted": 3, "rekeyed": 0, "current": 1, "recipient": 1, "gone": 0,
                                    "failed": 0}
    assert storage.get(photo) == b"\xff\xd8\xff\xe0 old photo" and storage.get(roster) == f"Kowalska;{PESEL}".encode()
    assert storage.get(school_key(7, "imports", "big.bin")) == big
    assert raw(backend, package) == SEVEN_ZIP  # the printer's package stays as the printer opens it
    for data in every_version(backend):  # no plain version left behind in a versioned bucket
        assert data.startswith(MAGIC) or data == SEVEN_ZIP
    assert encrypt_all(storage) == {"encrypted": 0, "rekeyed": 0, "current": 4, "recipient": 1, "gone": 0,
                                    "failed": 0}  # idempotent: a second (or resumed) run skips what is done


def test_the_command_reencrypts_objects_under_a_retired_key_and_reports_damaged_ones(backend, keys):
    old = EncryptedStorage(backend, keys)
    key, broken = school_key(7, "photos", "a.jpg"), school_key(7, "photos", "b.jpg")
    old.put(key, b"photo", "image/jpeg")
    old.put(broken, b"photo", "image/jpeg")
    backend.put(broken, raw(backend, broken)[:-1], "image/jpeg")
    new = EncryptedStorage(backend, StorageKeys(os.urandom(32), [keys.current]))
    assert new.get(key) == b"photo"
    failures = []
    counts = encrypt_all(new, on_failure=lambda k, exc: failures.append((k, type(exc).__name__)))
    assert counts["rekeyed"] == 1 and counts["failed"] == 1 and failures == [(broken, "EnvelopeError")]
    assert new.get(key) == b"photo"
    with pytest.raises(EnvelopeError, match="unknown storage key"):
        old.get(key)  # now under the new key only


def test_recipient_encrypted_packages_are_stored_as_given_and_only_they_can_be_linked(backend, keys):
    storage = EncryptedStorage(backend, keys)
    package = school_key(7, "orders", 3, "attempts", 1, "package.7z")
    storage.put(package, SEVEN_ZIP, "application/x-7z-compressed", recipient_encrypted=True)
    assert raw(backend, package) == SEVEN_ZIP and storage.get(package) == SEVEN_ZIP
    storage.put_file(package, io.BytesIO(SEVEN_ZIP), "application/x-7z-compressed", recipient_encrypted=True)
    assert raw(backend, package) == SEVEN_ZIP
    with pytest.raises(ValueError, match="ending in .7z"):  # the flag cannot store a photo plain
        storage.put(school_key(7, "photos", "a.jpg"), b"\xff\xd8\xff", "image/jpeg", recipient_encrypted=True)
    with pytest.raises(ValueError, match="7z archive"):
        storage.put(package, f"Kowalska;{PESEL}".encode(), "text/csv", recipient_encrypted=True)
    with pytest.raises(ValueError, match="ending in .7z"):
        storage.presigned_get(school_key(7, "orders", 3, "manifest.json"), expires_in=60, filename="m.json")


def test_the_storage_key_comes_from_settings_or_from_the_pesel_key():
    from infra.crypto import decode_key
    from infra.crypto import new_key

    pesel_key = new_key()
    derived = keys_from_config({"PESEL_KEY": pesel_key})
    assert derived.current == keys_from_config({"PESEL_KEY": pesel_key}).current  # stable across restarts
    assert derived.current != decode_key(pesel_key)
    own = keys_from_config({"PESEL_KEY": pesel_key, "STORAGE_KEY": new_key()})
    assert own.current != derived.current and own.find(derived.current_id) == derived.current  # still read
    with pytest.raises(ValueError):
        keys_from_config({"PESEL_KEY": pesel_key, "STORAGE_KEY": "c2hvcnQ="})


def encrypt_and_read_a_large_file(root: str, megabytes: str) -> dict:
    """Put a `megabytes` file through the encrypted local storage and read it back (for
    tests.memory_budget: runs in a fresh process)."""
    import pathlib

    storage = EncryptedStorage(LocalStorage(pathlib.Path(root) / "files"), StorageKeys(b"k" * 32))
    source, back = pathlib.Path(root) / "source.bin", pathlib.Path(root) / "back.bin"
    key = school_key(7, "imports", "zip.bin")
    with source.open("rb") as upload:
        storage.put_file(key, upload, "application/zip")
    with back.open("wb") as target:
        storage.get_file(key, target)
    return {"read": back.stat().st_size, "stored": (pathlib.Path(root) / "files" / key).stat().st_size}


def test_a_large_file_is_encrypted_and_decrypted_in_bounded_memory(tmp_path):
    from tests.memory_budget import grown

    size = 96
    with (tmp_path / "source.bin").open("wb") as out:
        for _ in range(size):
            out.write(os.urandom(1 << 20))
    outcome = grown("tests.infra.test_storage_crypto:encrypt_and_read_a_large_file", tmp_path, size)
    assert outcome["read"] == size << 20 < outcome["stored"]
    assert outcome["grown_kib"] < 16 * 1024, outcome  # a few chunks, not the 96 MB file
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).digest() == hashlib.sha256(
        (tmp_path / "source.bin").read_bytes()).digest()
