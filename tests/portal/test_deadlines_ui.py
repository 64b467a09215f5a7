"""The school's deadlines on the web (docs/domain.md §20): the procedure on the settings page,
each application's promised day with overdue ones flagged and filtered, the notice deadline on a
delivered order, and the class notice for parents without an e-mail address."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from infra import clock
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import id_from_location
from tests.helpers import pupil_form
from tests.helpers import store_photo

WARSAW = ZoneInfo("Europe/Warsaw")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=WARSAW)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def director(browser, two_schools):
    return browser("dyrektor.a@test.pl")


@pytest.fixture
def secretary(browser, two_schools):
    return browser("sekretariat.a@test.pl")


def procedure_of(app, school_id) -> tuple:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        return school.promise_days, school.promise_working_days, school.notice_working_days


def test_the_director_sets_the_procedure_and_garbage_is_refused(app, two_schools, director, secretary):
    url = "/szkola/ustawienia/terminy"
    valid = {"promise_days": "21", "promise_unit": "working", "notice_days": "5"}
    assert secretary.post(url, valid).status_code == 404
    for field, value in [("promise_days", "trzydzieści"), ("promise_days", "0"), ("promise_days", "1e3"),
                         ("promise_days", "9" * 40), ("promise_unit", "tygodnie"), ("notice_days", "-5"),
                         ("notice_days", "")]:
        refused = director.post(url, valid | {field: value})
        assert refused.status_code == 422, (field, value)
        assert "Podaj termin" in refused.get_data(as_text=True) or "Wybierz" in refused.get_data(as_text=True)
    assert procedure_of(app, two_schools["a"]) == (30, False, 5)
    assert director.post(url, valid).status_code == 302
    assert procedure_of(app, two_schools["a"]) == (21, True, 5)
    page = secretary.get("/szkola/ustawienia/").get_data(as_text=True)
    assert 'name="promise_days" value="21"' in page and '<option value="working" selected>' in page
    assert procedure_of(app, two_schools["b"]) == (30, False, 5)  # the other school keeps the default


def give_photo(app, school_id, pupil_id):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        store_photo(Actor(user_id=None, role="test", organisation_id=school_id),
                    db.session.get(Organisation, school_id), db.session.get(Pupil, pupil_id))
        db.session.commit()


def test_promised_days_and_overdue_applications_on_the_list(app, two_schools, director, secretary):
    director.post("/szkola/ustawienia/terminy", {"promise_days": "14", "promise_unit": "calendar",
                                                 "notice_days": "5"})  # Toruń's procedure (source 001)
    with clock.pinned(at(dt.date(2026, 5, 21))):
        late = id_from_location(secretary.post("/szkola/uczniowie/nowy", pupil_form(surname="Spóźniona")))
        give_photo(app, two_schools["a"], late)
        late_application = id_from_location(secretary.post(f"/szkola/uczniowie/{late}/wnioski", {"kind": "first"}))
    with clock.pinned(at(dt.date(2026, 6, 1))):
        fresh = id_from_location(secretary.post("/szkola/uczniowie/nowy", pupil_form(surname="Terminowa",
                                                                                      serial=124)))
        give_photo(app, two_schools["a"], fresh)
        secretary.post(f"/szkola/uczniowie/{fresh}/wnioski", {"kind": "first"})
        waiting = id_from_location(secretary.post("/szkola/uczniowie/nowy", pupil_form(surname="Bezzdjęcia",
                                                                                        serial=125)))
        secretary.post(f"/szkola/uczniowie/{waiting}/wnioski", {"kind": "first"})
    with clock.pinned(at(dt.date(2026, 6, 8))):
        listing = secretary.get("/szkola/wnioski").get_data(as_text=True)
        # 21 May + 14 = 4 June, Corpus Christi -> 5 June; 1 June + 14 = Mon 15 June.
        assert "05.06.2026" in listing and "15.06.2026" in listing and "bez zdjęcia" in listing
        assert listing.count("po terminie</span>") == 1
        overdue = secretary.get("/szkola/wnioski?overdue=1").get_data(as_text=True)
        assert "Spóźniona" in overdue and "Terminowa" not in overdue and "Bezzdjęcia" not in overdue
        page = secretary.get(f"/szkola/wnioski/{late_application}").get_data(as_text=True)
        assert "Termin wydania" in page and "05.06.2026" in page and "po terminie" in page
    with clock.pinned(at(dt.date(2026, 6, 5))):  # the promised day itself is still in time
        assert "Spóźniona" not in secretary.get("/szkola/wnioski?overdue=1").get_data(as_text=True)


def test_the_collection_notice_lists_names_and_classes_only_for_parents_without_email(app, two_schools, secretary):
    pesels = []
    for key, people in (("a", [("Alfa", "1a", ""), ("Beta", "1a", "rodzic@example.pl"), ("Gamma", "2b", ""),
                               ("Delta", "2b", "")]),
                        ("b", [("Obca", "1a", "")])):
        school_id = two_schools[key]
        actor = Actor(user_id=two_schools[f"director_{key}"], role="school_director", organisation_id=school_id)
        with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
            school = db.session.get(Organisation, school_id)
            pupils = [add_pupil(actor, surname=name, serial=700 + i, class_name=class_name, parent_email=email)
                      for i, (name, class_name, email) in enumerate(people)]
            pesels += [make_pesel(dt.date(2018, 6, 1), 700 + i, "K") for i in range(len(people))]
            cards = handed_over_cards(actor, school, two_schools["p1"], pupils, hand_over=False)
            if key == "a":  # Delta's card was collected already
                from printing import operations as printing_ops
                delta = next(card for card in cards if card.pupil.surname == "Delta")
                printing_ops.record_handover(actor, delta, handed_over_on=clock.today(), collected_by="rodzic")
                order_id = cards[0].order_id
            db.session.commit()
    response = secretary.get("/szkola/ewidencja/do-odbioru.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.data)
    assert "Legitymacje szkolne do odbioru" in text and "klasa 1a" in text and "klasa 2b" in text
    assert "Alfa" in text and "Gamma" in text
    assert "Beta" not in text  # told by e-mail
    assert "Delta" not in text  # collected
    assert "Obca" not in text  # another school
    assert not any(pesel in text for pesel in pesels)
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 2  # a page per class
    one_class = pdf_text(secretary.get("/szkola/ewidencja/do-odbioru.pdf?klasa=2b").data)
    assert "Gamma" in one_class and "Alfa" not in one_class
    nothing = pdf_text(secretary.get("/szkola/ewidencja/do-odbioru.pdf?klasa=7z").data)
    assert "nie ma legitymacji do odbioru" in nothing
    order_page = secretary.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "Powiadomić rodziców o odbiorze do" in order_page and "/szkola/ewidencja/do-odbioru.pdf" in order_page
