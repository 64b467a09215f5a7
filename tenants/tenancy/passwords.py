"""Password hashing with argon2id (ASVS 5.0 Appendix C; docs/security.md T2.1, T2.2).

The argon2 parameters come from a named profile, the app's `PASSWORD_HASH_PROFILE` setting
(`PROFILES`; the default `DEFAULT_PROFILE` outside an app context). Every profile meets ASVS's
minimum, so no setting can weaken hashing below it. Hashing, verifying and `needs_rehash` use the
active profile: a hash made under another profile verifies and is re-hashed at the next sign-in.
"""

from __future__ import annotations

import functools

from argon2 import Parameters
from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask import current_app
from flask import has_app_context

# Only profiles at or above ASVS 5.0 Appendix C's argon2id minimum (m=19 MiB, t=2, p=1) may be
# listed here (docs/security.md T2.1).
PROFILES: dict[str, Parameters] = {
    # argon2-cffi's defaults, RFC 9106's low-memory profile: t=3, 64 MiB, p=4 (production).
    "rfc9106-low-memory": RFC_9106_LOW_MEMORY,
    # ASVS's minimum itself, about five times cheaper: the tests, which sign in hundreds of times.
    "asvs-minimum": Parameters(type=Type.ID, version=19, salt_len=16, hash_len=32,
                               time_cost=2, memory_cost=19456, parallelism=1),
}
DEFAULT_PROFILE = "rfc9106-low-memory"

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


def active_profile() -> str:
    """The app's `PASSWORD_HASH_PROFILE` (checked at start by portal.config), else the default."""
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_PROFILE") or DEFAULT_PROFILE
    return DEFAULT_PROFILE


@functools.cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(PROFILES[profile])


def hash_password(password: str) -> str:
    return _hasher(active_profile()).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher(active_profile()).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the active profile's."""
    return _hasher(active_profile()).check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash("not-a-real-password-just-timing")


def dummy_hash(profile: str | None = None) -> str:
    """A hash under `profile` (the active one when not given) to verify against when the user does
    not exist, so the answer takes as long as for a wrong password. Made once per profile; the app
    makes its own at start, so the first unknown e-mail is not slower than the rest."""
    return _dummy_hash(profile or active_profile())
