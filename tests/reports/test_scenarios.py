"""Centralisation scenarios (reports.scenarios, portal.city.scenarios; issue 17): a small city worked
out by hand — three schools, two printers with tier schedules, a print centre — pooled into one
city-wide order in and out of season, into two orders, and printed in the centre; the page's
assumptions form refusing bad input with a Polish message and 422."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from printing import pricing
from printing.models import Channel
from printing.pricing import CostProfile
from printing.pricing import Terms
from printing.pricing import Tier
from reports import costs
from reports import scenario_tables
from reports import scenarios
from reports.scenarios import Assumptions
from reports.scenarios import Demand
from reports.tables import to_csv
from tests.reports.test_costs import costed_city  # noqa: F401 (the fixture)
from tests.reports.test_costs import zl

D = Decimal
A, B, C = 1, 2, 3
NAMES = {A: "SP 1", B: "SP 2", C: "SP 3"}

# Printer X: 16.00 from 1 card, 13.00 from 50, 11.00 from 100; season 15.08–31.10 +1.50 a card;
# 20.00 a parcel of up to 100 cards; 14 days.
X = costs.ChannelOption(
    key="printer-10", name="Drukarnia X", kind=costs.PRICE_LIST, channel=Channel.EXTERNAL.value,
    tiers=(Tier(1, D("16.00")), Tier(50, D("13.00")), Tier(100, D("11.00"))),
    terms=Terms(season_surcharge=D("1.50"), season_from="08-15", season_until="10-31", shipping_price=D("20.00"),
                parcel_capacity=100, lead_time_days=14))
# Printer Y: 15.00 from 1 card, 12.00 from 100; season 01.08–30.09 +2.00 a card; 15.00 an order
# (no parcel size: one parcel); 10 days.
Y = costs.ChannelOption(
    key="printer-11", name="Drukarnia Y", kind=costs.PRICE_LIST, channel=Channel.EXTERNAL.value,
    tiers=(Tier(1, D("15.00")), Tier(100, D("12.00"))),
    terms=Terms(season_surcharge=D("2.00"), season_from="08-01", season_until="09-30", shipping_price=D("15.00"),
                parcel_capacity=0, lead_time_days=10))
# The centre: c_in = 9.00 blank + 1.00 hologram = 10.00; F = 10,000 ÷ 5 + 1,000 licence = 3,000 a year.
CENTRE = costs.ChannelOption(
    key="centre-12", name="Centrum (koszt własny)", kind=costs.CENTRE_COST, channel=Channel.CITY_CENTRE.value,
    profile=CostProfile(purchase_price=D("10000"), amortisation_years=5, licence_per_year=D("1000"),
                        blank_price=D("9.00"), hologram_price=D("1.00"), ribbon_price=D("0"), lead_time_days=3))
# The centre's internal price list is not a cost to the city: never pooled.
CENTRE_LIST = costs.ChannelOption(key="printer-12", name="Centrum (cennik)", kind=costs.PRICE_LIST,
                                  channel=Channel.CITY_CENTRE.value, tiers=(Tier(1, D("1.00")),), terms=Terms())
OPTIONS = [X, Y, CENTRE, CENTRE_LIST]

# The school year 2026/27's real orders and what each really cost (the invoices):
#   A  60 cards 05.09.2026 at X in season: 60 × (13.00 + 1.50) + 20 = 890.00, delivered 19.09 (14 days)
#   A   2 cards 10.01.2027 at Y:            2 × 15.00 + 15      =  45.00, delivered 20.01 (10 days)
#   B  30 cards 12.09.2026 at Y in season: 30 × (15.00 + 2.00) + 15 = 525.00, delivered 22.09 (10 days)
#   B   4 cards 15.02.2027 at X:            4 × 16.00 + 20      =  84.00, delivered 01.03 (14 days)
#   C  20 cards 20.10.2026 at X in season: 20 × (16.00 + 1.50) + 20 = 370.00, delivered 03.11 (14 days)
#   C   4 cards 01.03.2027 at Y:            4 × 15.00 + 15      =  75.00, not delivered yet
#   total 120 cards, 1,989.00 zł
DEMANDS = [
    Demand(A, dt.date(2026, 9, 5), 60, D("890.00"), dt.date(2026, 9, 19)),
    Demand(B, dt.date(2026, 9, 12), 30, D("525.00"), dt.date(2026, 9, 22)),
    Demand(C, dt.date(2026, 10, 20), 20, D("370.00"), dt.date(2026, 11, 3)),
    Demand(A, dt.date(2027, 1, 10), 2, D("45.00"), dt.date(2027, 1, 20)),
    Demand(B, dt.date(2027, 2, 15), 4, D("84.00"), dt.date(2027, 3, 1)),
    Demand(C, dt.date(2027, 3, 1), 4, D("75.00"), None),
]
TODAY = dt.date(2027, 3, 5)


def run(dates, **kw) -> scenarios.Comparison:
    a = Assumptions(start_year=2026, plan=kw.pop("plan", "wlasne"), dates=tuple(dates), **kw)
    return scenarios.compare(DEMANDS, OPTIONS, a, NAMES, TODAY)


def by_key(result) -> dict:
    return {s.key: s for s in (*result.pooled, *result.centres)}


def test_the_status_quo_is_what_was_really_paid_and_how_long_it_took():
    sq = run([dt.date(2026, 9, 1)]).status_quo
    assert (sq.cards, sq.orders, sq.total) == (120, 6, D("1989.00"))
    assert sq.per_card == D("16.58")  # 1,989.00 ÷ 120 = 16.575 → 16.58
    # delivered cards only: (60 × 14 + 2 × 10 + 30 × 10 + 4 × 14 + 20 × 14) ÷ 116 = 1,496 ÷ 116 = 12.897 → 12.9
    assert sq.lead_days == D("12.9")
    assert "4 karty jeszcze niedoręczone" in sq.note  # 4: the "few" form (infra.inputs.plural)
    schools = {line.school_id: line for line in sq.schools}
    assert (schools[A].total, schools[B].total, schools[C].total) == (D("935.00"), D("609.00"), D("445.00"))
    assert schools[C].lead_days == D("14.0")  # its March order is not delivered: only the October one


def test_one_city_wide_order_in_season():
    # One order on 01.09.2026 of all 120 cards (in both printers' seasons):
    #   X: 120 ≥ 100 → 11.00; + 1.50 season; ⌈120 ÷ 100⌉ = 2 parcels × 20.00
    #      = 1,320.00 + 180.00 + 40.00 = 1,540.00 (12.83 a card: 1,540 ÷ 120 = 12.833)
    #   Y: 120 ≥ 100 → 12.00; + 2.00 season; one parcel 15.00 = 1,440.00 + 240.00 + 15.00 = 1,695.00
    result = run(scenarios.plan_dates("1", 2026), plan="1")
    x, y = by_key(result)["printer-10"], by_key(result)["printer-11"]
    assert (x.total, x.surcharge, x.shipping, x.per_card) == (D("1540.00"), D("180.00"), D("40.00"), D("12.83"))
    assert (y.total, y.surcharge, y.shipping) == (D("1695.00"), D("240.00"), D("15.00"))
    assert [p.in_season for p in x.pooled] == [True]
    assert result.cheapest is x and [s.key for s in result.pooled] == ["printer-10", "printer-11"]
    assert "printer-12" not in by_key(result)  # the centre's price list is not a printer to pool at
    # what the same order would cost out of season: 1,540.00 − 180.00
    assert x.off_season == D("1360.00")
    # per school by cards: A 62, B 34, C 24 of 154,000 gr:
    #   A 154,000 × 62 ÷ 120 = 79,566 r 80; B × 34 ÷ 120 = 43,633 r 40; C × 24 ÷ 120 = 30,800 r 0
    #   one grosz left → A (largest remainder): 795.67 + 436.33 + 308.00 = 1,540.00
    assert [(s.school_id, s.cards, s.total) for s in x.schools] == [
        (A, 62, D("795.67")), (B, 34, D("436.33")), (C, 24, D("308.00"))]
    # Every school order placed after 01.09.2026 waits for 01.09.2027, e.g. A's 05.09: 361 days + 14
    assert x.schools[0].lead_days > D("300")


def test_one_city_wide_order_out_of_season():
    # One order on 01.12.2026 (out of both seasons):
    #   X: 120 × 11.00 + 0 + 2 × 20.00 = 1,360.00 (11.33 a card)
    #   Y: 120 × 12.00 + 0 + 15.00    = 1,455.00
    result = run([dt.date(2026, 12, 1)])
    x, y = by_key(result)["printer-10"], by_key(result)["printer-11"]
    assert (x.total, x.surcharge, x.per_card) == (D("1360.00"), D("0.00"), D("11.33"))
    assert (y.total, y.surcharge) == (D("1455.00"), D("0.00"))
    assert [p.in_season for p in x.pooled] == [False]
    assert result.cheapest is x
    # against the status quo: 1,360.00 − 1,989.00 = −629.00
    assert x.total - result.status_quo.total == D("-629.00")


def test_two_orders_september_and_february():
    # 01.09.2026 and 01.02.2027. An order joins the first pooled day on or after it:
    #   01.02.2027 ← A 05.09 (60), B 12.09 (30), C 20.10 (20), A 10.01 (2) = 112 cards
    #   01.09 (of 2027, priced as the September order) ← B 15.02 (4), C 01.03 (4) = 8 cards
    # X: 8 × (16.00 + 1.50) + 20.00 = 160.00; 112 × 11.00 + 2 × 20.00 = 1,272.00 → 1,432.00
    # Y: 8 × (15.00 + 2.00) + 15.00 = 151.00; 112 × 12.00 + 15.00 = 1,359.00 → 1,510.00
    result = run(scenarios.plan_dates("2", 2026), plan="2")
    x, y = by_key(result)["printer-10"], by_key(result)["printer-11"]
    assert [(p.day, p.cards, p.schools, p.in_season, p.total) for p in x.pooled] == [
        (dt.date(2026, 9, 1), 8, 2, True, D("160.00")), (dt.date(2027, 2, 1), 112, 3, False, D("1272.00"))]
    assert (x.total, y.total, x.orders) == (D("1432.00"), D("1510.00"), 2)
    assert result.cheapest is x
    # waits + X's 14 days: A 05.09→01.02 149 + 14 = 163 (× 60); A 10.01→01.02 22 + 14 = 36 (× 2);
    # B 12.09→01.02 142 + 14 = 156 (× 30); B 15.02→01.09 198 + 14 = 212 (× 4);
    # C 20.10→01.02 104 + 14 = 118 (× 20); C 01.03→01.09 184 + 14 = 198 (× 4)
    # (9,780 + 72 + 4,680 + 848 + 2,360 + 792) ÷ 120 = 18,532 ÷ 120 = 154.43 → 154.4
    assert x.lead_days == D("154.4")
    # the form's lead time replaces the printers' own: 10 days instead of 14 → 4 days less
    assert run(scenarios.plan_dates("2", 2026), plan="2", printer_lead_days=10).pooled[0].lead_days == D("150.4")


def test_monthly_orders_cut_the_wait():
    result = run(scenarios.plan_dates("12", 2026), plan="12")
    x = by_key(result)["printer-10"]
    # A 05.09→01.10 26, B 12.09→01.10 19, C 20.10→01.11 12, A 10.01→01.02 22, B 15.02→01.03 14, C 01.03 0
    # + the printer's 14 days, which end on a working day (docs/domain.md §20, rule 7): 01.11.2026 is a
    # Sunday and All Saints' Day, + 14 = Sunday 15.11 → Monday 16.11, so C's 20 cards wait 12 + 15;
    # the other pooled days + 14 are weekdays: (40 × 60 + 33 × 30 + 27 × 20 + 36 × 2 + 28 × 4 + 14 × 4)
    # ÷ 120 = 4,170 ÷ 120 = 34.75 → 34.8
    assert x.lead_days == D("34.8")
    # 01.10: 90 cards × (13.00 + 1.50) + 20 = 1,325.00; 01.11: 20 × 16.00 + 20 = 340.00 (out of season:
    # the window ends 31.10); 01.02: 2 × 16 + 20 = 52.00; 01.03: 8 × 16 + 20 = 148.00 → 1,865.00
    assert [p.total for p in x.pooled] == [D("1325.00"), D("340.00"), D("52.00"), D("148.00")]
    assert x.total == D("1865.00") and x.orders == 4


def test_the_centre_at_its_real_cost():
    # c_in × V + F = 10.00 × 120 + 3,000.00 = 4,200.00 (35.00 a card); F shared by cards 62 / 34 / 24:
    # 1,550.00 / 850.00 / 600.00 → A 620 + 1,550 = 2,170.00, B 340 + 850 = 1,190.00, C 240 + 600 = 840.00
    result = run([dt.date(2026, 9, 1)])
    centre = result.centres[0]
    assert (centre.total, centre.per_card, centre.fixed) == (D("4200.00"), D("35.00"), D("3000.00"))
    assert centre.total == pricing.money(pricing.marginal_per_card(CENTRE.profile) * 120) + D("3000.00")
    assert [(s.school_id, s.total) for s in centre.schools] == [(A, D("2170.00")), (B, D("1190.00")),
                                                                (C, D("840.00"))]
    assert centre.lead_days == D("3.0")  # prints each order as it comes: the profile's 3 days
    assert run([dt.date(2026, 9, 1)], centre_lead_days=5).centres[0].lead_days == D("5.0")


def test_a_printer_without_a_tier_for_the_pool_is_not_priced():
    small = costs.ChannelOption(key="printer-13", name="Mała drukarnia", kind=costs.PRICE_LIST,
                                channel=Channel.EXTERNAL.value, tiers=(Tier(1, D("9.00"), None, dt.date(2026, 6, 30)),),
                                terms=Terms())
    a = Assumptions(start_year=2026, plan="1", dates=(dt.date(2026, 9, 1),))
    result = scenarios.compare(DEMANDS, [X, small], a, NAMES, TODAY)
    unpriced = by_key(result)["printer-13"]
    assert unpriced.total is None and "brak ceny dla zamówienia 120 kart z dnia 01.09.2026" in unpriced.note
    assert result.cheapest.key == "printer-10" and result.pooled[-1] is unpriced


# --- the page -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("rok=abc", "Rok szkolny (rok rozpoczęcia): podaj liczbę całkowitą od 2000 do 2099."),
    ("plan=7", "Plan zamówień: wybierz jedną z opcji z listy."),
    ("plan=wlasne", "Daty zamówień zbiorczych: podaj co najmniej jedną datę"),
    ("plan=wlasne&rok=2026&daty=31.02.2027", "„31.02.2027” to nie jest data w formacie dd.mm.rrrr"),
    ("plan=wlasne&rok=2026&daty=01.09.2027", "z roku szkolnego 01.09.2026–31.08.2027"),
    ("plan=wlasne&rok=2026&daty=01.10.2026,1.10.2026", "data 01.10.2026 podana dwa razy"),
    ("dni_drukarni=-3", "Czas realizacji drukarni (dni): podaj liczbę całkowitą od 1 do 365."),
    ("dni_centrum=9999", "Czas realizacji centrum druku (dni): podaj liczbę całkowitą od 0 do 365."),
])
def test_bad_assumptions_are_refused_with_a_polish_message(browser, two_schools, query, message):
    official = browser("urzednik@test.pl")
    response = official.get(f"/miasto/koszty/scenariusze/?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_the_page_with_its_defaults_and_own_dates(browser, two_schools):
    official = browser("urzednik@test.pl")
    page = official.get("/miasto/koszty/scenariusze/").get_data(as_text=True)
    assert "Scenariusze centralizacji" in page and "Następny krok, jeszcze niezbudowany" in page
    response = official.get("/miasto/koszty/scenariusze/?plan=wlasne&rok=2026&daty=01.12.2026;%2015.03.2027")
    assert response.status_code == 200
    assert 'value="01.12.2026, 15.03.2027"' in response.get_data(as_text=True)
    # linked from the costs pages
    assert "/miasto/koszty/scenariusze/" in official.get("/miasto/koszty/co-jesli").get_data(as_text=True)


def test_the_seeded_citys_status_quo_is_the_real_cost_of_its_school_years_orders(app, seeded):
    """The loader: the school year's placed orders of this city only, each at what the city really
    paid (costs.order_facts, the costs pages' numbers), delivered ones timed to delivery."""
    from reports.filters import school_year_period
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    seed = seeded
    first, last = school_year_period(seed.today)
    with app.app_context(), tenant_scope(Tenant(city_id=seed.city)):
        result = scenarios.city_comparison(seed.city, scenarios.default_assumptions(seed.today))
        facts = [f for y in (first.year, last.year) for f in costs.order_facts(seed.city, y)
                 if first <= f.ordered_on <= last and f.quantity]
    sq = result.status_quo
    assert facts and (sq.cards, sq.orders) == (sum(f.quantity for f in facts), len(facts))
    assert sq.total == sum((f.paid for f in facts), D("0.00"))
    assert {line.school_id for line in sq.schools} <= {seed.a, seed.b, seed.empty}
    assert seed.x not in result.school_names
    assert sq.lead_days is not None
    # the centre's price list is not pooled; P2 (external) is, with every card of the year
    assert [s.name for s in result.pooled] == ["Drukarnia Druga"] and result.pooled[0].cards == sq.cards


def test_the_schools_rows_escape_the_names():
    from portal.city.scenarios import _school_rows

    a = Assumptions(start_year=2026, plan="1", dates=(dt.date(2026, 9, 1),))
    result = scenarios.compare(DEMANDS, OPTIONS, a, {A: "<script>x</script>", B: "SP 2", C: "SP 3"}, TODAY)
    html = str(_school_rows(result))
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    # A: 62 cards; status quo 935,00 (15,08 a card; (60 × 14 + 2 × 10) ÷ 62 = 13,9 days);
    # X 795,67 (12,83); centre 2 170,00 (35,00), 3 days
    assert html.split("\n")[0].count("<td") == 11 and "795,67" in html and "2\u00a0170,00" in html


def test_a_printer_on_working_days_is_counted_in_working_days():
    """The pooled order's days to the card follow the printer's terms (docs/domain.md §20, rule 7).
    21 working days from Monday 01.03.2027: 2–5 March (4), 8–12 (9), 15–19 (14), 22–26 (19), Monday
    29.03 is Easter Monday (Easter 2027: 28 March), 30 (20), 31 (21) → 31.03.2027, 30 days. In
    calendar days: 01.03 + 21 = Monday 22.03.2027, a working day, 21 days."""
    pooled = scenarios.pool([Demand(school_id=1, day=dt.date(2027, 3, 1), cards=10, paid=D("150.00"))],
                            [dt.date(2027, 3, 1)])
    tiers = [Tier(1, D("10.00"))]
    working = scenarios.city_wide("Drukarnia R", "printer-r", tiers, Terms(lead_time_days=21, lead_time_working=True),
                                  pooled)
    calendar = scenarios.city_wide("Drukarnia K", "printer-k", tiers, Terms(lead_time_days=21), pooled)
    assert (working.lead_days, calendar.lead_days) == (D("30.0"), D("21.0"))
    # the form's own figure is calendar days, whatever the printer's unit
    assert scenarios.city_wide("Drukarnia R", "printer-r", tiers, Terms(lead_time_days=21, lead_time_working=True),
                               pooled, lead_days=21).lead_days == D("21.0")


def test_the_downloads_carry_the_pages_totals(app, costed_city, browser):  # noqa: F811
    """Each of the page's tables downloads as CSV and XLSX with the page's assumptions, and every
    total agrees with the page to the grosz: the options' totals, the pooled orders adding up to
    their option, each option's school lines adding up to it. City D's school is not in them."""
    import csv
    import io

    from openpyxl import load_workbook

    official = browser("urzednik@test.pl")
    query = "rok=2025&plan=2"
    page = official.get(f"/miasto/koszty/scenariusze/?{query}").get_data(as_text=True)
    assert "/miasto/koszty/scenariusze/eksport/porownanie.csv?" in page

    def rows(key):
        response = official.get(f"/miasto/koszty/scenariusze/eksport/{key}.csv?{query}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))

    def amount(text):
        return D(text.replace(",", "."))

    options = rows("porownanie")
    assert options[0][:5] == ["Wariant", "Zamówienia", "Karty", "Razem (zł)", "Za kartę (zł)"]
    by_name = {r[0]: r for r in options[1:]}
    # the status quo: 120 + 5 cards of A at P1 (1,494.00 + 78.00) and 40 of B at P2 (450.00)
    assert by_name["Stan obecny (zamówienia szkół)"][1:4] == ["3", "165", "2022,00"]
    # at least one external printer pooled, and the centre M at its real cost
    assert any(n.startswith("Zamówienie miasta: ") and r[3] for n, r in by_name.items()), by_name
    assert any(n.startswith("Centrum druku: ") and r[3] for n, r in by_name.items()), by_name
    for name, row in by_name.items():  # every option's total is on the page as shown there
        if row[3]:
            assert zl(amount(row[3])) in page, name
    pooled = rows("zamowienia-zbiorcze")
    for name, row in by_name.items():
        if name.startswith("Zamówienie miasta: ") and row[3]:
            printer = name.removeprefix("Zamówienie miasta: ")
            assert sum(amount(p[8]) for p in pooled[1:] if p[0] == printer) == amount(row[3])
    schools = rows("szkoly")
    for name, row in by_name.items():
        lines = [s for s in schools[1:] if s[1] == name]
        if row[3]:
            assert sum(amount(s[3]) for s in lines) == amount(row[3]), name
            assert sum(int(s[2]) for s in lines) == int(row[2]), name
    assert {s[0] for s in schools[1:]} == {"Szkoła Podstawowa nr 1", "Szkoła Podstawowa nr 2"}
    book = load_workbook(io.BytesIO(official.get(f"/miasto/koszty/scenariusze/eksport/porownanie.xlsx?{query}")
                                    .get_data()))
    cells = {row[0]: row for row in book.active.iter_rows(values_only=True) if row and row[0]}
    assert cells["Stan obecny (zamówienia szkół)"][3] == pytest.approx(2022.00)


@pytest.mark.parametrize("url", ["/miasto/koszty/scenariusze/eksport/porownanie.pdf",
                                 "/miasto/koszty/scenariusze/eksport/nic.csv"])
def test_an_unknown_download_is_a_404(browser, two_schools, url):
    assert browser("urzednik@test.pl").get(url).status_code == 404


def test_a_download_with_a_bad_assumption_is_a_422(browser, two_schools):
    response = browser("urzednik@test.pl").get("/miasto/koszty/scenariusze/eksport/szkoly.csv?rok=abc")
    assert response.status_code == 422 and "rok" in response.get_data(as_text=True).lower()


def test_the_tables_write_days_to_the_card_with_one_decimal():
    """Walk finding 10: "Dni do karty" is 12,9 on the page and was 12,90 in the PDF and the CSV (a
    Decimal is written as an amount); the tables hold it so every writer prints one decimal."""
    table = scenario_tables.TABLES["porownanie"](run([dt.date(2026, 9, 1)]))
    status_quo = table.rows[0]
    assert status_quo[table.columns.index("Dni do karty")] == 12.9
    text = to_csv(table).decode("utf-8-sig")
    assert ";12,9;" in text and ";12,90;" not in text
