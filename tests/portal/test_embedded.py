"""The embedded default behind `make run`: no settings, SQLite, in-process jobs, local files."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests.conftest import Browser


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("LEGITKA_"):
            monkeypatch.delenv(name)
    from portal import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    yield app
    from infra.db import db

    with app.app_context():
        db.engine.dispose()


def counts(app):
    from infra.db import db
    from tenants.pupils.models import Pupil
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope
    from tenants.tenancy.models import Membership
    from tenants.tenancy.models import Organisation
    from tenants.tenancy.models import User

    with app.app_context():
        result = {"orgs": db.session.scalar(select(func.count()).select_from(Organisation)),
                  "users": db.session.scalar(select(func.count()).select_from(User)),
                  "memberships": db.session.scalar(select(func.count()).select_from(Membership)), "pupils": 0}
        for school_id in db.session.scalars(select(Organisation.id).where(Organisation.kind == "school")):
            with tenant_scope(Tenant(school_id=school_id)):
                result["pupils"] += db.session.scalar(select(func.count()).select_from(Pupil))
        from tenants.consultations.models import Consultation
        from tenants.consultations.models import ConsultationAnswer

        for city_id in db.session.scalars(select(Organisation.id).where(Organisation.kind == "city")):
            with tenant_scope(Tenant(city_id=city_id)):
                result["consultations"] = db.session.scalar(select(func.count()).select_from(Consultation))
                result["answers"] = db.session.scalar(select(func.count()).select_from(ConsultationAnswer))
        return result


def test_starts_with_no_settings_migrates_sqlite_and_serves_sign_in(embedded, tmp_path):
    assert embedded.config["DATABASE_URL"].startswith("sqlite:///")
    assert embedded.config["EMBEDDED"] and not embedded.config["SESSION_COOKIE_SECURE"]
    result = embedded.test_cli_runner().invoke(args=["legitka", "migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "instance" / "legitka.sqlite3").exists()
    assert (tmp_path / "instance" / "secrets.json").stat().st_mode & 0o077 == 0  # generated, private
    response = embedded.test_client().get("/logowanie")
    assert response.status_code == 200 and "Zaloguj się" in response.get_data(as_text=True)


def test_demo_seed_is_complete_and_idempotent(embedded):
    runner = embedded.test_cli_runner()
    assert runner.invoke(args=["legitka", "migrate"]).exit_code == 0
    first = runner.invoke(args=["legitka", "seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = counts(embedded)
    assert after_first["pupils"] >= 1500 and after_first["orgs"] >= 1 + 12 + 3
    assert (after_first["consultations"], after_first["answers"]) == (1, 5)  # one open, five schools answered
    second = runner.invoke(args=["legitka", "seed-demo"])
    assert second.exit_code == 0 and "(0 new)" in second.output
    assert counts(embedded) == after_first
    # The accounts that need a second factor are seeded enrolled: the command prints their code
    # (docs/security.md T2.3); secretaries have none.
    for email in ("dyrektor@sp1.demo", "urzednik@szczecin.demo", "drukarnia@polcard.demo", "admin@legitka.demo"):
        code = runner.invoke(args=["legitka", "demo-totp", email])
        assert code.exit_code == 0 and re.fullmatch(r"\d{6}\n", code.output), (email, code.output)
    assert runner.invoke(args=["legitka", "demo-totp", "sekretariat@sp1.demo"]).exit_code == 2

    # Every demo PESEL is valid and matches its pupil's birth date and sex.
    from infra import services
    from infra.db import db
    from tenants.pupils import pesel
    from tenants.pupils.models import Pupil
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope
    from tenants.tenancy.models import Organisation

    with embedded.app_context():
        schools = list(db.session.scalars(select(Organisation).where(Organisation.kind == "school")))
        assert {s.school_type for s in schools} >= {"primary", "liceum", "technikum", "branzowa", "special", "adult"}
        templates = set()
        for school in schools:
            with tenant_scope(Tenant(school_id=school.id)):
                for pupil in db.session.scalars(select(Pupil)):
                    value = services.pesel_cipher().decrypt(pupil.pesel_cipher)
                    pesel.validate(value, date_of_birth=pupil.date_of_birth, sex_code=pupil.sex)
                    templates.add(pupil.template_code)
        assert {"MEiN-I/1", "MEiN-I/2", "MEiN-I/3-N"} <= templates
        # This autumn, seven orders' printers confirmed deleting their copies and two did not: those
        # two are flagged to the city (docs/domain.md §23). The earlier years' orders are all confirmed.
        import datetime as dt

        from infra import clock
        from printing import deletions
        from printing.models import PrinterDeletion
        from printing.models import PrintOrder
        from reports.forecast import running_year

        city = db.session.scalar(select(Organisation).where(Organisation.kind == "city"))
        with tenant_scope(Tenant(city_id=city.id)):
            autumn = dt.datetime(running_year(clock.today()), 9, 1, tzinfo=dt.UTC)
            this_autumn = select(PrintOrder.id).where(PrintOrder.delivered_at >= autumn)
            assert len(db.session.scalars(select(PrinterDeletion).where(
                PrinterDeletion.order_id.in_(this_autumn))).all()) == 7
            late = deletions.missing()
            assert sorted(m.school_name.split(" im.")[0] for m in late) == [
                "Szkoła Podstawowa nr 1", "XIII Liceum Ogólnokształcące"]
            assert all(m.days_overdue > 0 and m.printer_name for m in late)
            # The autumn's work is logged on its own days (a data protection officer asks by month),
            # and each autumn order's download by its printer is in the log, at the order's moment.
            from tenants.tenancy.context import unscoped
            from tenants.tenancy.models import AccessLog

            downloads = {(o, ts.replace(tzinfo=None)) for o, ts in db.session.execute(
                select(PrintOrder.id, PrintOrder.downloaded_at).where(PrintOrder.delivered_at >= autumn))}
            with unscoped("test: the access log of every chain"):
                logged = {(o, ts.replace(tzinfo=None)) for o, ts in db.session.execute(
                    select(AccessLog.order_id, AccessLog.ts).where(AccessLog.action == "batch_download"))}
                submitted_logged = {(o, ts.date()) for o, ts in db.session.execute(
                    select(AccessLog.order_id, AccessLog.ts).where(AccessLog.action == "order_submitted"))}
            submitted = {(o, ts.date()) for o, ts in db.session.execute(
                select(PrintOrder.id, PrintOrder.submitted_at).where(PrintOrder.delivered_at >= autumn))}
            assert downloads and downloads <= logged
            assert submitted and submitted <= submitted_logged  # on the order's day, not the seeding's
            # no confirmation is dated after the moment the demo was seeded (one was "tomorrow")
            assert db.session.scalar(select(func.max(PrinterDeletion.confirmed_at))) <= clock.utcnow()
        # The print centre and the school printing for itself hold blank stock (docs/domain.md §22).
        from tenants.registry import blanks

        for slug, kind in (("centrum-druku", "printer_id"), ("lo2", "school_id")):
            holder = db.session.scalar(select(Organisation.id).where(Organisation.slug == slug))
            with tenant_scope(Tenant(**{kind: holder})):
                assert blanks.stock().in_stock > 0

    # The demo director can place an order; the in-process job builds the batch at once.
    director = Browser(embedded.test_client())
    assert director.login("dyrektor@sp1.demo", "legitka-demo").status_code == 302
    page = director.post("/szkola/zamowienia/nowe", {"application_id": [], "channel": ""})
    assert page.status_code == 422  # nothing chosen: a clear message, not a 500
    form = director.get("/szkola/zamowienia/nowe").get_data(as_text=True)
    app_ids = re.findall(r'name="application_id" value="(\d+)"', form)
    printer_id = re.findall(r'name="channel" value="(\d+)"', form)[0]
    assert len(app_ids) == 4
    response = director.post("/szkola/zamowienia/nowe", {"application_id": app_ids, "channel": printer_id})
    order_url = response.headers["Location"]
    assert director.post(order_url + "/zloz").status_code == 302
    page = director.get(order_url).get_data(as_text=True)
    assert "paczka gotowa" in page

    # The demo's one transfer, seeded once: SP 18 sent a pupil to SP 1, who accepts her (on SQLite).
    listing = director.get("/szkola/przeniesienia").get_data(as_text=True)
    transfers = re.findall(r'href="(/szkola/przeniesienia/\d+)"', listing)
    assert len(transfers) == 1 and "Szkoła Podstawowa nr 18" in listing
    assert "próśb o przeniesienie ucznia do decyzji" in director.get("/szkola/").get_data(as_text=True)
    assert 'name="take_photo"' in director.get(transfers[0]).get_data(as_text=True)  # her photo came along
    accepted = director.post(transfers[0] + "/przyjmij", {"take_photo": "1", "application": "1", "class_name": "1b"})
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    pupil_page = director.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "poprzednia szkoła (przeniesienie)" in pupil_page and "pierwsza legitymacja" in pupil_page

    # The demo's consultation with the directors: SP 1 has not answered, so its director is asked on
    # the dashboard; the city sees 5 of the 13 schools' answers (on SQLite).
    assert "miasto czeka na odpowiedź dyrektora" in director.get("/szkola/").get_data(as_text=True)
    official = Browser(embedded.test_client())
    assert official.login("urzednik@szczecin.demo", "legitka-demo").status_code == 302
    listing = official.get("/miasto/konsultacje/").get_data(as_text=True)
    consultation = re.search(r'href="(/miasto/konsultacje/\d+)"', listing).group(1)
    assert "5 z 13 szkół" in official.get(consultation).get_data(as_text=True)

    # The city's data protection officer serves every demo school and answers on SQLite (docs/dpo.md).
    iod = Browser(embedded.test_client())
    assert iod.login("iod@szczecin.demo", "legitka-demo").status_code == 302
    assert "Szkoła Podstawowa nr 18" in iod.get("/iod/").get_data(as_text=True)
    for path in ("/iod/umowy", "/iod/retencja", "/iod/dziennik", f"/iod/drukarnie?drukarnia={printer_id}"):
        assert iod.get(path).status_code == 200, path
    found = iod.post("/iod/uczen", {"name": "Nowak"}).get_data(as_text=True)
    pupil_url = re.findall(r'href="(/iod/szkola/\d+/uczen/\d+)"', found)[0]
    assert iod.get(pupil_url + "?format=xlsx").status_code == 200
    assert "NARUSZONY" not in iod.post("/iod/dziennik").get_data(as_text=True)


def test_parent_link_import_and_mail_work_on_the_embedded_default(embedded, tmp_path):
    """SQLite hands back naive timestamps and jobs run in-process: the link's expiry, the import
    job and the parent's e-mail (written as an .eml file) must work there too."""
    import io

    from tests.helpers import face_jpeg
    from tests.helpers import roster_csv

    runner = embedded.test_cli_runner()
    assert runner.invoke(args=["legitka", "migrate"]).exit_code == 0
    assert runner.invoke(args=["legitka", "seed-demo"]).exit_code == 0
    staff = Browser(embedded.test_client())
    assert staff.login("sekretariat@sp1.demo", "legitka-demo").status_code == 302
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(roster_csv()), "lista.csv")},
                          content_type="multipart/form-data")
    import_url = response.headers["Location"]
    assert staff.post(import_url + "/importuj").status_code == 302
    assert "Import zakończony: dodano 2" in staff.get(import_url).get_data(as_text=True)
    page = staff.get("/szkola/uczniowie?q=Kowalska+Anna").get_data(as_text=True)
    pupil_id = re.search(r"/szkola/uczniowie/(\d+)\"", page).group(1)
    page = staff.post(f"/szkola/uczniowie/{pupil_id}/link-dla-rodzica").get_data(as_text=True)
    token = re.search(r"/zdjecie/([A-Za-z0-9_-]{20,})", page).group(1)
    parent = Browser(embedded.test_client())
    assert parent.get(f"/zdjecie/{token}").status_code == 200
    sent = parent.post(f"/zdjecie/{token}", {"photo": (io.BytesIO(face_jpeg()), "a.jpg"), "email": "m@example.pl",
                                             "force": "1"}, content_type="multipart/form-data")
    assert sent.status_code == 200, sent.get_data(as_text=True)
    queue = staff.get("/szkola/zdjecia/").get_data(as_text=True)
    submission_id = re.search(r"/szkola/zdjecia/(\d+)/decyzja", queue).group(1)
    assert staff.post(f"/szkola/zdjecia/{submission_id}/decyzja", {"decision": "accept"}).status_code == 302
    mails = [path.read_bytes() for path in (tmp_path / "instance" / "mail").glob("*.eml")]
    # The parent's, once; the only other is the printer's about the demo's waiting order (seed-demo).
    assert len([m for m in mails if b"m@example.pl" in m]) == 1
    assert len([m for m in mails if b"To: zamowienia@" in m]) == len(mails) - 1 == 1
