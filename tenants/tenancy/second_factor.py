"""The second factor (TOTP) of staff accounts, recovery codes, and an account's switch on and off
(docs/security.md T2.3, T2.5).

- **Who needs it**: anyone holding a school director's, city official's or printer operator's
  membership, and platform admins (`required`); a secretary may enrol (`needed` then holds too).
  A user who needs it and has none must enrol before anything else (portal.auth.factor).
- **Codes**: RFC 6238 (`tenants.tenancy.totp`), ±1 step. Each code is accepted once: the last
  accepted step is stored and a code of that step or an earlier one is refused ("already used"),
  the factor's row locked (FOR UPDATE) while checked, so two requests cannot both use one code.
- **Recovery codes**: `RECOVERY_CODES` (10), shown once when issued, stored hashed like
  passwords (argon2id, `tenants.tenancy.passwords`), each accepted once.
- **The secret** is stored encrypted (AES-256-GCM, `infra.crypto.FieldCipher`, bound to this
  purpose), never logged.
- **Reset** (a school's director for the school's own staff, or a platform admin) deletes the
  factor and the recovery codes and ends the user's sessions: the next sign-in enrols again.
  **Switching an account off** ends all its sessions at once. Both write an access-log row
  (`second_factor_reset`, `account_disabled`, `account_enabled`; detail `user=<id>`) in the chain
  of the director's school, or, for a platform admin, of every organisation the user belongs to.

Like every operation these flush with the caller's transaction and never commit.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import secrets

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.crypto import FieldCipher
from infra.crypto import decode_key
from infra.db import db
from tenants.tenancy import totp
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Membership
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import RecoveryCode
from tenants.tenancy.models import Role
from tenants.tenancy.models import SecondFactor
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession
from tenants.tenancy.operations import log_access
from tenants.tenancy.passwords import hash_password
from tenants.tenancy.passwords import verify_password

log = logging.getLogger(__name__)

# The data protection officer reads every served school's children's data: required as well.
REQUIRED_ROLES = frozenset({Role.SCHOOL_DIRECTOR.value, Role.CITY_OFFICIAL.value, Role.PRINTER_OPERATOR.value,
                            Role.DATA_PROTECTION_OFFICER.value})
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt
_RECOVERY_LENGTH = 10  # ~49 bits each


def required(user: User) -> bool:
    """Whether the user must have a second factor: a director, city official or printer operator
    in any organisation, or a platform admin."""
    return user.is_platform_admin or any(m.role in REQUIRED_ROLES for m in user.memberships)


def factor_of(user: User) -> SecondFactor | None:
    return db.session.get(SecondFactor, user.id)


def is_enrolled(user: User) -> bool:
    return factor_of(user) is not None


def needed(user: User) -> bool:
    """Whether a password sign-in of this user must be followed by a code (required, or enrolled)."""
    return required(user) or is_enrolled(user)


def _cipher() -> FieldCipher:
    config = current_app.config
    return FieldCipher(decode_key(config["PESEL_KEY"]), decode_key(config["PESEL_INDEX_KEY"]), purpose=b"totp-secret")


def secret_of(factor: SecondFactor) -> str:
    return _cipher().decrypt(factor.secret_cipher)


def seal(secret: str) -> str:
    """A secret being enrolled, encrypted for the browser's session cookie (nothing is stored
    until the first code proves the app holds it, so showing the page writes nothing)."""
    return base64.urlsafe_b64encode(_cipher().encrypt(secret)).decode()


def unseal(sealed: str) -> str | None:
    try:
        return _cipher().decrypt(base64.urlsafe_b64decode(sealed.encode()))
    except (ValueError, binascii.Error):
        return None


def enrol(user: User, secret: str, code: str, now: dt.datetime | None = None) -> SecondFactor:
    """Enrol `secret` for the user with a code their app shows for it (that code's step is then
    used). Refused when the code does not match, or the user already has a factor."""
    if db.session.get(SecondFactor, user.id, with_for_update=True) is not None:
        raise OperationError("Drugi składnik jest już włączony dla tego konta.")
    now = now or clock.utcnow()
    step = totp.matching_step(secret, code, now)
    if step is None:
        raise OperationError("Kod jest nieprawidłowy. Sprawdź, czy zegar telefonu jest ustawiony automatycznie, "
                             "i wpisz aktualny kod z aplikacji.")
    factor = SecondFactor(user_id=user.id, secret_cipher=_cipher().encrypt(secret), enrolled_at=now, last_step=step)
    db.session.add(factor)
    db.session.flush()
    return factor


def enrol_demo(user: User) -> None:
    """The demo's accounts (portal.demo) start enrolled with a random secret, whose current code
    `flask legitka demo-totp` prints; nothing else enrols without a code."""
    if factor_of(user) is None:
        db.session.add(SecondFactor(user_id=user.id, secret_cipher=_cipher().encrypt(totp.new_secret()),
                                    enrolled_at=clock.utcnow()))
        db.session.flush()


def _locked(user: User) -> SecondFactor | None:
    return db.session.get(SecondFactor, user.id, with_for_update=True, populate_existing=True)


def issue_recovery_codes(user: User) -> list[str]:
    """`RECOVERY_CODES` new recovery codes (the old ones no longer work); returned once, stored hashed."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    while len(codes) < RECOVERY_CODES:
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        if not code.isdigit():  # all digits would be read as an app's code (`verify`)
            codes.append(code)
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_password(code)))
    db.session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(user: User) -> int:
    return len(db.session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                                RecoveryCode.used_at.is_(None))).all())


def verify(user: User, typed: str, now: dt.datetime | None = None) -> str:
    """Check a code typed at sign-in: a TOTP code ("totp") or a recovery code ("recovery"), each
    accepted once. Refused (OperationError, Polish) when wrong or already used."""
    factor = _locked(user)
    if factor is None:
        raise OperationError("Dla tego konta nie włączono drugiego składnika.")
    now = now or clock.utcnow()
    cleaned = typed.strip().replace(" ", "")
    if cleaned.isdigit():
        step = totp.matching_step(secret_of(factor), cleaned, now)
        if step is None:
            raise OperationError("Kod jest nieprawidłowy.")
        if factor.last_step is not None and step <= factor.last_step:
            raise OperationError("Ten kod został już użyty. Poczekaj na następny kod w aplikacji.")
        factor.last_step = step
        db.session.flush()
        return "totp"
    return _use_recovery_code(user, cleaned.replace("-", "").lower()[:40], now)


def _use_recovery_code(user: User, code: str, now: dt.datetime) -> str:
    if len(code) != _RECOVERY_LENGTH:
        raise OperationError("Kod jest nieprawidłowy.")
    rows = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)
                              .order_by(RecoveryCode.used_at.is_not(None), RecoveryCode.id).with_for_update()).all()
    for row in rows:
        if verify_password(row.code_hash, code):
            if row.used_at is not None:
                raise OperationError("Ten kod odzyskiwania został już użyty.")
            row.used_at = now
            db.session.flush()
            return "recovery"
    raise OperationError("Kod jest nieprawidłowy.")


def current_code(user: User) -> tuple[str, int] | None:
    """For the demo's `flask legitka demo-totp`: the code an app holding the user's secret shows
    that will still be accepted — now's, or the next step's when now's was used — and the seconds
    to wait before it is (0 but when both were used); None without a factor."""
    factor = factor_of(user)
    if factor is None:
        return None
    instant = clock.utcnow()
    now = totp.step_of(instant)
    step = now if factor.last_step is None or factor.last_step < now else factor.last_step + 1
    wait = 0 if step <= now + 1 else (step - 1) * totp.STEP_SECONDS - int(instant.timestamp())
    return totp.code_at(secret_of(factor), step), max(0, wait)


def end_sessions(user: User) -> int:
    """End every open session of the user (the next request of each lands on the sign-in page)."""
    result = db.session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                          UserSession.ended_at.is_(None))
                                .values(ended_at=clock.utcnow()))
    return result.rowcount


# --- a director's or admin's changes to another account -------------------------------------


def manageable_by_school(user: User, school_id: int) -> bool:
    """A school's director may manage an account whose memberships are all in that school (an
    account also working elsewhere is the platform admin's)."""
    return bool(user.memberships) and all(m.organisation_id == school_id for m in user.memberships)


def reset(actor: Actor, user: User) -> None:
    """Delete the user's second factor and recovery codes and end their sessions: the next sign-in
    enrols again (if needed). Logged."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
    end_sessions(user)
    _log(actor, "second_factor_reset", user)


def set_active(actor: Actor, user: User, active: bool) -> None:
    """Switch the account on or off; off ends all its sessions at once. Logged."""
    if user.id == actor.user_id and not active:
        raise OperationError("Nie możesz wyłączyć własnego konta.")
    user.is_active = active
    if not active:
        end_sessions(user)
    db.session.flush()
    _log(actor, "account_enabled" if active else "account_disabled", user)


def _log(actor: Actor, action: str, user: User) -> None:
    """The access-log row of a change to `user`'s account: in the acting director's school's chain,
    or (a platform admin, who has no tenant) in the chain of each organisation the user belongs to."""
    detail = f"user={user.id}"
    log.info("%s %s by user %s", action, detail, actor.user_id)
    if actor.role != "platform_admin":
        log_access(actor, action, school_id=actor.organisation_id, detail=detail)
        return
    organisations = db.session.execute(select(Membership.organisation_id, Membership.id)
                                       .where(Membership.user_id == user.id)).all()
    seen = set()
    for organisation_id, membership_id in organisations:
        if organisation_id in seen:
            continue
        seen.add(organisation_id)
        membership = db.session.get(Membership, membership_id)
        tenant = membership.tenant()
        is_school = membership.organisation.kind == OrgKind.SCHOOL.value
        # A printer's or city's chain holds its own organisation's rows: the row names it, the role says who.
        as_admin = Actor(user_id=actor.user_id, role=actor.role, organisation_id=None if is_school else organisation_id,
                         request_id=actor.request_id, ip=actor.ip, endpoint=actor.endpoint)
        with tenant_scope(tenant):
            log_access(as_admin, action, school_id=organisation_id if is_school else None, detail=detail)
            db.session.flush()  # chained and inserted while this tenant's settings hold
