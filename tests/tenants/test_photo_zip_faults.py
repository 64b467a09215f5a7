"""A ZIP of photos under faults, with the real worker (`tests/workers.py`), PostgreSQL and Redis:
Redis flushed after the upload, the worker killed (SIGKILL) midway, a job that keeps dying. The
import row is the durable record (`tenants.roster.jobs`, `infra.jobs`); each file's outcome is
committed with its report row, so an attempt resumes after the files already reported and no
photo is queued twice. The ZIP is deleted however the import ends."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from infra import jobs
from infra.db import db
from tenants.photos.models import PhotoSubmission
from tenants.roster import jobs as import_jobs
from tenants.roster.models import RosterImport
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import add_pupil
from tests.helpers import import_row
from tests.helpers import jpeg
from tests.helpers import letters
from tests.helpers import stored
from tests.workers import horses
from tests.workers import wait_for

PHOTOS = 60  # files: the import runs long enough (a few seconds) to be killed in the middle


@pytest.fixture
def school(app, two_schools, browser):
    """School A with `PHOTOS` pupils, each matched by one file name of the archive; the secretary."""
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        db.session.get(Organisation, school_id).photo_policy = ALL_CHECKS_OFF | {"min_pixels": "error"}
        for i in range(PHOTOS):
            add_pupil(actor, first="Anna", surname=f"Uczeń{letters(i)}", serial=i)
        db.session.commit()
    return browser("sekretariat.a@test.pl"), school_id


def uploaded(app, staff, school_id: int, files: int = PHOTOS) -> tuple[int, str]:
    """The ZIP uploaded as the page does it (committed, then sent); returns the import id and file key."""
    photo = jpeg()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(files):
            archive.writestr(f"uczen{letters(i)}-anna.jpg", photo)
    # Encoded here, in memory: the test client would spool a big body to a temporary file it never closes.
    boundary, body = encode_multipart({"csrf_token": staff.csrf(),
                                       "archive": FileStorage(io.BytesIO(out.getvalue()), "zdjecia.zip")})
    response = staff.client.post("/szkola/zdjecia/zip", data=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 302
    import_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    batch = import_row(app, school_id, import_id)
    assert (batch.status, batch.sends) == ("queued", 1)
    return import_id, batch.file_key


def submissions(app, school_id: int) -> list[int]:
    """The pupil of every photo submission the imports made (any status)."""
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return list(db.session.scalars(select(PhotoSubmission.pupil_id).where(PhotoSubmission.source == "zip")))


def stored_photos(app, school_id: int) -> int:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(func.count()).select_from(PhotoSubmission))


def assert_each_file_once(app, school_id: int, batch: RosterImport, files: int) -> None:
    """Every file of the archive reported once, in order; one queued photo per reported file."""
    assert [r["file"] for r in batch.report] == [f"uczen{letters(i)}-anna.jpg" for i in range(files)]
    assert {r["outcome"] for r in batch.report} <= {"queued"}
    queued = submissions(app, school_id)
    assert len(queued) == len(set(queued)) == files  # nobody's photo queued twice


def test_a_zip_uploaded_before_redis_was_flushed_is_imported(app, school, workers, redis):
    staff, school_id = school
    import_id, key = uploaded(app, staff, school_id, files=3)
    assert redis.exists(f"rq:job:import-{import_id}-1")
    redis.flushdb()
    workers.burst()
    batch = import_row(app, school_id, import_id)
    assert (batch.status, batch.sends, batch.attempt, batch.file_key) == ("done", 2, 1, None), workers.output()
    assert_each_file_once(app, school_id, batch, 3)
    assert not stored(app, key)


def test_a_photo_zip_whose_worker_is_killed_is_resumed_by_another_without_duplicates(app, school, workers):
    """The worker and its work horse die by SIGKILL after some files were imported. Once the dead
    attempt's lease lapses, another worker takes the import over, starts after the files already
    reported, and ends with each file reported once and each photo queued once."""
    staff, school_id = school
    import_id, key = uploaded(app, staff, school_id)
    first = workers.start("--relay-every", "0.5")
    wait_for(lambda: len(import_row(app, school_id, import_id).report) >= 3 and horses(first.pid), 60,
             "some files to be imported", workers)
    workers.kill(first)
    killed = import_row(app, school_id, import_id)
    assert (killed.status, killed.attempt) == ("running", 1), "the import ended before the kill: use more files"
    done_before = len(killed.report)
    assert 3 <= done_before < PHOTOS and len(submissions(app, school_id)) == done_before

    second = workers.start("--relay-every", "0.5")
    wait_for(lambda: import_row(app, school_id, import_id).status == "done", 60, "the import to finish", workers)
    workers.stop(second)
    batch = import_row(app, school_id, import_id)
    assert (batch.attempt, batch.sends, batch.file_key) == (2, 2, None)
    assert batch.summary == {"total": PHOTOS, "queued": PHOTOS, "unmatched": 0, "ambiguous": 0, "refused": 0}
    assert_each_file_once(app, school_id, batch, PHOTOS)
    assert not stored(app, key)


def test_a_photo_zip_that_keeps_dying_fails_with_its_reason_and_the_zip_is_deleted(app, school, browser, workers):
    """Every attempt's work horse is killed as soon as it takes the import: after `MAX_SENDS` sends the
    reconciler gives up; the import says why, the ZIP of children's photos is deleted, and the photos
    imported before are each queued once."""
    staff, school_id = school
    import_id, key = uploaded(app, staff, school_id)
    batch = workers.kill_until_given_up(lambda: import_row(app, school_id, import_id), jobs.MAX_SENDS)
    assert (batch.error_message, batch.sends, batch.attempt, batch.file_key) == (
        import_jobs.GAVE_UP, jobs.MAX_SENDS, jobs.MAX_SENDS, None)
    assert len(batch.report) < PHOTOS
    assert_each_file_once(app, school_id, batch, len(batch.report))
    assert not stored(app, key)
    page = staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
    assert "nieudany" in page and "kilka razy został przerwany" in page and 'http-equiv="refresh"' not in page
