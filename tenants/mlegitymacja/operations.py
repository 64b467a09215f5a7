"""mLegitymacja bookkeeping. There is no public SIO interface: the school enters each pupil's
mobile card in SIO by hand. Legitka keeps the to-do list (register after a card is handed
over, invalidate after it stops being valid), the parents' objections, and a CSV of exactly
what must be typed into SIO."""

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
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change

REGISTER = "register"
INVALIDATE = "invalidate"


@dataclasses.dataclass(frozen=True)
class Task:
    pupil: Pupil
    card: Card
    action: str  # REGISTER | INVALIDATE

    @property
    def label(self) -> str:
        return "zarejestruj w SIO" if self.action == REGISTER else "unieważnij w SIO"


def todo() -> list[Task]:
    """What the school must still do in SIO, oldest card first."""
    pupils = {p.id: p for p in db.session.scalars(select(Pupil))}
    cards = list(db.session.scalars(select(Card).order_by(Card.number)))
    by_id = {c.id: c for c in cards}
    current: dict[int, Card] = {}
    for card in cards:  # the newest handed-over, still valid card of each pupil
        if card.status == CardStatus.HANDED_OVER.value:
            current[card.pupil_id] = card
    tasks = []
    for pupil in pupils.values():
        registered = by_id.get(pupil.mleg_card_id) if pupil.mleg_card_id else None
        if registered is not None and registered.status not in LIVE_CARD_STATUSES and pupil.mleg_invalidated_on is None:
            tasks.append(Task(pupil, registered, INVALIDATE))
        card = current.get(pupil.id)
        if (card is not None and pupil.status == PupilStatus.ACTIVE.value and pupil.mleg_objection_on is None
                and pupil.pesel_cipher is not None and pupil.mleg_card_id != card.id):
            tasks.append(Task(pupil, card, REGISTER))
    return sorted(tasks, key=lambda t: (t.card.number, t.action))


def mark_registered(actor: Actor, pupil: Pupil, card: Card, on: dt.date) -> None:
    if card.pupil_id != pupil.id or card.status != CardStatus.HANDED_OVER.value:
        raise OperationError("mLegitymację rejestruje się dla wydanej, ważnej legitymacji ucznia.")
    if pupil.mleg_objection_on is not None:
        raise OperationError("Rodzic nie zgodził się na mLegitymację — nie rejestruj jej w SIO.")
    pupil.mleg_card_id, pupil.mleg_registered_on, pupil.mleg_invalidated_on = card.id, on, None
    record_change(actor, "mleg_registered", school_id=pupil.school_id, pupil_id=pupil.id, detail=f"card={card.id}")
    db.session.flush()


def mark_invalidated(actor: Actor, pupil: Pupil, on: dt.date) -> None:
    if pupil.mleg_card_id is None:
        raise OperationError("Ten uczeń nie ma mLegitymacji zarejestrowanej w SIO.")
    pupil.mleg_invalidated_on = on
    record_change(actor, "mleg_invalidated", school_id=pupil.school_id, pupil_id=pupil.id,
                  detail=f"card={pupil.mleg_card_id}")
    db.session.flush()


def record_objection(actor: Actor, pupil: Pupil, on: dt.date | None) -> None:
    """The parent objects to the mobile card (`on`), or withdraws the objection (None)."""
    pupil.mleg_objection_on = on
    record_change(actor, "mleg_objection" if on is not None else "mleg_objection_withdrawn",
                  school_id=pupil.school_id, pupil_id=pupil.id)
    db.session.flush()


def sio_csv(actor: Actor, tasks: list[Task]) -> bytes:
    """The data to type into SIO, one row per task (semicolons, UTF-8 with BOM for Excel; text
    that would start a formula neutralised by `infra.spreadsheets`). Each task's PESEL is revealed
    to `actor` for "sio_export" (one access-log row per task, `tenants.pupils.identity`)."""
    rows = [(t.label, t.pupil.surname, t.pupil.first_names, t.pupil.date_of_birth,
             reveal_pesel(actor, t.pupil, "sio_export") or "", t.pupil.class_name,
             t.card.label, t.card.issue_date, t.card.valid_until,
             INVALIDATION_REASONS.get(t.card.invalidation_reason, "") if t.action == INVALIDATE else "")
            for t in tasks]
    return csv_document(("Czynność", "Nazwisko", "Imiona", "Data urodzenia", "PESEL", "Klasa", "Numer legitymacji",
                         "Data wydania", "Data ważności", "Powód unieważnienia"), rows)
