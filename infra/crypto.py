"""Application-level encryption for national identifiers (docs/security.md T3.4).

PESEL numbers are stored as AES-256-GCM ciphertext with a random nonce, and looked up through
an HMAC-SHA-256 blind index computed with a separate key, so equality search and duplicate
checks work without decrypting and without storing an 11-digit run anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class FieldCipher:
    """Encrypts short strings and computes their blind index.

    `encrypt(text)` -> bytes (version || nonce || ciphertext+tag); `decrypt` reverses it and raises
    `ValueError` on tampering or a wrong key. `blind_index(text)` -> 64 hex chars, deterministic.
    The associated data binds a ciphertext to its purpose, so a PESEL ciphertext cannot be
    replayed into another column.
    """

    def __init__(self, encryption_key: bytes, index_key: bytes, purpose: bytes = b"pesel") -> None:
        if len(encryption_key) != 32 or len(index_key) < 32:
            raise ValueError("FieldCipher needs a 32-byte encryption key and a >=32-byte index key")
        if hmac.compare_digest(encryption_key, index_key[: len(encryption_key)]):
            raise ValueError("encryption and index keys must differ")
        self._aead = AESGCM(encryption_key)
        self._index_key = index_key
        self._purpose = purpose

    def encrypt(self, text: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, text.encode(), self._purpose)

    def decrypt(self, blob: bytes) -> str:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], self._purpose).decode()
        except Exception as exc:  # InvalidTag carries no message; keep ours free of data too
            raise ValueError("ciphertext cannot be decrypted") from exc

    def blind_index(self, text: str) -> str:
        return hmac.new(self._index_key, self._purpose + b":" + text.encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    """A fresh random 256-bit key, urlsafe-base64 encoded (for config files and env vars)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def decode_key(value: str) -> bytes:
    return base64.urlsafe_b64decode(value.encode())


def token(nbytes: int = 16) -> str:
    """An unguessable identifier of at least 128 bits (ASVS 11.5.1)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
