"""School staff: pupils, photos, applications, print orders, deliveries and handovers.

Thin handlers: parse the form, call `tenants.operations` / `printing.operations`, commit,
redirect. A refused operation re-renders the page with the Polish reason and status 422.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from infra import services
from infra.db import db
from infra.storage import NotFound
from portal.access import require_roles
from portal.security import current_actor
from portal.security import current_membership
from printing import operations as printing_ops
from printing import pricing
from printing import queries as printing_queries
from printing.models import OrderStatus
from printing.tasks import relay_outbox
from tenants import operations
from tenants import queries
from tenants.models import Application
from tenants.models import ApplicationStatus
from tenants.models import Card
from tenants.models import CardStatus
from tenants.models import LearnerType
from tenants.models import Pupil
from tenants.models import Role
from tenants.operations import OperationError

bp = Blueprint("school", __name__, url_prefix="/szkola")

STAFF = (Role.SCHOOL_DIRECTOR, Role.SCHOOL_SECRETARY)
DIRECTOR = (Role.SCHOOL_DIRECTOR,)


def _school():
    return current_membership().organisation


def _parse_date(value: str) -> dt.date | None:
    """Accepts dd.mm.rrrr (what people type) and rrrr-mm-dd (what date inputs send)."""
    value = (value or "").strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


@bp.get("/")
@require_roles(*STAFF)
def dashboard():
    counts = {
        "pupils": db.session.scalar(select(func.count()).select_from(Pupil)),
        "without_photo": db.session.scalar(select(func.count()).select_from(Pupil).where(Pupil.photo_key.is_(None))),
        "to_decide": db.session.scalar(select(func.count()).select_from(Application).where(
            Application.status == ApplicationStatus.SUBMITTED.value)),
        "to_order": db.session.scalar(select(func.count()).select_from(Application).where(
            Application.status == ApplicationStatus.APPROVED.value, Application.order_id.is_(None))),
        "to_hand_over": db.session.scalar(select(func.count()).select_from(Card).where(
            Card.status == CardStatus.DELIVERED.value)),
    }
    orders = printing_queries.school_orders(limit=5)
    return render_template("school/dashboard.html", school=_school(), counts=counts, orders=orders)


# --- pupils ---------------------------------------------------------------------------------


@bp.get("/uczniowie")
@require_roles(*STAFF)
def pupils():
    search = request.args.get("q", "").strip()[:100]
    class_name = request.args.get("klasa", "").strip()[:20]
    return render_template("school/pupils.html", pupils=queries.list_pupils(search=search, class_name=class_name),
                           classes=queries.class_names(), search=search, class_name=class_name)


@bp.route("/uczniowie/nowy", methods=["GET", "POST"])
@require_roles(*STAFF)
def new_pupil():
    if request.method == "GET":
        return render_template("school/pupil_form.html", form={}, learner_types=LearnerType)
    form = request.form
    date_of_birth = _parse_date(form.get("date_of_birth", ""))
    try:
        if date_of_birth is None:
            raise OperationError(_("Podaj datę urodzenia w formacie dd.mm.rrrr."))
        pupil = operations.add_pupil(
            current_actor(), first_names=form.get("first_names", "")[:100], surname=form.get("surname", "")[:100],
            date_of_birth=date_of_birth, sex=form.get("sex", ""), pesel=form.get("pesel", "")[:20],
            class_name=form.get("class_name", ""), learner_type=form.get("learner_type", LearnerType.PUPIL.value),
            disabled=form.get("disabled") == "1")
    except OperationError as err:
        db.session.rollback()
        safe = {k: v for k, v in form.items() if k not in ("pesel", "csrf_token")}
        return render_template("school/pupil_form.html", form=safe, error=str(err), learner_types=LearnerType), 422
    db.session.commit()
    flash(_("Dodano ucznia %(name)s.", name=pupil.full_name), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil.id))


def _pupil_page(pupil: Pupil, *, error: str | None = None, status: int = 200):
    operations.log_access(current_actor(), "pupil_view", school_id=pupil.school_id, pupil_id=pupil.id)
    applications = list(db.session.scalars(select(Application).where(Application.pupil_id == pupil.id)
                                           .order_by(Application.created_at.desc())))
    cards = list(db.session.scalars(select(Card).where(Card.pupil_id == pupil.id).order_by(Card.number.desc())))
    masked = queries.masked_pesel(pupil, services.pesel_cipher())
    db.session.commit()
    return render_template("school/pupil.html", pupil=pupil, masked_pesel=masked, applications=applications,
                           cards=cards, error=error), status


@bp.get("/uczniowie/<int:pupil_id>")
@require_roles(*STAFF)
def pupil(pupil_id: int):
    return _pupil_page(queries.get_pupil(pupil_id))


@bp.post("/uczniowie/<int:pupil_id>/zdjecie")
@require_roles(*STAFF)
def upload_photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    upload = request.files.get("photo")
    try:
        operations.set_photo(current_actor(), pupil, upload.read() if upload else b"")
    except OperationError as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Zdjęcie zostało zapisane (492×633 px, bez metadanych)."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))


@bp.get("/uczniowie/<int:pupil_id>/zdjecie.jpg")
@require_roles(*STAFF)
def photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    if not pupil.photo_key:
        abort(404)
    try:
        data = services.storage().get(pupil.photo_key)
    except NotFound:
        abort(404)
    operations.log_access(current_actor(), "photo_view", school_id=pupil.school_id, pupil_id=pupil.id)
    db.session.commit()
    response = Response(data, mimetype="image/jpeg")
    response.headers["Content-Disposition"] = 'inline; filename="photo.jpg"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.post("/uczniowie/<int:pupil_id>/wnioski")
@require_roles(*STAFF)
def create_application(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    try:
        operations.create_application(current_actor(), pupil, kind="first")
    except OperationError as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Złożono wniosek o pierwszą legitymację. Czeka na decyzję dyrektora."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))


# --- applications ---------------------------------------------------------------------------


@bp.get("/wnioski")
@require_roles(*STAFF)
def applications():
    status = request.args.get("status", "")
    if status not in {s.value for s in ApplicationStatus}:
        status = ""
    return render_template("school/applications.html", applications=queries.list_applications(status or None),
                           status=status, statuses=ApplicationStatus)


def _application_page(application: Application, *, error: str | None = None, status: int = 200):
    pesel = None
    if current_membership().role == Role.SCHOOL_DIRECTOR.value and application.status == "submitted":
        # The approval screen is the one place the full PESEL is shown, to check it (T3.4).
        pesel = services.pesel_cipher().decrypt(application.pupil.pesel_cipher)
        operations.log_access(current_actor(), "pesel_view", school_id=application.school_id,
                              pupil_id=application.pupil_id)
        db.session.commit()
    return render_template("school/application.html", application=application, pesel=pesel, error=error), status


@bp.get("/wnioski/<int:application_id>")
@require_roles(*STAFF)
def application(application_id: int):
    return _application_page(queries.get_application(application_id))


@bp.post("/wnioski/<int:application_id>/decyzja")
@require_roles(*DIRECTOR)
def decide(application_id: int):
    application = queries.get_application(application_id)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        return _application_page(application, error=_("Wybierz decyzję."), status=422)
    try:
        operations.decide_application(current_actor(), application, approve=decision == "approve",
                                      reason=request.form.get("reason", ""))
    except OperationError as err:
        db.session.rollback()
        return _application_page(queries.get_application(application_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Wniosek zatwierdzony.") if decision == "approve" else _("Wniosek odrzucony."), "success")
    return redirect(url_for("school.applications", status="submitted"))


# --- orders ---------------------------------------------------------------------------------


@bp.get("/zamowienia")
@require_roles(*STAFF)
def orders():
    return render_template("school/orders.html", orders=printing_queries.school_orders())


def _new_order_page(*, error: str | None = None, status: int = 200, selected: set[int] | None = None):
    ready = list(db.session.scalars(select(Application).where(
        Application.status == ApplicationStatus.APPROVED.value, Application.order_id.is_(None))
        .order_by(Application.created_at)))
    printers = printing_ops.city_printers(_school().city_id)
    price_lists = {p.id: pricing.tiers(p.id) for p in printers}
    quotes = {p.id: _quote(p.id, len(ready)) for p in printers}
    return render_template("school/order_new.html", applications=ready, printers=printers, price_lists=price_lists,
                           quotes=quotes,
                           selected=selected if selected is not None else {a.id for a in ready},
                           error=error), status


def _quote(printer_id: int, quantity: int):
    """Total for `quantity` cards at this printer, or None when it has no price for it."""
    if quantity < 1:
        return None
    try:
        return pricing.total(pricing.unit_price(printer_id, quantity), quantity)
    except pricing.NoPriceError:
        return None


@bp.route("/zamowienia/nowe", methods=["GET", "POST"])
@require_roles(*STAFF)
def new_order():
    if request.method == "GET":
        return _new_order_page()
    ids = [int(v) for v in request.form.getlist("application_id") if v.isdigit()]
    printer_id = request.form.get("printer_id", type=int)
    try:
        if printer_id is None:
            raise OperationError(_("Wybierz drukarnię."))
        order = printing_ops.create_order(current_actor(), _school(), printer_id, ids)
    except OperationError as err:
        db.session.rollback()
        return _new_order_page(error=str(err), status=422, selected=set(ids))
    db.session.commit()
    flash(_("Przygotowano szkic zamówienia. Sprawdź go i złóż."), "success")
    return redirect(url_for("school.order", order_id=order.id))


def _order_page(order, *, error: str | None = None, status: int = 200):
    applications = list(db.session.scalars(select(Application).where(Application.order_id == order.id)))
    cards = queries.cards_of_order(order.id)
    quote = None
    if order.status == OrderStatus.DRAFT.value:
        try:
            unit = pricing.unit_price(order.printer_id, len(applications))
            quote = (unit, pricing.total(unit, len(applications)))
        except pricing.NoPriceError:
            quote = None
    return render_template("school/order.html", order=order, applications=applications, cards=cards, quote=quote,
                           today=dt.date.today(), error=error), status


@bp.get("/zamowienia/<int:order_id>")
@require_roles(*STAFF)
def order(order_id: int):
    return _order_page(printing_queries.get_school_order(order_id))


def _order_action(order_id: int, action, success: str, *, relay: bool = False):
    order = printing_queries.get_school_order(order_id)
    try:
        action(current_actor(), order)
    except OperationError as err:
        db.session.rollback()
        return _order_page(printing_queries.get_school_order(order_id), error=str(err), status=422)
    db.session.commit()
    if relay:
        relay_outbox()  # after the commit, so the job finds the order it is told about
    flash(success, "success")
    return redirect(url_for("school.order", order_id=order_id))


@bp.post("/zamowienia/<int:order_id>/zloz")
@require_roles(*DIRECTOR)
def submit_order(order_id: int):
    return _order_action(order_id, printing_ops.submit_order,
                         _("Zamówienie złożone. Numery legitymacji zostały nadane w ewidencji."), relay=True)


@bp.post("/zamowienia/<int:order_id>/usun")
@require_roles(*STAFF)
def discard_order(order_id: int):
    order = printing_queries.get_school_order(order_id)
    try:
        printing_ops.discard_draft(current_actor(), order)
    except OperationError as err:
        db.session.rollback()
        return _order_page(printing_queries.get_school_order(order_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Szkic zamówienia usunięty."), "success")
    return redirect(url_for("school.orders"))


@bp.post("/zamowienia/<int:order_id>/ponow")
@require_roles(*STAFF)
def retry_order(order_id: int):
    return _order_action(order_id, printing_ops.retry_order, _("Paczka zostanie przygotowana ponownie."), relay=True)


@bp.post("/zamowienia/<int:order_id>/dostarczone")
@require_roles(*STAFF)
def delivered(order_id: int):
    return _order_action(order_id, printing_ops.mark_delivered,
                         _("Potwierdzono dostarczenie. Można wydawać legitymacje."))


@bp.post("/legitymacje/<int:card_id>/wydanie")
@require_roles(*STAFF)
def hand_over(card_id: int):
    card = queries.get_card(card_id)
    when = _parse_date(request.form.get("handed_over_on", ""))
    try:
        if when is None:
            raise OperationError(_("Podaj datę wydania w formacie dd.mm.rrrr."))
        printing_ops.record_handover(current_actor(), card, handed_over_on=when,
                                     collected_by=request.form.get("collected_by", ""))
    except OperationError as err:
        db.session.rollback()
        return _order_page(printing_queries.get_school_order(card.order_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Zapisano wydanie legitymacji nr %(number)s.", number=card.number), "success")
    return redirect(url_for("school.order", order_id=card.order_id))


@bp.get("/ewidencja")
@require_roles(*STAFF)
def registry():
    cards = list(db.session.scalars(select(Card).order_by(Card.number)))
    return render_template("school/registry.html", cards=cards)
