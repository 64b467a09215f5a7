"""Server-side sign-in sessions on top of Flask-Login (docs/security.md T2.5).

The signed cookie holds a random token; the database keeps its hash with start, last-seen and
end times. Signing out ends the row, so a copied cookie stops working; sessions also end after
the idle and absolute limits in the settings.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask import session
from flask_login import login_user
from flask_login import logout_user

from infra.crypto import sha256_hex
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from portal.extensions import login_manager
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession

_TOUCH_EVERY = dt.timedelta(minutes=1)
# A session started through a city's provider may use only the memberships its claims allowed
# (portal.auth.city_sign_in, docs/security.md T2.18): their ids, kept in the signed session.
CITY_MEMBERSHIPS = "city_memberships"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start(user: User, membership_id: int | None) -> None:
    """A fresh session for `user` (new token, old cookie content discarded)."""
    raw = token(32)
    db.session.add(UserSession(id=sha256_hex(raw.encode()), user_id=user.id, membership_id=membership_id))
    session.clear()
    session["sid"] = raw
    session["membership_id"] = membership_id
    session.permanent = False
    login_user(user)


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
    if row is None or row.ended_at is not None or row.user_id != int(user_id):
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
