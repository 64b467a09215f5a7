"""What the city really pays for its cards (docs/city.md "What the city really pays",
docs/domain.md §13): the one function every page and export asks, so that the same cards cost
the same on every page, to the grosz.

Per order (a placed print order of one school):

    external printer   the invoice: its gross amount once the printer has recorded it
                       (printing.fulfilment), until then the frozen quote's total (tier price
                       valid on the order day + season surcharge + shipping,
                       printing.pricing.external_price)
    city print centre  c_in × cards + the order's share of the centre's fixed cost of that year
    own printer        c_in × cards + the order's share of the school printer's fixed cost

c_in and F are printing.pricing.marginal_per_card and fixed_per_year of the printer's cost
profile (the centre's CentreCostProfile, the school's SchoolPrinter). The fixed cost F of a
calendar year is attributed to the cards printed on that printer in that year: each order gets
F × its cards ÷ the year's cards, in grosze that add up to F exactly (printing.pricing.allocate,
largest remainder). So a year's in-house total is c_in × V + F whatever it is cut into, and the
cost per card falls as the year goes on (F ÷ V: 5,400 zł over 39 cards is 138.46 zł a card). A
year in which the printer printed no card has no card to carry F: it is shown beside the totals
(`unattributed_fixed`, "koszty stałe bez kart"), never folded into a card's price.

An in-house order without a cost profile (the centre or school never entered one) costs what its
quote froze — its internal price — and is counted in `unpriced`.

The rounding rule, everywhere: each order's amounts are rounded to the grosz half up (c_in is a
rounded grosz amount, so c_in × cards is exact; F's shares are whole grosze), totals are sums of
orders' rounded amounts, and a cost per card is a total ÷ its cards rounded half up for showing,
never summed further.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import pricing
from printing.models import CentreCostProfile
from printing.models import Channel
from printing.models import OrderStatus
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from printing.pricing import CostProfile
from printing.pricing import money

ZERO = pricing.ZERO
IN_HOUSE = (Channel.CITY_CENTRE.value, Channel.OWN.value)


class PlacedOrder(NamedTuple):
    """A placed order as the city sees it: cards, the day it was placed, what its quote froze
    (`invoiced`, the order's price) and the invoice's gross amount once recorded (a tuple: a city
    reads a few thousand a page)."""

    order_id: int
    school_id: int
    channel: str
    printer_id: int | None
    day: dt.date | None
    cards: int
    invoiced: Decimal
    invoice: Decimal | None = None

    @property
    def billed(self) -> Decimal:
        """What the printer bills: the recorded invoice, else the frozen quote."""
        return self.invoiced if self.invoice is None else self.invoice


class OrderCost(NamedTuple):
    """One order's real cost: `variable` (the invoice, or c_in × cards) + `fixed` (its share of
    the in-house printer's F); `invoiced` is what the quote froze (for the centre: its internal
    price list)."""

    invoiced: Decimal
    variable: Decimal
    fixed: Decimal = ZERO
    priced: bool = True  # False: an in-house order without a cost profile (costs its quote)

    @property
    def total(self) -> Decimal:
        return self.variable + self.fixed


@dataclasses.dataclass(frozen=True)
class Totals:
    """A set of orders' cards, invoices (internal prices included) and real cost."""

    cards: int = 0
    invoiced: Decimal = ZERO
    real: Decimal = ZERO
    fixed: Decimal = ZERO

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.cards + other.cards, self.invoiced + other.invoiced, self.real + other.real,
                      self.fixed + other.fixed)

    @property
    def per_card(self) -> Decimal | None:
        return per_card(self.real, self.cards)

    @property
    def invoiced_per_card(self) -> Decimal | None:
        return per_card(self.invoiced, self.cards)


def per_card(total: Decimal, cards: int) -> Decimal | None:
    """A total ÷ its cards, rounded half up for showing (None without cards)."""
    return money(total / cards) if cards else None


def printer_key(order: PlacedOrder) -> tuple | None:
    """Which in-house printer's fixed cost the order shares: the centre (by printer) or the
    school's own printer (by school); None for an external printer."""
    if order.channel == Channel.CITY_CENTRE.value:
        return ("centre", order.printer_id)
    if order.channel == Channel.OWN.value:
        return ("own", order.school_id)
    return None


def real_costs(orders: Iterable[PlacedOrder], centres: Mapping[int, CostProfile],
               own: Mapping[int, CostProfile]) -> dict[int, OrderCost]:
    """{order id: what the city really pays for it} (see the module doc). `orders` must hold every
    order of each in-house printer's year (the fixed cost is shared among them all)."""
    costs: dict[int, OrderCost] = {}
    years: dict[tuple, list[PlacedOrder]] = {}
    for order in orders:
        key = printer_key(order)
        profile = None if key is None else (centres if key[0] == "centre" else own).get(key[1])
        if key is None:  # an external printer: its invoice
            costs[order.order_id] = OrderCost(order.invoiced, order.billed)
        elif profile is None:  # in-house without a cost profile: what it billed, marked unpriced
            costs[order.order_id] = OrderCost(order.invoiced, order.billed, priced=False)
        else:
            year = order.day.year if order.day else None
            years.setdefault((key, year), []).append(order)
    for (key, year), group in years.items():
        profile = (centres if key[0] == "centre" else own)[key[1]]
        c_in = pricing.marginal_per_card(profile)
        group.sort(key=lambda o: o.order_id)
        fixed = pricing.fixed_per_year(profile, year) if year is not None else ZERO
        shares = pricing.allocate(fixed, [o.cards for o in group])
        for order, share in zip(group, shares, strict=True):  # c_in is in grosze: c_in × cards is exact
            costs[order.order_id] = OrderCost(order.invoiced, c_in * order.cards, share)
    return costs


def unattributed_fixed(orders: Iterable[PlacedOrder], profiles: Mapping[tuple, CostProfile],
                       years: Iterable[int]) -> dict[tuple, dict[int, Decimal]]:
    """{printer key: {year: F}} for each in-house printer (`profiles` by printer_key) and year of
    `years` in which it printed no card: the fixed cost no card carries."""
    printed = {(printer_key(o), o.day.year) for o in orders if o.day is not None and o.cards}
    out: dict[tuple, dict[int, Decimal]] = {}
    for key, profile in profiles.items():
        for year in years:
            if (key, year) not in printed:
                fixed = pricing.fixed_per_year(profile, year)
                if fixed:
                    out.setdefault(key, {})[year] = fixed
    return out


def in_house_year(profile: CostProfile, cards: int, year: int | None = None) -> Totals:
    """A year of `cards` cards on an in-house printer, priced the same way as real orders:
    c_in × cards + F (with no card, F alone)."""
    fixed = pricing.fixed_per_year(profile, year)
    return Totals(cards=cards, real=money(pricing.marginal_per_card(profile) * cards) + fixed, fixed=fixed)


# --- loaders (under the city's tenant) ---------------------------------------------------------


_PROFILE_FIELDS = [f.name for f in dataclasses.fields(CostProfile)]


def _profiles(model, key, city_id: int) -> dict[int, CostProfile]:
    """{key: cost profile} of `model`'s rows of the city, read as plain columns (no ORM objects)."""
    rows = db.session.execute(select(key, *(getattr(model, f) for f in _PROFILE_FIELDS)).where(
        model.city_id == city_id))
    return {r[0]: CostProfile(**{f: v for f, v in zip(_PROFILE_FIELDS, r[1:], strict=True) if v is not None})
            for r in rows}


def centre_profiles(city_id: int) -> dict[int, CostProfile]:
    """The city's print centres' cost profiles, by printer id."""
    return _profiles(CentreCostProfile, CentreCostProfile.printer_id, city_id)


def own_profiles(city_id: int) -> dict[int, CostProfile]:
    """The city's schools' own printers' cost profiles, by school id."""
    return _profiles(SchoolPrinter, SchoolPrinter.school_id, city_id)


_PLACED = [s.value for s in OrderStatus if s is not OrderStatus.DRAFT]


def placed_orders(city_id: int, channels: Iterable[str] | None = None, year: int | None = None,
                  school_id: int | None = None, *, invoiced_only: bool = False) -> list[PlacedOrder]:
    """The city's placed orders (any status but draft): the day each was placed is the day of its
    submission in the city's time zone, as the order facts say (reports.statistics), so every page
    puts an order in the same month and year; `channels`, `year`, `school_id` narrow them, and
    `invoiced_only` to those whose invoice is recorded."""
    stmt = (select(PrintOrder.id, PrintOrder.school_id, PrintOrder.channel, PrintOrder.printer_id,
                   PrintOrder.submitted_at, PrintOrder.card_count, PrintOrder.total_price, PrintOrder.invoice_gross)
            .where(PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED)))
    if invoiced_only:
        stmt = stmt.where(PrintOrder.invoice_gross.is_not(None))
    if channels is not None:
        stmt = stmt.where(PrintOrder.channel.in_(list(channels)))
    if school_id is not None:
        stmt = stmt.where(PrintOrder.school_id == school_id)
    if year is not None:  # a day either side in UTC; the local day decides below
        stmt = stmt.where(PrintOrder.submitted_at >= dt.datetime(year - 1, 12, 31, tzinfo=dt.UTC),
                          PrintOrder.submitted_at < dt.datetime(year + 1, 1, 2, tzinfo=dt.UTC))
    zone = clock.zone()
    orders = [PlacedOrder(r[0], r[1], r[2], r[3], _local_day(r[4], zone), r[5] or 0, _grosze(r[6]),
                          None if r[7] is None else _grosze(r[7]))
              for r in db.session.execute(stmt)]
    return [o for o in orders if year is None or (o.day is not None and o.day.year == year)]


def _grosze(value) -> Decimal:
    """A Numeric(…, 2) column's value as zł (already in grosze; rounded only if it is not)."""
    if type(value) is Decimal and value.as_tuple().exponent == -2:
        return value
    return money(value or 0)


def _local_day(value: dt.datetime | None, zone) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).date()


@dataclasses.dataclass(frozen=True)
class CityCosts:
    """The city's orders whose real cost differs from their price (all years): every in-house
    order, and every external order whose invoice is recorded — what a page adds to the sums of
    prices it reads (reports.statistics' order facts hold the orders' prices)."""

    orders: tuple[PlacedOrder, ...]
    costs: Mapping[int, OrderCost]

    def adjustment(self, order: PlacedOrder) -> Decimal:
        """Real − price for one order (an external one: its invoice − its quote)."""
        cost = self.costs[order.order_id]
        return cost.total - cost.invoiced

    @property
    def unpriced(self) -> int:
        return sum(1 for c in self.costs.values() if not c.priced)


def city_costs(city_id: int) -> CityCosts:
    """Every in-house order of the city with its real cost, and every external one with its
    invoice (read once per page; the profiles only of the channels that have orders)."""
    orders = tuple(placed_orders(city_id, IN_HOUSE)) + tuple(
        o for o in placed_orders(city_id, [Channel.EXTERNAL.value], invoiced_only=True) if o.invoice != o.invoiced)
    channels = {o.channel for o in orders}
    centres = centre_profiles(city_id) if Channel.CITY_CENTRE.value in channels else {}
    own = own_profiles(city_id) if Channel.OWN.value in channels else {}
    return CityCosts(orders, real_costs(orders, centres, own) if orders else {})
