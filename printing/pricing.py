"""Price math shared by order quotes (printing.quotes) and the city's cost model (reports.costs).

Everything here that computes is pure: plain dataclasses in, `Decimal` zł out, no database. The
few loaders at the bottom turn ORM rows into those dataclasses. Money is rounded to grosze with
ROUND_HALF_UP, and only where a person would round: a unit price, a line of an order, a total.

External printers (docs/domain.md §10, §13)
    unit price  = the tier valid on the order date with the highest `min_quantity` ≤ quantity
    surcharge   = `season_surcharge` per card when the order date falls in the printer's
                  high-season window (`season_from`–`season_until`, "MM-DD", both days
                  included; a window whose start is after its end crosses New Year)
    shipping    = parcels × `shipping_price`, parcels = ⌈quantity ÷ parcel_capacity⌉, or 1 when
                  the printer did not say how many cards a parcel takes (capacity 0)
    total       = quantity × unit + quantity × surcharge + shipping     (gross: tier prices are)
    net, VAT    = net = total ÷ (1 + vat_rate/100), VAT = total − net  (on the total, as an
                  invoice does, so net + VAT always equals the gross)

In-house printing (the school's own printer, the city print centre's own cost)
    marginal per card c_in = (blank + hologram + ribbon ÷ yield + staff_minutes ÷ 60 × hourly_rate)
                             × (1 + spoilage% ÷ 100)
        a spoilt card wastes its blank, hologram, ribbon panel and the operator's time alike.
    fixed per year F       = purchase ÷ amortisation_years + licence_per_year
                             + starter_kit ÷ amortisation_years
        the starter kit comes with the printer and is bought once, so it is spread over the same
        years as the printer instead of loading the first year; after the amortisation period
        (counted in calendar years from `purchased_on`) only the licence remains.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP
from decimal import Decimal

from sqlalchemy import select

from infra import clock
from infra import holidays
from infra.db import db
from printing.models import PriceTier

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_SEASON = ("08-15", "10-31")  # Grupa LOCA's high season, docs/domain.md §10
DEFAULT_VAT = Decimal("23.00")
DEFAULT_LEAD_DAYS = 14


class NoPriceError(LookupError):
    """The printer has no tier that covers the quantity on that day."""


def money(value) -> Decimal:
    """A zł amount rounded to grosze, half up (2.345 → 2.35)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- price lists --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tier:
    """A gross unit price from `min_quantity` cards upwards, in force from `valid_from` to
    `valid_until` (both days included; None: open)."""

    min_quantity: int
    unit_price: Decimal
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until)


@dataclasses.dataclass(frozen=True)
class Terms:
    """A printer's terms beyond its tiers."""

    season_surcharge: Decimal = ZERO
    season_from: str = DEFAULT_SEASON[0]
    season_until: str = DEFAULT_SEASON[1]
    shipping_price: Decimal = ZERO  # per parcel
    parcel_capacity: int = 0  # cards per parcel; 0: one parcel per order
    vat_rate: Decimal = DEFAULT_VAT  # % included in the gross prices
    lead_time_days: int = DEFAULT_LEAD_DAYS
    lead_time_working: bool = False  # lead_time_days counts working days (docs/domain.md §20)


def due_day(ordered_on: dt.date, lead_days: int, working: bool) -> dt.date:
    """The day cards ordered on `ordered_on` are due: `lead_days` working days after it, or that
    many calendar days moved on to the next working day when they end on a Saturday, Sunday or
    public holiday (civil code art. 115; docs/domain.md §20, rule 7)."""
    if working:
        return holidays.add_working_days(ordered_on, lead_days)
    return holidays.add_days(ordered_on, lead_days)


_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")


@functools.lru_cache(maxsize=256)
def month_day(text: str) -> tuple[int, int]:
    """"08-15" → (8, 15); ValueError for anything that is not a day of a (leap) year."""
    match = _MONTH_DAY.fullmatch(str(text or ""))
    if not match:
        raise ValueError(f"not an MM-DD day: {text!r}")
    month, day = int(match[1]), int(match[2])
    dt.date(2000, month, day)  # 2000 is a leap year: 02-29 is allowed
    return month, day


def in_season(day: dt.date, season_from: str = DEFAULT_SEASON[0], season_until: str = DEFAULT_SEASON[1]) -> bool:
    """Whether `day` falls in the window, both ends included. A window from 15.12 to 15.01
    crosses New Year: it holds 20.12 and 10.01 but not 20.01."""
    start, end, key = month_day(season_from), month_day(season_until), (day.month, day.day)
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end


def tier_price(tiers: Iterable[Tier], quantity: int, on_date: dt.date) -> Decimal:
    """The unit price for `quantity` cards ordered on `on_date`: among the tiers valid that day,
    the one with the highest `min_quantity` ≤ quantity (two valid tiers with the same threshold:
    the one in force since later wins, i.e. the newer price list). NoPriceError if none."""
    if quantity < 1:
        raise ValueError("quantity must be positive")
    candidates = [t for t in tiers if t.valid_on(on_date) and t.min_quantity <= quantity]
    if not candidates:
        raise NoPriceError(quantity)
    best = max(candidates, key=lambda t: (t.min_quantity, t.valid_from or dt.date.min))
    return money(best.unit_price)


def parcels(quantity: int, capacity: int) -> int:
    """How many parcels `quantity` cards take: ⌈quantity ÷ capacity⌉, or 1 with no capacity."""
    if quantity <= 0:
        return 0
    return math.ceil(quantity / capacity) if capacity and capacity > 0 else 1


def vat_split(gross: Decimal, vat_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, VAT) of a gross amount: net = gross ÷ (1 + rate/100) rounded, VAT = gross − net."""
    gross = money(gross)
    net = money(gross / (1 + Decimal(vat_rate) / 100))
    return net, gross - net


@dataclasses.dataclass(frozen=True)
class ExternalPrice:
    """What `quantity` cards cost at a printer ordered on `on_date` (gross zł, see module doc)."""

    quantity: int
    on_date: dt.date
    unit_price: Decimal
    surcharge_per_card: Decimal
    parcels: int
    shipping_per_parcel: Decimal
    vat_rate: Decimal

    @property
    def in_season(self) -> bool:
        return self.surcharge_per_card > 0

    @property
    def cards_total(self) -> Decimal:
        return money(self.unit_price * self.quantity)

    @property
    def surcharge_total(self) -> Decimal:
        return money(self.surcharge_per_card * self.quantity)

    @property
    def shipping(self) -> Decimal:
        return money(self.shipping_per_parcel * self.parcels)

    @property
    def total(self) -> Decimal:
        return self.cards_total + self.surcharge_total + self.shipping

    @property
    def net(self) -> Decimal:
        return vat_split(self.total, self.vat_rate)[0]

    @property
    def vat(self) -> Decimal:
        return vat_split(self.total, self.vat_rate)[1]

    @property
    def per_card(self) -> Decimal:
        return money(self.total / self.quantity) if self.quantity else ZERO


def external_price(tiers: Iterable[Tier], terms: Terms, quantity: int, on_date: dt.date) -> ExternalPrice:
    """Price `quantity` cards ordered on `on_date` (NoPriceError when no tier covers them)."""
    unit = tier_price(tiers, quantity, on_date)
    seasonal = in_season(on_date, terms.season_from, terms.season_until)
    return ExternalPrice(quantity=quantity, on_date=on_date, unit_price=unit,
                         surcharge_per_card=money(terms.season_surcharge) if seasonal else ZERO,
                         parcels=parcels(quantity, terms.parcel_capacity),
                         shipping_per_parcel=money(terms.shipping_price), vat_rate=Decimal(terms.vat_rate))


# --- in-house cost profiles ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CostProfile:
    """An in-house printer's costs (printing.models.CostFields as plain data, gross zł)."""

    purchase_price: Decimal = ZERO
    amortisation_years: int = 5
    licence_per_year: Decimal = ZERO
    starter_kit_price: Decimal = ZERO
    blank_price: Decimal = ZERO
    hologram_price: Decimal = ZERO
    ribbon_price: Decimal = ZERO
    ribbon_yield: int = 250
    staff_minutes_per_card: Decimal = ZERO
    hourly_rate: Decimal = ZERO
    spoilage_percent: Decimal = ZERO
    purchased_on: dt.date | None = None
    model: str = ""
    lead_time_days: int = 3


def marginal_per_card(profile: CostProfile) -> Decimal:
    """c_in: what one more good card costs (see module doc), rounded to grosze."""
    staff = Decimal(profile.staff_minutes_per_card) / 60 * Decimal(profile.hourly_rate)
    per_print = (Decimal(profile.blank_price) + Decimal(profile.hologram_price)
                 + Decimal(profile.ribbon_price) / Decimal(profile.ribbon_yield) + staff)
    return money(per_print * (1 + Decimal(profile.spoilage_percent) / 100))


def amortised(profile: CostProfile, year: int | None = None) -> bool:
    """Whether the printer (and its starter kit) is paid off by `year`: bought in
    `purchased_on.year`, it is amortised in that year and the `amortisation_years − 1` after."""
    if year is None or profile.purchased_on is None:
        return False
    return year >= profile.purchased_on.year + max(profile.amortisation_years, 1)


def fixed_per_year(profile: CostProfile, year: int | None = None) -> Decimal:
    """F: purchase ÷ years + licence + starter kit ÷ years (only the licence once amortised)."""
    years = Decimal(max(profile.amortisation_years, 1))
    investment = ZERO if amortised(profile, year) else (
        Decimal(profile.purchase_price) + Decimal(profile.starter_kit_price)) / years
    return money(investment + Decimal(profile.licence_per_year))


# --- loaders ------------------------------------------------------------------------------------


def tiers(printer_id: int) -> list[PriceTier]:
    """A printer's price tiers as rows (all validity periods), lowest threshold first."""
    return list(db.session.scalars(
        select(PriceTier).where(PriceTier.printer_id == printer_id)
        .order_by(PriceTier.min_quantity, PriceTier.valid_from.nulls_first())))


def tier_list(printer_id: int) -> list[Tier]:
    return [Tier(t.min_quantity, Decimal(t.unit_price), t.valid_from, t.valid_until) for t in tiers(printer_id)]


def terms_of(printer) -> Terms:
    """A printer organisation's terms (tenants.tenancy.models.Organisation)."""
    return Terms(season_surcharge=money(printer.season_surcharge or 0),
                 season_from=printer.season_from or DEFAULT_SEASON[0],
                 season_until=printer.season_until or DEFAULT_SEASON[1],
                 shipping_price=money(printer.shipping_price or 0), parcel_capacity=printer.parcel_capacity or 0,
                 vat_rate=Decimal(printer.vat_rate if printer.vat_rate is not None else DEFAULT_VAT),
                 lead_time_days=printer.lead_time_days or DEFAULT_LEAD_DAYS,
                 lead_time_working=bool(printer.lead_time_working))


def profile_of(row) -> CostProfile:
    """A SchoolPrinter's or CentreCostProfile's costs as plain data (unset columns: defaults)."""
    values = {f.name: getattr(row, f.name, None) for f in dataclasses.fields(CostProfile)}
    return CostProfile(**{k: v for k, v in values.items() if v is not None})


def unit_price(printer_id: int, quantity: int, on_date: dt.date | None = None) -> Decimal:
    """The printer's unit price for `quantity` cards on `on_date` (default today)."""
    return tier_price(tier_list(printer_id), quantity, on_date or clock.today())


def total(unit: Decimal, quantity: int) -> Decimal:
    return money(unit * quantity)


# --- one rounding rule for shares ---------------------------------------------------------------


def allocate(total: Decimal, weights: Iterable[int]) -> list[Decimal]:
    """`total` zł split over parts in proportion to `weights` (e.g. a year's fixed cost over its
    orders by their cards), in whole grosze that add up to `total` exactly: each part gets its
    share rounded down, and the grosze left go one each to the parts with the largest remainders
    (the earlier part on a tie). All weights 0: every part gets 0.00 and nothing is allocated."""
    weights = [int(w) for w in weights]
    whole = sum(weights)
    if whole <= 0:
        return [ZERO for _ in weights]
    grosze = int(money(total) * 100)
    exact = [grosze * w for w in weights]  # ÷ whole
    parts = [e // whole for e in exact]
    left = grosze - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] % whole), i))
    for i in order[:left]:
        parts[i] += 1
    return [(Decimal(p) / 100).quantize(CENT) for p in parts]


# --- the reference school printer ---------------------------------------------------------------

# One card printer in a school, as the Szczecin letter prices it (docs/domain.md §13, source 000):
# printer 3,500–8,000 zł (the middle: 5,750), software ~1,000 zł a year (a renewable licence),
# starter consumables ~500 zł, blank with chip and the holograms 10–13 zł a card (the middle,
# 11.50, split as 10.30 blank + 1.20 holograms); ribbon 480 zł per 250 prints *(inferred, §13)*.
# No staff time and no spoilage: the letter names none; the city enters its own (editable).
SINGLE_PRINTER = CostProfile(
    model="1 drukarka kart w szkole (list Szczecina)", purchase_price=Decimal("5750.00"), amortisation_years=5,
    licence_per_year=Decimal("1000.00"), starter_kit_price=Decimal("500.00"), blank_price=Decimal("10.30"),
    hologram_price=Decimal("1.20"), ribbon_price=Decimal("480.00"), ribbon_yield=250,
    staff_minutes_per_card=ZERO, hourly_rate=ZERO, spoilage_percent=ZERO, lead_time_days=3)
