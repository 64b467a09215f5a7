"""Ordinary hostile values through the web (issue 13): each of these was a 500. Now a number is
read by infra.inputs (bounded, refused with a Polish reason), an id in a URL is bounded by the
`int` converter, and a control character in a query string is refused by portal.input_guard
before anything is read (in a form: portal.input_guard, tests/portal/test_name_entry.py). The
form fuzzer (test_fuzz_forms.py) sends the same values everywhere; these pin the cases the issue
names and what the answer says."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import CityBudget
from tenants.pupils.models import Pupil
from tenants.registry import holograms
from tenants.registry.models import Hologram
from tenants.registry.models import HologramDelivery
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import pupil_form

DIGITS_5000 = "9" * 5000
NINES_40 = "9" * 40
TODAY = clock.today().strftime("%d.%m.%Y")
YEAR = holograms.school_year_of(clock.today())
CONTROL_PAGE = "Niedozwolone znaki w adresie"


@pytest.fixture
def school_a(app, two_schools):
    """School A with two handed-over cards (pupils in class 1a) and holograms in stock."""
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=two_schools["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        school = db.session.get(Organisation, two_schools["a"])
        pupils = [add_pupil(actor, surname=name, serial=700 + i, class_name="1a")
                  for i, name in enumerate(("Alfa", "Beta"))]
        cards = handed_over_cards(actor, school, two_schools["p1"], pupils)
        holograms.receive(actor, school_year=YEAR, supplier="PWPW", received_on=clock.today(), first="HS 001",
                          last="HS 005")
        db.session.commit()
        return {"cards": [c.id for c in cards], "pupils": [p.id for p in pupils]}


def count(app, school_id, model) -> int:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(func.count()).select_from(model))


# --- numbers in query strings and forms -------------------------------------------------------------


HOSTILE_NUMBERS = [DIGITS_5000, "²", NINES_40, "1e309", "NaN"]


def test_a_registry_year_that_is_no_year_shows_every_year(browser, school_a):
    staff = browser("sekretariat.a@test.pl")
    for year in [*HOSTILE_NUMBERS, "-1"]:
        response = staff.get(f"/szkola/ewidencja?rok={year}")
        assert response.status_code == 200 and "Alfa" in response.get_data(as_text=True), year
        response = staff.get(f"/szkola/ewidencja/ewidencja.xlsx?rok={year}")
        assert response.status_code == 200, year
        rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=4, values_only=True))
        assert len(rows) == 2, year  # the filter is ignored, not applied as some year
    response = staff.get(f"/szkola/ewidencja/ksiega.pdf?rok={DIGITS_5000}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"


def test_a_hologram_delivery_or_a_cards_hologram_for_no_school_year_is_refused(app, browser, school_a, two_schools):
    staff = browser("sekretariat.a@test.pl")
    card_id = school_a["cards"][0]
    for year in [*HOSTILE_NUMBERS, "", "2999"]:
        response = staff.post("/szkola/hologramy/dostawa", {"school_year": year, "first": "HS 101",
                                                            "last": "HS 102", "supplier": "PWPW", "received_on": TODAY})
        assert response.status_code == 422, year
        assert "Wybierz rok szkolny, który hologramy potwierdzają." in response.get_data(as_text=True)
        response = staff.post(f"/szkola/ewidencja/legitymacja/{card_id}/hologram",
                              {"school_year": year, "serial": "HS 001", "issued_on": TODAY})
        assert response.status_code == 422 and "Wybierz rok szkolny." in response.get_data(as_text=True), year
        confirmation = staff.get(f"/szkola/hologramy/potwierdzenie?rok={year}")
        assert confirmation.status_code == 200, year  # a link's year that is no year: this school year
    assert count(app, two_schools["a"], HologramDelivery) == 1  # the fixture's only
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.scalar(select(Hologram.state).where(Hologram.serial == "HS 001")) == "in_stock"


def test_a_city_budget_of_no_amount_is_refused(app, browser, two_schools):
    official = browser("urzednik@test.pl")
    for amount in [*HOSTILE_NUMBERS, "Infinity", "1e3"]:
        response = official.post("/miasto/budzet", {"year": str(clock.today().year), "amount": amount})
        assert response.status_code == 422, amount
        assert "Kwota budżetu: podaj kwotę w złotych" in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(city_id=two_schools["city"])):
        assert db.session.scalar(select(func.count()).select_from(CityBudget)) == 0


def test_printer_terms_and_cost_profiles_refuse_numbers_that_are_no_amount(browser, two_schools):
    printer, director = browser("drukarnia.1@test.pl"), browser("dyrektor.a@test.pl")
    for value in HOSTILE_NUMBERS:
        response = printer.post("/drukarnia/ustawienia", {"lead_time_days": "14", "season_surcharge": value,
                                                          "shipping_price": "0", "offset_x_mm": "0",
                                                          "offset_y_mm": "0", "bleed_mm": "0"})
        assert response.status_code == 422, value
        assert "Dopłata sezonowa: podaj liczbę" in response.get_data(as_text=True)
        response = printer.post("/drukarnia/ustawienia", {"lead_time_days": value})
        assert response.status_code == 422 and "Czas realizacji (dni): podaj liczbę całkowitą" in \
            response.get_data(as_text=True), value
        response = director.post("/szkola/ustawienia/drukarka", {"model": "Evolis", "purchase_price": value})
        assert response.status_code == 422 and "Cena drukarki: podaj liczbę" in response.get_data(as_text=True)


# --- dates ------------------------------------------------------------------------------------------


def test_impossible_or_absurd_dates_are_refused_with_the_format(app, browser, school_a, two_schools):
    staff = browser("sekretariat.a@test.pl")
    pupil_id = school_a["pupils"][0]
    for day in ["31.02.2026", "2026-13-45", "99.99.99999", "01.01.0001", "31.12.9999"]:
        response = staff.post(f"/szkola/uczniowie/{pupil_id}/papierowa", {"number": "P/1", "issued_on": day})
        assert response.status_code == 422 and "dd.mm.rrrr" in response.get_data(as_text=True), day
        response = staff.post("/szkola/uczniowie/nowy", pupil_form(date_of_birth=day))
        assert response.status_code == 422 and "dd.mm.rrrr" in response.get_data(as_text=True), day
    assert count(app, two_schools["a"], Pupil) == 2


# --- ids in URLs ------------------------------------------------------------------------------------


def test_an_id_no_row_can_have_is_a_404(browser, two_schools):
    director = browser("dyrektor.a@test.pl")
    for url in [f"/szkola/uczniowie/{NINES_40}", f"/szkola/uczniowie/{NINES_40}/edycja",
                f"/szkola/ewidencja/legitymacja/{2**63}", f"/szkola/zamowienia/{DIGITS_5000}",
                "/szkola/uczniowie/٣", "/szkola/uczniowie/0"]:
        response = director.get(url)
        assert response.status_code == 404 and "Nie znaleziono" in response.get_data(as_text=True), url
    response = director.post(f"/szkola/uczniowie/{NINES_40}/edycja", pupil_form())
    assert response.status_code == 404


def test_an_api_order_id_no_row_can_have_is_a_json_404(app, two_schools):
    response = app.test_client().get(f"/api/v1/orders/{NINES_40}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


# --- control characters -----------------------------------------------------------------------------


def test_nul_and_control_characters_in_a_query_are_a_400_page_in_polish(app, browser, school_a, two_schools):
    from tenants.tenancy.models import AccessLog

    staff = browser("sekretariat.a@test.pl")
    before = count(app, two_schools["a"], AccessLog)
    for url, code in [("/szkola/ewidencja/ewidencja.xlsx?klasa=%00", "U+0000"),
                      ("/szkola/ewidencja?klasa=a%00b", "U+0000"), ("/szkola/uczniowie?q=%00", "U+0000"),
                      ("/szkola/uczniowie?klasa=%1B%5B2J", "U+001B"),
                      ("/szkola/ewidencja/ksiega.pdf?rok=%0A2026", "U+000A"), ("/szkola/uczniowie?%00=1", "U+0000")]:
        response = staff.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and CONTROL_PAGE in page and code in page, url
    assert count(app, two_schools["a"], AccessLog) == before  # refused before the view: nothing read or logged


def test_a_control_character_in_a_form_field_changes_nothing(app, browser, school_a, two_schools):
    staff = browser("sekretariat.a@test.pl")
    pupil_id = school_a["pupils"][0]
    for surname in ["Nowak\x00", "No\x1bwak", "Nowak\r\nBcc: x@example.com", "Nowak\x85"]:
        response = staff.post(f"/szkola/uczniowie/{pupil_id}/edycja", pupil_form(surname=surname))
        assert response.status_code == 422 and "znak sterujący" in response.get_data(as_text=True), surname
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.get(Pupil, pupil_id).surname == "Alfa"


def test_a_textarea_keeps_its_line_breaks(app, browser, school_a, two_schools):
    """The protocol's serials are one per line (portal.input_guard.MULTILINE_FIELDS); a one-line
    field of the same form is not."""
    staff = browser("sekretariat.a@test.pl")
    form = {"kind": "destroy", "serials": "HS 004\r\nHS 005", "held_on": TODAY, "committee": "A. Nowak, B. Lis",
            "reason": "zniszczone"}
    assert staff.post("/szkola/hologramy/protokol", form).status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.scalar(select(func.count()).select_from(Hologram).where(Hologram.state == "destroyed")) == 2
    response = staff.post("/szkola/hologramy/protokol", {**form, "serials": "HS 003", "committee": "A. Nowak\nB. Lis"})
    assert response.status_code == 422


def test_the_api_answers_control_characters_in_json_with_a_code(app, two_schools):
    client = app.test_client()
    response = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b",
                                                        "client_secret": "x"})
    assert response.status_code == 400 and response.json["error"] == "invalid_request"  # OAuth2's format there
    response = client.get("/api/v1/orders?status=%00")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_characters"


def test_a_control_character_in_an_api_body_is_a_validation_error():
    from flask import Flask

    from portal.api.errors import ApiError
    from portal.api.payloads import text

    with Flask(__name__).test_request_context():
        for value in ("a\x00b", "a\x1bb", "a\x7f"):
            with pytest.raises(ApiError) as refused:
                text({"reason": value}, "reason", max_length=300)
            assert refused.value.status == 422 and refused.value.code == "validation_error"


def test_a_text_field_of_a_megabyte_in_an_upload_form_is_a_413_saying_so(browser, school_a):
    """werkzeug caps a multipart form's text fields at 500 KB; the page says which limit it was."""
    from tests.portal.fuzzing import multipart

    pupil_id = school_a["pupils"][0]
    staff = browser("sekretariat.a@test.pl")
    response = staff.client.post(f"/szkola/uczniowie/{pupil_id}/zdjecie", **multipart(
        {"csrf_token": staff.csrf(), "force": "x" * 2**20}, {"photo": (b"x", "a.jpg")}))
    assert response.status_code == 413 and "Za długi tekst" in response.get_data(as_text=True)


# --- digits that are not ASCII ----------------------------------------------------------------------


def test_a_class_name_with_a_superscript_digit_sorts_like_any_other(browser, two_schools):
    staff = browser("sekretariat.a@test.pl")
    assert staff.post("/szkola/uczniowie/nowy", pupil_form(class_name="1²", serial=201)).status_code == 302
    assert staff.post("/szkola/uczniowie/nowy", pupil_form(class_name="10a", serial=202,
                                                           first="Jan", sex="M")).status_code == 302
    page = staff.get("/szkola/uczniowie")
    assert page.status_code == 200 and "1²" in page.get_data(as_text=True)


def test_a_pesel_of_non_ascii_digits_is_refused(app, browser, two_schools):
    staff = browser("sekretariat.a@test.pl")
    for pesel in ["1903140123²", "١٩٠٣١٤٠١٢٣٤"]:
        response = staff.post("/szkola/uczniowie/nowy", {**pupil_form(), "pesel": pesel})
        assert response.status_code == 422, pesel
        assert "PESEL musi składać się z 11 cyfr." in response.get_data(as_text=True)
    assert count(app, two_schools["a"], Pupil) == 0


def test_a_bank_account_of_non_ascii_digits_is_refused(browser, two_schools):
    director = browser("dyrektor.a@test.pl")
    response = director.post("/szkola/ustawienia/", {"bank_account": "0710205011000099020207591²"})
    assert response.status_code == 422 and "26 cyfr" in response.get_data(as_text=True)
