"""The blank ledger's pages (docs/domain.md §22), the same for a school printing on its own printer
(`portal.school.blanks`) and for a printer, the city's print centre (`portal.printer.blanks`):
stock, deliveries, blanks spoiled, destruction protocols and their PDF. At a school the protocol
also destroys its spoiled cards. Each audience's blueprint is guarded on its own; `install` puts
the routes on it."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from portal import actions
from portal.converters import parse_id
from portal.security import current_actor
from portal.security import current_membership
from tenants.documents.blank_protocol import number_of
from tenants.documents.blank_protocol import protocol_pdf
from tenants.registry import accounted
from tenants.registry import blanks
from tenants.registry.models import Blank
from tenants.registry.models import BlankDelivery
from tenants.registry.models import BlankProtocol
from tenants.registry.models import BlankState
from tenants.registry.models import CardDestruction
from tenants.tenancy.errors import OperationError


def _date(name: str) -> dt.date:
    try:
        return inputs.day(request.form.get(name, ""))
    except inputs.Refused:
        raise OperationError(_("Podaj datę w formacie dd.mm.rrrr.")) from None


def _protocol_rows() -> list[dict]:
    protocols = list(db.session.scalars(select(BlankProtocol).order_by(BlankProtocol.held_on.desc(),
                                                                       BlankProtocol.id.desc())))
    ids = [p.id for p in protocols]
    blank_counts = dict(db.session.execute(select(Blank.protocol_id, func.count()).where(Blank.protocol_id.in_(ids))
                                           .group_by(Blank.protocol_id)).all()) if ids else {}
    card_counts = dict(db.session.execute(select(CardDestruction.protocol_id, func.count())
                                          .where(CardDestruction.protocol_id.in_(ids))
                                          .group_by(CardDestruction.protocol_id)).all()) if ids else {}
    return [{"protocol": p, "number": number_of(p), "blanks": blank_counts.get(p.id, 0),
             "cards": card_counts.get(p.id, 0)} for p in protocols]


def install(bp: Blueprint, *, school: bool) -> None:
    """The ledger's routes on `bp`: "/", "/dostawa", "/zepsute", "/protokol", "/protokol/<id>.pdf"."""
    name = bp.name

    def page(*, error: str | None = None, status: int = 200, form=None):
        in_stock = [b.serial for b in blanks.blanks_in(BlankState.IN_STOCK, limit=10_000)]
        today = clock.today()
        return render_template(
            "blanks/ledger.html", bp=name, school=school, stock=blanks.stock(), today=today,
            deliveries=list(db.session.scalars(select(BlankDelivery).order_by(BlankDelivery.received_on.desc(),
                                                                              BlankDelivery.id.desc()))),
            in_stock=accounted.compress(in_stock), spoiled=blanks.blanks_in(BlankState.SPOILED),
            cards=blanks.cards_to_destroy() if school else [], protocols=_protocol_rows(),
            form=form or {}, error=error), status

    def act(action, success: str):
        return actions.run(action, refused=lambda err: page(error=str(err), status=422, form=request.form),
                           success=success, then=url_for(f"{name}.index"))

    def index():
        return page()

    def receive():
        return act(lambda: blanks.receive(current_actor(), supplier=request.form.get("supplier", "")[:200],
                                          received_on=_date("received_on"), first=request.form.get("first", "")[:40],
                                          last=request.form.get("last", "")[:40]),
                   _("Dostawa blankietów przyjęta na stan."))

    def spoil():
        return act(lambda: blanks.spoil(current_actor(),
                                        accounted.serials_from(request.form.get("serials", "")[:20000],
                                                               accounted.BLANKS),
                                        request.form.get("reason", "")[:300]),
                   _("Blankiety oznaczone jako zepsute — zniszcz je protokołem."))

    def destroy():
        card_ids = [i for i in (parse_id(v) for v in request.form.getlist("card_id")) if i is not None]

        def action():
            return blanks.destroy(current_actor(), held_on=_date("held_on"),
                                  committee=request.form.get("committee", "")[:300],
                                  reason=request.form.get("reason", "")[:300],
                                  serials=accounted.serials_from(request.form.get("serials", "")[:20000],
                                                                 accounted.BLANKS),
                                  card_ids=card_ids if school else [])

        return act(action, _("Protokół zniszczenia zapisany — wydrukuj go i podpiszcie."))

    def protocol(protocol_id: int):
        found = db.session.scalar(select(BlankProtocol).where(BlankProtocol.id == protocol_id))
        if found is None:
            abort(404)
        data = protocol_pdf(current_membership().organisation, found)
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="protokol-zniszczenia-{found.id}.pdf"',
            "Cache-Control": "no-store"})

    bp.add_url_rule("/", "index", index, methods=["GET"])
    bp.add_url_rule("/dostawa", "receive", receive, methods=["POST"])
    bp.add_url_rule("/zepsute", "spoil", spoil, methods=["POST"])
    bp.add_url_rule("/protokol", "destroy", destroy, methods=["POST"])
    bp.add_url_rule("/protokol/<int:protocol_id>.pdf", "protocol", protocol, methods=["GET"])
