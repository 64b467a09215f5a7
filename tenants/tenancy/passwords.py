"""Password hashing with argon2id (ASVS 5.0 Appendix C; docs/security.md T2.1, T2.2)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

# argon2-cffi's defaults: RFC 9106 low-memory profile (t=3, 64 MiB, p=4), above ASVS minimums.
_hasher = PasswordHasher()

MIN_LENGTH = 8
MAX_LENGTH = 128
# A short local deny-list; the full top-3000 list is a later step (docs/known-gaps.md).
_COMMON = {"password", "password1", "12345678", "123456789", "qwerty123", "legitymacja", "haslo123",
           "zaq12wsx", "szkola123", "szczecin", "11111111", "iloveyou", "abc12345"}


class PasswordPolicyError(ValueError):
    pass


def check_policy(password: str) -> None:
    """Raise `PasswordPolicyError` (Polish message) for a password too short, too long or common."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Hasło musi mieć co najmniej {MIN_LENGTH} znaków.")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Hasło może mieć najwyżej {MAX_LENGTH} znaków.")
    if password.lower() in _COMMON:
        raise PasswordPolicyError("To hasło jest zbyt popularne — wybierz inne.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against this when the user does not exist keeps timing alike for both cases.
DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")
