"""The school's staff, for its director: whether each has the second factor, resetting it (a lost
phone), and switching an account off or on (docs/security.md T2.3, T2.5).

A director manages only accounts whose every membership is in this school; another school's
user, or an id of nobody, is 404 (the school sees only its own staff). Each change is logged in
the school's access-log chain (`tenants.tenancy.second_factor`).
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.access import require_roles
from portal.school.common import DIRECTOR
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.security import current_actor
from tenants.tenancy import second_factor
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Membership
from tenants.tenancy.models import SecondFactor
from tenants.tenancy.models import User

bp = Blueprint("school_staff", __name__, url_prefix="/szkola/pracownicy")
guard_blueprint(bp, *STAFF)  # every route is the director's (require_roles)
ENDPOINTS = {"reset": "school_staff.reset_factor", "disable": "school_staff.disable", "enable": "school_staff.enable"}


def staff_rows(users: list[User]) -> list[dict]:
    """Each user with their second factor's state, for the staff tables (school and admin)."""
    enrolled = set(db.session.scalars(select(SecondFactor.user_id).where(
        SecondFactor.user_id.in_([u.id for u in users]))))
    return [{"user": u, "enrolled": u.id in enrolled, "required": second_factor.required(u)} for u in users]


def _page(*, error: str | None = None, status: int = 200):
    school = current_school()
    users = list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                    .where(Membership.organisation_id == school.id)
                                    .order_by(User.full_name, User.id).distinct()))
    return render_template("school/staff.html", rows=staff_rows(users), error=error, endpoints=ENDPOINTS,
                           id_arg="staff_id"), status


def _member(staff_id: int) -> User:
    """A user of this school (any membership here); anyone else is 404."""
    school = current_school()
    user = db.session.scalar(select(User).join(Membership, Membership.user_id == User.id)
                             .where(User.id == staff_id, Membership.organisation_id == school.id).limit(1))
    if user is None:
        raise NotFoundError()
    return user


def _manageable(user: User) -> User:
    if not second_factor.manageable_by_school(user, current_school().id):
        raise OperationError(_("To konto ma role także w innych organizacjach — zmienić je może administrator "
                               "platformy."))
    return user


@bp.get("/")
@require_roles(*DIRECTOR)
def index():
    return _page()


@bp.post("/<int:staff_id>/drugi-skladnik")
@require_roles(*DIRECTOR)
def reset_factor(staff_id: int):
    user = _member(staff_id)
    return actions.run(lambda: second_factor.reset(current_actor(), _manageable(user)),
                       refused=lambda err: _page(error=str(err), status=422),
                       success=_("Drugi składnik wyłączony: przy następnym logowaniu %(name)s włączy go od nowa.",
                                 name=user.full_name),
                       then=url_for("school_staff.index"))


@bp.post("/<int:staff_id>/wylacz")
@require_roles(*DIRECTOR)
def disable(staff_id: int):
    user = _member(staff_id)
    return actions.run(lambda: second_factor.set_active(current_actor(), _manageable(user), False),
                       refused=lambda err: _page(error=str(err), status=422),
                       success=_("Konto wyłączone i wylogowane ze wszystkich urządzeń."),
                       then=url_for("school_staff.index"))


@bp.post("/<int:staff_id>/wlacz")
@require_roles(*DIRECTOR)
def enable(staff_id: int):
    user = _member(staff_id)
    return actions.run(lambda: second_factor.set_active(current_actor(), _manageable(user), True),
                       refused=lambda err: _page(error=str(err), status=422),
                       success=_("Konto włączone."), then=url_for("school_staff.index"))
