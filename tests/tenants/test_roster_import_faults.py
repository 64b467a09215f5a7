"""A confirmed pupil list under faults, with the real worker (`tests/workers.py`), PostgreSQL and
Redis: Redis flushed after the school confirmed it, the worker killed (SIGKILL) midway, a job that
keeps dying. The import row is the durable record (`tenants.roster.jobs`, `infra.jobs`): it ends
`done` with every pupil once, or `failed` with its reason, and its list is deleted either way."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from sqlalchemy import func
from sqlalchemy import select

from infra import jobs
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.roster import jobs as import_jobs
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import import_row
from tests.helpers import letters
from tests.helpers import stored
from tests.helpers import upload_roster
from tests.helpers import vulcan_row
from tests.workers import burst_once
from tests.workers import horses
from tests.workers import wait_for

LONG_LIST = 1500  # rows: the import runs long enough (~1 s) to be killed in the middle


def confirmed_list(app, browser, school_id: int, rows: int) -> tuple[int, str]:
    """A list of `rows` new pupils uploaded, dry-run and confirmed by the secretary, as the page does
    it; returns the import's id and its stored file's key."""
    staff = browser("sekretariat.a@test.pl")
    born = dt.date(2017, 1, 1)
    pupils = [vulcan_row(f"Uczeń{letters(i)}", "Anna", born + dt.timedelta(days=i // 900), i % 900, "K", "1a")
              for i in range(rows)]
    import_id = upload_roster(staff, pupils)
    assert import_row(app, school_id, import_id).summary["new"] == rows
    assert staff.post(f"/szkola/import/{import_id}/importuj").status_code == 302
    batch = import_row(app, school_id, import_id)
    assert (batch.status, batch.sends) == ("queued", 1)
    return import_id, batch.file_key


def pupil_count(app, school_id: int) -> int:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(func.count()).select_from(Pupil))


def test_a_list_confirmed_before_redis_was_flushed_is_imported(app, two_schools, browser, workers, redis):
    """The job is lost with Redis right after the school confirmed: the worker's reconciler sends the
    import again from its row (a new job id), and the list is imported."""
    school = two_schools["a"]
    import_id, key = confirmed_list(app, browser, school, 3)
    assert redis.exists(f"rq:job:import-{import_id}-1")
    redis.flushdb()
    workers.burst()
    batch = import_row(app, school, import_id)
    assert (batch.status, batch.sends, batch.attempt, batch.file_key) == ("done", 2, 1, None), workers.output()
    assert pupil_count(app, school) == 3 and not stored(app, key)


def test_a_roster_import_whose_worker_is_killed_is_finished_by_another(app, two_schools, browser, workers):
    """The worker and its work horse die by SIGKILL while the import writes: nothing of it was
    committed (one transaction). Once the dead attempt's lease lapses, another worker's reconciler
    sends it again and that worker imports every pupil exactly once."""
    school = two_schools["a"]
    import_id, key = confirmed_list(app, browser, school, LONG_LIST)
    first = workers.start("--relay-every", "0.5")
    wait_for(lambda: import_row(app, school, import_id).status == "running" and horses(first.pid), 60,
             "the import to start", workers, interval=0.02)
    workers.kill(first)
    killed = import_row(app, school, import_id)
    assert (killed.status, killed.attempt) == ("running", 1), "the import ended before the kill: use more rows"
    assert pupil_count(app, school) == 0  # the killed attempt wrote nothing

    second = workers.start("--relay-every", "0.5")
    wait_for(lambda: import_row(app, school, import_id).status == "done", 60, "the import to finish", workers)
    workers.stop(second)
    batch = import_row(app, school, import_id)
    assert (batch.attempt, batch.sends, batch.file_key) == (2, 2, None)
    assert pupil_count(app, school) == LONG_LIST and not stored(app, key)


def test_a_roster_import_that_keeps_dying_fails_with_its_reason_and_its_list_is_deleted(app, two_schools, browser,
                                                                                       workers):
    """Every attempt's work horse is killed as soon as it takes the import: after `MAX_SENDS` sends the
    reconciler gives up, the import says why, the list (PESELs) is deleted, no pupil was written."""
    school = two_schools["a"]
    import_id, key = confirmed_list(app, browser, school, LONG_LIST)
    batch = workers.kill_until_given_up(lambda: import_row(app, school, import_id), jobs.MAX_SENDS)
    assert (batch.error_message, batch.sends, batch.attempt, batch.file_key) == (
        import_jobs.GAVE_UP, jobs.MAX_SENDS, jobs.MAX_SENDS, None)
    assert pupil_count(app, school) == 0 and not stored(app, key)
    page = browser("sekretariat.a@test.pl").get(f"/szkola/import/{import_id}").get_data(as_text=True)
    assert "nieudany" in page and "kilka razy został przerwany" in page and 'http-equiv="refresh"' not in page


def test_a_list_confirmed_and_a_zip_uploaded_with_redis_down_are_imported_once_it_is_back(
        app_on_redis_later, redis_later, two_schools, tmp_path):
    """Confirming a list and uploading a ZIP succeed with Redis down (no 500): each import is recorded
    `queued`, never sent, and the page says it waits. Once Redis is back, a worker's reconciler sends
    both and they are imported."""
    from tests.conftest import Browser
    from tests.helpers import jpeg

    twin, school = app_on_redis_later, two_schools["a"]
    staff = Browser(twin.test_client())
    assert staff.login("sekretariat.a@test.pl").status_code == 302
    rows = [vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a")]
    roster_id = upload_roster(staff, rows)
    assert staff.post(f"/szkola/import/{roster_id}/importuj").status_code == 302
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as photos:
        photos.writestr("kowalska-anna.jpg", jpeg())
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(archive.getvalue()), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    zip_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    for import_id in (roster_id, zip_id):
        batch = import_row(twin, school, import_id)
        assert (batch.status, batch.sends) == ("queued", 0)
        page = staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
        assert "w kolejce" in page and 'http-equiv="refresh"' in page

    _port, start = redis_later
    start()
    workers = burst_once(twin, tmp_path)
    for import_id in (roster_id, zip_id):
        batch = import_row(twin, school, import_id)
        assert (batch.status, batch.sends, batch.file_key) == ("done", 1, None), workers.output()
    assert pupil_count(twin, school) == 1
    assert import_row(twin, school, zip_id).summary["total"] == 1  # the file reported (its photo checked)
