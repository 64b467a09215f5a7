"""The city's card facts summed up by the database, so a page reads a few hundred grouped rows
instead of every card of the period (reports.dashboard builds its tables from them).

Two groupings, both for the city's schools under `Filters` (type, district) and its period:

- `Ordered`: the cards whose order was placed in the period (`submitted_on`), grouped as a
  table needs them: by school, by month and channel, or by printer and the order's making time
  (order → delivery, in days); a page asks once per grouping. Read from
  `order_facts` (the card facts summed up per order at each refresh, reports.statistics), so
  the database adds up a few hundred rows, not every card. Each group carries the counts and
  sums every table needs: cards, cost, paid duplicates and their fees, punctuality (judged, on
  time), delivered, spoiled and printer-rejected cards.
- `Handed`: the cards handed over in the period (`handed_over_on`) counted per waiting days
  (application → handover), all together, per school or per printer: a histogram, from which
  `percentile` gives exactly what PostgreSQL's `percentile_cont` gives over the single values.

The same SQL runs on PostgreSQL and SQLite (`day_diff` is the one construct that differs).
Definitions of the fact columns: reports.statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import extract
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from infra.db import db
from reports.filters import Filters
from reports.models import CardFact
from reports.models import OrderFacts
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

ZERO = Decimal("0.00")


class day_diff(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """`day_diff(end, start)`: whole calendar days from `start` to `end` (NULL if either is)."""

    type = Integer()
    inherit_cache = True
    name = "day_diff"


@compiles(day_diff)
def _day_diff(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"({end} - {start})"  # PostgreSQL: date − date is an integer


@compiles(day_diff, "sqlite")
def _day_diff_sqlite(element, compiler, **kw):
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


def between(column, f: Filters):
    """The facts a period applies to by `column`: all (even without the day) when the period is
    open at both ends, otherwise those whose day is known and inside it (`Filters.covers`)."""
    if f.date_from is None and f.date_to is None:
        return literal(True)
    clauses = [column.is_not(None)]
    if f.date_from is not None:
        clauses.append(column >= f.date_from)
    if f.date_to is not None:
        clauses.append(column <= f.date_to)
    return and_(*clauses)


def handed_between(f: Filters):
    return and_(CardFact.handed_over_on.is_not(None), between(CardFact.handed_over_on, f))


def of_schools(table, city_id: int, f: Filters) -> list:
    """The rows of `table` (CardFact, OrderFacts) of the city's current schools of the filters'
    type and district (a school that moved to another city keeps its old facts' city_id)."""
    schools = select(Organisation.id).where(Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == city_id)
    if f.school_type:
        schools = schools.where(Organisation.school_type == f.school_type)
    if f.district:
        schools = schools.where(Organisation.district == f.district)
    return [table.city_id == city_id, table.school_id.in_(schools)]


def _today(f: Filters):
    return literal(f.today, Date)


def judged(f: Filters):
    """For a card fact: 1 when its punctuality is known on `f.today`, else 0. A card is on time
    when it was delivered within the promised days of its order (`on_time`) and late when
    delivered after them, or when it is live (not spoiled or invalidated), undelivered, and the
    promise has passed; while the promise still runs, or without one, it is not judged."""
    live = CardFact.status.in_(LIVE_CARD_STATUSES)
    return case((or_(CardFact.promised_days.is_(None), CardFact.submitted_on.is_(None)), 0),
                (CardFact.delivered_on.is_not(None), 1),
                (and_(live, day_diff(_today(f), CardFact.submitted_on) > CardFact.promised_days), 1), else_=0)


def on_time():
    """For a card fact: 1 when it was delivered within its order's promised days; else 0."""
    return case((and_(CardFact.promised_days.is_not(None), CardFact.submitted_on.is_not(None),
                      CardFact.delivered_on.is_not(None),
                      day_diff(CardFact.delivered_on, CardFact.submitted_on) <= CardFact.promised_days), 1), else_=0)


class Ordered(NamedTuple):
    """Cards of orders placed in the period, one group (see the module's docstring); the fields
    `ordered` did not group by are None."""

    school_id: int | None
    channel: str | None
    printer_id: int | None
    month: str | None  # rrrr-mm of the order ("" when the order has no day)
    making: int | None  # days from the order to its delivery, for delivered cards
    cards: int
    cost: Decimal
    paid: int
    fees: Decimal
    judged: int
    on_time: int
    delivered: int
    spoiled: int
    rejected: int


class Handed(NamedTuple):
    """Cards handed over in the period with the same waiting time (None: application day
    unknown), for one school, one printer, or all (the fields not grouped by are None)."""

    school_id: int | None
    channel: str | None
    printer_id: int | None
    days: int | None
    cards: int


CENT = Decimal("0.01")


def _decimal(value) -> Decimal:
    """A sum of grosze as Decimal zł (both databases give Decimal for Numeric sums; None is 0)."""
    if type(value) is Decimal and value.as_tuple().exponent == -2:
        return value
    return Decimal(str(value or 0)).quantize(CENT)


# Always grouped by something: an aggregate without GROUP BY gives one row of NULLs for no orders.
ORDERED_BY = {"school": ("school_id",), "month": ("month", "channel"),
              "printer": ("channel", "printer_id", "making")}


def ordered(city_id: int, f: Filters, by: str) -> list[Ordered]:
    """The cards of orders placed in the period, from the order facts (one row per order and
    delivery day), summed up per `by` (ORDERED_BY: per school, per month and
    channel, per printer and making time); the fields not grouped by are None."""
    o = OrderFacts
    known = and_(o.promised_days.is_not(None), o.submitted_on.is_not(None))
    came = o.delivered_on.is_not(None)
    making = day_diff(o.delivered_on, o.submitted_on)
    judged_cards = case((~known, 0), (came, o.cards),
                        (day_diff(_today(f), o.submitted_on) > o.promised_days, o.live_waiting), else_=0)
    on_time_cards = case((and_(known, came, making <= o.promised_days), o.cards), else_=0)
    columns = {"school_id": (o.school_id,), "channel": (o.channel,), "printer_id": (o.printer_id,),
               "month": (extract("year", o.submitted_on), extract("month", o.submitted_on)), "making": (making,)}
    names = ORDERED_BY[by]
    keys = [column for name in names for column in columns[name]]
    stmt = (select(*keys, func.sum(o.cards), func.sum(o.cost), func.sum(o.paid), func.sum(o.fees),
                   func.sum(judged_cards), func.sum(on_time_cards), func.sum(case((came, o.cards), else_=0)),
                   func.sum(o.spoiled), func.sum(o.rejected))
            .where(*of_schools(o, city_id, f), between(o.submitted_on, f)).group_by(*keys))
    groups = []
    for row in db.session.execute(stmt):
        fields = dict.fromkeys(("school_id", "channel", "printer_id", "month", "making"))
        at = 0
        for name in names:
            if name == "month":  # rrrr-mm ("" when the order has no day)
                year, month = row[at], row[at + 1]
                fields["month"] = f"{int(year):04d}-{int(month):02d}" if year is not None else ""
                at += 2
            else:
                fields[name] = row[at]
                at += 1
        cards, cost, paid, fees, judged_, on_time_, delivered, spoiled, rejected = row[at:]
        groups.append(Ordered(**fields, cards=int(cards), cost=_decimal(cost), paid=int(paid), fees=_decimal(fees),
                              judged=int(judged_), on_time=int(on_time_), delivered=int(delivered),
                              spoiled=int(spoiled), rejected=int(rejected)))
    return groups


def spent_by_year(city_id: int) -> dict[int, tuple[int, Decimal]]:
    """{calendar year: (cards, their cost)} of every order the city's schools placed."""
    year = extract("year", OrderFacts.submitted_on)
    return {int(y): (int(n), _decimal(cost)) for y, n, cost in db.session.execute(
        select(year, func.sum(OrderFacts.cards), func.sum(OrderFacts.cost)).where(
            OrderFacts.city_id == city_id, OrderFacts.submitted_on.is_not(None)).group_by(year))}


HANDED_BY = {"all": (), "school": ("school_id",), "printer": ("channel", "printer_id")}


def handed(city_id: int, f: Filters, by: str = "all") -> list[Handed]:
    """The histogram of waiting days of the cards handed over in the period, per `by`
    (HANDED_BY: all together, per school, per printer)."""
    days = day_diff(CardFact.handed_over_on, CardFact.applied_on)
    keys = [getattr(CardFact, name) for name in HANDED_BY[by]]
    stmt = (select(*keys, days, func.count()).where(*of_schools(CardFact, city_id, f), handed_between(f))
            .group_by(*keys, days))
    rows = db.session.execute(stmt).all()
    if by == "school":
        return [Handed(school_id, None, None, d, n) for school_id, d, n in rows]
    if by == "printer":
        return [Handed(None, channel, printer_id, d, n) for channel, printer_id, d, n in rows]
    return [Handed(None, None, None, d, n) for d, n in rows]


def percentile(pairs: Iterable[tuple[int | float, int]], q: float) -> float | None:
    """The q-quantile of values given as (value, how many times) pairs, interpolating linearly
    between the closest ranks as PostgreSQL's `percentile_cont` does; one decimal. None values
    are left out."""
    counts: dict = {}
    for value, n in pairs:
        if value is not None and n:
            counts[value] = counts.get(value, 0) + n
    total = sum(counts.values())
    if not total:
        return None
    pos = (total - 1) * q
    ranks = (math.floor(pos), math.ceil(pos))
    found: list = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and ranks[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    low, high = found
    return round(low + (high - low) * (pos - ranks[0]), 1)
