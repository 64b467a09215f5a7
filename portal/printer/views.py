"""Printer operators: the orders addressed to their printer, batch downloads, progress reports."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from infra import clock
from infra import services
from infra.db import db
from infra.storage import NotFound
from portal import actions
from portal.access import guard_blueprint
from portal.formatting import datetime_pl
from portal.order_forms import item_results
from portal.security import current_actor
from portal.security import current_membership
from printing import agreements
from printing import batch
from printing import deletions
from printing import fulfilment
from printing import pricing
from printing import queries as printing_queries
from printing import terms
from printing.models import OrderStatus
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import Role
from tenants.tenancy.operations import log_access

bp = Blueprint("printer", __name__, url_prefix="/drukarnia")

OPERATOR = (Role.PRINTER_OPERATOR,)
guard_blueprint(bp, *OPERATOR)  # every route; narrower ones add require_roles


@bp.get("/")
def orders():
    rows, today = printing_queries.printer_orders(), clock.today()
    return render_template("printer/orders.html", orders=rows, today=today,
                           deletions=deletions.standings(rows, today),
                           finished=(OrderStatus.DELIVERED.value, OrderStatus.REJECTED.value))


def _order_page(order, *, error: str | None = None, status: int = 200, form=None):
    return render_template("printer/order.html", order=order, downloadable=fulfilment.can_download(order),
                           items=fulfilment.items(order), today=clock.today(), error=error,
                           deletion=deletions.standing(order), form=form), status


def _settings_page(*, error: str | None = None, status: int = 200, form=None):
    printer = current_membership().organisation
    return render_template("printer/settings.html", printer=printer, tiers=pricing.tiers(printer.id),
                           season_from=terms.day_month(printer.season_from),
                           season_until=terms.day_month(printer.season_until), form=form, error=error), status


@bp.route("/ustawienia", methods=["GET", "POST"])
def settings():
    """The printer's terms (lead time, season surcharge and window, shipping per parcel, cards per
    parcel, VAT) and its machine's calibration."""
    if request.method == "GET":
        return _settings_page()
    printer = db.session.get(Organisation, current_membership().organisation_id)
    return actions.run(lambda: terms.update_printer_terms(current_actor(), printer, request.form),
                       refused=lambda err: _settings_page(error=str(err), status=422, form=request.form),
                       success=_("Zapisano ustawienia drukarni. Nowe warunki obowiązują w kolejnych zamówieniach."),
                       then=url_for("printer.settings"))


@bp.get("/zamowienia/<int:order_id>")
def order(order_id: int):
    return _order_page(printing_queries.get_printer_order(order_id))


def _no_agreement(order):
    """An undelivered batch is closed to a printer whose agreement with the school has lapsed."""
    if agreements.in_force(order.school_id, order.printer_id) is None:
        return _order_page(order, error=_("Umowa powierzenia przetwarzania danych ze szkołą nie obowiązuje — "
                                          "pobieranie danych jest zablokowane do czasu jej odnowienia."), status=403)
    return None


def _download(order_id: int, key_attr: str | None, filename: str, mimetype: str):
    """A batch file from storage (`key_attr`: the order's column holding its key), or with
    `key_attr` None the card PDF, taken out of the encrypted package (storage keeps no plain copy,
    docs/security.md T3.19)."""
    order = printing_queries.get_printer_order(order_id)
    key = getattr(order, key_attr or "package_key")
    if not fulfilment.can_download(order) or not key:
        abort(404)
    blocked = _no_agreement(order)
    if blocked:
        return blocked
    try:
        data = services.storage().get(key) if key_attr else batch.print_file(order)
    except NotFound:
        abort(404)
    fulfilment.mark_downloaded(current_actor(), order)
    log_access(current_actor(), "batch_download", school_id=order.school_id, order_id=order.id)
    actions.commit()
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# Downloads are POST: the first one moves the order to "downloaded", and GET never changes state.
@bp.post("/zamowienia/<int:order_id>/karty.pdf")
def download_pdf(order_id: int):
    return _download(order_id, None, f"zamowienie-{order_id}-karty.pdf", "application/pdf")


@bp.post("/zamowienia/<int:order_id>/manifest.json")
def download_manifest(order_id: int):
    return _download(order_id, "manifest_key", f"zamowienie-{order_id}-manifest.json", "application/json")


@bp.post("/zamowienia/<int:order_id>/paczka.7z")
def download_package(order_id: int):
    return _download(order_id, "package_key", f"zamowienie-{order_id}.7z", "application/x-7z-compressed")


@bp.post("/zamowienia/<int:order_id>/haslo")
def package_password(order_id: int):
    """The package's password, on its own page and only on request (never next to the file)."""
    order = printing_queries.get_printer_order(order_id)
    if not fulfilment.can_download(order) or order.package_password_cipher is None:
        abort(404)
    blocked = _no_agreement(order)
    if blocked:
        return blocked
    password = services.pesel_cipher().decrypt(order.package_password_cipher)
    log_access(current_actor(), "package_password_view", school_id=order.school_id, order_id=order.id)
    actions.commit()
    response = Response(render_template("printer/password.html", order=order, password=password))
    response.headers["Cache-Control"] = "no-store"
    return response


def _action(order_id: int, action, message: str):
    order = printing_queries.get_printer_order(order_id)
    return actions.run(lambda: action(current_actor(), order), success=message,
                       refused=lambda err: _order_page(printing_queries.get_printer_order(order_id), error=str(err),
                                                       status=422),
                       then=url_for("printer.order", order_id=order_id))


@bp.post("/zamowienia/<int:order_id>/przyjmij")
def accept(order_id: int):
    return _action(order_id, fulfilment.accept, _("Zamówienie przyjęte do realizacji. Można pobrać dane."))


@bp.post("/zamowienia/<int:order_id>/odrzuc")
def reject(order_id: int):
    reason = request.form.get("reason", "")
    return _action(order_id, lambda actor, order: fulfilment.reject(actor, order, reason),
                   _("Zamówienie odrzucone. Szkoła wybierze inną drukarnię."))


@bp.post("/zamowienia/<int:order_id>/wyniki")
def results(order_id: int):
    """Per-card results from the table on the order page: each row's outcome, blank serial,
    chip UID or rejection reason; rows left "pending" are not touched."""
    submitted = item_results(request.form, fulfilment.items(printing_queries.get_printer_order(order_id)))
    return _action(order_id, lambda actor, o: fulfilment.record_results(actor, o, submitted),
                   _("Zapisano wyniki druku."))


@bp.post("/zamowienia/<int:order_id>/wyslane")
def shipped(order_id: int):
    carrier, tracking = request.form.get("carrier", ""), request.form.get("tracking_number", "")
    return _action(order_id, lambda actor, o: fulfilment.ship(actor, o, carrier=carrier, tracking_number=tracking),
                   _("Oznaczono jako wysłane do szkoły."))


@bp.post("/zamowienia/<int:order_id>/faktura")
def invoice(order_id: int):
    form = request.form
    return _action(order_id, lambda actor, o: fulfilment.record_invoice(
        actor, o, number=form.get("number", ""), net=form.get("net", ""), vat=form.get("vat", ""),
        gross=form.get("gross", "")), _("Zapisano fakturę."))


def _confirm_deletion(actor, order, form):
    if form.get("confirm") != "1":
        raise OperationError(_("Zaznacz oświadczenie, że usunięto wszystkie kopie danych zamówienia."), "unconfirmed")
    return deletions.confirm(actor, order, method=form.get("method", ""), statement=form.get("statement", ""))


def _deletion_message(result) -> str:
    confirmation, made = result
    if made:
        return _("Potwierdzono usunięcie danych zamówienia. Szkoła i miasto widzą potwierdzenie.")
    return _("Usunięcie danych tego zamówienia zostało już potwierdzone (%(when)s) — niczego nie zmieniono.",
             when=datetime_pl(confirmation.confirmed_at))


@bp.post("/zamowienia/<int:order_id>/usuniecie-danych")
def confirm_deletion(order_id: int):
    """After delivery the printer confirms it deleted every copy of the order's data (docs/domain.md
    §23): once; a repeat changes nothing and says when it was confirmed."""
    order = printing_queries.get_printer_order(order_id)
    form = request.form
    return actions.run(lambda: _confirm_deletion(current_actor(), order, form), success=_deletion_message,
                       refused=lambda err: _order_page(printing_queries.get_printer_order(order_id), error=str(err),
                                                       status=422, form=form),
                       then=url_for("printer.order", order_id=order_id))
