"""Sign-in, sign-out, switching organisation and language, and the start page per role."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from infra.db import db
from portal import actions
from portal.auth import devices
from portal.auth import sessions
from portal.auth import throttle
from portal.formatting import datetime_pl
from portal.redirects import local_target
from portal.security import current_membership
from tenants.tenancy import second_factor
from tenants.tenancy.models import Role
from tenants.tenancy.models import User
from tenants.tenancy.passwords import dummy_hash
from tenants.tenancy.passwords import hash_password
from tenants.tenancy.passwords import needs_rehash
from tenants.tenancy.passwords import verify_password

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.SCHOOL_DIRECTOR.value: "school.dashboard",
    Role.SCHOOL_SECRETARY.value: "school.dashboard",
    Role.PRINTER_OPERATOR.value: "printer.orders",
    Role.CITY_OFFICIAL.value: "city.overview",
    Role.DATA_PROTECTION_OFFICER.value: "dpo.index",
}


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    membership = current_membership()
    if membership is not None:
        return redirect(url_for(HOME_BY_ROLE[membership.role]))
    if current_user.is_platform_admin:
        return redirect(url_for("admin.organisations"))
    return render_template("auth/no_membership.html")


@bp.route("/logowanie", methods=["GET", "POST"])
def login():
    target = local_target(request.args.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("auth.home"))
        return render_template("auth/login.html", next_target=target)
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    guard = throttle.sign_in(email, devices.device_for(email))
    wait = guard.wait()
    if wait:  # checked before the password: while it lasts, this client's guess gets no answer
        error = _("Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za %(wait)s.", wait=wait_text(wait))
        return (render_template("auth/login.html", error=error, email=email, next_target=target), 429,
                {"Retry-After": str(wait)})
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    # Verify even for an unknown e-mail, so response time does not reveal which accounts exist.
    valid = verify_password(user.password_hash if user else dummy_hash(), password) and user is not None
    if not valid or not user.is_active:
        wait = guard.failed()
        if not wait:
            error, headers = _("Nieprawidłowy e-mail lub hasło."), {}
        else:  # the next attempt is refused until then: say so now, not after another try
            error = _("Nieprawidłowy e-mail lub hasło. Następna próba będzie możliwa za %(wait)s.",
                      wait=wait_text(wait))
            headers = {"Retry-After": str(wait)}
        return render_template("auth/login.html", error=error, email=email, next_target=target), 401, headers
    guard.succeeded()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    first = user.memberships[0].id if user.memberships else None
    if second_factor.needed(user):  # the code (or enrolment) comes next: portal.auth.factor, docs/security.md T2.3
        enrolled = second_factor.is_enrolled(user)
        sessions.start(user, first, awaiting_factor=True)
        if target:
            session["after_factor"] = target
        response = redirect(url_for("auth.second_factor" if enrolled else "auth.enrol"))
    else:
        sessions.start(user, first)
        greet(user)
        response = redirect(target or url_for("auth.home"))
    actions.commit()
    devices.remember(response, email)
    return response


def greet(user: User) -> None:
    """Flash where and when the user last signed in (docs/security.md T2.5), so a sign-in they did
    not make is noticed. Call right after the new session started."""
    previous = sessions.previous_sign_in(user)
    if previous is None:
        flash(_("To pierwsze logowanie na tym koncie."), "success")
    else:
        when = datetime_pl(previous.created_at).replace(",", "")  # dd.mm.rrrr gg:mm, Europe/Warsaw
        flash(_("Poprzednie logowanie: %(when)s, adres IP %(ip)s.", when=when, ip=previous.ip or _("nieznany")),
              "success")


def wait_text(seconds: int) -> str:
    """A wait as people say it: seconds under two minutes, whole minutes (rounded up) above."""
    if seconds < 120:
        return _("%(seconds)d s", seconds=seconds)
    return _("%(minutes)d min", minutes=-(-seconds // 60))


@bp.post("/wyloguj")
def logout():
    sessions.end()
    actions.commit()
    return redirect(url_for("auth.login"))


@bp.post("/przelacz")
def switch():
    """Switch to another of the user's own memberships (the only way the tenant changes)."""
    if not current_user.is_authenticated:
        abort(404)
    wanted = request.form.get("membership_id", type=int)
    if wanted not in {m.id for m in sessions.usable_memberships(current_user.memberships)}:
        abort(404)
    session["membership_id"] = wanted
    return redirect(url_for("auth.home"))


@bp.post("/jezyk")
def language():
    lang = request.form.get("lang")
    if lang in ("pl", "en"):
        session["lang"] = lang
    return redirect(local_target(request.form.get("next")) or url_for("auth.home"))
