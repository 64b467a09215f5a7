"""The duplicate fee's periods through the web (docs/domain.md §25): only the platform admin keeps
them; the school sees the fee in force and its basis on the pupil page, the duplicate application
and its payment instructions (the PDF form), each application with the fee of its own day.

Hand-worked (today pinned to 5.12.2026): the admin closes 9,00 zł on 31.12.2026 and adds 12,00 zł
from 1.01.2027. A duplicate asked for on 5.12.2026 shows 9,00 zł and § 67; on 1.01.2027 the pupil
page offers 12,00 zł, and the December application still asks for 9,00 zł."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from infra import clock
from tests.helpers import id_from_location
from tests.helpers import pupil_form
from tests.portal.test_pupils_and_applications_ui import ACCOUNT
from tests.portal.test_pupils_and_applications_ui import give_photo

NEW_BASIS = "ustawa o opłacie skarbowej, zał. cz. II pkt 5 (brzmienie testowe od 1.01.2027)"
DECEMBER = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
JANUARY = dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def admin(browser, world, two_schools):
    world.user("admin@test.pl", admin=True)
    return browser("admin@test.pl")


def test_only_the_platform_admin_keeps_the_fee(admin, browser, two_schools):
    director = browser("dyrektor.a@test.pl")
    assert director.get("/admin/oplata-za-duplikat").status_code == 404
    assert director.post("/admin/oplata-za-duplikat", {"amount": "12,00", "valid_from": "01.01.2027",
                                                       "basis": NEW_BASIS}).status_code == 404
    page = admin.get("/admin/oplata-za-duplikat").get_data(as_text=True)
    assert "9,00\u00a0zł" in page and "§ 67 ust. 1" in page and "13.07.2024" in page and "bezterminowo" in page


def test_the_admin_changes_the_fee_and_each_application_keeps_its_own(app, admin, browser, two_schools):
    secretary = browser("sekretariat.a@test.pl")
    browser("dyrektor.a@test.pl").post("/szkola/ustawienia/", {"bank_account": ACCOUNT})
    with clock.pinned(DECEMBER):
        overlap = admin.post("/admin/oplata-za-duplikat", {"amount": "12,00", "valid_from": "01.01.2027",
                                                           "valid_to": "", "basis": NEW_BASIS})
        assert overlap.status_code == 422 and "nakłada się" in overlap.get_data(as_text=True)
        assert admin.post("/admin/oplata-za-duplikat", {"amount": "dwanaście", "valid_from": "01.01.2027",
                                                        "basis": NEW_BASIS}).status_code == 422
        assert admin.post("/admin/oplata-za-duplikat/1/koniec", {"valid_to": "31.12.2026"}).status_code == 302
        assert admin.post("/admin/oplata-za-duplikat", {"amount": "12,00", "valid_from": "01.01.2027",
                                                        "valid_to": "", "basis": NEW_BASIS}).status_code == 302
        assert admin.post("/admin/oplata-za-duplikat/999/koniec", {"valid_to": "31.12.2027"}).status_code == 404

        response = secretary.post("/szkola/uczniowie/nowy", pupil_form(first="Zuzanna", surname="Wróblewska"))
        pupil_id = id_from_location(response)
        give_photo(app, two_schools["a"], pupil_id)
        pupil_page = secretary.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
        assert "duplikat (opłata 9,00\u00a0zł)" in pupil_page and "§ 67 ust. 1" in pupil_page
        response = secretary.post(f"/szkola/uczniowie/{pupil_id}/wnioski", {"kind": "duplicate", "reason_code": "lost"})
        application_id = id_from_location(response)
        page = secretary.get(f"/szkola/wnioski/{application_id}").get_data(as_text=True)
        assert "Opłata 9,00\u00a0zł na rachunek szkoły" in page and 'value="9,00"' in page and "§ 67 ust. 1" in page

    with clock.pinned(JANUARY):
        secretary = browser("sekretariat.a@test.pl")  # a month on: signed in again
        pupil_page = secretary.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
        assert "duplikat (opłata 12,00\u00a0zł)" in pupil_page and NEW_BASIS in pupil_page
        page = secretary.get(f"/szkola/wnioski/{application_id}").get_data(as_text=True)
        assert "Opłata 9,00\u00a0zł na rachunek szkoły" in page and "12,00" not in page
        form = secretary.get(f"/szkola/wnioski/{application_id}/wniosek.pdf")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(form.data)).pages)
        assert "9,00" in text and "12,00" not in text and "Podstawa opłaty: § 67 ust. 1" in text
        wrong = secretary.post(f"/szkola/wnioski/{application_id}/wplata",
                               {"amount": "12,00", "paid_on": "31.12.2026", "reference": "duplikat"})
        assert wrong.status_code == 422 and "9,00 zł" in wrong.get_data(as_text=True)
