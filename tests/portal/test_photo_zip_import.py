"""A ZIP of photos from the school's camera: matched by PESEL or file name, checked, queued for
review, with a report of what matched and what did not."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from infra.db import db
from tenants.photos.models import PhotoSubmission
from tenants.pupils.pesel import make as make_pesel
from tenants.roster.models import RosterImport
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import jpeg
from tests.helpers import make_zip
from tests.helpers import roster_csv
from tests.helpers import run_jobs
from tests.helpers import vulcan_row


@pytest.fixture
def school(app, two_schools, browser):
    """School A with four pupils imported from a list, two of them called Anna Kowalska."""
    with app.app_context():
        db.session.get(Organisation, two_schools["a"]).photo_policy = ALL_CHECKS_OFF | {"min_pixels": "error"}
        db.session.commit()
    staff = browser("sekretariat.a@test.pl")
    rows = [vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a"),
            vulcan_row("Kowalska", "Anna", dt.date(2017, 5, 6), 12, "K", "2b"),
            vulcan_row("Żółć", "Łukasz", dt.date(2018, 8, 9), 13, "M", "1a"),
            vulcan_row("Nowak", "Jan", dt.date(2018, 1, 2), 14, "M", "1a")]
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(roster_csv(rows)), "lista.csv")},
                          content_type="multipart/form-data")
    import_id = int(response.headers["Location"].rsplit("/", 1)[1])
    staff.post(f"/szkola/import/{import_id}/importuj")
    run_jobs(app)
    return staff, two_schools["a"]


def test_a_zip_is_matched_checked_queued_and_reported(app, school):
    staff, school_id = school
    archive = make_zip({
        "kowalska-anna-1a.jpg": jpeg(),  # nazwisko-imię-klasa
        f"{make_pesel(dt.date(2018, 1, 2), 14, 'M')}.jpg": jpeg(),  # PESEL
        "lukasz zolc-1a.JPG": jpeg(),  # imię nazwisko-klasa, no diacritics
        "Kowalska Anna.jpg": jpeg(),  # two pupils have that name
        "IMG_4411.jpg": jpeg(),  # nobody
        "nowak-jan-1a-maly.jpg": jpeg(200, 250),  # Jan again, but too small
        "lista.docx": b"PK not a photo",
    })
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(archive), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    import_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    run_jobs(app)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        batch = db.session.get(RosterImport, import_id)
        outcomes = {row["file"]: row["outcome"] for row in batch.report}
        assert batch.status == "done" and batch.file_key is None
        assert batch.summary == {"total": 7, "queued": 3, "unmatched": 1, "ambiguous": 1, "refused": 2}
        queued = db.session.scalars(select(PhotoSubmission).where(PhotoSubmission.status == "pending")).all()
        assert {s.pupil.surname for s in queued} == {"Kowalska", "Nowak", "Żółć"}
        assert all(s.source == "zip" for s in queued)
    assert outcomes["Kowalska Anna.jpg"] == "ambiguous" and outcomes["IMG_4411.jpg"] == "unmatched"
    assert outcomes["nowak-jan-1a-maly.jpg"] == "refused" and outcomes["lista.docx"] == "refused"
    page = staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
    assert "niejednoznaczne" in page and "Anna Kowalska (1a), Anna Kowalska (2b)" in page
    assert "nieprzypisane" in page
    queue = staff.get("/szkola/zdjecia/").get_data(as_text=True)
    assert queue.count('name="decision" value="accept"') == 3
    # All three passed without warnings: one click accepts them.
    assert staff.post("/szkola/zdjecia/przyjmij-bez-uwag").status_code == 302
    assert "Nie ma zdjęć czekających" in staff.get("/szkola/zdjecia/").get_data(as_text=True)


def test_not_a_zip_is_refused_plainly(school):
    staff, _ = school
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(b"%PDF-1.4"), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and "ZIP" in response.get_data(as_text=True)


def test_a_zip_may_be_bigger_than_other_uploads(school):
    """A class's photos exceed the 12 MB every other form takes; the ZIP form takes 200 MB."""
    staff, _ = school
    big = make_zip({f"IMG_{i}.jpg": bytes(1024 * 1024) for i in range(14)})  # stored: 14 MB on the wire
    assert len(big) > 13 * 1024 * 1024

    def upload(url, field):
        # The body is encoded here, in memory: the test client would spool it to a temporary file
        # that it never closes (a ResourceWarning, an error under this suite's settings).
        boundary, body = encode_multipart({"csrf_token": staff.csrf(),
                                           field: FileStorage(io.BytesIO(big), "zdjecia.zip")})
        return staff.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")

    assert upload("/szkola/zdjecia/zip", "archive").status_code == 302
    too_big = upload("/szkola/import/", "file")
    assert too_big.status_code == 413 and "12 MB" in too_big.get_data(as_text=True)


def upload_zip(staff, files: dict[str, bytes]) -> int:
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(make_zip(files)), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    return int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))


def import_row(app, school_id, import_id) -> RosterImport:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        batch = db.session.get(RosterImport, import_id)
        db.session.expunge(batch)
        return batch


def stored(app, key) -> bool:
    from infra import services
    from infra.storage import NotFound

    with app.app_context():
        try:
            services.storage().get(key)
        except NotFound:
            return False
    return True


def test_a_damaged_file_in_the_zip_is_refused_and_the_rest_go_on(app, school):
    staff, school_id = school
    archive = make_zip({"kowalska-anna-1a.jpg": jpeg(), "nowak-jan-1a.jpg": jpeg(color=(200, 210, 220))})
    damaged = bytearray(archive)
    at = archive.index(b"kowalska-anna-1a.jpg") + len("kowalska-anna-1a.jpg") + 200  # inside its (stored) data
    damaged[at] ^= 0xFF
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(bytes(damaged)), "zdjecia.zip")},
                          content_type="multipart/form-data")
    import_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run_jobs(app)
    batch = import_row(app, school_id, import_id)
    rows = {row["file"]: row for row in batch.report}
    assert batch.status == "done" and batch.summary["queued"] == 1 and batch.summary["refused"] == 1
    damaged_row = rows["kowalska-anna-1a.jpg"]
    assert damaged_row["outcome"] == "refused" and "uszkodzone" in damaged_row["message"]
    assert rows["nowak-jan-1a.jpg"]["outcome"] == "queued"


def test_an_unexpected_error_ends_the_import_as_failed_and_removes_the_zip(app, school, monkeypatch):
    """Not a bad file but a failure of the machinery (here zipfile itself breaks on the third file): the import
    fails with a Polish reason, keeps the report of the files done, those photos stay queued, the ZIP goes."""
    staff, school_id = school
    files = {"kowalska-anna-1a.jpg": jpeg(), "nowak-jan-1a.jpg": jpeg(), "lukasz zolc-1a.jpg": jpeg()}
    import_id = upload_zip(staff, files)
    key = import_row(app, school_id, import_id).file_key
    real_open = zipfile.ZipFile.open

    def breaking_open(self, member, *args, **kwargs):
        if getattr(member, "filename", member) == "lukasz zolc-1a.jpg":
            raise RuntimeError("something nobody expected")
        return real_open(self, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", breaking_open)
    run_jobs(app)
    batch = import_row(app, school_id, import_id)
    assert batch.status == "failed" and batch.file_key is None and batch.lease_until is None
    assert batch.error_message.startswith("Import przerwany przez błąd wewnętrzny")
    assert [row["outcome"] for row in batch.report] == ["queued", "queued"]
    assert not stored(app, key)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert len(db.session.scalars(select(PhotoSubmission).where(PhotoSubmission.status == "pending")).all()) == 2
    page = staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
    assert "nieudany" in page and "błąd wewnętrzny" in page and "kowalska-anna-1a.jpg" in page
    assert 'http-equiv="refresh"' not in page


def test_an_import_whose_worker_died_is_sent_again_and_finished_once(app, school, two_schools, browser, redis):
    """A job killed after taking its import (SIGKILL, out of memory) never finishes it, and Redis lost
    its job. Once the lease it stopped renewing has lapsed, the reconciler sends the import again; the
    new attempt finishes it and deletes the ZIP. An import whose job is alive is left alone; another
    school's is found too (school by school). The real worker is in tests/tenants/test_import_jobs_faults.py."""
    from sqlalchemy import update

    from infra.db import utcnow
    from tenants.roster import jobs as import_jobs
    from tenants.roster import tasks

    staff, school_id = school
    dead = upload_zip(staff, {"kowalska-anna-1a.jpg": jpeg(), "nowak-jan-1a.jpg": jpeg()})
    alive = upload_zip(staff, {"lukasz zolc-1a.jpg": jpeg()})
    page = staff.get(f"/szkola/import/{dead}").get_data(as_text=True)
    assert "w kolejce" in page and 'http-equiv="refresh"' in page
    dead_key = import_row(app, school_id, dead).file_key
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        for import_id in (dead, alive):  # what each job does first; the first one then dies
            assert tasks._claim(import_id, school_id, dt.timedelta(minutes=5)) == 1
        # Time passes: the dead job's lease lapses; the live one keeps renewing its own.
        db.session.execute(update(RosterImport).where(RosterImport.id == dead)
                           .values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    redis.flushdb()  # and the jobs are gone from Redis
    assert "trwa" in staff.get(f"/szkola/import/{dead}").get_data(as_text=True)  # honest: it will go on
    other = browser("dyrektor.b@test.pl")
    b_import = upload_zip(other, {"x.jpg": jpeg()})
    redis.flushdb()
    with app.app_context():
        assert import_jobs.reconcile_imports() == 2  # the dead one and school B's lost one; not the live one
    run_jobs(app)
    batch = import_row(app, school_id, dead)
    assert (batch.status, batch.attempt, batch.sends, batch.file_key) == ("done", 2, 2, None)
    assert [row["outcome"] for row in batch.report] == ["queued", "queued"]
    assert not stored(app, dead_key)
    assert import_row(app, school_id, alive).status == "running"
    assert import_row(app, two_schools["b"], b_import).status == "done"
    with app.app_context():
        assert import_jobs.reconcile_imports() == 0  # done once


def test_a_zip_listing_100000_files_is_refused_at_upload_and_nothing_is_kept(app, school, storage_root):
    """Its directory alone would make 100,000 objects in the job (a 200 MB one, millions): refused
    from the directory's size at upload (`infra.zips`), before it is stored or queued."""
    from tests.hostile_rosters import build

    staff, school_id = school
    files_before = sorted(p for p in storage_root.rglob("*") if p.is_file())
    boundary, body = encode_multipart({"csrf_token": staff.csrf(),
                                       "archive": FileStorage(io.BytesIO(build("photo_zip_many_entries")), "z.zip")})
    response = staff.client.post("/szkola/zdjecia/zip", data=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 422 and "za dużo plików" in response.get_data(as_text=True)
    assert sorted(p for p in storage_root.rglob("*") if p.is_file()) == files_before
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert db.session.scalars(select(RosterImport).where(RosterImport.kind == "photos")).all() == []
