"""The printer's side of retention (docs/domain.md §23; docs/security.md T3.8): after delivery the
printing house (or the city print centre) that downloaded an order's encrypted batch deletes every
copy it holds and confirms it, on its order page or through the API. ZEFO keeps data 7 days from
the delivery of the cards to the school and then destroys it (source 003 §6.3, docs/domain.md §12);
under the data-processing agreement the printer owes the same.

Counting, in Warsaw days (docs/domain.md §16): delivered on day D, the copy may be kept through
day D + N, N the agreement's retention days (7); the confirmation is missing — "brak potwierdzenia
usunięcia" for the school and the city — from day D + N + 1 on. Delivered 10.11.2026 → kept
through 17.11.2026 (not flagged on that day) → flagged on 18.11.2026, one day overdue.

Confirming is allowed once the order is delivered, and once: a second confirmation changes
nothing and answers with the first (idempotent, so a printer's system may retry safely).
Functions flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing.fulfilment import RETENTION_DAYS
from printing.models import OrderStatus
from printing.models import PrinterDeletion
from printing.models import PrintOrder
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

MAX_METHOD = 200
MAX_STATEMENT = 1000
VIA_WEB, VIA_API = "web", "api"


def _text(value, limit: int, label: str) -> str:
    """One line of user text: whitespace runs collapsed, control characters dropped."""
    cleaned = " ".join("".join(c for c in str(value or "") if c.isprintable() or c.isspace()).split())
    if len(cleaned) > limit:
        raise OperationError(f"{label} może mieć najwyżej {limit} znaków.", "too_long")
    return cleaned


def applies(order: PrintOrder) -> bool:
    """The duty exists for a delivered order of a printing house or the city print centre (not
    for the school's own printer: no one outside the school held the data)."""
    return order.printer_id is not None and order.status == OrderStatus.DELIVERED.value and \
        order.delivered_at is not None


def retention_days(order: PrintOrder) -> int:
    """The agreement's retention period as it was fixed at delivery (`purge_after` − `delivered_at`,
    printing.fulfilment.confirm_delivery), else 7 days."""
    return _retention(order.delivered_at, order.purge_after)


def _retention(delivered_at: dt.datetime | None, purge_after: dt.datetime | None) -> int:
    if purge_after is None or delivered_at is None:
        return RETENTION_DAYS
    return max(0, round((purge_after - delivered_at).total_seconds() / 86400))


def due_on(order: PrintOrder) -> dt.date | None:
    """The last day the printer may keep the copy: the Warsaw day of delivery + N days."""
    if not applies(order):
        return None
    return clock.day_of(order.delivered_at) + dt.timedelta(days=retention_days(order))


def days_overdue(order: PrintOrder, confirmation: PrinterDeletion | None, today: dt.date | None = None) -> int:
    """Whole days past `due_on` without a confirmation; 0 when confirmed, in time or not due."""
    due = due_on(order)
    if due is None or confirmation is not None:
        return 0
    return max(0, ((today or clock.today()) - due).days)


@dataclasses.dataclass(frozen=True)
class Standing:
    """Where one order stands: its due day, the confirmation if any, and days overdue."""

    order: PrintOrder
    due_on: dt.date
    confirmation: PrinterDeletion | None
    days_overdue: int
    retention_days: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def confirmed_late(self) -> bool:
        """Confirmed, but on a Warsaw day after `due_on`."""
        return self.confirmation is not None and clock.day_of(self.confirmation.confirmed_at) > self.due_on


def confirmation_of(order: PrintOrder) -> PrinterDeletion | None:
    return db.session.scalar(select(PrinterDeletion).where(PrinterDeletion.order_id == order.id,
                                                           PrinterDeletion.school_id == order.school_id))


def confirmations(order_ids) -> dict[int, PrinterDeletion]:
    """The confirmations the current tenant may read among `order_ids`, by order."""
    ids = list(order_ids)
    if not ids:
        return {}
    return {row.order_id: row for row in db.session.scalars(
        select(PrinterDeletion).where(PrinterDeletion.order_id.in_(ids)))}


_LOOK_UP = object()


def standing(order: PrintOrder, today: dt.date | None = None, confirmation=_LOOK_UP) -> Standing | None:
    """The order's standing, or None when the duty does not apply (not delivered, own printer)."""
    due = due_on(order)
    if due is None:
        return None
    if confirmation is _LOOK_UP:
        confirmation = confirmation_of(order)
    return Standing(order, due, confirmation, days_overdue(order, confirmation, today), retention_days(order))


def standings(orders, today: dt.date | None = None) -> dict[int, Standing]:
    """`standing` for many orders with one read of the confirmations; orders without a duty left out."""
    orders = [o for o in orders if applies(o)]
    found = confirmations(o.id for o in orders)
    return {o.id: standing(o, today, found.get(o.id)) for o in orders}


@dataclasses.dataclass(frozen=True)
class Missing:
    """A delivered order whose printer has not confirmed in time (the school's or the city's list)."""

    order_id: int
    school_id: int
    school_name: str
    printer_id: int
    printer_name: str
    delivered_on: dt.date
    due_on: dt.date
    days_overdue: int


def missing(today: dt.date | None = None) -> list[Missing]:
    """Delivered orders of the current tenant (a school, or the city's schools) whose printer's
    confirmation is overdue, most overdue first. Orders hold no personal data. Reads four columns
    per order, not whole orders: a city that never saw a confirmation has thousands of them."""
    today = today or clock.today()
    confirmed = exists().where(PrinterDeletion.order_id == PrintOrder.id,
                               PrinterDeletion.school_id == PrintOrder.school_id)
    late = []
    for order_id, school_id, printer_id, delivered_at, purge_after in db.session.execute(select(
            PrintOrder.id, PrintOrder.school_id, PrintOrder.printer_id, PrintOrder.delivered_at,
            PrintOrder.purge_after).where(
            PrintOrder.status == OrderStatus.DELIVERED.value, PrintOrder.printer_id.is_not(None),
            PrintOrder.delivered_at.is_not(None), ~confirmed)):
        delivered_on = clock.day_of(delivered_at)
        due = delivered_on + dt.timedelta(days=_retention(delivered_at, purge_after))
        if today > due:
            late.append((order_id, school_id, printer_id, delivered_on, due, (today - due).days))
    names = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({row[2] for row in late} | {row[1] for row in late}))).all()) if late else {}
    rows = [Missing(order_id, school_id, names.get(school_id, ""), printer_id, names.get(printer_id, ""),
                    delivered_on, due, overdue)
            for order_id, school_id, printer_id, delivered_on, due, overdue in late]
    return sorted(rows, key=lambda m: (-m.days_overdue, m.order_id))


def recent(limit: int = 20) -> list[PrinterDeletion]:
    """The latest confirmations the current tenant may read."""
    return list(db.session.scalars(select(PrinterDeletion).order_by(PrinterDeletion.confirmed_at.desc(),
                                                                    PrinterDeletion.id.desc()).limit(limit)))


def confirm(actor: Actor, order: PrintOrder, *, method: str = "", statement: str = "", via: str = VIA_WEB,
            api_client: str = "") -> tuple[PrinterDeletion, bool]:
    """The printer (the current tenant) confirms it deleted every copy of the order's data.
    Returns the confirmation and whether this call made it; a repeat returns the first one
    unchanged (idempotent). Refused before delivery (`invalid_state`)."""
    method = _text(method, MAX_METHOD, "Sposób usunięcia")
    statement = _text(statement, MAX_STATEMENT, "Oświadczenie")
    existing = confirmation_of(order)
    if existing is not None:
        return existing, False
    if order.printer_id is None:
        raise OperationError("Zamówienie drukowane w szkole nie wymaga potwierdzenia usunięcia przez drukarnię.",
                             "invalid_state")
    if order.status != OrderStatus.DELIVERED.value:
        raise OperationError("Usunięcie danych potwierdza się po dostarczeniu kart do szkoły — do tego czasu "
                             "dane mogą być jeszcze potrzebne do druku.", "invalid_state")
    row = PrinterDeletion(school_id=order.school_id, city_id=order.city_id, order_id=order.id,
                          printer_id=order.printer_id, confirmed_at=utcnow(), confirmed_by_id=actor.user_id,
                          via=VIA_API if via == VIA_API else VIA_WEB, api_client=(api_client or "")[:48],
                          method=method, statement=statement)
    try:
        with db.session.begin_nested():  # a concurrent confirmation of the same order won the unique key
            db.session.add(row)
    except IntegrityError:
        existing = confirmation_of(order)
        if existing is None:
            raise
        return existing, False
    record_change(actor, "printer_deletion_confirmed", school_id=order.school_id, order_id=order.id,
                  detail=f"via={row.via}")
    return row, True
