"""The school's data-protection registers over HTTP (docs/privacy-registers.md): the director
records a breach and sees the time left, an overdue one is flagged in red, a late report needs its
reasons, bad input is answered in Polish with 422 and writes nothing, the secretariat reads but
changes nothing, another school's breach is a 404; the records of processing activities list the
school's own printers with agreements and not another school's, on the page and in the A4 PDF."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import ProcessingAgreement
from tenants.privacy import breaches
from tenants.privacy.models import DataBreachVersion
from tenants.privacy.models import PrivacyContacts
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import id_from_location

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=WARSAW)
BREACH = {"discovered_on": "03.11.2026", "discovered_time": "10:00",
          "description": "Zgubiony pendrive z listą klasy 1b.", "data_categories": "imiona i nazwiska, klasa",
          "subject_categories": "uczniowie", "persons_affected": "24", "consequences": "", "measures": "",
          "decision": "open"}


def _versions(app, school_id) -> int:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(func.count()).select_from(DataBreachVersion))


def test_the_director_records_a_breach_and_sees_the_72_hour_clock(app, browser, two_schools):
    director = browser("dyrektor.a@test.pl")
    with clock.pinned(NOW):
        response = director.post("/szkola/ochrona-danych/naruszenia/nowe", BREACH)
        assert response.status_code == 302, response.get_data(as_text=True)
        breach_id = id_from_location(response)
        page = director.get(f"/szkola/ochrona-danych/naruszenia/{breach_id}").get_data(as_text=True)
        assert "Na zgłoszenie do Prezesa UODO zostało 70 godz. 00 min (termin: 06.11.2026, 10:00)." in page
        register = director.get("/szkola/ochrona-danych/").get_data(as_text=True)
        assert "Zgubiony pendrive" in register and "row-overdue" not in register
    with clock.pinned(dt.datetime(2026, 11, 6, 10, 30, tzinfo=WARSAW)):
        register = director.get("/szkola/ochrona-danych/").get_data(as_text=True)
        assert 'class="row-overdue"' in register and "po terminie" in register
        assert "Termin zgłoszenia minął 06.11.2026, 10:00 — 0 godz. 30 min temu." in register
        page = director.get(f"/szkola/ochrona-danych/naruszenia/{breach_id}").get_data(as_text=True)
        assert 'class="flash flash-error"' in page
    with clock.pinned(dt.datetime(2026, 11, 6, 12, 0, tzinfo=WARSAW)):
        # Reported at 11:00 on 06.11, an hour after the deadline: the reasons for the delay are required.
        late = BREACH | {"decision": "reported", "reported_on": "06.11.2026", "reported_time": "11:00", "version": "1"}
        refused = director.post(f"/szkola/ochrona-danych/naruszenia/{breach_id}", late)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Podaj przyczyny opóźnienia (art. 33 ust. 1 RODO)." in body
        assert "termin: 06.11.2026, 10:00" in body
        assert _versions(app, two_schools["a"]) == 1
        done = director.post(f"/szkola/ochrona-danych/naruszenia/{breach_id}",
                             late | {"delay_reason": "Pendrive zgłoszono dyrektorowi dopiero 06.11."})
        assert done.status_code == 302
        page = director.get(f"/szkola/ochrona-danych/naruszenia/{breach_id}").get_data(as_text=True)
        assert "Zgłoszono po terminie (06.11.2026, 10:00), z opóźnieniem 1 godz. 00 min." in page
        assert "Historia wpisu" in page and "Pendrive zgłoszono dyrektorowi" in page
        assert 'class="row-overdue"' not in director.get("/szkola/ochrona-danych/").get_data(as_text=True)
    assert _versions(app, two_schools["a"]) == 2


@pytest.mark.parametrize(("fields", "says"), [
    ({"discovered_on": "31.02.2026"}, "Data stwierdzenia naruszenia: podaj prawidłową datę w formacie dd.mm.rrrr."),
    ({"discovered_time": "10:75"}, "Godzina stwierdzenia naruszenia: podaj godzinę w formacie gg:mm"),
    ({"description": "   "}, "Opisz naruszenie — opis nie może być pusty."),
    ({"decision": "reported", "reported_on": "02.11.2026", "reported_time": "10:00"},
     "Zgłoszenie do Prezesa UODO nie może być wcześniejsze niż stwierdzenie naruszenia."),
    ({"discovered_on": "03.12.2026"}, "Data i godzina stwierdzenia naruszenia nie mogą być z przyszłości."),
])
def test_bad_input_is_answered_in_polish_with_422_and_writes_nothing(app, browser, two_schools, fields, says):
    director = browser("dyrektor.a@test.pl")
    with clock.pinned(NOW):
        response = director.post("/szkola/ochrona-danych/naruszenia/nowe", BREACH | fields)
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)
    assert _versions(app, two_schools["a"]) == 0


def _breach_of(app, school_id, director_id, description) -> int:
    actor = Actor(user_id=director_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)), clock.pinned(NOW):
        breach = breaches.record(actor, BREACH | {"description": description})
        db.session.commit()
        return breach.id


def test_another_schools_breach_is_a_404(app, browser, two_schools):
    theirs = _breach_of(app, two_schools["b"], two_schools["director_b"], "Tajne naruszenie B")
    for email in ("dyrektor.a@test.pl", "sekretariat.a@test.pl"):
        user = browser(email)
        assert user.get(f"/szkola/ochrona-danych/naruszenia/{theirs}").status_code == 404
        assert user.post(f"/szkola/ochrona-danych/naruszenia/{theirs}", BREACH | {"version": "1"}).status_code == 404
        assert "Tajne" not in user.get("/szkola/ochrona-danych/").get_data(as_text=True)
    assert _versions(app, two_schools["b"]) == 1
    assert browser("dyrektor.b@test.pl").get(f"/szkola/ochrona-danych/naruszenia/{theirs}").status_code == 200


def test_the_secretariat_reads_both_registers_and_changes_nothing(app, browser, two_schools):
    mine = _breach_of(app, two_schools["a"], two_schools["director_a"], "Naruszenie widoczne dla sekretariatu")
    secretary = browser("sekretariat.a@test.pl")
    page = secretary.get(f"/szkola/ochrona-danych/naruszenia/{mine}").get_data(as_text=True)
    assert "Naruszenie widoczne dla sekretariatu" in page and "Zapisz nową wersję" not in page
    assert secretary.get("/szkola/ochrona-danych/rejestr-czynnosci").status_code == 200
    assert secretary.get("/szkola/ochrona-danych/naruszenia/nowe").status_code == 404
    assert secretary.post("/szkola/ochrona-danych/naruszenia/nowe", BREACH).status_code == 404
    assert secretary.post(f"/szkola/ochrona-danych/naruszenia/{mine}", BREACH | {"version": "1"}).status_code == 404
    assert secretary.post("/szkola/ochrona-danych/rejestr-czynnosci",
                          {"controller_name": "X", "controller_contact": "Y"}).status_code == 404
    assert _versions(app, two_schools["a"]) == 1


@pytest.fixture
def printer_of_b_only(app, world, two_schools):
    """A printing house only school B has an agreement with."""
    printer = world.printer([two_schools["city"]], "Drukarnia Tylko-Dla-B", agreements=False)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["b"])):
        today = clock.today()
        db.session.add(ProcessingAgreement(school_id=two_schools["b"], printer_id=printer, reference="UP/B/9",
                                           signed_on=today, valid_from=today,
                                           valid_until=today + dt.timedelta(days=30)))
        db.session.commit()
    return printer


def test_the_record_lists_the_schools_own_printers_with_agreements(app, browser, two_schools, printer_of_b_only):
    director = browser("dyrektor.a@test.pl")
    page = director.get("/szkola/ochrona-danych/rejestr-czynnosci").get_data(as_text=True)
    a = two_schools["a"]
    for printer in ("Drukarnia Pierwsza", "Drukarnia Druga"):
        assert f"{printer} (drukarnia, podmiot przetwarzający) — umowa powierzenia UP/{a}/" in page
    assert "Tylko-Dla-B" not in page
    other = browser("dyrektor.b@test.pl").get("/szkola/ochrona-danych/rejestr-czynnosci").get_data(as_text=True)
    assert "Drukarnia Tylko-Dla-B (drukarnia, podmiot przetwarzający) — umowa powierzenia UP/B/9" in other

    # The domain function takes several schools; a school tenant still gets only its own record.
    from printing import agreements
    from tenants.privacy import processing_records

    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        ids = [a, two_schools["b"]]
        found = agreements.recipients(ids)
        assert set(found) == {a} and {r.name for r in found[a]} == {"Drukarnia Pierwsza", "Drukarnia Druga"}
        records = processing_records.build(ids, found)
        assert [r.school_id for r in records] == [a]
        db.session.rollback()


def test_the_director_completes_the_contacts_and_the_pdf_renders(app, browser, two_schools, printer_of_b_only):
    director = browser("dyrektor.a@test.pl")
    refused = director.post("/szkola/ochrona-danych/rejestr-czynnosci",
                            {"controller_name": "", "controller_contact": ""})
    assert refused.status_code == 422 and "Podaj nazwę administratora danych" in refused.get_data(as_text=True)
    saved = director.post("/szkola/ochrona-danych/rejestr-czynnosci", {
        "controller_name": "Szkoła Podstawowa nr 1, ul. Długa 1, 70-001 Szczecin",
        "controller_contact": "sekretariat@sp1.test, tel. 91 000 00 00",
        "dpo_name": "Jan Inspektor", "dpo_contact": "iod@szczecin.test",
        "other_recipients": "Firma Sieciowa sp. z o.o. (obsługa sieci)", "school_measures": "Szafa zamykana na klucz."})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        row = db.session.scalar(select(PrivacyContacts))
        assert (row.dpo_name, row.updated_by_id) == ("Jan Inspektor", two_schools["director_a"])
        db.session.rollback()
    response = director.get("/szkola/ochrona-danych/rejestr-czynnosci.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join((page.extract_text() or "") for page in reader.pages)
    text = " ".join(text.split())
    assert "Rejestr czynności przetwarzania danych osobowych" in text
    for expected in ("Jan Inspektor", "iod@szczecin.test", "Drukarnia Pierwsza", "Drukarnia Druga",
                     "Firma Sieciowa", "Szafa zamykana na klucz", "Dz.U. 2023 poz. 1120"):
        assert expected in text, expected
    assert "Tylko-Dla-B" not in text


def test_an_officer_reads_both_registers_school_by_school_without_writing(app, two_schools, printer_of_b_only):
    """The merge path for the data protection officer (docs/privacy-registers.md §5): under the
    officer's per-school switch (`tenants.tenancy.officer.reading_school`, which refuses any write),
    the same functions give each served school its own breaches and record, and nothing else."""
    from printing import agreements
    from tenants.privacy import processing_records
    from tenants.tenancy import officer
    from tenants.tenancy.models import Organisation

    a, b = two_schools["a"], two_schools["b"]
    first = _breach_of(app, a, two_schools["director_a"], "Naruszenie szkoły A")
    second = _breach_of(app, b, two_schools["director_b"], "Naruszenie szkoły B")
    with app.app_context(), clock.pinned(NOW):
        city = db.session.get(Organisation, two_schools["city"])
        seen = {}
        for school in officer.served_schools(city):
            with officer.reading_school(city, school.id):
                entries = breaches.register([school.id])
                record = processing_records.build([school.id], agreements.recipients([school.id]))
                pdf = processing_records.record_pdf(record[0])
                seen[school.id] = ([(e.breach.id, e.current.description, e.standing.state) for e in entries],
                                   {p.name for p in record[0].printers}, pdf[:4])
        db.session.rollback()
    assert seen[a] == ([(first, "Naruszenie szkoły A", "running")], {"Drukarnia Pierwsza", "Drukarnia Druga"},
                       b"%PDF")
    assert seen[b] == ([(second, "Naruszenie szkoły B", "running")],
                       {"Drukarnia Pierwsza", "Drukarnia Druga", "Drukarnia Tylko-Dla-B"}, b"%PDF")
