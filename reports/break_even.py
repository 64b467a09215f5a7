"""From which yearly volume an own card printer pays for a school (docs/city.md "Break-even",
docs/domain.md §13): the in-house printer's real cost against the cheapest external printer's
invoices for the school's own pattern of orders.

In-house, N cards a year:   c_in × N + F                (reports.real_cost.in_house_year)
External, N cards a year:   the school's orders of a year resized to N cards (`resize`), each
                            priced on its own day by a printer's tier schedule, season surcharge
                            and shipping (reports.costs.orders_cost, as invoices are); the
                            cheapest external printer at that N (the city print centre's price
                            list is not a cost to the city and takes no part).

The pattern is the school's placed orders of the year asked about (else the year before; a
school with no orders: the form's number of even orders on the form's day). Resized to N cards:
the small orders (at most SMALL cards: duplicates and single replacements, whose number does not
grow with the school's intake) stay as they are, and the larger orders share the remaining
cards in proportion to their sizes (largest remainder, each keeps at least one card); with fewer
cards than that, every order shrinks in proportion. A year of single-card orders at 15.50 zł plus
18.00 zł shipping costs 33.50 zł a card externally, which is what makes an own printer pay for
some schools and not for others.

Break-even: the smallest N from which the own printer costs no more than the cheapest external
printer (`Curve.volume`), found between the table's volumes (`VOLUMES`, plus the school's own) by
halving; and, when it stops paying again at a larger volume of the table (the duplicates stay
expensive externally but the intake's big orders reach tiers below c_in), the last N at which it
still pays (`Curve.until`). None when it pays at no volume of the table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from infra import inputs
from printing import pricing
from printing.models import Channel
from printing.pricing import CostProfile
from reports import costs
from reports import real_cost
from reports.tables import Table

SMALL = 5  # cards: an order this small is a duplicate or a replacement, not the intake
VOLUMES = (10, 25, 50, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)

Pattern = Sequence[tuple[int, dt.date]]


def resize(pattern: Pattern, volume: int) -> list[tuple[int, dt.date]]:
    """The pattern's orders (same days) resized to `volume` cards (see the module doc).
    [(30, 1.09), (1, 3.11), (1, 2.02)] at 62 cards → [(60, 1.09), (1, 3.11), (1, 2.02)]."""
    if volume <= 0 or not pattern:
        return []
    small = [(q, d) for q, d in pattern if q <= SMALL]
    large = [(q, d) for q, d in pattern if q > SMALL]
    fixed_cards = sum(q for q, _ in small)
    if large and volume - fixed_cards >= len(large):
        sizes = _shares(volume - fixed_cards, [q for q, _ in large])
        return sorted([*small, *zip(sizes, (d for _, d in large), strict=True)], key=lambda o: o[1])
    everything = list(pattern)[:volume]  # fewer cards than orders: the first orders, a card each at least
    sizes = _shares(volume, [q for q, _ in everything])
    return sorted(zip(sizes, (d for _, d in everything), strict=True), key=lambda o: o[1])


def _shares(total: int, weights: list[int]) -> list[int]:
    """`total` whole cards in proportion to `weights`, each at least 1 (total ≥ len(weights))."""
    rest = total - len(weights)
    whole = sum(weights)
    exact = [rest * w for w in weights]
    parts = [e // whole for e in exact]
    left = rest - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] % whole), i))[:left]:
        parts[i] += 1
    return [p + 1 for p in parts]


@dataclasses.dataclass(frozen=True)
class Point:
    """One yearly volume: the own printer's cost and the cheapest external printer's."""

    volume: int
    orders: int
    in_house: Decimal
    external: Decimal | None
    external_name: str

    @property
    def in_house_per_card(self) -> Decimal | None:
        return real_cost.per_card(self.in_house, self.volume)

    @property
    def external_per_card(self) -> Decimal | None:
        return None if self.external is None else real_cost.per_card(self.external, self.volume)

    @property
    def pays(self) -> bool | None:
        return None if self.external is None else self.in_house <= self.external


@dataclasses.dataclass(frozen=True)
class Curve:
    profile_name: str
    marginal: Decimal
    fixed: Decimal
    pattern: tuple[tuple[int, dt.date], ...]
    pattern_note: str
    points: tuple[Point, ...]
    volume: int | None  # the break-even: from this many cards a year it pays (None: at no volume)
    until: int | None  # ... up to this many (None: at every larger volume of the table)
    actual: int  # the school's yearly volume (0: none)

    @property
    def answer(self) -> str:
        """The break-even in a sentence (Polish)."""
        largest = self.points[-1].volume if self.points else 0
        if self.volume is None:
            return ("Własna drukarka nie opłaca się przy żadnej liczbie kart z tabeli "
                    f"(do {_cards(largest, genitive=True)} rocznie).")
        if self.until is None:
            return f"Własna drukarka opłaca się od {_cards(self.volume, genitive=True)} rocznie."
        return (f"Własna drukarka opłaca się od {inputs.format_number(self.volume)} "
                f"do {_cards(self.until, genitive=True)} rocznie; przy większej liczbie "
                f"kart tańsza jest drukarnia zewnętrzna (jej progi cenowe schodzą poniżej kosztu zmiennego karty).")


def point(profile: CostProfile, options: Sequence[costs.ChannelOption], pattern: Pattern, volume: int,
          year: int) -> Point:
    """The own printer and the cheapest external printer at `volume` cards a year."""
    orders = resize(pattern, volume)
    in_house = real_cost.in_house_year(profile, volume, year).real
    best = None
    for option in options:
        if option.kind != costs.PRICE_LIST or option.channel != Channel.EXTERNAL.value:
            continue
        b = costs.orders_cost(option.tiers, option.terms or pricing.Terms(), orders, name=option.name)
        if b.available and (best is None or b.total < best.total):
            best = b
    return Point(volume=volume, orders=len(orders), in_house=in_house,
                 external=best.total if best else None, external_name=best.name if best else "")


def curve(profile: CostProfile, profile_name: str, options: Sequence[costs.ChannelOption], pattern: Pattern,
          year: int, *, actual: int = 0, pattern_note: str = "", volumes: Sequence[int] = VOLUMES) -> Curve:
    """The table of `volumes` (and the school's own) and where the own printer pays (module doc)."""
    volumes = sorted({*volumes, *([actual] if actual > 0 else [])})
    points = [point(profile, options, pattern, v, year) for v in volumes]

    def pays(volume: int) -> bool:
        return bool(point(profile, options, pattern, volume, year).pays)

    first = next((i for i, p in enumerate(points) if p.pays), None)
    start = until = None
    if first is not None:
        low, high = (points[first - 1].volume if first else 0), points[first].volume  # low does not pay
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if pays(middle) else (middle, high)
        start = high
        stop = next((i for i in range(first + 1, len(points)) if not points[i].pays), None)
        if stop is not None:  # it pays up to somewhere between the last paying volume and this one
            low, high = points[stop - 1].volume, points[stop].volume
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if pays(middle) else (low, middle)
            until = low
    return Curve(profile_name=profile_name, marginal=pricing.marginal_per_card(profile),
                 fixed=pricing.fixed_per_year(profile, year), pattern=tuple(pattern), pattern_note=pattern_note,
                 points=tuple(points), volume=start, until=until, actual=actual)


def _orders(n: int) -> str:
    return inputs.counted(n, "zamówienie", "zamówienia", "zamówień")


def _cards(n: int, *, genitive: bool = False) -> str:
    """"23 karty"; after "po najwyżej" the genitive: "5 kart", "2 kart", "1 karty"."""
    forms = ("karty", "kart", "kart") if genitive else ("karta", "karty", "kart")
    return inputs.counted(n, *forms)


def school_pattern(city_id: int, school_id: int, year: int, fallback: Pattern) -> tuple[list, str]:
    """The school's orders of `year` (else of the year before) as (cards, day), and a note."""
    for y in (year, year - 1):
        orders = sorted((f.quantity, f.ordered_on) for f in costs.order_facts(city_id, y, school_id) if f.quantity)
        if orders:
            small = sum(1 for q, _ in orders if q <= SMALL)
            cards = sum(q for q, _ in orders)
            return ([(q, d) for q, d in sorted(orders, key=lambda o: o[1])],
                    f"wzór zamówień szkoły z roku {y}: {_orders(len(orders))}, {_cards(cards)}, "
                    f"w tym {_orders(small)} po najwyżej {_cards(SMALL, genitive=True)}")
    return list(fallback), "szkoła nie ma zamówień: zamówienia z formularza"


def table(c: Curve) -> Table:
    """The curve as a downloadable table (reports.tables.Table)."""
    rows = tuple((p.volume, "tak" if p.volume == c.actual else "", p.orders, p.in_house, p.in_house_per_card,
                  p.external, p.external_per_card, p.external_name,
                  "" if p.pays is None else ("tak" if p.pays else "nie")) for p in c.points)
    return Table(key="prog", title=f"Próg opłacalności: {c.profile_name}", columns=(
        "Karty w roku", "Wolumen szkoły", "Zamówienia", "Własna drukarka (zł)", "Własna drukarka za kartę (zł)",
        "Najtańsza drukarnia zewnętrzna (zł)", "Zewnętrzna za kartę (zł)", "Drukarnia", "Własna tańsza"), rows=rows,
        note=f"{c.answer} Własna drukarka: {inputs.format_money(c.marginal)} × karty + "
             f"{inputs.format_money(c.fixed)} kosztów stałych "
             f"rocznie; zewnętrznie: {c.pattern_note}, przeskalowany do liczby kart (małe zamówienia bez zmian), "
             f"każde zamówienie w swoim dniu (próg cenowy, sezon, wysyłka).")
