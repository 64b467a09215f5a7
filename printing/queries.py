"""Reads of print orders for the current tenant (school or printer)."""

from __future__ import annotations

from sqlalchemy import select

from infra.db import db
from printing.models import OrderStatus
from printing.models import PrintOrder
from tenants.context import current_tenant
from tenants.context import require_school
from tenants.operations import NotFoundError


def school_orders(limit: int = 200) -> list[PrintOrder]:
    return list(db.session.scalars(select(PrintOrder).where(PrintOrder.school_id == require_school())
                                   .order_by(PrintOrder.id.desc()).limit(limit)))


def get_school_order(order_id: int) -> PrintOrder:
    order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == order_id,
                                                       PrintOrder.school_id == require_school()))
    if order is None:
        raise NotFoundError("order")
    return order


def _printer_id() -> int:
    printer_id = current_tenant().printer_id
    if printer_id is None:
        raise LookupError("no printer tenant is set")
    return printer_id


def printer_orders() -> list[PrintOrder]:
    """Orders addressed to the current printer; drafts stay private to the school."""
    return list(db.session.scalars(
        select(PrintOrder).where(PrintOrder.printer_id == _printer_id(), PrintOrder.status != OrderStatus.DRAFT.value)
        .order_by(PrintOrder.submitted_at.desc())))


def get_printer_order(order_id: int) -> PrintOrder:
    order = db.session.scalar(select(PrintOrder).where(
        PrintOrder.id == order_id, PrintOrder.printer_id == _printer_id(),
        PrintOrder.status != OrderStatus.DRAFT.value))
    if order is None:
        raise NotFoundError("order")
    return order
