"""What the city dashboard's tests share (tests/reports/test_dashboard.py, test_listings.py,
test_city_data.py, test_budgets.py; tests/tenants/test_scoping.py): the `seeded` city
(tests/reports/test_statistics.py `seed_cities`, refreshed, with budgets), reading a table as a
page builds it, reading a page's HTML tables, and checking the aggregates against the card list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from infra.db import db
from printing.models import CityBudget
from reports import dashboard
from reports import statistics
from reports.filters import FactQuery
from reports.filters import Filters
from reports.labels import CARD_STATES
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.reports.test_statistics import seed_cities
from tests.reports.test_statistics import truth  # noqa: F401 (the superuser fixture)


@pytest.fixture
def seeded(app, world, database, snapshots):
    """`seed_cities`, refreshed, with the city's budgets: built once per run, laid back for each
    test (tests.snapshots), so a test may change it."""
    def build():
        seed = seed_cities(app, world)
        with app.app_context():
            assert statistics.refresh_all() == 4
            with tenant_scope(Tenant(city_id=seed.city)):  # the plan in force: 50 % by yesterday
                db.session.add(CityBudget(city_id=seed.city, year=seed.today.year, amount=Decimal("500.00"),
                                          target_date=seed.today - dt.timedelta(days=1), target_percent=50))
                db.session.add(CityBudget(city_id=seed.city, year=seed.today.year - 1, amount=Decimal("300.00"),
                                          target_date=None, target_percent=90))
                db.session.commit()
        return seed

    return snapshots.lay("reports.dashboard", build)


def recent(seed) -> Filters:
    return Filters(seed.today - dt.timedelta(days=120), seed.today, today=seed.today)


def earlier(seed) -> Filters:
    return Filters(seed.today - dt.timedelta(days=500), seed.today - dt.timedelta(days=121), today=seed.today)


def listing(app, seed, key: str, f: Filters, q=None, city=None):
    with app.app_context(), tenant_scope(Tenant(city_id=city or seed.city)):
        return dashboard.table(key, city or seed.city, f, q)


def by_first(table) -> dict:
    return {row[0]: row for row in table.rows}


def col(table, name: str) -> int:
    return table.columns.index(name)


# --- the pages ------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The report tables of a page: {section id: [[cell text, …], …]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("class") == "report":
            self.section = attrs["id"]
            self.tables[self.section] = []
        elif tag == "tr" and self.section:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.section].append(self.row)
            self.row = None
        elif tag == "section":
            self.section = None


def page_tables(html: str) -> dict:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def norm(value: str) -> str:
    value = value.replace("\u00a0", "").replace(" ", "")
    return "" if value == "—" else value


PAGES = {"/miasto/": ("orders_by_school", "holograms"), "/miasto/wdrozenie": ("rollout", "forecast", "forecast_check"),
         "/miasto/czas-oczekiwania": ("lead_schools", "lead_printers"),
         "/miasto/wydatki": ("cost_channels", "cost_schools", "cost_months", "budget"),
         "/miasto/hologramy": ("holograms",), "/miasto/karty": ("facts",), "/miasto/zamowienia": ("orders",),
         "/miasto/budzet": ("budget",), "/miasto/raporty": ()}


# --- the card list --------------------------------------------------------------------------------


def check_against_the_card_list(city: int, f: Filters) -> None:
    """The aggregates (waiting days, punctuality, money) against the card list, and the list's
    own 'Dni' and 'W terminie' against the rules worked out here from each card's dates."""
    live = {CARD_STATES[s] for s in ("ordered", "printed", "delivered", "handed_over")}

    def punctual(table, row):
        sub, came = row[col(table, "Zamówienie złożone")], row[col(table, "Dostarczona")]
        promised, state = row[col(table, "Obiecany czas realizacji (dni)")], row[col(table, "Stan")]
        if promised is None or sub is None:
            return ""
        if came is not None:
            return "tak" if (came - sub).days <= promised else "nie"
        return "nie" if state in live and f.today > sub + dt.timedelta(days=promised) else ""

    lead = dashboard.table("lead_schools", city, f)
    cost = by_first(dashboard.table("cost_schools", city, f).table)
    checked = 0
    for row, key in zip(lead.table.rows, lead.keys, strict=True):
        handed = dashboard.table("facts", city, f, FactQuery(school_id=key["school_id"], basis="wydania"))
        t = handed.table
        days = [(r[col(t, "Wydana")] - r[col(t, "Wniosek")]).days if r[col(t, "Wniosek")] else None for r in t.rows]
        assert days == [r[col(t, "Dni: wniosek → wydanie")] for r in t.rows]
        known = [d for d in days if d is not None]
        assert (len(days), dashboard.percentile(known, 0.5), dashboard.percentile(known, 0.9)) == row[1:4]
        ordered = dashboard.table("facts", city, f, FactQuery(school_id=key["school_id"])).table
        worked_out = [punctual(ordered, r) for r in ordered.rows]
        assert worked_out == [r[col(ordered, "W terminie")] for r in ordered.rows]
        assert (sum(p != "" for p in worked_out), worked_out.count("tak")) == row[4:6]
        assert (len(ordered.rows), sum(r[col(ordered, "Cena z zamówienia (zł)")] for r in ordered.rows)) == \
            (cost[row[0]][3], cost[row[0]][7])  # the cards and their orders' prices
        checked += len(days) + len(ordered.rows)
    assert checked > 0
