"""The life of a print order, as compare-and-set transitions in the database.

draft → submitted → rendering → ready → downloaded → printed → shipped → delivered
(rendering → failed → submitted on retry). Submitting assigns the school's next registry
numbers, freezes the unit price and writes the outbox row and the printer's e-mail, all in one
transaction.
Functions flush and never commit; the caller owns the transaction and, after committing,
starts their jobs (`portal.jobs.start_after_commit`: best effort, the workers' relay catches up).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing import agreements
from printing import notifications
from printing import quotes
from printing.models import Channel
from printing.models import OrderItem
from printing.models import OrderStatus
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.pupils import card_templates
from tenants.pupils import names
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import Pupil
from tenants.registry import holograms
from tenants.registry import numbering
from tenants.registry import operations as registry
from tenants.registry import template_versions
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

BUILD_BATCH = "build_batch"


def valid_until(issue_date: dt.date) -> dt.date:
    """30 September ending the school year a card issued on `issue_date` serves (docs/domain.md §4).

    A card issued from September to December, or from the city's cut-over (by default the day
    after classes end in June) to 31 August, serves the school year ending next calendar year; one
    issued from January to the day before the cut-over, the year ending this calendar year. The
    same rule names the hologram's school year (`tenants.registry.holograms.school_year_of`).
    """
    return holograms.valid_until(holograms.school_year_of(issue_date))


def city_printers(city_id: int) -> list[Organisation]:
    """The printers the city has made available to its schools, city print centre first."""
    stmt = (select(Organisation).join(CityPrinter, CityPrinter.printer_id == Organisation.id)
            .where(CityPrinter.city_id == city_id)
            .order_by(Organisation.is_city_print_centre.desc(), Organisation.name))
    return list(db.session.scalars(stmt))


def transition(actor: Actor, order: PrintOrder, sources: tuple[OrderStatus, ...], target: OrderStatus,
               **values) -> None:
    """Move `order` from one of `sources` to `target` atomically, or raise `OperationError`; an
    "order_<target>" row records who moved it, and from where (docs/security.md T3.17)."""
    before = order.status
    result = db.session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order.id, PrintOrder.status.in_([s.value for s in sources]))
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise OperationError("Zamówienie zmieniło stan w międzyczasie — odśwież stronę.", "invalid_state")
    record_change(actor, f"order_{target.value}", school_id=order.school_id, order_id=order.id,
                  detail=f"from={before}")
    db.session.refresh(order)


def create_order(actor: Actor, school: Organisation, printer_id: int | None, application_ids: list[int]) -> PrintOrder:
    """A draft order from approved applications of the current school, to one of its city's
    printers, or to the school's own printer when `printer_id` is None."""
    school_id = require_school()
    if school.id != school_id:
        raise OperationError("Nieprawidłowa szkoła.")
    if printer_id is None:
        if quotes.school_printer(school_id) is None:
            raise OperationError("Szkoła nie ma zapisanej własnej drukarki kart.")
    elif printer_id not in {p.id for p in city_printers(school.city_id)}:
        raise OperationError("Wybierz drukarnię z listy drukarni miasta.")
    ids = sorted(set(application_ids))
    if not ids:
        raise OperationError("Zaznacz co najmniej jeden zatwierdzony wniosek.")
    applications = list(db.session.scalars(select(Application).where(
        Application.school_id == school_id, Application.id.in_(ids))))
    if len(applications) != len(ids) or any(
            a.status != ApplicationStatus.APPROVED.value or a.order_id is not None for a in applications):
        raise OperationError("Do zamówienia można dodać tylko zatwierdzone wnioski, które nie są w innym zamówieniu.")
    quote = _quote(school, printer_id, len(ids), clock.today())
    order = PrintOrder(school_id=school_id, city_id=school.city_id, printer_id=printer_id, channel=quote.channel,
                       status=OrderStatus.DRAFT.value, card_count=len(ids), created_by_id=actor.user_id)
    db.session.add(order)
    db.session.flush()
    # Compare-and-set: the check above read the applications, but another session may have put
    # them in its own draft since. The UPDATE waits for such a session and then sees its result,
    # so exactly one draft gets each application; the loser raises and its caller rolls back.
    taken = db.session.execute(
        update(Application)
        .where(Application.school_id == school_id, Application.id.in_(ids), Application.order_id.is_(None),
               Application.status == ApplicationStatus.APPROVED.value)
        .values(order_id=order.id).execution_options(synchronize_session=False))
    if taken.rowcount != len(ids):
        raise OperationError("Część zaznaczonych wniosków została w międzyczasie dodana do innego zamówienia. "
                             "Odśwież stronę i wybierz wnioski jeszcze raz.", "invalid_state")
    for application in applications:
        db.session.expire(application, ["order_id"])
    return order


def _quote(school: Organisation, printer_id: int | None, quantity: int, today: dt.date) -> quotes.Quote:
    key = Channel.OWN.value if printer_id is None else str(printer_id)
    quote = quotes.quote_for(school, key, quantity, today)
    if quote is None:
        raise OperationError("Ta drukarnia nie jest dostępna dla szkoły.")
    if not quote.available:
        raise OperationError("Ta drukarnia nie ma cennika dla takiej liczby kart.")
    return quote


def discard_draft(actor: Actor, order: PrintOrder) -> None:
    """Delete a draft order and free its applications."""
    # The draft's row, locked and checked in one statement: a submit running at the same moment
    # (its transition locks the same row) either finishes first, and this finds no draft, or
    # waits and then finds no order. Freeing applications an order already numbered would not do.
    draft = db.session.execute(select(PrintOrder.id).where(PrintOrder.id == order.id,
                                                           PrintOrder.status == OrderStatus.DRAFT.value)
                               .with_for_update()).first()
    if draft is None:
        raise OperationError("Można usunąć tylko zamówienie, które nie zostało jeszcze złożone.")
    db.session.execute(update(Application).where(Application.order_id == order.id).values(order_id=None)
                       .execution_options(synchronize_session=False))
    record_change(actor, "order_discarded", school_id=order.school_id, order_id=order.id)
    db.session.delete(order)
    db.session.flush()


def submit_order(actor: Actor, order: PrintOrder, *, today: dt.date | None = None) -> list[Card]:
    """Place a draft order: registry numbers, frozen price, cards and the outbox row, atomically."""
    school_id = require_school()
    today = today or clock.today()
    applications = list(db.session.scalars(
        select(Application).join(Pupil, (Pupil.id == Application.pupil_id) & (Pupil.school_id == Application.school_id))
        .where(Application.school_id == school_id, Application.order_id == order.id)
        .order_by(Pupil.class_name, Pupil.surname, Pupil.first_names, Application.id)))
    if not applications:
        raise OperationError("Zamówienie jest puste.")
    if any(a.status != ApplicationStatus.APPROVED.value for a in applications):
        raise OperationError("Wszystkie wnioski w zamówieniu muszą być zatwierdzone.")
    if any(not a.pupil.photo_key for a in applications):
        raise OperationError("Nie wszyscy uczniowie w zamówieniu mają zdjęcie.")
    choices = {a.id: card_templates.choose(a.pupil.learner_type, a.pupil.disabled, a.pupil.date_of_birth, today)
               for a in applications}
    for application in applications:  # e.g. a pre-school child whose compulsory year ended (docs/domain.md §2)
        if choices[application.id].refusal:
            raise OperationError(f"{application.pupil.full_name}: {choices[application.id].refusal}")
    school = db.session.get(Organisation, school_id)
    quote = _quote(school, order.printer_id, len(applications), today)
    if order.printer_id is not None:
        agreements.require(school_id, order.printer_id, today)
    now = utcnow()
    transition(actor, order, (OrderStatus.DRAFT,), OrderStatus.SUBMITTED, submitted_at=now,
               submitted_by_id=actor.user_id, card_count=len(applications), unit_price=quote.unit_price,
               total_price=quote.total, quote=quote.as_dict(), due_date=quote.due_date, channel=quote.channel,
               issue_date=today)
    assigned = numbering.assign(school_id, len(applications), today)  # the sequence and {rok} of `today`
    numbers = assigned.numbers
    cards = []
    for number, label, application in zip(numbers, assigned.labels, applications, strict=True):
        card = Card(school_id=school_id, number=number, numbering_year=assigned.year, pupil_id=application.pupil_id,
                    application_id=application.id, order_id=order.id, template_code=choices[application.id].template,
                    template_version=template_versions.in_force(choices[application.id].template, today).key,
                    issue_date=today, valid_until=valid_until(today), number_label=label)
        application.status = ApplicationStatus.ORDERED.value
        cards.append(card)
    db.session.add_all(cards)
    db.session.flush()
    add_items(order, cards)
    db.session.execute(update(PrintOrder).where(PrintOrder.id == order.id)
                       .values(first_number=numbers[0], last_number=numbers[-1], numbering_year=assigned.year)
                       .execution_options(synchronize_session=False))
    add_outbox(order, now)
    notifications.promise_order_arrived(order)
    db.session.flush()
    db.session.refresh(order)
    return cards


def add_items(order: PrintOrder, cards: list[Card]) -> None:
    """The printer's view of the order's cards: number and template, awaiting its result."""
    db.session.add_all([OrderItem(school_id=order.school_id, order_id=order.id, printer_id=order.printer_id,
                                  card_id=card.id, card_label=card.label, template_code=card.template_code)
                        for card in cards])


def add_outbox(order: PrintOrder, now: dt.datetime) -> None:
    db.session.add(OutboxEvent(school_id=order.school_id, order_id=order.id, event=BUILD_BATCH,
                               created_at=now, next_attempt_at=now))


def retry_order(actor: Actor, order: PrintOrder) -> None:
    """Send a failed batch back to the queue."""
    transition(actor, order, (OrderStatus.FAILED,), OrderStatus.SUBMITTED, error="")
    add_outbox(order, utcnow())
    db.session.flush()


def record_handover(actor: Actor, card: Card, *, handed_over_on: dt.date, collected_by: str,
                    signed: bool = True, paper_card_returned: bool = False) -> list[Card]:
    """The card was handed to the pupil or a parent against a signature (register fields, docs/domain.md §5).

    A replacement's or duplicate's handover invalidates the pupil's earlier cards; returns them.
    An exchange of a paper card (docs/domain.md §21) needs `paper_card_returned` (not for a
    duplicate: that paper card is the one lost); the paper card stops being valid here, not before."""
    if card.status != CardStatus.DELIVERED.value:
        raise OperationError("Wydać można tylko legitymację dostarczoną do szkoły i jeszcze niewydaną.")
    try:
        # The register (and its XLSX) holds it: a person's name, by the one rule for names.
        collected_by = names.collector(collected_by)
    except names.InvalidName as err:
        raise OperationError(str(err)) from None
    if handed_over_on > clock.today():
        raise OperationError("Data wydania nie może być z przyszłości.")
    order = db.session.get(PrintOrder, card.order_id)
    if order.delivered_at and handed_over_on < clock.day_of(order.delivered_at):
        raise OperationError("Data wydania nie może być wcześniejsza niż data dostarczenia.")
    registry.check_paper_card_handover(db.session.get(Application, card.application_id),
                                       paper_card_returned=paper_card_returned)
    result = db.session.execute(
        update(Card).where(Card.id == card.id, Card.status == CardStatus.DELIVERED.value)
        .values(status=CardStatus.HANDED_OVER.value, handed_over_on=handed_over_on,
                collected_by=collected_by, handover_recorded_by_id=actor.user_id, handover_signed=signed)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise OperationError("Legitymacja została już wydana.")
    db.session.execute(update(Application).where(Application.id == card.application_id)
                       .values(status=ApplicationStatus.ISSUED.value).execution_options(synchronize_session=False))
    db.session.execute(update(PrintOrder).where(PrintOrder.id == card.order_id)
                       .values(handed_over_count=PrintOrder.handed_over_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.flush()
    db.session.refresh(card)
    kind = db.session.scalar(select(Application.kind).where(Application.id == card.application_id))
    return registry.after_handover(actor, card, kind)

