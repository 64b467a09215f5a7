"""The council's report under faults, with the real worker (`tests/workers.py`), PostgreSQL and
Redis: asked for while Redis is down (a Redis server of the test's own, started afterwards), Redis
flushed after the request, the worker killed (SIGKILL) while rendering, a job that keeps dying.
The report row is the durable record (`reports.council_report`, `infra.jobs`): it ends `ready`
with one PDF, or `failed` with its reason and a "Ponów" that asks for it again."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from infra import jobs
from infra import services
from infra.db import db
from reports import council_report as council
from reports.models import CouncilReport
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.conftest import Browser
from tests.workers import burst_once
from tests.workers import horses
from tests.workers import wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
FORM = {"od": "2026-09-01", "do": "2027-08-31", "typ": "", "dzielnica": ""}


def ask(app, official) -> int:
    """The official asks for a report as the page does; returns the new report's id."""
    response = official.post("/miasto/raporty", data=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    return _newest(app)


def _newest(app) -> int:
    with app.app_context(), tenant_scope(Tenant(city_id=_city(app))):
        return db.session.scalar(db.select(CouncilReport.id).order_by(CouncilReport.id.desc()).limit(1))


def _city(app) -> int:
    from tenants.tenancy.models import Organisation

    with app.app_context():
        return db.session.scalar(db.select(Organisation.id).where(Organisation.kind == "city"))


def row(app, report_id: int) -> CouncilReport | None:
    with app.app_context(), tenant_scope(Tenant(city_id=_city(app))):
        report = db.session.get(CouncilReport, report_id)
        if report is not None:
            db.session.expunge(report)
        return report


def pdfs(app) -> list[pathlib.Path]:
    folder = pathlib.Path(app.config["LOCAL_STORAGE_PATH"]) / "cities" / str(_city(app)) / "council-reports"
    return sorted(folder.glob("*.pdf")) if folder.exists() else []


def assert_ready_with_one_pdf(app, report_id: int) -> CouncilReport:
    report = row(app, report_id)
    assert (report.status, report.error, report.lease_until) == ("ready", "", None)
    files = pdfs(app)
    assert [p.name for p in files] == [report.file_key.rsplit("/", 1)[1]]  # no file of another attempt
    with app.app_context():  # stored encrypted (docs/security.md T3.20): read through the app's storage
        pdf = services.storage().get(report.file_key)
    assert pdf.startswith(b"%PDF") and len(pdf) == report.size and files[0].read_bytes()[:4] != b"%PDF"
    return report


@pytest.fixture
def official(two_schools, browser):
    return browser("urzednik@test.pl")


@pytest.fixture(autouse=True)
def _no_earlier_reports(app, two_schools):
    """Report ids start again with each test (the tables are emptied), the storage folder stays: the
    PDFs of earlier tests' reports go, so that every file seen here is this test's."""
    shutil.rmtree(pathlib.Path(app.config["LOCAL_STORAGE_PATH"]) / "cities", ignore_errors=True)


def test_a_report_asked_for_before_redis_was_flushed_is_built(app, official, workers, redis):
    report_id = ask(app, official)
    assert (row(app, report_id).status, row(app, report_id).sends) == ("queued", 1)
    assert redis.exists(f"rq:job:council-report-{report_id}-1")
    redis.flushdb()
    workers.burst()
    report = assert_ready_with_one_pdf(app, report_id)
    assert (report.sends, report.attempt) == (2, 1)


def test_a_council_report_whose_worker_is_killed_is_finished_by_another(app, official, workers):
    """The worker and its horse die by SIGKILL while WeasyPrint renders; once the lease lapses
    another worker builds the report; one PDF, the dead attempt's none. No need to ask again."""
    report_id = ask(app, official)
    first = workers.start("--relay-every", "0.5")
    wait_for(lambda: row(app, report_id).status == "running" and horses(first.pid), 60, "the report to start",
             workers, interval=0.02)
    workers.kill(first)
    killed = row(app, report_id)
    assert (killed.status, killed.attempt) == ("running", 1), "the report was built before the kill"
    assert "w przygotowaniu" in official.get("/miasto/raporty").get_data(as_text=True)

    second = workers.start("--relay-every", "0.5")
    wait_for(lambda: row(app, report_id).status == "ready", 60, "the report to be built", workers)
    workers.stop(second)
    report = assert_ready_with_one_pdf(app, report_id)
    assert (report.attempt, report.sends) == (2, 2)


def test_a_report_that_keeps_dying_fails_with_its_reason_and_is_asked_for_again(app, official, workers):
    """Every attempt's horse is killed as soon as it takes the report: after `MAX_SENDS` sends it is
    failed with its reason (not "w przygotowaniu" for ever); "Ponów" asks for it again, and it is built."""
    report_id = ask(app, official)
    failed = workers.kill_until_given_up(lambda: row(app, report_id), jobs.MAX_SENDS)
    assert (failed.error, failed.sends, failed.file_key) == (council.GAVE_UP, jobs.MAX_SENDS, None)
    assert pdfs(app) == []
    page = official.get("/miasto/raporty").get_data(as_text=True)
    assert "nie powstał" in page and "kilka razy zostało przerwane" in page and 'http-equiv="refresh"' not in page
    assert f"/miasto/raporty/{report_id}/ponow" in page

    assert official.post(f"/miasto/raporty/{report_id}/ponow").status_code == 302
    again = _newest(app)
    assert again != report_id and row(app, report_id) is None  # the failed one is replaced
    wait_for(lambda: row(app, again).status == "ready", 30, "the report asked for again", workers)
    report = assert_ready_with_one_pdf(app, again)
    assert (report.date_from, report.date_to) == (failed.date_from, failed.date_to)


def test_a_report_asked_for_with_redis_down_is_built_once_it_is_back(app_on_redis_later, redis_later, two_schools,
                                                                      tmp_path):
    """Asking succeeds (no 500, not marked failed): the report is recorded `queued`, never sent; once
    Redis is back, a worker's reconciler sends it and it is built."""
    twin = app_on_redis_later
    official = Browser(twin.test_client())
    assert official.login("urzednik@test.pl").status_code == 302
    response = official.post("/miasto/raporty", data=FORM)
    assert response.status_code == 302
    page = official.get("/miasto/raporty").get_data(as_text=True)
    assert "czeka w kolejce" in page and "w przygotowaniu" in page and "nie powstał" not in page
    report_id = _newest(twin)
    assert (row(twin, report_id).status, row(twin, report_id).sends) == ("queued", 0)

    _port, start = redis_later
    start()
    burst_once(twin, tmp_path)
    report = assert_ready_with_one_pdf(twin, report_id)
    assert (report.sends, report.attempt) == (1, 1)
