"""Known devices (OWASP's "device cookies"): a browser where an account has signed in successfully
is recognised at its next sign-in to that account, and exempt from the slowdowns that other
people's wrong guesses cause (portal.auth.throttle).

At every successful sign-in the browser gets (or refreshes) a cookie, `legitka-device`
(`__Host-legitka-device` when cookies are Secure; HttpOnly, SameSite=Strict, Path=/), signed with
the app's secret key and holding, for up to `MAX_ACCOUNTS` accounts signed in on that browser
(a shared office computer), an HMAC of the account's e-mail, a random device id and the day of
the last sign-in. No e-mail, name or address is in it. An entry is honoured for
`LOGIN_DEVICE_DAYS` (365: a director who last signed in in June is still known in September)
after its last sign-in. The cookie outlives signing out on purpose; it grants no access, only
the right to be counted separately. A forged, altered or expired cookie counts as none.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app
from flask import request
from itsdangerous import BadData
from itsdangerous import URLSafeSerializer

from portal.auth.throttle import digest

MAX_ACCOUNTS = 5
_SALT = "legitka.known-device"
_DAY = 86400


def cookie_name() -> str:
    return "__Host-legitka-device" if current_app.config["SESSION_COOKIE_SECURE"] else "legitka-device"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _today() -> int:
    return int(time.time() // _DAY)


def _tag(email: str) -> str:
    return digest("known-device", email)[:32]


def _entries() -> list[tuple[str, str, int]]:
    """The cookie's (tag, device id, day) entries still within their lifetime; [] if absent or forged."""
    raw = request.cookies.get(cookie_name())
    if not raw or len(raw) > 4096:
        return []
    try:
        loaded = _serializer().loads(raw)
    except BadData:
        return []
    oldest = _today() - int(current_app.config["LOGIN_DEVICE_DAYS"])
    if not isinstance(loaded, list):
        return []
    return [(tag, device, day) for tag, device, day in
            (entry for entry in loaded if isinstance(entry, list) and len(entry) == 3)
            if isinstance(tag, str) and isinstance(device, str) and isinstance(day, int) and day >= oldest]


def device_for(email: str) -> str | None:
    """This browser's device id for the account, if the account has signed in here before."""
    tag = _tag(email)
    return next((device for entry_tag, device, _day in _entries() if entry_tag == tag), None)


def remember(response, email: str) -> None:
    """Record on `response` that the account has just signed in on this browser (same device id
    as before if it had, so the device's own count carries on)."""
    tag = _tag(email)
    device = device_for(email) or secrets.token_urlsafe(12)
    kept = [[t, d, day] for t, d, day in _entries() if t != tag]
    entries = [[tag, device, _today()], *kept][:MAX_ACCOUNTS]
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    response.set_cookie(cookie_name(), _serializer().dumps(entries),
                        max_age=int(current_app.config["LOGIN_DEVICE_DAYS"]) * _DAY,
                        secure=secure, httponly=True, samesite="Strict", path="/")
