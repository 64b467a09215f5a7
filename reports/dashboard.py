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
grouped rows, not the period's cards; only the list of cards (reports.listings.fact_list) reads
single facts, a page at a time. Holograms come from the schools' statistics (their ledgers at
the refresh). What a page reads, it reads once, into the `Data` it passes to every table
(reports.city_data); the budgets and their form are reports.budgets.

Percentiles interpolate linearly between ranks, as PostgreSQL's `percentile_cont`; days are
calendar days; shares are percentages with one decimal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from decimal import ROUND_HALF_UP
from decimal import Decimal

from markupsafe import Markup

from infra import inputs
from printing.models import CityBudget
from reports import aggregates
from reports import budgets
from reports import charts
from reports import forecast
from reports.aggregates import Handed
from reports.aggregates import Ordered
from reports.city_data import Data
from reports.city_data import Listing
from reports.city_data import load
from reports.city_data import local_time
from reports.city_data import printer_names
from reports.filters import FactQuery
from reports.filters import Filters
from reports.labels import CHANNELS
from reports.labels import OWN_PRINTERS
from reports.listings import fact_list
from reports.listings import order_list
from reports.listings import orders_by_school
from reports.models import SchoolStats
from reports.tables import Table

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# --- measures ---------------------------------------------------------------------------------


def percentile(values: Iterable, q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont), one decimal."""
    return aggregates.percentile(((v, 1) for v in values), q)


def one_decimal(value) -> float:
    """`value` (int, Decimal, a fraction's exact Decimal) rounded half up to one decimal, as every
    figure is rounded for showing (reports/real_cost.py): 9,25 → 9,3, where Python's round() of
    a float would give 9,2. Computed in Decimal from the exact value, not from a float."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)  # 0.1 as written, not its binary
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal, rounded half up (1 of 16 → 6,3)."""
    return one_decimal(Decimal(100 * part) / whole) if whole else None


def _per(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else None


def coverage(stats: SchoolStats | None) -> float | None:
    """Share of the school's active pupils holding a valid card in hand: a handed-over e-card or a
    valid paper card (docs/domain.md §26)."""
    if stats is None:
        return None
    return share_of(stats.pupils_valid_ecard + stats.paper_cards, stats.pupils_active)


def share_of(in_hand: int, active: int) -> float | None:
    """`coverage` from the two counts: pupils with a valid card in hand, active pupils."""
    if not active:
        return None
    return min(100.0, share(in_hand, active))


# --- tables -----------------------------------------------------------------------------------


def _data(city_id: int, f: Filters, data: Data | None) -> Data:
    """The page's reads, or fresh ones for a table asked for alone (reports.city_data)."""
    return data if data is not None else load(city_id, f)


ROLLOUT_HINTS = {
    "Uczniowie": "Uczniowie uczący się obecnie w szkole (status: aktywny).",
    "Ważna e-legitymacja": "Uczniowie, którym wydano e-legitymację (karta wydana, nieunieważniona).",
    "Ważna legitymacja papierowa": "Uczniowie z legitymacją papierową wydaną przed 13.07.2024: ważna do ukończenia "
                                   "nauki w tej szkole (pismo Miasta Szczecin z 29.07.2024, procedury szkół); "
                                   "to nie jest praca do wykonania.",
    "W tym z dawnej ewidencji": "Z uczniów z ważną legitymacją (e- albo papierową): ci, których legitymacja pochodzi "
                                "z ewidencji prowadzonej przed Legitką i zaimportowanej przez szkołę (np. karty "
                                "zamówione przez e-dziennik).",
    "Potrzebują legitymacji": "Praca do wykonania: nowo przyjęci bez legitymacji + legitymacje, które straciły "
                              "ważność + otwarte wnioski o wymianę lub duplikat.",
    "Nowo przyjęci bez legitymacji": "Uczniowie bez ważnej legitymacji, którzy w tej szkole nigdy jej nie mieli "
                                     "(także przeniesieni z innej szkoły: legitymacja jest ważna tylko w szkole, "
                                     "która ją wydała).",
    "Legitymacja straciła ważność": "Uczniowie bez ważnej legitymacji, których e-legitymacja została unieważniona "
                                    "albo legitymacja papierowa przestała być ważna.",
    "Wnioski: wymiana, duplikat": "Uczniowie z ważną legitymacją i otwartym wnioskiem o wymianę (także papierowej "
                                  "na e-legitymację) lub duplikat, do wydania nowej karty.",
    "Pokrycie (%)": "Odsetek uczniów z ważną legitymacją w ręku: e-legitymacja wydana albo ważna papierowa.",
    "Za planem": "Po terminie celu odsetek uczniów z ważną legitymacją jest niższy niż cel.",
}


def _hints(columns: tuple[str, ...], hints: dict[str, str]) -> tuple[str, ...]:
    return tuple(hints.get(c, "") for c in columns)


def rollout(city_id: int, f: Filters, data: Data | None = None, target: CityBudget | None = None) -> Listing:
    """Per school, as of its last refresh: pupils by the card they hold (a handed-over e-card, a
    valid paper card), those who need one and why, applications, cards, mLegitymacja; a school
    is behind plan when, after the target date of the plan in force
    (`reports.budgets.current_target`, or `target` when the caller has read it), the share of its
    pupils holding a valid card is below the target percentage (docs/domain.md §26)."""
    data = _data(city_id, f, data)
    target = target or budgets.current_target(data.budgets, f.today)
    rows, keys = [], []
    for school in data.schools:
        s = data.stats.get(school.id)
        cover = coverage(s)
        behind = bool(target and cover is not None and cover < target.target_percent)
        numbers = (s.pupils_active, s.pupils_valid_ecard, s.paper_cards, s.valid_cards_imported,
                   s.pupils_needing_card, s.needing_new, s.needing_invalidated, s.needing_requests,
                   s.pupils_without_photo, s.applications_open, s.applications_total, s.cards_ordered,
                   s.cards_delivered, s.cards_handed_over, s.mleg_registered) if s else (None,) * 15
        plan = ("tak" if behind else "nie") if target and cover is not None else ""
        rows.append((school.name, school.type_label, school.district, *numbers, cover, plan,
                     local_time(s.computed_at) if s else ""))
        keys.append({"school_id": school.id, "behind": behind, "has_stats": s is not None})
    note = ("Stan na chwilę ostatniego przeliczenia (kolumna „Stan na”); liczby dotyczą uczniów uczących się w "
            "szkole. Legitymacje papierowe wydane przed 13.07.2024 są ważne do ukończenia nauki w szkole, która je "
            "wydała — ich posiadacze nie potrzebują nowej karty.")
    if target:
        note += (f" Za planem: mniej niż {inputs.format_percent(target.target_percent, 0)} uczniów z ważną "
                 f"legitymacją po {inputs.format_day(target.target_date)}.")
    columns = ("Szkoła", "Typ", "Dzielnica", "Uczniowie", "Ważna e-legitymacja", "Ważna legitymacja papierowa",
               "W tym z dawnej ewidencji", "Potrzebują legitymacji", "Nowo przyjęci bez legitymacji",
               "Legitymacja straciła ważność",
               "Wnioski: wymiana, duplikat", "Bez zdjęcia", "Wnioski oczekujące", "Wnioski (wszystkie)",
               "Zamówione (ważne)", "Dostarczone", "Wydane", "mLegitymacja", "Pokrycie (%)", "Za planem", "Stan na")
    return Listing(Table("rollout", "Wdrożenie w szkołach", columns, tuple(rows), note,
                         _hints(columns, ROLLOUT_HINTS)), tuple(keys))


def _coming(s: SchoolStats | None) -> dict | None:
    return (s.forecast or {}).get("coming") if s is not None else None


def _rate(value: float | None) -> float | None:
    return one_decimal(100 * Decimal(repr(value))) if value is not None else None


def forecast_year(data: Data) -> int:
    """The school year the forecast is for: the one starting the September after today."""
    return forecast.running_year(data.filters.today) + 1


FORECAST_HINTS = {
    "Pierwsze klasy (nabór)": "Uczniowie obecnych pierwszych klas (klasa 1, I lub sem. 1): tegoroczny nabór jako "
                              "szacunek przyszłorocznego — Legitka nie zna jeszcze list przyjętych na wrzesień.",
    "Przeniesienia (oczekiwane)": "Wskaźnik przeniesień × uczniowie; przeniesiony uczeń potrzebuje nowej "
                                  "legitymacji (ważna jest tylko w szkole, która ją wydała).",
    "Duplikaty (oczekiwane)": "Wskaźnik duplikatów × uczniowie.",
    "Prognoza kart": "Nabór + przeniesienia + duplikaty (każde zaokrąglone do całych kart).",
    "Przeniesienia na 100 uczniów": "Uczniowie przyjęci z innych szkół miasta w dwóch poprzednich latach szkolnych "
                                    "÷ liczba uczniów w tych latach, × 100.",
    "Duplikaty na 100 uczniów": "Duplikaty zamówione w dwóch poprzednich latach szkolnych ÷ liczba uczniów w tych "
                                "latach, × 100.",
    "Lata bazowe": "Lata szkolne, z których policzono wskaźniki (puste: brak danych z lat ubiegłych).",
}


def forecast_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """The September forecast per school and for the city (reports.forecast): the coming school
    year's first classes, expected transfers and duplicates."""
    data = _data(city_id, f, data)
    rows, keys = [], []
    totals = [0, 0, 0, 0, 0]
    for school in data.schools:
        c = _coming(data.stats.get(school.id))
        if c is None:
            rows.append((school.name, None, None, None, None, None, None, None, ""))
        else:
            numbers = (c["pupils"], c["intake"], c["transfers"], c["duplicates"], c["total"])
            totals = [t + n for t, n in zip(totals, numbers, strict=True)]
            rows.append((school.name, *numbers, _rate(c["transfer_rate"]), _rate(c["duplicate_rate"]),
                         ", ".join(forecast.year_label(y) for y in c["rate_years"])))
        keys.append({"school_id": school.id})
    rows.append(("Razem", *totals, None, None, ""))
    keys.append({"school_id": None})
    year = forecast.year_label(forecast_year(data))
    columns = ("Szkoła", "Uczniowie", "Pierwsze klasy (nabór)", "Przeniesienia (oczekiwane)",
               "Duplikaty (oczekiwane)", "Prognoza kart", "Przeniesienia na 100 uczniów", "Duplikaty na 100 uczniów",
               "Lata bazowe")
    return Listing(Table("forecast", f"Prognoza na wrzesień: nowe legitymacje w roku szkolnym {year}", columns,
                         tuple(rows),
                         "Prognoza = nabór do pierwszych klas + oczekiwane przeniesienia + oczekiwane duplikaty. "
                         "Uczniowie z ważną legitymacją (e-legitymacją lub papierową) nie potrzebują nowej karty "
                         "we wrześniu. Wskaźniki z dwóch poprzednich lat szkolnych.",
                         _hints(columns, FORECAST_HINTS)), tuple(keys))


CHECK_HINTS = {
    "Prognoza z dnia": "Prognoza policzona tak samo jak dzisiejsza, z danych stanu sprzed roku.",
    "Nabór: prognoza": "Uczniowie pierwszych klas rok temu (szacunek naboru na ten rok szkolny).",
    "Nabór: wykonanie": "Uczniowie obecnych pierwszych klas.",
    "Przeniesienia: wykonanie": "Uczniowie przyjęci z innych szkół miasta od 1 września do dnia przeliczenia.",
    "Duplikaty: wykonanie": "Duplikaty zamówione od 1 września do dnia przeliczenia.",
    "Różnica": "Wykonanie − prognoza (dodatnia: prognoza za niska).",
    "Błąd (%)": "|Wykonanie − prognoza| ÷ wykonanie × 100.",
}


def forecast_check(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Last year's forecast (made as of the same day a year ago, the same way) against what the
    school year it forecast has needed so far."""
    data = _data(city_id, f, data)
    rows, keys = [], []
    totals = [0] * 8
    for school in data.schools:
        s = data.stats.get(school.id)
        last, done = ((s.forecast or {}).get("last"), (s.forecast or {}).get("actual")) if s else (None, None)
        if last is None or done is None:
            rows.append((school.name, None, *([None] * 8), None, None))
        else:
            numbers = (last["intake"], done["intake"], last["transfers"], done["transfers"], last["duplicates"],
                       done["duplicates"], last["total"], done["total"])
            totals = [t + n for t, n in zip(totals, numbers, strict=True)]
            rows.append((school.name, dt.date.fromisoformat(last["as_of"]), *numbers, done["total"] - last["total"],
                         _error(last["total"], done["total"])))
        keys.append({"school_id": school.id})
    rows.append(("Razem", None, *totals, totals[7] - totals[6], _error(totals[6], totals[7])))
    keys.append({"school_id": None})
    year = forecast.year_label(forecast.running_year(data.filters.today))
    columns = ("Szkoła", "Prognoza z dnia", "Nabór: prognoza", "Nabór: wykonanie", "Przeniesienia: prognoza",
               "Przeniesienia: wykonanie", "Duplikaty: prognoza", "Duplikaty: wykonanie", "Razem: prognoza",
               "Razem: wykonanie", "Różnica", "Błąd (%)")
    return Listing(Table("forecast_check", f"Prognoza sprzed roku a wykonanie: rok szkolny {year}", columns,
                         tuple(rows),
                         "Prognoza policzona tym samym sposobem na dzień sprzed roku; wykonanie od 1 września do "
                         "przeliczenia statystyk (przeniesienia i duplikaty jeszcze przybywają do końca roku "
                         "szkolnego). Puste wiersze: szkoła nie miała wtedy danych w Legitce.",
                         _hints(columns, CHECK_HINTS)), tuple(keys))


def _error(expected: int, actual: int) -> float | None:
    return one_decimal(Decimal(100 * abs(actual - expected)) / actual) if actual else None


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


def _money(groups: list[Ordered], extra: Decimal = ZERO, fixed: Decimal = ZERO
           ) -> tuple[int, Decimal, Decimal | None, Decimal, Decimal, Decimal | None, int, Decimal]:
    """Cards, what the city really pays for them and per card, of which fixed costs, the orders'
    prices and per card, paid duplicates and their fees. `extra`: real − invoiced of the groups'
    in-house orders (reports.real_cost), `fixed` the fixed costs in it."""
    cards = sum(o.cards for o in groups)
    invoiced = sum((o.cost for o in groups), ZERO)
    real = invoiced + extra
    return (cards, real, _per(real, cards), fixed, invoiced, _per(invoiced, cards), sum(o.paid for o in groups),
            sum((o.fees for o in groups), ZERO))


def _real_extra(data: Data, key: Callable) -> tuple[dict, dict]:
    """({group key: real − invoiced}, {group key: fixed costs}) of the in-house orders placed in
    the period by the filters' schools, grouped by `key(order)` (reports.real_cost)."""
    ids = {s.id for s in data.schools}
    extra: dict = defaultdict(lambda: ZERO)
    fixed: dict = defaultdict(lambda: ZERO)
    for order in data.real.orders:
        if order.school_id in ids and data.filters.covers(order.day):
            extra[key(order)] += data.real.adjustment(order)
            fixed[key(order)] += data.real.costs[order.order_id].fixed
    return extra, fixed


def _month(day: dt.date | None) -> str:
    return f"{day.year:04d}-{day.month:02d}" if day else ""


MONEY_COLUMNS = ("Karty", "Koszt dla miasta (zł)", "Koszt dla miasta na kartę (zł)", "w tym koszty stałe (zł)",
                 "Cena z zamówień (zł)", "Cena z zamówień na kartę (zł)")
MONEY_NOTE = ("Koszt dla miasta: faktury drukarń zewnętrznych (kwota brutto zapisanej faktury, a do jej zapisania "
              "cena z zamrożonej wyceny: próg cenowy, dopłata sezonowa, wysyłka); w centrum druku i we własnej "
              "drukarce szkoły koszt zmienny (blankiet, hologram, "
              "taśma, czas pracy, odpady) × karty + część kosztów stałych roku (drukarka, licencja, zestaw "
              "startowy) według liczby kart wydrukowanych na tej drukarce w roku. Cena z zamówień: cennik "
              "(dla centrum — wewnętrzny). Zamówienia złożone w okresie.")


def cost_by_channel(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("month"), lambda o: o.channel)  # the months add up to the channel
    extra, fixed = _real_extra(data, lambda o: o.channel)
    order = [c for c in CHANNELS if c in groups] + sorted(c for c in groups if c not in CHANNELS)
    rows = tuple((CHANNELS.get(c, c), *_money(groups[c], extra[c], fixed[c])) for c in order)
    return Listing(Table("cost_channels", "Koszt legitymacji według kanału druku", (
        "Kanał", *MONEY_COLUMNS, "Duplikaty opłacone", "Opłaty za duplikaty (zł)"),
        rows, MONEY_NOTE), tuple({"channel": c} for c in order))


def cost_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("school"), lambda o: o.school_id)
    extra, fixed = _real_extra(data, lambda o: o.school_id)
    rows = tuple((s.name, s.type_label, s.district, *_money(groups[s.id], extra[s.id], fixed[s.id]))
                 for s in data.schools)
    return Listing(Table("cost_schools", "Koszt legitymacji według szkół", (
        "Szkoła", "Typ", "Dzielnica", *MONEY_COLUMNS, "Duplikaty opłacone", "Opłaty za duplikaty (zł)"),
        rows, MONEY_NOTE), tuple({"school_id": s.id} for s in data.schools))


def cost_by_month(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    data = _data(city_id, f, data)
    groups = _grouped(data.ordered("month"), lambda o: (o.month, o.channel))
    extra, fixed = _real_extra(data, lambda o: (_month(o.day), o.channel))
    channel_rank = {c: i for i, c in enumerate(CHANNELS)}
    order = sorted(groups, key=lambda k: (k[0], channel_rank.get(k[1], 99), k[1]))
    # The month as inputs.Month: "październik 2026" on the page and in the PDF, "2026-10" in CSV/XLSX.
    rows = tuple((inputs.Month(month) if month else "", CHANNELS.get(c, c),
                  *_money(groups[(month, c)], extra[(month, c)], fixed[(month, c)])[:6]) for month, c in order)
    return Listing(Table("cost_months", "Koszt legitymacji według miesięcy", (
        "Miesiąc", "Kanał", *MONEY_COLUMNS), rows,
        "Miesiąc złożenia zamówienia. " + MONEY_NOTE), tuple({"month": m, "channel": c} for m, c in order))


def budget_table(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Spend against the city's budget per calendar year (the budget year of a Polish gmina):
    the cost of the cards whose order was placed in that year, all schools of the city."""
    data = _data(city_id, f, data)
    by_year = {b.year: b for b in data.budgets}
    spent = aggregates.spent_by_year(city_id)
    for order in data.real.orders:  # in-house orders at their real cost (reports.real_cost)
        if order.day is not None:
            cards, used = spent.get(order.day.year, (0, ZERO))
            spent[order.day.year] = (cards, used + data.real.adjustment(order))
    rows = []
    years = sorted(set(by_year) | set(spent), reverse=True)
    for year in years:
        b = by_year.get(year)
        amount = Decimal(b.amount).quantize(CENT) if b else None
        cards, used = spent.get(year, (0, ZERO))
        rows.append((year, amount, used, amount - used if amount is not None else None,
                     one_decimal(100 * used / amount) if amount else None, cards,
                     b.target_date if b else None, b.target_percent if b else None))
    return Listing(Table("budget", "Budżet na legitymacje a wydatki", (
        "Rok", "Budżet (zł)", "Wydano (zł)", "Pozostało (zł)", "Wykorzystanie (%)", "Karty", "Termin celu",
        "Cel: wydane legitymacje (%)"), tuple(rows),
        "Rok kalendarzowy złożenia zamówienia; wszystkie szkoły miasta. Wydano: koszt dla miasta (faktury; "
        "centrum druku i własne drukarki — koszt zmienny i koszty stałe roku)."), tuple({"year": y} for y in years))


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


# Every table the dashboard can export: key → (city_id, filters, fact query, data) → Listing.
TABLES: dict[str, Callable[..., Listing]] = {
    "rollout": lambda c, f, q, d: rollout(c, f, d),
    "forecast": lambda c, f, q, d: forecast_table(c, f, d),
    "forecast_check": lambda c, f, q, d: forecast_check(c, f, d),
    "lead_schools": lambda c, f, q, d: lead_by_school(c, f, d),
    "lead_printers": lambda c, f, q, d: lead_by_printer(c, f, d),
    "cost_channels": lambda c, f, q, d: cost_by_channel(c, f, d),
    "cost_schools": lambda c, f, q, d: cost_by_school(c, f, d),
    "cost_months": lambda c, f, q, d: cost_by_month(c, f, d),
    "budget": lambda c, f, q, d: budget_table(c, f, d),
    "holograms": lambda c, f, q, d: hologram_table(c, f, d),
    "facts": lambda c, f, q, d: fact_list(c, f, q, keys=False, data=d),  # downloads only: rows without links
    "orders_by_school": lambda c, f, q, d: orders_by_school(c, f, d),
    "orders": lambda c, f, q, d: order_list(c, f, q.school_id if q else None, d),
}


def table(key: str, city_id: int, f: Filters, q: FactQuery | None = None) -> Listing:
    if key not in TABLES:
        raise KeyError(key)
    return TABLES[key](city_id, f, q or FactQuery(), load(city_id, f))  # reads only what the table asks for


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
    paper_cards: int
    valid_ecards: int
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
    holding = sum(s.pupils_valid_ecard + s.paper_cards for s in stats)
    behind = sum(1 for key in (rollout_listing or rollout(city_id, f, data)).keys if key["behind"])
    months = data.ordered("month")  # also what the overview's cost tables read
    _n, median, p90, judged, on_time, on_time_share = _lead(data.handed(), months)
    extra, _fixed = _real_extra(data, lambda o: "all")
    cards, cost, per_card, _fixed_all, _invoiced, _invoiced_per, _paid, fees = _money(months, extra["all"])
    year = f.today.year
    budget_row = next((r for r in (budget or budget_table(city_id, f, data)).table.rows if r[0] == year), None)
    return Overview(
        schools=len(data.schools), schools_with_stats=len(stats),
        computed_oldest=min((s.computed_at for s in stats), default=None),
        computed_newest=max((s.computed_at for s in stats), default=None),
        pupils_active=active, pupils_needing_card=sum(s.pupils_needing_card for s in stats),
        cards_handed_over=handed, coverage=min(100.0, share(holding, active)) if active else None,
        behind_plan=behind, forecast=sum(c["total"] for c in map(_coming, stats) if c),
        paper_cards=sum(s.paper_cards for s in stats), valid_ecards=sum(s.pupils_valid_ecard for s in stats),
        lead_median=median, lead_p90=p90, on_time=on_time_share, cards=cards, cost=cost.quantize(CENT),
        cost_per_card=per_card, fees=fees.quantize(CENT), budget_year=year,
        budget=budget_row[1] if budget_row else None, spent=budget_row[2] if budget_row else ZERO)


def _column(listing: Listing, name: str) -> list:
    index = listing.table.columns.index(name)
    return [row[index] for row in listing.table.rows]


def rollout_chart(listing: Listing) -> Markup:
    """Per school: pupils holding a handed-over e-card or a valid paper card, cards waiting at
    school and on their way, and pupils holding no valid card."""
    rows = [(r, k) for r, k in zip(listing.table.rows, listing.keys, strict=True) if k["has_stats"]]
    sub = Listing(dataclasses.replace(listing.table, rows=tuple(r for r, _k in rows)), tuple(k for _r, k in rows))
    ordered, delivered = _column(sub, "Zamówione (ważne)"), _column(sub, "Dostarczone")
    handed = _column(sub, "Wydane")
    without = [n + i for n, i in zip(_column(sub, "Nowo przyjęci bez legitymacji"),
                                     _column(sub, "Legitymacja straciła ważność"), strict=True)]
    return charts.stacked_bar_chart("Legitymacje uczniów w szkołach", _column(sub, "Szkoła"), [
        ("e-legitymacja wydana", _column(sub, "Ważna e-legitymacja")),
        ("papierowa, ważna", _column(sub, "Ważna legitymacja papierowa")),
        ("w szkole, do wydania", [d - h for d, h in zip(delivered, handed, strict=True)]),
        ("w realizacji", [o - d for o, d in zip(ordered, delivered, strict=True)]),
        ("bez ważnej legitymacji", without)])


def channel_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Koszt legitymacji na kartę według kanału", _column(listing, "Kanał"),
                            _column(listing, "Koszt dla miasta na kartę (zł)"), unit="zł")


def month_chart(listing: Listing) -> Markup:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for month, cost in zip(_column(listing, "Miesiąc"), _column(listing, "Koszt dla miasta (zł)"), strict=True):
        totals[month] += cost
    months = sorted(totals)
    return charts.line_chart("Wydatki na legitymacje według miesięcy",
                             [inputs.format_month(m, short=True) for m in months], [totals[m] for m in months],
                             unit="zł")


def printer_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Mediana realizacji zamówienia według drukarni", _column(listing, "Drukarnia"),
                            _column(listing, "Mediana realizacji: zamówienie → dostawa (dni)"), unit="dni")


def lead_chart(listing: Listing) -> Markup:
    return charts.bar_chart("Mediana czasu od wniosku do wydania według szkół", _column(listing, "Szkoła"),
                            _column(listing, "Mediana: wniosek → wydanie (dni)"), unit="dni")

