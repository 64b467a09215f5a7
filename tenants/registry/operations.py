"""The life of a card in the school's registry (ewidencja): its printed number, spoiling,
invalidation, the card a new one replaces, and pupils who leave.

A registry number is never reused: a spoiled or invalidated card keeps its entry and its
number, with the reason. Functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from infra import clock
from infra.db import db
from tenants.pupils.models import PAPER_CARD_ENDS
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import blanks
from tenants.registry.models import INVALIDATION_REASONS
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.registry.models import Card
from tenants.registry.models import CardMedium
from tenants.registry.models import CardStatus
from tenants.registry.models import registry_order
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change

PAPER_CARDS_UNTIL = dt.date(2024, 7, 12)  # the last day paper cards could be issued (docs/domain.md §7)
NUMBER_FORMAT = re.compile(r"^[^{}]*\{n\}[^{}]*(\{rok\}[^{}]*)?$")


def check_number_format(value: str) -> str:
    """A school's number format: text with `{n}` (the registry number) and optionally `{rok}`
    (the year of issue), e.g. "{n}", "{n}/{rok}", "SP1/{n}/{rok}"."""
    value = value.strip()
    if not value or len(value) > 30 or not NUMBER_FORMAT.match(value):
        raise OperationError("Format numeru musi zawierać {n} (numer z ewidencji) i może zawierać {rok}, "
                             "np. {n} albo {n}/{rok}.")
    return value


def number_label(number_format: str, number: int, issue_date: dt.date) -> str:
    return (number_format or "{n}").replace("{n}", str(number)).replace("{rok}", str(issue_date.year))


def live_cards(pupil: Pupil, *, except_id: int | None = None) -> list[Card]:
    stmt = select(Card).where(Card.pupil_id == pupil.id, Card.status.in_(LIVE_CARD_STATUSES))
    if except_id is not None:
        stmt = stmt.where(Card.id != except_id)
    return list(db.session.scalars(stmt.order_by(*registry_order())))


def invalidate(actor: Actor, card: Card, reason: str, *, on: dt.date | None = None, note: str = "") -> None:
    """A valid (or still coming) card stops being valid, for one of INVALIDATION_REASONS."""
    if reason not in INVALIDATION_REASONS:
        raise OperationError("Wybierz powód unieważnienia legitymacji.")
    if card.status not in LIVE_CARD_STATUSES:
        raise OperationError("Ta legitymacja jest już unieważniona albo zepsuta.")
    card.status = CardStatus.INVALIDATED.value
    card.invalidation_reason = reason
    card.invalidated_at = on or clock.today()
    card.status_note = " ".join(note.split())[:300]
    record_change(actor, "card_invalidated", school_id=card.school_id, pupil_id=card.pupil_id,
                  detail=f"card={card.id} reason={reason}")
    db.session.flush()


def spoil(actor: Actor, card: Card, note: str) -> None:
    """A card that never reached its holder (misprinted, damaged, not collected) is spoiled:
    it keeps its number, with the reason, for the destruction protocol."""
    note = " ".join((note or "").split())
    if not note:
        raise OperationError("Podaj powód (np. błąd nadruku, uszkodzona, nieodebrana).")
    if card.status == CardStatus.HANDED_OVER.value:
        raise OperationError("Wydanej legitymacji nie można oznaczyć jako zepsutej — unieważnij ją.")
    if card.status not in LIVE_CARD_STATUSES:
        raise OperationError("Ta legitymacja jest już unieważniona albo zepsuta.")
    card.status = CardStatus.SPOILED.value
    card.status_note = note[:300]
    card.invalidated_at = clock.today()
    blanks.card_spoiled(card, note)  # its blank, if from the school's own stock (docs/domain.md §22)
    # The application goes back to "approved", so the card can be ordered again (a reprint,
    # under a new number).
    application = db.session.get(Application, card.application_id) if card.application_id else None
    if application is not None and application.status == ApplicationStatus.ORDERED.value:
        application.status, application.order_id = ApplicationStatus.APPROVED.value, None
    record_change(actor, "card_spoiled", school_id=card.school_id, pupil_id=card.pupil_id, order_id=card.order_id,
                  detail=f"card={card.id}")
    db.session.flush()


def check_paper_card_handover(application: Application, *, paper_card_returned: bool) -> None:
    """Before an exchange's new card is handed over: the paper card named on the application comes
    back to the school — except for a duplicate, whose paper card is the one lost (docs/domain.md §21)."""
    if (application.paper_card_number and application.kind != ApplicationKind.DUPLICATE.value
            and application.pupil.holds_paper_card and not paper_card_returned):
        raise OperationError(f"Uczeń ma ważną legitymację papierową nr {application.paper_card_number} — odbierz "
                             "ją przy wydaniu e-legitymacji i zaznacz jej zwrot.")


def invalidate_paper_card(actor: Actor, pupil: Pupil, end: str, on: dt.date, *, note: str = "") -> None:
    """The pupil's paper card stops being valid on `on`: returned in exchange for an e-card, or
    recorded lost when a duplicate was handed over (PAPER_CARD_ENDS; docs/domain.md §21)."""
    if end not in PAPER_CARD_ENDS:
        raise OperationError("Nieznany powód unieważnienia legitymacji papierowej.")
    if not pupil.holds_paper_card:
        raise OperationError("Uczeń nie ma ważnej legitymacji papierowej.")
    pupil.paper_card_invalidated_on = on
    pupil.paper_card_invalidation = end
    record_change(actor, "paper_card_invalidated", school_id=pupil.school_id, pupil_id=pupil.id,
                  detail=f"number={pupil.paper_card_number} end={end} {note}".strip())
    # The paper card's entry in the registry, when the school imported its register (docs/domain.md §24),
    # stops being valid with it.
    for entry in live_cards(pupil):
        if entry.medium == CardMedium.PAPER.value:
            invalidate(actor, entry, "replaced" if end == "returned" else "lost", on=on, note=note)
    db.session.flush()


def after_handover(actor: Actor, card: Card, kind: str) -> list[Card]:
    """A card was handed over. Its application exchanged a paper card still valid: that paper card
    stops being valid today — returned, or lost for a duplicate (docs/domain.md §21). A replacement
    or duplicate: the pupil's earlier cards stop being valid and the new card points at the one it
    replaces. Returns the (e-)cards invalidated."""
    application = db.session.get(Application, card.application_id)
    if application.paper_card_number and card.pupil.holds_paper_card:
        end = "lost" if kind == ApplicationKind.DUPLICATE.value else "returned"
        invalidate_paper_card(actor, card.pupil, end, card.handed_over_on, note=f"card={card.id}")
    if kind not in (ApplicationKind.REPLACEMENT.value, ApplicationKind.DUPLICATE.value):
        return []
    reason = "replaced" if kind == ApplicationKind.REPLACEMENT.value else "duplicated"
    earlier = [c for c in live_cards(card.pupil, except_id=card.id) if c.sort_key < card.sort_key]
    for old in earlier:
        invalidate(actor, old, reason, on=card.handed_over_on, note=f"nowa legitymacja nr {card.label}")
    if earlier:
        card.replaces_card_id = earlier[-1].id
        db.session.flush()
    return earlier


def pupil_left(actor: Actor, pupil: Pupil, status: str, *, on: dt.date | None = None) -> list[Card]:
    """The pupil left or was transferred: every card of theirs still valid is invalidated."""
    if status not in (PupilStatus.LEFT.value, PupilStatus.TRANSFERRED.value):
        raise OperationError("Nieznany status ucznia.")
    pupil.status = status
    record_change(actor, "pupil_left", school_id=pupil.school_id, pupil_id=pupil.id, detail=f"status={status}")
    cards = live_cards(pupil)
    for card in cards:
        invalidate(actor, card, "left", on=on)
    db.session.flush()
    return cards


def record_paper_card(actor: Actor, pupil: Pupil, number: str, issued_on: dt.date) -> None:
    """The pupil holds a paper card of the old template, valid until they leave the school."""
    number = " ".join((number or "").split())
    if not number or len(number) > 30:
        raise OperationError("Podaj numer papierowej legitymacji (najwyżej 30 znaków).")
    if issued_on > PAPER_CARDS_UNTIL:
        raise OperationError("Papierowe legitymacje wydawano do 12.07.2024 — późniejsza musi być e-legitymacją.")
    pupil.paper_card_number = number
    pupil.paper_card_issued_on = issued_on
    record_change(actor, "paper_card_recorded", school_id=pupil.school_id, pupil_id=pupil.id)
    db.session.flush()
