"""Hostile photo files through every way a photo comes in: the pupil page (staff), a parent's link and
a ZIP of photos. Each is refused with its Polish reason (422, or "odrzucone" in the ZIP's report),
nothing is stored, a parent's link is not spent, and the ZIP import ends with the others matched."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from infra import services
from infra.db import db
from infra.storage import NotFound
from tenants.photos.models import PhotoLink
from tenants.photos.models import PhotoSubmission
from tenants.pupils.models import Pupil
from tenants.roster.models import RosterImport
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import id_from_location
from tests.helpers import jpeg
from tests.helpers import pupil_form
from tests.helpers import run_jobs
from tests.hostile_photos import REFUSED

LINK = re.compile(r"https://legitka\.test/zdjecie/([A-Za-z0-9_-]{32})")
HOSTILE = {name: (make(), message) for name, (make, message) in REFUSED.items()}


@pytest.fixture
def school(app, two_schools, browser):
    """School A with every check off (so nothing but the file itself can refuse a photo) and two pupils."""
    with app.app_context():
        db.session.get(Organisation, two_schools["a"]).photo_policy = ALL_CHECKS_OFF
        db.session.commit()
    staff = browser("sekretariat.a@test.pl")
    ids = []
    for serial, first, surname in ((301, "Zuzanna", "Wróblewska"), (302, "Tymon", "Nowak")):
        response = staff.post("/szkola/uczniowie/nowy", pupil_form(first=first, surname=surname, serial=serial,
                                                                    sex="K" if first == "Zuzanna" else "M"))
        assert response.status_code == 302, response.get_data(as_text=True)
        ids.append(id_from_location(response))
    return staff, ids, two_schools["a"]


def submissions(app, school_id) -> list[PhotoSubmission]:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalars(select(PhotoSubmission)).all()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_staff_upload_of_a_hostile_file_is_refused_with_its_reason(app, school, name):
    staff, (zuzanna, _), school_id = school
    data, message = HOSTILE[name]
    response = staff.post(f"/szkola/uczniowie/{zuzanna}/zdjecie", {"photo": (io.BytesIO(data), name)},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert submissions(app, school_id) == []
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert db.session.get(Pupil, zuzanna).photo_key is None


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_parents_hostile_file_is_refused_and_the_link_still_works(app, school, browser, name):
    staff, (zuzanna, _), school_id = school
    page = staff.post(f"/szkola/uczniowie/{zuzanna}/link-dla-rodzica").get_data(as_text=True)
    token = LINK.search(page).group(1)
    parent = browser()
    data, message = HOSTILE[name]
    response = parent.post(f"/zdjecie/{token}", {"photo": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert submissions(app, school_id) == []
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert db.session.scalar(select(PhotoLink.used_at)) is None  # not spent: the parent can try again
    ok = parent.post(f"/zdjecie/{token}", {"photo": (io.BytesIO(jpeg()), "IMG_0001.jpg")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200 and "Dziękujemy" in ok.get_data(as_text=True)


def test_hostile_files_in_a_zip_are_refused_one_by_one_and_the_others_queued(app, school):
    staff, (zuzanna, tymon), school_id = school
    files = {f"nowak-tymon-{i:02d}-{name}": data for i, (name, (data, _message)) in enumerate(HOSTILE.items())}
    files["wroblewska-zuzanna.jpg"] = jpeg()
    files["nowak-tymon.jpg"] = jpeg(color=(200, 210, 220))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    response = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(out.getvalue()), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    import_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        zip_key = db.session.get(RosterImport, import_id).file_key
    run_jobs(app)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        batch = db.session.get(RosterImport, import_id)
        rows = {row["file"]: row for row in batch.report}
        assert batch.status == "done" and batch.file_key is None and batch.lease_until is None
        assert batch.summary == {"total": len(files), "queued": 2, "refused": len(HOSTILE), "unmatched": 0,
                                 "ambiguous": 0}
        assert {s.pupil_id for s in db.session.scalars(select(PhotoSubmission))} == {zuzanna, tymon}
    with app.app_context(), pytest.raises(NotFound):
        services.storage().get(zip_key)  # the ZIP is gone
    for i, (name, (_data, message)) in enumerate(HOSTILE.items()):
        row = rows[f"nowak-tymon-{i:02d}-{name}"]
        assert row["outcome"] == "refused" and row["message"].startswith(message), row
    page = staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
    assert "zakończony" in page and HOSTILE["1x3000.jpg"][1] in page
