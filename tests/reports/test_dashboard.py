"""The city dashboard (reports.dashboard, portal.city): every number equals plain SQL over the
base tables of the seeded city (tests/reports/dashboard_helpers.py `seeded`), the pages show
what the CSV and XLSX downloads hold, the filters do what they say, one city sees nothing of
another, and no page or download carries a pupil's name or PESEL. The lists behind the numbers:
test_listings.py; the page's memo: test_city_data.py; the budget form: test_budgets.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import ROUND_HALF_UP
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import text

from infra import inputs
from infra.db import db
from reports import charts
from reports import city_data
from reports import dashboard
from reports import listings
from reports.filters import FACT_STATES
from reports.filters import Filters
from reports.filters import parse_filters
from reports.tables import to_csv
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.reports.dashboard_helpers import PAGES
from tests.reports.dashboard_helpers import by_first
from tests.reports.dashboard_helpers import check_against_the_card_list
from tests.reports.dashboard_helpers import col
from tests.reports.dashboard_helpers import earlier
from tests.reports.dashboard_helpers import listing
from tests.reports.dashboard_helpers import norm
from tests.reports.dashboard_helpers import page_tables
from tests.reports.dashboard_helpers import recent
from tests.reports.test_statistics import ZONE
from tests.reports.test_statistics import truth  # noqa: F401 (the superuser fixture)
from tests.reports.test_statistics import truth_school_counts

CENT = Decimal("0.01")


# --- the truth --------------------------------------------------------------------------------------

CARDS = f"""
SELECT c.id, c.school_id, c.status, c.handed_over_on, o.printer_id, o.channel, a.kind,
       (o.submitted_at AT TIME ZONE '{ZONE}')::date AS sub,
       LEAST((a.created_at AT TIME ZONE '{ZONE}')::date, (o.submitted_at AT TIME ZONE '{ZONE}')::date) AS applied,
       CASE WHEN o.delivered_at IS NOT NULL AND (c.status IN ('delivered', 'handed_over')
                 OR c.handed_over_on IS NOT NULL OR EXISTS (SELECT 1 FROM order_items i
                     WHERE i.order_id = o.id AND i.card_id = c.id AND i.outcome = 'printed'))
            THEN (o.delivered_at AT TIME ZONE '{ZONE}')::date END AS deliv,
       (o.quote->>'lead_time_days')::int AS promised,
       round(o.total_price / o.card_count, 2) AS cost,
       CASE WHEN a.kind = 'duplicate' AND a.payment_checked_at IS NOT NULL THEN a.payment_amount ELSE 0 END AS fee,
       EXISTS (SELECT 1 FROM order_items i WHERE i.card_id = c.id AND i.outcome = 'rejected') AS rejected
FROM cards c JOIN applications a ON a.id = c.application_id JOIN print_orders o ON o.id = c.order_id
WHERE o.city_id = :city
"""
JUDGED = """(deliv IS NOT NULL OR (status IN ('ordered', 'printed', 'delivered', 'handed_over')
             AND CAST(:today AS date) > sub + promised))"""
ON_TIME = "(deliv IS NOT NULL AND deliv - sub <= promised)"


def sql(engine, query: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(text(query), params).all()


def p(value) -> float | None:
    return None if value is None else round(float(value), 1)


def per(cost, n):
    return (cost / n).quantize(CENT, rounding=ROUND_HALF_UP) if n else None


def pct(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- numbers against SQL --------------------------------------------------------------------------


def test_rollout_forecast_and_plan_equal_the_sql_truth(app, seeded, truth):  # noqa: F811
    table = listing(app, seeded, "rollout", Filters.default(seeded.today)).table
    names = {seeded.a: "Szkoła Podstawowa nr 1", seeded.b: "II Liceum Ogólnokształcące",
             seeded.empty: "Szkoła Podstawowa nr 3"}
    assert sorted(by_first(table)) == sorted(names.values())  # city 2's school is not there
    columns = {"pupils_active": "Uczniowie", "pupils_needing_card": "Potrzebują legitymacji",
               "pupils_without_photo": "Bez zdjęcia", "applications_open": "Wnioski oczekujące",
               "applications_total": "Wnioski (wszystkie)", "cards_ordered": "Zamówione (ważne)",
               "cards_delivered": "Dostarczone", "cards_handed_over": "Wydane",
               "paper_cards": "Ważna legitymacja papierowa", "mleg_registered": "mLegitymacja",
               "pupils_valid_ecard": "Ważna e-legitymacja", "needing_new": "Nowo przyjęci bez legitymacji",
               "needing_invalidated": "Legitymacja straciła ważność", "needing_requests": "Wnioski: wymiana, duplikat"}
    forecast = by_first(listing(app, seeded, "forecast", Filters(today=seeded.today)).table)
    for school_id, name in names.items():
        expected = truth_school_counts(truth, school_id)
        row = by_first(table)[name]
        assert {k: row[col(table, c)] for k, c in columns.items()} == {k: expected[k] for k in columns}
        # Pupils holding a valid card in hand: a handed-over e-card or a valid paper card (docs/domain.md §26).
        cover = pct(expected["pupils_valid_ecard"] + expected["paper_cards"], expected["pupils_active"])
        assert row[col(table, "Pokrycie (%)")] == cover
        assert row[col(table, "Za planem")] == ("tak" if cover < 50 else "nie")
        # No past school years in the seeded city: the forecast is the first classes alone.
        intake = expected["forecast_first_year"]
        assert forecast[name][1:6] == (expected["pupils_active"], intake, 0, 0, intake)
    # A: 7 e-cards in hand + Ala's paper card = 8 of 15 (53.3 %) and B: 2 of 4 meet the 50 % plan;
    # the empty school (0 of 2) is behind. Counting handed-over e-cards alone, A (7 of 15) was behind.
    assert {r[0] for r in table.rows if r[col(table, "Za planem")] == "tak"} == {names[seeded.empty]}


def test_lead_times_and_punctuality_equal_percentile_cont(app, seeded, truth):  # noqa: F811
    for f in (recent(seeded), earlier(seeded)):
        window = {"city": seeded.city, "lo": f.date_from, "hi": f.date_to, "today": seeded.today}
        lead = {r[0]: r[1:] for r in sql(truth, f"""
            SELECT school_id, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY handed_over_on - applied),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY handed_over_on - applied)
            FROM ({CARDS}) c WHERE handed_over_on BETWEEN :lo AND :hi GROUP BY school_id""", **window)}
        punctual = {r[0]: r[1:] for r in sql(truth, f"""
            SELECT school_id, count(*) FILTER (WHERE {JUDGED}), count(*) FILTER (WHERE {ON_TIME})
            FROM ({CARDS}) c WHERE sub BETWEEN :lo AND :hi AND promised IS NOT NULL GROUP BY school_id""", **window)}
        table = listing(app, seeded, "lead_schools", f).table
        ids = {"Szkoła Podstawowa nr 1": seeded.a, "II Liceum Ogólnokształcące": seeded.b,
               "Szkoła Podstawowa nr 3": seeded.empty}
        for name, row in by_first(table).items():
            n, median, p90 = lead.get(ids[name], (0, None, None))
            judged, on_time = punctual.get(ids[name], (0, 0))
            assert row[1:] == (n, p(median), p(p90), judged, on_time, pct(on_time, judged)), (name, f)

        printers = {r[0]: r[1:] for r in sql(truth, f"""
            SELECT coalesce(printer_id::text, 'wlasna'), count(*), count(*) FILTER (WHERE rejected),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY deliv - sub) FILTER (WHERE deliv IS NOT NULL),
                   count(*) FILTER (WHERE {JUDGED} AND promised IS NOT NULL),
                   count(*) FILTER (WHERE {ON_TIME})
            FROM ({CARDS}) c WHERE sub BETWEEN :lo AND :hi GROUP BY 1""", **window)}
        handed = {r[0]: r[1:] for r in sql(truth, f"""
            SELECT coalesce(printer_id::text, 'wlasna'), count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY handed_over_on - applied),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY handed_over_on - applied)
            FROM ({CARDS}) c WHERE handed_over_on BETWEEN :lo AND :hi GROUP BY 1""", **window)}
        result = listing(app, seeded, "lead_printers", f)
        keys = [k["printer"] for k in result.keys]
        assert sorted(keys) == sorted(set(printers) | set(handed))
        for key, row in zip(keys, result.table.rows, strict=True):
            cards, rejected, making, judged, on_time = printers.get(key, (0, 0, None, 0, 0))
            n, median, p90 = handed.get(key, (0, None, None))
            assert row[2:] == (cards, p(making), n, p(median), p(p90), judged, pct(on_time, judged), rejected,
                               pct(rejected, cards)), (key, f)

    # The scenario, spelled out for the recent period: P2 rejected one card of its three.
    rows = by_first(listing(app, seeded, "lead_printers", recent(seeded)).table)
    assert rows["Drukarnia Druga"][col(listing(app, seeded, "lead_printers", recent(seeded)).table,
                                       "Karty odrzucone przy druku")] == 1
    assert rows["drukarki szkół (własne)"][1] == "drukarka szkoły"


def test_money_per_channel_school_month_and_budget_equal_the_sql_truth(app, seeded, truth):  # noqa: F811
    f = Filters(None, None, today=seeded.today)
    every = {"city": seeded.city, "lo": dt.date(2000, 1, 1), "hi": dt.date(2100, 1, 1)}
    channels = {r[0]: r[1:] for r in sql(truth, f"""
        SELECT channel, count(*), sum(cost), count(*) FILTER (WHERE fee > 0), sum(fee)
        FROM ({CARDS}) c WHERE sub BETWEEN :lo AND :hi GROUP BY channel""", **every)}
    names = {"city_centre": "miejskie centrum druku", "external": "drukarnia zewnętrzna", "own": "drukarka szkoły"}
    table = listing(app, seeded, "cost_channels", f).table
    assert len(table.rows) == len(channels) == 3
    zero = Decimal("0.00")  # the seeded centre has no cost profile and B's printer no fixed costs: real = invoiced
    for channel, (n, cost, paid, fees) in channels.items():
        assert by_first(table)[names[channel]][1:] == (n, cost, per(cost, n), zero, cost, per(cost, n), paid, fees)

    schools = {r[0]: r[1:] for r in sql(truth, f"""
        SELECT o.name, count(c.id), sum(c.cost), sum(c.fee) FROM organisations o
        LEFT JOIN ({CARDS}) c ON c.school_id = o.id WHERE o.city_id = :city AND o.kind = 'school'
        GROUP BY o.name""", **every)}
    table = listing(app, seeded, "cost_schools", f).table
    for name, (n, cost, fees) in schools.items():
        row = by_first(table)[name]
        assert (row[3], row[4], row[5], row[7], row[10]) == (n, cost or 0, per(cost, n), cost or 0, fees or 0)

    months = {(r[0], names[r[1]]): r[2:] for r in sql(truth, f"""
        SELECT to_char(sub, 'YYYY-MM'), channel, count(*), sum(cost) FROM ({CARDS}) c GROUP BY 1, 2""", **every)}
    table = listing(app, seeded, "cost_months", f).table
    assert {(r[0], r[1]): r[2:] for r in table.rows} == {
        k: (n, cost, per(cost, n), zero, cost, per(cost, n)) for k, (n, cost) in months.items()}

    years = {int(r[0]): r[1:] for r in sql(truth, f"""
        SELECT extract(year FROM sub), sum(cost), count(*) FROM ({CARDS}) c GROUP BY 1""", **every)}
    budget = by_first(listing(app, seeded, "budget", f).table)
    year = seeded.today.year
    spent, cards = years.get(year, (Decimal("0.00"), 0))
    assert budget[year][1:] == (Decimal("500.00"), spent, Decimal("500.00") - spent,
                                float((100 * spent / Decimal("500.00")).quantize(Decimal("0.1"), ROUND_HALF_UP)),
                                cards,
                                seeded.today - dt.timedelta(days=1), 50)
    assert budget[year - 1][1] == Decimal("300.00")
    # Filters by type or district do not cut the city's budget; other cities' money is not in it.
    assert listing(app, seeded, "budget", Filters(school_type="liceum", today=seeded.today)).table.rows == tuple(
        budget.values())


def test_holograms_and_blanks_equal_the_ledger(app, seeded, truth):  # noqa: F811
    f = Filters(None, None, today=seeded.today)
    ledger = {(r[0], r[1]): r[2] for r in sql(truth, """
        SELECT o.name, h.state, count(*) FROM holograms h JOIN organisations o ON o.id = h.school_id
        WHERE o.city_id = :city GROUP BY 1, 2""", city=seeded.city)}
    blanks = {r[0]: r[1:] for r in sql(truth, f"""
        SELECT o.name, count(*) FILTER (WHERE deliv IS NOT NULL), count(*) FILTER (WHERE status = 'spoiled')
        FROM ({CARDS}) c JOIN organisations o ON o.id = c.school_id GROUP BY 1""", city=seeded.city)}
    table = listing(app, seeded, "holograms", f).table
    for row in table.rows:
        states = [ledger.get((row[0], s), 0) for s in ("issued", "voided", "destroyed", "in_stock")]
        assert row[1:6] == (sum(states), *states)
        assert row[6:] == blanks.get(row[0], (0, 0))
    assert by_first(table)["Szkoła Podstawowa nr 1"][1:6] == (10, 1, 0, 1, 8)
    # The current school year alone: only B's delivery of this year counts.
    this_year = by_first(listing(app, seeded, "holograms", Filters.default(seeded.today)).table)
    assert this_year["Szkoła Podstawowa nr 1"][1] == 0 and this_year["II Liceum Ogólnokształcące"][1] == 20


# --- the pages and their downloads ----------------------------------------------------------------------


def test_exports_hold_what_the_pages_show(app, seeded, browser):
    official = browser(seeded.official)
    period = {"od": (seeded.today - dt.timedelta(days=500)).isoformat(), "do": seeded.today.isoformat()}
    seen = set()
    for url, keys in PAGES.items():
        query = "" if url == "/miasto/budzet" else f"?od={period['od']}&do={period['do']}"
        page = official.get(url + query)
        assert page.status_code == 200, url
        tables = page_tables(page.get_data(as_text=True))
        for key in keys:
            shown = tables[key]
            link = re.search(rf'href="(/miasto/eksport/{key}\.csv[^"]*)"', page.get_data(as_text=True)).group(1)
            exported = official.get(link.replace("&amp;", "&"))
            assert exported.status_code == 200 and exported.mimetype == "text/csv"
            assert exported.data.startswith("\ufeff".encode())
            rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
            assert rows[0] == shown[0]  # the same columns
            body = [r for r in shown[1:] if len(r) == len(shown[0])]
            # the one value written otherwise: a month, "2026-10" in the file (it sorts), "październik 2026" on the page
            exported_rows = [[norm(inputs.format_month(c)) for c in r] for r in rows[1:]]
            assert exported_rows == [[norm(c) for c in r] for r in body], (url, key)

            workbook = official.get(link.replace("&amp;", "&").replace(".csv", ".xlsx"))
            assert workbook.status_code == 200
            assert "attachment" in workbook.headers["Content-Disposition"]
            sheet = load_workbook(io.BytesIO(workbook.data)).active
            values = list(sheet.iter_rows(values_only=True))
            assert list(values[2]) == rows[0]
            assert sheet["A1"].font.b and all(c.font.b for c in sheet[3])  # the title and the header
            assert "Pobrano z Legitki" in values[1][0]
            f = parse_filters({} if url == "/miasto/budzet" else period, seeded.today)
            table = listing(app, seeded, key, f).table
            assert len(values) - 3 == len(table.rows) == len(rows) - 1
            for got, want in zip(values[3:], table.rows, strict=True):
                assert [_xlsx(v) for v in got] == [_xlsx(v) for v in want], key
            for cells, want in zip(sheet.iter_rows(min_row=4), table.rows, strict=True):
                formats = [c.number_format for c in cells]
                assert formats == [_format(v) for v in want] + ["General"] * (len(formats) - len(want)), key
            seen.add(key)
    assert seen == set(dashboard.TABLES)


def _format(value) -> str:
    """How a spreadsheet shows a cell: dates as dd.mm.rrrr, amounts with two decimals."""
    if isinstance(value, Decimal):
        return "#,##0.00"
    return "DD.MM.YYYY" if isinstance(value, dt.date) else "General"


def _xlsx(value):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, Decimal):
        return float(value)
    return None if value == "" else value


def test_weighted_percentile_is_percentile_cont_over_the_single_values():
    from reports import aggregates

    pairs = [(10, 3), (2, 1), (None, 5), (7, 0)]  # 2, 10, 10, 10: unknown days and empty groups left out
    assert (aggregates.percentile(pairs, 0.5), aggregates.percentile(pairs, 0.25)) == (10.0, 8.0)
    for values in ([5], [1, 2], [3, 3, 3, 9], [1, 4, 4, 4, 6, 20, 20]):
        pairs = [(v, values.count(v)) for v in sorted(set(values))]
        for q in (0.0, 0.1, 0.5, 0.9, 1.0):
            ordered = sorted(values)
            pos = (len(ordered) - 1) * q
            low = ordered[int(pos)]
            high = ordered[min(int(pos) + 1, len(ordered) - 1)]
            assert aggregates.percentile(pairs, q) == round(low + (high - low) * (pos - int(pos)), 1), (values, q)
    assert aggregates.percentile([], 0.5) is None and aggregates.percentile([(None, 4)], 0.5) is None


def test_the_page_shows_when_the_statistics_were_computed(app, seeded, browser):
    page = browser(seeded.official).get("/miasto/").get_data(as_text=True)
    assert re.search(r"stan na \d\d\.\d\d\.\d{4} \d\d:\d\d", page)


# --- tenancy and personal data --------------------------------------------------------------------------


def test_a_city_official_sees_nothing_of_another_city(app, seeded, browser):
    first = ["Szkoła Podstawowa nr 1", "II Liceum Ogólnokształcące", "Szkoła Podstawowa nr 3", "Drukarnia Druga"]
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.other_city)):
        data = city_data.load(seeded.other_city, Filters(None, None, today=seeded.today))
        assert [s.name for s in data.schools] == ["Szkoła Podstawowa nr 99 w Drugim"]
        assert {group.school_id for group in data.ordered("school") + data.handed("school")} == {seeded.x}
        # Asking for the first city's data with the second city's tenant: RLS shows nothing.
        stolen = city_data.load(seeded.city, Filters(None, None, today=seeded.today))
        assert stolen.stats == {} and stolen.ordered("school") == [] and stolen.handed("school") == []
        assert listings.fact_list(seeded.city, stolen.filters).table.rows == ()
        assert dashboard.budget_table(seeded.city, stolen.filters).table.rows == ()
        assert listings.order_list(seeded.city, stolen.filters).table.rows == ()
    other = browser(seeded.other_official)
    for url in list(PAGES) + ["/miasto/karty?od=&do=", "/miasto/zamowienia?od=&do="]:
        body = other.get(url).get_data(as_text=True)
        assert not [name for name in first if name in body], url
    for key in dashboard.TABLES:
        body = other.get(f"/miasto/eksport/{key}.csv?od=&do=").get_data(as_text=True)
        assert not [name for name in first if name in body], key
    for url in (f"/miasto/karty?drukarnia={org}&od=&do=" for org in (seeded.a, seeded.p2, seeded.city)):
        body = other.get(url).get_data(as_text=True)  # no other organisation's name in the filter's badge
        assert not [name for name in first + ["Miasto Pierwsze"] if name in body], url
    assert other.get("/miasto/zamowienia?szkola=²").status_code == 404  # not a school: not found, not a 500
    for url in (f"/miasto/szkola/{seeded.a}", f"/miasto/karty?szkola={seeded.a}",
                f"/miasto/zamowienia?szkola={seeded.a}"):
        assert other.get(url).status_code == 404, url
    # The first city's exports for the school of the second: nothing.
    mine = browser(seeded.official)
    assert mine.get(f"/miasto/szkola/{seeded.x}").status_code == 404
    assert "Drugim" not in mine.get("/miasto/eksport/facts.csv?od=&do=").get_data(as_text=True)


def test_no_page_or_download_carries_a_pupils_name_or_pesel(app, seeded, browser):
    official = browser(seeded.official)
    bodies = []
    urls = list(PAGES) + [f"/miasto/szkola/{s}" for s in (seeded.a, seeded.b, seeded.empty)]
    urls += [f"/miasto/karty?od=&do=&stan={state}" for state in FACT_STATES]
    urls += ["/miasto/karty?od=&do=&wg=wydania", "/miasto/zamowienia?od=&do="]
    for url in urls:
        response = official.get(url)
        assert response.status_code == 200, url
        bodies.append(response.data)
    for key in dashboard.TABLES:
        bodies.append(official.get(f"/miasto/eksport/{key}.csv?od=&do=").data)
        with zipfile.ZipFile(io.BytesIO(official.get(f"/miasto/eksport/{key}.xlsx?od=&do=").data)) as book:
            bodies.extend(book.read(name) for name in book.namelist())
    assert len(seeded.names) > 20 and len(seeded.pesels) == len(seeded.names)
    for body in bodies:
        for secret in seeded.names + seeded.pesels:
            assert secret.encode() not in body, secret


def test_only_city_officials_open_the_dashboard(app, seeded, browser):
    director = browser("dyrektor.a@test.pl")
    for url in list(PAGES) + [f"/miasto/szkola/{seeded.a}", "/miasto/eksport/rollout.csv"]:
        assert director.get(url).status_code == 404, url
    assert director.post("/miasto/budzet", {"year": "2026", "amount": "1"}).status_code == 404


# --- filters ------------------------------------------------------------------------------------------------


def test_filters_change_the_numbers(app, seeded):
    every = Filters(None, None, today=seeded.today)
    liceum = Filters(None, None, "liceum", today=seeded.today)
    west = Filters(None, None, district="Zachód", today=seeded.today)
    assert [r[0] for r in listing(app, seeded, "rollout", liceum).table.rows] == ["II Liceum Ogólnokształcące"]
    assert [r[0] for r in listing(app, seeded, "rollout", west).table.rows] == [
        "II Liceum Ogólnokształcące", "Szkoła Podstawowa nr 3"]
    cards = {f: sum(r[1] for r in listing(app, seeded, "cost_channels", f).table.rows)
             for f in (every, liceum, recent(seeded), earlier(seeded))}
    assert cards[every] == 12 + 3 == cards[recent(seeded)] + cards[earlier(seeded)]
    assert cards[liceum] == 3 and cards[earlier(seeded)] == 3  # B's far order and A's two old cards
    assert listing(app, seeded, "cost_months", earlier(seeded)).table.rows != listing(
        app, seeded, "cost_months", recent(seeded)).table.rows
    handed = {f: sum(r[1] for r in listing(app, seeded, "lead_schools", f).table.rows)
              for f in (recent(seeded), earlier(seeded))}
    assert handed[recent(seeded)] == 8 and handed[earlier(seeded)] == 3
    assert parse_filters({}, dt.date(2026, 3, 5)) == Filters(
        dt.date(2025, 9, 1), dt.date(2026, 8, 31), today=dt.date(2026, 3, 5))
    assert parse_filters({"od": "", "do": "31.12.2025", "typ": "technikum", "dzielnica": " Zachód "},
                                   dt.date(2026, 3, 5)) == Filters(None, dt.date(2025, 12, 31), "technikum", "Zachód",
                                                                   dt.date(2026, 3, 5))


def test_bad_filters_are_refused_in_polish(app, seeded, browser):
    official = browser(seeded.official)
    for query, message in (("?od=32.13.2025", "Data „od”"), ("?od=2026-05-01&do=2026-01-01", "Początek okresu"),
                           ("?typ=uniwersytet", "Nieznany typ szkoły")):
        response = official.get("/miasto/" + query)
        assert response.status_code == 422 and message in response.get_data(as_text=True), query
    assert official.get("/miasto/karty?stan=zgubione").status_code == 422
    assert official.get("/miasto/karty?miesiac=2026-13").status_code == 422
    assert official.get("/miasto/eksport/rollout.csv?od=zly").status_code == 422
    assert official.get("/miasto/eksport/nieznana.csv").status_code == 404
    assert official.get("/miasto/eksport/rollout.pdf").status_code == 404


# --- rendering -------------------------------------------------------------------------------------------------


def test_every_page_renders_and_draws_its_charts_inline(app, seeded, browser):
    official = browser(seeded.official)
    for url in list(PAGES) + [f"/miasto/szkola/{seeded.a}", "/miasto/karty?drukarnia=wlasna",
                              f"/miasto/karty?drukarnia={seeded.p2}&stan=odrzucone", "/miasto/?typ=liceum",
                              "/miasto/?dzielnica=Zach%C3%B3d&od=&do="]:
        response = official.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "<script" not in body and "cdn" not in body.lower() and 'src="http' not in body
    overview = official.get("/miasto/").get_data(as_text=True)
    assert overview.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3 and 'role="img"' in overview
    assert "<title id=" in overview and "<desc id=" in overview
    assert official.get("/miasto/czas-oczekiwania").get_data(as_text=True).count("<svg") == 2


def test_the_dashboard_before_any_refresh(app, world, browser, database):
    city = world.city("Miasto Puste")
    world.school(city, "Szkoła Bez Statystyk")
    world.user("urzednik@puste.pl", city, "city_official")
    page = browser("urzednik@puste.pl").get("/miasto/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Statystyki nie zostały jeszcze przeliczone" in body
    assert browser("urzednik@puste.pl").get("/miasto/wdrozenie").status_code == 200


def test_charts_escape_text_and_handle_no_data():
    svg = str(charts.bar_chart("Koszt <b>", ["Szkoła & <script>"], [Decimal("12.50")], unit="zł"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "12,50" in svg
    assert "brak danych" in str(charts.line_chart("Pusto", [], []))
    stacked = str(charts.stacked_bar_chart("S", ["A"], [("x", [1]), ("y", [2])]))
    assert stacked.count("<rect") == 4 and ">3<" in stacked  # two legend keys, two bars; the total


def test_csv_uses_polish_conventions(app, seeded):
    table = listing(app, seeded, "cost_channels", Filters(None, None, today=seeded.today)).table
    data = to_csv(table).decode("utf-8-sig")
    assert data.splitlines()[0].startswith("Kanał;Karty;Koszt dla miasta (zł)") and "," in data.splitlines()[1]


# --- the embedded default (`make run`): SQLite, no row-level security, the demo city ------------------------


def test_dashboard_on_the_embedded_sqlite_demo(tmp_path, monkeypatch):
    """The demo seed ends with a refresh; on SQLite (the ORM safety net alone) each school's
    statistics are its own, percentiles need no percentile_cont, and every page renders."""
    import os

    from sqlalchemy import func
    from sqlalchemy import select

    from tests.conftest import Browser

    for name in list(os.environ):
        if name.startswith("LEGITKA_"):
            monkeypatch.delenv(name)
    from portal import create_app
    from reports.models import SchoolStats
    from tenants.pupils.models import Pupil
    from tenants.tenancy.models import Organisation

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        runner = app.test_cli_runner()
        assert runner.invoke(args=["legitka", "migrate"]).exit_code == 0
        assert runner.invoke(args=["legitka", "seed-demo"]).exit_code == 0
        with app.app_context():
            schools = db.session.scalars(select(Organisation).where(Organisation.kind == "school")).all()
            for school in schools:
                with tenant_scope(Tenant(school_id=school.id)):
                    stats = db.session.scalar(select(SchoolStats))
                    pupils = db.session.scalar(select(func.count()).select_from(Pupil).where(
                        Pupil.status == "active"))  # the demo's one transferred pupil (SP 18) is not
                    assert stats is not None and stats.pupils_active == pupils, school.slug
            city = schools[0].city_id
            with tenant_scope(Tenant(city_id=city)):
                lead = dashboard.table("lead_schools", city, Filters(None, None))
                assert any(row[2] is not None and row[2] >= 0 for row in lead.table.rows)
                check_against_the_card_list(city, Filters(None, None))
        official = Browser(app.test_client())
        assert official.login("urzednik@szczecin.demo", "legitka-demo").status_code == 302
        for url in list(PAGES) + ["/miasto/eksport/facts.xlsx", "/miasto/eksport/rollout.csv"]:
            assert official.get(url).status_code == 200, url
        # The council's report: no worker there, the job runs in the request and is ready at once.
        token = re.search(r'name="csrf_token" value="([^"]+)"', official.get("/miasto/raporty").get_data(as_text=True))
        assert official.post("/miasto/raporty", data={"csrf_token": token.group(1)}).status_code == 302
        page = official.get("/miasto/raporty").get_data(as_text=True)
        assert "jest gotowy do pobrania" in page
        assert official.get(re.search(r'href="(/miasto/raporty/\d+\.pdf)"', page).group(1)).data.startswith(b"%PDF")
        result = runner.invoke(args=["legitka", "refresh-stats"])
        assert result.exit_code == 0 and f"{len(schools)} school(s)" in result.output
    finally:
        with app.app_context():
            db.engine.dispose()


def test_csv_formats_column_by_column_as_cell_by_cell():
    """to_csv formats each distinct value of a column once and joins the fields itself; the file
    is what the csv module writes from every cell formatted on its own: mixed columns (True, 1
    and Decimal("1") are equal keys), fields that need quoting, a lone empty field."""
    from infra.spreadsheets import csv_value as _text
    from reports.tables import Table

    def cell_by_cell(table):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_text(v) for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    names = ('Szkoła; "nr" 1', "dwie\nlinie", "powrót\r", '"', "", "zwykła")
    rows = tuple((names[i % 6], i, None, dt.date(2026, 9, 1 + i % 28), Decimal("12.50") if i % 3 else None, 1.25,
                  (True, 1, Decimal("1"))[i % 3], dt.datetime(2026, 1, 2, 3, 4)) for i in range(60))
    table = Table("k", "T", ("a", "b;c", 'd"', "e", "f", "g", "h", "i"), rows)
    assert to_csv(table) == cell_by_cell(table)
    assert "True;" in to_csv(table).decode() and ";1,00;" in to_csv(table).decode()
    for edge in (Table("k", "T", ("a", "b"), ()), Table("k", "T", ("a;b",), (("",), (None,), ("x",))),
                 Table("k", "T", ("",), (("",), ("x",))), Table("k", "T", ("",), ())):
        assert to_csv(edge) == cell_by_cell(edge)
    assert to_csv(Table("k", "T", ("a", "b"), ())) == "\ufeffa;b\r\n".encode()
