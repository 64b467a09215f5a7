"""Envelope encryption of stored objects, chunk by chunk (docs/security.md T3.20).

An encrypted object is a 40-byte header followed by chunks:

    header = MAGIC (8) | version (1) | key id (4) | chunk size (4, big-endian) | salt (16) | nonce prefix (7)
    chunk  = AES-256-GCM(object key, nonce = prefix | counter (4) | last (1), chunk bytes, aad) | tag (16)

The object's own AES key is derived (HKDF-SHA-256) from the storage key named by the key id and
the header's random salt, so nonces never repeat under one key however many objects are stored.
Every chunk but the last holds exactly `chunk size` plain bytes; the last holds 0..chunk size
and is sealed with last = 1. The counter catches reordered chunks, the last flag a truncation at
a chunk boundary (the new last chunk was sealed with last = 0) or chunks appended after it. The
associated data is the header and the object's storage key: an altered header, or an object
copied or moved to another key, fails to decrypt.

Both directions stream: `EncryptingReader` is a file to read ciphertext from (fed by a plain
source), `DecryptingWriter` a file to write the stored bytes into (it writes the plain bytes to
its target). Neither holds more than two chunks. A stored object that does not start with MAGIC
is a plain object written before encryption was introduced: `DecryptingWriter` passes it
through unchanged (`flask legitka encrypt-storage` encrypts them in place).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.storage import StorageError

MAGIC = b"\x89LEGITKA"  # 0x89: no text, JPEG, PDF, ZIP, 7z or JSON file starts with it
VERSION = 1
_FIXED = struct.Struct(">8sB4sI")  # magic, version, key id, chunk size
SALT_BYTES, PREFIX_BYTES, TAG_BYTES = 16, 7, 16
HEADER_BYTES = _FIXED.size + SALT_BYTES + PREFIX_BYTES  # 40
CHUNK_BYTES = 256 * 1024
_CHUNK_LIMITS = (4 * 1024, 16 * 1024 * 1024)  # a header asking for more is refused before buffering
_MAX_CHUNKS = 2**32 - 1  # the counter's four bytes


class EnvelopeError(StorageError):
    """A stored object cannot be decrypted: altered, truncated, moved from another key, or
    encrypted with a key this installation does not have. The message names the storage key
    (ids and tokens only, docs/security.md T2.13), never the object's content."""


def key_id(key: bytes) -> bytes:
    """Four bytes naming a storage key in headers (a hash: tells nothing about the key)."""
    return hashlib.sha256(b"legitka storage key id\x00" + key).digest()[:4]


class StorageKeys:
    """The storage key new objects are encrypted with, and retired keys still read."""

    def __init__(self, current: bytes, retired: list[bytes] | tuple[bytes, ...] = ()) -> None:
        for key in (current, *retired):
            if len(key) != 32:
                raise ValueError("storage keys are 32 random bytes")
        self.current = current
        self.current_id = key_id(current)
        self._by_id = {key_id(key): key for key in retired}
        self._by_id[self.current_id] = current

    def find(self, kid: bytes) -> bytes | None:
        return self._by_id.get(kid)


def derive_storage_key(pesel_key: bytes) -> bytes:
    """The storage key used when none is configured: derived from the PESEL key, so it differs
    from it and no new secret has to be provisioned."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"legitka storage key v1").derive(pesel_key)


def _object_aead(master: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                       info=b"legitka storage object v1").derive(master))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def is_encrypted(head: bytes) -> bool:
    """Whether stored bytes starting with `head` are an encrypted object (at least 8 bytes)."""
    return head[: len(MAGIC)] == MAGIC


def header_key_id(head: bytes) -> bytes | None:
    """The key id in an encrypted object's header, None when `head` is no full header."""
    if len(head) < HEADER_BYTES or not is_encrypted(head):
        return None
    return _FIXED.unpack(head[: _FIXED.size])[2]


def read_full(source: BinaryIO, size: int) -> bytes:
    """Exactly `size` bytes, fewer only at the end (a pipe or socket may return short reads)."""
    parts, wanted = [], size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


class EncryptingReader(io.RawIOBase):
    """The encrypted form of `source` under `object_key`, to be read like a file.

    `read(n)` returns n bytes unless the end is reached (boto3 takes a short read for the end
    of the file). Not seekable: it is produced as it is read, one chunk ahead of the reader."""

    def __init__(self, source: BinaryIO, keys: StorageKeys, object_key: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        super().__init__()
        salt, self._prefix = os.urandom(SALT_BYTES), os.urandom(PREFIX_BYTES)
        header = _FIXED.pack(MAGIC, VERSION, keys.current_id, chunk_bytes) + salt + self._prefix
        self._aead = _object_aead(keys.current, salt)
        self._aad = header + object_key.encode()
        self._source, self._chunk = source, chunk_bytes
        self._out = bytearray(header)
        self._next = read_full(source, chunk_bytes)  # one chunk ahead: is the current one the last?
        self._counter, self._done = 0, False

    def readable(self) -> bool:
        return True

    def _seal_next(self) -> None:
        current, self._next = self._next, read_full(self._source, self._chunk)
        last = not self._next
        if self._counter > _MAX_CHUNKS:
            raise EnvelopeError("object too large for one envelope")
        self._out += self._aead.encrypt(_nonce(self._prefix, self._counter, last), current, self._aad)
        self._counter += 1
        self._done = last

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._out) < size) and not self._done:
            self._seal_next()
        if size < 0 or size >= len(self._out):
            data, self._out = bytes(self._out), bytearray()
        else:
            data = bytes(self._out[:size])
            del self._out[:size]
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class DecryptingWriter(io.RawIOBase):
    """A file to write a stored object's bytes into; the plain bytes go to `target`.

    Each chunk is written to `target` only once its tag checked out, so `target` never holds an
    altered byte; a truncated object is found at `finish()`, which must be called once the
    stored bytes are all written (it raises `EnvelopeError`; the caller discards `target`).
    Bytes not starting with MAGIC (a legacy plain object) pass through unchanged."""

    def __init__(self, target: BinaryIO, keys: StorageKeys, object_key: str) -> None:
        super().__init__()
        self._target, self._keys, self._object_key = target, keys, object_key
        self._buffer = bytearray()
        self._mode = "undecided"  # then "plain" or "encrypted"
        self._counter = 0

    def writable(self) -> bool:
        return True

    def _error(self, reason: str) -> EnvelopeError:
        return EnvelopeError(f"stored object {self._object_key} cannot be decrypted: {reason}")

    def write(self, data) -> int:
        size = len(data)
        if self._mode == "plain":
            self._target.write(data)
            return size
        self._buffer += data
        if self._mode == "undecided":
            if len(self._buffer) < len(MAGIC):
                return size
            if not is_encrypted(self._buffer):
                self._mode = "plain"
                self._target.write(bytes(self._buffer))
                self._buffer.clear()
                return size
            if len(self._buffer) < HEADER_BYTES:
                return size
            self._open_header(bytes(self._buffer[:HEADER_BYTES]))
            del self._buffer[:HEADER_BYTES]
        # The last chunk is only known at the end: always keep one sealed chunk back.
        sealed = self._chunk + TAG_BYTES
        while len(self._buffer) > sealed:
            self._open_chunk(bytes(self._buffer[:sealed]), last=False)
            del self._buffer[:sealed]
        return size

    def _open_header(self, header: bytes) -> None:
        _magic, version, kid, chunk = _FIXED.unpack(header[: _FIXED.size])
        if version != VERSION:
            raise self._error(f"unknown envelope version {version}")
        master = self._keys.find(kid)
        if master is None:
            raise self._error(f"encrypted with an unknown storage key (id {kid.hex()}); "
                              "is it missing from LEGITKA_STORAGE_KEY / LEGITKA_STORAGE_RETIRED_KEYS?")
        if not _CHUNK_LIMITS[0] <= chunk <= _CHUNK_LIMITS[1]:
            raise self._error("its header is damaged")
        salt = header[_FIXED.size: _FIXED.size + SALT_BYTES]
        self._prefix = header[_FIXED.size + SALT_BYTES:]
        self._aead, self._aad, self._chunk = _object_aead(master, salt), header + self._object_key.encode(), chunk
        self._mode = "encrypted"

    def _open_chunk(self, sealed: bytes, *, last: bool) -> None:
        if self._counter > _MAX_CHUNKS:
            raise self._error("it has too many chunks")
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._aad)
        except InvalidTag:
            raise self._error("it was altered or truncated, or it belongs under another key") from None
        self._counter += 1
        self._target.write(plain)

    def finish(self) -> None:
        """Check and write the last chunk (raises `EnvelopeError` when the object is cut short)."""
        if self._mode == "undecided":
            if is_encrypted(self._buffer):  # the magic, then the header cut short
                raise self._error("it is truncated")
            self._target.write(bytes(self._buffer))  # a plain object shorter than the magic
        elif self._mode == "encrypted":
            if len(self._buffer) < TAG_BYTES:
                raise self._error("it is truncated")
            self._open_chunk(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._mode = "finished"


def encrypt_bytes(data: bytes, keys: StorageKeys, object_key: str) -> bytes:
    return EncryptingReader(io.BytesIO(data), keys, object_key).read()


def decrypt_bytes(stored: bytes, keys: StorageKeys, object_key: str) -> bytes:
    """The plain bytes of a stored object (a legacy plain one as it is)."""
    if not is_encrypted(stored):
        return stored
    out = io.BytesIO()
    writer = DecryptingWriter(out, keys, object_key)
    writer.write(stored)
    writer.finish()
    return out.getvalue()
