"""The secretary's and director's pages: pupil records and filters, the school's settings,
applications of every kind through the web, and the prefilled PDF forms."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from infra import clock
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import id_from_location
from tests.helpers import pupil_form
from tests.helpers import store_photo

ACCOUNT = "21 1240 5703 1111 0000 4898 2357"  # Grójec, docs/domain.md source 002


@pytest.fixture
def director(browser, two_schools):
    return browser("dyrektor.a@test.pl")


@pytest.fixture
def secretary(browser, two_schools):
    return browser("sekretariat.a@test.pl")


def add(staff, **form) -> int:
    response = staff.post("/szkola/uczniowie/nowy", pupil_form(**form))
    assert response.status_code == 302, response.get_data(as_text=True)
    return id_from_location(response)


def give_photo(app, school_id, pupil_id):
    from tenants.tenancy.actors import Actor

    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        store_photo(Actor(user_id=None, role="test", organisation_id=school_id),
                    db.session.get(Organisation, school_id), db.session.get(Pupil, pupil_id))
        db.session.commit()


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_only_the_director_sets_the_fee_account_and_it_must_be_a_valid_nrb(director, secretary):
    assert secretary.post("/szkola/ustawienia/", {"bank_account": ACCOUNT}).status_code == 404
    bad = director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT[:-1] + "8"})
    assert bad.status_code == 422 and "cyfry kontrolne" in bad.get_data(as_text=True)
    checks = {f"check_{code}": "warning" for code in ("file_size", "min_pixels", "face", "face_size", "centred",
                                                       "background", "sharpness", "brightness")}
    assert director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT, **checks}).status_code == 302
    page = secretary.get("/szkola/ustawienia/").get_data(as_text=True)
    assert ACCOUNT in page and 'name="check_face" value="warning" checked' in page
    odd = director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT, **checks, "check_face": "sometimes"})
    assert odd.status_code == 422
    bad_format = director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT, "card_number_format": "{rok}"})
    assert bad_format.status_code == 422 and "{n}" in bad_format.get_data(as_text=True)
    assert director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT, "card_number_format": "{n}/{rok}"}
                         ).status_code == 302
    assert 'value="{n}/{rok}"' in secretary.get("/szkola/ustawienia/").get_data(as_text=True)


def test_a_duplicate_through_the_web_with_its_pdf_form(app, two_schools, director, secretary):
    director.post("/szkola/ustawienia/", {"bank_account": ACCOUNT})
    pupil_id = add(secretary, first="Zuzanna", surname="Wróblewska")
    give_photo(app, two_schools["a"], pupil_id)
    response = secretary.post(f"/szkola/uczniowie/{pupil_id}/wnioski", {"kind": "duplicate", "reason_code": "lost"})
    assert response.status_code == 302
    application_id = id_from_location(response)
    page = secretary.get(f"/szkola/wnioski/{application_id}").get_data(as_text=True)
    assert "9,00" in page and "utrata (zgubienie)" in page
    early = director.post(f"/szkola/wnioski/{application_id}/decyzja", {"decision": "approve"})
    assert early.status_code == 422 and "nie zapisano wpłaty" in early.get_data(as_text=True)
    wrong = secretary.post(f"/szkola/wnioski/{application_id}/wplata",
                           {"amount": "90", "paid_on": "01.09.2026", "reference": "duplikat"})
    assert wrong.status_code == 422 and "9,00 zł" in wrong.get_data(as_text=True)
    paid_on = (clock.today() - dt.timedelta(days=1)).strftime("%d.%m.%Y")
    assert secretary.post(f"/szkola/wnioski/{application_id}/wplata",
                          {"amount": "9,00", "paid_on": paid_on, "reference": "duplikat Z. Wróblewska 1a"}
                          ).status_code == 302
    form = secretary.get(f"/szkola/wnioski/{application_id}/wniosek.pdf")
    assert form.headers["Content-Type"] == "application/pdf"
    text = pdf_text(form.data)
    assert "DUPLIKATU" in text.upper() and "Zuzanna Wróblewska" in text and ACCOUNT in text
    assert make_pesel(dt.date(2019, 3, 14), 123, "K") in text  # the form is for the parent to sign
    assert director.post(f"/szkola/wnioski/{application_id}/decyzja", {"decision": "approve"}).status_code == 302
    assert "zatwierdzony" in secretary.get(f"/szkola/wnioski/{application_id}").get_data(as_text=True)


def test_a_replacement_through_the_web(app, two_schools, director, secretary):
    pupil_id = add(secretary)
    give_photo(app, two_schools["a"], pupil_id)
    no_reason = secretary.post(f"/szkola/uczniowie/{pupil_id}/wnioski", {"kind": "replacement"})
    assert no_reason.status_code == 422 and "powód wymiany" in no_reason.get_data(as_text=True)
    response = secretary.post(f"/szkola/uczniowie/{pupil_id}/wnioski",
                              {"kind": "replacement", "reason_code": "outdated_photo"})
    application_id = id_from_location(response)
    text = pdf_text(secretary.get(f"/szkola/wnioski/{application_id}/wniosek.pdf").data)
    assert "NOWEJ" in text.upper() and "nieaktualne zdjęcie" in text and "Zwrot dotychczasowej" in text
    assert secretary.post(f"/szkola/wnioski/{application_id}/zwrot",
                          {"returned_on": clock.today().strftime("%d.%m.%Y")}).status_code == 302
    assert director.post(f"/szkola/wnioski/{application_id}/decyzja", {"decision": "approve"}).status_code == 302


def test_a_pupil_without_pesel_is_added_with_another_document(secretary):
    form = pupil_form(pesel="", id_document_type="paszport", id_document_number="FA 1234567",
                      date_of_birth="12.04.2016")
    response = secretary.post("/szkola/uczniowie/nowy", form)
    assert response.status_code == 302
    page = secretary.get(f"/szkola/uczniowie/{id_from_location(response)}").get_data(as_text=True)
    assert "paszport" in page and "FA1234567" not in page and "*****567" in page  # masked on screen
    neither = secretary.post("/szkola/uczniowie/nowy", pupil_form(pesel="", serial=1))
    assert neither.status_code == 422 and "innego dokumentu" in neither.get_data(as_text=True)


def test_editing_a_pupil_keeps_the_pesel_and_filters_find_them(secretary):
    pupil_id = add(secretary, first="Ignacy", surname="Sowa", sex="M", serial=301)
    add(secretary, first="Hanna", surname="Lis", serial=302)
    form = {"first_names": "Ignacy", "surname": "Sowa", "date_of_birth": "14.03.2019", "class_name": "2b",
            "learner_type": "pupil", "status": "transferred", "parent_email": "sowa@example.pl"}
    response = secretary.post(f"/szkola/uczniowie/{pupil_id}/edycja", form)
    assert response.status_code == 302
    page = secretary.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
    assert "przeniesiony" in page and "sowa@example.pl" in page and "*******" in page
    active = secretary.get("/szkola/uczniowie").get_data(as_text=True)
    assert "Lis" in active and "Sowa" not in active  # the default list shows pupils who attend
    moved = secretary.get("/szkola/uczniowie?status=transferred").get_data(as_text=True)
    assert "Sowa" in moved and "Lis" not in moved
    assert "Lis" in secretary.get("/szkola/uczniowie?zdjecie=missing&legitymacja=none").get_data(as_text=True)
    assert "Lis" not in secretary.get("/szkola/uczniowie?zdjecie=accepted").get_data(as_text=True)
    assert "Lis" in secretary.get("/szkola/uczniowie?q=lis+hanna").get_data(as_text=True)
    bad = secretary.post(f"/szkola/uczniowie/{pupil_id}/edycja", form | {"parent_email": "nie-adres"})
    assert bad.status_code == 422 and re.search("e-mail rodzica jest nieprawidłowy", bad.get_data(as_text=True))


def test_a_pre_school_child_without_a_card_is_told_so_instead_of_offered_an_application(secretary):
    """docs/domain.md §2: MEiN-I/5 only for a disabled child in the compulsory pre-school year."""
    with clock.pinned(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)):  # 2026/27: children born in 2020
        no_card = add(secretary, first="Staś", surname="Mały", dob=dt.date(2020, 4, 2), sex="M", serial=211,
                      learner_type="preschool")
        page = secretary.get(f"/szkola/uczniowie/{no_card}").get_data(as_text=True)
        assert "brak legitymacji" in page and "tylko dziecku niepełnosprawnemu" in page
        assert "Złóż wniosek" not in page
        refused = secretary.post(f"/szkola/uczniowie/{no_card}/wnioski", {"kind": "first"})
        assert refused.status_code == 422 and "tylko dziecku niepełnosprawnemu" in refused.get_data(as_text=True)
        too_young = add(secretary, first="Jaś", surname="Mały", dob=dt.date(2021, 4, 2), sex="M", serial=212,
                        learner_type="preschool", disabled="1")
        page = secretary.get(f"/szkola/uczniowie/{too_young}").get_data(as_text=True)
        assert "kończy 6 lat" in page and "Złóż wniosek" not in page
        card = add(secretary, first="Kuba", surname="Mały", dob=dt.date(2020, 4, 2), sex="M", serial=213,
                   learner_type="preschool", disabled="1")
        page = secretary.get(f"/szkola/uczniowie/{card}").get_data(as_text=True)
        assert "MEiN-I/5" in page and "Złóż wniosek" in page
        assert secretary.post(f"/szkola/uczniowie/{card}/wnioski", {"kind": "first"}).status_code == 302
        listing = secretary.get("/szkola/uczniowie?q=Mały").get_data(as_text=True)
        assert listing.count("brak legitymacji") == 2 and "MEiN-I/5" in listing
