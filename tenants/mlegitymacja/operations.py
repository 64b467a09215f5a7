"""mLegitymacja bookkeeping. There is no public SIO interface: the school enters each pupil's
mobile card in SIO by hand. Legitka keeps the to-do list (register after a card is handed
over, invalidate after it stops being valid), the objections (the parents', or an adult
learner's own), and a CSV of exactly what must be typed into SIO.

Every new or reissued card puts the pupil on the list, and a valid paper card counts too: its
holder is eligible for the mLegitymacja (docs/domain.md §21, source 004 V.1)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from infra.db import db
from infra.spreadsheets import csv_document
from tenants.pupils.identity import reveal_pesel
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry.models import INVALIDATION_REASONS
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import registry_order
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change

REGISTER = "register"
INVALIDATE = "invalidate"


@dataclasses.dataclass(frozen=True)
class PaperCard:
    """A pupil's paper card as an mLegitymacja's basis: shaped like a `Card` for the list and the CSV.
    Valid until the pupil leaves, so no validity date (docs/domain.md §7)."""

    pupil: Pupil
    number: int = 0
    sort_key: tuple[int, int, int] = (0, 0, 0)  # sorts before every e-card
    valid_until: None = None
    invalidation_reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.pupil.paper_card_number} (papierowa)"

    @property
    def issue_date(self) -> dt.date | None:
        return self.pupil.paper_card_issued_on


@dataclasses.dataclass(frozen=True)
class Task:
    pupil: Pupil
    card: Card | PaperCard
    action: str  # REGISTER | INVALIDATE

    @property
    def label(self) -> str:
        return "zarejestruj w SIO" if self.action == REGISTER else "unieważnij w SIO"


def todo() -> list[Task]:
    """What the school must still do in SIO, oldest card first."""
    pupils = {p.id: p for p in db.session.scalars(select(Pupil))}
    cards = list(db.session.scalars(select(Card).order_by(*registry_order())))
    by_id = {c.id: c for c in cards}
    current: dict[int, Card] = {}
    for card in cards:  # the newest handed-over, still valid card of each pupil
        # a paper card's imported entry is the pupil's paper card, listed as such (docs/domain.md §24)
        if card.status == CardStatus.HANDED_OVER.value and card.pupil_id is not None and not card.paper:
            current[card.pupil_id] = card
    tasks = []
    for pupil in pupils.values():
        active = pupil.status == PupilStatus.ACTIVE.value
        registered = by_id.get(pupil.mleg_card_id) if pupil.mleg_card_id else None
        if registered is not None and registered.status not in LIVE_CARD_STATUSES and pupil.mleg_invalidated_on is None:
            tasks.append(Task(pupil, registered, INVALIDATE))
        on_paper = (pupil.mleg_card_id is None and pupil.mleg_registered_on is not None
                    and pupil.mleg_invalidated_on is None)
        if on_paper and (not pupil.holds_paper_card or not active):
            tasks.append(Task(pupil, PaperCard(pupil), INVALIDATE))
        card = current.get(pupil.id)
        eligible = active and pupil.mleg_objection_on is None and pupil.pesel_cipher is not None
        if card is not None and eligible and pupil.mleg_card_id != card.id:
            tasks.append(Task(pupil, card, REGISTER))
        elif card is None and eligible and pupil.holds_paper_card and not on_paper:
            tasks.append(Task(pupil, PaperCard(pupil), REGISTER))
    return sorted(tasks, key=lambda t: (t.card.sort_key, t.action))


def mark_registered(actor: Actor, pupil: Pupil, card: Card | PaperCard, on: dt.date) -> None:
    """The school entered the mLegitymacja in SIO on `on`, for a handed-over e-card or a valid paper card."""
    if isinstance(card, PaperCard):
        if card.pupil is not pupil or not pupil.holds_paper_card:
            raise OperationError("mLegitymację rejestruje się dla wydanej, ważnej legitymacji ucznia.")
    elif card.pupil_id != pupil.id or card.status != CardStatus.HANDED_OVER.value:
        raise OperationError("mLegitymację rejestruje się dla wydanej, ważnej legitymacji ucznia.")
    if pupil.mleg_objection_on is not None:
        who = "Słuchacz" if pupil.objects_for_themself else "Rodzic"
        raise OperationError(f"{who} nie zgodził się na mLegitymację — nie rejestruj jej w SIO.")
    card_id = None if isinstance(card, PaperCard) else card.id
    pupil.mleg_card_id, pupil.mleg_registered_on, pupil.mleg_invalidated_on = card_id, on, None
    record_change(actor, "mleg_registered", school_id=pupil.school_id, pupil_id=pupil.id,
                  detail=f"card={card_id}" if card_id else f"paper={pupil.paper_card_number}")
    db.session.flush()


def mark_invalidated(actor: Actor, pupil: Pupil, on: dt.date) -> None:
    if pupil.mleg_registered_on is None:
        raise OperationError("Ten uczeń nie ma mLegitymacji zarejestrowanej w SIO.")
    pupil.mleg_invalidated_on = on
    record_change(actor, "mleg_invalidated", school_id=pupil.school_id, pupil_id=pupil.id,
                  detail=f"card={pupil.mleg_card_id}")
    db.session.flush()


def record_objection(actor: Actor, pupil: Pupil, on: dt.date | None) -> None:
    """The parents object to the mobile card (`on`), or withdraw the objection (None). An adult
    learner's objection is their own (docs/domain.md §21): the change record says so."""
    pupil.mleg_objection_on = on
    record_change(actor, "mleg_objection" if on is not None else "mleg_objection_withdrawn",
                  school_id=pupil.school_id, pupil_id=pupil.id,
                  detail="by=learner" if pupil.objects_for_themself else "")
    db.session.flush()


def sio_csv(actor: Actor, tasks: list[Task]) -> bytes:
    """The data to type into SIO, one row per task (semicolons, UTF-8 with BOM for Excel; text
    that would start a formula neutralised by `infra.spreadsheets`). Each task's PESEL is revealed
    to `actor` for "sio_export" (one access-log row per task, `tenants.pupils.identity`)."""
    rows = [(t.label, t.pupil.surname, t.pupil.first_names, t.pupil.date_of_birth,
             reveal_pesel(actor, t.pupil, "sio_export") or "", t.pupil.class_name,
             t.card.label, t.card.issue_date or "", t.card.valid_until or "",
             INVALIDATION_REASONS.get(t.card.invalidation_reason, "") if t.action == INVALIDATE else "")
            for t in tasks]
    return csv_document(("Czynność", "Nazwisko", "Imiona", "Data urodzenia", "PESEL", "Klasa", "Numer legitymacji",
                         "Data wydania", "Data ważności", "Powód unieważnienia"), rows)
