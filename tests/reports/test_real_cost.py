"""What the city really pays (reports.real_cost), the one rounding rule (printing.pricing.allocate)
and the break-even against a tier schedule for a school's order pattern (reports.break_even),
against hand-worked examples written out beside each number; and the same cards' total equal on
every page and export (issue 17)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy import update

from infra import inputs
from infra.db import db
from printing import pricing
from printing.models import CentreCostProfile
from printing.models import PrintOrder
from printing.models import ReferencePrinter
from printing.models import SchoolPrinter
from printing.pricing import CostProfile
from printing.pricing import Terms
from printing.pricing import Tier
from reports import break_even
from reports import costs
from reports import council_report
from reports import dashboard
from reports import real_cost
from reports import statistics
from reports.filters import Filters
from reports.real_cost import PlacedOrder
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.reports.dashboard_helpers import page_tables

D = Decimal

# The demo city's print centre (portal/demo.py): two printers and software.
CENTRE = CostProfile(purchase_price=D("16000"), amortisation_years=5, licence_per_year=D("2000"),
                     starter_kit_price=D("1000"), blank_price=D("7.90"), hologram_price=D("1.20"),
                     ribbon_price=D("480"), ribbon_yield=250, staff_minutes_per_card=D("3"), hourly_rate=D("45"),
                     spoilage_percent=D("3"), purchased_on=dt.date(2024, 8, 1))


# --- one rounding rule ----------------------------------------------------------------------------


def test_allocate_splits_to_the_grosz_and_adds_up():
    # 10.00 zł over three cards: 1,000 gr ÷ 3 = 333 r 1 each → the first (earliest on a tie) gets the grosz
    assert pricing.allocate(D("10.00"), [1, 1, 1]) == [D("3.34"), D("3.33"), D("3.33")]
    # 2,400 zł by 125 and 40 cards: 240,000 × 125 / 165 = 181,818 r 30; × 40 / 165 = 58,181 r 135 → B the grosz
    assert pricing.allocate(D("2400"), [125, 40]) == [D("1818.18"), D("581.82")]
    # 5,400 zł by 30 and 9 cards: 540,000 × 30 / 39 = 415,384 r 24; × 9 / 39 = 124,615 r 15 → the first
    assert pricing.allocate(D("5400"), [30, 9]) == [D("4153.85"), D("1246.15")]
    assert pricing.allocate(D("5400"), [0, 0]) == [D("0.00"), D("0.00")]
    assert sum(pricing.allocate(D("1869.57"), [7, 13, 1, 29, 3])) == D("1869.57")


def test_a_cards_cost_is_its_exact_share_of_the_invoice():
    # 49.01 zł for two cards: 24.51 + 24.50 = 49.01 (rounding each 24.505 up made it 49.02 before)
    assert statistics.card_costs(D("49.01"), [12, 7]) == {7: D("24.51"), 12: D("24.50")}
    assert statistics.card_cost(D("49.01"), 2) == D("24.51")  # the average, shown, never summed


# --- the real cost of the centre and of a school printer ------------------------------------------


def test_the_centres_real_cost_at_several_volumes():
    # c_in = (7.90 blank + 1.20 hologram + 480 / 250 ribbon + 3 min / 60 × 45 zł) × 1.03
    #      = (7.90 + 1.20 + 1.92 + 2.25) × 1.03 = 13.27 × 1.03 = 13.6681 → 13.67
    # F (2026, bought 08.2024, 5 years) = 16,000 / 5 + 2,000 + 1,000 / 5 = 3,200 + 2,000 + 200 = 5,400
    assert pricing.marginal_per_card(CENTRE) == D("13.67")
    assert pricing.fixed_per_year(CENTRE, 2026) == D("5400.00")
    # 39 cards: 39 × 13.67 = 533.13 + 5,400 = 5,933.13 → 152.13 a card (its price list says 11.40)
    year = real_cost.in_house_year(CENTRE, 39, 2026)
    assert (year.real, year.fixed, year.per_card) == (D("5933.13"), D("5400.00"), D("152.13"))
    # 500 cards: 6,835.00 + 5,400 = 12,235.00 → 24.47;  2,000 cards: 27,340.00 + 5,400 = 32,740.00 → 16.37
    assert real_cost.in_house_year(CENTRE, 500, 2026).per_card == D("24.47")
    assert real_cost.in_house_year(CENTRE, 2000, 2026).real == D("32740.00")
    assert real_cost.in_house_year(CENTRE, 2000, 2026).per_card == D("16.37")
    # 2029: written off (2024 + 5), only the licence: 2,000 → 39 cards 533.13 + 2,000 = 2,533.13
    assert real_cost.in_house_year(CENTRE, 39, 2029).real == D("2533.13")
    # No card in a year: the fixed cost is all there is, and there is no cost per card
    assert (real_cost.in_house_year(CENTRE, 0, 2026).real, real_cost.in_house_year(CENTRE, 0, 2026).per_card) == (
        D("5400.00"), None)


def test_the_centres_orders_share_the_years_fixed_cost_by_cards():
    # Two centre orders of 2026 (30 and 9 cards, priced 11.40 by the list) and one of 2025 (1 card):
    # 2026: 30 × 13.67 = 410.10 + 4,153.85 = 4,563.95;  9 × 13.67 = 123.03 + 1,246.15 = 1,369.18;
    #       together 5,933.13 = 39 × 13.67 + 5,400 (the year, whatever it is cut into)
    # 2025: 13.67 + F of 2025 (5,400) = 5,413.67 — a year's F is carried by that year's cards
    orders = [PlacedOrder(1, 10, "city_centre", 4, dt.date(2026, 9, 1), 30, D("342.00")),
              PlacedOrder(2, 11, "city_centre", 4, dt.date(2026, 11, 2), 9, D("102.60")),
              PlacedOrder(3, 10, "city_centre", 4, dt.date(2025, 10, 1), 1, D("11.40")),
              PlacedOrder(4, 10, "external", 5, dt.date(2026, 9, 1), 10, D("173.00"))]
    paid = real_cost.real_costs(orders, {4: CENTRE}, {})
    assert {k: v.total for k, v in paid.items()} == {1: D("4563.95"), 2: D("1369.18"), 3: D("5413.67"),
                                                      4: D("173.00")}
    assert paid[1].fixed + paid[2].fixed == D("5400.00") and paid[1].invoiced == D("342.00")
    # without a cost profile the centre's orders cost their price list, and say so
    assert not real_cost.real_costs(orders, {}, {})[1].priced


def test_a_school_printer_at_several_volumes_from_the_szczecin_letter():
    # One printer (5,750 zł, the middle of 3,500–8,000), licence 1,000 a year, starter kit 500, 5 years:
    # F = 5,750 / 5 + 1,000 + 500 / 5 = 1,150 + 1,000 + 100 = 2,250;
    # c_in = 10.30 blank + 1.20 holograms (11.50, the middle of 10–13) + 480 / 250 ribbon = 13.42
    p = pricing.SINGLE_PRINTER
    assert (pricing.marginal_per_card(p), pricing.fixed_per_year(p, 2026)) == (D("13.42"), D("2250.00"))
    # 25 cards: 335.50 + 2,250 = 2,585.50 → 103.42;  100: 1,342.00 + 2,250 = 3,592.00 → 35.92
    # 500: 6,710.00 + 2,250 = 8,960.00 → 17.92;  1,000: 13,420.00 + 2,250 = 15,670.00 → 15.67
    assert [(real_cost.in_house_year(p, n, 2026).real, real_cost.in_house_year(p, n, 2026).per_card)
            for n in (25, 100, 500, 1000)] == [(D("2585.50"), D("103.42")), (D("3592.00"), D("35.92")),
                                               (D("8960.00"), D("17.92")), (D("15670.00"), D("15.67"))]


# --- break-even against a tier schedule -----------------------------------------------------------

SCHEDULE = costs.ChannelOption(
    key="printer-9", name="Drukarnia E", kind=costs.PRICE_LIST, channel="external",
    tiers=(Tier(1, D("15.50")), Tier(20, D("13.00")), Tier(50, D("11.50"))),
    terms=Terms(season_surcharge=D("1.50"), shipping_price=D("18.00")))
CENTRE_LIST = costs.ChannelOption(key="printer-4", name="Centrum (cennik)", kind=costs.PRICE_LIST,
                                  channel="city_centre", tiers=(Tier(1, D("5.00")),), terms=Terms())
# A used printer at the letter's low end: 3,500 / 5 + 1,000 + 500 / 5 = 1,800 a year; blank with its
# holograms 10.00 (the letter's low end), nothing else: c_in 10.00
LOW_END = CostProfile(purchase_price=D("3500"), licence_per_year=D("1000"), starter_kit_price=D("500"),
                      blank_price=D("10.00"))
DUPLICATES = [dt.date(2026, m, 15) for m in (1, 2, 3, 4, 5, 6, 11, 12)]  # out of season (15.08–31.10)
PATTERN = [(30, dt.date(2026, 9, 1)), *((1, d) for d in DUPLICATES)]


def test_resize_keeps_the_small_orders_and_grows_the_rest():
    assert break_even.resize(PATTERN, 540) == sorted([(532, dt.date(2026, 9, 1)), *((1, d) for d in DUPLICATES)],
                                                     key=lambda o: o[1])
    # two large orders share 81 − 1 = 80 cards by 30 : 10, a card each first: 78 → 58.5 / 19.5, the tie
    # to the earlier → 59 + 1 = 60 and 19 + 1 = 20
    a, b, c = dt.date(2026, 9, 1), dt.date(2026, 9, 20), dt.date(2026, 12, 1)
    assert break_even.resize([(30, a), (10, b), (1, c)], 81) == [(60, a), (20, b), (1, c)]


def test_break_even_follows_the_tier_schedule_the_season_and_the_order_pattern():
    # N cards a year = the 30-card September order grown to M = N − 8 (in season: +1.50, one parcel 18.00)
    # + 8 single duplicates out of season at 15.50 + 18.00 = 33.50 each = 268.00.
    # Own printer: 10.00 N + 1,800.   For M ≥ 50 (tier 11.50): ext = 13.00 M + 18 + 268,
    #   ext − own = 13 M + 286 − 10 (M + 8) − 1,800 = 3 M − 1,594 ≥ 0 ⇔ M ≥ 531.3 ⇔ N ≥ 540;
    #   below 50 cards (tiers 15.50, 13.00: 17.00 and 14.50 with the surcharge) it is 7 M − 1,594 or
    #   4.5 M − 1,594, negative there. So it pays from 540 cards a year, and at every larger volume:
    #   N = 539: ext 531 × 13 + 286 = 7,189.00 < own 7,190.00;  N = 540: 7,202.00 ≥ 7,200.00.
    c = break_even.curve(LOW_END, "niska półka", [SCHEDULE, CENTRE_LIST], PATTERN, 2026, volumes=(100, 500, 1000))
    assert (c.volume, c.until) == (540, None)
    assert "opłaca się od 540 kart rocznie" in c.answer
    by_volume = {p.volume: p for p in c.points}
    # 100: ext 92 × 13.00 + 286 = 1,482.00 (14.82 a card), own 2,800.00 (28.00)
    assert (by_volume[100].external, by_volume[100].external_per_card, by_volume[100].in_house) == (
        D("1482.00"), D("14.82"), D("2800.00"))
    # 1,000: ext 992 × 13.00 + 286 = 13,182.00, own 11,800.00 — cheaper; the centre's internal 5.00 plays no part
    assert (by_volume[1000].external, by_volume[1000].in_house, by_volume[1000].pays) == (
        D("13182.00"), D("11800.00"), True)
    assert by_volume[1000].external_name == "Drukarnia E"
    # Against one price at one volume (the old benchmark): N* = 1,800 / (11.50 − 10.00) = 1,200 — the
    # duplicates' 33.50 and the season's 1.50 bring it down to 540.
    assert costs.break_even_volume(D("1800"), D("11.50"), D("10.00")) == 1200


def test_break_even_that_pays_only_for_a_range_of_volumes():
    # The Szczecin single printer (c_in 13.42, F 2,250) against the same schedule with 120 duplicates a
    # year: the 120 singles cost 120 × 33.50 = 4,020.00 outside against 1,610.40 inside; the intake's
    # order at tier 11.50 + 1.50 = 13.00 < 13.42 loses 0.42 a card. For M ≥ 50:
    #   ext − own = 13.00 M + 18 + 4,020 − 13.42 (M + 120) − 2,250 = 177.60 − 0.42 M ≥ 0 ⇔ M ≤ 422.8,
    #   i.e. it pays up to N = 120 + 422 = 542 cards and not beyond;
    # for 20 ≤ M < 50: 14.50 M + 4,038 − 13.42 (M + 120) − 2,250 = 177.60 + 1.08 M > 0: it pays there too;
    # for M < 20 (17.00 a card): 177.60 + 3.58 M > 0. Table 150, 300, 600: 150 and 300 pay, 600 does not;
    # halving finds the last paying volume, 542.
    singles = [(1, dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(120)]  # 01.01–30.04: no season
    pattern = [(30, dt.date(2026, 9, 1)), *singles]
    c = break_even.curve(pricing.SINGLE_PRINTER, "list Szczecina", [SCHEDULE], pattern, 2026, volumes=(150, 300, 600))
    assert [p.pays for p in c.points] == [True, True, False]
    # the first volume is halved down from 150 to the smallest that pays; the last one up to 542
    assert c.until == 542
    assert c.volume is not None and c.volume <= 150
    assert "do 542 kart" in c.answer


# --- equal totals on every page and export --------------------------------------------------------


def _zl(text: str) -> Decimal:
    return Decimal(text.replace("\u00a0", "").replace(" ", "").replace("zł", "").replace(",", "."))


def _sum_column(rows: list[list[str]], name: str) -> Decimal:
    i = rows[0].index(name)
    return sum((_zl(r[i]) for r in rows[1:] if r[i] not in ("", "—")), Decimal("0.00"))


def test_the_same_cards_cost_the_same_on_every_page_and_export(app, seeded, browser):
    """The city's 2026 cards with the centre's real cost (the demo profile), school B's own printer with
    fixed costs, and an invoice that does not split evenly over its cards; every page and export says
    the same total, equal to the sum worked out by hand below."""
    year = seeded.today.year  # 2026
    with app.app_context():
        with tenant_scope(Tenant(city_id=seeded.city)):
            db.session.add(CentreCostProfile(city_id=seeded.city, printer_id=seeded.p1, model="2 × Evolis",
                                             **{f: getattr(CENTRE, f) for f in (
                                                 "purchase_price", "purchased_on", "amortisation_years",
                                                 "licence_per_year", "starter_kit_price", "blank_price",
                                                 "hologram_price", "ribbon_price", "ribbon_yield",
                                                 "staff_minutes_per_card", "hourly_rate", "spoilage_percent")}))
            db.session.commit()
            placed = real_cost.placed_orders(seeded.city, year=year)
        with tenant_scope(Tenant(school_id=seeded.b)):
            db.session.execute(update(SchoolPrinter).values(purchase_price=D("6500"), licence_per_year=D("1000"),
                                                            starter_kit_price=D("500")))
            db.session.commit()
        # P2's first order of A (2 cards, 49.00) priced at 49.01: 24.505 a card; its printer's invoice,
        # recorded, is 18.00 more (67.01): the city pays the invoice, not the quote
        external = [o for o in placed if o.channel == "external"]
        first = min(external, key=lambda o: o.order_id)
        with tenant_scope(Tenant(school_id=first.school_id)):
            db.session.execute(update(PrintOrder).where(PrintOrder.id == first.order_id).values(
                total_price=D("49.01"), invoice_gross=D("67.01"), invoice_mismatch=True))
            db.session.commit()
        statistics.refresh_all()
        with tenant_scope(Tenant(city_id=seeded.city)):
            placed = real_cost.placed_orders(seeded.city, year=year)
            invoices = sum((o.billed for o in placed if o.channel == "external"), D("0.00"))
            assert invoices == sum((o.invoiced for o in placed if o.channel == "external"), D("18.00"))
    centre_cards = sum(o.cards for o in placed if o.channel == "city_centre")
    own_cards = sum(o.cards for o in placed if o.channel == "own")
    assert (centre_cards, own_cards) == (7, 2)  # A: 3 + 1 + 1 + 1 duplicate, B: 1 at the centre; B: 2 on its own
    # By hand: external invoices as they are; centre 7 × 13.67 + 5,400 = 95.69 + 5,400 = 5,495.69;
    # B's printer c_in (7.90 + 1.20 + 1.92) × 1.03 = 11.35, F = 6,500 / 5 + 1,000 + 500 / 5 = 2,400:
    # 2 × 11.35 + 2,400 = 2,422.70
    total = invoices + D("5495.69") + D("2422.70")
    f = Filters(dt.date(year, 1, 1), dt.date(year, 12, 31), today=seeded.today)
    found: dict[str, Decimal] = {}
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        data = dashboard.load(seeded.city, f)
        found["kafelek (funkcja)"] = dashboard.overview(seeded.city, f, data).cost
        for section in council_report.sections(seeded.city, f):
            for table in section.tables:
                if table.key == "cost_channels":
                    found["raport dla Rady: kanały"] = sum(
                        r[table.columns.index("Koszt dla miasta (zł)")] for r in table.rows)
                if table.key == "co_jesli_kanaly":
                    row = next(r for r in table.rows if r[0] == "Drukarnia Druga")
                    found["raport dla Rady: co by było"] = row[table.columns.index("Koszt rzeczywisty (zł)")]
    official = browser(seeded.official)
    query = f"?od={year}-01-01&do={year}-12-31"
    overview = official.get("/miasto/" + query).get_data(as_text=True)
    tile = re.search(r'<span class="num">([^<]*)</span>\s*koszt dla miasta', overview)
    found["przegląd: kafelek"] = _zl(tile.group(1))
    money = page_tables(official.get("/miasto/wydatki" + query).get_data(as_text=True))
    for key in ("cost_channels", "cost_schools", "cost_months"):
        found[f"wydatki: {key}"] = _sum_column(money[key], "Koszt dla miasta (zł)")
        data = official.get(f"/miasto/eksport/{key}.csv{query}").get_data().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(data), delimiter=";"))
        found[f"CSV: {key}"] = _sum_column(rows, "Koszt dla miasta (zł)")
        book = load_workbook(io.BytesIO(official.get(f"/miasto/eksport/{key}.xlsx{query}").get_data()))
        sheet = [list(r) for r in book.active.iter_rows(values_only=True)]
        head = next(i for i, r in enumerate(sheet) if "Koszt dla miasta (zł)" in r)
        column = sheet[head].index("Koszt dla miasta (zł)")
        found[f"XLSX: {key}"] = sum((D(str(r[column])) for r in sheet[head + 1:] if r[column] is not None),
                                    D("0.00")).quantize(D("0.01"))
    budget = money["budget"]
    found["wydatki: budżet"] = _zl(next(r for r in budget[1:] if r[0] == str(year))[budget[0].index("Wydano (zł)")])
    orders = page_tables(official.get("/miasto/zamowienia" + query).get_data(as_text=True))["orders"]
    found["zamówienia"] = _sum_column(orders, "Koszt dla miasta (zł)")
    what_if = list(csv.reader(io.StringIO(official.get(
        f"/miasto/koszty/eksport/co_jesli.csv?year={year}&channel=printer-{seeded.p2}").get_data().decode(
        "utf-8-sig")), delimiter=";"))
    found["koszty: co by było (CSV)"] = _sum_column(what_if, "Koszt rzeczywisty (zł)")
    summary = official.get(f"/miasto/koszty/?year={year}").get_data(as_text=True)
    assert inputs.format_amount(total) in summary  # the summary's actual cost
    assert len(found) == 16 and found == dict.fromkeys(found, total), (total, found)
    # the centre's own page: this year's 7 cards cost the city 5,495.69, 785.10 a card (5,495.69 / 7 = 785.098…)
    centre = official.get(f"/miasto/koszty/centrum?printer_id={seeded.p1}").get_data(as_text=True)
    assert inputs.format_money(D("5495.69")) in centre and inputs.format_money(D("785.10")) in centre
    # the orders' prices (the centre at its list, B at c_in) still add up to the invoices, to the grosz
    assert _sum_column(money["cost_channels"], "Cena z zamówień (zł)") == sum(
        (o.invoiced for o in placed), D("0.00"))


def test_the_city_edits_its_reference_printer(app, seeded, browser):
    official = browser(seeded.official)
    page = official.get("/miasto/koszty/drukarka-wzorcowa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "list Szczecina" in html and "5\u00a0750,00" in html
    form = {"model": "Drukarka po przetargu", "purchase_price": "4 200,00", "amortisation_years": "4",
            "licence_per_year": "900", "starter_kit_price": "450", "blank_price": "10,50", "hologram_price": "1,10",
            "ribbon_price": "480", "ribbon_yield": "250", "staff_minutes_per_card": "0", "hourly_rate": "0",
            "spoilage_percent": "2", "lead_time_days": "3"}
    assert official.post("/miasto/koszty/drukarka-wzorcowa", data=form).status_code == 302
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        profile, name = costs.reference_printer(seeded.city)
        # F = 4,200 / 4 + 900 + 450 / 4 = 1,050 + 900 + 112.50 = 2,062.50;
        # c_in = (10.50 + 1.10 + 1.92) × 1.02 = 13.52 × 1.02 = 13.7904 → 13.79
        assert name == "Drukarka po przetargu"
        assert (pricing.fixed_per_year(profile, 2026), pricing.marginal_per_card(profile)) == (
            D("2062.50"), D("13.79"))
        option = costs.channel_option(seeded.city, costs.OWN)
        assert option.reference_name == "Drukarka po przetargu"
    bad = official.post("/miasto/koszty/drukarka-wzorcowa", data={**form, "ribbon_yield": "0"})
    assert bad.status_code == 422 and "Wydruków z taśmy" in bad.get_data(as_text=True)
    # another city's official sees the letter's printer, not this one
    other = browser(seeded.other_official).get("/miasto/koszty/drukarka-wzorcowa").get_data(as_text=True)
    assert "Drukarka po przetargu" not in other and "list Szczecina" in other
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.other_city)):
        assert db.session.scalars(select(ReferencePrinter)).all() == []
