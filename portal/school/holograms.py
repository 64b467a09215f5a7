"""Hologram stock: deliveries, the yearly confirmation, voiding and destruction by protocol."""

from __future__ import annotations

import datetime as dt

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
from portal.converters import parse_id
from portal.school.common import STAFF
from portal.school.common import parse_date
from portal.security import current_actor
from tenants.registry import accounted
from tenants.registry import holograms
from tenants.registry.models import HologramDelivery
from tenants.registry.models import HologramProtocol
from tenants.tenancy.errors import OperationError

bp = Blueprint("holograms", __name__, url_prefix="/szkola/hologramy")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


def _year(value: str | None) -> int:
    """The school year a link names (2024 = 2024/25); the current one when it names none."""
    year = inputs.whole_or_none(value, low=2024, high=2100)
    return year if year is not None else holograms.school_year_of(clock.today())


def _form_year() -> int:
    """The school year a form chose; a form naming none (or nonsense) is refused, not guessed."""
    year = inputs.whole_or_none(request.form.get("school_year"), low=2024, high=2100)
    if year is None:
        raise OperationError(_("Wybierz rok szkolny, który hologramy potwierdzają."))
    return year


def _page(*, error: str | None = None, status: int = 200, form: dict | None = None):
    deliveries = list(db.session.scalars(select(HologramDelivery).order_by(HologramDelivery.received_on.desc())))
    protocols = list(db.session.scalars(select(HologramProtocol).order_by(HologramProtocol.held_on.desc())))
    this_year = holograms.school_year_of(clock.today())
    return render_template("school/holograms.html", stock=holograms.stock(), deliveries=deliveries,
                           protocols=protocols, this_year=this_year, years=[this_year + 1, this_year, this_year - 1],
                           today=clock.today(), form=form or {}, error=error), status


@bp.get("/")
def index():
    return _page()


def _act(action, success: str):
    return actions.run(action, refused=lambda err: _page(error=str(err), status=422, form=request.form),
                       success=success, then=url_for("holograms.index"))


def _date(name: str) -> dt.date:
    value = parse_date(request.form.get(name, ""))
    if value is None:
        raise OperationError(_("Podaj datę w formacie dd.mm.rrrr."))
    return value


@bp.post("/dostawa")
def receive():
    def action():
        holograms.receive(current_actor(), school_year=_form_year(),
                          supplier=request.form.get("supplier", "")[:200], received_on=_date("received_on"),
                          first=request.form.get("first", "")[:30], last=request.form.get("last", "")[:30])

    return _act(action, _("Dostawa przyjęta na stan."))


@bp.post("/protokol")
def protocol():
    kind = request.form.get("kind")

    def action():
        if kind not in ("void", "destroy"):
            raise OperationError(_("Wybierz rodzaj protokołu."))
        do = holograms.void if kind == "void" else holograms.destroy
        do(current_actor(), accounted.serials_from(request.form.get("serials", "")[:20000]), held_on=_date("held_on"),
           committee=request.form.get("committee", "")[:300], reason=request.form.get("reason", "")[:300])

    return _act(action, _("Protokół zapisany."))


@bp.get("/potwierdzenie")
def confirmation():
    year = _year(request.args.get("rok"))
    cards = holograms.cards_needing(year)
    return render_template("school/hologram_confirmation.html", year=year, cards=cards,
                           available=len(holograms.in_stock_serials(year)), assigned=None,
                           this_year=holograms.school_year_of(clock.today()))


@bp.post("/potwierdzenie")
def confirm():
    year = _year(request.form.get("school_year"))
    wanted = {parse_id(v) for v in request.form.getlist("card_id")} - {None}  # "²" or 5,000 digits: no card
    cards = [c for c in holograms.cards_needing(year) if c.id in wanted]

    def assign():
        _form_year()
        return [(card.label, f"{card.pupil.surname} {card.pupil.first_names}", card.pupil.class_name, serial)
                for card, serial in holograms.confirm_year(current_actor(), year, cards)]

    def page(*, assigned=None, error: str | None = None, status: int = 200):
        return render_template("school/hologram_confirmation.html", year=year, cards=holograms.cards_needing(year),
                               available=len(holograms.in_stock_serials(year)), assigned=assigned, error=error,
                               this_year=holograms.school_year_of(clock.today())), status

    # Not redirected: the list of who gets which serial is shown once, to stick them on by.
    return actions.run(assign, refused=lambda err: page(error=str(err), status=422),
                       success=lambda rows: _("Przypisano %(n)s hologramów. Naklej je według listy poniżej.",
                                              n=len(rows)),
                       then=lambda rows: page(assigned=rows))

