"""The demo schools' earlier school years (issue 17), so that the city's rollout and forecast show
what a city that has used Legitka since 2024 would see:

- pupils who began at their school before 13 July 2024 hold a paper card, valid until they
  leave (docs/domain.md §7; the Szczecin letter) — a valid group, not work to do;
- the classes admitted in 2024/25 and 2025/26 got their first e-cards that autumn, through the
  real operations with the clock pinned to the day (applications, orders, deliveries, handovers);
- every past school year about 1.5 % of card holders lost theirs and got a duplicate in spring;
- in each past school year some pupils moved between schools of the same type (not SP 1: its
  one waiting transfer is the demo's) and got their first card at the new school;
- this school year: a few duplicates asked for and waiting, a card reported lost not yet replaced;
- the history a refresh in each past year would have left (pupils, first classes), which the
  forecast reads (reports.forecast).
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from reports import forecast
from reports.models import SchoolStats
from reports.statistics import grade_of
from tenants.pupils import applications
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.operations import PAPER_CARDS_UNTIL
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import Role
from tenants.transfers import operations as transfers
from tenants.transfers.models import PupilTransfer

FIRST_ECARD_YEAR = 2024  # the first school year whose new pupils got e-cards (from 13 July 2024)
DUPLICATE_SHARE = 0.015  # card holders who lose theirs in a school year


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def start_year(pupil: Pupil, running: int) -> int | None:
    """The school year the pupil began at the school, from the class (year 1 now = this year)."""
    grade = grade_of(pupil.class_name)
    return running - grade + 1 if grade else None


def order_at(actor: Actor, school: Organisation, printer: Organisation, pupils: list[Pupil], day: dt.date,
             rng: random.Random, photo, *, kind: str = "first") -> list[Card]:
    """Cards for `pupils` asked for and ordered on `day`, delivered within the printer's lead time
    and handed over a few days later, each step on its own day."""
    if not pupils:
        return []
    with clock.pinned(at(day)):
        ids = []
        for pupil in pupils:
            if kind == "duplicate" or not pupil.photo_key:
                photo(pupil)  # a duplicate asks for a current photo (docs/domain.md §21)
            application = applications.create_application(actor, pupil, kind, school=school,
                                                          reason_code="lost" if kind == "duplicate" else "")
            if kind == "duplicate":
                applications.record_payment(actor, application, amount=application.fee_amount, paid_on=day,
                                            reference=f"duplikat {pupil.class_name}")
            applications.decide_application(actor, application, approve=True)
            ids.append(application.id)
        order = printing_ops.create_order(actor, school, printer.id, ids)
        cards = printing_ops.submit_order(actor, order, today=day)
    delivered = day + dt.timedelta(days=rng.randint(5, (printer.lead_time_days or 14) + 3))
    order.status, order.submitted_at = "delivered", at(day)
    order.ready_at, order.downloaded_at, order.accepted_at = at(day, 10), at(day, 14), at(day, 13)
    order.printed_at = order.shipped_at = at(delivered - dt.timedelta(days=1))
    order.delivered_at, order.delivered_by_id = at(delivered, 11), actor.user_id
    order.purge_after = order.delivered_at + dt.timedelta(days=7)
    for card in cards:
        card.status = CardStatus.DELIVERED.value
    db.session.flush()
    for card in cards:
        handed = delivered + dt.timedelta(days=rng.randint(1, 6))
        with clock.pinned(at(handed, 12)):
            printing_ops.record_handover(actor, card, handed_over_on=handed, collected_by="Anna Rodzicowa (rodzic)",
                                         paper_card_returned=True)
    return cards


def _holders(pupils: list[Pupil]) -> list[Pupil]:
    """Active pupils holding a valid card: a handed-over e-card or a valid paper card."""
    in_hand = set(db.session.scalars(select(Card.pupil_id).where(Card.status == CardStatus.HANDED_OVER.value)))
    return [p for p in pupils if p.status == PupilStatus.ACTIVE.value and (p.id in in_hand or p.holds_paper_card)]


def past_years(actor: Actor, school: Organisation, printer: Organisation, rng: random.Random, today: dt.date,
               photo) -> None:
    """This school's paper cards, its earlier classes' first e-cards and the duplicates of each
    past school year; this year's waiting duplicates and a lost card."""
    running = forecast.running_year(today)
    pupils = list(db.session.scalars(select(Pupil).order_by(Pupil.id)))
    issued = 0
    for pupil in pupils:
        began = start_year(pupil, running)
        if began is not None and dt.date(began, 9, 1) <= PAPER_CARDS_UNTIL:
            issued += 1
            registry.record_paper_card(actor, pupil, f"{issued}/{began}", dt.date(began, 9, rng.randint(2, 25)))
    for year in range(FIRST_ECARD_YEAR, running):
        admitted = [p for p in pupils if start_year(p, running) == year]
        order_at(actor, school, printer, admitted, dt.date(year, 9, rng.randint(15, 28)), rng, photo)
        holders = _holders(pupils)
        lost = rng.sample(holders, min(len(holders), max(1, round(DUPLICATE_SHARE * len(holders)))))
        order_at(actor, school, printer, lost, dt.date(year + 1, 3, rng.randint(2, 27)), rng, photo, kind="duplicate")
    holders = _holders(pupils)
    if len(holders) < 3:
        return
    waiting = rng.sample(holders, max(1, round(DUPLICATE_SHARE * len(holders) / 2)) + 1)
    for pupil in waiting[1:]:  # asked for this autumn, not decided yet
        photo(pupil)
        applications.create_application(actor, pupil, "duplicate", reason_code="lost", school=school)
    card = db.session.scalar(select(Card).where(Card.pupil_id == waiting[0].id,
                                                Card.status == CardStatus.HANDED_OVER.value))
    if card is not None:  # reported lost, the parents have not asked for a duplicate yet
        registry.invalidate(actor, card, "lost", on=today - dt.timedelta(days=rng.randint(3, 20)))
    db.session.flush()


def _director(school: Organisation, directors: dict[int, int]) -> Actor:
    return Actor(user_id=directors[school.id], role=Role.SCHOOL_DIRECTOR.value, organisation_id=school.id,
                 endpoint="seed")


def past_transfers(schools: list[Organisation], printer: Organisation, directors: dict[int, int],
                   today: dt.date) -> None:
    """Each past school year, one pupil of each school (but SP 1) moves in January to the next
    school of its type and gets a first card there. Commits."""
    running = forecast.running_year(today)
    rng = random.Random("legitka-demo-transfers")
    by_type: dict[str, list[Organisation]] = {}
    for school in schools:
        if school.slug != "sp1":
            by_type.setdefault(school.school_type, []).append(school)
    for year in range(FIRST_ECARD_YEAR, running):
        day = dt.date(year + 1, 1, rng.randint(8, 20))
        for group in by_type.values():
            for sender, receiver in zip(group, group[1:] + group[:1], strict=True):
                if sender.id == receiver.id:
                    continue
                with tenant_scope(Tenant(school_id=sender.id)):
                    pupil = db.session.scalar(select(Pupil).where(
                        Pupil.status == PupilStatus.ACTIVE.value, Pupil.photo_key.is_not(None),
                        func.substr(Pupil.class_name, 1, 1) == "3").order_by(Pupil.id).offset(year - FIRST_ECARD_YEAR))
                    if pupil is None:
                        continue
                    with clock.pinned(at(day)):
                        transfer_id = transfers.send(_director(sender, directors), sender, pupil, receiver.id).id
                    db.session.commit()
                with tenant_scope(Tenant(school_id=receiver.id)):
                    actor = _director(receiver, directors)
                    with clock.pinned(at(day, 12)):
                        moved = transfers.accept(actor, db.session.get(PupilTransfer, transfer_id),
                                                 transfers.Takeover(photo=True, class_name=pupil.class_name))
                    order_at(actor, receiver, printer, [moved], day + dt.timedelta(days=3), rng, lambda p: None)
                    db.session.commit()


def past_history(schools: list[Organisation], today: dt.date) -> None:
    """Each school's history entries for the past school years, as a refresh then would have left
    them (its pupils, its first class: the class that is now in the year that began then). Commits."""
    running = forecast.running_year(today)
    for school in schools:
        with tenant_scope(Tenant(school_id=school.id)):
            stats = db.session.scalar(select(SchoolStats))
            if stats is None:
                continue
            history = dict(stats.year_history or {})
            pupils = list(db.session.scalars(select(Pupil.class_name).where(Pupil.status == PupilStatus.ACTIVE.value)))
            for year in range(FIRST_ECARD_YEAR, running):
                first = sum(1 for name in pupils if grade_of(name) == running - year + 1)
                history.setdefault(str(year), {"pupils": len(pupils), "first_year": first})
            stats.year_history = dict(sorted(history.items()))
            db.session.commit()

