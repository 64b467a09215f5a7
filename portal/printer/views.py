"""Printer operators: the orders addressed to their printer, batch downloads, progress reports."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _

from infra import services
from infra.db import db
from infra.storage import NotFound
from portal.access import require_roles
from portal.security import current_actor
from printing import agreements
from printing import operations as printing_ops
from printing import queries as printing_queries
from printing.models import OrderStatus
from tenants.models import Role
from tenants.operations import OperationError
from tenants.operations import log_access

bp = Blueprint("printer", __name__, url_prefix="/drukarnia")

OPERATOR = (Role.PRINTER_OPERATOR,)
DOWNLOADABLE = {OrderStatus.READY.value, OrderStatus.DOWNLOADED.value, OrderStatus.PRINTED.value,
                OrderStatus.SHIPPED.value}


@bp.get("/")
@require_roles(*OPERATOR)
def orders():
    return render_template("printer/orders.html", orders=printing_queries.printer_orders())


def _order_page(order, *, error: str | None = None, status: int = 200):
    return render_template("printer/order.html", order=order, downloadable=order.status in DOWNLOADABLE,
                           error=error), status


@bp.get("/zamowienia/<int:order_id>")
@require_roles(*OPERATOR)
def order(order_id: int):
    return _order_page(printing_queries.get_printer_order(order_id))


def _no_agreement(order):
    """An undelivered batch is closed to a printer whose agreement with the school has lapsed."""
    if agreements.in_force(order.school_id, order.printer_id) is None:
        return _order_page(order, error=_("Umowa powierzenia przetwarzania danych ze szkołą nie obowiązuje — "
                                          "pobieranie danych jest zablokowane do czasu jej odnowienia."), status=403)
    return None


def _download(order_id: int, key_attr: str, filename: str, mimetype: str):
    order = printing_queries.get_printer_order(order_id)
    key = getattr(order, key_attr)
    if order.status not in DOWNLOADABLE or not key:
        abort(404)
    blocked = _no_agreement(order)
    if blocked:
        return blocked
    try:
        data = services.storage().get(key)
    except NotFound:
        abort(404)
    printing_ops.mark_downloaded(current_actor(), order)
    log_access(current_actor(), "batch_download", school_id=order.school_id, order_id=order.id)
    db.session.commit()
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Downloads are POST: the first one moves the order to "downloaded", and GET never changes state.
@bp.post("/zamowienia/<int:order_id>/karty.pdf")
@require_roles(*OPERATOR)
def download_pdf(order_id: int):
    return _download(order_id, "pdf_key", f"zamowienie-{order_id}-karty.pdf", "application/pdf")


@bp.post("/zamowienia/<int:order_id>/manifest.json")
@require_roles(*OPERATOR)
def download_manifest(order_id: int):
    return _download(order_id, "manifest_key", f"zamowienie-{order_id}-manifest.json", "application/json")


@bp.post("/zamowienia/<int:order_id>/paczka.7z")
@require_roles(*OPERATOR)
def download_package(order_id: int):
    return _download(order_id, "package_key", f"zamowienie-{order_id}.7z", "application/x-7z-compressed")


@bp.post("/zamowienia/<int:order_id>/haslo")
@require_roles(*OPERATOR)
def package_password(order_id: int):
    """The package's password, on its own page and only on request (never next to the file)."""
    order = printing_queries.get_printer_order(order_id)
    if order.status not in DOWNLOADABLE or order.package_password_cipher is None:
        abort(404)
    blocked = _no_agreement(order)
    if blocked:
        return blocked
    password = services.pesel_cipher().decrypt(order.package_password_cipher)
    log_access(current_actor(), "package_password_view", school_id=order.school_id, order_id=order.id)
    db.session.commit()
    response = Response(render_template("printer/password.html", order=order, password=password))
    response.headers["Cache-Control"] = "no-store"
    return response


def _action(order_id: int, action, message: str):
    order = printing_queries.get_printer_order(order_id)
    try:
        action(current_actor(), order)
    except OperationError as err:
        db.session.rollback()
        return _order_page(printing_queries.get_printer_order(order_id), error=str(err), status=422)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("printer.order", order_id=order_id))


@bp.post("/zamowienia/<int:order_id>/wydrukowane")
@require_roles(*OPERATOR)
def printed(order_id: int):
    return _action(order_id, printing_ops.mark_printed, _("Oznaczono jako wydrukowane."))


@bp.post("/zamowienia/<int:order_id>/wyslane")
@require_roles(*OPERATOR)
def shipped(order_id: int):
    return _action(order_id, printing_ops.mark_shipped, _("Oznaczono jako wysłane do szkoły."))
