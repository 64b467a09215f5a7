"""Reads of print orders for the current tenant (school or printer)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from infra.db import db
from infra.db import utcnow
from printing.models import OrderStatus
from printing.models import PrintOrder
from tenants.tenancy.context import current_tenant
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import NotFoundError


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


def printer_orders(status: str | None = None) -> list[PrintOrder]:
    """The printer's queue across all schools: open orders by due date (soonest first, then
    oldest submission), then finished ones newest first. Drafts stay private to the school."""
    stmt = select(PrintOrder).where(PrintOrder.printer_id == _printer_id(),
                                    PrintOrder.status != OrderStatus.DRAFT.value)
    if status:
        stmt = stmt.where(PrintOrder.status == status)
    finished = (OrderStatus.DELIVERED.value, OrderStatus.REJECTED.value)
    rows = list(db.session.scalars(stmt))
    open_ = sorted((o for o in rows if o.status not in finished),
                   key=lambda o: (o.due_date or dt.date.max, o.submitted_at or utcnow(), o.id))
    done = sorted((o for o in rows if o.status in finished), key=lambda o: o.id, reverse=True)
    return open_ + done


def get_printer_order(order_id: int) -> PrintOrder:
    order = db.session.scalar(select(PrintOrder).where(
        PrintOrder.id == order_id, PrintOrder.printer_id == _printer_id(),
        PrintOrder.status != OrderStatus.DRAFT.value))
    if order is None:
        raise NotFoundError("order")
    return order
