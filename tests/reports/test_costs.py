"""The cost model (reports.costs, printing.pricing) against hand-worked examples, and the city's
cost pages: channel comparison, 'what if', the print centre's profile, CSV/XLSX downloads,
validation and isolation between cities.

Every expected number below is worked out by hand in the comment beside it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.db import db
from printing import pricing
from printing import quotes
from printing.models import CentreCostProfile
from printing.models import PriceTier
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from printing.pricing import CostProfile
from printing.pricing import NoPriceError
from printing.pricing import Terms
from printing.pricing import Tier
from reports import cost_tables
from reports import costs
from reports.models import OrderFacts
from reports.tables import to_csv
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation

D = Decimal
NBSP = "\u00a0"

TIERS = [Tier(1, D("12.00")), Tier(10, D("10.50")), Tier(100, D("9.00"))]
P1_TERMS = Terms(season_surcharge=D("1.50"), shipping_price=D("18.00"), parcel_capacity=50, vat_rate=D("23"))
# The profile used throughout: Evolis-like printer, 2 minutes of a 45 zł/h secretary per card.
#   staff per card  = 2 / 60 × 45                  = 1.50
#   per print       = 6.20 + 1.10 + 450/300 + 1.50  = 10.30
#   c_in            = 10.30 × 1.04                  = 10.712 → 10.71
#   F               = 6,500/5 + 1,000 + 500/5       = 1,300 + 1,000 + 100 = 2,400.00
PROFILE = CostProfile(purchase_price=D("6500"), amortisation_years=5, licence_per_year=D("1000"),
                      starter_kit_price=D("500"), blank_price=D("6.20"), hologram_price=D("1.10"),
                      ribbon_price=D("450"), ribbon_yield=300, staff_minutes_per_card=D("2"), hourly_rate=D("45"),
                      spoilage_percent=D("4"))


def post_from(who, page: str, url: str, data: dict):
    """POST `data` with the CSRF token of the form on `page` (the city's own page, so these tests
    do not depend on where signing in lands)."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', who.get(page).get_data(as_text=True)).group(1)
    return who.client.post(url, data={**data, "csrf_token": token})


def zl(amount) -> str:
    """How the pages print an amount in a table: 1 494,00 (no-break space, decimal comma)."""
    return f"{D(amount):,.2f}".replace(",", NBSP).replace(".", ",")


# --- price lists: tiers and their validity ------------------------------------------------------


def test_the_tier_is_the_highest_threshold_reached_boundaries_included():
    on = dt.date(2026, 3, 1)
    # 9 cards are below the 10-card tier: 12.00; exactly 10 reach it: 10.50; 99 still 10.50; 100 → 9.00
    assert [pricing.tier_price(TIERS, q, on) for q in (1, 9, 10, 99, 100, 5000)] == [
        D("12.00"), D("12.00"), D("10.50"), D("10.50"), D("9.00"), D("9.00")]
    with pytest.raises(NoPriceError):  # a list that starts at 10 cards has no price for 9
        pricing.tier_price([Tier(10, D("10.50"))], 9, on)


def test_tiers_count_only_on_the_days_they_are_valid():
    tiers = [Tier(1, D("12.00"), valid_until=dt.date(2026, 6, 30)),  # the old list, until 30.06 inclusive
             Tier(1, D("13.00"), valid_from=dt.date(2026, 7, 1)),  # the new one, from 1.07
             Tier(50, D("9.90"), valid_from=dt.date(2026, 9, 1), valid_until=dt.date(2026, 9, 30))]  # a September offer
    assert pricing.tier_price(tiers, 60, dt.date(2026, 6, 30)) == D("12.00")  # last day of the old list
    assert pricing.tier_price(tiers, 60, dt.date(2026, 7, 1)) == D("13.00")  # first day of the new one
    assert pricing.tier_price(tiers, 60, dt.date(2026, 8, 31)) == D("13.00")  # offer not yet valid
    assert pricing.tier_price(tiers, 60, dt.date(2026, 9, 1)) == D("9.90")  # offer: 60 ≥ 50
    assert pricing.tier_price(tiers, 49, dt.date(2026, 9, 15)) == D("13.00")  # below the offer's threshold
    assert pricing.tier_price(tiers, 60, dt.date(2026, 10, 1)) == D("13.00")  # offer over
    with pytest.raises(NoPriceError):  # nothing valid before a list that starts later
        pricing.tier_price([Tier(1, D("13.00"), valid_from=dt.date(2026, 7, 1))], 5, dt.date(2026, 6, 1))


# --- the high season ------------------------------------------------------------------------------


def test_the_season_window_includes_both_ends_and_may_cross_new_year():
    default = [dt.date(2026, 8, 14), dt.date(2026, 8, 15), dt.date(2026, 10, 31), dt.date(2026, 11, 1)]
    assert [pricing.in_season(d) for d in default] == [False, True, True, False]  # 15.08–31.10
    # 15.12–15.01 crosses New Year: 14.12 out, 15.12 in, 31.12 in, 1.01 in, 15.01 in, 16.01 out, July out
    days = [(12, 14), (12, 15), (12, 31), (1, 1), (1, 15), (1, 16), (7, 1)]
    assert [pricing.in_season(dt.date(2026, m, d), "12-15", "01-15") for m, d in days] == [
        False, True, True, True, True, False, False]


# --- shipping per parcel, VAT, a whole order ------------------------------------------------------


def test_parcels_are_rounded_up_and_one_parcel_without_a_capacity():
    # 50 a parcel: 50 → 1, 51 → 2, 120 → ⌈2.4⌉ = 3; capacity 0 → always 1
    assert [pricing.parcels(q, 50) for q in (1, 50, 51, 120)] == [1, 1, 2, 3]
    assert pricing.parcels(1000, 0) == 1


def test_an_order_in_season_with_parcels_and_its_vat_split():
    # 120 cards on 10.09.2026 (in season) at P1:
    #   cards      120 × 10.50 = 1,260.00      (≥100 tier is not in P1's list here)
    #   surcharge  120 × 1.50  =   180.00
    #   shipping   ⌈120/50⌉ = 3 parcels × 18.00 = 54.00
    #   gross      1,494.00;  net = 1,494 / 1.23 = 1,214.634… → 1,214.63;  VAT = 279.37
    #   per card   1,494 / 120 = 12.45
    cost = costs.external_cost(TIERS[:2], P1_TERMS, 120, dt.date(2026, 9, 10))
    assert (cost.total, cost.surcharge, cost.shipping, cost.parcels) == (D("1494.00"), D("180.00"), D("54.00"), 3)
    assert (cost.net, cost.vat, cost.per_card) == (D("1214.63"), D("279.37"), D("12.45"))
    # The same on 1.12.2026 (out of season): 1,260 + 54 = 1,314.00; net 1,314/1.23 = 1,068.292… → 1,068.29
    off = costs.external_cost(TIERS[:2], P1_TERMS, 120, dt.date(2026, 12, 1))
    assert (off.total, off.surcharge, off.net, off.vat, off.per_card) == (
        D("1314.00"), D("0.00"), D("1068.29"), D("245.71"), D("10.95"))
    # At 8 % VAT: 1,314 / 1.08 = 1,216.666… → 1,216.67, VAT 97.33
    assert pricing.vat_split(D("1314.00"), D("8")) == (D("1216.67"), D("97.33"))
    # A tier missing for the quantity: not available, and says why
    assert not costs.external_cost([Tier(10, D("10.50"))], P1_TERMS, 5, dt.date(2026, 12, 1)).available


def test_several_orders_add_up_order_by_order():
    # 63 + 62 cards, both on 10.09.2026 at P1:
    #   63: 661.50 + 94.50 + 2 parcels × 18 = 792.00;   62: 651.00 + 93.00 + 36.00 = 780.00
    #   total 1,572.00 for 125 cards → 12.576 → 12.58 a card; 4 parcels
    both = costs.orders_cost(TIERS[:2], P1_TERMS, [(63, dt.date(2026, 9, 10)), (62, dt.date(2026, 9, 10))])
    assert (both.total, both.parcels, both.per_card, both.orders) == (D("1572.00"), 4, D("12.58"), 2)
    assert costs.split_orders(125, 2) == [63, 62] and costs.split_orders(10, 3) == [4, 3, 3]
    assert costs.split_orders(3, 10) == [1, 1, 1]  # never more orders than cards


# --- in-house: amortisation, staff time, spoilage ---------------------------------------------------


def test_in_house_cost_per_card_follows_the_yearly_volume():
    assert pricing.marginal_per_card(PROFILE) == D("10.71")
    assert pricing.fixed_per_year(PROFILE) == D("2400.00")
    # 400 cards: 400 × 10.71 + 2,400 = 4,284 + 2,400 = 6,684.00 → 16.71 a card
    small = costs.in_house_cost(PROFILE, 400)
    assert (small.total, small.fixed, small.per_card) == (D("6684.00"), D("2400.00"), D("16.71"))
    # 1,200 cards: 12,852 + 2,400 = 15,252.00 → 12.71 a card
    assert costs.in_house_cost(PROFILE, 1200).per_card == D("12.71")
    # No VAT split for own costs (wages and goods, entered gross)
    assert small.net is None and small.vat is None


def test_amortisation_ends_after_its_years_and_leaves_the_licence():
    bought = CostProfile(**{**PROFILE.__dict__, "purchased_on": dt.date(2021, 3, 1)})
    # bought in 2021, 5 years: amortised 2021–2025; from 2026 only the licence, 1,000.00
    assert pricing.fixed_per_year(bought, 2025) == D("2400.00")
    assert pricing.fixed_per_year(bought, 2026) == D("1000.00")
    # 400 cards in 2026: 4,284 + 1,000 = 5,284.00 → 13.21 a card
    assert costs.in_house_cost(bought, 400, 2026).per_card == D("13.21")
    # 3 years instead of 5: 6,500/3 + 1,000 + 500/3 = 2,166.67 + 1,000 + 166.67 = 3,333.33 (7,000/3 = 2,333.333…)
    assert pricing.fixed_per_year(CostProfile(**{**PROFILE.__dict__, "amortisation_years": 3})) == D("3333.33")


def test_staff_time_and_spoilage_and_half_up_rounding():
    # only staff time: 3 min × 40 zł/h = 3/60 × 40 = 2.00
    assert pricing.marginal_per_card(CostProfile(staff_minutes_per_card=D("3"), hourly_rate=D("40"))) == D("2.00")
    # a 10.00 blank with 5 % spoilt: 10.50
    assert pricing.marginal_per_card(CostProfile(blank_price=D("10"), spoilage_percent=D("5"))) == D("10.50")
    # ribbon 1.00 for 8 prints = 0.125 → 0.13 (half up, not to even)
    assert pricing.marginal_per_card(CostProfile(ribbon_price=D("1.00"), ribbon_yield=8)) == D("0.13")


def test_the_centre_shares_its_fixed_cost_by_volume():
    # 300 of the centre's 1,200 cards: 300 × 10.71 = 3,213.00 + 2,400 × 300/1,200 = 600.00 → 3,813.00
    share = costs.centre_share(PROFILE, 300, 1200)
    assert (share.total, share.fixed, share.per_card) == (D("3813.00"), D("600.00"), D("12.71"))


# --- break-even ----------------------------------------------------------------------------------


def test_break_even_volume_with_the_briefs_examples():
    # docs/domain.md §13: p_ext 15.50, c_in 10.50 → 5,000/5 = 1,000 and 9,500/5 = 1,900 cards
    assert costs.break_even_volume(D("5000"), D("15.50"), D("10.50")) == 1000
    assert costs.break_even_volume(D("9500"), D("15.50"), D("10.50")) == 1900
    # p_ext 12.00, c_in 11.00 → 5,000 to 9,500 cards
    assert costs.break_even_volume(D("5000"), D("12.00"), D("11.00")) == 5000
    assert costs.break_even_volume(D("9500"), D("12.00"), D("11.00")) == 9500
    # p_ext ≤ c_in (8.50 vs 10.00; equal prices): never
    assert costs.break_even_volume(D("5000"), D("8.50"), D("10.00")) is None
    assert costs.break_even_volume(D("5000"), D("10.00"), D("10.00")) is None
    # rounded up: 2,400 / (13.50 − 10.71) = 2,400 / 2.79 = 860.2 → 861 (860 × 2.79 = 2,399.40 < 2,400):
    #   861 cards in-house 861 × 10.71 + 2,400 = 11,621.31 ≤ 861 × 13.50 = 11,623.50
    #   860 cards in-house 860 × 10.71 + 2,400 = 11,610.60 > 860 × 13.50 = 11,610.00
    n = costs.break_even_volume(D("2400"), D("13.50"), D("10.71"))
    assert n == 861
    assert costs.in_house_cost(PROFILE, 861).total == D("11621.31") <= 861 * D("13.50")
    assert costs.in_house_cost(PROFILE, 860).total == D("11610.60") > 860 * D("13.50")


def test_compare_channels_marks_the_cheapest_and_the_break_even():
    p1 = costs.ChannelOption(key="printer-1", name="P1", kind=costs.PRICE_LIST, channel="external",
                             tiers=tuple(TIERS[:2]), terms=P1_TERMS)
    own = costs.ChannelOption(key="own", name="Własna", kind=costs.OWN, channel="own", profile=PROFILE,
                              reference_name="Centrum")
    cmp = costs.compare_channels([p1, own], school_id=7, school_name="SP 7", volume=1200, orders=4,
                                 on_date=dt.date(2026, 12, 1))
    # P1: 4 orders of 300 off season: 300 × 10.50 + 6 parcels × 18 = 3,150 + 108 = 3,258.00; × 4 = 13,032.00
    #     → 10.86 a card.  Own (reference): 1,200 × 10.71 + 2,400 = 15,252.00 → 12.71 a card.
    assert [(r.key, r.total) for r in cmp.rows] == [("printer-1", D("13032.00")), ("own", D("15252.00"))]
    assert cmp.cheapest.key == "printer-1" and cmp.order_sizes == (300, 300, 300, 300)
    # break-even: 2,400 / (10.86 − 10.71) = 2,400 / 0.15 = 16,000 cards
    assert cmp.break_even.volume == 16000 and cmp.break_even.external_per_card == D("10.86")
    assert cmp.rows[1].note.startswith("drukarka wzorowana")


def test_what_if_rows_price_the_same_orders_and_sum_by_hand():
    option = costs.ChannelOption(key="printer-1", name="P1", kind=costs.PRICE_LIST, channel="external",
                                 tiers=tuple(TIERS[:2]), terms=P1_TERMS)
    facts = [costs.OrderFact(1, 120, dt.date(2025, 9, 10), D("1400.00")),
             costs.OrderFact(1, 5, dt.date(2025, 12, 1), D("70.00")),
             costs.OrderFact(2, 40, dt.date(2025, 9, 20), D("450.00")),
             costs.OrderFact(2, 40, dt.date(2024, 9, 20), D("450.00"))]  # another year: left out
    result = costs.what_if_rows(option, facts, 2025, school_names={1: "A", 2: "B"},
                                duplicate_income={1: D("27.00")})
    # A: 1,494.00 (as above) + 5 × 12.00 + 18 = 78.00 → 1,572.00 vs 1,470.00 actual: +102.00
    # B: 40 × 10.50 + 40 × 1.50 + 18 = 498.00 vs 450.00: +48.00
    a, b = result.rows
    assert (a.projected.total, a.actual, a.difference, a.after_income) == (
        D("1572.00"), D("1470.00"), D("102.00"), D("1545.00"))
    assert (b.projected.total, b.difference, b.cards, b.orders) == (D("498.00"), D("48.00"), 40, 1)
    assert (result.projected, result.actual, result.difference, result.duplicate_income) == (
        D("2070.00"), D("1920.00"), D("150.00"), D("27.00"))


# --- order quotes use the same math ------------------------------------------------------------------


def test_order_quotes_honour_the_printers_window_parcels_vat_and_tier_validity(app, two_schools):
    with app.app_context():
        p1 = db.session.get(Organisation, two_schools["p1"])
        p1.season_surcharge, p1.shipping_price, p1.parcel_capacity = D("1.50"), D("18.00"), 5
        p1.season_from, p1.season_until, p1.vat_rate = "12-15", "01-15", D("8.00")
        db.session.execute(update(PriceTier).where(PriceTier.printer_id == p1.id, PriceTier.min_quantity == 10)
                           .values(valid_until=dt.date(2026, 12, 31)))
        db.session.add(PriceTier(printer_id=p1.id, min_quantity=10, unit_price=D("11.00"),
                                 valid_from=dt.date(2027, 1, 1)))
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        school = db.session.get(Organisation, two_schools["a"])
        # 12 cards on 20.12.2026 (in P1's 15.12–15.01 season): 12 × 10.50 + 12 × 1.50 + ⌈12/5⌉ = 3 × 18
        #   = 126.00 + 18.00 + 54.00 = 198.00; net 198 / 1.08 = 183.33, VAT 14.67
        december = quotes.quote_for(school, str(two_schools["p1"]), 12, dt.date(2026, 12, 20))
        assert (december.total, december.parcels, december.net, december.vat) == (
            D("198.00"), 3, D("183.33"), D("14.67"))
        assert december.as_dict()["vat"] == "14.67" and december.as_dict()["parcels"] == 3
        # 12 cards on 10.01.2027: the new ≥10 tier (11.00) and still in season: 132 + 18 + 54 = 204.00
        assert quotes.quote_for(school, str(two_schools["p1"]), 12, dt.date(2027, 1, 10)).total == D("204.00")
        # 12 cards on 20.01.2027: out of season: 132 + 54 = 186.00
        assert quotes.quote_for(school, str(two_schools["p1"]), 12, dt.date(2027, 1, 20)).total == D("186.00")
        # September is no longer P1's season
        assert quotes.quote_for(school, str(two_schools["p1"]), 12, dt.date(2026, 9, 10)).surcharge_total == D("0")


# --- the city's pages -----------------------------------------------------------------------------------


def _order(school_id, city_id, user_id, printer_id, cards, day, total, status="delivered", channel="external"):
    with tenant_scope(Tenant(school_id=school_id)):
        db.session.add(PrintOrder(school_id=school_id, city_id=city_id, printer_id=printer_id, channel=channel,
                                  status=status, card_count=cards, total_price=D(total), issue_date=day,
                                  submitted_at=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
                                  created_by_id=user_id))
        db.session.commit()
        return db.session.scalar(select(func.max(PrintOrder.id)))


def _duplicates_paid(school_id, city_id, order_id, cards, day, total, paid):
    """The statistics' summary of an order whose cards include `paid` duplicates paid at 9 zł."""
    with tenant_scope(Tenant(school_id=school_id)):
        db.session.add(OrderFacts(school_id=school_id, city_id=city_id, order_id=order_id, channel="external",
                                  submitted_on=day, delivered_on=day, cards=cards, cost=D(total), paid=paid,
                                  fees=D("9.00") * paid, live_waiting=0, spoiled=0, rejected=0))
        db.session.commit()


@pytest.fixture
def costed_city(app, world, two_schools):
    """City C (schools A, B; printers P1, P2 and the centre M) with 2025 orders, A's own printer,
    M's cost profile and A's duplicate fees; city D with its own school, order and official."""
    ids = dict(two_schools)
    ids["centre"] = world.printer([ids["city"]], "Miejskie Centrum Druku", tiers=((1, "10.00"),), agreements=False)
    other_city = world.city("Miasto Drugie")
    ids["other_city"] = other_city
    ids["other_school"] = world.school(other_city, "Szkoła w Innym Mieście")
    other_director = world.user("dyrektor.d@test.pl", ids["other_school"], "school_director")
    world.user("urzednik.d@test.pl", other_city, "city_official")
    with app.app_context():
        db.session.add(CityPrinter(city_id=other_city, printer_id=ids["p1"]))
        p1, p2, centre = (db.session.get(Organisation, ids[k]) for k in ("p1", "p2", "centre"))
        p1.season_surcharge, p1.shipping_price, p1.parcel_capacity = D("1.50"), D("18.00"), 50
        p2.shipping_price = D("10.00")
        centre.is_city_print_centre = True
        db.session.execute(delete(PriceTier).where(PriceTier.printer_id == p2.id))
        db.session.add_all([PriceTier(printer_id=p2.id, min_quantity=1, unit_price=D("11.00")),
                            PriceTier(printer_id=p2.id, min_quantity=100, unit_price=D("9.50"))])
        db.session.commit()
        city, a, b = ids["city"], ids["a"], ids["b"]
        first = _order(a, city, ids["director_a"], ids["p1"], 120, dt.date(2025, 9, 10), "1494.00")
        _order(a, city, ids["director_a"], ids["p1"], 5, dt.date(2025, 12, 1), "78.00")
        _order(b, city, ids["director_b"], ids["p2"], 40, dt.date(2025, 9, 20), "450.00")
        _order(a, city, ids["director_a"], ids["p1"], 30, dt.date(2025, 10, 1), "0", status="draft")  # not placed
        earlier = _order(a, city, ids["director_a"], ids["p1"], 50, dt.date(2024, 9, 10), "597.00")  # another year
        # A's duplicates: 3 paid among the 2025 order's cards (27.00), 1 in 2024's (not 2025's income)
        _duplicates_paid(a, city, first, 120, dt.date(2025, 9, 10), "1494.00", 3)
        _duplicates_paid(a, city, earlier, 50, dt.date(2024, 9, 10), "597.00", 1)
        _order(ids["other_school"], other_city, other_director, ids["p1"], 7, dt.date(2025, 9, 1), "84.00")
        with tenant_scope(Tenant(school_id=a)):
            db.session.add(SchoolPrinter(school_id=a, city_id=city, model="Evolis Primacy 2",
                                         purchase_price=D("6500"), licence_per_year=D("1000"),
                                         starter_kit_price=D("500"), blank_price=D("6.20"), hologram_price=D("1.10"),
                                         ribbon_price=D("450"), ribbon_yield=300, spoilage_percent=D("4")))
            db.session.commit()
        with tenant_scope(Tenant(city_id=city)):
            db.session.add(CentreCostProfile(city_id=city, printer_id=ids["centre"], model="Fargo HDP5000",
                                             **{k: v for k, v in PROFILE.__dict__.items()
                                                if k not in ("model", "purchased_on", "lead_time_days")}))
            db.session.commit()
    return ids


# What-if 2025 by hand (orders: A 120 on 10.09 + 5 on 1.12, B 40 on 20.09; actual 1,494 + 78 + 450 = 2,022.00):
#   P1 (10.50 from 10, +1.50 in season, 18 per 50-card parcel):
#     A: 1,494.00 + 78.00 = 1,572.00;  B: 420 + 60 + 18 = 498.00;           total 2,070.00 (+48.00)
#   P2 (11.00; 9.50 from 100; 10.00 per order):
#     A: 120 × 9.50 + 10 = 1,150.00 + 5 × 11 + 10 = 65.00 → 1,215.00;  B: 450.00;  total 1,665.00 (−357.00)
#   Centre price list (10.00, nothing else): A 1,250.00, B 400.00;          total 1,650.00
#   Centre own cost (c_in 10.71, F 2,400, V = 165):
#     A: 125 × 10.71 = 1,338.75 + 2,400 × 125/165 = 1,818.18 → 3,156.93
#     B:  40 × 10.71 =   428.40 + 2,400 ×  40/165 =   581.82 → 1,010.22;   total 4,167.15 (= 165 × 10.71 + 2,400)
#     (F's shares by pricing.allocate: 240,000 gr × 125/165 = 181,818 r 30, × 40/165 = 58,181 r 135 → the
#      grosz left goes to B: 1,818.18 + 581.82 = 2,400.00 exactly)
#   Own printer in every school:
#     A (its Evolis: c_in (6.20 + 1.10 + 1.50) × 1.04 = 9.15, F 2,400): 125 × 9.15 + 2,400 = 3,543.75
#     B (the Szczecin letter's single printer as reference: c_in 10.30 + 1.20 + 480/250 = 13.42,
#        F 5,750/5 + 1,000 + 500/5 = 2,250): 40 × 13.42 + 2,250 = 2,786.80; total 6,330.55
EXPECTED_2025 = {"P1": D("2070.00"), "P2": D("1665.00"), "centre_list": D("1650.00"), "centre_cost": D("4167.15"),
                 "own": D("6330.55")}


def test_what_if_for_the_year_equals_the_hand_sums(app, costed_city):
    ids = costed_city
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        keys = {"P1": f"printer-{ids['p1']}", "P2": f"printer-{ids['p2']}", "centre_list": f"printer-{ids['centre']}",
                "centre_cost": f"centre-{ids['centre']}", "own": "own"}
        results = {name: costs.what_if(ids["city"], 2025, key) for name, key in keys.items()}
        assert {name: r.projected for name, r in results.items()} == EXPECTED_2025
        assert all(r.actual == D("2022.00") and r.cards == 165 and r.orders == 3 for r in results.values())
        p1 = {r.school_name: r for r in results["P1"].rows}
        assert p1["Szkoła Podstawowa nr 1"].projected.total == D("1572.00")
        assert p1["Szkoła Podstawowa nr 1"].duplicate_income == D("27.00")  # 3 duplicates × 9 zł
        assert p1["Szkoła Podstawowa nr 2"].difference == D("48.00")
        assert results["P2"].difference == D("-357.00")
        centre = {r.school_name: r.projected.total for r in results["centre_cost"].rows}
        assert centre == {"Szkoła Podstawowa nr 1": D("3156.93"), "Szkoła Podstawowa nr 2": D("1010.22")}
        own = {r.school_name: r.projected for r in results["own"].rows}
        assert own["Szkoła Podstawowa nr 1"].total == D("3543.75") and not own["Szkoła Podstawowa nr 1"].note
        assert own["Szkoła Podstawowa nr 2"].total == D("2786.80") and "list Szczecina" in own[
            "Szkoła Podstawowa nr 2"].note


def test_the_channel_comparison_page_defaults_to_the_schools_year(app, costed_city, browser):
    ids = costed_city
    official = browser("urzednik@test.pl")
    page = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&date=10.09.2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # A ordered 125 cards in 2 orders in 2025 → 63 + 62 on 10.09.2025:
    #   P1 1,572.00 (12.58 a card), P2 703 + 692 = 1,395.00 (11.16, cheapest), centre list 1,250.00 (10.00: the
    #   centre's internal price, not a cost to the city, so never "cheapest"),
    #   centre own cost with V = 125: 125 × 10.71 + 2,400 = 3,738.75, own Evolis 125 × 9.15 + 2,400 = 3,543.75
    assert 'value="125"' in html and 'value="2"' in html
    # the top table is the form's assumption, said so (the break-even below prices the real orders)
    assert "liczba kart rozłożona na równe zamówienia złożone w jednym dniu (10.09.2025)" in html
    for amount in ("1572.00", "12.58", "1395.00", "11.16", "1250.00", "10.00", "3738.75", "3543.75", "27.00"):
        assert zl(amount) in html, amount
    assert "najtańszy" in html and "cennik wewnętrzny centrum (nie koszt miasta)" in html
    # break-even of A's Evolis (9.15 + 2,400 a year) against the cheapest external printer for A's orders
    # (120 on 10.09 + 5 on 1.12; the 5-card order stays, the 120 grows): P2 from 100 cards costs 9.50 > 9.15,
    # so ext − own = 9.50 (N − 5) + 10 + 65 − 9.15 N − 2,400 = 0.35 N − 2,372.50 < 0 up to 5,000 cards: never.
    # At A's 125 cards: own 3,543.75 against P2's 120 × 9.50 + 10 + 5 × 11 + 10 = 1,215.00.
    assert f"nie opłaca się przy żadnej liczbie kart z tabeli (do 5{NBSP}000 kart rocznie)" in html
    assert zl("1215.00") in html
    # the CSV and XLSX carry the same numbers
    args = f"school_id={ids['a']}&volume=125&orders=2&date=10.09.2025"
    data = official.get(f"/miasto/koszty/eksport/kanaly.csv?{args}")
    assert data.status_code == 200 and data.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(data.get_data().decode("utf-8-sig")), delimiter=";"))
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Miejskie Centrum Druku"][4] == "1250,00" and by_name["Miejskie Centrum Druku"][11] == ""
    assert by_name["Drukarnia Druga"][11] == "tak"
    assert by_name["Drukarnia Pierwsza"][4] == "1572,00" and by_name["Drukarnia Pierwsza"][10] == "12,58"
    assert by_name["Drukarnia Pierwsza"][8] == "1278,05"  # net: 1,572 / 1.23 = 1,278.048… (per order: 643.90 + 634.15)
    book = load_workbook(io.BytesIO(official.get(f"/miasto/koszty/eksport/kanaly.xlsx?{args}").get_data()))
    sheet = book.active
    header = next(i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "Kanał")
    xlsx = {row[0]: row for row in sheet.iter_rows(min_row=header + 1, values_only=True)}
    assert xlsx["Drukarnia Pierwsza"][4] == pytest.approx(1572.00)
    assert xlsx["Drukarnia Druga"][10] == pytest.approx(11.16)
    assert xlsx["Evolis Primacy 2 (drukarka szkoły)"][4] == pytest.approx(3543.75)


def test_the_break_even_table_downloads_with_the_pages_numbers(app, costed_city, browser):
    ids = costed_city
    official = browser("urzednik@test.pl")
    args = f"school_id={ids['a']}&volume=125&orders=2&date=10.09.2025"
    rows = list(csv.reader(io.StringIO(official.get(f"/miasto/koszty/eksport/prog.csv?{args}").get_data().decode(
        "utf-8-sig")), delimiter=";"))
    by_volume = {r[0]: r for r in rows[1:]}
    # 125 cards (A's own volume): own 3,543.75 (28.35 a card), P2 1,215.00 (9.72 a card), own not cheaper
    assert by_volume["125"][1:] == ["tak", "2", "3543,75", "28,35", "1215,00", "9,72", "Drukarnia Druga", "nie"]
    # 10 cards: the 5-card order stays and the other takes 5: P2 5 × 11 + 10 + 65 = 130.00; own 91.50 + 2,400
    assert by_volume["10"][3:7] == ["2491,50", "249,15", "130,00", "13,00"]


def test_the_what_if_page_and_its_downloads(app, costed_city, browser):
    ids = costed_city
    official = browser("urzednik@test.pl")
    summary = official.get("/miasto/koszty/?year=2025")
    assert summary.status_code == 200
    html = summary.get_data(as_text=True)
    for amount in EXPECTED_2025.values():
        assert zl(amount) in html
    page = official.get(f"/miasto/koszty/co-jesli?year=2025&channel=printer-{ids['p1']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and zl("2070.00") in html and zl("2022.00") in html and zl("48.00") in html
    assert "Szkoła w Innym Mieście" not in html
    csv_rows = list(csv.reader(io.StringIO(official.get(
        f"/miasto/koszty/eksport/co_jesli.csv?year=2025&channel=printer-{ids['p1']}").get_data().decode("utf-8-sig")),
        delimiter=";"))
    assert csv_rows[0][:5] == ["Szkoła", "Zamówienia", "Karty", "Koszt rzeczywisty (zł)",
                               "Koszt: Drukarnia Pierwsza (zł)"]
    assert [r[:6] for r in csv_rows[1:]] == [["Szkoła Podstawowa nr 1", "2", "125", "1572,00", "1572,00", "0,00"],
                                             ["Szkoła Podstawowa nr 2", "1", "40", "450,00", "498,00", "48,00"]]
    assert csv_rows[1][6] == "27,00" and csv_rows[1][7] == "1545,00"
    book = load_workbook(io.BytesIO(official.get("/miasto/koszty/eksport/co_jesli_kanaly.xlsx?year=2025").get_data()))
    cells = {row[0]: row for row in book.active.iter_rows(values_only=True) if row and row[0]}
    assert cells["Drukarnia Druga"][4] == pytest.approx(1665.00)
    assert cells["Drukarnia Druga"][6] == pytest.approx(-357.0)
    assert cells["Własna drukarka w każdej szkole"][4] == pytest.approx(6330.55)
    assert official.get("/miasto/koszty/eksport/nic.csv").status_code == 404
    assert official.get("/miasto/koszty/eksport/co_jesli_kanaly.pdf?year=2025").status_code == 404
    bad = official.get("/miasto/koszty/co-jesli?year=dwa&channel=own")
    assert bad.status_code == 422 and "Rok: podaj liczbę całkowitą" in bad.get_data(as_text=True)
    bad = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&volume=0")
    assert bad.status_code == 422 and "Liczba kart w roku" in bad.get_data(as_text=True)
    bad = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&date=31.02.2025")
    assert bad.status_code == 422 and "dd.mm.rrrr" in bad.get_data(as_text=True)


CENTRE_FORM = {"model": "Fargo HDP5000", "purchased_on": "01.09.2024", "purchase_price": "8 000",
               "amortisation_years": "4",
               "licence_per_year": "1000", "starter_kit_price": "500", "blank_price": "6,20", "hologram_price": "1,10",
               "ribbon_price": "450", "ribbon_yield": "300", "staff_minutes_per_card": "1,5", "hourly_rate": "60",
               "spoilage_percent": "2", "lead_time_days": "5"}


def test_the_centre_cost_profile_form(app, costed_city, browser):
    ids = costed_city
    official = browser("urzednik@test.pl")
    page = official.get("/miasto/koszty/centrum")
    assert page.status_code == 200 and "Fargo HDP5000" in page.get_data(as_text=True)
    for field, value, message in (("amortisation_years", "0", "Okres amortyzacji"),
                                  ("ribbon_yield", "0", "Wydruków z taśmy"),
                                  ("spoilage_percent", "dużo", "Odsetek zepsutych kart: podaj liczbę"),
                                  ("hourly_rate", "-5", "Koszt godziny pracy"),
                                  ("purchased_on", "2024/09/01", "Data zakupu")):
        bad = post_from(official, "/miasto/koszty/centrum", "/miasto/koszty/centrum",
                        CENTRE_FORM | {field: value, "printer_id": ids["centre"]})
        assert bad.status_code == 422 and message in bad.get_data(as_text=True), field
    missing_csrf = official.client.post("/miasto/koszty/centrum", data=CENTRE_FORM | {"printer_id": ids["centre"]})
    assert missing_csrf.status_code == 400
    saved = post_from(official, "/miasto/koszty/centrum", "/miasto/koszty/centrum",
                      CENTRE_FORM | {"printer_id": ids["centre"]})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        profile = db.session.scalar(select(CentreCostProfile))
        assert (profile.purchase_price, profile.amortisation_years, profile.staff_minutes_per_card,
                profile.purchased_on) == (D("8000.00"), 4, D("1.50"), dt.date(2024, 9, 1))
    # c_in = (6.20 + 1.10 + 1.50 + 1.5/60 × 60 = 1.50) × 1.02 = 10.30 × 1.02 = 10.506 → 10.51
    # F (bought 2024, 4 years: still amortised this year until 2027) = 8,000/4 + 1,000 + 500/4 = 3,125.00
    html = official.get("/miasto/koszty/centrum").get_data(as_text=True)
    if clock.today().year <= 2027:
        assert "10,51" in html and "3" + NBSP + "125,00" in html
    # the centre's table downloads too: 1,000 cards → 1,000 × 10.51 + F, per card
    data = official.get(f"/miasto/koszty/eksport/centrum.csv?printer_id={ids['centre']}")
    assert data.status_code == 200 and "Karty w roku" in data.get_data().decode("utf-8-sig")


def test_counts_take_their_polish_form_on_the_channel_page(app, costed_city, browser):
    """Walk finding 9: a count and its noun agree (infra.inputs.plural), in the page's sentences,
    the table's title and note, the tile and the break-even's pattern of orders."""
    ids = costed_city
    official = browser("urzednik@test.pl")
    html = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&date=10.09.2025").get_data(as_text=True)
    # A in 2025: 120 cards on 10.09 and 5 on 01.12 → 125 cards in 2 orders, 1 of them of at most 5 cards
    assert "szkoła zamówiła 125 kart w 2 zamówieniach." in html
    assert "2 zamówienia, 125 kart, w tym 1 zamówienie po najwyżej 5 kart" in html
    # B in 2025: one order of 40 cards
    html = official.get(f"/miasto/koszty/kanaly?school_id={ids['b']}&date=20.09.2025").get_data(as_text=True)
    assert "szkoła zamówiła 40 kart w 1 zamówieniu." in html
    assert "1 zamówienie, 40 kart, w tym 0 zamówień po najwyżej 5 kart" in html
    # 1 card in 1 order; 23 cards in 2 orders (12 + 11: the form follows the last number read)
    one = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&date=10.09.2025&volume=1&orders=1")
    html = one.get_data(as_text=True)
    assert "Koszt kanałów: Szkoła Podstawowa nr 1, 1 karta<" in html
    assert '<span class="num">1</span>karta w roku' in html
    assert "Zamówienia: 1 karta z dnia 10.09.2025" in html
    html = official.get(f"/miasto/koszty/kanaly?school_id={ids['a']}&date=10.09.2025&volume=23&orders=2").get_data(
        as_text=True)
    assert "Koszt kanałów: Szkoła Podstawowa nr 1, 23 karty<" in html and "karty w roku" in html
    assert "Zamówienia: 12 + 11 kart z dnia 10.09.2025" in html
    what_if = official.get(f"/miasto/koszty/co-jesli?year=2025&channel=printer-{ids['p1']}").get_data(as_text=True)
    assert '<span class="num">165</span>kart w 3 zamówieniach' in what_if


def test_ids_from_a_list_numbers_and_file_names_on_the_cost_pages(app, costed_city, browser):
    """Walk findings 10 and 11: a school id that is no id is "Wybierz szkołę z listy." (not the
    bigint's range); the centre's form shows its amounts as the reference printer's does and takes
    them back as shown; the card counts of its table are grouped; downloads have Polish names."""
    ids = costed_city
    official = browser("urzednik@test.pl")
    for bad in ("abc", "-1", "9" * 20):
        page = official.get(f"/miasto/koszty/kanaly?school_id={bad}")
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and "Wybierz szkołę z listy." in html and "9223372036854775807" not in html
    export = official.get("/miasto/koszty/eksport/centrum.csv?printer_id=abc")
    assert export.status_code == 422 and export.get_data(as_text=True) == "Wybierz centrum druku z listy."
    page = official.get("/miasto/koszty/centrum").get_data(as_text=True)
    shown = dict(re.findall(r'<input id="[^"]+" name="([^"]+)"[^>]*value="([^"]*)"', page))
    assert (shown["purchase_price"], shown["blank_price"], shown["staff_minutes_per_card"],
            shown["ribbon_yield"]) == (f"6{NBSP}500,00", "6,20", "2,00", "300")
    assert f">1{NBSP}000<" in page and f">10{NBSP}000<" in page  # "Karty w roku": 1 000 … 10 000
    saved = post_from(official, "/miasto/koszty/centrum", "/miasto/koszty/centrum",
                      shown | {"printer_id": ids["centre"]})  # saved as shown
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        profile = db.session.scalar(select(CentreCostProfile))
        assert (profile.purchase_price, profile.blank_price, profile.ribbon_yield) == (D("6500.00"), D("6.20"), 300)
    today = clock.today().isoformat()
    args = f"school_id={ids['a']}&date=10.09.2025"
    for url, name in ((f"/miasto/koszty/eksport/kanaly.csv?{args}", f"legitka-koszty-porownanie-kanalow-{today}.csv"),
                      ("/miasto/koszty/eksport/co_jesli_kanaly.xlsx?year=2025",
                       f"legitka-koszty-co-jesli-kanaly-{today}.xlsx"),
                      (f"/miasto/koszty/eksport/prog.csv?{args}", f"legitka-koszty-prog-oplacalnosci-{today}.csv")):
        response = official.get(url)
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"', url


def test_only_the_citys_official_sees_its_costs(app, costed_city, browser):
    ids = costed_city
    for email in ("dyrektor.a@test.pl", "drukarnia.1@test.pl"):
        other_role = browser(email)
        for url in ("/miasto/koszty/", "/miasto/koszty/kanaly", "/miasto/koszty/co-jesli", "/miasto/koszty/centrum",
                    "/miasto/koszty/eksport/co_jesli_kanaly.csv?year=2025"):
            assert other_role.get(url).status_code == 404, (email, url)
    stranger = browser("urzednik.d@test.pl")
    assert stranger.get(f"/miasto/koszty/kanaly?school_id={ids['a']}").status_code == 404
    assert stranger.get(f"/miasto/koszty/eksport/kanaly.csv?school_id={ids['a']}").status_code == 404
    # its own what-if sees only its own school's order (7 cards at P1, which serves both cities)
    html = stranger.get(f"/miasto/koszty/co-jesli?year=2025&channel=printer-{ids['p1']}").get_data(as_text=True)
    assert "Szkoła w Innym Mieście" in html and "Szkoła Podstawowa nr 1" not in html and zl("2022.00") not in html
    assert "Miejskie Centrum Druku" not in stranger.get("/miasto/koszty/?year=2025").get_data(as_text=True)
    # city C's centre is not its centre: nothing to show, nothing to save
    assert "Fargo" not in stranger.get(f"/miasto/koszty/centrum?printer_id={ids['centre']}").get_data(as_text=True)
    refused = post_from(stranger, "/miasto/koszty/", "/miasto/koszty/centrum",
                        CENTRE_FORM | {"printer_id": ids["centre"]})
    assert refused.status_code == 422 and "centrum druku" in refused.get_data(as_text=True)
    assert stranger.get(f"/miasto/koszty/eksport/centrum.csv?printer_id={ids['centre']}").status_code == 404
    with app.app_context(), tenant_scope(Tenant(city_id=ids["other_city"])):
        assert db.session.scalars(select(CentreCostProfile)).all() == []
        assert costs.order_facts(ids["city"], 2025) == []  # RLS: city C's orders are invisible to city D


# --- the forms that feed the model ------------------------------------------------------------------


PRINTER_TERMS = {"lead_time_days": "21", "season_surcharge": "1,50", "shipping_price": "18", "offset_x_mm": "0",
                 "offset_y_mm": "0", "bleed_mm": "0", "season_from": "15.12", "season_until": "15.01",
                 "vat_rate": "8", "parcel_capacity": "50"}


def test_the_printer_sets_its_season_window_vat_and_parcel_size(app, two_schools, browser):
    operator = browser("drukarnia.1@test.pl")
    html = operator.get("/drukarnia/ustawienia").get_data(as_text=True)
    assert 'value="15.08"' in html and 'value="31.10"' in html  # the default window, as dd.mm
    assert operator.post("/drukarnia/ustawienia", PRINTER_TERMS).status_code == 302
    with app.app_context():
        printer = db.session.get(Organisation, two_schools["p1"])
        assert (printer.season_from, printer.season_until, printer.vat_rate, printer.parcel_capacity) == (
            "12-15", "01-15", D("8.00"), 50)
    for field, value, message in (("season_from", "31.02", "Początek sezonu"),
                                  ("season_until", "wrzesień", "Koniec sezonu"),
                                  ("vat_rate", "123", "Stawka VAT"), ("parcel_capacity", "-1", "Kart w jednej paczce")):
        response = operator.post("/drukarnia/ustawienia", PRINTER_TERMS | {field: value})
        assert response.status_code == 422 and message in response.get_data(as_text=True), field
    with app.app_context():
        assert db.session.get(Organisation, two_schools["p1"]).season_from == "12-15"  # nothing half-saved


def test_the_school_records_amortisation_and_staff_time(app, two_schools, browser):
    director = browser("dyrektor.a@test.pl")
    form = {"model": "Evolis Primacy 2", "purchase_price": "6500", "licence_per_year": "1000",
            "starter_kit_price": "500", "blank_price": "6,20", "hologram_price": "1,10", "ribbon_price": "450",
            "ribbon_yield": "300", "spoilage_percent": "4", "lead_time_days": "2", "amortisation_years": "4",
            "staff_minutes_per_card": "3", "hourly_rate": "40"}
    bad = director.post("/szkola/ustawienia/drukarka", form | {"amortisation_years": "0"})
    assert bad.status_code == 422 and "Okres amortyzacji" in bad.get_data(as_text=True)
    assert director.post("/szkola/ustawienia/drukarka", form).status_code == 302
    html = director.get("/szkola/ustawienia/").get_data(as_text=True)
    # c_in = (6.20 + 1.10 + 1.50 + 3/60 × 40 = 2.00) × 1.04 = 10.80 × 1.04 = 11.232 → 11.23
    # F = 6,500/4 + 1,000 + 500/4 = 1,625 + 1,000 + 125 = 2,750.00
    assert "11,23" in html and "2" + NBSP + "750,00" in html
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        printer = db.session.scalar(select(SchoolPrinter))
        assert (printer.amortisation_years, printer.staff_minutes_per_card, printer.hourly_rate) == (4, D("3.00"),
                                                                                                    D("40.00"))
        school = db.session.get(Organisation, two_schools["a"])
        assert quotes.quote_for(school, "own", 10, dt.date(2026, 9, 1)).total == D("112.30")  # 10 × 11.23


def test_tables_export_with_decimal_commas():
    table = cost_tables.what_if_summary_table([], 2025)
    assert to_csv(table).decode("utf-8-sig").startswith("Kanał;Rodzaj;Szkoły")


def test_the_centres_internal_price_list_is_never_shown_as_a_saving(app, costed_city, browser):
    """The centre's internal price list is what it charges schools, not what the city pays: the
    what-if opens on a channel that is a cost to the city, says so when the list is chosen and
    gives it no difference; the summary lists it last with no difference."""
    ids = costed_city
    official = browser("urzednik@test.pl")
    default = official.get("/miasto/koszty/co-jesli?year=2025").get_data(as_text=True)
    chosen = re.search(r'<option value="([^"]+)"\s+selected', default)
    assert chosen and chosen.group(1) != f"printer-{ids['centre']}", chosen
    assert "różnica (dla szkół z wyceną)" in default and "cennik wewnętrzny centrum to nie koszt miasta" not in default
    internal = official.get(f"/miasto/koszty/co-jesli?year=2025&channel=printer-{ids['centre']}").get_data(as_text=True)
    assert "cennik wewnętrzny centrum to nie koszt miasta" in internal
    assert "To cennik wewnętrzny centrum druku" in internal
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        table = cost_tables.what_if_summary_table(costs.what_if_all(ids["city"], 2025), 2025)
    kinds = [row[1] for row in table.rows]
    assert kinds[-1] == cost_tables.INTERNAL_LABEL and kinds.count(cost_tables.INTERNAL_LABEL) == 1
    assert table.rows[-1][table.columns.index("Różnica (zł)")] is None
    assert all(row[table.columns.index("Różnica (zł)")] is not None for row in table.rows[:-1])
