"""Data-processing agreements: no order to a printer without one in force, and a lapsed one
closes the printer's access to batches not yet delivered (docs/security.md T3.13)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from printing.models import ProcessingAgreement
from tenants.pupils import applications
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import run_jobs
from tests.helpers import store_photo

TODAY = clock.today()


def draft_order(app, two_schools, printer_key="p1") -> int:
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupil = add_pupil(actor, serial=404)
        store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil)
        applications.decide_application(actor, application, approve=True)
        order = printing_ops.create_order(actor, school, two_schools[printer_key], [application.id])
        db.session.commit()
        return order.id


def end_agreements(app, school_id, printer_id, until):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        db.session.execute(update(ProcessingAgreement).where(ProcessingAgreement.printer_id == printer_id)
                           .values(valid_from=until - dt.timedelta(days=30), valid_until=until))
        db.session.commit()


def test_no_order_without_an_agreement_in_force(app, two_schools, browser):
    order_id = draft_order(app, two_schools)
    end_agreements(app, two_schools["a"], two_schools["p1"], TODAY - dt.timedelta(days=1))
    director = browser("dyrektor.a@test.pl")
    refused = director.post(f"/szkola/zamowienia/{order_id}/zloz")
    assert refused.status_code == 422 and "umowy powierzenia" in refused.get_data(as_text=True)
    page = director.get("/szkola/ustawienia/").get_data(as_text=True)
    assert "wygasła" in page and page.count('id="umowy"') == 1 and page.count("Nowa umowa") == 1
    response = director.post("/szkola/ustawienia/umowy", {
        "printer_id": str(two_schools["p1"]), "reference": "UP/2026/15", "signed_on": TODAY.strftime("%d.%m.%Y"),
        "valid_from": TODAY.strftime("%d.%m.%Y"), "valid_until": "31.08.2027"})
    assert response.status_code == 302
    assert director.post(f"/szkola/zamowienia/{order_id}/zloz").status_code == 302


def test_agreements_are_recorded_by_the_director_and_checked(app, two_schools, browser):
    director, secretary = browser("dyrektor.a@test.pl"), browser("sekretariat.a@test.pl")
    form = {"printer_id": str(two_schools["p1"]), "reference": "UP/1", "signed_on": "01.09.2026",
            "valid_from": "01.09.2026", "valid_until": "31.08.2026"}
    assert secretary.post("/szkola/ustawienia/umowy", form).status_code == 404
    backwards = director.post("/szkola/ustawienia/umowy", form)
    assert backwards.status_code == 422 and "po dacie początku" in backwards.get_data(as_text=True)
    assert director.post("/szkola/ustawienia/umowy", form | {"printer_id": "999999"}).status_code == 422
    assert director.post("/szkola/ustawienia/umowy", form | {"valid_from": "wczoraj"}).status_code == 422


def test_a_lapsed_agreement_closes_the_printers_access_to_the_batch(app, two_schools, browser):
    order_id = draft_order(app, two_schools)
    assert browser("dyrektor.a@test.pl").post(f"/szkola/zamowienia/{order_id}/zloz").status_code == 302
    run_jobs(app)
    printer = browser("drukarnia.1@test.pl")
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/paczka.7z").status_code == 200
    end_agreements(app, two_schools["a"], two_schools["p1"], TODAY - dt.timedelta(days=1))
    for action in ("karty.pdf", "manifest.json", "paczka.7z", "haslo"):
        blocked = printer.post(f"/drukarnia/zamowienia/{order_id}/{action}")
        assert blocked.status_code == 403 and "Umowa powierzenia" in blocked.get_data(as_text=True)


def test_a_printer_reads_its_agreements_and_cannot_change_them(app, two_schools):
    from sqlalchemy import select
    from sqlalchemy import text

    with app.app_context(), tenant_scope(Tenant(printer_id=two_schools["p1"])):
        mine = db.session.scalars(select(ProcessingAgreement)).all()
        assert {a.school_id for a in mine} == {two_schools["a"], two_schools["b"]}
        assert {a.printer_id for a in mine} == {two_schools["p1"]}
        changed = db.session.execute(text("UPDATE processing_agreements SET valid_until = '2099-12-31'"))
        assert changed.rowcount == 0  # row-level security: reading only
        db.session.rollback()
