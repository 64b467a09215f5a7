"""Sign-in, sign-out, switching organisation and language, and the start page per role."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from infra.db import db
from portal.auth import sessions
from portal.auth import throttle
from portal.security import current_membership
from tenants.models import Role
from tenants.models import User
from tenants.passwords import DUMMY_HASH
from tenants.passwords import hash_password
from tenants.passwords import needs_rehash
from tenants.passwords import verify_password

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.SCHOOL_DIRECTOR.value: "school.dashboard",
    Role.SCHOOL_SECRETARY.value: "school.dashboard",
    Role.PRINTER_OPERATOR.value: "printer.orders",
    Role.CITY_OFFICIAL.value: "city.overview",
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
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("auth.home"))
        return render_template("auth/login.html")
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    wait = throttle.wait("sign-in", email)
    if wait:  # checked before the password: while it lasts, the right one gets no answer either
        error = _("Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za %(minutes)d min.",
                  minutes=-(-wait // 60))
        return render_template("auth/login.html", error=error, email=email), 429, {"Retry-After": str(wait)}
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    # Verify even for an unknown e-mail, so response time does not reveal which accounts exist.
    valid = verify_password(user.password_hash if user else DUMMY_HASH, password) and user is not None
    if not valid or not user.is_active:
        throttle.failed("sign-in", email)
        return render_template("auth/login.html", error=_("Nieprawidłowy e-mail lub hasło."), email=email), 401
    throttle.succeeded("sign-in", email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    first = user.memberships[0].id if user.memberships else None
    sessions.start(user, first)
    db.session.commit()
    return redirect(_local(request.args.get("next", "")) or url_for("auth.home"))


def _local(target: str) -> str | None:
    """`target` if it is a path on this site, else None (never an open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.post("/wyloguj")
def logout():
    sessions.end()
    db.session.commit()
    return redirect(url_for("auth.login"))


@bp.post("/przelacz")
def switch():
    """Switch to another of the user's own memberships (the only way the tenant changes)."""
    if not current_user.is_authenticated:
        abort(404)
    wanted = request.form.get("membership_id", type=int)
    if wanted not in {m.id for m in current_user.memberships}:
        abort(404)
    session["membership_id"] = wanted
    return redirect(url_for("auth.home"))


@bp.post("/jezyk")
def language():
    lang = request.form.get("lang")
    if lang in ("pl", "en"):
        session["lang"] = lang
    return redirect(_local(request.form.get("next", "")) or url_for("auth.home"))
