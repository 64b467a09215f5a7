"""Platform administrators: the organisations on the platform (onboarding is by CLI for now), the
duplicate fee's periods (docs/domain.md §25: the stamp duty is national law, one table for the
whole platform), and every user account: resetting a second factor, switching an account off or
on (docs/security.md T2.3, T2.5)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.security import current_actor
from tenants.pupils import fees
from tenants.pupils.models import DuplicateFee
from tenants.tenancy import second_factor
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import User

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_blueprint(bp, platform_admin=True)


@bp.get("/")
def organisations():
    orgs = list(db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)))
    return render_template("admin/organisations.html", organisations=orgs)


def _fees_page(*, error: str | None = None, status: int = 200, form: dict | None = None):
    today = clock.today()
    return render_template("admin/fees.html", periods=fees.periods(), in_force=fees.in_force(today), today=today,
                           error=error, form=form or {}, basis_length=fees.BASIS_LENGTH), status


@bp.get("/oplata-za-duplikat")
def duplicate_fees():
    return _fees_page()


def _day(value: str, message: str):
    try:
        day = inputs.day(value)
    except inputs.Refused:
        day = None
    if day is None:
        raise OperationError(message)
    return day


@bp.post("/oplata-za-duplikat")
def add_duplicate_fee():
    form = {k: request.form.get(k, "")[:400] for k in ("amount", "valid_from", "valid_to", "basis")}

    def add():
        try:
            amount = inputs.amount(form["amount"], low=Decimal("0.01"), high=Decimal("999999.99"))
        except inputs.Refused:
            raise OperationError(_("Podaj kwotę opłaty, np. 9,00.")) from None
        valid_from = _day(form["valid_from"], _("Podaj dzień, od którego stawka obowiązuje (dd.mm.rrrr)."))
        valid_to = (_day(form["valid_to"], _("Podaj dzień końca okresu (dd.mm.rrrr) albo zostaw puste."))
                    if form["valid_to"].strip() else None)
        return fees.add_period(current_actor(), amount=amount, valid_from=valid_from, valid_to=valid_to,
                               basis=form["basis"])

    return actions.run(add, refused=lambda err: _fees_page(error=str(err), status=422, form=form),
                       success=_("Zapisano stawkę opłaty za duplikat."), then=url_for("admin.duplicate_fees"))


@bp.post("/oplata-za-duplikat/<int:fee_id>/koniec")
def close_duplicate_fee(fee_id: int):
    fee = db.session.get(DuplicateFee, fee_id)
    if fee is None:
        raise NotFoundError()

    def close():
        valid_to = _day(request.form.get("valid_to", "")[:40], _("Podaj ostatni dzień okresu (dd.mm.rrrr)."))
        fees.close_period(current_actor(), fee, valid_to)

    return actions.run(close, refused=lambda err: _fees_page(error=str(err), status=422),
                       success=_("Zapisano koniec okresu stawki."), then=url_for("admin.duplicate_fees"))


USER_ENDPOINTS = {"reset": "admin.reset_factor", "disable": "admin.disable_user", "enable": "admin.enable_user"}


def _users_page(*, error: str | None = None, status: int = 200):
    from portal.school.staff import staff_rows

    users = list(db.session.scalars(select(User).order_by(User.email)))
    return render_template("admin/users.html", rows=staff_rows(users), error=error, endpoints=USER_ENDPOINTS,
                           id_arg="user_id"), status


def _as_admin():
    """The acting admin, as a platform admin even if they also hold a membership (the log rows go
    into the chains of the user's organisations, tenants.tenancy.second_factor)."""
    return dataclasses.replace(current_actor(), role="platform_admin", organisation_id=None)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError()
    return user


@bp.get("/uzytkownicy")
def users():
    return _users_page()


@bp.post("/uzytkownicy/<int:user_id>/drugi-skladnik")
def reset_factor(user_id: int):
    user = _user(user_id)
    return actions.run(lambda: second_factor.reset(_as_admin(), user),
                       refused=lambda err: _users_page(error=str(err), status=422),
                       success=_("Drugi składnik wyłączony: przy następnym logowaniu %(name)s włączy go od nowa.",
                                 name=user.full_name),
                       then=url_for("admin.users"))


@bp.post("/uzytkownicy/<int:user_id>/wylacz")
def disable_user(user_id: int):
    user = _user(user_id)
    return actions.run(lambda: second_factor.set_active(_as_admin(), user, False),
                       refused=lambda err: _users_page(error=str(err), status=422),
                       success=_("Konto wyłączone i wylogowane ze wszystkich urządzeń."), then=url_for("admin.users"))


@bp.post("/uzytkownicy/<int:user_id>/wlacz")
def enable_user(user_id: int):
    user = _user(user_id)
    return actions.run(lambda: second_factor.set_active(_as_admin(), user, True),
                       refused=lambda err: _users_page(error=str(err), status=422),
                       success=_("Konto włączone."), then=url_for("admin.users"))
