"""The centralisation scenarios (`reports.scenarios`) as report tables, for their CSV and XLSX
downloads: the comparison of the options, the pooled orders of each city-wide option and the
schools' lines. Built from the same `Comparison` the page shows, so every total in a download is
the page's total to the grosz (docs/city.md "Scenariusze centralizacji")."""

from __future__ import annotations

from reports.scenarios import Comparison
from reports.scenarios import Scenario
from reports.tables import Table

KEYS = ("porownanie", "zamowienia-zbiorcze", "szkoly")


def option_name(result: Comparison, s: Scenario) -> str:
    """The option as the page names it."""
    if s.key == result.status_quo.key:
        return s.name
    return f"{'Centrum druku' if s in result.centres else 'Zamówienie miasta'}: {s.name}"


def _options(result: Comparison) -> tuple[Scenario, ...]:
    return (result.status_quo, *result.pooled, *result.centres)


def _assumptions(result: Comparison) -> str:
    a = result.assumptions
    first, last = a.period
    dates = ", ".join(f"{d:%d.%m.%Y}" for d in a.dates)
    return (f"Rok szkolny {first:%d.%m.%Y}–{last:%d.%m.%Y}; zamówienia zbiorcze miasta w dniach: {dates}; "
            f"czas realizacji drukarni: {'z warunków drukarni' if a.printer_lead_days is None else a.printer_lead_days}"
            f"; centrum druku: {'z profilu kosztów' if a.centre_lead_days is None else a.centre_lead_days}.")


def comparison(result: Comparison) -> Table:
    """One row per option: orders, cards, total, per card, the difference to the status quo, the
    season surcharge and the off-season total of pooled orders, the fixed costs of a centre, days."""
    base = result.status_quo.total
    rows = []
    for s in _options(result):
        pooled = bool(s.pooled)
        rows.append((option_name(result, s), s.orders, s.cards, s.total, s.per_card,
                     None if s.total is None or base is None or s is result.status_quo else s.total - base,
                     s.surcharge if pooled else None, s.off_season if pooled else None,
                     s.fixed if s.fixed else None, _days(s.lead_days), s.note))
    return Table("porownanie", "Scenariusze centralizacji: porównanie",
                 ("Wariant", "Zamówienia", "Karty", "Razem (zł)", "Za kartę (zł)", "Różnica (zł)",
                  "Dopłata sezonowa (zł)", "Poza sezonem (zł)", "W tym koszty stałe (zł)", "Dni do karty", "Uwagi"),
                 tuple(rows), note=_assumptions(result))


def _days(value):
    """Days to the card (a Decimal of one place) as a float: every writer prints a float with one
    decimal ("17,1"), as the page does, where a Decimal would be printed as an amount ("17,10")."""
    return None if value is None else float(value)


def pooled_orders(result: Comparison) -> Table:
    """Every pooled order of every city-wide option: its day, cards, schools, season and price."""
    rows = tuple((s.name, p.day, p.cards, p.schools, "tak" if p.in_season else "nie", p.unit_price, p.surcharge,
                  p.shipping, p.total) for s in result.pooled for p in s.pooled)
    return Table("zamowienia-zbiorcze", "Scenariusze centralizacji: zamówienia zbiorcze",
                 ("Drukarnia", "Dzień zamówienia", "Karty", "Szkoły", "W sezonie drukarni", "Cena z progu (zł)",
                  "Dopłata sezonowa (zł)", "Wysyłka (zł)", "Razem (zł)"), rows, note=_assumptions(result))


def schools(result: Comparison) -> Table:
    """One row per school and option (long form: a spreadsheet filters and pivots it): the school's
    cards, its share of the option's total, per card and days, in the page's order of schools."""
    options = _options(result)
    lookups = [(option_name(result, s), {line.school_id: line for line in s.schools}) for s in options]
    rows = []
    for line in result.status_quo.schools:
        name = result.school_names.get(line.school_id, f"#{line.school_id}")
        for option, lookup in lookups:
            mine = lookup.get(line.school_id)
            if mine is not None:
                rows.append((name, option, mine.cards, mine.total, mine.per_card, _days(mine.lead_days)))
    return Table("szkoly", "Scenariusze centralizacji: szkoły",
                 ("Szkoła", "Wariant", "Karty", "Razem (zł)", "Za kartę (zł)", "Dni do karty"), tuple(rows),
                 note=_assumptions(result))


TABLES = {"porownanie": comparison, "zamowienia-zbiorcze": pooled_orders, "szkoly": schools}
