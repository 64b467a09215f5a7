"""An order after submission: the printer takes it on or declines it, reports each card, ships;
the school confirms delivery, reprints rejected cards under their numbers, or sends a declined
order elsewhere. Invoices are checked against the frozen quote.

external / city print centre:
    ready → accepted → downloaded → printed → shipped → delivered   (ready|accepted → rejected)
school's own printer:
    ready → downloaded → printed → delivered

Printer-side functions run as the printer tenant and touch only the order and its items; the
school applies the printer's results to its registry when it confirms delivery. Functions flush
and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing import agreements
from printing import notifications
from printing import quotes
from printing.models import Channel
from printing.models import ItemOutcome
from printing.models import OrderItem
from printing.models import OrderStatus
from printing.models import PrintOrder
from printing.operations import add_items
from printing.operations import add_outbox
from printing.operations import transition
from printing.terms import parse_amount
from tenants.registry import accounted
from tenants.registry import blanks
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

RETENTION_DAYS = 7  # ZEFO's term (docs/domain.md §10) when the agreement names none
# The printer holds the batch from acceptance until the school confirms delivery.
WITH_PRINTER = (OrderStatus.ACCEPTED, OrderStatus.DOWNLOADED, OrderStatus.PRINTED, OrderStatus.SHIPPED)
DOWNLOADABLE = (OrderStatus.ACCEPTED, OrderStatus.DOWNLOADED, OrderStatus.PRINTED)
_SERIAL = accounted.BLANK_SERIAL
_UID = re.compile(r"^(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$")  # 4-, 7- or 10-byte ISO 14443 UID


def _text(value) -> str:
    """User text on one line: whitespace runs collapsed, NUL and other control characters dropped."""
    return " ".join("".join(c for c in str(value or "") if c.isprintable() or c.isspace()).split())


def _state_error(message: str) -> OperationError:
    return OperationError(message, "invalid_state")


def accept(actor: Actor, order: PrintOrder) -> None:
    """The printer takes the order on; only now may it download the batch."""
    if order.status != OrderStatus.READY.value:
        raise _state_error("Przyjąć można tylko zamówienie z gotową paczką, które nie zostało jeszcze przyjęte.")
    if agreements.in_force(order.school_id, order.printer_id) is None:
        raise OperationError("Umowa powierzenia przetwarzania danych ze szkołą nie obowiązuje — zamówienia nie "
                             "można przyjąć do czasu jej odnowienia.", "agreement_lapsed")
    transition(actor, order, (OrderStatus.READY,), OrderStatus.ACCEPTED, accepted_at=utcnow())


def reject(actor: Actor, order: PrintOrder, reason: str) -> None:
    """The printer declines the whole order before printing; the school sends it elsewhere."""
    reason = _text(reason)
    if not reason:
        raise OperationError("Podaj powód odrzucenia zamówienia.", "reason_required")
    if order.status not in (OrderStatus.READY.value, OrderStatus.ACCEPTED.value, OrderStatus.DOWNLOADED.value):
        raise _state_error("Odrzucić można tylko zamówienie, którego karty nie zostały jeszcze wydrukowane.")
    # Blanks its results named go back to its stock: the cards were not delivered on them
    # (docs/domain.md §22); one ruined in printing is then marked spoiled on the ledger's page.
    blanks.report_results([(i.school_id, i.card_id, i.card_label, i.blank_serial, "")
                           for i in items(order) if i.blank_serial])
    transition(actor, order, (OrderStatus.READY, OrderStatus.ACCEPTED, OrderStatus.DOWNLOADED),
               OrderStatus.REJECTED, rejected_at=utcnow(), rejection_reason=reason[:300])


def can_download(order: PrintOrder) -> bool:
    if order.purged_at is not None or not order.package_key:
        return False
    if order.channel == Channel.OWN.value:
        return order.status in {OrderStatus.READY.value, *(s.value for s in DOWNLOADABLE)}
    return order.status in {s.value for s in DOWNLOADABLE}


def mark_downloaded(actor: Actor, order: PrintOrder) -> None:
    """The batch was fetched; the first download moves the order on, later ones change nothing."""
    if not can_download(order):
        if order.status == OrderStatus.READY.value:
            raise _state_error("Najpierw przyjmij zamówienie — dopiero wtedy można pobrać dane.")
        raise _state_error("Dane tego zamówienia nie są już dostępne do pobrania.")
    if order.status in (OrderStatus.READY.value, OrderStatus.ACCEPTED.value):
        transition(actor, order, (OrderStatus.READY, OrderStatus.ACCEPTED), OrderStatus.DOWNLOADED,
                   downloaded_at=utcnow())


@dataclasses.dataclass(frozen=True)
class ItemResult:
    """The printer's result for one card, identified by its number as printed."""

    card_number: str
    outcome: str  # "printed" | "rejected"
    blank_serial: str = ""
    chip_uid: str = ""
    reason: str = ""


def items(order: PrintOrder) -> list[OrderItem]:
    return list(db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id,
                                                           OrderItem.school_id == order.school_id)
                                   .order_by(OrderItem.card_id)))


def _clean_result(result: ItemResult) -> tuple[str, str, str, str]:
    """(outcome, serial, uid, reason) checked, or OperationError naming the card."""
    label = result.card_number
    if result.outcome == ItemOutcome.PRINTED.value:
        serial = _text(result.blank_serial)
        if not _SERIAL.match(serial):
            raise OperationError(f"Karta {label}: podaj numer seryjny blankietu (litery, cyfry, „-” lub „/”, "
                                 "do 40 znaków).", "invalid_blank_serial")
        uid = re.sub(r"[\s:]", "", result.chip_uid or "").upper()
        if uid and not _UID.match(uid):
            raise OperationError(f"Karta {label}: UID chipu to 8, 14 lub 20 cyfr szesnastkowych.", "invalid_chip_uid")
        return ItemOutcome.PRINTED.value, serial, uid, ""
    if result.outcome == ItemOutcome.REJECTED.value:
        reason = _text(result.reason)
        if not reason:
            raise OperationError(f"Karta {label}: podaj powód odrzucenia — szkoła poprawi dane.", "reason_required")
        return ItemOutcome.REJECTED.value, "", "", reason[:300]
    raise OperationError(f"Karta {label}: wynik to „printed” albo „rejected”.", "invalid_outcome")


def record_results(actor: Actor, order: PrintOrder, results: list[ItemResult]) -> list[OrderItem]:
    """Record per-card results, all or none. When no card is left pending the order is printed.
    Results may be corrected until the order is shipped."""
    if order.status not in (OrderStatus.DOWNLOADED.value, OrderStatus.PRINTED.value):
        raise _state_error("Wyniki druku można zapisać po pobraniu danych, a przed wysyłką.")
    if not results:
        raise OperationError("Nie podano wyników dla żadnej karty.", "empty")
    by_label = {item.card_label: item for item in items(order)}
    seen: set[str] = set()
    cleaned = []
    for result in results:
        item = by_label.get(result.card_number)
        if item is None:
            raise OperationError(f"Karty {result.card_number} nie ma w tym zamówieniu.", "unknown_card")
        if result.card_number in seen:
            raise OperationError(f"Karta {result.card_number} występuje dwa razy.", "duplicate_card")
        seen.add(result.card_number)
        cleaned.append((item, _clean_result(result)))
    serials = [serial for _item, (_o, serial, _u, _r) in cleaned if serial]
    taken = {i.blank_serial for i in by_label.values() if i.blank_serial and i.card_label not in seen}
    if len(set(serials)) != len(serials) or taken & set(serials):
        raise OperationError("Ten sam numer blankietu podano dla dwóch kart.", "duplicate_blank_serial")
    now = utcnow()
    # The holder's blank ledger follows the serials: a corrected one back to stock, a new one used
    # for the card (docs/domain.md §22); a serial not in stock refuses the whole report.
    blanks.report_results([(item.school_id, item.card_id, item.card_label, item.blank_serial, serial)
                           for item, (_o, serial, _u, _r) in cleaned if item.blank_serial != serial])
    for item, (outcome, serial, uid, reason) in cleaned:
        item.outcome, item.blank_serial, item.chip_uid, item.reason = outcome, serial, uid, reason
        item.reported_at, item.reported_by_id = now, actor.user_id
    db.session.flush()
    if order.status == OrderStatus.DOWNLOADED.value and all(
            i.outcome != ItemOutcome.PENDING.value for i in by_label.values()):
        transition(actor, order, (OrderStatus.DOWNLOADED,), OrderStatus.PRINTED, printed_at=now)
    return list(by_label.values())


def ship(actor: Actor, order: PrintOrder, *, carrier: str, tracking_number: str) -> None:
    """The printed cards left the printer for the school."""
    carrier = _text(carrier)
    tracking_number = _text(tracking_number).replace(" ", "")
    if not carrier:
        raise OperationError("Podaj przewoźnika (np. Poczta Polska, InPost, kurier DPD, odbiór osobisty).",
                             "carrier_required")
    if len(carrier) > 60 or len(tracking_number) > 80:
        raise OperationError("Przewoźnik do 60 znaków, numer przesyłki do 80.", "too_long")
    if order.channel == Channel.OWN.value:
        raise _state_error("Zamówienia z drukarki szkoły nie wysyła się — szkoła potwierdza odbiór.")
    if order.status != OrderStatus.PRINTED.value:
        raise _state_error("Wysłać można zamówienie z zapisanymi wynikami druku wszystkich kart.")
    if not any(i.outcome == ItemOutcome.PRINTED.value for i in items(order)):
        raise _state_error("Żadna karta nie została wydrukowana — nie ma czego wysłać.")
    transition(actor, order, (OrderStatus.PRINTED,), OrderStatus.SHIPPED, shipped_at=utcnow(), carrier=carrier,
               tracking_number=tracking_number)


def record_invoice(actor: Actor, order: PrintOrder, *, number: str, net, vat, gross) -> bool:
    """The printer's invoice for the order; returns True when its gross differs from the frozen
    quote (the school and the city see the flag). A later call replaces it (correction)."""
    number = _text(number)
    if not number or len(number) > 60:
        raise OperationError("Podaj numer faktury (do 60 znaków).", "invoice_number_required")
    net, vat, gross = (parse_amount(v, label) for v, label in ((net, "Netto"), (vat, "VAT"), (gross, "Brutto")))
    if net + vat != gross:
        raise OperationError("Netto + VAT musi równać się kwocie brutto.", "invoice_sum_mismatch")
    if order.status not in {s.value for s in (*WITH_PRINTER, OrderStatus.DELIVERED)}:
        raise _state_error("Fakturę zapisuje się do przyjętego zamówienia.")
    mismatch = order.total_price is None or gross != Decimal(order.total_price)
    db.session.execute(update(PrintOrder).where(PrintOrder.id == order.id).values(
        invoice_number=number, invoice_net=net, invoice_vat=vat, invoice_gross=gross,
        invoice_recorded_at=utcnow(), invoice_mismatch=mismatch).execution_options(synchronize_session=False))
    record_change(actor, "order_invoiced", school_id=order.school_id, order_id=order.id,
                  detail="mismatch" if mismatch else "")
    db.session.refresh(order)
    return mismatch


# --- the school's side ------------------------------------------------------------------------


def _retention_days(order: PrintOrder) -> int:
    if order.printer_id is None:
        return RETENTION_DAYS
    agreement = agreements.in_force(order.school_id, order.printer_id)
    return agreement.retention_days if agreement else RETENTION_DAYS


def confirm_delivery(actor: Actor, order: PrintOrder) -> list[Card]:
    """The school has the cards: printed ones become `delivered` with the printer's blank serial
    and chip UID, and the batch's files are due for deletion after the retention period.
    Returns the delivered cards."""
    require_school()
    nothing_printed = all(i.outcome != ItemOutcome.PRINTED.value for i in items(order))
    # The school's own printer has no shipping; an order whose every card the printer rejected
    # has nothing to ship and is closed here, so its files are purged and its cards reprinted.
    own_or_empty = order.channel == Channel.OWN.value or nothing_printed
    sources = (OrderStatus.PRINTED, OrderStatus.SHIPPED) if own_or_empty else (OrderStatus.SHIPPED,)
    if order.status not in {s.value for s in sources}:
        raise _state_error("Odbiór można potwierdzić dla zamówienia wysłanego przez drukarnię."
                           if order.channel != Channel.OWN.value else
                           "Odbiór można potwierdzić po zapisaniu wyników druku.")
    now = utcnow()
    transition(actor, order, sources, OrderStatus.DELIVERED, delivered_at=now, delivered_by_id=actor.user_id,
               purge_after=now + dt.timedelta(days=_retention_days(order)))
    delivered = []
    for item in items(order):
        if item.outcome != ItemOutcome.PRINTED.value:
            continue
        card = db.session.get(Card, item.card_id)
        if card is None or card.order_id != order.id or card.status != CardStatus.ORDERED.value:
            continue
        card.status, card.blank_serial, card.chip_uid = CardStatus.DELIVERED.value, item.blank_serial, item.chip_uid
        delivered.append(card)
    notifications.promise_cards_ready(delivered)
    db.session.flush()
    return delivered


def rejected_cards(order: PrintOrder) -> list[tuple[OrderItem, Card]]:
    """Cards the printer rejected that still wait in this order for a reprint."""
    rows = []
    for item in items(order):
        if item.outcome != ItemOutcome.REJECTED.value:
            continue
        card = db.session.get(Card, item.card_id)
        if card is not None and card.order_id == order.id and card.status == CardStatus.ORDERED.value:
            rows.append((item, card))
    return rows


def reprint(actor: Actor, order: PrintOrder, *, today: dt.date | None = None) -> PrintOrder:
    """A new order, to the same printer, for the cards it rejected, under the same registry
    numbers (the school has corrected the pupils' data or photos meanwhile)."""
    school_id = require_school()
    today = today or clock.today()
    if order.status not in (OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value):
        # Until the order ships the printer may still change a result: a reprint now could
        # give two physical cards one number.
        raise _state_error("Dodruk można zamówić, gdy drukarnia wyśle zamówienie, a przy druku we własnym "
                           "zakresie lub gdy wszystkie karty odrzucono — po potwierdzeniu odbioru.")
    rows = rejected_cards(order)
    if not rows:
        raise OperationError("W tym zamówieniu nie ma odrzuconych kart czekających na ponowny druk.", "nothing_to_do")
    cards = [card for _item, card in rows]
    if any(not card.pupil.photo_key for card in cards):
        raise OperationError("Nie wszyscy uczniowie z odrzuconych kart mają zdjęcie.", "photo_missing")
    school = db.session.get(Organisation, school_id)
    key = Channel.OWN.value if order.printer_id is None else str(order.printer_id)
    quote = quotes.quote_for(school, key, len(cards), today)
    if quote is None or not quote.available:
        raise OperationError("Ta drukarnia nie przyjmie takiego zamówienia (brak ceny).", "no_price")
    if order.printer_id is not None:
        agreements.require(school_id, order.printer_id, today)
    now = utcnow()
    numbers = sorted(card.number for card in cards)
    new = PrintOrder(school_id=school_id, city_id=order.city_id, printer_id=order.printer_id,
                     channel=quote.channel, status=OrderStatus.SUBMITTED.value, card_count=len(cards),
                     unit_price=quote.unit_price, total_price=quote.total, quote=quote.as_dict(),
                     due_date=quote.due_date, issue_date=order.issue_date, first_number=numbers[0],
                     last_number=numbers[-1], numbering_year=order.numbering_year, reprint_of_id=order.id,
                     created_by_id=actor.user_id,
                     submitted_by_id=actor.user_id, submitted_at=now)
    db.session.add(new)
    db.session.flush()
    moved = db.session.execute(
        update(Card).where(Card.id.in_([c.id for c in cards]), Card.school_id == school_id,
                           Card.order_id == order.id, Card.status == CardStatus.ORDERED.value)
        .values(order_id=new.id).execution_options(synchronize_session=False))
    if moved.rowcount != len(cards):  # a concurrent reprint took them first
        raise _state_error("Dodruk tych kart został już zamówiony — odśwież stronę.")
    for card in cards:
        db.session.refresh(card)
    db.session.execute(update(PrintOrder).where(PrintOrder.id == order.id)
                       .values(card_count=PrintOrder.card_count - len(cards))
                       .execution_options(synchronize_session=False))
    db.session.flush()
    add_items(new, cards)
    add_outbox(new, now)
    notifications.promise_order_arrived(new)
    db.session.flush()
    db.session.refresh(order)
    return new


def redirect(actor: Actor, order: PrintOrder, printer_id: int | None, *, today: dt.date | None = None) -> None:
    """Send an order a printer declined to another channel; cards keep their numbers. The
    package is built again (another printer's calibration, a new password)."""
    school_id = require_school()
    today = today or clock.today()
    if order.status != OrderStatus.REJECTED.value:
        raise _state_error("Przekierować można tylko zamówienie odrzucone przez drukarnię.")
    if printer_id is not None and printer_id == order.printer_id:
        raise OperationError("Ta drukarnia odrzuciła już to zamówienie — wybierz inną.", "same_printer")
    school = db.session.get(Organisation, school_id)
    key = Channel.OWN.value if printer_id is None else str(printer_id)
    quote = quotes.quote_for(school, key, order.card_count, today)
    if quote is None or not quote.available:
        raise OperationError("Wybrana drukarnia nie przyjmie takiego zamówienia.", "no_price")
    if printer_id is not None:
        agreements.require(school_id, printer_id, today)
    transition(actor, order, (OrderStatus.REJECTED,), OrderStatus.SUBMITTED, printer_id=printer_id,
               channel=quote.channel, unit_price=quote.unit_price, total_price=quote.total, quote=quote.as_dict(),
               due_date=quote.due_date,
               accepted_at=None, downloaded_at=None, printed_at=None, rejected_at=None, rejection_reason="",
               package_password_cipher=None, ready_at=None, error="", invoice_number="", invoice_net=None,
               invoice_vat=None, invoice_gross=None, invoice_recorded_at=None, invoice_mismatch=False)
    # The next printer starts clean: nothing the first one reported carries over.
    db.session.execute(update(OrderItem).where(OrderItem.order_id == order.id, OrderItem.school_id == school_id)
                       .values(printer_id=printer_id, outcome=ItemOutcome.PENDING.value, blank_serial="", chip_uid="",
                               reason="", reported_at=None, reported_by_id=None)
                       .execution_options(synchronize_session=False))
    add_outbox(order, utcnow())
    notifications.promise_order_arrived(order)
    db.session.flush()
