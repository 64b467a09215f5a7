"""Pupils moving between the city's schools: the sender chooses the school and confirms, the
receiver sees incoming requests and accepts (taking over what it chooses) or declines them, the
sender follows the outcome and may withdraw a pending request (`tenants.transfers.operations`).

Every handler acts as the signed-in school only; another school's request, or one between two
other schools, is a 404.
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.converters import parse_id
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.common import jpeg_response
from portal.security import current_actor
from tenants.pupils import queries
from tenants.pupils.identity import masked
from tenants.pupils.models import Pupil
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import User
from tenants.transfers import operations as transfers
from tenants.transfers.models import PupilTransfer

bp = Blueprint("transfers", __name__, url_prefix="/szkola")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles

FIELD_LABELS = {
    "first_names": lazy_gettext("Imiona"), "surname": lazy_gettext("Nazwisko"),
    "date_of_birth": lazy_gettext("Data urodzenia"), "sex": lazy_gettext("Płeć"),
    "learner_type": lazy_gettext("Rodzaj"), "disabled": lazy_gettext("Niepełnosprawność"),
    "address": lazy_gettext("Adres"), "parent_email": lazy_gettext("E-mail rodzica"),
}


# --- the sending school ---------------------------------------------------------------------


def _send_page(pupil: Pupil, *, target_id: int | None = None, error: str | None = None, status: int = 200):
    """The choice of school and, once a valid one is chosen, what sending will do, to confirm."""
    school = current_school()
    target, can_send = None, True
    try:
        transfers.check_can_send(pupil)
    except OperationError as err:
        can_send, error, status = False, error or str(err), 422
    if can_send and target_id is not None:
        try:
            target = transfers.receiving_school(school, target_id)
        except OperationError as err:
            error, status = error or str(err), 422
    body = render_template("school/transfer_send.html", pupil=pupil, schools=transfers.receiving_schools(school),
                           target=target, can_send=can_send, cards=transfers.live_cards(pupil), error=error)
    return body, status


@bp.get("/uczniowie/<int:pupil_id>/przeniesienie")
def confirm(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    raw = request.args.get("target_id")
    target_id = parse_id(raw)
    if raw is not None and target_id is None:
        return _send_page(pupil, error=_("Wybierz inną szkołę tego samego miasta z listy."), status=422)
    return _send_page(pupil, target_id=target_id)


@bp.post("/uczniowie/<int:pupil_id>/przeniesienie")
def send(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    target_id = parse_id(request.form.get("target_id"))
    if request.form.get("confirm") != "1":
        return _send_page(pupil, target_id=target_id, error=_("Potwierdź przeniesienie przyciskiem poniżej."),
                          status=422)

    def send_it():
        if target_id is None:
            raise OperationError(_("Wybierz inną szkołę tego samego miasta z listy."))
        return transfers.send(current_actor(), current_school(), pupil, target_id)

    return actions.run(
        send_it, refused=lambda err: _send_page(queries.get_pupil(pupil_id), error=str(err), status=422),
        success=lambda sent: _("Wysłano prośbę o przeniesienie do: %(school)s. Uczeń jest oznaczony jako "
                               "przeniesiony, a jego legitymacje z tej szkoły są unieważnione. Stan prośby widać na "
                               "tej stronie.", school=transfers.school_names([sent])[sent.to_school_id]),
        then=url_for("school.pupil", pupil_id=pupil_id))


@bp.post("/przeniesienia/<int:transfer_id>/wycofaj")
def withdraw(transfer_id: int):
    found = transfers.get_transfer(transfer_id)
    return actions.run(
        lambda: transfers.withdraw(current_actor(), found), refused=lambda err: _refused(transfer_id, err),
        success=_("Prośba o przeniesienie została wycofana. Uczeń pozostaje oznaczony jako przeniesiony — możesz "
                  "wysłać prośbę do innej szkoły albo zmienić jego status w danych ucznia."),
        then=lambda _result: url_for("school.pupil", pupil_id=found.from_pupil_id))


# --- both schools ---------------------------------------------------------------------------


@bp.get("/przeniesienia")
def index():
    pending = transfers.incoming(pending=True)
    decided = transfers.incoming(pending=False)
    sent = transfers.outgoing()
    return render_template("school/transfers.html", pending=pending, decided=decided, sent=sent,
                           names=transfers.school_names(pending + decided + sent))


def _transfer_page(found: PupilTransfer, *, error: str | None = None, status: int = 200):
    receiver = transfers.is_receiver(found)
    known = transfers.known_pupil(found) if receiver else None
    transfers.opened(current_actor(), found, known=known)
    sender = db.session.get(User, found.sent_by_id)
    body = render_template(
        "school/transfer.html", transfer=found, receiver=receiver, known=known,
        differences=transfers.differences(found, known) if known is not None else [],
        identity=masked(found), known_identity=masked(known) if known is not None else "",
        names=transfers.school_names([found]), sender_name=sender.full_name if sender else "",
        labels=FIELD_LABELS, takeable=transfers.TAKEABLE, error=error)
    actions.commit()  # the access-log rows (and the time the request was received)
    return body, status


def _refused(transfer_id: int, err: OperationError):
    return _transfer_page(transfers.get_transfer(transfer_id), error=str(err), status=422)


@bp.get("/przeniesienia/<int:transfer_id>")
def show(transfer_id: int):
    return _transfer_page(transfers.get_transfer(transfer_id))


@bp.get("/przeniesienia/<int:transfer_id>/zdjecie.jpg")
def photo(transfer_id: int):
    data = transfers.photo(current_actor(), transfers.get_transfer(transfer_id))
    actions.commit()
    return jpeg_response(data)


# --- the receiving school -------------------------------------------------------------------


@bp.post("/przeniesienia/<int:transfer_id>/przyjmij")
def accept(transfer_id: int):
    found = transfers.get_transfer(transfer_id)
    form = request.form
    takeover = transfers.Takeover(
        photo=form.get("take_photo") == "1", fields=tuple(form.getlist("take")[:len(transfers.TAKEABLE) + 1]),
        reactivate=form.get("reactivate") == "1", class_name=form.get("class_name", "")[:100],
        application=form.get("application") == "1")
    return actions.run(
        lambda: transfers.accept(current_actor(), found, takeover), refused=lambda err: _refused(transfer_id, err),
        success=lambda pupil: _("Przyjęto ucznia %(name)s.", name=pupil.full_name) + " " + (
            _("Wniosek o pierwszą legitymację czeka na decyzję dyrektora.") if takeover.application else ""),
        then=lambda pupil: url_for("school.pupil", pupil_id=pupil.id))


@bp.post("/przeniesienia/<int:transfer_id>/odrzuc")
def decline(transfer_id: int):
    found = transfers.get_transfer(transfer_id)
    return actions.run(lambda: transfers.decline(current_actor(), found, request.form.get("reason", "")[:2000]),
                       refused=lambda err: _refused(transfer_id, err),
                       success=_("Prośba o przeniesienie została odrzucona; szkoła wysyłająca zobaczy powód."),
                       then=url_for("transfers.index"))
