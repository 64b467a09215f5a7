"""The blank ledger: card blanks are strictly accounted forms like holograms (docs/domain.md §22).

A holder of stock — a school printing on its own printer, or a printer (the city's print centre)
— receives serial ranges; each serial is one row in exactly one state:

    in_stock → used (for one card, when the printer's results name its serial) → spoiled
    in_stock → spoiled (defective, ruined in the printer)
    in_stock | spoiled → destroyed (by a protocol)

A used blank returns to stock only when the result naming it is corrected before the order ships.
Destruction protocols also cover the school's spoiled cards, once each, after their validity date
(source 002 §3.6). Every move is a compare-and-set on the row's state, so a serial is used or
destroyed at most once. Functions flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra import inputs
from infra.db import db
from tenants.registry import accounted
from tenants.registry.models import Blank
from tenants.registry.models import BlankDelivery
from tenants.registry.models import BlankProtocol
from tenants.registry.models import BlankState
from tenants.registry.models import Card
from tenants.registry.models import CardDestruction
from tenants.registry.models import CardStatus
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import current_tenant
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change

NOUN = accounted.BLANKS


def holder_id() -> int:
    """The organisation whose stock this is: the current school or printer."""
    tenant = current_tenant()
    holder = tenant.school_id or tenant.printer_id
    if holder is None:
        raise LookupError("blank stock is held by a school or a printer")
    return holder


def keeps_ledger() -> bool:
    """Whether the current holder has taken blanks into stock. Until it has, the serials it
    reports are recorded on the cards only; from its first delivery each must be in its stock."""
    return bool(db.session.scalar(select(exists().where(BlankDelivery.holder_id == holder_id()))))


def receive(actor: Actor, *, supplier: str, received_on: dt.date, first: str, last: str) -> BlankDelivery:
    """Take a delivery of blanks into stock; a serial the holder already has refuses all of it."""
    serials = accounted.serial_range(first, last, NOUN)
    if not all(accounted.BLANK_SERIAL.match(s) for s in (serials[0], serials[-1])):
        raise OperationError("Numer blankietu to litery, cyfry, „-” lub „/”, bez spacji, do 40 znaków "
                             "(np. BL-000101) — tak, jak drukarnia podaje go w wynikach druku.")
    supplier = accounted.received_on_checked(received_on, supplier, NOUN)
    holder = holder_id()
    taken = db.session.scalar(select(func.count()).select_from(Blank).where(
        Blank.holder_id == holder, Blank.serial.in_(serials)))
    if taken:
        raise OperationError(f"{taken} z tych numerów blankietów jest już w ewidencji — sprawdź zakres.")
    delivery = BlankDelivery(holder_id=holder, supplier=supplier, received_on=received_on, first_serial=serials[0],
                             last_serial=serials[-1], count=len(serials), created_by_id=actor.user_id)
    db.session.add(delivery)
    db.session.flush()
    db.session.execute(insert(Blank), [
        {"holder_id": holder, "serial": s, "delivery_id": delivery.id, "state": BlankState.IN_STOCK.value,
         "card_label": "", "spoil_reason": ""} for s in serials])
    return delivery


def _find(serial: str) -> Blank | None:
    return db.session.scalar(select(Blank).where(Blank.holder_id == holder_id(), Blank.serial == serial))


def _why_not(serial: str, blank: Blank | None, wanted: str, code: str = "blank_not_in_stock") -> OperationError:
    """The refusal for a serial not in a state that allows `wanted` (e.g. "użyć")."""
    if blank is None:
        return OperationError(f"Blankietu {serial} nie ma w ewidencji — przyjmij najpierw dostawę, w której był.",
                              "blank_unknown")
    if blank.state == BlankState.USED.value:
        return OperationError(f"Blankiet {serial} został już użyty dla legitymacji nr {blank.card_label} — "
                              f"nie można go {wanted}.", code)
    if blank.state == BlankState.SPOILED.value:
        return OperationError(f"Blankiet {serial} jest oznaczony jako zepsuty — nie można go {wanted}.", code)
    if blank.state == BlankState.DESTROYED.value:
        protocol = db.session.get(BlankProtocol, blank.protocol_id)
        return OperationError(f"Blankiet {serial} został zniszczony protokołem z dnia "
                              f"{inputs.format_day(protocol.held_on)} — nie można go {wanted}.", code)
    return OperationError(f"Blankiet {serial} jest na stanie — nie można go {wanted}.", code)


def use(serial: str, *, card_school_id: int, card_id: int, card_label: str, on: dt.date | None = None) -> None:
    """The blank `serial` was printed on for the card: in stock → used, by compare-and-set (of two
    reports of one serial exactly one wins; a card is on one blank at a time)."""
    serial = serial.strip()
    try:
        with db.session.begin_nested():
            moved = db.session.execute(
                update(Blank).where(Blank.holder_id == holder_id(), Blank.serial == serial,
                                    Blank.state == BlankState.IN_STOCK.value)
                .values(state=BlankState.USED.value, card_school_id=card_school_id, card_id=card_id,
                        card_label=card_label[:30], used_on=on or clock.today())
                .returning(Blank.id).execution_options(synchronize_session=False)).scalar_one_or_none()
    except IntegrityError:
        raise OperationError(f"Legitymacja nr {card_label} ma już zapisany inny blankiet.",
                             "duplicate_blank_serial") from None
    if moved is None:
        raise _why_not(serial, _find(serial), "użyć ponownie", "blank_not_in_stock")


def release(serial: str, *, card_school_id: int, card_id: int) -> None:
    """A result naming `serial` for the card was corrected before shipping: back to stock."""
    db.session.execute(
        update(Blank).where(Blank.holder_id == holder_id(), Blank.serial == serial.strip(),
                            Blank.state == BlankState.USED.value, Blank.card_school_id == card_school_id,
                            Blank.card_id == card_id)
        .values(state=BlankState.IN_STOCK.value, card_school_id=None, card_id=None, card_label="", used_on=None)
        .execution_options(synchronize_session=False))


def report_results(changes: list[tuple[int, int, str, str, str]]) -> None:
    """The printer's (or the school's own printer's) results changed the serial of cards:
    (card school id, card id, card label, serial before, serial now). Nothing happens until the
    holder keeps a ledger; then the former serials return to stock and the new ones are used,
    all or none."""
    if not changes or not keeps_ledger():
        return
    for school_id, card_id, _label, before, now in changes:
        if before and before != now:
            release(before, card_school_id=school_id, card_id=card_id)
    for school_id, card_id, label, before, now in changes:
        if now and before != now:
            use(now, card_school_id=school_id, card_id=card_id, card_label=label)


def _move(serials: list[str], sources: tuple[BlankState, ...], wanted: str, **values) -> list[str]:
    """Move every serial from one of `sources`, all or none; the first that cannot move is named."""
    serials = sorted({s.strip() for s in serials if s.strip()})
    if not serials:
        raise OperationError("Podaj numery seryjne blankietów.")
    moved = db.session.execute(
        update(Blank).where(Blank.holder_id == holder_id(), Blank.serial.in_(serials),
                            Blank.state.in_([s.value for s in sources]))
        .values(**values).returning(Blank.serial).execution_options(synchronize_session=False)).scalars().all()
    if len(moved) != len(serials):
        stuck = next(s for s in serials if s not in set(moved))
        raise _why_not(stuck, _find(stuck), wanted, "blank_state")
    return serials


def spoil(actor: Actor, serials: list[str], reason: str, *, on: dt.date | None = None) -> list[str]:
    """Blanks in stock found defective or ruined in the printer: spoiled, to be destroyed by protocol."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise OperationError("Podaj powód (np. wada blankietu, zacięcie drukarki, błąd nadruku).")
    done = _move(serials, (BlankState.IN_STOCK,), "oznaczyć jako zepsutego", state=BlankState.SPOILED.value,
                 spoiled_on=on or clock.today(), spoil_reason=reason[:300], spoiled_by_id=actor.user_id)
    _record(actor, "blanks_spoiled", f"n={len(done)}")
    return done


def _record(actor: Actor, action: str, detail: str) -> None:
    """A school's change goes into its change record (docs/security.md T3.17); a printer's rows
    carry who made them (`created_by_id`, `spoiled_by_id`)."""
    school_id = current_tenant().school_id
    if school_id is not None:
        record_change(actor, action, school_id=school_id, detail=detail)


def card_spoiled(card: Card, reason: str) -> None:
    """The school spoiled a card printed on one of its own blanks: that blank is spoiled too. A
    blank of the print centre's stock stays used there: the card left it, and the school's
    protocol accounts for it."""
    if current_tenant().school_id != card.school_id:
        return
    db.session.execute(
        update(Blank).where(Blank.holder_id == card.school_id, Blank.card_school_id == card.school_id,
                            Blank.card_id == card.id, Blank.state == BlankState.USED.value)
        .values(state=BlankState.SPOILED.value, spoiled_on=clock.today(), spoil_reason=reason[:300])
        .execution_options(synchronize_session=False))


def destroyable_from(card: Card) -> dt.date:
    """The first day a spoiled card may be destroyed: the day after its validity ends (source 002 §3.6)."""
    return card.valid_until + dt.timedelta(days=1)


def destroy(actor: Actor, *, held_on: dt.date, committee: str, reason: str, serials: list[str] = (),
            card_ids: list[int] = ()) -> BlankProtocol:
    """A committee destroys blanks (in stock or spoiled) and, at a school, its spoiled cards, each
    after its validity date; one protocol, all or none."""
    serials = [s for s in serials if s.strip()]
    if not serials and not card_ids:
        raise OperationError("Wybierz legitymacje albo podaj numery blankietów do zniszczenia.")
    committee, reason = accounted.protocol_fields(held_on, committee, reason)
    holder = holder_id()
    protocol = BlankProtocol(holder_id=holder, held_on=held_on, committee=committee, reason=reason,
                             created_by_id=actor.user_id)
    db.session.add(protocol)
    db.session.flush()
    if card_ids:
        _destroy_cards(protocol, sorted(set(card_ids)))
    if serials:
        _move(serials, (BlankState.IN_STOCK, BlankState.SPOILED), "zniszczyć", state=BlankState.DESTROYED.value,
              protocol_id=protocol.id)
    _record(actor, "blanks_destroyed", f"protocol={protocol.id} cards={len(set(card_ids))} blanks={len(set(serials))}")
    return protocol


def _destroy_cards(protocol: BlankProtocol, card_ids: list[int]) -> None:
    school_id = current_tenant().school_id
    if school_id is None:
        raise OperationError("Legitymacje niszczy szkoła, która je wydała.")
    cards = {c.id: c for c in db.session.scalars(select(Card).where(Card.id.in_(card_ids)))}
    done = set(db.session.scalars(select(CardDestruction.card_id).where(CardDestruction.card_id.in_(card_ids))))
    for card_id in card_ids:
        card = cards.get(card_id)
        if card is None:
            raise OperationError("Nie ma takiej legitymacji w ewidencji szkoły.", "unknown_card")
        if card_id in done:
            raise OperationError(f"Legitymacja nr {card.label} została już zniszczona.", "card_destroyed")
        if card.status != CardStatus.SPOILED.value:
            raise OperationError(f"Legitymacja nr {card.label} nie jest oznaczona jako zepsuta lub nieodebrana — "
                                 "najpierw oznacz ją w ewidencji.", "card_not_spoiled")
        if protocol.held_on < destroyable_from(card):
            raise OperationError(f"Legitymację nr {card.label} można zniszczyć po upływie jej ważności, od "
                                 f"{inputs.format_day(destroyable_from(card))}.", "card_still_valid")
        # Its blank, if it came from the school's own stock, goes with it.
        own = db.session.execute(
            update(Blank).where(Blank.holder_id == school_id, Blank.card_school_id == school_id,
                                Blank.card_id == card.id,
                                Blank.state.in_((BlankState.USED.value, BlankState.SPOILED.value)))
            .values(state=BlankState.DESTROYED.value, protocol_id=protocol.id)
            .returning(Blank.serial).execution_options(synchronize_session=False)).scalars().all()
        db.session.add(CardDestruction(school_id=school_id, card_id=card.id, protocol_id=protocol.id,
                                       card_label=card.label, blank_serial=", ".join(own) or card.blank_serial))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent protocol destroyed one of them first
        raise OperationError("Jedna z legitymacji została w międzyczasie zniszczona — odśwież stronę.",
                             "card_destroyed") from None


@dataclasses.dataclass
class Stock:
    received: int = 0
    in_stock: int = 0
    used: int = 0
    spoiled: int = 0
    destroyed: int = 0


def stock() -> Stock:
    """The current holder's blanks by state."""
    by_state = accounted.state_counts(Blank.state, Blank.holder_id).get(holder_id(), {})
    return Stock(received=sum(by_state.values()), **by_state)


def cards_to_destroy() -> list[tuple[Card, dt.date]]:
    """The school's spoiled cards not destroyed yet, each with the first day it may be, oldest first."""
    done = select(CardDestruction.id).where(CardDestruction.card_id == Card.id,
                                           CardDestruction.school_id == Card.school_id).exists()
    cards = db.session.scalars(select(Card).where(Card.status == CardStatus.SPOILED.value, ~done)
                               .order_by(Card.valid_until, Card.number))
    return [(card, destroyable_from(card)) for card in cards]


def blanks_in(state: BlankState, limit: int = 500) -> list[Blank]:
    return list(db.session.scalars(select(Blank).where(Blank.state == state.value)
                                   .order_by(Blank.serial).limit(limit)))


@dataclasses.dataclass(frozen=True)
class ProtocolContents:
    protocol: BlankProtocol
    cards: list[CardDestruction]
    unused: list[str]  # blanks destroyed from stock, compressed into ranges
    spoiled: list[Blank]  # blanks destroyed after being spoiled, but for those of the cards above
    total_blanks: int  # blanks listed apart from the cards' own


def contents(protocol: BlankProtocol) -> ProtocolContents:
    cards = list(db.session.scalars(select(CardDestruction).where(CardDestruction.protocol_id == protocol.id)
                                    .order_by(CardDestruction.card_id)))
    blanks = list(db.session.scalars(select(Blank).where(Blank.protocol_id == protocol.id).order_by(Blank.serial)))
    # A card's own blank is destroyed with it: one object, listed once (with the card).
    with_cards = {(d.school_id, d.card_id) for d in cards}
    blanks = [b for b in blanks if (b.card_school_id, b.card_id) not in with_cards]
    unused = [b.serial for b in blanks if b.spoiled_on is None and b.card_id is None]
    spoiled = [b for b in blanks if b.spoiled_on is not None or b.card_id is not None]
    return ProtocolContents(protocol, cards, accounted.compress(unused), spoiled, len(blanks))
