"""The council's PDF: the period, the source and the generation date on the page, tables with
Polish number formats, markup in names printed as text."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from pypdf import PdfReader

from reports.council_report import Section
from reports.council_report import render
from reports.tables import Table
from tests.helpers import run_jobs


def test_the_council_report_renders_tables_with_period_source_and_date():
    table = Table("rollout", "Postęp wdrożenia", ("Szkoła", "Zamówione", "Koszt"),
                  (("Szkoła <b>nr 1</b>", 1200, Decimal("15340.50")), ("XIII LO", 80, None)), note="Stan na dziś")
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="2" y="20">Wykres</text></svg>'
    pdf = render(city="Miasto Testowe", period="01.09.2026–31.08.2027", generated_at=dt.datetime(2026, 11, 22, 9, 5),
                 sections=[Section("Wdrożenie", (table,), (svg,), text="Zdanie wstępne.")])
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in ("Miasto Testowe", "01.09.2026–31.08.2027", "22.11.2026 09:05", "Źródło", "Postęp wdrożenia",
                     "Szkoła <b>nr 1</b>", "1 200", "15 340,50", "Wykres", "Zdanie wstępne", "strona 1 z 1"):
        assert expected.replace(" ", "") in text.replace(" ", "").replace("\u00a0", ""), expected


def test_a_wide_table_is_printed_in_parts_repeating_the_school_and_years_are_not_grouped():
    """A 20-column table (the rollout) would break its headers inside words on A4: it is printed in
    parts of at most MAX_COLUMNS columns, each starting with the school; a year stays 2026."""
    from reports.council_report import MAX_COLUMNS

    columns = ("Szkoła", *(f"Kol{chr(64 + i)}x" for i in range(1, 20)))  # KolAx … KolSx
    wide = Table("rollout", "Wdrożenie w szkołach", columns, (("SP 1", *range(1001, 1020)),), note="Stan na dziś")
    budget = Table("budget", "Budżet", ("Rok", "Wydano (zł)", "Cel osiągnięty"), ((2026, Decimal("8801.05"), True),))
    pdf = render(city="M", period="2026", generated_at=dt.datetime(2026, 11, 22, 9, 5),
                 sections=[Section("Wdrożenie", (wide, budget))])
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = text.replace("\u00a0", " ")
    assert MAX_COLUMNS < 20 and "(część 1 z 2)" in flat and "(część 2 z 2)" in flat
    assert flat.count("SP 1") == 2 and flat.count("Stan na dziś") == 1  # the school in both parts, the note once
    assert [flat.count(c) for c in columns[1:]] == [1] * 19  # every other column once
    assert "2026 8 801,05 tak" in " ".join(flat.split()) and "2 026" not in flat


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_city_official_asks_for_the_council_report_and_downloads_it(app, two_schools, browser):
    official = browser("urzednik@test.pl")
    overview = official.get("/miasto/?od=2026-09-01&do=2027-08-31").get_data(as_text=True)
    assert "Raport dla Rady Miasta (PDF)" in overview
    form = {"csrf_token": _csrf(overview), "od": "2026-09-01", "do": "2027-08-31", "typ": "", "dzielnica": ""}
    asked = official.post("/miasto/raporty", data=form)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/miasto/raporty")
    page = official.get("/miasto/raporty").get_data(as_text=True)
    assert "w przygotowaniu" in page and 'http-equiv="refresh"' in page and ".pdf" not in page
    run_jobs(app)  # the worker builds it
    page = official.get("/miasto/raporty").get_data(as_text=True)
    assert "gotowy" in page and 'http-equiv="refresh"' not in page
    link = re.search(r'href="(/miasto/raporty/\d+\.pdf)"', page).group(1)
    response = official.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = " ".join(text.split())
    for expected in ("Podstawowa nr 1", "Podstawowa nr 2", "01.09.2026", "31.08.2027",
                     "Wdrożenie", "Czas oczekiwania", "Wydatki", "Co by było", "Czy centralizacja się opłaca",
                     "Stan obecny (zamówienia szkół)", "Hologramy", "Źródło"):
        assert expected in flat, expected
    # Bad filters: a Polish message and nothing asked for; another city and a director see nothing.
    bad = official.post("/miasto/raporty", data={**form, "od": "nie-data"})
    assert bad.status_code == 422 and "dd.mm.rrrr" in bad.get_data(as_text=True)
    assert official.get("/miasto/raporty").get_data(as_text=True).count("Pobierz PDF") == 1
    assert browser("dyrektor.a@test.pl").get(link).status_code == 404
    assert official.get("/miasto/raporty/999999.pdf").status_code == 404
    assert official.get("/miasto/raporty/99999999999999999999.pdf").status_code == 404
    # Control characters in a filter (they would reach the report's text): refused at the form's edge, no 500.
    refused = official.post("/miasto/raporty", data={**form, "dzielnica": "Śród\x00mieście\n"})
    assert refused.status_code == 422 and "znak sterujący (U+0000)" in refused.get_data(as_text=True)
    assert "Śród" not in official.get("/miasto/raporty").get_data(as_text=True)  # nothing asked for
    _lose_the_file(app, int(re.search(r"(\d+)\.pdf", link).group(1)))
    assert official.get(link).status_code == 404  # the file lost from storage: not found, not a 500


def test_reports_asked_for_faster_than_built_are_kept_and_old_reports_go(app, two_schools, browser, monkeypatch):
    from sqlalchemy import func
    from sqlalchemy import select

    from infra.db import db
    from reports import council_report as council
    from reports.models import CouncilReport
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    official = browser("urzednik@test.pl")
    form = {"csrf_token": _csrf(official.get("/miasto/raporty").get_data(as_text=True))}
    monkeypatch.setattr(council, "KEEP", 3)
    with app.app_context():
        city = _city_id()

    def reports():
        with app.app_context(), tenant_scope(Tenant(city_id=city)):
            return [(r.id, r.status, r.file_key) for r in council.reports_of(city)]

    for _ in range(4):  # asked for faster than the worker builds them: none is dropped while queued
        assert official.post("/miasto/raporty", data=form).status_code == 302
    assert [status for _id, status, _key in reports()] == ["queued"] * 4
    run_jobs(app)
    first = reports()
    assert [status for _id, status, _key in first] == ["ready"] * 4
    assert official.post("/miasto/raporty", data=form).status_code == 302
    run_jobs(app)
    kept = reports()
    assert [r[0] for r in kept] == [kept[0][0]] + [r[0] for r in first[:2]]  # the newest 3; the two oldest go
    with app.app_context():
        assert [services_storage(app).exists(key) for _id, _status, key in first] == [True, True, False, False]
    with app.app_context(), tenant_scope(Tenant(city_id=city)):
        assert db.session.scalar(select(func.count()).select_from(CouncilReport)) == 3
        lost = council.request_report(city, None, council.filters_of(council.reports_of(city)[0]))
        db.session.commit()
        assert council.status(lost) == "queued"  # never sent: the reconciler sends it, it never "expires"


def services_storage(app):
    from infra import services

    return services.storage()


def _lose_the_file(app, report_id: int) -> None:

    from infra import services
    from infra.db import db
    from reports.models import CouncilReport
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    with app.app_context():
        city = _city_id()
        with tenant_scope(Tenant(city_id=city)):
            services.storage().delete(db.session.get(CouncilReport, report_id).file_key)


def test_a_report_deleted_while_its_job_runs_leaves_no_file(app, two_schools, browser, monkeypatch):
    """The job renders, stores, then finds its report gone (deleted meanwhile): it removes the
    file it stored and says so, without an error."""

    from infra import services
    from infra.db import db
    from reports import council_report as council
    from reports.models import CouncilReport
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    with app.app_context():
        city = _city_id()
        with tenant_scope(Tenant(city_id=city)):
            report = council.request_report(city, None, council.Filters.default())
            db.session.commit()
            report_id = report.id
        stored = []
        real_put = services.storage().put

        def put_then_lose_the_row(key, data, content_type):
            real_put(key, data, content_type)
            stored.append(key)
            with app.app_context(), tenant_scope(Tenant(city_id=city)):  # another request deletes it
                db.session.delete(db.session.get(CouncilReport, report_id))
                db.session.commit()

        monkeypatch.setattr(services.storage(), "put", put_then_lose_the_row)
        assert council.build(report_id, city) == "superseded"
        assert len(stored) == 1 and not services_storage(app).exists(stored[0])


def _city_id() -> int:
    """The test city's id (in an app context)."""
    from sqlalchemy import select

    from infra.db import db
    from tenants.tenancy.models import Organisation

    return db.session.scalar(select(Organisation.id).where(Organisation.kind == "city",
                                                           Organisation.name == "Miasto Testowe"))
