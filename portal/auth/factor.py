"""The second step of signing in: a code from the authenticator app (or a recovery code), and
enrolment (docs/security.md T2.3). Routes on the `auth` blueprint.

After the right password, a user who needs a second factor (`tenants.tenancy.second_factor.needed`)
holds only a waiting sign-in (`portal.auth.sessions`, `awaiting_factor`): every page but these
two, signing out, the language switch and the sign-in form redirects here (`_gate`) — to
enrolment when the user has no factor yet, else to the code. `MAX_FAILURES` (5) wrong codes end
the waiting sign-in: the next tries need the password again; and the account's wrong codes, from
any sign-in, buy growing waits (`portal.auth.throttle.second_factor`): a right password clears
the password's counts, so without this whoever knows it could guess codes at the speed of signing
in. A signed-in user without a factor (a secretary) may enrol here too.

Sign-ins that need no code here (the city's identity provider checks its own factors) start their
session with `sessions.start` and never meet this module. Remembering a device for the second
factor is not offered: the known-device cookie (portal.auth.devices) is issued after the password
alone, lives a year and cannot be revoked from the server, so it must not stand in for a factor.
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from infra.db import db
from infra.db import utcnow
from portal import actions
from portal.auth import sessions
from portal.auth import throttle
from portal.auth.views import bp
from portal.auth.views import greet
from portal.auth.views import wait_text
from tenants.tenancy import second_factor
from tenants.tenancy import totp
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession

MAX_FAILURES = 5
# What a waiting sign-in may open: the two steps, the way out, the language, the stylesheet.
OPEN_ENDPOINTS = frozenset({"auth.second_factor", "auth.enrol", "auth.login", "auth.logout", "auth.language",
                            "static"})
OPEN_BLUEPRINTS = frozenset({"parent", "api"})  # their own credentials (a link's token, a bearer token)


@bp.before_app_request
def _gate():
    """A browser whose sign-in waits for its second factor goes to it, whatever page it asks for."""
    if (request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS
            or "sid" not in session or current_user.is_authenticated):
        return None
    row = sessions.pending()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    return redirect(url_for("auth.second_factor" if second_factor.is_enrolled(user) else "auth.enrol"))


def _waiting() -> tuple[UserSession, User] | None:
    row = sessions.pending()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return row, user


def _target() -> str:
    return session.pop("after_factor", None) or url_for("auth.home")


@bp.route("/logowanie/kod", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_view():
    waiting = _waiting()
    if waiting is None:
        return redirect(url_for("auth.login"))
    row, user = waiting
    if not second_factor.is_enrolled(user):
        return redirect(url_for("auth.enrol"))
    if request.method == "GET":
        return render_template("auth/second_factor.html")
    code = request.form.get("code", "")[:60]
    guard = throttle.second_factor(user.id)
    wait = guard.wait()
    if wait:  # the account's wrong codes, from any sign-in: no answer until then
        error = _("Zbyt wiele błędnych kodów. Spróbuj ponownie za %(wait)s.", wait=wait_text(wait))
        return render_template("auth/second_factor.html", error=error), 429, {"Retry-After": str(wait)}
    try:
        used = actions.attempt(lambda: second_factor.verify(user, code))
    except OperationError as err:
        guard.failed()
        row = db.session.get(UserSession, row.id)
        row.factor_failures += 1
        if row.factor_failures >= MAX_FAILURES:
            row.ended_at = utcnow()
            actions.commit()
            return render_template("auth/login.html", error=_("Zbyt wiele błędnych kodów. Zaloguj się ponownie."),
                                   email=user.email, next_target=None), 401
        actions.commit()
        return render_template("auth/second_factor.html", error=str(err)), 401
    guard.succeeded()
    sessions.complete(db.session.get(UserSession, row.id), user)
    greet(user)
    if used == "recovery":
        flash(_("Użyto kodu odzyskiwania; zostało %(n)d. Jeśli zgubiłeś telefon, poproś dyrektora szkoły lub "
                "administratora o ponowne włączenie drugiego składnika.",
                n=second_factor.recovery_codes_left(user)), "success")
    actions.commit()
    return redirect(_target())


def _enrolling() -> tuple[UserSession | None, User] | None:
    """Who is enrolling: a waiting sign-in, or a signed-in user (optional enrolment)."""
    if current_user.is_authenticated:
        return None, current_user
    return _waiting()


def _enrol_page(user: User, secret: str, *, error: str | None = None, status: int = 200):
    return render_template("auth/enrol.html", secret=totp.grouped(secret), required=second_factor.required(user),
                           uri=totp.provisioning_uri(secret, user.email), error=error), status


@bp.route("/logowanie/drugi-skladnik", methods=["GET", "POST"])
def enrol():
    """The secret as text and as a QR code, and a code from the app to prove it was taken. The
    secret waits, encrypted, in the session cookie until then (the page writes nothing)."""
    who = _enrolling()
    if who is None:
        return redirect(url_for("auth.login"))
    row, user = who
    if second_factor.is_enrolled(user):
        if row is None:
            flash(_("Drugi składnik jest już włączony."), "success")
        return redirect(url_for("auth.second_factor" if row is not None else "auth.home"))
    secret = second_factor.unseal(session.get("enrol_secret", ""))
    if secret is None:
        secret = totp.new_secret()
        session["enrol_secret"] = second_factor.seal(secret)
    if request.method == "GET":
        return _enrol_page(user, secret)

    def confirm() -> list[str]:
        second_factor.enrol(user, secret, request.form.get("code", "")[:60])
        codes = second_factor.issue_recovery_codes(user)
        if row is not None:  # the enrolment's code is the second factor of this sign-in
            sessions.complete(db.session.get(UserSession, row.id), user)
            greet(user)
        return codes

    try:
        codes = actions.attempt(confirm)
    except OperationError as err:
        return _enrol_page(user, secret, error=str(err), status=422)
    session.pop("enrol_secret", None)
    return render_template("auth/recovery_codes.html", codes=codes, next_url=_target())
