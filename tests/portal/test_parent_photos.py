"""Parents' photo links (expiry, single use, one pupil only) and the secretary's review queue,
with the parent told by e-mail over real SMTP."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy import text

from infra.crypto import sha256_hex
from infra.db import db
from infra.db import utcnow
from tenants.photos import operations as photo_intake
from tenants.photos.models import PhotoLink
from tenants.photos.models import PhotoSubmission
from tenants.pupils.models import Pupil
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import id_from_location
from tests.helpers import jpeg
from tests.helpers import pupil_form
from tests.helpers import run_jobs

LINK = re.compile(r"https://legitka\.test/zdjecie/([A-Za-z0-9_-]{32})")  # 24 random bytes, base64url


@pytest.fixture
def school(app, two_schools, browser):
    """School A with checks off (these tests are about links, not faces) and two pupils."""
    with app.app_context():
        db.session.get(Organisation, two_schools["a"]).photo_policy = ALL_CHECKS_OFF
        db.session.commit()
    staff = browser("sekretariat.a@test.pl")
    ids = []
    for serial, first in ((201, "Zuzanna"), (202, "Tymon")):
        response = staff.post("/szkola/uczniowie/nowy", pupil_form(first=first, serial=serial,
                                                                    sex="K" if first == "Zuzanna" else "M"))
        assert response.status_code == 302, response.get_data(as_text=True)
        ids.append(id_from_location(response))
    return staff, ids, two_schools["a"]


def new_link(staff, pupil_id) -> str:
    page = staff.post(f"/szkola/uczniowie/{pupil_id}/link-dla-rodzica").get_data(as_text=True)
    return LINK.search(page).group(1)


def send(parent, token, data=None, **form):
    return parent.post(f"/zdjecie/{token}", {"photo": (io.BytesIO(data or jpeg()), "IMG_0001.jpg"), **form},
                       content_type="multipart/form-data")


def pupil_row(app, school_id, pupil_id) -> Pupil:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        pupil = db.session.get(Pupil, pupil_id)
        db.session.expunge(pupil)
        return pupil


def test_a_parent_sends_one_photo_for_one_pupil_and_the_link_is_spent(app, school, browser):
    staff, (zuzanna, tymon), school_id = school
    token = new_link(staff, zuzanna)
    parent = browser()
    page = parent.get(f"/zdjecie/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Zuzanna" in body and "Wróblewska" not in body  # first name only: the link may travel
    assert "jasne, jednolite tło" in body and "photo-example.svg" in body
    response = send(parent, token)
    assert response.status_code == 200 and "Dziękujemy" in response.get_data(as_text=True)
    assert pupil_row(app, school_id, zuzanna).photo_status == "pending"
    assert pupil_row(app, school_id, tymon).photo_status == "missing"  # the other pupil is untouched
    again = send(parent, token)
    assert again.status_code == 410 and "już wysłane" in again.get_data(as_text=True)
    assert parent.get(f"/zdjecie/{token}").status_code == 410
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert db.session.scalar(select(PhotoSubmission.pupil_id)) == zuzanna
        assert len(db.session.scalars(select(PhotoSubmission)).all()) == 1


def test_an_expired_link_is_refused(app, school, browser):
    _staff, (zuzanna, _), school_id = school
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        pupil = db.session.get(Pupil, zuzanna)
        token = photo_intake.issue_link(None, pupil, days=14, now=utcnow() - dt.timedelta(days=15))
        db.session.commit()
    response = browser().get(f"/zdjecie/{token}")
    assert response.status_code == 410 and "wygasł" in response.get_data(as_text=True)
    assert send(browser(), token).status_code == 410


def test_a_new_link_replaces_the_old_one(school, browser):
    staff, (zuzanna, _), _ = school
    old = new_link(staff, zuzanna)
    new = new_link(staff, zuzanna)
    assert "zastąpiony" in browser().get(f"/zdjecie/{old}").get_data(as_text=True)
    assert browser().get(f"/zdjecie/{new}").status_code == 200


@pytest.mark.parametrize("token", ["x", "A" * 32, "../../szkola", "%00"])
def test_made_up_tokens_are_refused(school, browser, token):
    response = browser().get(f"/zdjecie/{token}")
    assert response.status_code in (404, 410)


def test_a_refused_photo_does_not_spend_the_link(app, school, browser):
    _staff, (zuzanna, _), _ = school
    staff = school[0]
    token = new_link(staff, zuzanna)
    parent = browser()
    refused = send(parent, token, data=b"%PDF-1.4 a document, not a photo")
    assert refused.status_code == 422 and "JPEG" in refused.get_data(as_text=True)
    bad_email = send(parent, token, email="not-an-address")
    assert bad_email.status_code == 422 and "e-mail" in bad_email.get_data(as_text=True)
    assert send(parent, token).status_code == 200


def test_the_database_shows_a_link_request_only_its_own_row(app, school):
    staff, (zuzanna, tymon), _school_id = school
    first, second = new_link(staff, zuzanna), new_link(staff, tymon)
    with app.app_context(), tenant_scope(Tenant(link_hash=sha256_hex(first.encode()))):
        # Raw SQL, past the ORM safety net: row-level security alone decides.
        rows = db.session.execute(text("SELECT pupil_id FROM photo_links")).scalars().all()
        pupils = db.session.execute(text("SELECT count(*) FROM pupils")).scalar()
        db.session.rollback()
    assert rows == [zuzanna] and pupils == 0
    assert second != first


def test_rejection_mails_the_parent_the_reason_and_a_fresh_link(app, school, browser, mailbox):
    staff, (zuzanna, _), school_id = school
    token = new_link(staff, zuzanna)
    assert send(browser(), token, email="mama@example.pl").status_code == 200
    queue = staff.get("/szkola/zdjecia/").get_data(as_text=True)
    submission_id = int(re.search(r"/szkola/zdjecia/(\d+)/decyzja", queue).group(1))
    assert staff.get(f"/szkola/zdjecia/{submission_id}.jpg").headers["Content-Type"] == "image/jpeg"
    no_reason = staff.post(f"/szkola/zdjecia/{submission_id}/decyzja", {"decision": "reject", "reason": " "})
    assert no_reason.status_code == 422
    response = staff.post(f"/szkola/zdjecia/{submission_id}/decyzja",
                          {"decision": "reject", "reason": "Tło nie jest jasne i jednolite."})
    assert response.status_code == 302
    run_jobs(app)
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == "mama@example.pl" and "nowe zdjęcie" in message["Subject"]
    body = message.get_content()
    assert "Tło nie jest jasne i jednolite." in body and "Wróblewska" not in body
    fresh = LINK.search(body).group(1)
    assert fresh != token and browser().get(f"/zdjecie/{fresh}").status_code == 200
    assert pupil_row(app, school_id, zuzanna).photo_status == "rejected"


def test_acceptance_makes_it_the_card_photo_and_tells_the_parent(app, school, browser, mailbox):
    staff, (zuzanna, _), school_id = school
    assert send(browser(), new_link(staff, zuzanna), email="tata@example.pl").status_code == 200
    queue = staff.get("/szkola/zdjecia/").get_data(as_text=True)
    submission_id = int(re.search(r"/szkola/zdjecia/(\d+)/decyzja", queue).group(1))
    assert staff.post(f"/szkola/zdjecia/{submission_id}/decyzja", {"decision": "accept"}).status_code == 302
    run_jobs(app)
    pupil = pupil_row(app, school_id, zuzanna)
    assert pupil.photo_status == "accepted" and pupil.photo_key
    assert [m["To"] for m in mailbox] == ["tata@example.pl"] and "przyjęte" in mailbox[0]["Subject"]
    assert staff.get(f"/szkola/zdjecia/{submission_id}.jpg").status_code == 404  # now it is the pupil's photo
    assert staff.get(f"/szkola/uczniowie/{zuzanna}/zdjecie.jpg").status_code == 200
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        assert db.session.scalar(select(PhotoLink.used_at)) is not None


def test_a_class_sheet_gives_every_pupil_without_a_photo_a_working_link(app, school, browser):
    from pypdf import PdfReader

    staff, (zuzanna, tymon), _ = school
    old = new_link(staff, zuzanna)
    response = staff.post("/szkola/zdjecia/linki", {"class_name": "1a", "only_missing": "1"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    tokens = LINK.findall(text.replace("\n", ""))
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert "Zuzanna Wróblewska" in text and "Tymon Wróblewska" in text
    for token in tokens:
        assert browser().get(f"/zdjecie/{token}").status_code == 200
    assert browser().get(f"/zdjecie/{old}").status_code == 410  # the sheet replaced the earlier link
    empty = staff.post("/szkola/zdjecia/linki", {"class_name": "7z"})
    assert empty.status_code == 422


def test_the_qr_code_reads_back_as_the_link():
    import cv2
    import numpy as np
    import segno

    url = "https://legitka.test/zdjecie/ooD-JscP2-O-kYKFu1QDLu_Y5yu32jBS"
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=6, border=4)
    image = cv2.imdecode(np.frombuffer(out.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == url
