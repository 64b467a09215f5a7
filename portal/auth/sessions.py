"""Server-side sign-in sessions on top of Flask-Login (docs/security.md T2.5).

The signed cookie holds a random token; the database keeps its hash with start, last-seen and
end times. Signing out ends the row, so a copied cookie stops working; sessions also end after
the idle and absolute limits in the settings.

Every request checks its row (`load_user`): a row ended anywhere — signing out, the account
switched off or its second factor reset (`tenants.tenancy.second_factor.end_sessions`) — signs that
browser out at its next request (docs/security.md T2.5).

A sign-in whose second factor is still owed (docs/security.md T2.3) is a row `awaiting_factor`:
it signs nobody in (`load_user` ignores it); `pending()` finds it for the code page, and
`complete()` replaces it with a signed-in session. A sign-in that needs no second factor here
(one through the city's identity provider, which checks its own) calls `start` directly.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask import request
from flask import session
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import select

from infra.crypto import sha256_hex
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from portal.extensions import login_manager
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession

_TOUCH_EVERY = dt.timedelta(minutes=1)
FACTOR_MINUTES = 10  # from the right password to the code
# A session started through a city's provider may use only the memberships its claims allowed
# (portal.auth.city_sign_in, docs/security.md T2.18): their ids, kept in the signed session.
CITY_MEMBERSHIPS = "city_memberships"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start(user: User, membership_id: int | None, *, awaiting_factor: bool = False) -> None:
    """A fresh session for `user` (new token, old cookie content discarded). `awaiting_factor`:
    the password was right, the second factor is still owed; nobody is signed in until `complete()`."""
    raw = token(32)
    db.session.add(UserSession(id=sha256_hex(raw.encode()), user_id=user.id, membership_id=membership_id,
                               ip=(request.remote_addr or "")[:45], awaiting_factor=awaiting_factor))
    session.clear()
    session["sid"] = raw
    session["membership_id"] = membership_id
    session.permanent = False
    if not awaiting_factor:
        login_user(user)


def pending() -> UserSession | None:
    """This browser's sign-in that still owes its second factor, if it is open and at most
    `FACTOR_MINUTES` (10) old."""
    raw = session.get("sid")
    if not raw:
        return None
    row = db.session.get(UserSession, sha256_hex(raw.encode()))
    if row is None or row.ended_at is not None or not row.awaiting_factor:
        return None
    if utcnow() - _aware(row.created_at) > dt.timedelta(minutes=FACTOR_MINUTES):
        row.ended_at = utcnow()
        return None
    return row


def complete(row: UserSession, user: User) -> None:
    """The second factor is done: the waiting row ends and a new session (new token) signs the user in."""
    row.ended_at = utcnow()
    target = session.get("after_factor")
    start(user, row.membership_id)
    if target:
        session["after_factor"] = target


def previous_sign_in(user: User) -> UserSession | None:
    """The user's sign-in before the current one (completed: not one that stopped at the code)."""
    current = session.get("sid")
    current_id = sha256_hex(current.encode()) if current else ""
    return db.session.scalar(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.awaiting_factor.is_(False), UserSession.id != current_id)
        .order_by(UserSession.created_at.desc()).limit(1))


def usable_memberships(memberships: list) -> list:
    """Of the user's memberships, those this session may switch to and act in: all of them after a
    password sign-in, only the ones the city's provider allowed after a city sign-in."""
    allowed = session.get(CITY_MEMBERSHIPS)
    if allowed is None:
        return memberships
    return [membership for membership in memberships if membership.id in allowed]


def end() -> None:
    raw = session.get("sid")
    if raw:
        row = db.session.get(UserSession, sha256_hex(raw.encode()))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
    logout_user()
    session.clear()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    raw = session.get("sid")
    if not raw or not user_id.isdigit():
        return None
    row = db.session.get(UserSession, sha256_hex(raw.encode()))
    if row is None or row.ended_at is not None or row.awaiting_factor or row.user_id != int(user_id):
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = dt.timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    if now - _aware(row.last_seen_at) > idle or now - _aware(row.created_at) > absolute:
        row.ended_at = now
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        row.ended_at = now
        return None
    if now - _aware(row.last_seen_at) > _TOUCH_EVERY:
        row.last_seen_at = now
    return user
