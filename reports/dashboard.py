"""The city's dashboard as data: every table a `reports.tables.Table` (shown, downloaded as
CSV/XLSX, put in the council's PDF) with, per row, the ids its numbers link to.

Reads only what the city may read under its own row-level policy and what holds no personal
data: `school_stats` and `card_facts` (reports.statistics, where every definition is), print
orders' metadata, organisations, the city's budgets and its schools' hologram rows (counts).
Never pupils, applications or cards.

Filters (`Filters`): a period (default: the current school year, 1 September – 31 August),
a school type and a district. The period applies to card facts by the day their order was
placed (`submitted_on`: cards ordered, money, on-time delivery, printers' rejections), except
the waiting time from application to handover, which counts the cards handed over in the
period (`handed_over_on`). Holograms count for the school years the period touches. The
rollout snapshot (`SchoolStats`) is "as of" its refresh and has no period. The budget table is
city-wide (all schools, by calendar year of the order).

Percentiles interpolate linearly between ranks, as PostgreSQL's `percentile_cont`; days are
calendar days; shares are percentages with one decimal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Mapping
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup
from sqlalchemy import and_
from sqlalchemy import extract
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from infra.db import db
from infra.db import utcnow
from printing.models import CityBudget
from printing.models import OrderStatus
from printing.models import PrintOrder
from reports import charts
from reports import queries
from reports.models import CardFact
from reports.models import SchoolStats
from reports.tables import Table
from tenants import holograms
from tenants.hologram_models import Hologram
from tenants.models import LIVE_CARD_STATUSES
from tenants.models import Organisation
from tenants.models import OrgKind
from tenants.models import SchoolType
from tenants.operations import OperationError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

CHANNELS = {"external": "drukarnia zewnętrzna", "city_centre": "miejskie centrum druku", "own": "drukarka szkoły"}
KINDS = {"first": "pierwsza", "replacement": "wymiana", "duplicate": "duplikat"}
CARD_STATES = {"ordered": "zamówiona", "printed": "wydrukowana", "delivered": "w szkole, do wydania",
               "handed_over": "wydana", "spoiled": "zepsuta", "invalidated": "unieważniona"}
ORDER_STATES = {"submitted": "złożone", "rendering": "przygotowanie paczki", "ready": "paczka gotowa",
                "failed": "błąd paczki", "accepted": "przyjęte przez drukarnię",
                "rejected": "odrzucone przez drukarnię", "downloaded": "pobrane przez drukarnię",
                "printed": "wydrukowane", "shipped": "wysłane", "delivered": "dostarczone do szkoły"}
SCHOOL_TYPES = {"primary": "szkoła podstawowa", "liceum": "liceum ogólnokształcące", "technikum": "technikum",
                "branzowa": "szkoła branżowa", "special": "szkoła specjalna", "adult": "szkoła dla dorosłych",
                "preschool": "przedszkole"}
OWN_PRINTERS = "drukarki szkół (własne)"
DELIVERED = ("delivered", "handed_over")


# --- filters ----------------------------------------------------------------------------------


class FilterError(OperationError):
    """A filter the dashboard cannot apply; the message is Polish, for the user."""


def school_year_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """1 September – 31 August of the school year `today` is in."""
    start = today.year if today.month >= 9 else today.year - 1
    return dt.date(start, 9, 1), dt.date(start + 1, 8, 31)


def _day(value: str, label: str) -> dt.date | None:
    text = (value or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 2000 <= day.year <= 2100:
            return day
    raise FilterError(f"{label}: podaj datę w formacie dd.mm.rrrr (lata 2000–2100).", "invalid_date")


@dataclasses.dataclass(frozen=True)
class Filters:
    """The dashboard's filters. A period end left empty is open."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    school_type: str = ""
    district: str = ""
    today: dt.date = dataclasses.field(default_factory=dt.date.today)

    @classmethod
    def default(cls, today: dt.date | None = None) -> Filters:
        today = today or dt.date.today()
        start, end = school_year_period(today)
        return cls(start, end, today=today)

    def covers(self, day: dt.date | None) -> bool:
        if day is None:
            return self.date_from is None and self.date_to is None
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)

    def school_years(self) -> tuple[int | None, int | None]:
        """The school years (2025 = 2025/26) the period touches; None: open."""
        return (holograms.school_year_of(self.date_from) if self.date_from else None,
                holograms.school_year_of(self.date_to) if self.date_to else None)

    def args(self) -> dict[str, str]:
        """The query-string form, period always explicit (an empty end is open)."""
        return {"od": self.date_from.isoformat() if self.date_from else "",
                "do": self.date_to.isoformat() if self.date_to else "",
                "typ": self.school_type, "dzielnica": self.district}

    def describe(self) -> str:
        period = (f"{self.date_from:%d.%m.%Y}" if self.date_from else "…") + "–" + (
            f"{self.date_to:%d.%m.%Y}" if self.date_to else "…")
        parts = [f"okres {period}" if self.date_from or self.date_to else "cały okres"]
        if self.school_type:
            parts.append(f"typ szkoły: {SCHOOL_TYPES.get(self.school_type, self.school_type)}")
        if self.district:
            parts.append(f"dzielnica: {self.district}")
        return "; ".join(parts)


def parse_filters(args: Mapping[str, str], today: dt.date | None = None) -> Filters:
    """Filters from a query string: `od`, `do` (rrrr-mm-dd or dd.mm.rrrr; both absent: the
    current school year; present but empty: open), `typ` (a school type), `dzielnica`."""
    today = today or dt.date.today()
    if "od" not in args and "do" not in args:
        start, end = school_year_period(today)
    else:
        start, end = _day(args.get("od", ""), "Data „od”"), _day(args.get("do", ""), "Data „do”")
    if start and end and start > end:
        raise FilterError("Początek okresu jest późniejszy niż jego koniec.", "invalid_period")
    school_type = (args.get("typ") or "").strip()
    if school_type and school_type not in {t.value for t in SchoolType}:
        raise FilterError("Nieznany typ szkoły.", "invalid_school_type")
    district = " ".join((args.get("dzielnica") or "").split())[:100]
    return Filters(start, end, school_type, district, today)


FACT_STATES = {
    "w_obiegu": "ważne (zamówione, w druku, w szkole lub wydane)",
    "dostarczone": "w szkole lub wydane",
    "wydane": "wydane",
    "dostawa": "dostarczone przez drukarnię",
    "zepsute": "zepsute",
    "odrzucone": "odrzucone przy druku",
    "oplacone": "duplikaty z opłatą",
    "ocenione": "z oceną terminowości",
    "terminowe": "dostarczone w terminie",
    "spoznione": "spóźnione",
}


@dataclasses.dataclass(frozen=True)
class FactQuery:
    """Which card facts a list shows, beyond `Filters`: a school, a printer (its id, or "wlasna"
    for schools' own printers), a channel, a kind, a state (FACT_STATES), a month of the order
    (rrrr-mm), and the day the period applies to: the order's (`zlozenia`) or the handover's
    (`wydania`)."""

    school_id: int | None = None
    printer: str = ""
    channel: str = ""
    kind: str = ""
    state: str = ""
    month: str = ""
    basis: str = "zlozenia"

    def args(self) -> dict[str, str]:
        values = {"szkola": str(self.school_id or ""), "drukarnia": self.printer, "kanal": self.channel,
                  "rodzaj": self.kind, "stan": self.state, "miesiac": self.month, "wg": self.basis}
        return {k: v for k, v in values.items() if v and not (k == "wg" and v == "zlozenia")}


def parse_fact_query(args: Mapping[str, str]) -> FactQuery:
    def text(name: str) -> str:
        return (args.get(name) or "").strip()

    school = text("szkola")
    if school and not re.fullmatch(r"[0-9]{1,18}", school):
        raise FilterError("Nieprawidłowa szkoła.", "invalid_school")
    printer = text("drukarnia")
    if printer and printer != "wlasna" and not re.fullmatch(r"[0-9]{1,18}", printer):
        raise FilterError("Nieprawidłowa drukarnia.", "invalid_printer")
    checks = (("kanal", CHANNELS, "Nieznany kanał druku."), ("rodzaj", KINDS, "Nieznany rodzaj legitymacji."),
              ("stan", FACT_STATES, "Nieznany stan legitymacji."), ("wg", ("zlozenia", "wydania"),
                                                                      "Nieznana podstawa okresu."))
    for name, allowed, message in checks:
        if text(name) and text(name) not in allowed:
            raise FilterError(message, "invalid_filter")
    month = text("miesiac")
    if month and not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise FilterError("Miesiąc: podaj w formacie rrrr-mm.", "invalid_month")
    return FactQuery(int(school) if school else None, printer, text("kanal"), text("rodzaj"), text("stan"), month,
                     text("wg") or "zlozenia")


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


@dataclasses.dataclass
class Data:
    """The rows a page needs, read once: the city's schools under the filters, their statistics
    and every card fact of theirs (all dates; each table applies the period itself)."""

    city_id: int
    filters: Filters
    schools: list[School]
    stats: dict[int, SchoolStats]
    facts: list
    printers: dict[int, str]


_FACT_COLUMNS = (CardFact.id, CardFact.school_id, CardFact.order_id, CardFact.channel, CardFact.printer_id,
                 CardFact.kind, CardFact.status, CardFact.applied_on, CardFact.submitted_on, CardFact.delivered_on,
                 CardFact.handed_over_on, CardFact.promised_days, CardFact.cost, CardFact.fee,
                 CardFact.print_rejections)


def city_schools(city_id: int, f: Filters | None = None) -> list[School]:
    stmt = select(Organisation.id, Organisation.name, Organisation.school_type, Organisation.district).where(
        Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == city_id)
    if f is not None and f.school_type:
        stmt = stmt.where(Organisation.school_type == f.school_type)
    if f is not None and f.district:
        stmt = stmt.where(Organisation.district == f.district)
    return [School(i, n, t or "", d or "") for i, n, t, d in db.session.execute(stmt.order_by(Organisation.name))]


def districts(city_id: int) -> list[str]:
    return sorted({s.district for s in city_schools(city_id) if s.district})


def _between(column, f: Filters):
    clauses = [column.is_not(None)]
    if f.date_from is not None:
        clauses.append(column >= f.date_from)
    if f.date_to is not None:
        clauses.append(column <= f.date_to)
    return and_(*clauses)


def load(city_id: int, f: Filters) -> Data:
    schools = city_schools(city_id, f)
    ids = [s.id for s in schools]
    stats = {s.school_id: s for s in db.session.scalars(
        select(SchoolStats).where(SchoolStats.city_id == city_id, SchoolStats.school_id.in_(ids)))}
    stmt = select(*_FACT_COLUMNS).where(CardFact.city_id == city_id, CardFact.school_id.in_(ids))
    if f.date_from is not None or f.date_to is not None:  # only facts either basis of the period can use
        stmt = stmt.where(or_(_between(CardFact.submitted_on, f), _between(CardFact.handed_over_on, f)))
    facts = db.session.execute(stmt.order_by(CardFact.id)).all()
    printer_ids = {fact.printer_id for fact in facts if fact.printer_id is not None}
    printers = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_(sorted(printer_ids)))).all()) if printer_ids else {}
    return Data(city_id, f, schools, stats, facts, printers)


# --- measures ---------------------------------------------------------------------------------


def percentile(values: list, q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont), one decimal."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 1)


def share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _per(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else None


def lead_days(fact) -> int | None:
    """Days from the application to the handover."""
    if fact.applied_on is None or fact.handed_over_on is None:
        return None
    return (fact.handed_over_on - fact.applied_on).days


def punctual(fact, today: dt.date) -> bool | None:
    """Was the card delivered within the promised days of its order? True / False; a card not
    delivered is late once the promise has passed, unless it was spoiled or invalidated before
    delivery; None while the promise still runs or when there is none."""
    if fact.promised_days is None or fact.submitted_on is None:
        return None
    if fact.delivered_on is not None:
        return (fact.delivered_on - fact.submitted_on).days <= fact.promised_days
    if fact.status not in LIVE_CARD_STATUSES:
        return None
    return False if today > fact.submitted_on + dt.timedelta(days=fact.promised_days) else None


def _ordered_in(data: Data) -> list:
    return [fact for fact in data.facts if data.filters.covers(fact.submitted_on)]


def _handed_in(data: Data) -> list:
    return [fact for fact in data.facts if fact.handed_over_on is not None and data.filters.covers(fact.handed_over_on)]


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


def computed_range(city_id: int, f: Filters | None = None) -> tuple[dt.datetime | None, dt.datetime | None, int]:
    """When the statistics of the city's schools (under the filters) were last computed: the
    oldest and the newest refresh, and how many schools have none yet."""
    ids = [s.id for s in city_schools(city_id, f)]
    times = list(db.session.scalars(select(SchoolStats.computed_at).where(
        SchoolStats.city_id == city_id, SchoolStats.school_id.in_(ids))))
    return min(times, default=None), max(times, default=None), len(ids) - len(times)


def current_target(city_id: int, today: dt.date) -> CityBudget | None:
    """The plan in force: the budget year whose target date passed last (None before any)."""
    return db.session.scalar(select(CityBudget).where(
        CityBudget.city_id == city_id, CityBudget.target_date.is_not(None), CityBudget.target_date <= today)
        .order_by(CityBudget.target_date.desc()).limit(1))


def next_target(city_id: int, today: dt.date) -> CityBudget | None:
    return db.session.scalar(select(CityBudget).where(
        CityBudget.city_id == city_id, CityBudget.target_date.is_not(None), CityBudget.target_date > today)
        .order_by(CityBudget.target_date).limit(1))


def coverage(stats: SchoolStats | None) -> float | None:
    """Share of the school's active pupils holding a handed-over e-card (at most 100 %)."""
    if stats is None or not stats.pupils_active:
        return None
    return min(100.0, share(stats.cards_handed_over, stats.pupils_active))


# --- tables -----------------------------------------------------------------------------------


def _data(city_id: int, f: Filters, data: Data | None) -> Data:
    return data if data is not None else load(city_id, f)


def rollout(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Per school, as of its last refresh: pupils, applications, cards, paper cards,
    mLegitymacja; a school is behind plan when, after the target date of the plan in force
    (`current_target`), its coverage is below the target percentage."""
    data = _data(city_id, f, data)
    target = current_target(city_id, f.today)
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


def _lead(facts_handed: list, facts_ordered: list, today: dt.date) -> tuple:
    days = [d for d in (lead_days(fact) for fact in facts_handed) if d is not None]
    judged = [p for p in (punctual(fact, today) for fact in facts_ordered) if p is not None]
    on_time = sum(1 for p in judged if p)
    return (len(facts_handed), percentile(days, 0.5), percentile(days, 0.9), len(judged), on_time,
            share(on_time, len(judged)))


def lead_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    handed, ordered = defaultdict(list), defaultdict(list)
    for fact in _handed_in(data):
        handed[fact.school_id].append(fact)
    for fact in _ordered_in(data):
        ordered[fact.school_id].append(fact)
    rows = tuple((s.name, *_lead(handed[s.id], ordered[s.id], f.today)) for s in data.schools)
    return Listing(Table("lead_schools", "Czas oczekiwania na legitymację — szkoły", (
        "Szkoła", "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)",
        "Dostawy ocenione", "W terminie", "W terminie (%)"), rows,
        "Czas od wniosku do wydania: legitymacje wydane w okresie. Terminowość: karty z zamówień złożonych w "
        "okresie, dostarczone w obiecanym czasie realizacji (karta niedostarczona po terminie jest spóźniona)."),
        tuple({"school_id": s.id} for s in data.schools))


def _printer_key(fact) -> str:
    return str(fact.printer_id) if fact.printer_id is not None else "wlasna"


def lead_by_printer(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    handed, ordered = defaultdict(list), defaultdict(list)
    channel: dict[str, str] = {}
    for fact in _handed_in(data):
        handed[_printer_key(fact)].append(fact)
    for fact in _ordered_in(data):
        ordered[_printer_key(fact)].append(fact)
        channel[_printer_key(fact)] = fact.channel
    for key, facts in handed.items():
        channel.setdefault(key, facts[0].channel)

    def name(key: str) -> str:
        return OWN_PRINTERS if key == "wlasna" else data.printers.get(int(key), f"drukarnia {key}")

    printer_keys = sorted(set(handed) | set(ordered), key=lambda k: (k == "wlasna", name(k)))
    rows, keys = [], []
    for key in printer_keys:
        cards = ordered[key]
        n, median, p90, judged, on_time, on_time_share = _lead(handed[key], cards, f.today)
        making = [(fact.delivered_on - fact.submitted_on).days for fact in cards
                  if fact.delivered_on is not None and fact.submitted_on is not None]
        rejected = sum(1 for fact in cards if fact.print_rejections > 0)
        rows.append((name(key), CHANNELS.get(channel[key], channel[key]), len(cards), percentile(making, 0.5),
                     n, median, p90, judged, on_time_share, rejected, share(rejected, len(cards))))
        keys.append({"printer": key})
    return Listing(Table("lead_printers", "Drukarnie: terminowość i odrzucenia", (
        "Drukarnia", "Kanał", "Karty zamówione w okresie", "Mediana realizacji: zamówienie → dostawa (dni)",
        "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)", "Dostawy ocenione",
        "W terminie (%)", "Karty odrzucone przy druku", "Odrzucenia (%)"), tuple(rows),
        "Odrzucenia: karty, które drukarnia choć raz odrzuciła, wśród kart zamówionych w okresie."), tuple(keys))


def _money(facts: list) -> tuple[int, Decimal, Decimal | None, int, Decimal]:
    cost = sum((Decimal(fact.cost) for fact in facts), ZERO)
    paid = [fact for fact in facts if fact.fee and Decimal(fact.fee) > 0]
    return len(facts), cost, _per(cost, len(facts)), len(paid), sum((Decimal(x.fee) for x in paid), ZERO)


def cost_by_channel(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = defaultdict(list)
    for fact in _ordered_in(data):
        groups[fact.channel].append(fact)
    order = [c for c in CHANNELS if c in groups] + sorted(c for c in groups if c not in CHANNELS)
    rows = tuple((CHANNELS.get(c, c), *_money(groups[c])) for c in order)
    return Listing(Table("cost_channels", "Koszt legitymacji według kanału druku", (
        "Kanał", "Karty", "Koszt (zł)", "Koszt na kartę (zł)", "Duplikaty opłacone", "Opłaty za duplikaty (zł)"),
        rows, "Koszt karty: cena zamówienia z zamrożonej wyceny ÷ liczba kart zamówienia; zamówienia złożone "
              "w okresie."), tuple({"channel": c} for c in order))


def cost_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = defaultdict(list)
    for fact in _ordered_in(data):
        groups[fact.school_id].append(fact)
    rows = tuple((s.name, s.type_label, s.district, *_money(groups[s.id])) for s in data.schools)
    return Listing(Table("cost_schools", "Koszt legitymacji według szkół", (
        "Szkoła", "Typ", "Dzielnica", "Karty", "Koszt (zł)", "Koszt na kartę (zł)", "Duplikaty opłacone",
        "Opłaty za duplikaty (zł)"), rows, "Zamówienia złożone w okresie."),
        tuple({"school_id": s.id} for s in data.schools))


def cost_by_month(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = defaultdict(list)
    for fact in _ordered_in(data):
        groups[(f"{fact.submitted_on:%Y-%m}", fact.channel)].append(fact)
    channel_rank = {c: i for i, c in enumerate(CHANNELS)}
    order = sorted(groups, key=lambda k: (k[0], channel_rank.get(k[1], 99), k[1]))
    rows = tuple((month, CHANNELS.get(c, c), *_money(groups[(month, c)])[:3]) for month, c in order)
    return Listing(Table("cost_months", "Koszt legitymacji według miesięcy", (
        "Miesiąc", "Kanał", "Karty", "Koszt (zł)", "Koszt na kartę (zł)"), rows,
        "Miesiąc złożenia zamówienia."), tuple({"month": m, "channel": c} for m, c in order))


def budget_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Spend against the city's budget per calendar year (the budget year of a Polish gmina):
    the cost of the cards whose order was placed in that year, all schools of the city."""
    budgets = {b.year: b for b in db.session.scalars(select(CityBudget).where(CityBudget.city_id == city_id))}
    spent: dict[int, Decimal] = defaultdict(lambda: ZERO)
    cards: dict[int, int] = defaultdict(int)
    year_of = extract("year", CardFact.submitted_on)
    for year, cost, count in db.session.execute(
            select(year_of, func.sum(CardFact.cost), func.count()).where(
                CardFact.city_id == city_id, CardFact.submitted_on.is_not(None)).group_by(year_of)):
        spent[int(year)] += Decimal(str(cost or 0))
        cards[int(year)] += count
    rows = []
    years = sorted(set(budgets) | set(spent), reverse=True)
    for year in years:
        b = budgets.get(year)
        amount = Decimal(b.amount).quantize(CENT) if b else None
        used = spent[year].quantize(CENT)
        rows.append((year, amount, used, amount - used if amount is not None else None,
                     round(float(100 * used / amount), 1) if amount else None, cards[year],
                     b.target_date if b else None, b.target_percent if b else None))
    return Listing(Table("budget", "Budżet na legitymacje a wydatki", (
        "Rok", "Budżet (zł)", "Wydano (zł)", "Pozostało (zł)", "Wykorzystanie (%)", "Karty", "Termin celu",
        "Cel: wydane legitymacje (%)"), tuple(rows),
        "Rok kalendarzowy złożenia zamówienia; wszystkie szkoły miasta."), tuple({"year": y} for y in years))


def hologram_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Holograms per school by state for the school years the period touches (the schools'
    ledgers), and blanks: cards delivered by the printers and cards spoiled (ordered in the period)."""
    data = _data(city_id, f, data)
    ids = [s.id for s in data.schools]
    low, high = f.school_years()
    where = [Hologram.school_id.in_(ids)]
    if low is not None:
        where.append(Hologram.school_year >= low)
    if high is not None:
        where.append(Hologram.school_year <= high)
    counts = holograms.state_counts(Hologram.school_id, *where)
    delivered, spoiled = defaultdict(int), defaultdict(int)
    for fact in _ordered_in(data):
        delivered[fact.school_id] += fact.delivered_on is not None
        spoiled[fact.school_id] += fact.status == "spoiled"
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


def _fact_matches(fact, q: FactQuery, today: dt.date) -> bool:
    if q.school_id is not None and fact.school_id != q.school_id:
        return False
    if q.printer and _printer_key(fact) != q.printer:
        return False
    if q.channel and fact.channel != q.channel:
        return False
    if q.kind and fact.kind != q.kind:
        return False
    if q.month and (fact.submitted_on is None or f"{fact.submitted_on:%Y-%m}" != q.month):
        return False
    state = q.state
    if state == "w_obiegu":
        return fact.status in LIVE_CARD_STATUSES
    if state == "dostarczone":
        return fact.status in DELIVERED
    if state == "wydane":
        return fact.status == "handed_over"
    if state == "dostawa":
        return fact.delivered_on is not None
    if state == "zepsute":
        return fact.status == "spoiled"
    if state == "odrzucone":
        return fact.print_rejections > 0
    if state == "oplacone":
        return bool(fact.fee) and Decimal(fact.fee) > 0
    if state in ("ocenione", "terminowe", "spoznione"):
        on_time = punctual(fact, today)
        return on_time is not None if state == "ocenione" else on_time is (state == "terminowe")
    return True


def fact_list(city_id: int, f: Filters, q: FactQuery | None = None, data: Data | None = None) -> Listing:
    """The cards behind the numbers, one row each, without anything personal (no card number)."""
    data = _data(city_id, f, data)
    q = q or FactQuery()
    names = {s.id: s.name for s in data.schools}
    facts = _handed_in(data) if q.basis == "wydania" else _ordered_in(data)
    facts = sorted((fact for fact in facts if _fact_matches(fact, q, f.today)),
                   key=lambda x: (x.submitted_on or dt.date.min, x.order_id, x.id), reverse=True)
    rows = []
    for fact in facts:
        on_time = punctual(fact, f.today)
        rows.append((names.get(fact.school_id, ""), fact.order_id, CHANNELS.get(fact.channel, fact.channel),
                     OWN_PRINTERS if fact.printer_id is None else data.printers.get(fact.printer_id, ""),
                     KINDS.get(fact.kind, fact.kind), CARD_STATES.get(fact.status, fact.status), fact.applied_on,
                     fact.submitted_on, fact.delivered_on, fact.handed_over_on, lead_days(fact), fact.promised_days,
                     "" if on_time is None else ("tak" if on_time else "nie"), Decimal(fact.cost).quantize(CENT),
                     Decimal(fact.fee).quantize(CENT), fact.print_rejections))
    return Listing(Table("facts", "Legitymacje (dane zbiorcze, bez danych osobowych)", (
        "Szkoła", "Zamówienie nr", "Kanał", "Drukarnia", "Rodzaj", "Stan", "Wniosek", "Zamówienie złożone",
        "Dostarczona", "Wydana", "Dni: wniosek → wydanie", "Obiecany czas realizacji (dni)", "W terminie",
        "Koszt (zł)", "Opłata (zł)", "Odrzucenia przy druku"), tuple(rows),
        "Okres według dnia " + ("wydania legitymacji." if q.basis == "wydania" else "złożenia zamówienia.")),
        tuple({"order_id": fact.order_id, "school_id": fact.school_id} for fact in facts))


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
    stmt = select(PrintOrder).where(
        PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED), PrintOrder.school_id.in_(list(schools)))
    if f.date_from is not None:  # a day's bounds in the city's time zone, as UTC
        stmt = stmt.where(PrintOrder.submitted_at >= dt.datetime.combine(f.date_from, dt.time(), tzinfo=zone))
    if f.date_to is not None:
        stmt = stmt.where(PrintOrder.submitted_at < dt.datetime.combine(
            f.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone))
    orders = list(db.session.scalars(stmt.order_by(PrintOrder.submitted_at.desc(), PrintOrder.id.desc())))
    rows, keys = [], []
    printers = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_(sorted({o.printer_id for o in orders if o.printer_id})))).all()) if orders else {}
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
    "facts": lambda c, f, q, d: fact_list(c, f, q, d),
    "orders_by_school": lambda c, f, q, d: orders_by_school(c, f, d),
    "orders": lambda c, f, q, d: order_list(c, f, q.school_id if q else None),
}
NEEDS_DATA = {"rollout", "forecast", "lead_schools", "lead_printers", "cost_channels", "cost_schools", "cost_months",
              "holograms", "facts"}


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


def overview(city_id: int, f: Filters, data: Data | None = None) -> Overview:
    data = _data(city_id, f, data)
    stats = [data.stats[s.id] for s in data.schools if s.id in data.stats]
    active = sum(s.pupils_active for s in stats)
    handed = sum(s.cards_handed_over for s in stats)
    behind = sum(1 for key in rollout(city_id, f, data).keys if key["behind"])
    days = [d for d in (lead_days(fact) for fact in _handed_in(data)) if d is not None]
    ordered = _ordered_in(data)
    judged = [p for p in (punctual(fact, f.today) for fact in ordered) if p is not None]
    cards, cost, per_card, _paid, fees = _money(ordered)
    year = f.today.year
    budget_row = next((r for r in budget_table(city_id, f).table.rows if r[0] == year), None)
    return Overview(
        schools=len(data.schools), schools_with_stats=len(stats),
        computed_oldest=min((s.computed_at for s in stats), default=None),
        computed_newest=max((s.computed_at for s in stats), default=None),
        pupils_active=active, pupils_needing_card=sum(s.pupils_needing_card for s in stats),
        cards_handed_over=handed, coverage=min(100.0, share(handed, active)) if active else None,
        behind_plan=behind, forecast=sum(s.forecast_first_year for s in stats),
        lead_median=percentile(days, 0.5), lead_p90=percentile(days, 0.9),
        on_time=share(sum(1 for p in judged if p), len(judged)), cards=cards, cost=cost.quantize(CENT),
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
    text = str(value or "").strip()
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise OperationError(f"{label}: podaj liczbę całkowitą od {low} do {high}.", "invalid_number")
    return int(text)


def _amount(value, label: str) -> Decimal:
    text = str(value or "").lower().replace("zł", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(text)
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise OperationError(f"{label}: podaj kwotę w złotych, np. 250 000,00.", "invalid_amount") from None
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if not ZERO <= amount < Decimal("10000000000"):
        raise OperationError(f"{label}: kwota od 0 do 9 999 999 999,99 zł.", "invalid_amount")
    return amount


def save_budget(city_id: int, form: Mapping[str, str]) -> CityBudget:
    """Record (or change) the city's budget for a calendar year and its rollout target: by
    `target_date`, `target_percent` % of pupils should hold a handed-over card. Flushes."""
    year = _whole(form.get("year"), "Rok", 2020, 2100)
    amount = _amount(form.get("amount"), "Kwota budżetu")
    try:
        target_date = _day(form.get("target_date", ""), "Termin celu")
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
