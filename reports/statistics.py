"""The anonymous statistics the city's dashboard reads (docs/security.md T1.13): one `SchoolStats` row
per school and one `CardFact` per card, written by a job acting as the school itself.

The dashboard (reports.dashboard) never reads pupils, applications or cards: only these rows,
which hold no name, no PESEL, no card number and no pupil reference. They are refreshed by the
worker every 10 minutes, by `flask legitka refresh-stats` and at the end of the demo seed;
the dashboard shows when ("stan na …").

Three kinds of numbers:

- `SchoolStats` is a snapshot of the school's *current* pupils and registry at `computed_at`,
  replaced on every refresh. Every count in it concerns active pupils or live cards, so erasing
  the data of pupils who have left (retention) does not change it.
- `OrderFacts` sums the school's card facts up per order and delivery day; rebuilt from them on
  every refresh, so it always says what they say (the dashboard reads it for money, punctuality
  and blanks: a few rows per order instead of one per card).
- `CardFact` is history: one row per card ever ordered, upserted on every refresh and never
  deleted. Once a card's registry entry, its application or its pupil are erased under the
  retention rules, the fact keeps the values of its last refresh, so historic counts, lead
  times and costs stay as they were.

Definitions (`SchoolStats`; "active" = pupil status `active`; "live card" = a card in one of
`tenants.registry.models.LIVE_CARD_STATUSES`: ordered, printed, delivered, handed over):

- pupils_active: active pupils.
- pupils_needing_card: the work to do (docs/domain.md §26; who holds what is
  tenants.registry.holders) = needing_new + needing_invalidated + needing_requests:
  - needing_new: active pupils holding no valid card (no live e-card, no valid paper card) who
    never held one — the newly admitted, transferred pupils among them;
  - needing_invalidated: active pupils holding no valid card who held one (an e-card
    invalidated, a paper card ended);
  - needing_requests: active pupils holding a valid card with an open request (a replacement,
    a duplicate or a paper card's exchange, not yet handed over).
- pupils_valid_ecard: active pupils holding a handed-over e-card.
- valid_cards_imported: active pupils whose valid card (e-card or paper) came from the school's
  earlier register, imported (docs/domain.md §24) — the rollout's cards by source.
- pupils_without_photo: active pupils with no accepted photo (no stored photo).
- paper_cards: active pupils holding a valid paper card (its number recorded, not ended by an
  exchange or a loss; docs/domain.md §7, §21) and no handed-over e-card — valid, their own group.
- mleg_registered: active pupils whose mLegitymacja is registered in SIO (registration date
  set) and not invalidated since.
- applications_open: applications of active pupils that are submitted or approved and not in
  any order (not even a draft).
- applications_total: applications of active pupils, in any state.
- cards_ordered: live cards (ordered, printed, delivered or handed over).
- cards_delivered: cards now delivered to the school or handed over.
- cards_handed_over: cards now handed over (valid, in the pupil's hands).
- duplicates_paid, duplicate_fees: duplicate applications of active pupils whose 9 zł payment a
  member of staff recorded, and the sum paid (the paid fees of the past are on the card facts).
- hologram_counts: the school's hologram ledger, {school year: {state: count}}.
- forecast_first_year: active pupils in year 1 of the school's cycle ("1a", "1 b", "I c",
  "sem. 1a"): this year's intake, the estimate of the next one.
- year_history: {school year: {"pupils", "first_year"}}, this school year's entry rewritten on
  every refresh; forecast: the September forecast, last year's and what happened since
  (reports.forecast, with every definition).

Definitions (`CardFact`, dates in the city's time zone):

- channel, printer_id: of the order the card is in now (a reprint moves it to the new order).
- kind: first / replacement / duplicate, from the card's application.
- status: the card's status at the last refresh.
- applied_on: the day the application was made (never later than its order's day: an
  application recorded after the fact, e.g. history brought in later, counts from the order);
  submitted_on: the day the order was placed.
- delivered_on: the day the order was delivered, for a card that came with it (the printer
  reported it printed, or the school has it or handed it over); None otherwise.
- handed_over_on: the day it was handed over (kept when the card is later invalidated).
- promised_days: the lead time of the quote frozen on the order (or the printer's lead time).
- cost: the card's share of its order's total price (the frozen quote is what the card cost):
  the total split over the order's cards in whole grosze that add up to the total
  (printing.pricing.allocate; the cards in card-id order, an erased card keeping its place), so
  the cards of an order always sum to its invoice (`card_costs`; docs/city.md, the rounding
  rule); fee: the duplicate fee paid for the card's application.
- print_rejections: how many times a printer rejected this card (order items `rejected`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import ROUND_HALF_UP
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra.db import db
from infra.db import is_postgres
from infra.db import utcnow
from printing import pricing
from printing.models import ItemOutcome
from printing.models import OrderItem
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from reports import forecast
from reports.models import CardFact
from reports.models import OrderFacts
from reports.models import SchoolStats
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import holders
from tenants.registry import holograms
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import Hologram
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.transfers.models import PupilTransfer
from tenants.transfers.models import TransferStatus

log = logging.getLogger("legitka.statistics")

CENT = Decimal("0.01")
REFRESH_LOCK_SPACE = 6  # pg_advisory_xact_lock(space, school id): the statistics refresh of one school
DELIVERED_STATUSES = (CardStatus.DELIVERED.value, CardStatus.HANDED_OVER.value)
_GRADE = re.compile(r"^(?:sem(?:estr)?\.?|kl(?:asa)?\.?)?\s*(?:(\d+)|([ivx]+)(?=[a-z]?(?:[^a-z]|$)))", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


def grade_of(class_name: str) -> int | None:
    """The year of the school's cycle a class name stands for: "1a" → 1, "sem. 2b" → 2,
    "III c" and "IIIc" → 3, "klasa 4" → 4; None when it names none ("", "oddział przedszkolny")."""
    match = _GRADE.match((class_name or "").strip())
    if match is None:
        return None
    if match.group(1):
        return int(match.group(1))
    return _ROMAN.get(match.group(2).lower())


def _zone() -> ZoneInfo:
    return clock.zone()


def _local_day(value: dt.datetime | None, zone: ZoneInfo) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).date()


def _min_day(*days: dt.date | None) -> dt.date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Pupil).where(*where)) or 0


def _pupil_counts() -> dict[str, int]:
    """The pupil counts, by who holds a valid card (tenants.registry.holders, docs/domain.md §26)."""
    active = Pupil.status == PupilStatus.ACTIVE.value
    valid = holders.holds_valid_card()
    first_year = sum(n for name, n in db.session.execute(
        select(Pupil.class_name, func.count()).where(active).group_by(Pupil.class_name)) if grade_of(name) == 1)
    counts = {
        "pupils_active": _count(active),
        "pupils_valid_ecard": _count(active, holders.ecard_in_hand()),
        "paper_cards": _count(active, holders.valid_paper_card(), ~holders.ecard_in_hand()),
        "valid_cards_imported": _count(active, holders.valid_card_from_import()),
        "needing_new": _count(active, ~valid, ~holders.held_a_card_once()),
        "needing_invalidated": _count(active, ~valid, holders.held_a_card_once()),
        "needing_requests": _count(active, valid, holders.open_request()),
        "pupils_without_photo": _count(active, Pupil.photo_key.is_(None)),
        "mleg_registered": _count(active, Pupil.mleg_registered_on.is_not(None), Pupil.mleg_invalidated_on.is_(None)),
        "forecast_first_year": first_year,
    }
    counts["pupils_needing_card"] = counts["needing_new"] + counts["needing_invalidated"] + counts["needing_requests"]
    return counts


def _application_counts() -> dict:
    rows = db.session.execute(
        select(Application.status, Application.order_id, Application.kind, Application.payment_checked_at,
               Application.payment_amount)
        .join(Pupil, and_(Pupil.id == Application.pupil_id, Pupil.school_id == Application.school_id))
        .where(Pupil.status == PupilStatus.ACTIVE.value)).all()
    waiting = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.APPROVED.value)
    paid = [r for r in rows if r.kind == ApplicationKind.DUPLICATE.value and r.payment_checked_at is not None]
    return {
        "applications_total": len(rows),
        "applications_open": sum(1 for r in rows if r.status in waiting and r.order_id is None),
        "duplicates_paid": len(paid),
        "duplicate_fees": sum((Decimal(r.payment_amount or 0) for r in paid), Decimal("0.00")).quantize(CENT),
    }


def _card_counts() -> dict[str, int]:
    by_status = dict(db.session.execute(select(Card.status, func.count()).group_by(Card.status)).all())
    return {
        "cards_ordered": sum(by_status.get(s, 0) for s in LIVE_CARD_STATUSES),
        "cards_delivered": sum(by_status.get(s, 0) for s in DELIVERED_STATUSES),
        "cards_handed_over": by_status.get(CardStatus.HANDED_OVER.value, 0),
    }


def card_cost(total: Decimal | None, card_count: int) -> Decimal:
    """The total ÷ the order's cards, rounded half up to the grosz: what a card costs on average
    (shown, never summed; a card's fact carries its exact share, `card_costs`)."""
    if not card_count:
        return Decimal("0.00")
    return (Decimal(total or 0) / card_count).quantize(CENT, rounding=ROUND_HALF_UP)


def card_costs(total: Decimal | None, card_ids: list[int]) -> dict[int, Decimal]:
    """{card id: its share of the order's total}: the total split over the cards the order holds
    (`card_ids`: its cards now and the erased ones its facts remember, so erasing a card moves no
    other card's share) in whole grosze adding up to the total (printing.pricing.allocate), the
    smaller card id taking the odd grosz first. 10.00 zł over 3 cards: 3.34, 3.33, 3.33. A card
    reprinted in a new order leaves this one: the cards left carry the whole invoice, which the
    city paid all the same."""
    ids = sorted(card_ids)
    if not ids:
        return {}
    return dict(zip(ids, pricing.allocate(Decimal(total or 0), [1] * len(ids)), strict=True))


def _promised_days(order, printer_lead: dict[int, int | None], own_lead: int | None) -> int | None:
    quote = order.quote or {}
    days = quote.get("lead_time_days") if isinstance(quote, dict) else None
    if isinstance(days, int) and not isinstance(days, bool):
        return days
    if order.printer_id is None:
        return own_lead
    return printer_lead.get(order.printer_id)


def _card_fact_values(zone: ZoneInfo) -> dict[int, dict]:
    """{card id: the fact's values} for every card of the current school."""
    orders = {o.id: o for o in db.session.execute(select(
        PrintOrder.id, PrintOrder.channel, PrintOrder.printer_id, PrintOrder.submitted_at, PrintOrder.delivered_at,
        PrintOrder.quote, PrintOrder.total_price, PrintOrder.card_count))}
    printer_ids = {o.printer_id for o in orders.values() if o.printer_id is not None}
    printer_lead = dict(db.session.execute(select(Organisation.id, Organisation.lead_time_days).where(
        Organisation.id.in_(sorted(printer_ids)))).all()) if printer_ids else {}
    own_lead = db.session.scalar(select(SchoolPrinter.lead_time_days))
    printed: set[tuple[int, int]] = set()
    rejections: dict[int, int] = {}
    for order_id, card_id, outcome in db.session.execute(
            select(OrderItem.order_id, OrderItem.card_id, OrderItem.outcome)):
        if outcome == ItemOutcome.PRINTED.value:
            printed.add((order_id, card_id))
        elif outcome == ItemOutcome.REJECTED.value:
            rejections[card_id] = rejections.get(card_id, 0) + 1
    cards = db.session.execute(
        select(Card.id, Card.order_id, Card.status, Card.handed_over_on, Application.kind,
               Application.created_at, Application.payment_amount, Application.payment_checked_at)
        .join(Application, and_(Application.id == Card.application_id, Application.school_id == Card.school_id))
        .order_by(Card.id)).all()
    in_order: dict[int, list[int]] = {}  # order id → its cards' ids, erased ones its facts remember
    for card in cards:
        in_order.setdefault(card.order_id, []).append(card.id)
    present = {card.id for card in cards}
    for order_id, card_id in db.session.execute(select(CardFact.order_id, CardFact.card_id)):
        if card_id not in present:
            in_order.setdefault(order_id, []).append(card_id)
    shares = {order_id: card_costs(order.total_price, in_order.get(order_id, []))
              for order_id, order in orders.items()}
    values = {}
    for card in cards:
        order = orders.get(card.order_id)
        if order is None:
            continue
        submitted_on = _local_day(order.submitted_at, zone)
        came = (card.status in DELIVERED_STATUSES or card.handed_over_on is not None
                or (order.id, card.id) in printed)
        fee = Decimal(card.payment_amount or 0).quantize(CENT) \
            if card.kind == ApplicationKind.DUPLICATE.value and card.payment_checked_at is not None else Decimal("0.00")
        values[card.id] = {
            "order_id": order.id, "channel": order.channel, "printer_id": order.printer_id, "kind": card.kind,
            "status": card.status, "applied_on": _min_day(_local_day(card.created_at, zone), submitted_on),
            "submitted_on": submitted_on,
            "delivered_on": _local_day(order.delivered_at, zone) if came else None,
            "handed_over_on": card.handed_over_on,
            "promised_days": _promised_days(order, printer_lead, own_lead),
            "cost": shares[order.id][card.id], "fee": fee,
            "print_rejections": rejections.get(card.id, 0),
        }
    return values


def _upsert_facts(school: Organisation, values: dict[int, dict]) -> int:
    """Insert new facts, update changed ones; never delete (the card may be gone, the fact stays)."""
    existing = {f.card_id: f for f in db.session.scalars(select(CardFact))}
    changed = 0
    for card_id, fields in values.items():
        fact = existing.get(card_id)
        if fact is None:
            db.session.add(CardFact(school_id=school.id, city_id=school.city_id, card_id=card_id, **fields))
            changed += 1
            continue
        for name, value in fields.items():
            if getattr(fact, name) != value:
                setattr(fact, name, value)
                changed += 1
    return changed


def _rebuild_order_facts(school_id: int) -> None:
    """Replace the school's `OrderFacts` with its card facts (all of them, erased cards' too)
    summed up per order and delivery day."""
    db.session.flush()
    db.session.execute(delete(OrderFacts).where(OrderFacts.school_id == school_id))
    keys = (CardFact.school_id, CardFact.city_id, CardFact.order_id, CardFact.channel, CardFact.printer_id,
            CardFact.submitted_on, CardFact.delivered_on, CardFact.promised_days)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    waiting = and_(CardFact.status.in_(LIVE_CARD_STATUSES), CardFact.delivered_on.is_(None))
    summary = (select(*keys, func.count(), func.coalesce(func.sum(CardFact.cost), 0), count(CardFact.fee > 0),
                      func.coalesce(func.sum(CardFact.fee), 0), count(waiting), count(CardFact.status == "spoiled"),
                      count(CardFact.print_rejections > 0))
               .where(CardFact.school_id == school_id).group_by(*keys))
    db.session.execute(insert(OrderFacts).from_select(
        ["school_id", "city_id", "order_id", "channel", "printer_id", "submitted_on", "delivered_on", "promised_days",
         "cards", "cost", "paid", "fees", "live_waiting", "spoiled", "rejected"], summary))


def _forecast(school_id: int, stats: SchoolStats, today: dt.date, zone: ZoneInfo) -> None:
    """Write this school year's entry of the history and the forecasts (reports.forecast)."""
    history = {str(k): v for k, v in (stats.year_history or {}).items()}
    history[str(forecast.running_year(today))] = {"pupils": stats.pupils_active,
                                                  "first_year": stats.forecast_first_year}
    transfers: dict[int, int] = {}
    for (decided,) in db.session.execute(select(PupilTransfer.decided_at).where(
            PupilTransfer.to_school_id == school_id, PupilTransfer.status == TransferStatus.ACCEPTED.value,
            PupilTransfer.decided_at.is_not(None))):
        year = forecast.running_year(_local_day(decided, zone))
        transfers[year] = transfers.get(year, 0) + 1
    duplicates: dict[int, int] = {}
    for applied, n in db.session.execute(select(CardFact.applied_on, func.count()).where(
            CardFact.school_id == school_id, CardFact.kind == ApplicationKind.DUPLICATE.value,
            CardFact.applied_on.is_not(None)).group_by(CardFact.applied_on)):
        year = forecast.running_year(applied)
        duplicates[year] = duplicates.get(year, 0) + n
    stats.year_history = dict(sorted(history.items()))
    stats.forecast = forecast.summary(today, history, transfers, duplicates)


def _hologram_counts() -> dict[str, dict[str, int]]:
    """The school's holograms: {school year: {state: count}}."""
    return {str(year): by_state for year, by_state in sorted(holograms.state_counts(Hologram.school_year).items())}


def refresh_school(school_id: int, now: dt.datetime | None = None) -> SchoolStats:
    """Recompute one school's `SchoolStats` (replacing its row), upsert a `CardFact` for each of
    its cards and rebuild its `OrderFacts`, acting as the school (its row-level security
    applies). Commits."""
    now = now or utcnow()
    zone = _zone()
    db.session.commit()  # a fresh transaction, so it starts with the school's settings
    with tenant_scope(Tenant(school_id=school_id)):
        try:
            if is_postgres(db.session.get_bind()):
                # One refresh of a school at a time (the worker's, `refresh-stats`, a second worker):
                # two at once could each delete the other's uncommitted order facts and both insert.
                # Updating the stats row serialises them too, but only once the row exists.
                db.session.execute(text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), "
                                        "hashint8(CAST(:school AS bigint)))"),
                                   {"space": REFRESH_LOCK_SPACE, "school": school_id})
            school = db.session.get(Organisation, school_id)
            if school is None or school.kind != OrgKind.SCHOOL.value:
                raise LookupError(f"no school {school_id}")
            counts = {**_pupil_counts(), **_application_counts(), **_card_counts()}
            stats = db.session.scalar(select(SchoolStats)) or SchoolStats(school_id=school.id)
            stats.city_id, stats.computed_at = school.city_id, now
            for name, value in counts.items():
                setattr(stats, name, value)
            stats.hologram_counts = _hologram_counts()
            db.session.add(stats)
            _upsert_facts(school, _card_fact_values(zone))
            _rebuild_order_facts(school.id)  # flushes the facts the forecast counts
            _forecast(school.id, stats, _local_day(now, zone), zone)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return stats


def _refresh(school_ids: list[int], now: dt.datetime | None) -> int:
    """Refresh each school; one failing school does not stop the others. Returns how many succeeded."""
    done = 0
    for school_id in school_ids:
        try:
            refresh_school(school_id, now)
            done += 1
        except Exception:
            log.exception("statistics refresh failed for school %s", school_id)
    return done


def _schools(*where) -> list[int]:
    ids = list(db.session.scalars(select(Organisation.id).where(
        Organisation.kind == OrgKind.SCHOOL.value, *where).order_by(Organisation.id)))
    db.session.commit()
    return ids


def refresh_city(city_id: int, now: dt.datetime | None = None) -> int:
    """Refresh every school of the city; returns how many schools were refreshed."""
    return _refresh(_schools(Organisation.city_id == city_id), now)


def refresh_all(now: dt.datetime | None = None) -> int:
    """Refresh every school of every city (the worker, the CLI, the demo seed)."""
    return _refresh(_schools(), now)
