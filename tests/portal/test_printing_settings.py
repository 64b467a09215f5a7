"""The printer's terms and calibration, and the school's own card printer, through the portal."""

from __future__ import annotations

from decimal import Decimal

from infra.db import db
from printing.models import SchoolPrinter
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation

TERMS = {"lead_time_days": "21", "season_surcharge": "1,50", "shipping_price": "18", "preprinted_blanks": "on",
         "offset_x_mm": "0,4", "offset_y_mm": "-0,25", "bleed_mm": "1"}


def test_a_printer_sets_its_terms_and_calibration(app, two_schools, browser):
    operator = browser("drukarnia.1@test.pl")
    settings = operator.get("/drukarnia/ustawienia").get_data(as_text=True)
    assert "Czas realizacji" in settings
    # no "pre-printed blanks" choice: the print file is always the personalisation only (docs/domain.md §3)
    assert 'name="preprinted_blanks"' not in settings and "wyłącznie personalizację" in settings
    assert operator.post("/drukarnia/ustawienia", TERMS).status_code == 302
    with app.app_context():
        printer = db.session.get(Organisation, two_schools["p1"])
        assert (printer.lead_time_days, printer.season_surcharge, printer.shipping_price) == (
            21, Decimal("1.50"), Decimal("18.00"))
        # the old column is kept (no migration) but no longer set by the form nor read by the print file
        assert not printer.preprinted_blanks and (printer.offset_x_mm, printer.offset_y_mm, printer.bleed_mm) == (
            Decimal("0.40"), Decimal("-0.25"), Decimal("1.00"))
        assert not printer.lead_time_working  # a form without the unit keeps calendar days
        untouched = db.session.get(Organisation, two_schools["p2"])
        assert untouched.lead_time_days == 14 and not untouched.preprinted_blanks
    # ZEFO's terms: 21 working days (docs/domain.md §20, rule 7)
    assert operator.post("/drukarnia/ustawienia", TERMS | {"lead_time_unit": "working"}).status_code == 302
    with app.app_context():
        assert db.session.get(Organisation, two_schools["p1"]).lead_time_working
    refused = operator.post("/drukarnia/ustawienia", TERMS | {"lead_time_unit": "weeks"})
    assert refused.status_code == 422 and "dni kalendarzowe, czy robocze" in refused.get_data(as_text=True)
    for field, value, message in (("offset_x_mm", "6", "Przesunięcie w poziomie"), ("bleed_mm", "x", "Spad"),
                                  ("lead_time_days", "0", "Czas realizacji")):
        response = operator.post("/drukarnia/ustawienia", TERMS | {field: value})
        assert response.status_code == 422 and message in response.get_data(as_text=True), field
    assert browser("dyrektor.a@test.pl").get("/drukarnia/ustawienia").status_code == 404


def test_the_director_records_the_schools_own_printer_and_sees_its_cost_in_the_comparison(app, two_schools,
                                                                                         browser):
    director = browser("dyrektor.a@test.pl")
    form = {"model": "Evolis Primacy 2", "purchase_price": "6500", "licence_per_year": "1000",
            "starter_kit_price": "500", "blank_price": "6,20", "hologram_price": "1,10", "ribbon_price": "450",
            "ribbon_yield": "300", "spoilage_percent": "4", "lead_time_days": "2"}
    bad = director.post("/szkola/ustawienia/drukarka", form | {"ribbon_yield": "0"})
    assert bad.status_code == 422 and "Wydruków z taśmy" in bad.get_data(as_text=True)
    assert director.post("/szkola/ustawienia/drukarka", form).status_code == 302
    page = director.get("/szkola/ustawienia/").get_data(as_text=True)
    assert "9,15" in page  # (6.20 + 1.10 + 450/300) × 1.04 per good card
    assert browser("sekretariat.a@test.pl").post("/szkola/ustawienia/drukarka", form).status_code == 404
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["b"])):
        assert db.session.query(SchoolPrinter).count() == 0  # school B sees none of A's
    with app.app_context(), tenant_scope(Tenant(city_id=two_schools["city"])):
        assert [p.model for p in db.session.query(SchoolPrinter)] == ["Evolis Primacy 2"]  # the city reads costs
