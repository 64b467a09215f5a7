"""Time-based one-time passwords, RFC 6238 (and HOTP, RFC 4226) with the parameters every
authenticator app assumes: HMAC-SHA-1, a 30-second step from the Unix epoch, 6 digits
(docs/security.md T2.3). Pure functions; which step a user has already used is kept by
`tenants.tenancy.second_factor`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
TOLERANCE = 1  # steps either side of now: a phone's clock a little off, a code typed at the step's end
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA-1
ISSUER = "Legitka"


def new_secret() -> str:
    """A random secret in base32 without padding (what apps accept typed in): 32 characters."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_of(instant: dt.datetime) -> int:
    """The time step `instant` (aware) falls in: whole 30-second periods since the Unix epoch."""
    return int(instant.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """HOTP(secret, step): the 6-digit code of that step (RFC 4226 §5.3, dynamic truncation)."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, instant: dt.datetime) -> int | None:
    """The step within ±`TOLERANCE` of `instant` whose code is `code` (compared in constant time),
    or None. Spaces in what was typed are ignored; anything but 6 digits matches nothing."""
    typed = code.replace(" ", "")
    if len(typed) != DIGITS or not typed.isascii() or not typed.isdigit():
        return None
    now = step_of(instant)
    found = None
    for step in range(now - TOLERANCE, now + TOLERANCE + 1):
        if hmac.compare_digest(code_at(secret, step), typed):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code (Key Uri Format)."""
    label = quote(f"{ISSUER}:{account}", safe="")
    return (f"otpauth://totp/{label}?secret={secret}&issuer={quote(ISSUER)}"
            f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}")


def grouped(secret: str) -> str:
    """The secret in groups of four for typing by hand: `ABCD EFGH …`."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
