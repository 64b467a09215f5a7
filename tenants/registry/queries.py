"""Reads of the registry: entries with filters, and the rows the registry book prints."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import extract
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.like import contains
from tenants.pupils.identity import reveal_holder_identity
from tenants.pupils.identity import reveal_identity
from tenants.pupils.models import Pupil
from tenants.registry.models import INVALIDATION_REASONS
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import Hologram
from tenants.registry.models import HologramState
from tenants.registry.models import registry_order
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school

STATUS_LABELS = {"ordered": "zamówiona", "printed": "wydrukowana", "delivered": "w szkole, do wydania",
                 "handed_over": "wydana", "spoiled": "zepsuta / nieodebrana", "invalidated": "unieważniona"}


@dataclasses.dataclass(frozen=True)
class RegistryFilter:
    year: int | None = None
    class_name: str = ""
    number: str = ""  # "12" finds 12, 12/2025, 12/2026…; "12/2026" (or any part of a label) that label

    @classmethod
    def from_args(cls, args) -> RegistryFilter:
        return cls(year=inputs.whole_or_none(args.get("rok"), low=2001, high=2199),  # anything else: every year
                   class_name=args.get("klasa", "").strip()[:20], number="".join(args.get("nr", "").split())[:30])

    @property
    def scope(self) -> str:
        parts = [f"rok wydania {self.year}" if self.year else "wszystkie lata"]
        parts.append(f"klasa {self.class_name}" if self.class_name else "wszystkie klasy")
        if self.number:
            parts.append(f"numer {self.number}")
        return ", ".join(parts)


def entries(f: RegistryFilter = RegistryFilter()) -> list[Card]:
    """The registry's entries, Legitka's and imported ones (an imported entry may have no pupil: its
    class is then the register's, docs/domain.md §24)."""
    stmt = (select(Card).outerjoin(Pupil, (Pupil.id == Card.pupil_id) & (Pupil.school_id == Card.school_id))
            .where(Card.school_id == require_school()))
    if f.year:
        stmt = stmt.where(extract("year", Card.issue_date) == f.year)
    if f.class_name:
        stmt = stmt.where(func.coalesce(Pupil.class_name, Card.holder_class) == f.class_name)
    if f.number.isdigit() and len(f.number) <= 9:  # the number in every sequence (continuous and each year)
        stmt = stmt.where(Card.number == int(f.number))
    elif f.number:
        stmt = stmt.where(contains(Card.number_label, f.number))
    return list(db.session.scalars(stmt.order_by(*registry_order())))


def holograms_by_card(card_ids: list[int]) -> dict[int, list[Hologram]]:
    found: dict[int, list[Hologram]] = {}
    if not card_ids:
        return found
    for hologram in db.session.scalars(select(Hologram).where(
            Hologram.card_id.in_(card_ids), Hologram.state == HologramState.ISSUED.value)
            .order_by(Hologram.school_year)):
        found.setdefault(hologram.card_id, []).append(hologram)
    return found


def status_text(card: Card) -> str:
    text = STATUS_LABELS.get(card.status, card.status)
    if card.invalidation_reason:
        text += f" ({INVALIDATION_REASONS.get(card.invalidation_reason, card.invalidation_reason)})"
    return text


@dataclasses.dataclass(frozen=True)
class RegistryRow:
    """One line of the registry book, as printed (PDF) and exported (XLSX)."""

    number: int
    label: str
    name: str
    identity: str
    date_of_birth: dt.date | None
    class_name: str
    template: str
    issue_date: dt.date
    valid_until: dt.date | None  # None: a paper card, valid until the pupil leaves (docs/domain.md §7)
    holograms: str
    status: str
    handed_over_on: dt.date | None
    collected_by: str
    note: str


def book_rows(actor: Actor, cards: list[Card], purpose: str) -> list[RegistryRow]:
    """The registry book's rows (full PESEL: it is the school's register), each identity revealed
    to `actor` for `purpose`: one access-log row per card (`tenants.pupils.identity`)."""
    holograms = holograms_by_card([c.id for c in cards])
    rows = []
    for card in cards:
        pupil = card.pupil if card.pupil_id is not None else None
        if pupil is not None:
            identity, born = reveal_identity(actor, pupil, purpose), pupil.date_of_birth
        else:  # an imported entry whose holder is no pupil of the school (docs/domain.md §24)
            identity, born = reveal_holder_identity(actor, card, purpose), card.holder_birth
        rows.append(RegistryRow(
            number=card.number, label=card.label, name=card.holder_full_name, identity=identity,
            date_of_birth=born, class_name=card.holder_class_name, template=card.kind_label,
            issue_date=card.issue_date, valid_until=card.valid_until,
            holograms=", ".join(f"{h.serial} ({h.school_year}/{str(h.school_year + 1)[2:]})"
                                for h in holograms.get(card.id, [])),
            status=status_text(card), handed_over_on=card.handed_over_on, collected_by=card.collected_by,
            note=" ".join(p for p in (card.status_note, "z importu" if card.imported else "") if p)))
    return rows


def issue_years() -> list[int]:
    years = db.session.scalars(select(extract("year", Card.issue_date)).where(Card.school_id == require_school())
                               .distinct())
    return sorted({int(y) for y in years if y}, reverse=True) or [clock.today().year]


def ready_to_collect(*, without_email: bool = True, class_name: str = "") -> list[Card]:
    """Cards delivered to the school and not yet handed over (docs/domain.md §20), by class and
    name; `without_email`: only pupils whose parent has no e-mail address on record (the others
    are told by e-mail); `class_name`: one class only."""
    stmt = (select(Card).join(Pupil, (Pupil.id == Card.pupil_id) & (Pupil.school_id == Card.school_id))
            .where(Card.school_id == require_school(), Card.status == CardStatus.DELIVERED.value))
    if without_email:
        stmt = stmt.where(Pupil.parent_email == "")
    if class_name:
        stmt = stmt.where(Pupil.class_name == class_name)
    return list(db.session.scalars(stmt.order_by(Pupil.class_name, Pupil.surname, Pupil.first_names, Card.id)))
