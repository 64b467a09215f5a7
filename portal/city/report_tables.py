"""The city's report tables as HTML: how a value is shown, the link from each number to the list
behind it, and the table's rows.

A city's page holds thousands of cells, so the rows are built here in Python rather than by a
Jinja macro per cell, and each page's links come from `Urls`, which builds every distinct URL
once (`url_for` per cell cost more than all of a page's SQL).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from markupsafe import escape

from infra import inputs
from reports.city_data import Listing
from reports.filters import Filters

_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")
_NUMBERS = (int, float, Decimal)  # exact types: bool, a subclass of int, is written as a word


def _query(args: dict) -> str:
    """`urlencode(args)` without the empty values; ids and keywords need no quoting, so the common
    case skips urlencode (it was a tenth of a large page's time)."""
    args = {k: str(v) for k, v in args.items() if v not in (None, "")}
    if all(_PLAIN.fullmatch(v) for v in args.values()):
        return "&".join(f"{k}={v}" for k, v in args.items())
    return urlencode(args)


def cell(value) -> str:
    """A table value as the page shows it (exports keep the raw values)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("tak") if value else _("nie")
    if isinstance(value, inputs.Month):
        return inputs.format_month(value)
    if isinstance(value, dt.date):
        return inputs.format_day(value)
    if isinstance(value, Decimal):
        return inputs.format_amount(value)
    if isinstance(value, float):
        return inputs.format_number(value, 1)
    return str(value)


def numeric_columns(listing: Listing) -> list[bool]:
    table = listing.table
    return [any(isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool) for r in table.rows)
            and all(r[i] is None or (isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool))
                    for r in table.rows) for i in range(len(table.columns))]


class Urls:
    """The lists behind one page's numbers, under the page's filters."""

    def __init__(self, f: Filters) -> None:
        self.f = f
        self._memo: dict = {}

    def _prefix(self, endpoint: str, **overrides) -> str:
        """The endpoint's URL with the filters (and `overrides`), ready for more query arguments."""
        key = (endpoint, tuple(overrides.items()))
        if key not in self._memo:
            url = url_for(endpoint, **{**self.f.args(), **overrides})
            self._memo[key] = url + ("&" if "?" in url else "?")
        return self._memo[key]

    def facts(self, *, open_period: bool = False, **query) -> str:
        """The card list narrowed by `query` (FactQuery's arguments); the whole period if `open_period`."""
        key = ("facts", open_period, tuple(query.items()))
        if key not in self._memo:
            prefix = self._prefix("city.facts", od="", do="") if open_period else self._prefix("city.facts")
            self._memo[key] = prefix + _query(query)
        return self._memo[key]

    def year(self, year: int) -> str:
        """The card list of a calendar year, all schools."""
        return self._prefix("city.facts", od=f"{year}-01-01", do=f"{year}-12-31", typ="", dzielnica="")[:-1]

    def orders(self, school_id: int) -> str:
        key = ("orders", school_id)
        if key not in self._memo:
            self._memo[key] = self._prefix("city.orders", od="", do="") + _query({"szkola": school_id})
        return self._memo[key]

    def school(self, school_id: int, anchor: str = "") -> str:
        key = ("school", school_id)
        if key not in self._memo:
            self._memo[key] = url_for("city.school", school_id=school_id)
        return self._memo[key] + (f"#{anchor}" if anchor else "")


def _link_rules(key: str, urls: Urls) -> dict:
    """{column: (row key → url)} for the columns of table `key` that lead to a list."""
    # the school's numbers on its page (the parts of the need are there too, not linked cell by cell)
    pupils = ("Uczniowie", "Potrzebują legitymacji", "Bez zdjęcia", "Wnioski oczekujące", "Wnioski (wszystkie)",
              "mLegitymacja", "Pokrycie (%)")
    if key == "rollout":
        rules = {c: (lambda k: urls.school(k["school_id"], "stan")) for c in pupils}
        rules.update({
            "Szkoła": lambda k: urls.school(k["school_id"]),
            "Zamówione (ważne)": lambda k: urls.facts(open_period=True, szkola=k["school_id"], stan="w_obiegu"),
            "Dostarczone": lambda k: urls.facts(open_period=True, szkola=k["school_id"], stan="dostarczone"),
            "Wydane": lambda k: urls.facts(open_period=True, szkola=k["school_id"], stan="wydane")})
        return rules
    if key in ("forecast", "forecast_check"):  # the city's total row (school_id None) links nowhere
        return {c: (lambda k: urls.school(k["school_id"], "prognoza") if k["school_id"] else None) for c in (
            "Szkoła", "Prognoza kart")}
    if key == "lead_schools":
        return {"Szkoła": lambda k: urls.school(k["school_id"]),
                **{c: (lambda k: urls.facts(szkola=k["school_id"], wg="wydania")) for c in (
                    "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)")},
                "Dostawy ocenione": lambda k: urls.facts(szkola=k["school_id"], stan="ocenione"),
                "W terminie": lambda k: urls.facts(szkola=k["school_id"], stan="terminowe"),
                "W terminie (%)": lambda k: urls.facts(szkola=k["school_id"], stan="terminowe")}
    if key == "lead_printers":
        return {**{c: (lambda k: urls.facts(drukarnia=k["printer"])) for c in (
                    "Karty zamówione w okresie", "Mediana realizacji: zamówienie → dostawa (dni)")},
                **{c: (lambda k: urls.facts(drukarnia=k["printer"], wg="wydania")) for c in (
                    "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)")},
                "Dostawy ocenione": lambda k: urls.facts(drukarnia=k["printer"], stan="ocenione"),
                "W terminie (%)": lambda k: urls.facts(drukarnia=k["printer"], stan="terminowe"),
                **{c: (lambda k: urls.facts(drukarnia=k["printer"], stan="odrzucone")) for c in (
                    "Karty odrzucone przy druku", "Odrzucenia (%)")}}
    if key in ("cost_channels", "cost_schools"):
        by = (lambda k: {"kanal": k["channel"]}) if key == "cost_channels" else (lambda k: {"szkola": k["school_id"]})
        rules = {c: (lambda k, by=by: urls.facts(**by(k))) for c in (
            "Karty", "Koszt dla miasta (zł)", "Koszt dla miasta na kartę (zł)", "Cena z zamówień (zł)",
            "Cena z zamówień na kartę (zł)")}
        rules.update({c: (lambda k, by=by: urls.facts(stan="oplacone", **by(k))) for c in (
            "Duplikaty opłacone", "Opłaty za duplikaty (zł)")})
        if key == "cost_schools":
            rules["Szkoła"] = lambda k: urls.school(k["school_id"])
        return rules
    if key == "cost_months":
        return {c: (lambda k: urls.facts(miesiac=k["month"], kanal=k["channel"])) for c in (
            "Miesiąc", "Karty", "Koszt dla miasta (zł)", "Koszt dla miasta na kartę (zł)", "Cena z zamówień (zł)",
            "Cena z zamówień na kartę (zł)")}
    if key == "budget":
        return {"Wydano (zł)": lambda k: urls.year(k["year"]), "Karty": lambda k: urls.year(k["year"])}
    if key == "holograms":
        return {"Karty dostarczone (zużyte blankiety)": lambda k: urls.facts(szkola=k["school_id"], stan="dostawa"),
                "Karty zepsute": lambda k: urls.facts(szkola=k["school_id"], stan="zepsute")}
    if key in ("facts", "orders"):
        return {"Szkoła": lambda k: urls.school(k["school_id"])}
    if key == "orders_by_school":
        return {"Szkoła": lambda k: urls.school(k["school_id"]),
                **{c: (lambda k: urls.orders(k["school_id"])) for c in (
                    "Zamówione", "Dostarczone", "Wydane", "Cena z zamówień za kartę (zł)", "Cena z zamówień (zł)")}}
    return {}


def links(listing: Listing, urls: Urls) -> list[list[str | None]]:
    rules = _link_rules(listing.table.key, urls)
    columns = listing.table.columns
    return [[rules[c](key) if c in rules and row[i] not in (None, "") else None for i, c in enumerate(columns)]
            for row, key in zip(listing.table.rows, listing.keys, strict=True)]


def rows_html(listing: Listing, links: list[list[str | None]], numeric: list[bool], strong: tuple[int, ...] = ()
              ) -> Markup:
    """The table's <tr> rows: each value formatted by `cell`, `numeric` columns right-aligned, a
    link where `links` has one, a school behind plan highlighted; one row saying so when there
    are none."""
    cells = ['<td class="num">' if n else "<td>" for n in numeric]
    out = []
    for row, key, row_links in zip(listing.table.rows, listing.keys, links, strict=True):
        out.append('<tr class="row-behind">' if key.get("behind") else "<tr>")
        for j, value in enumerate(row):
            # a number's text (digits, signs, commas, no-break spaces) needs no escaping
            text = cell(value) if type(value) in _NUMBERS else escape(cell(value))
            if j in strong:
                text = f"<strong>{text}</strong>"
            if row_links[j]:
                text = f'<a href="{escape(row_links[j])}">{text}</a>'
            out.append(f"{cells[j]}{text}</td>")
        out.append("</tr>\n")
    if not out:
        empty = escape(_("Brak danych dla wybranych filtrów."))
        out.append(f'<tr><td colspan="{len(listing.table.columns)}" class="muted">{empty}</td></tr>')
    return Markup("".join(out))  # noqa: S704 (every value and link above went through escape())


def block(listing: Listing, f: Filters, *, chart=None, query: dict | None = None, urls: Urls | None = None,
          strong: tuple[int, ...] = ()) -> dict:
    """What the report-table macro needs: the listing, its rows as HTML, its downloads (same
    filters and `query`), a chart."""
    urls = urls or Urls(f)
    args = {**f.args(), **(query or {})}
    numeric = numeric_columns(listing)
    return {"listing": listing, "numeric": numeric, "rows": rows_html(listing, links(listing, urls), numeric, strong),
            "chart": chart,
            "csv": url_for("city.export", key=listing.table.key, fmt="csv", **args),
            "xlsx": url_for("city.export", key=listing.table.key, fmt="xlsx", **args)}
