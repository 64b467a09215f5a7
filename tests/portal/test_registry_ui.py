"""The registry, holograms, mLegitymacja and transfers through the web: what a secretary does
and what each export contains (exactly that school's entries)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from infra import clock
from infra.db import db
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.registry import holograms
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.transfers.models import PupilTransfer
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards

YEAR = holograms.school_year_of(clock.today())
TODAY = clock.today().strftime("%d.%m.%Y")


def seed_cards(app, two_schools, school_key, names, serial_base):
    """Handed-over cards at school A or B for pupils with the given surnames."""
    school_id = two_schools[school_key]
    actor = Actor(user_id=two_schools[f"director_{school_key}"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupils = [add_pupil(actor, surname=name, serial=serial_base + i, class_name="1a")
                  for i, name in enumerate(names)]
        cards = handed_over_cards(actor, school, two_schools["p1"], pupils)
        db.session.commit()
        return [(c.id, c.label) for c in cards], [p.id for p in pupils]


@pytest.fixture
def registry(app, two_schools, browser):
    a_cards, a_pupils = seed_cards(app, two_schools, "a", ["Alfa", "Beta", "Gamma"], 500)
    b_cards, _ = seed_cards(app, two_schools, "b", ["Obcy", "Inny"], 600)
    return {"staff": browser("sekretariat.a@test.pl"), "a_cards": a_cards, "a_pupils": a_pupils,
            "b_cards": b_cards}


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_registry_book_and_xlsx_hold_exactly_this_schools_entries(registry):
    staff = registry["staff"]
    text = pdf_text(staff.get("/szkola/ewidencja/ksiega.pdf").data)
    for name in ("Alfa", "Beta", "Gamma"):
        assert name in text
    assert "Obcy" not in text and "Inny" not in text
    assert make_pesel(dt.date(2018, 6, 1), 500, "K") in text  # the book is the register: full PESEL
    assert make_pesel(dt.date(2018, 6, 1), 600, "K") not in text
    sheet = load_workbook(io.BytesIO(staff.get("/szkola/ewidencja/ewidencja.xlsx").data)).active
    rows = [r for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert sorted(r[1].split()[0] for r in rows) == ["Alfa", "Beta", "Gamma"]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert all(r[9] == "wydana" and r[11] == "rodzic" for r in rows)
    empty = load_workbook(io.BytesIO(staff.get("/szkola/ewidencja/ewidencja.xlsx?klasa=7z").data)).active
    assert empty.max_row == 3  # title, scope, header: the filter applies to the export


def test_a_handover_list_per_order_and_the_card_page(app, registry, two_schools):
    staff = registry["staff"]
    card_id, label = registry["a_cards"][0]
    page = staff.get(f"/szkola/ewidencja/legitymacja/{card_id}").get_data(as_text=True)
    order_id = int(re.search(r"/szkola/zamowienia/(\d+)", page).group(1))
    text = pdf_text(staff.get(f"/szkola/ewidencja/zamowienie/{order_id}/lista-odbioru.pdf").data)
    assert "Lista odbioru" in text and "Alfa" in text and "Podpis" in text and "Obcy" not in text
    bad_uid = staff.post(f"/szkola/ewidencja/legitymacja/{card_id}/karta", {"blank_serial": "B-1", "chip_uid": "XYZ"})
    assert bad_uid.status_code == 422
    assert staff.post(f"/szkola/ewidencja/legitymacja/{card_id}/karta",
                      {"blank_serial": "BL 0042", "chip_uid": "04:a2:24:9a"}).status_code == 302
    assert "BL 0042 / 04A2249A" in staff.get(f"/szkola/ewidencja/legitymacja/{card_id}").get_data(as_text=True)
    handed = staff.post(f"/szkola/ewidencja/legitymacja/{card_id}/zepsuta", {"note": "pęknięta"})
    assert handed.status_code == 422 and "unieważnij" in handed.get_data(as_text=True)
    assert staff.post(f"/szkola/ewidencja/legitymacja/{card_id}/uniewaznij", {"reason": "lost"}).status_code == 302
    page = staff.get("/szkola/ewidencja").get_data(as_text=True)
    assert "unieważniona (zgłoszona utrata)" in page


def test_holograms_received_and_the_year_confirmed_in_bulk(app, registry, two_schools):
    staff = registry["staff"]
    bad = staff.post("/szkola/hologramy/dostawa", {"school_year": str(YEAR), "first": "HS 10", "last": "HS 1",
                                                   "supplier": "PWPW", "received_on": TODAY})
    assert bad.status_code == 422 and "z tej samej serii" in bad.get_data(as_text=True)
    assert staff.post("/szkola/hologramy/dostawa", {"school_year": str(YEAR), "first": "HS 000101",
                                                    "last": "HS 000104", "supplier": "PWPW",
                                                    "received_on": TODAY}).status_code == 302
    # Cards issued this school year are already valid through it; pretend they are last year's.
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        for card in db.session.scalars(select(Card)):
            card.valid_until = dt.date(YEAR, 9, 30)
        db.session.commit()
    page = staff.get(f"/szkola/hologramy/potwierdzenie?rok={YEAR}").get_data(as_text=True)
    assert "bez hologramu na ten rok: 3" in page and "na stanie: 4" in page and "zostanie: 1" in page
    ids = [str(card_id) for card_id, _ in registry["a_cards"]]
    # Card ids that are no number, or no BIGINT, pick no card (they were a 500: int() of 5,000 digits, "²").
    hostile = staff.post("/szkola/hologramy/potwierdzenie", {"school_year": str(YEAR),
                                                             "card_id": ["²", "7" * 5000, "9" * 40, "-1"]})
    assert hostile.status_code in (200, 422) and "HS 000101" not in hostile.get_data(as_text=True)
    done = staff.post("/szkola/hologramy/potwierdzenie", {"school_year": str(YEAR), "card_id": ids})
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "HS 000101" in body and "HS 000103" in body and "HS 000104" not in body
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert {c.valid_until for c in db.session.scalars(select(Card))} == {dt.date(YEAR + 1, 9, 30)}
    again = staff.get(f"/szkola/hologramy/potwierdzenie?rok={YEAR}").get_data(as_text=True)
    assert "bez hologramu na ten rok: 0" in again
    protocol = staff.post("/szkola/hologramy/protokol", {"kind": "destroy", "serials": "HS 000104",
                                                         "held_on": TODAY, "committee": "A. Nowak, B. Lis",
                                                         "reason": "zeszłoroczny"})
    assert protocol.status_code == 302
    stock = staff.get("/szkola/hologramy/").get_data(as_text=True)
    assert "A. Nowak, B. Lis" in stock
    with app.app_context():  # the city's ledger is the schools' statistics, refreshed by the worker
        from reports.statistics import refresh_all

        refresh_all()
    city = staff.__class__(app.test_client())
    city.login("urzednik@test.pl")
    ledger = city.get("/miasto/").get_data(as_text=True)
    row = re.search(r"<td>Szkoła Podstawowa nr 1</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>"
                    r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td><td class=\"num\"><strong>(\d+)", ledger)
    assert row.groups() == ("4", "3", "0", "1", "0")


def test_mlegitymacja_to_do_csv_and_objections(app, registry, two_schools):
    staff = registry["staff"]
    page = staff.get("/szkola/mlegitymacja/").get_data(as_text=True)
    assert page.count("zarejestruj w SIO") == 3
    csv = staff.get("/szkola/mlegitymacja/sio.csv").get_data(as_text=True)
    assert csv.count("\r\n") == 4 and make_pesel(dt.date(2018, 6, 1), 500, "K") in csv
    alfa = registry["a_pupils"][0]
    assert staff.post(f"/szkola/mlegitymacja/sprzeciw/{alfa}", {"objects": "1"}).status_code == 302
    assert staff.get("/szkola/mlegitymacja/").get_data(as_text=True).count("zarejestruj w SIO") == 2
    assert staff.post("/szkola/mlegitymacja/zrobione", {"task": "all"}).status_code == 302
    assert "Nic do zrobienia" in staff.get("/szkola/mlegitymacja/").get_data(as_text=True)
    beta_card, _ = registry["a_cards"][1]
    staff.post(f"/szkola/ewidencja/legitymacja/{beta_card}/uniewaznij", {"reason": "lost"})
    assert "unieważnij w SIO" in staff.get("/szkola/mlegitymacja/").get_data(as_text=True)


def test_a_pupil_leaving_or_moving_to_another_city_school(app, registry, two_schools, browser):
    """Leaving invalidates the card at once; moving to another school of the city sends a request
    (the card here is invalidated) that the other school accepts, filing a first-card application
    with the pupil's photo (tests/portal/test_transfers.py has the rest)."""
    staff = registry["staff"]
    alfa, beta = registry["a_pupils"][:2]
    form = {"first_names": "Ola", "surname": "Alfa", "date_of_birth": "01.06.2018", "class_name": "1a",
            "learner_type": "pupil", "status": "left"}
    response = staff.post(f"/szkola/uczniowie/{alfa}/edycja", form, follow_redirects=True)
    assert "została unieważniona (uczeń opuścił szkołę)" in response.get_data(as_text=True)
    assert staff.post(f"/szkola/uczniowie/{beta}/przeniesienie", {"target_id": str(two_schools["b"]), "confirm": "1"}
                      ).status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        cards = {c.pupil_id: c for c in db.session.scalars(select(Card))}
        assert cards[alfa].invalidation_reason == "left" and cards[beta].invalidation_reason == "left"
        assert db.session.get(Pupil, beta).status == "transferred"
        transfer_id = db.session.scalar(select(PupilTransfer.id).where(PupilTransfer.from_pupil_id == beta))
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["b"])):
        assert db.session.scalar(select(Pupil).where(Pupil.surname == "Beta")) is None  # not before B accepts
    other = browser("dyrektor.b@test.pl")
    assert other.post(f"/szkola/przeniesienia/{transfer_id}/przyjmij", {"take_photo": "1", "application": "1"}
                      ).status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["b"])):
        moved = db.session.scalar(select(Pupil).where(Pupil.surname == "Beta"))
        application = db.session.scalar(select(Application).where(Application.pupil_id == moved.id))
        assert moved.status == "active" and moved.photo_key.startswith(f"schools/{two_schools['b']}/")
        assert application.kind == "first" and application.status == "submitted"
        assert "Szkoła Podstawowa nr 1" in application.reason
    elsewhere = staff.post(f"/szkola/uczniowie/{registry['a_pupils'][2]}/przeniesienie",
                           {"target_id": "999999", "confirm": "1"})
    assert elsewhere.status_code == 422
