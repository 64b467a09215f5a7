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
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import Organisation
from tenants.models import PhotoSubmission
from tenants.models import RosterImport
from tenants.pesel import make as make_pesel
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import jpeg
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


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_is_matched_checked_queued_and_reported(app, school):
    staff, school_id = school
    archive = zip_of({
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
    big = zip_of({f"IMG_{i}.jpg": bytes(1024 * 1024) for i in range(14)})  # stored: 14 MB on the wire
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


def test_a_zip_listing_100000_files_is_refused_at_upload_and_nothing_is_kept(app, school, storage_root):
    """Its directory alone would make 100,000 objects in the job; the upload refuses it at once."""
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


def test_a_damaged_photo_in_a_zip_is_reported_and_the_others_come_in(app, school):
    staff, school_id = school
    archive = bytearray(zip_of({"kowalska-anna-1a.jpg": jpeg(), "nowak-jan-1a.jpg": jpeg()}))
    at = archive.find(b"\xff\xd8")  # the first photo's bytes, stored uncompressed: break its CRC
    archive[at + 100] ^= 0xFF
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(bytes(archive)), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    run_jobs(app)
    import_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        batch = db.session.get(RosterImport, import_id)
        report = {row["file"]: row for row in batch.report}
        assert batch.status == "done"
    assert report["kowalska-anna-1a.jpg"]["outcome"] == "refused"
    assert "uszkodzony" in report["kowalska-anna-1a.jpg"]["message"]
    assert report["nowak-jan-1a.jpg"]["outcome"] == "queued"
