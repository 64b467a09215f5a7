"""The hologram ledger: deliveries in, one hologram per card per school year out, voiding and
destruction by protocol (docs/security.md T5.4–T5.6).

Every serial is one row in exactly one state. Issuing is a compare-and-set
(`UPDATE … WHERE state = 'in_stock' RETURNING`), so of two requests for the same serial exactly
one wins; a partial unique index allows one issued hologram per card and school year. Functions
flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import accounted
from tenants.registry import school_year as years
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import Hologram
from tenants.registry.models import HologramDelivery
from tenants.registry.models import HologramProtocol
from tenants.registry.models import HologramState
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError


def school_year_of(day: dt.date, setting: str | None = None) -> int:
    """The school year (2026 = 2026/27) a card issued or a hologram stuck on `day` serves, under
    the cut-over of the current tenant's city (or `setting`, "MM-DD" / "" for the default): from the
    day after classes end in June to 31 December, the year starting that September; before it, the
    year running (docs/domain.md §4, tenants.registry.school_year)."""
    return years.school_year_served(day, years.current_setting() if setting is None else setting)


def valid_until(year: int) -> dt.date:
    """A hologram for school year Y/Y+1 confirms the card until 30 September Y+1 (docs/domain.md §4)."""
    return years.valid_until(year)


def serial_range(first: str, last: str) -> list[str]:
    """"HS 000120" … "HS 000125" → the six serials (tenants.registry.accounted.serial_range)."""
    return accounted.serial_range(first, last, accounted.HOLOGRAMS)


def receive(actor: Actor, *, school_year: int, supplier: str, received_on: dt.date, first: str,
            last: str) -> HologramDelivery:
    """Take a delivery into stock. A serial the school already holds refuses the whole delivery."""
    serials = serial_range(first, last)
    supplier = accounted.received_on_checked(received_on, supplier, accounted.HOLOGRAMS)
    if not 2024 <= school_year <= clock.today().year + 1:
        raise OperationError("Wybierz rok szkolny, który hologramy potwierdzają.")
    school_id = require_school()
    taken = db.session.scalar(select(func.count()).select_from(Hologram).where(
        Hologram.school_id == school_id, Hologram.serial.in_(serials)))
    if taken:
        raise OperationError(f"{taken} z tych numerów seryjnych szkoła już przyjęła — sprawdź zakres.")
    delivery = HologramDelivery(school_id=school_id, school_year=school_year, supplier=supplier,
                                received_on=received_on, first_serial=serials[0], last_serial=serials[-1],
                                count=len(serials), created_by_id=actor.user_id)
    db.session.add(delivery)
    db.session.flush()
    db.session.execute(insert(Hologram), [
        {"school_id": school_id, "serial": s, "school_year": school_year, "delivery_id": delivery.id,
         "state": HologramState.IN_STOCK.value} for s in serials])
    return delivery


class HologramTaken(OperationError):
    """The serial is not in stock (issued, voided, destroyed meanwhile, or unknown)."""


def issue(actor: Actor, card: Card, serial: str, *, school_year: int, on: dt.date | None = None) -> None:
    """Stick hologram `serial` on `card` for `school_year`; the card becomes valid until 30
    September of the next calendar year. Exactly one of two concurrent requests wins."""
    if card.status != CardStatus.HANDED_OVER.value:
        raise OperationError(f"Legitymacja nr {card.label} nie jest wydana — hologram nakleja się na wydaną kartę.")
    if card.medium == "paper":  # docs/domain.md §4, §7: a paper card gets a written date and the seal instead
        raise OperationError(f"Legitymacja nr {card.label} jest papierowa — jej ważność potwierdza się datą i "
                             "pieczęcią szkoły, nie hologramem.")
    try:
        with db.session.begin_nested():
            issued = db.session.execute(
                update(Hologram)
                .where(Hologram.school_id == card.school_id, Hologram.serial == serial.strip(),
                       Hologram.school_year == school_year, Hologram.state == HologramState.IN_STOCK.value)
                .values(state=HologramState.ISSUED.value, card_id=card.id, issued_on=on or clock.today(),
                        issued_by_id=actor.user_id)
                .returning(Hologram.id).execution_options(synchronize_session=False)).scalar_one_or_none()
    except IntegrityError:
        raise OperationError(f"Legitymacja nr {card.label} ma już hologram na rok szkolny "
                             f"{school_year}/{school_year + 1}.") from None
    if issued is None:
        raise HologramTaken(f"Hologramu {serial.strip()} nie ma w magazynie na rok {school_year}/{school_year + 1} — "
                            "został już wydany, unieważniony albo nie był przyjęty.")
    card.valid_until = max(card.valid_until, valid_until(school_year))
    db.session.flush()


def _protocol(actor: Actor, kind: str, held_on: dt.date, committee: str, reason: str) -> HologramProtocol:
    committee, reason = accounted.protocol_fields(held_on, committee, reason)
    protocol = HologramProtocol(school_id=require_school(), kind=kind, held_on=held_on, committee=committee,
                                reason=reason, created_by_id=actor.user_id)
    db.session.add(protocol)
    db.session.flush()
    return protocol


def _move(serials: list[str], sources: tuple[HologramState, ...], target: HologramState, **values) -> int:
    """Move every serial from one of `sources` to `target`, all or none."""
    serials = sorted({s.strip() for s in serials if s.strip()})
    if not serials:
        raise OperationError("Podaj numery seryjne hologramów.")
    moved = db.session.execute(
        update(Hologram).where(Hologram.school_id == require_school(), Hologram.serial.in_(serials),
                               Hologram.state.in_([s.value for s in sources]))
        .values(state=target.value, **values).execution_options(synchronize_session=False)).rowcount
    if moved != len(serials):
        raise OperationError(f"{len(serials) - moved} z podanych hologramów nie jest w stanie, który pozwala na tę "
                             "operację (np. już wydany) — nic nie zostało zmienione.")
    return moved


def void(actor: Actor, serials: list[str], *, held_on: dt.date, committee: str, reason: str) -> HologramProtocol:
    """Unused holograms that can no longer be used (damaged, a past year) are voided by protocol."""
    protocol = _protocol(actor, "void", held_on, committee, reason)
    _move(serials, (HologramState.IN_STOCK,), HologramState.VOIDED, void_protocol_id=protocol.id)
    return protocol


def destroy(actor: Actor, serials: list[str], *, held_on: dt.date, committee: str, reason: str) -> HologramProtocol:
    """Holograms in stock or voided are destroyed by a committee, with a protocol."""
    protocol = _protocol(actor, "destroy", held_on, committee, reason)
    _move(serials, (HologramState.IN_STOCK, HologramState.VOIDED), HologramState.DESTROYED,
          destroy_protocol_id=protocol.id)
    return protocol


@dataclasses.dataclass
class Stock:
    school_year: int
    received: int = 0
    in_stock: int = 0
    issued: int = 0
    voided: int = 0
    destroyed: int = 0


def state_counts(key, *where) -> dict:
    """{value of `key`: {state: count}} over the holograms the current tenant may see."""
    return accounted.state_counts(Hologram.state, key, *where)


def stock() -> list[Stock]:
    """The current school's holograms per school year and state, newest year first."""
    counts = state_counts(Hologram.school_year)
    return [Stock(year, received=sum(by_state.values()), **by_state)
            for year, by_state in sorted(counts.items(), reverse=True)]


def cards_needing(school_year: int) -> list[Card]:
    """Handed-over cards of pupils still at school that the school year needs a hologram on:
    not valid through it yet, and none issued for it."""
    has = select(Hologram.id).where(Hologram.card_id == Card.id, Hologram.school_id == Card.school_id,
                                    Hologram.school_year == school_year,
                                    Hologram.state == HologramState.ISSUED.value).exists()
    stmt = (select(Card).join(Pupil, (Pupil.id == Card.pupil_id) & (Pupil.school_id == Card.school_id))
            .where(Card.status == CardStatus.HANDED_OVER.value, Pupil.status == PupilStatus.ACTIVE.value,
                   Card.valid_until < valid_until(school_year), ~has)
            .order_by(Pupil.class_name, Pupil.surname, Pupil.first_names))
    return list(db.session.scalars(stmt))


def in_stock_serials(school_year: int, limit: int | None = None) -> list[str]:
    stmt = (select(Hologram.serial).where(Hologram.school_year == school_year,
                                          Hologram.state == HologramState.IN_STOCK.value).order_by(Hologram.serial))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def confirm_year(actor: Actor, school_year: int, cards: list[Card], *,
                 on: dt.date | None = None) -> list[tuple[Card, str]]:
    """Give each card the next hologram in stock for the school year, in serial order; all or
    none. Returns (card, serial) pairs for the list to stick them by."""
    if not cards:
        raise OperationError("Nie wybrano żadnej legitymacji.")
    serials = in_stock_serials(school_year, len(cards))
    if len(serials) < len(cards):
        raise OperationError(f"Za mało hologramów na rok {school_year}/{school_year + 1}: potrzeba {len(cards)}, "
                             f"w magazynie {len(serials)}. Przyjmij dostawę albo wybierz mniej legitymacji.")
    for card, serial in zip(cards, serials, strict=True):
        issue(actor, card, serial, school_year=school_year, on=on)
    return list(zip(cards, serials, strict=True))
