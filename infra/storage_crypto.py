"""`EncryptedStorage`: every object encrypted at rest under the storage key (docs/security.md T3.20).

It wraps a `LocalStorage` or `S3Storage` and keeps the `Storage` contract, so callers store and
read plain bytes as before. What the folder or bucket holds is the envelope of `infra.envelope`,
bound to the object's key. Two exceptions, both recognised from the stored bytes or the key:

- Objects already encrypted for their recipient (the printer's `package.7z`, handed out by a
  presigned link the recipient must be able to open) are stored as given when the caller says so
  with `recipient_encrypted=True`. Only keys ending in `.7z` may be, and only bytes that are a
  7z archive: personal data cannot be stored plain by a slip of the flag, and
  `flask legitka encrypt-storage` knows them from their key.
- Legacy plain objects, written before this layer existed, are read as they are, until
  `encrypt_in_place` (the CLI) encrypts them.
"""

from __future__ import annotations

import tempfile
from typing import BinaryIO

from infra.envelope import HEADER_BYTES
from infra.envelope import DecryptingWriter
from infra.envelope import EncryptingReader
from infra.envelope import StorageKeys
from infra.envelope import decrypt_bytes
from infra.envelope import derive_storage_key
from infra.envelope import encrypt_bytes
from infra.envelope import header_key_id
from infra.envelope import is_encrypted
from infra.envelope import read_full

RECIPIENT_SUFFIX = ".7z"
SEVEN_ZIP_SIGNATURE = b"7z\xbc\xaf\x27\x1c"
STORED_TYPE = "application/octet-stream"  # what an encrypted object is, whatever it holds


def is_recipient_key(key: str) -> bool:
    """Whether `key` may hold an object encrypted for its recipient (stored and linked as is)."""
    return key.endswith(RECIPIENT_SUFFIX)


def _check_recipient(key: str, head: bytes) -> None:
    if not is_recipient_key(key):
        raise ValueError(f"only keys ending in {RECIPIENT_SUFFIX} may hold recipient-encrypted objects")
    if not head.startswith(SEVEN_ZIP_SIGNATURE):
        raise ValueError("a recipient-encrypted object must be a 7z archive")


class _Prepended:
    """`head` then the rest of `source`, read like one file. `read(n)` gives n bytes unless the
    end is reached: boto3 takes a short read for the end of the file."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head, self._source = head, source

    def read(self, size: int = -1) -> bytes:
        head, self._head = self._head, b""
        if size < 0:
            return head + self._source.read()
        if size <= len(head):
            self._head = head[size:]
            return head[:size]
        return head + read_full(self._source, size - len(head))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class EncryptedStorage:
    """The `Storage` contract over `inner`, encrypting every object (see the module's docstring)."""

    def __init__(self, inner, keys: StorageKeys) -> None:
        self.inner = inner
        self.keys = keys

    def put(self, key: str, data: bytes, content_type: str, *, recipient_encrypted: bool = False) -> None:
        if recipient_encrypted:
            _check_recipient(key, data)
            self.inner.put(key, data, content_type)
            return
        self.inner.put(key, encrypt_bytes(data, self.keys, key), STORED_TYPE)

    def get(self, key: str) -> bytes:
        return decrypt_bytes(self.inner.get(key), self.keys, key)

    def put_file(self, key: str, source: BinaryIO, content_type: str, *, recipient_encrypted: bool = False) -> None:
        if recipient_encrypted:
            head = read_full(source, len(SEVEN_ZIP_SIGNATURE))
            _check_recipient(key, head)
            self.inner.put_file(key, _Prepended(head, source), content_type)
            return
        self.inner.put_file(key, EncryptingReader(source, self.keys, key), STORED_TYPE)

    def get_file(self, key: str, target: BinaryIO) -> None:
        """Decrypt into `target` as the stored bytes arrive. Raises `NotFound`, or `EnvelopeError`
        (the target then holds a verified beginning of the object only: discard it)."""
        writer = DecryptingWriter(target, self.keys, key)
        self.inner.get_file(key, writer)
        writer.finish()

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def purge(self, key: str) -> int:
        return self.inner.purge(key)

    def count_versions(self, key: str) -> int:
        return self.inner.count_versions(key)

    def keys_under(self, prefix: str = "") -> list[str]:
        return self.inner.keys_under(prefix)

    def presigned_get(self, key: str, *, expires_in: int, filename: str) -> str | None:
        """A link hands out the stored bytes: only recipient-encrypted objects may have one (any
        other is ciphertext under our key, of no use to the recipient)."""
        if not is_recipient_key(key):
            raise ValueError(f"only keys ending in {RECIPIENT_SUFFIX} can be linked")
        return self.inner.presigned_get(key, expires_in=expires_in, filename=filename)

    def encrypt_in_place(self, key: str) -> str:
        """Bring one stored object under the current storage key and say what was done:
        `encrypted` (it was plain), `rekeyed` (under a retired key), `current` (nothing to do),
        `recipient` (a plain 7z under a recipient key: left as is), `gone` (deleted meanwhile).
        Idempotent, so an interrupted run is simply run again. Older versions of a rewritten
        object are removed (a versioned bucket would keep the plain one). The object is spooled
        through a temporary file, never held in memory whole."""
        from infra.storage import NotFound

        with tempfile.TemporaryFile() as stored:
            try:
                self.inner.get_file(key, stored)
            except NotFound:
                return "gone"
            stored.seek(0)
            head = stored.read(HEADER_BYTES)
            stored.seek(0)
            if is_encrypted(head):
                if header_key_id(head) == self.keys.current_id:
                    return "current"
                with tempfile.TemporaryFile() as plain:
                    writer = DecryptingWriter(plain, self.keys, key)
                    while block := stored.read(1024 * 1024):
                        writer.write(block)
                    writer.finish()
                    plain.seek(0)
                    self.inner.put_file(key, EncryptingReader(plain, self.keys, key), STORED_TYPE)
                outcome = "rekeyed"
            elif is_recipient_key(key) and head.startswith(SEVEN_ZIP_SIGNATURE):
                return "recipient"
            else:
                self.inner.put_file(key, EncryptingReader(stored, self.keys, key), STORED_TYPE)
                outcome = "encrypted"
        self.inner.drop_old_versions(key)
        return outcome


OUTCOMES = ("encrypted", "rekeyed", "current", "recipient", "gone", "failed")


def encrypt_all(storage: EncryptedStorage, prefix: str = "", *, on_failure=None) -> dict[str, int]:
    """`encrypt_in_place` for every object under `prefix`; how many ended each way (`OUTCOMES`).
    An object that cannot be read or written is counted as `failed` (its key and the error's type
    passed to `on_failure`) and the run goes on; running again retries it and skips what is done."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for key in storage.keys_under(prefix):
        try:
            counts[storage.encrypt_in_place(key)] += 1
        except Exception as exc:  # one damaged object must not stop the run; reported, never hidden
            counts["failed"] += 1
            if on_failure:
                on_failure(key, exc)
    return counts


def keys_from_config(config) -> StorageKeys:
    """`STORAGE_KEY` (urlsafe-base64, 32 bytes) or, unset, a key derived from `PESEL_KEY`; plus
    `STORAGE_RETIRED_KEYS` (a list or comma-separated) and, once `STORAGE_KEY` is set, the
    derived key, so objects written before it was set stay readable until re-encrypted."""
    from infra.crypto import decode_key

    derived = derive_storage_key(decode_key(config["PESEL_KEY"]))
    retired = config.get("STORAGE_RETIRED_KEYS") or []
    if isinstance(retired, str):
        retired = [part.strip() for part in retired.split(",") if part.strip()]
    retired_keys = [decode_key(value) for value in retired]
    if config.get("STORAGE_KEY"):
        return StorageKeys(decode_key(config["STORAGE_KEY"]), [*retired_keys, derived])
    return StorageKeys(derived, retired_keys)
