"""The city's cost model (docs/domain.md §13): what a card costs in each channel, which channel is the
cheapest for a school, when an in-house printer pays for itself, and what a year would have
cost had every school used one channel.

The math is pure (plain dataclasses in, `Decimal` zł rounded half up to grosze out) and builds on
printing.pricing, which order quotes use too, so a projection and a frozen quote agree to the
grosz. The loaders at the bottom read what the city may see under its row-level policy: its
schools, the printers serving it, its schools' print orders (counts, frozen totals, dates),
school printers' cost profiles, its centre's cost profile and the schools' anonymous statistics.

Channels
    price list   (`printer-<id>`)  an external printer or the city print centre, at the price
                 schools pay: per order, tier valid on the order date + season surcharge +
                 parcels × shipping (printing.pricing.external_price); gross, with its VAT split
    centre cost  (`centre-<id>`)   what a card really costs the city in its print centre:
                 c_in × cards + the school's share of F by its cards among the V the centre
                 prints in the year (pricing.allocate: the shares add up to F to the grosz)
    own printer  (`own`)           a printer in every school: c_in × cards + F for each school
                 (its own profile; a school without one is priced with the city's reference
                 printer — saved by the city, else the Szczecin letter's single printer,
                 pricing.SINGLE_PRINTER — and said so)

What the year actually cost ("actual") is what the city really paid (reports.real_cost): the
invoices of external printers, the centre's and schools' own printers at c_in × cards plus the
year's fixed costs, from the schools' order facts (the same orders and days as the dashboard).

In-house per card (printing.pricing): c_in = (blank + hologram + ribbon ÷ yield
+ staff_minutes ÷ 60 × hourly_rate) × (1 + spoilage%); F = purchase ÷ years + licence + starter
kit ÷ years; cost per card at a yearly volume N = (c_in × N + F) ÷ N. In-house costs are
entered gross and include wages, so they have no VAT split (net and VAT are None).

Break-even (docs/domain.md §13): N* = F ÷ (p_ext − c_in), rounded up to whole cards; None when
p_ext ≤ c_in (in-house never breaks even on materials) — for one price per card. The pages
compare against the cheapest external printer's tier schedule for the school's own order
pattern (reports.break_even).

Duplicates bring 9 zł each into the school's account (§ 67). The city cannot read applications,
so the income comes from the schools' anonymous statistics: the fees of the paid duplicates among
the cards of the orders placed in the year (reports.models.OrderFacts, as the money pages sum
them); a school without statistics counts 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select

from infra import inputs
from infra.db import db
from printing import pricing
from printing.models import CentreCostProfile
from printing.models import Channel
from printing.models import ReferencePrinter
from printing.models import SchoolPrinter
from printing.pricing import CostProfile
from printing.pricing import Terms
from printing.pricing import Tier
from printing.pricing import money
from reports import queries
from reports import real_cost
from reports.models import OrderFacts
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

ZERO = pricing.ZERO

PRICE_LIST = "price_list"
CENTRE_COST = "centre_cost"
OWN = "own"

# docs/domain.md §25: each duplicate is counted at the fee of the day its application was made
INCOME_NOTE = ("Wpływy z duplikatów: opłaty (każda z dnia złożenia wniosku) za duplikaty z zamówień złożonych "
               "w tym roku, tak jak w Wydatkach (statystyki szkół z ostatniego przeliczenia; miasto nie widzi "
               "wniosków).")


# --- one channel's cost ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Breakdown:
    """A channel's cost for `quantity` cards, gross zł. `total` is None when the channel cannot
    take them (`note` says why). `fixed` is the part of `total` that is fixed cost (in-house);
    `marginal` is c_in for in-house channels. `net`/`vat` only for invoiced prices."""

    key: str
    name: str
    channel: str
    kind: str
    quantity: int
    total: Decimal | None
    fixed: Decimal = ZERO
    marginal: Decimal | None = None
    surcharge: Decimal = ZERO
    shipping: Decimal = ZERO
    parcels: int = 0
    orders: int = 0
    net: Decimal | None = None
    vat: Decimal | None = None
    note: str = ""

    @property
    def available(self) -> bool:
        return self.total is not None

    @property
    def per_card(self) -> Decimal | None:
        if self.total is None or not self.quantity:
            return None
        return money(self.total / self.quantity)


def orders_cost(tiers: Iterable[Tier], terms: Terms, orders: Sequence[tuple[int, dt.date]], *,
                key: str = "", name: str = "", channel: str = Channel.EXTERNAL.value) -> Breakdown:
    """Price several orders `(quantity, ordered_on)` through one price list: each order on its own
    date (its tier, season, parcels); totals, nets and VATs add up order by order, as invoices do."""
    tiers = list(tiers)
    quantity = sum(q for q, _ in orders)
    total = surcharge = shipping = net = vat = ZERO
    parcel_count = 0
    for q, day in orders:
        try:
            price = pricing.external_price(tiers, terms, q, day)
        except pricing.NoPriceError:
            return Breakdown(key=key, name=name, channel=channel, kind=PRICE_LIST, quantity=quantity, total=None,
                             orders=len(orders),
                             note=f"brak ceny dla zamówienia {inputs.counted(q, 'karty', 'kart', 'kart')} "
                                  f"z dnia {inputs.format_day(day)}")
        gross = price.total
        order_net, order_vat = pricing.vat_split(gross, price.vat_rate)
        total += gross
        surcharge += price.surcharge_total
        shipping += price.shipping
        parcel_count += price.parcels
        net += order_net
        vat += order_vat
    return Breakdown(key=key, name=name, channel=channel, kind=PRICE_LIST, quantity=quantity, total=total,
                     surcharge=surcharge, shipping=shipping, parcels=parcel_count, orders=len(orders), net=net, vat=vat)


def external_cost(tiers: Iterable[Tier], terms: Terms, quantity: int, on_date: dt.date, **labels) -> Breakdown:
    """One order of `quantity` cards on `on_date` at a printer: quantity × tier price (the tier
    valid that day) + quantity × season surcharge (in the printer's window) + parcels × shipping;
    net = gross ÷ (1 + VAT%), VAT = gross − net."""
    return orders_cost(tiers, terms, [(quantity, on_date)], **labels)


def in_house_cost(profile: CostProfile, yearly_volume: int, year: int | None = None, *, key: str = OWN,
                  name: str = "", channel: str = Channel.OWN.value, note: str = "") -> Breakdown:
    """A year of `yearly_volume` cards on an in-house printer: c_in × N + F (F of `year`, which
    drops to the licence once the printer is amortised). Per card: that ÷ N."""
    marginal = pricing.marginal_per_card(profile)
    fixed = pricing.fixed_per_year(profile, year)
    return Breakdown(key=key, name=name, channel=channel, kind=OWN, quantity=yearly_volume,
                     total=money(marginal * yearly_volume) + fixed, fixed=fixed, marginal=marginal, note=note)


def centre_share(profile: CostProfile, cards: int, centre_volume: int, year: int | None = None, *,
                 key: str = "", name: str = "", note: str = "", fixed: Decimal | None = None) -> Breakdown:
    """`cards` of the `centre_volume` the city print centre prints in a year, at its own cost:
    c_in × cards + the cards' share of F (pricing.allocate over `cards` and the other
    `centre_volume − cards`; `fixed` when the caller has allocated F among several schools)."""
    marginal = pricing.marginal_per_card(profile)
    if fixed is None:
        fixed_year = pricing.fixed_per_year(profile, year)
        fixed = pricing.allocate(fixed_year, [cards, max(centre_volume - cards, 0)])[0]
    return Breakdown(key=key, name=name, channel=Channel.CITY_CENTRE.value, kind=CENTRE_COST, quantity=cards,
                     total=money(marginal * cards) + fixed, fixed=fixed, marginal=marginal, note=note)


def break_even_volume(fixed_per_year: Decimal, external_per_card: Decimal, in_house_marginal: Decimal) -> int | None:
    """N* = F ÷ (p_ext − c_in), rounded up: from this many cards a year the in-house printer
    costs no more than the external price. None when p_ext ≤ c_in (never pays off)."""
    fixed, p_ext, c_in = Decimal(fixed_per_year), Decimal(external_per_card), Decimal(in_house_marginal)
    if fixed < 0:
        raise ValueError("fixed costs cannot be negative")
    if p_ext <= c_in:
        return None
    return math.ceil(fixed / (p_ext - c_in))


def split_orders(volume: int, orders: int) -> list[int]:
    """`volume` cards in `orders` orders as even as possible (10 in 3 → 4, 3, 3)."""
    orders = max(1, min(orders, volume)) if volume > 0 else 1
    size, extra = divmod(volume, orders)
    return [size + 1 if i < extra else size for i in range(orders)]


# --- channels the city can price --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChannelOption:
    """A channel a year's or a school's cards can be priced through (see the module doc)."""

    key: str
    name: str
    kind: str  # PRICE_LIST, CENTRE_COST or OWN
    channel: str  # printing.models.Channel value
    tiers: tuple[Tier, ...] = ()
    terms: Terms | None = None
    profile: CostProfile | None = None  # the centre's profile; for OWN the reference printer
    reference_name: str = ""

    def price(self, school_id: int, orders: Sequence[tuple[int, dt.date]], year: int, *,
              own_profiles: Mapping[int, CostProfile], centre_volume: int = 0,
              centre_fixed: Decimal | None = None) -> Breakdown:
        """What `orders` of one school cost through this channel in `year`."""
        cards = sum(q for q, _ in orders)
        labels = dict(key=self.key, name=self.name)
        if self.kind == PRICE_LIST:
            return orders_cost(self.tiers, self.terms or Terms(), orders, channel=self.channel, **labels)
        if self.kind == CENTRE_COST:
            return centre_share(self.profile, cards, centre_volume, year, fixed=centre_fixed, **labels)
        profile = own_profiles.get(school_id)
        note = ""
        if profile is None:
            if self.profile is None:
                return Breakdown(channel=self.channel, kind=OWN, quantity=cards, total=None,
                                 note="brak profilu kosztów drukarki (szkoły ani wzorcowej)", **labels)
            profile, note = self.profile, f"drukarka wzorowana na profilu: {self.reference_name}"
        return in_house_cost(profile, cards, year, channel=self.channel, note=note, **labels)


# --- a school's channels side by side -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BreakEven:
    """When an in-house printer (`profile_name`) pays off against the cheapest price list."""

    profile_name: str
    fixed_per_year: Decimal
    marginal: Decimal
    external_name: str
    external_per_card: Decimal
    volume: int | None


@dataclasses.dataclass(frozen=True)
class ChannelComparison:
    school_id: int
    school_name: str
    volume: int
    order_sizes: tuple[int, ...]
    on_date: dt.date
    rows: tuple[Breakdown, ...]  # available ones cheapest first, then the rest
    break_even: BreakEven | None
    duplicates: int
    duplicate_income: Decimal

    @property
    def cheapest(self) -> Breakdown | None:
        """The cheapest channel for the city (the centre's internal price list is not a cost)."""
        return self.rows[0] if self.rows and self.rows[0].available and not internal_price(self.rows[0]) else None


def internal_price(row: Breakdown | ChannelOption) -> bool:
    """The city print centre's price list: what schools are charged, not what the city pays."""
    return row.kind == PRICE_LIST and row.channel == Channel.CITY_CENTRE.value


def compare_channels(options: Sequence[ChannelOption], *, school_id: int, school_name: str, volume: int,
                     orders: int, on_date: dt.date, own_profile: CostProfile | None = None,
                     own_name: str = "", centre_other_volume: int = 0, duplicates: int = 0,
                     duplicate_income: Decimal = ZERO) -> ChannelComparison:
    """Every channel's projected cost for `volume` cards of one school in `on_date`'s year,
    ordered in `orders` even orders on `on_date`; the centre's own cost with the centre's other
    cards that year (`centre_other_volume`) added to the volume. Cheapest first.

    Break-even: the in-house printer is the school's own (`own_profile`) or else the reference
    printer of the OWN option; p_ext is the cheapest price list's cost per card at this volume."""
    year = on_date.year
    sizes = split_orders(volume, orders)
    dated = [(q, on_date) for q in sizes]
    own_profiles = {school_id: own_profile} if own_profile is not None else {}
    rows = []
    for option in options:
        row = option.price(school_id, dated, year, own_profiles=own_profiles,
                           centre_volume=centre_other_volume + volume)
        if option.kind == OWN and own_profile is not None:
            row = dataclasses.replace(row, name=own_name or row.name)
        rows.append(row)
    rows.sort(key=lambda r: (not r.available, internal_price(r), r.total if r.available else ZERO, r.name))
    priced = [r for r in rows if r.kind == PRICE_LIST and r.channel == Channel.EXTERNAL.value and r.available]
    reference = own_profile
    reference_name = own_name
    if reference is None:
        own_option = next((o for o in options if o.kind == OWN and o.profile is not None), None)
        if own_option is not None:
            reference, reference_name = own_option.profile, own_option.reference_name
    break_even = None
    if reference is not None and priced:
        best = min(priced, key=lambda r: r.per_card)
        fixed, marginal = pricing.fixed_per_year(reference, year), pricing.marginal_per_card(reference)
        break_even = BreakEven(profile_name=reference_name, fixed_per_year=fixed, marginal=marginal,
                               external_name=best.name, external_per_card=best.per_card,
                               volume=break_even_volume(fixed, best.per_card, marginal))
    return ChannelComparison(school_id=school_id, school_name=school_name, volume=volume, order_sizes=tuple(sizes),
                             on_date=on_date, rows=tuple(rows), break_even=break_even, duplicates=duplicates,
                             duplicate_income=money(duplicate_income))


# --- what if every school had used one channel ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OrderFact:
    """One placed order as the city sees it."""

    school_id: int
    quantity: int
    ordered_on: dt.date
    total: Decimal  # the frozen quote's total (for the centre: its internal price)
    channel: str = Channel.EXTERNAL.value
    printer_id: int | None = None
    real: Decimal | None = None  # what the city really paid (reports.real_cost); None: `total`

    @property
    def paid(self) -> Decimal:
        return money(self.total) if self.real is None else self.real


@dataclasses.dataclass(frozen=True)
class WhatIfRow:
    school_id: int
    school_name: str
    orders: int
    cards: int
    actual: Decimal
    projected: Breakdown
    duplicate_income: Decimal = ZERO

    @property
    def difference(self) -> Decimal | None:
        return None if self.projected.total is None else self.projected.total - self.actual

    @property
    def after_income(self) -> Decimal | None:
        return None if self.projected.total is None else self.projected.total - self.duplicate_income


@dataclasses.dataclass(frozen=True)
class WhatIf:
    option: ChannelOption
    year: int
    rows: tuple[WhatIfRow, ...]

    @property
    def cards(self) -> int:
        return sum(r.cards for r in self.rows)

    @property
    def orders(self) -> int:
        return sum(r.orders for r in self.rows)

    @property
    def actual(self) -> Decimal:
        return sum((r.actual for r in self.rows), ZERO)

    @property
    def projected(self) -> Decimal:
        """The sum over schools the channel could price (see `unpriced`)."""
        return sum((r.projected.total for r in self.rows if r.projected.available), ZERO)

    @property
    def unpriced(self) -> int:
        return sum(1 for r in self.rows if not r.projected.available)

    @property
    def actual_priced(self) -> Decimal:
        """The actual cost of the schools the channel could price (to compare like with like)."""
        return sum((r.actual for r in self.rows if r.projected.available), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.projected - self.actual_priced

    @property
    def duplicate_income(self) -> Decimal:
        return sum((r.duplicate_income for r in self.rows), ZERO)


def what_if_rows(option: ChannelOption, facts: Iterable[OrderFact], year: int, *, school_names: Mapping[int, str],
                 own_profiles: Mapping[int, CostProfile] | None = None,
                 duplicate_income: Mapping[int, Decimal] | None = None) -> WhatIf:
    """Each school's orders of `year` (same sizes, same dates) priced through `option`, beside
    what they really cost (`OrderFact.paid`). Schools without orders that year are left out. For
    the centre's own cost, the centre prints every card of the year: V = all the cards in
    `facts`, F shared among the schools by their cards (pricing.allocate)."""
    by_school: dict[int, list[OrderFact]] = {}
    for fact in facts:
        if fact.ordered_on.year == year:
            by_school.setdefault(fact.school_id, []).append(fact)
    city_volume = sum(f.quantity for orders in by_school.values() for f in orders)
    schools = sorted(by_school)
    centre_fixed = dict(zip(schools, pricing.allocate(
        pricing.fixed_per_year(option.profile, year) if option.kind == CENTRE_COST and option.profile else ZERO,
        [sum(f.quantity for f in by_school[s]) for s in schools]), strict=True))
    rows = []
    for school_id in schools:
        orders = sorted(by_school[school_id], key=lambda f: f.ordered_on)
        projected = option.price(school_id, [(f.quantity, f.ordered_on) for f in orders], year,
                                 own_profiles=own_profiles or {}, centre_volume=city_volume,
                                 centre_fixed=centre_fixed[school_id])
        rows.append(WhatIfRow(school_id=school_id, school_name=school_names.get(school_id, f"#{school_id}"),
                              orders=len(orders), cards=sum(f.quantity for f in orders),
                              actual=sum((f.paid for f in orders), ZERO), projected=projected,
                              duplicate_income=money((duplicate_income or {}).get(school_id, ZERO))))
    rows.sort(key=lambda r: r.school_name)
    return WhatIf(option=option, year=year, rows=tuple(rows))


# --- loaders (database, under the city's tenant) ----------------------------------------------

def order_facts(city_id: int, year: int, school_id: int | None = None) -> list[OrderFact]:
    """The city's placed orders of `year` (reports.real_cost.placed_orders: the same orders and days
    as the dashboard's), each with what the city really paid for it (for a whole city; one
    school's list carries its quotes' totals only)."""
    placed = real_cost.placed_orders(city_id, year=year, school_id=school_id)
    channels = {o.channel for o in placed} if school_id is None else set()
    paid = real_cost.real_costs(
        placed, real_cost.centre_profiles(city_id) if Channel.CITY_CENTRE.value in channels else {},
        real_cost.own_profiles(city_id) if Channel.OWN.value in channels else {}) if school_id is None else {}
    return [OrderFact(school_id=o.school_id, quantity=o.cards, ordered_on=o.day, total=o.invoiced, channel=o.channel,
                      printer_id=o.printer_id, real=paid[o.order_id].total if o.order_id in paid else None)
            for o in sorted(placed, key=lambda o: (o.day, o.order_id))]


def city_school(city_id: int, school_id: int | None) -> Organisation | None:
    """The school if it is one of the city's, else None."""
    if school_id is None:
        return None
    school = db.session.get(Organisation, school_id)
    if school is None or school.kind != OrgKind.SCHOOL.value or school.city_id != city_id:
        return None
    return school


def own_profiles(city_id: int) -> dict[int, tuple[str, CostProfile]]:
    """Schools' own printers (school id → (model, profile)); the city reads them."""
    return {p.school_id: (p.model, pricing.profile_of(p)) for p in db.session.scalars(
        select(SchoolPrinter).where(SchoolPrinter.city_id == city_id))}


def duplicate_income(city_id: int, year: int) -> dict[int, tuple[int, Decimal]]:
    """school id → (duplicates paid, their fees) among the cards of the orders placed in `year`
    (see INCOME_NOTE): the order facts the money pages sum, so both say the same."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return {r[0]: (int(r[1] or 0), money(r[2] or 0)) for r in db.session.execute(
        select(OrderFacts.school_id, func.sum(OrderFacts.paid), func.sum(OrderFacts.fees))
        .where(OrderFacts.city_id == city_id, OrderFacts.submitted_on >= first, OrderFacts.submitted_on <= last)
        .group_by(OrderFacts.school_id))}


def centre_profiles(city_id: int) -> list[tuple[Organisation, CentreCostProfile]]:
    """The city's print centres that have a cost profile."""
    return list(db.session.execute(
        select(Organisation, CentreCostProfile).join(CentreCostProfile, CentreCostProfile.printer_id == Organisation.id)
        .where(CentreCostProfile.city_id == city_id).order_by(Organisation.name)).tuples())


def channel_options(city_id: int) -> list[ChannelOption]:
    """Every printer's price list the city offers, each centre's own cost (with a profile),
    and a printer in every school (the first centre profile as the reference printer)."""
    printers = db.session.scalars(
        select(Organisation).join(CityPrinter, CityPrinter.printer_id == Organisation.id)
        .where(CityPrinter.city_id == city_id)
        .order_by(Organisation.is_city_print_centre.desc(), Organisation.name))
    options = [ChannelOption(key=f"printer-{p.id}", name=p.name, kind=PRICE_LIST,
                             channel=Channel.CITY_CENTRE.value if p.is_city_print_centre else Channel.EXTERNAL.value,
                             tiers=tuple(pricing.tier_list(p.id)), terms=pricing.terms_of(p)) for p in printers]
    centres = centre_profiles(city_id)
    for centre, profile in centres:
        options.append(ChannelOption(key=f"centre-{centre.id}", name=f"{centre.name} (koszt własny)",
                                     kind=CENTRE_COST, channel=Channel.CITY_CENTRE.value,
                                     profile=pricing.profile_of(profile)))
    reference, reference_name = reference_printer(city_id)
    options.append(ChannelOption(key=OWN, name="Własna drukarka w każdej szkole", kind=OWN, channel=Channel.OWN.value,
                                 profile=reference, reference_name=reference_name))
    return options


def reference_printer(city_id: int) -> tuple[CostProfile, str]:
    """The city's reference "own printer" (saved on the costs page), else the Szczecin letter's
    single printer (pricing.SINGLE_PRINTER), and its name."""
    row = db.session.scalar(select(ReferencePrinter).where(ReferencePrinter.city_id == city_id))
    if row is None:
        return pricing.SINGLE_PRINTER, pricing.SINGLE_PRINTER.model
    return pricing.profile_of(row), row.model or "drukarka wzorcowa miasta"


def channel_option(city_id: int, key: str) -> ChannelOption | None:
    return next((o for o in channel_options(city_id) if o.key == key), None)


def school_year_volume(city_id: int, school_id: int, year: int) -> tuple[int, int]:
    """(cards, orders) the school placed in `year`."""
    facts = order_facts(city_id, year, school_id)
    return sum(f.quantity for f in facts), len(facts)


def channel_costs(city_id: int, school: Organisation, volume: int, on_date: dt.date,
                  orders: int = 1, options: Sequence[ChannelOption] | None = None) -> ChannelComparison:
    """Every channel's projected cost for `volume` cards of `school` (see compare_channels);
    the centre's own cost adds the cards the centre printed for other schools that year.
    `options`: the city's channel_options when the caller has read them."""
    year = on_date.year
    own = own_profiles(city_id).get(school.id)
    options = channel_options(city_id) if options is None else options
    centre_ids = {o.key.removeprefix("centre-") for o in options if o.kind == CENTRE_COST}
    other = sum(f.quantity for f in order_facts(city_id, year) if f.school_id != school.id
                and f.channel == Channel.CITY_CENTRE.value and str(f.printer_id) in centre_ids)
    duplicates, income = duplicate_income(city_id, year).get(school.id, (0, ZERO))
    return compare_channels(options, school_id=school.id, school_name=school.name, volume=volume,
                            orders=orders, on_date=on_date, own_profile=own[1] if own else None,
                            own_name=f"{own[0] or 'Drukarka szkoły'} (drukarka szkoły)" if own else "",
                            centre_other_volume=other, duplicates=duplicates, duplicate_income=income)


def _context(city_id: int, year: int) -> dict:
    """What every what-if of the city's `year` needs besides the orders (read once)."""
    return dict(school_names={s.id: s.name for s in queries.city_schools(city_id)},
                own_profiles={k: v[1] for k, v in own_profiles(city_id).items()},
                duplicate_income={k: v[1] for k, v in duplicate_income(city_id, year).items()})


def what_if(city_id: int, year: int, channel_key: str) -> WhatIf | None:
    """What `year` would have cost had every school used the channel `channel_key`."""
    option = channel_option(city_id, channel_key)
    if option is None:
        return None
    return what_if_rows(option, order_facts(city_id, year), year, **_context(city_id, year))


def what_if_all(city_id: int, year: int) -> list[WhatIf]:
    """The what-if of every channel for `year` (the orders and schools read once)."""
    facts, context = order_facts(city_id, year), _context(city_id, year)
    return [what_if_rows(option, facts, year, **context) for option in channel_options(city_id)]
