"""Centralisation scenarios (issue 17, docs/city.md "Scenariusze centralizacji"): this school year's
real orders of the city's schools against the options the city is weighing.

    status quo       what the city really paid for the real orders (reports.real_cost.real_costs:
                     invoices; the centre and schools' own printers at c_in × cards + their share of
                     the calendar year's fixed cost)
    city-wide order  the same cards pooled into the orders of the plan (one on 1 September, two on
                     1 September and 1 February, or one on the 1st of every month; or the city's own
                     dates): a school's order joins the first pooled order on or after its day (one
                     placed after the year's last pooled order waits for the first one of the next
                     year, same day and month). Each pooled order is priced at each external
                     printer by its tier schedule valid on the pooled day, with the season surcharge
                     when that day is in the printer's season, and parcels × shipping to one address
                     (printing.pricing.external_price, the same math as a quote); the cheapest printer
                     that can price every pooled order is marked. Taking the cards to the schools is
                     not priced.
    city print centre  the pooled volume V printed in the centre at its real cost,
                     c_in × V + F (reports.real_cost.in_house_year, F of the calendar year the school
                     year starts in); the centre prints each school's order as it comes, so nothing
                     waits for a pooled order.

Per school: the status quo is the school's own orders' real cost; a pooled order's total is shared
among its schools by their cards, and the centre's F among all schools by their cards
(printing.pricing.allocate: whole grosze adding up to the total). Per card = total ÷ cards,
rounded half up for showing (the costs helper's rounding rule).

Lead time (days from order to card), weighted by cards: status quo = the school's order day to the
day the school confirmed delivery, for delivered orders (the others are counted, not guessed);
pooled = the days a school's order waits for its pooled order + the printer's lead time (its
terms, or the form's); the centre = its lead time (profile, or the form's). A school's real order
day stands for the day it needed the cards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import ROUND_HALF_UP
from decimal import Decimal

from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from printing import pricing
from printing.models import Channel
from printing.models import PrintOrder
from printing.pricing import CostProfile
from printing.pricing import Terms
from printing.pricing import Tier
from reports import costs
from reports import queries
from reports import real_cost
from reports.filters import school_year_period

ZERO = pricing.ZERO
PLANS = {"1": "jedno zamówienie (1 września)", "2": "dwa zamówienia (1 września i 1 lutego)",
         "12": "co miesiąc (1. dnia miesiąca)"}
MAX_DATES = 12


def plan_dates(plan: str, start_year: int) -> tuple[dt.date, ...]:
    """The pooled orders' days of a plan in the school year starting in September of `start_year`."""
    if plan == "1":
        return (dt.date(start_year, 9, 1),)
    if plan == "2":
        return (dt.date(start_year, 9, 1), dt.date(start_year + 1, 2, 1))
    return tuple(dt.date(start_year + (m < 9), m, 1) for m in (9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8))


@dataclasses.dataclass(frozen=True)
class Demand:
    """One real order of the school year: who, when, how many, what it really cost, when delivered."""

    school_id: int
    day: dt.date
    cards: int
    paid: Decimal
    delivered: dt.date | None = None


def pooled_day(day: dt.date, dates: Sequence[dt.date]) -> tuple[dt.date, int]:
    """(the pooled order an order of `day` joins, days it waits): the first of `dates` (sorted) on or
    after `day`, else the first one a year later."""
    for pooled in dates:
        if pooled >= day:
            return pooled, (pooled - day).days
    first = dates[0]
    return first, (first.replace(year=first.year + 1) - day).days


def average_days(pairs: Sequence[tuple[int, int]]) -> Decimal | None:
    """Σ days × cards ÷ Σ cards, to 0.1 day (None without cards)."""
    cards = sum(c for _, c in pairs)
    if not cards:
        return None
    return (Decimal(sum(d * c for d, c in pairs)) / cards).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class SchoolLine:
    school_id: int
    cards: int
    total: Decimal | None
    lead_days: Decimal | None

    @property
    def per_card(self) -> Decimal | None:
        return None if self.total is None else real_cost.per_card(self.total, self.cards)


@dataclasses.dataclass(frozen=True)
class PooledOrder:
    day: dt.date
    cards: int
    schools: int
    in_season: bool
    unit_price: Decimal | None = None
    surcharge: Decimal = ZERO
    shipping: Decimal = ZERO
    total: Decimal | None = None


@dataclasses.dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    cards: int
    orders: int
    total: Decimal | None  # None: the option cannot price these cards (`note`)
    lead_days: Decimal | None
    schools: tuple[SchoolLine, ...] = ()
    pooled: tuple[PooledOrder, ...] = ()
    surcharge: Decimal = ZERO
    shipping: Decimal = ZERO
    fixed: Decimal = ZERO
    note: str = ""
    cheapest: bool = False

    @property
    def per_card(self) -> Decimal | None:
        return None if self.total is None else real_cost.per_card(self.total, self.cards)

    @property
    def off_season(self) -> Decimal | None:
        """The same pooled orders without the season surcharge (as if placed out of season)."""
        return None if self.total is None else self.total - self.surcharge


def status_quo(demands: Sequence[Demand], today: dt.date) -> Scenario:
    by_school: dict[int, list[Demand]] = {}
    for d in demands:
        by_school.setdefault(d.school_id, []).append(d)
    lines = []
    for school_id, orders in sorted(by_school.items()):
        lines.append(SchoolLine(school_id, sum(o.cards for o in orders), sum((o.paid for o in orders), ZERO),
                                average_days([((o.delivered - o.day).days, o.cards) for o in orders if o.delivered])))
    waiting = sum(d.cards for d in demands if d.delivered is None)
    waiting_words = inputs.plural(waiting, "karta jeszcze niedoręczona", "karty jeszcze niedoręczone",
                                  "kart jeszcze niedoręczonych")
    note = (f"{inputs.format_number(waiting)} {waiting_words} (stan na {inputs.format_day(today)}) — czas oczekiwania "
            f"liczony bez nich.") if waiting else ""
    return Scenario(key="status_quo", name="Stan obecny (zamówienia szkół)",
                    cards=sum(d.cards for d in demands), orders=len(demands),
                    total=sum((d.paid for d in demands), ZERO),
                    lead_days=average_days([((d.delivered - d.day).days, d.cards) for d in demands if d.delivered]),
                    schools=tuple(lines), note=note)


@dataclasses.dataclass(frozen=True)
class Pool:
    """The year's orders pooled on the plan's days (worked out once for every printer): each pooled
    day's schools (by id) and their cards, and each school's cards and card-days waited."""

    days: tuple[tuple[dt.date, tuple[int, ...], tuple[int, ...]], ...]  # (day, school ids, their cards)
    waits: Mapping[int, tuple[int, int]]  # school → (Σ days waited × cards, cards)


def pool(demands: Sequence[Demand], dates: Sequence[dt.date]) -> Pool:
    """Each order joins its pooled day (`pooled_day`)."""
    dates = sorted(dates)
    by_day: dict[dt.date, dict[int, int]] = {}
    waits: dict[int, tuple[int, int]] = {}
    for d in demands:
        day, wait = pooled_day(d.day, dates)
        schools = by_day.setdefault(day, {})
        schools[d.school_id] = schools.get(d.school_id, 0) + d.cards
        waited, cards = waits.get(d.school_id, (0, 0))
        waits[d.school_id] = (waited + wait * d.cards, cards + d.cards)
    days = tuple((day, tuple(sorted(schools)), tuple(schools[s] for s in sorted(schools)))
                 for day, schools in sorted(by_day.items()))
    return Pool(days, waits)


def _average(card_days: int, cards: int) -> Decimal | None:
    """Σ days × cards ÷ cards, to 0.1 day (None without cards)."""
    return None if not cards else (Decimal(card_days) / cards).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def city_wide(name: str, key: str, tiers: Sequence[Tier], terms: Terms, pooled: Pool,
              lead_days: int | None = None) -> Scenario:
    """The year's cards pooled (`pool`) at one external printer (module doc): each pooled order
    priced on its day, its total shared among its schools by their cards; lead time = days waited
    + the printer's lead time, per card."""
    lead = terms.lead_time_days if lead_days is None else lead_days
    working = terms.lead_time_working and lead_days is None  # the form's figure is calendar days
    lead_card_days: dict[int, int] = {}  # school → Σ the printer's days to the card × cards
    for day, ids, cards in pooled.days:
        days_to_card = (pricing.due_day(day, lead, working) - day).days
        for s, c in zip(ids, cards, strict=True):
            lead_card_days[s] = lead_card_days.get(s, 0) + days_to_card * c
    totals: dict[int, Decimal] = {}
    orders, surcharge, shipping, total, note = [], ZERO, ZERO, ZERO, ""
    for day, ids, cards in pooled.days:
        quantity = sum(cards)
        seasonal = pricing.in_season(day, terms.season_from, terms.season_until)
        try:
            price = pricing.external_price(tiers, terms, quantity, day)
        except pricing.NoPriceError:
            note = note or (f"brak ceny dla zamówienia {inputs.counted(quantity, 'karty', 'kart', 'kart')} "
                           f"z dnia {inputs.format_day(day)}")
            orders.append(PooledOrder(day, quantity, len(ids), seasonal))
            continue
        orders.append(PooledOrder(day, quantity, len(ids), seasonal, price.unit_price, price.surcharge_total,
                                  price.shipping, price.total))
        surcharge, shipping, total = surcharge + price.surcharge_total, shipping + price.shipping, total + price.total
        for s, share in zip(ids, pricing.allocate(price.total, cards), strict=True):
            totals[s] = totals.get(s, ZERO) + share
    priced = not note
    lines = tuple(SchoolLine(s, cards, totals.get(s) if priced else None,
                             _average(waited + lead_card_days.get(s, 0), cards))
                  for s, (waited, cards) in sorted(pooled.waits.items()))
    all_cards = sum(c for _, c in pooled.waits.values())
    return Scenario(key=key, name=name, cards=all_cards, orders=len(orders), total=total if priced else None,
                    lead_days=_average(sum(w for w, _ in pooled.waits.values()) + sum(lead_card_days.values()),
                                       all_cards),
                    schools=lines, pooled=tuple(orders), surcharge=surcharge, shipping=shipping, note=note)


def centre(name: str, key: str, profile: CostProfile, demands: Sequence[Demand], year: int,
           lead_days: int | None = None) -> Scenario:
    """The pooled volume in the city print centre at its real cost (module doc)."""
    lead = profile.lead_time_days if lead_days is None else lead_days
    by_school: dict[int, int] = {}
    for d in demands:
        by_school[d.school_id] = by_school.get(d.school_id, 0) + d.cards
    ids = sorted(by_school)
    year_cost = real_cost.in_house_year(profile, sum(by_school.values()), year)
    c_in = pricing.marginal_per_card(profile)
    shares = pricing.allocate(year_cost.fixed, [by_school[s] for s in ids])
    lines = tuple(SchoolLine(s, by_school[s], c_in * by_school[s] + share, Decimal(lead).quantize(Decimal("0.1")))
                  for s, share in zip(ids, shares, strict=True))
    return Scenario(key=key, name=name, cards=year_cost.cards, orders=len(demands), total=year_cost.real,
                    lead_days=Decimal(lead).quantize(Decimal("0.1")) if demands else None, schools=lines,
                    fixed=year_cost.fixed)


@dataclasses.dataclass(frozen=True)
class Assumptions:
    start_year: int  # the school year from September of this year
    plan: str  # a key of PLANS, or "" for the city's own dates
    dates: tuple[dt.date, ...]
    printer_lead_days: int | None = None  # None: each printer's own terms
    centre_lead_days: int | None = None  # None: the centre's profile

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        return dt.date(self.start_year, 9, 1), dt.date(self.start_year + 1, 8, 31)


def default_assumptions(today: dt.date | None = None) -> Assumptions:
    start = school_year_period(today or clock.today())[0].year
    return Assumptions(start_year=start, plan="2", dates=plan_dates("2", start))


@dataclasses.dataclass(frozen=True)
class Comparison:
    assumptions: Assumptions
    status_quo: Scenario
    pooled: tuple[Scenario, ...]  # one per external printer, cheapest marked
    centres: tuple[Scenario, ...]
    school_names: Mapping[int, str]

    @property
    def cheapest(self) -> Scenario | None:
        return next((s for s in self.pooled if s.cheapest), None)


def compare(demands: Sequence[Demand], options: Sequence[costs.ChannelOption], a: Assumptions,
            school_names: Mapping[int, str], today: dt.date) -> Comparison:
    """Every scenario for `demands` (the school year's real orders) under the assumptions `a`."""
    pooled, orders = [], pool(demands, a.dates)
    for o in options:
        if o.kind == costs.PRICE_LIST and o.channel == Channel.EXTERNAL.value:
            pooled.append(city_wide(o.name, o.key, o.tiers, o.terms or Terms(), orders, a.printer_lead_days))
    priced = [s for s in pooled if s.total is not None and s.cards]
    if priced:
        best = min(priced, key=lambda s: (s.total, s.name))
        pooled = [dataclasses.replace(s, cheapest=True) if s is best else s for s in pooled]
    pooled.sort(key=lambda s: (s.total is None, s.total or ZERO, s.name))
    centres = tuple(centre(o.name, o.key, o.profile, demands, a.start_year, a.centre_lead_days)
                    for o in options if o.kind == costs.CENTRE_COST and o.profile is not None)
    return Comparison(a, status_quo(demands, today), tuple(pooled), centres, school_names)


# --- loader (under the city's tenant) ------------------------------------------------------------


def demands(city_id: int, start_year: int) -> list[Demand]:
    """The city's placed orders of the school year from September of `start_year`, each with its
    real cost (real_cost.real_costs over both calendar years' orders, so an in-house order carries
    its share of its year's fixed cost) and the day its school confirmed delivery."""
    first, last = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    placed = real_cost.placed_orders(city_id, year=start_year) + real_cost.placed_orders(city_id, year=start_year + 1)
    in_house = [o for o in placed if o.channel in real_cost.IN_HOUSE]  # an external order's real cost: its invoice
    channels = {o.channel for o in in_house}
    paid = real_cost.real_costs(
        in_house, real_cost.centre_profiles(city_id) if Channel.CITY_CENTRE.value in channels else {},
        real_cost.own_profiles(city_id) if Channel.OWN.value in channels else {}) if in_house else {}
    mine = [o for o in placed if o.day is not None and first <= o.day <= last and o.cards]
    delivered = {}
    if mine:
        zone = clock.zone()
        rows = db.session.execute(select(PrintOrder.id, PrintOrder.delivered_at).where(
            PrintOrder.city_id == city_id, PrintOrder.delivered_at.is_not(None),
            PrintOrder.submitted_at >= dt.datetime(start_year, 8, 30, tzinfo=dt.UTC),
            PrintOrder.submitted_at < dt.datetime(start_year + 1, 9, 2, tzinfo=dt.UTC)))
        delivered = {r[0]: _local_day(r[1], zone) for r in rows}
    return [Demand(o.school_id, o.day, o.cards, paid[o.order_id].total if o.order_id in paid else o.billed,
                   delivered.get(o.order_id))
            for o in sorted(mine, key=lambda o: (o.day, o.order_id))]


def city_comparison(city_id: int, a: Assumptions) -> Comparison:
    names = {s.id: s.name for s in queries.city_schools(city_id)}
    return compare(demands(city_id, a.start_year), costs.channel_options(city_id), a, names, clock.today())


def _local_day(value: dt.datetime, zone) -> dt.date:
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).date()
