"""The city's dashboard as data: every table a `reports.tables.Table` (shown, downloaded as
CSV/XLSX, put in the council's PDF) with, per row, the ids its numbers link to.

Reads only what the city may read under its own row-level policy and what holds no personal
data: `school_stats`, `card_facts` and `order_facts` (reports.statistics, where every
definition is), print orders' metadata, organisations and the city's budgets.
Never pupils, applications or cards.

Filters (reports.filters): a period (default: the current school year, 1 September – 31
August), a school type and a district. The period applies to card facts by the day their order
was placed (`submitted_on`: cards ordered, money, on-time delivery, printers' rejections),
except the waiting time from application to handover, which counts the cards handed over in the
period (`handed_over_on`). Holograms count for the school years the period touches. The rollout
snapshot (`SchoolStats`) is "as of" its refresh and has no period. The budget table is city-wide
(all schools, by calendar year of the order).

The card facts are summed up by the database (reports.aggregates): a page reads a few hundred
grouped rows, not the period's cards; only the list of cards (`fact_list`) reads single facts,
a page at a time. Holograms come from the schools' statistics (their ledgers at the refresh).

Percentiles interpolate linearly between ranks, as PostgreSQL's `percentile_cont`; days are
calendar days; shares are percentages with one decimal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from decimal import ROUND_HALF_UP
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask import g
from flask import has_request_context
from markupsafe import Markup
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from infra import inputs
from infra.db import db
from infra.db import utcnow
from printing.models import CityBudget
from printing.models import OrderStatus
from printing.models import PrintOrder
from reports import aggregates
from reports import charts
from reports import queries
from reports.aggregates import Handed
from reports.aggregates import Ordered
from reports.filters import FACT_STATES  # noqa: F401 (part of this module's interface)
from reports.filters import FactQuery
from reports.filters import FilterError
from reports.filters import Filters
from reports.filters import parse_day
from reports.filters import parse_fact_query  # noqa: F401
from reports.filters import parse_filters  # noqa: F401
from reports.labels import CARD_STATES
from reports.labels import CHANNELS
from reports.labels import KINDS
from reports.labels import ORDER_STATES
from reports.labels import OWN_PRINTERS
from reports.labels import SCHOOL_TYPES
from reports.models import CardFact
from reports.models import SchoolStats
from reports.tables import Table
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.tenancy import scoping
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DELIVERED = ("delivered", "handed_over")


# --- what one page reads ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class School:
    id: int
    name: str
    school_type: str
    district: str

    @property
    def type_label(self) -> str:
        return SCHOOL_TYPES.get(self.school_type, self.school_type)


@dataclasses.dataclass(frozen=True)
class Listing:
    """A table and, per row, what the row stands for (`school_id`, `printer`, `channel`,
    `month`, `year`, `order_id`, `behind`): the view turns them into links to the lists behind
    the numbers."""

    table: Table
    keys: tuple[dict, ...]


class Data:
    """What a page's tables read, each part at most once and only if a table asks for it: the
    city's schools under the filters, their statistics, and the period's card facts summed up
    (reports.aggregates)."""

    def __init__(self, city_id: int, filters: Filters, schools: list[School]) -> None:
        self.city_id, self.filters, self.schools = city_id, filters, schools
        self._ordered: dict[str, list[Ordered]] = {}
        self._handed: dict[str, list[Handed]] = {}

    @functools.cached_property
    def stats(self) -> dict[int, SchoolStats]:
        ids = {s.id for s in self.schools}
        return {s.school_id: s for s in db.session.scalars(
            select(SchoolStats).where(SchoolStats.city_id == self.city_id)) if s.school_id in ids}

    def ordered(self, by: str) -> list[Ordered]:
        """Cards of orders placed in the period, per `by` (aggregates.ORDERED_BY)."""
        if by not in self._ordered:
            self._ordered[by] = aggregates.ordered(self.city_id, self.filters, by)
        return self._ordered[by]

    def handed(self, by: str = "all") -> list[Handed]:
        """Cards handed over in the period by waiting days, per `by` (aggregates.HANDED_BY)."""
        if by not in self._handed:
            self._handed[by] = aggregates.handed(self.city_id, self.filters, by)
        return self._handed[by]


def _once_per_request(name: str, city_id: int, read: Callable[[], list]) -> list:
    """`read()` for the city, kept for the rest of the request (outside one, read every time:
    tests and jobs change what they read between calls)."""
    memo = g.setdefault(name, {}) if has_request_context() else {}
    if city_id not in memo:
        memo[city_id] = read()
    return memo[city_id]


def _all_schools(city_id: int) -> list[School]:
    """Every school of the city by name, read once per request."""
    return _once_per_request("_city_schools", city_id, lambda: [
        School(i, n, t or "", d or "") for i, n, t, d in db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.school_type, Organisation.district).where(
                Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == city_id)
            .order_by(Organisation.name))])


def city_schools(city_id: int, f: Filters | None = None) -> list[School]:
    """The city's schools (of the filters' type and district), by name."""
    schools = _all_schools(city_id)
    if f is not None and f.school_type:
        schools = [s for s in schools if s.school_type == f.school_type]
    if f is not None and f.district:
        schools = [s for s in schools if s.district == f.district]
    return schools


def districts(city_id: int) -> list[str]:
    return sorted({s.district for s in _all_schools(city_id) if s.district})


def printer_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))).all())


def city_printer_name(city_id: int, printer_id: int) -> str:
    """The name of a printer that serves the city or printed for it ("" for any other id: a
    city learns no other organisation's name through the card list's filter)."""
    serves = select(CityPrinter.printer_id).where(CityPrinter.city_id == city_id, CityPrinter.printer_id == printer_id)
    printed = select(CardFact.id).where(CardFact.city_id == city_id, CardFact.printer_id == printer_id).limit(1)
    return db.session.scalar(select(Organisation.name).where(
        Organisation.id == printer_id, Organisation.kind == OrgKind.PRINTER.value,
        or_(serves.exists(), printed.exists()))) or ""


def load(city_id: int, f: Filters) -> Data:
    return Data(city_id, f, city_schools(city_id, f))


# --- measures ---------------------------------------------------------------------------------


def percentile(values: Iterable, q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont), one decimal."""
    return aggregates.percentile(((v, 1) for v in values), q)


def share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _per(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else None


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Warsaw"))


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone()).strftime("%d.%m.%Y %H:%M")


def school_stats(city_id: int, school_id: int) -> SchoolStats | None:
    """One school's statistics row (None before its first refresh, or not the city's school)."""
    return db.session.scalar(select(SchoolStats).where(SchoolStats.city_id == city_id,
                                                       SchoolStats.school_id == school_id))


def computed_range(city_id: int, f: Filters | None = None, data: Data | None = None
                   ) -> tuple[dt.datetime | None, dt.datetime | None, int]:
    """When the statistics of the city's schools (under the filters) were last computed: the
    oldest and the newest refresh, and how many schools have none yet."""
    if data is None:
        ids = [s.id for s in city_schools(city_id, f)]
        times = list(db.session.scalars(select(SchoolStats.computed_at).where(
            SchoolStats.city_id == city_id, SchoolStats.school_id.in_(ids))))
    else:
        ids, times = data.schools, [s.computed_at for s in data.stats.values()]
    return min(times, default=None), max(times, default=None), len(ids) - len(times)


def _budgets(city_id: int) -> list[CityBudget]:
    """The city's budgets and targets, read once per request."""
    return _once_per_request("_city_budgets", city_id, lambda: list(db.session.scalars(
        select(CityBudget).where(CityBudget.city_id == city_id))))


def current_target(city_id: int, today: dt.date) -> CityBudget | None:
    """The plan in force: the budget year whose target date passed last (None before any)."""
    passed = [b for b in _budgets(city_id) if b.target_date is not None and b.target_date <= today]
    return max(passed, key=lambda b: b.target_date, default=None)


def next_target(city_id: int, today: dt.date) -> CityBudget | None:
    coming = [b for b in _budgets(city_id) if b.target_date is not None and b.target_date > today]
    return min(coming, key=lambda b: b.target_date, default=None)


def coverage(stats: SchoolStats | None) -> float | None:
    """Share of the school's active pupils holding a handed-over e-card (at most 100 %)."""
    if stats is None or not stats.pupils_active:
        return None
    return min(100.0, share(stats.cards_handed_over, stats.pupils_active))


# --- tables -----------------------------------------------------------------------------------


def _data(city_id: int, f: Filters, data: Data | None) -> Data:
    return data if data is not None else load(city_id, f)


def rollout(city_id: int, f: Filters, data: Data | None = None, target: CityBudget | None = None) -> Listing:
    """Per school, as of its last refresh: pupils, applications, cards, paper cards,
    mLegitymacja; a school is behind plan when, after the target date of the plan in force
    (`current_target`, or `target` when the caller has read it), its coverage is below the
    target percentage."""
    data = _data(city_id, f, data)
    target = target or current_target(city_id, f.today)
    rows, keys = [], []
    for school in data.schools:
        s = data.stats.get(school.id)
        cover = coverage(s)
        behind = bool(target and cover is not None and cover < target.target_percent)
        numbers = (s.pupils_active, s.pupils_needing_card, s.pupils_without_photo, s.applications_open,
                   s.applications_total, s.cards_ordered, s.cards_delivered, s.cards_handed_over, s.paper_cards,
                   s.mleg_registered) if s else (None,) * 10
        plan = ("tak" if behind else "nie") if target and cover is not None else ""
        rows.append((school.name, school.type_label, school.district, *numbers, cover, plan,
                     local_time(s.computed_at) if s else ""))
        keys.append({"school_id": school.id, "behind": behind, "has_stats": s is not None})
    note = "Stan na chwilę ostatniego przeliczenia (kolumna „Stan na”); liczby dotyczą uczniów uczących się w szkole."
    if target:
        note += (f" Za planem: mniej niż {target.target_percent}% uczniów z wydaną legitymacją po "
                 f"{target.target_date:%d.%m.%Y}.")
    return Listing(Table("rollout", "Wdrożenie w szkołach", (
        "Szkoła", "Typ", "Dzielnica", "Uczniowie", "Potrzebują legitymacji", "Bez zdjęcia", "Wnioski oczekujące",
        "Wnioski (wszystkie)", "Zamówione (ważne)", "Dostarczone", "Wydane", "Na papierowej legitymacji",
        "mLegitymacja", "Pokrycie (%)", "Za planem", "Stan na"), tuple(rows), note), tuple(keys))


def forecast(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Cards needed by the coming September: this year's first year as the estimate of the
    next intake, plus the pupils who still have no card."""
    data = _data(city_id, f, data)
    rows, keys = [], []
    for school in data.schools:
        s = data.stats.get(school.id)
        if s is None:
            rows.append((school.name, school.type_label, school.district, None, None, None))
        else:
            rows.append((school.name, school.type_label, school.district,
                         s.forecast_first_year - s.pupils_needing_card, s.pupils_needing_card, s.forecast_first_year))
        keys.append({"school_id": school.id})
    return Listing(Table("forecast", "Prognoza zapotrzebowania na wrzesień", (
        "Szkoła", "Typ", "Dzielnica", "Nabór do pierwszej klasy (szacunek)", "Uczniowie bez legitymacji",
        "Prognoza kart na wrzesień"), tuple(rows),
        "Nabór szacowany liczbą uczniów obecnej pierwszej klasy (lub 1. semestru) z list uczniów szkoły."),
        tuple(keys))


def _lead(handed: list[Handed], ordered: list[Ordered]) -> tuple:
    """Handed over, median and p90 of the waiting days; cards judged, on time and its share."""
    days = [(h.days, h.cards) for h in handed]
    judged, on_time = sum(o.judged for o in ordered), sum(o.on_time for o in ordered)
    return (sum(h.cards for h in handed), aggregates.percentile(days, 0.5), aggregates.percentile(days, 0.9),
            judged, on_time, share(on_time, judged))


def _grouped(rows: Iterable, key: Callable) -> dict:
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


def lead_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    handed = _grouped(data.handed("school"), lambda h: h.school_id)
    ordered = _grouped(data.ordered("school"), lambda o: o.school_id)
    rows = tuple((s.name, *_lead(handed[s.id], ordered[s.id])) for s in data.schools)
    return Listing(Table("lead_schools", "Czas oczekiwania na legitymację — szkoły", (
        "Szkoła", "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)",
        "Dostawy ocenione", "W terminie", "W terminie (%)"), rows,
        "Czas od wniosku do wydania: legitymacje wydane w okresie. Terminowość: karty z zamówień złożonych w "
        "okresie, dostarczone w obiecanym czasie realizacji (karta niedostarczona po terminie jest spóźniona)."),
        tuple({"school_id": s.id} for s in data.schools))


def printer_key(printer_id: int | None) -> str:
    """A printer in links and lists: its id, or "wlasna" for the schools' own printers."""
    return str(printer_id) if printer_id is not None else "wlasna"


def lead_by_printer(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    handed = _grouped(data.handed("printer"), lambda h: printer_key(h.printer_id))
    ordered = _grouped(data.ordered("printer"), lambda o: printer_key(o.printer_id))
    channel = {key: groups[0].channel for key, groups in (*handed.items(), *ordered.items())}
    printers = printer_names(int(key) for key in channel if key != "wlasna")

    def name(key: str) -> str:
        return OWN_PRINTERS if key == "wlasna" else printers.get(int(key), f"drukarnia {key}")

    printer_keys = sorted(set(handed) | set(ordered), key=lambda k: (k == "wlasna", name(k)))
    rows, keys = [], []
    for key in printer_keys:
        groups = ordered[key]
        n, median, p90, judged, _on_time, on_time_share = _lead(handed[key], groups)
        cards = sum(o.cards for o in groups)
        making = aggregates.percentile(((o.making, o.delivered) for o in groups), 0.5)
        rejected = sum(o.rejected for o in groups)
        rows.append((name(key), CHANNELS.get(channel[key], channel[key]), cards, making,
                     n, median, p90, judged, on_time_share, rejected, share(rejected, cards)))
        keys.append({"printer": key})
    return Listing(Table("lead_printers", "Drukarnie: terminowość i odrzucenia", (
        "Drukarnia", "Kanał", "Karty zamówione w okresie", "Mediana realizacji: zamówienie → dostawa (dni)",
        "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)", "Dostawy ocenione",
        "W terminie (%)", "Karty odrzucone przy druku", "Odrzucenia (%)"), tuple(rows),
        "Odrzucenia: karty, które drukarnia choć raz odrzuciła, wśród kart zamówionych w okresie."), tuple(keys))


def _money(groups: list[Ordered]) -> tuple[int, Decimal, Decimal | None, int, Decimal]:
    """Cards, their cost, cost per card, paid duplicates and their fees."""
    cards = sum(o.cards for o in groups)
    cost = sum((o.cost for o in groups), ZERO)
    return cards, cost, _per(cost, cards), sum(o.paid for o in groups), sum((o.fees for o in groups), ZERO)


def cost_by_channel(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("month"), lambda o: o.channel)  # the months add up to the channel
    order = [c for c in CHANNELS if c in groups] + sorted(c for c in groups if c not in CHANNELS)
    rows = tuple((CHANNELS.get(c, c), *_money(groups[c])) for c in order)
    return Listing(Table("cost_channels", "Koszt legitymacji według kanału druku", (
        "Kanał", "Karty", "Koszt (zł)", "Koszt na kartę (zł)", "Duplikaty opłacone", "Opłaty za duplikaty (zł)"),
        rows, "Koszt karty: cena zamówienia z zamrożonej wyceny ÷ liczba kart zamówienia; zamówienia złożone "
              "w okresie."), tuple({"channel": c} for c in order))


def cost_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("school"), lambda o: o.school_id)
    rows = tuple((s.name, s.type_label, s.district, *_money(groups[s.id])) for s in data.schools)
    return Listing(Table("cost_schools", "Koszt legitymacji według szkół", (
        "Szkoła", "Typ", "Dzielnica", "Karty", "Koszt (zł)", "Koszt na kartę (zł)", "Duplikaty opłacone",
        "Opłaty za duplikaty (zł)"), rows, "Zamówienia złożone w okresie."),
        tuple({"school_id": s.id} for s in data.schools))


def cost_by_month(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("month"), lambda o: (o.month, o.channel))
    channel_rank = {c: i for i, c in enumerate(CHANNELS)}
    order = sorted(groups, key=lambda k: (k[0], channel_rank.get(k[1], 99), k[1]))
    rows = tuple((month, CHANNELS.get(c, c), *_money(groups[(month, c)])[:3]) for month, c in order)
    return Listing(Table("cost_months", "Koszt legitymacji według miesięcy", (
        "Miesiąc", "Kanał", "Karty", "Koszt (zł)", "Koszt na kartę (zł)"), rows,
        "Miesiąc złożenia zamówienia."), tuple({"month": m, "channel": c} for m, c in order))


def budget_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Spend against the city's budget per calendar year (the budget year of a Polish gmina):
    the cost of the cards whose order was placed in that year, all schools of the city."""
    budgets = {b.year: b for b in _budgets(city_id)}
    spent = aggregates.spent_by_year(city_id)
    rows = []
    years = sorted(set(budgets) | set(spent), reverse=True)
    for year in years:
        b = budgets.get(year)
        amount = Decimal(b.amount).quantize(CENT) if b else None
        cards, used = spent.get(year, (0, ZERO))
        rows.append((year, amount, used, amount - used if amount is not None else None,
                     round(float(100 * used / amount), 1) if amount else None, cards,
                     b.target_date if b else None, b.target_percent if b else None))
    return Listing(Table("budget", "Budżet na legitymacje a wydatki", (
        "Rok", "Budżet (zł)", "Wydano (zł)", "Pozostało (zł)", "Wykorzystanie (%)", "Karty", "Termin celu",
        "Cel: wydane legitymacje (%)"), tuple(rows),
        "Rok kalendarzowy złożenia zamówienia; wszystkie szkoły miasta."), tuple({"year": y} for y in years))


def hologram_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Holograms per school by state for the school years the period touches (the schools'
    ledgers as of their statistics' refresh), and blanks: cards delivered by the printers and
    cards spoiled (ordered in the period)."""
    data = _data(city_id, f, data)
    low, high = f.school_years()
    counts: dict[int, dict[str, int]] = {}
    for school_id, stats in data.stats.items():
        for year, by_state in (stats.hologram_counts or {}).items():
            if (low is None or int(year) >= low) and (high is None or int(year) <= high):
                mine = counts.setdefault(school_id, defaultdict(int))
                for state, n in by_state.items():
                    mine[state] += n
    delivered, spoiled = defaultdict(int), defaultdict(int)
    for o in data.ordered("school"):
        delivered[o.school_id] += o.delivered
        spoiled[o.school_id] += o.spoiled
    rows = []
    for school in data.schools:
        c = counts.get(school.id, {})
        rows.append((school.name, sum(c.values()), c.get("issued", 0), c.get("voided", 0), c.get("destroyed", 0),
                     c.get("in_stock", 0), delivered[school.id], spoiled[school.id]))
    return Listing(Table("holograms", "Hologramy i blankiety w szkołach", (
        "Szkoła", "Hologramy przyjęte", "Wydane", "Unieważnione", "Zniszczone", "Na stanie",
        "Karty dostarczone (zużyte blankiety)", "Karty zepsute"), tuple(rows),
        "Hologramy z ewidencji szkół za lata szkolne okresu; karty z zamówień złożonych w okresie."),
        tuple({"school_id": s.id} for s in data.schools))


# --- the cards behind the numbers --------------------------------------------------------------

_FACT_COLUMNS = (CardFact.school_id, CardFact.order_id, CardFact.channel, CardFact.printer_id,
                 CardFact.kind, CardFact.status, CardFact.applied_on, CardFact.submitted_on, CardFact.delivered_on,
                 CardFact.handed_over_on, CardFact.promised_days, CardFact.cost, CardFact.fee,
                 CardFact.print_rejections)


def _state(state: str, f: Filters):
    """The SQL condition of a FACT_STATES key (None: no condition)."""
    judged, on_time = aggregates.judged(f) == 1, aggregates.on_time() == 1
    return {
        "w_obiegu": CardFact.status.in_(LIVE_CARD_STATUSES),
        "dostarczone": CardFact.status.in_(DELIVERED),
        "wydane": CardFact.status == "handed_over",
        "dostawa": CardFact.delivered_on.is_not(None),
        "zepsute": CardFact.status == "spoiled",
        "odrzucone": CardFact.print_rejections > 0,
        "oplacone": CardFact.fee > 0,
        "ocenione": judged,
        "terminowe": on_time,
        "spoznione": and_(judged, ~on_time),
    }.get(state)


def _fact_where(city_id: int, f: Filters, q: FactQuery) -> list:
    where = aggregates.of_schools(CardFact, city_id, f)
    where.append(aggregates.handed_between(f) if q.basis == "wydania" else aggregates.between(CardFact.submitted_on, f))
    if q.school_id is not None:
        where.append(CardFact.school_id == q.school_id)
    if q.printer:
        where.append(CardFact.printer_id.is_(None) if q.printer == "wlasna" else CardFact.printer_id == int(q.printer))
    if q.channel:
        where.append(CardFact.channel == q.channel)
    if q.kind:
        where.append(CardFact.kind == q.kind)
    if q.month:
        first = dt.date(int(q.month[:4]), int(q.month[5:]), 1)
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        where += [CardFact.submitted_on >= first, CardFact.submitted_on < following]
    state = _state(q.state, f)
    if state is not None:
        where.append(state)
    return where


def fact_count(city_id: int, f: Filters, q: FactQuery | None = None) -> int:
    """How many cards `fact_list` lists (all its pages)."""
    return db.session.scalar(select(func.count()).select_from(CardFact).where(
        *_fact_where(city_id, f, q or FactQuery()))) or 0


def fact_list(city_id: int, f: Filters, q: FactQuery | None = None, *, limit: int | None = None,
              offset: int = 0, keys: bool = True) -> Listing:
    """The cards behind the numbers, one row each, newest order first, without anything personal
    (no card number): all of them, or `limit` from `offset` (a page). `keys=False` leaves out
    what each row stands for (a download links nowhere)."""
    q = q or FactQuery()
    lead = aggregates.day_diff(CardFact.handed_over_on, CardFact.applied_on)
    stmt = (select(*_FACT_COLUMNS, lead.label("lead"), aggregates.judged(f).label("judged"),
                   aggregates.on_time().label("on_time")).where(*_fact_where(city_id, f, q))
            .order_by(CardFact.submitted_on.desc().nulls_last(), CardFact.order_id.desc(), CardFact.id.desc()))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    facts = scoping.plain_rows(stmt)  # a year's cards: the ORM's work per row would cost more than the query
    names = {s.id: s.name for s in _all_schools(city_id)}
    printers = printer_names({fact[3] for fact in facts})
    printers[None] = OWN_PRINTERS
    verdict = {(1, 1): "tak", (1, 0): "nie", (0, 1): "", (0, 0): ""}
    rows = [(names.get(school_id, ""), order_id, CHANNELS.get(channel, channel), printers.get(printer_id, ""),
             KINDS.get(kind, kind), CARD_STATES.get(status, status), applied_on, submitted_on, delivered_on,
             handed_over_on, lead, promised_days, verdict[judged, on_time], cost, fee, rejections)
            for (school_id, order_id, channel, printer_id, kind, status, applied_on, submitted_on, delivered_on,
                 handed_over_on, promised_days, cost, fee, rejections, lead, judged, on_time) in facts]
    return Listing(Table("facts", "Legitymacje (dane zbiorcze, bez danych osobowych)", (
        "Szkoła", "Zamówienie nr", "Kanał", "Drukarnia", "Rodzaj", "Stan", "Wniosek", "Zamówienie złożone",
        "Dostarczona", "Wydana", "Dni: wniosek → wydanie", "Obiecany czas realizacji (dni)", "W terminie",
        "Koszt (zł)", "Opłata (zł)", "Odrzucenia przy druku"), tuple(rows),
        "Okres według dnia " + ("wydania legitymacji." if q.basis == "wydania" else "złożenia zamówienia.")),
        tuple({"order_id": fact[1], "school_id": fact[0]} for fact in facts) if keys else ())


# --- orders (live, from the orders themselves) --------------------------------------------------

_PLACED = [s.value for s in OrderStatus if s is not OrderStatus.DRAFT]


def orders_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Cards and money per school from the orders themselves, up to the minute (no refresh, no
    period): every placed order."""
    types = {s.id for s in city_schools(city_id, f)}
    rows = [r for r in queries.city_rollout(city_id) if r.school_id in types]
    return Listing(Table("orders_by_school", "Zamówienia szkół (na bieżąco)", (
        "Szkoła", "Typ", "Zamówione", "Dostarczone", "Wydane", "Cena za kartę (zł)", "Koszt (zł)"),
        tuple((r.school_name, SCHOOL_TYPES.get(r.school_type, r.school_type), r.cards_ordered, r.cards_delivered,
               r.cards_handed_over, r.unit_price, r.total_cost) for r in rows),
        "Wszystkie złożone zamówienia, bez filtra okresu; dostarczone: karty zamówień dostarczonych do szkoły."),
        tuple({"school_id": r.school_id} for r in rows))


def order_list(city_id: int, f: Filters, school_id: int | None = None) -> Listing:
    """Placed orders of the city's schools (metadata only) whose order day is in the period."""
    schools = {s.id: s.name for s in city_schools(city_id, f)}
    if school_id is not None:
        schools = {k: v for k, v in schools.items() if k == school_id}
    zone = _zone()
    stmt = select(PrintOrder.id, PrintOrder.school_id, PrintOrder.printer_id, PrintOrder.channel,
                  PrintOrder.submitted_at, PrintOrder.card_count, PrintOrder.handed_over_count, PrintOrder.status,
                  PrintOrder.total_price, PrintOrder.invoice_gross, PrintOrder.invoice_mismatch).where(
        PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED))
    if school_id is not None:
        stmt = stmt.where(PrintOrder.school_id == school_id)
    if f.date_from is not None:  # a day's bounds in the city's time zone, as UTC
        stmt = stmt.where(PrintOrder.submitted_at >= dt.datetime.combine(f.date_from, dt.time(), tzinfo=zone))
    if f.date_to is not None:
        stmt = stmt.where(PrintOrder.submitted_at < dt.datetime.combine(
            f.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone))
    orders = [o for o in db.session.execute(stmt.order_by(PrintOrder.submitted_at.desc(), PrintOrder.id.desc()))
              if o.school_id in schools]
    printers = printer_names(o.printer_id for o in orders)
    rows, keys = [], []
    for o in orders:
        day = o.submitted_at.astimezone(zone).date() if o.submitted_at else None
        if not f.covers(day):
            continue
        invoice = "" if o.invoice_gross is None else ("nie" if o.invoice_mismatch else "tak")
        rows.append((day, o.id, schools[o.school_id], printers.get(o.printer_id, OWN_PRINTERS),
                     CHANNELS.get(o.channel, o.channel), o.card_count, o.handed_over_count,
                     ORDER_STATES.get(o.status, o.status), o.total_price, o.invoice_gross, invoice))
        keys.append({"order_id": o.id, "school_id": o.school_id})
    return Listing(Table("orders", "Zamówienia szkół", (
        "Złożone", "Zamówienie nr", "Szkoła", "Drukarnia", "Kanał", "Karty", "Wydane", "Stan", "Wycena (zł)",
        "Faktura brutto (zł)", "Faktura zgodna z wyceną"), tuple(rows), "Zamówienia złożone w okresie."),
        tuple(keys))


# Every table the dashboard can export: key → (city_id, filters, fact query, data) → Listing.
TABLES: dict[str, Callable[..., Listing]] = {
    "rollout": lambda c, f, q, d: rollout(c, f, d),
    "forecast": lambda c, f, q, d: forecast(c, f, d),
    "lead_schools": lambda c, f, q, d: lead_by_school(c, f, d),
    "lead_printers": lambda c, f, q, d: lead_by_printer(c, f, d),
    "cost_channels": lambda c, f, q, d: cost_by_channel(c, f, d),
    "cost_schools": lambda c, f, q, d: cost_by_school(c, f, d),
    "cost_months": lambda c, f, q, d: cost_by_month(c, f, d),
    "budget": lambda c, f, q, d: budget_table(c, f, d),
    "holograms": lambda c, f, q, d: hologram_table(c, f, d),
    "facts": lambda c, f, q, d: fact_list(c, f, q, keys=False),  # downloads only: rows without links
    "orders_by_school": lambda c, f, q, d: orders_by_school(c, f, d),
    "orders": lambda c, f, q, d: order_list(c, f, q.school_id if q else None),
}
NEEDS_DATA = {"rollout", "forecast", "lead_schools", "lead_printers", "cost_channels", "cost_schools", "cost_months",
              "holograms"}


def table(key: str, city_id: int, f: Filters, q: FactQuery | None = None) -> Listing:
    if key not in TABLES:
        raise KeyError(key)
    data = load(city_id, f) if key in NEEDS_DATA else None
    return TABLES[key](city_id, f, q or FactQuery(), data)


# --- the overview's tiles and charts -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Overview:
    """The headline numbers for the filters (each shown as a tile linking to its section)."""

    schools: int
    schools_with_stats: int
    computed_oldest: dt.datetime | None
    computed_newest: dt.datetime | None
    pupils_active: int
    pupils_needing_card: int
    cards_handed_over: int
    coverage: float | None
    behind_plan: int
    forecast: int
    lead_median: float | None
    lead_p90: float | None
    on_time: float | None
    cards: int
    cost: Decimal
    cost_per_card: Decimal | None
    fees: Decimal
    budget_year: int
    budget: Decimal | None
    spent: Decimal


def overview(city_id: int, f: Filters, data: Data | None = None, *, rollout_listing: Listing | None = None,
             budget: Listing | None = None) -> Overview:
    """The tiles; `rollout_listing` and `budget` when the caller has built those tables already."""
    data = _data(city_id, f, data)
    stats = [data.stats[s.id] for s in data.schools if s.id in data.stats]
    active = sum(s.pupils_active for s in stats)
    handed = sum(s.cards_handed_over for s in stats)
    behind = sum(1 for key in (rollout_listing or rollout(city_id, f, data)).keys if key["behind"])
    months = data.ordered("month")  # also what the overview's cost tables read
    _n, median, p90, judged, on_time, on_time_share = _lead(data.handed(), months)
    cards, cost, per_card, _paid, fees = _money(months)
    year = f.today.year
    budget_row = next((r for r in (budget or budget_table(city_id, f)).table.rows if r[0] == year), None)
    return Overview(
        schools=len(data.schools), schools_with_stats=len(stats),
        computed_oldest=min((s.computed_at for s in stats), default=None),
        computed_newest=max((s.computed_at for s in stats), default=None),
        pupils_active=active, pupils_needing_card=sum(s.pupils_needing_card for s in stats),
        cards_handed_over=handed, coverage=min(100.0, share(handed, active)) if active else None,
        behind_plan=behind, forecast=sum(s.forecast_first_year for s in stats),
        lead_median=median, lead_p90=p90, on_time=on_time_share, cards=cards, cost=cost.quantize(CENT),
        cost_per_card=per_card, fees=fees.quantize(CENT), budget_year=year,
        budget=budget_row[1] if budget_row else None, spent=budget_row[2] if budget_row else ZERO)


def _column(listing: Listing, name: str) -> list:
    index = listing.table.columns.index(name)
    return [row[index] for row in listing.table.rows]


def rollout_chart(listing: Listing) -> Markup:
    """Per school: cards handed over, waiting at school, on their way, and pupils still without."""
    rows = [(r, k) for r, k in zip(listing.table.rows, listing.keys, strict=True) if k["has_stats"]]
    sub = Listing(dataclasses.replace(listing.table, rows=tuple(r for r, _k in rows)), tuple(k for _r, k in rows))
    ordered, delivered = _column(sub, "Zamówione (ważne)"), _column(sub, "Dostarczone")
    handed, needing = _column(sub, "Wydane"), _column(sub, "Potrzebują legitymacji")
    return charts.stacked_bar_chart("Legitymacje uczniów w szkołach", _column(sub, "Szkoła"), [
        ("wydane", handed), ("w szkole, do wydania", [d - h for d, h in zip(delivered, handed, strict=True)]),
        ("w realizacji", [o - d for o, d in zip(ordered, delivered, strict=True)]), ("bez legitymacji", needing)])


def channel_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Koszt legitymacji na kartę według kanału", _column(listing, "Kanał"),
                            _column(listing, "Koszt na kartę (zł)"), unit="zł")


def month_chart(listing: Listing) -> Markup:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for month, cost in zip(_column(listing, "Miesiąc"), _column(listing, "Koszt (zł)"), strict=True):
        totals[month] += cost
    months = sorted(totals)
    return charts.line_chart("Wydatki na legitymacje według miesięcy", months, [totals[m] for m in months], unit="zł")


def printer_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Mediana realizacji zamówienia według drukarni", _column(listing, "Drukarnia"),
                            _column(listing, "Mediana realizacji: zamówienie → dostawa (dni)"), unit="dni")


def lead_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Mediana czasu od wniosku do wydania według szkół", _column(listing, "Szkoła"),
                            _column(listing, "Mediana: wniosek → wydanie (dni)"), unit="dni")


# --- the city's budget (the one thing the dashboard writes) -------------------------------------


def _whole(value, label: str, low: int, high: int) -> int:
    try:
        return inputs.whole(value, low=low, high=high)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj liczbę całkowitą od {low} do {high}.", "invalid_number") from None


def _amount(value, label: str) -> Decimal:
    """Zł as typed ("250 000,00 zł"), 0 … 9 999 999 999,99 (the column's Numeric(12, 2))."""
    text = str(value or "").lower().replace("zł", "")
    try:
        amount = inputs.amount(text, low=-inputs.MAX_AMOUNT, high=inputs.MAX_AMOUNT)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj kwotę w złotych, np. 250 000,00.", "invalid_amount") from None
    if not ZERO <= amount <= Decimal("9999999999.99"):
        raise OperationError(f"{label}: kwota od 0 do 9 999 999 999,99 zł.", "invalid_amount")
    return amount


def save_budget(city_id: int, form: Mapping[str, str]) -> CityBudget:
    """Record (or change) the city's budget for a calendar year and its rollout target: by
    `target_date`, `target_percent` % of pupils should hold a handed-over card. Flushes."""
    year = _whole(form.get("year"), "Rok", 2020, 2100)
    amount = _amount(form.get("amount"), "Kwota budżetu")
    try:
        target_date = parse_day(form.get("target_date", ""), "Termin celu")
    except FilterError as err:
        raise OperationError(str(err), "invalid_date") from None
    percent_text = (form.get("target_percent") or "").strip().rstrip("%").strip()
    target_percent = _whole(percent_text or "90", "Cel (odsetek uczniów z wydaną legitymacją)", 1, 100)
    budget = db.session.scalar(select(CityBudget).where(CityBudget.city_id == city_id, CityBudget.year == year))
    if budget is None:
        budget = CityBudget(city_id=city_id, year=year)
        db.session.add(budget)
    budget.amount, budget.target_date, budget.target_percent = amount, target_date, target_percent
    budget.updated_at = utcnow()
    db.session.flush()
    return budget
