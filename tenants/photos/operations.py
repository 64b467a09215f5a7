"""Pupil photos in: checked, cropped, stored, reviewed; and the parents' upload links.

A photo passes `tenants.photos.checks` with the school's policy. Errors refuse it; warnings
need the sender's confirmation ("send anyway"). Staff uploads count as reviewed and are
accepted at once; parents' and ZIP photos wait in the review queue. Only the cropped 492×633
JPEG is stored, under a random key; the original file is never kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import select
from sqlalchemy import update

from infra import file_lifecycle
from infra import services
from infra.crypto import sha256_hex
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import school_key
from tenants.photos.checks import PhotoResult
from tenants.photos.checks import check_photo
from tenants.photos.checks import parse_policy
from tenants.photos.decode import PhotoError
from tenants.photos.models import PhotoLink
from tenants.photos.models import PhotoSource
from tenants.photos.models import PhotoSubmission
from tenants.photos.models import SubmissionStatus
from tenants.pupils.models import PhotoStatus
from tenants.pupils.models import Pupil
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

LINK_TOKEN_BYTES = 24  # 192 bits


class PhotoRefused(OperationError):
    """The photo fails a check set to "error"; `result.errors` says why, in Polish."""

    def __init__(self, result: PhotoResult) -> None:
        super().__init__(" ".join(f.message for f in result.errors))
        self.result = result


class PhotoNeedsConfirmation(OperationError):
    """The photo only has warnings; the sender may look at them and send it anyway."""

    def __init__(self, result: PhotoResult) -> None:
        super().__init__(" ".join(f.message for f in result.warnings))
        self.result = result


def school_policy(school: Organisation) -> dict:
    return parse_policy(school.photo_policy or {})


def check(school: Organisation, data: bytes, policy: dict | None = None) -> PhotoResult:
    """Run the school's checks (or `policy`); `OperationError` for a file that is no photo at all."""
    try:
        return check_photo(data, school_policy(school) if policy is None else policy)
    except PhotoError as err:
        raise OperationError(str(err)) from None


def submit_photo(actor: Actor | None, school: Organisation, pupil: Pupil, data: bytes, *, source: str,
                 accept_warnings: bool = False, notify_email: str = "", policy: dict | None = None) -> PhotoSubmission:
    """Check and store a photo for `pupil`; staff photos are accepted at once, others queued.

    Raises `PhotoRefused` (errors), `PhotoNeedsConfirmation` (warnings, unless
    `accept_warnings`), or `OperationError` (not a photo). A newer photo supersedes one still
    waiting for review. `policy` replaces the school's check settings (the demo's drawn faces).
    """
    result = check(school, data, policy)
    if result.errors:
        raise PhotoRefused(result)
    if result.warnings and not accept_warnings:
        raise PhotoNeedsConfirmation(result)
    key = school_key(pupil.school_id, "photos", f"{token(16)}.jpg")
    services.storage().put(key, result.jpeg, "image/jpeg")
    file_lifecycle.delete_if_rolled_back(key)
    _supersede_pending(pupil)
    submission = PhotoSubmission(
        school_id=pupil.school_id, pupil_id=pupil.id, source=source, storage_key=key,
        findings=[{"code": f.code, "severity": str(f.severity), "message": f.message} for f in result.warnings],
        notify_email=notify_email.strip()[:254], created_by_id=actor.user_id if actor else None)
    db.session.add(submission)
    db.session.flush()
    if source == PhotoSource.STAFF.value:
        accept(actor, submission)
    else:
        pupil.photo_status = PhotoStatus.PENDING.value
        db.session.flush()
    return submission


def _supersede_pending(pupil: Pupil) -> None:
    for old in db.session.scalars(select(PhotoSubmission).where(
            PhotoSubmission.pupil_id == pupil.id, PhotoSubmission.status == SubmissionStatus.PENDING.value)):
        old.status = SubmissionStatus.SUPERSEDED.value
        file_lifecycle.delete_after_commit(old.storage_key)


def _decided(submission: PhotoSubmission, actor: Actor | None) -> None:
    if submission.status != SubmissionStatus.PENDING.value:
        raise OperationError("O tym zdjęciu już zdecydowano.")
    submission.decided_by_id = actor.user_id if actor else None
    submission.decided_at = utcnow()


def accept(actor: Actor | None, submission: PhotoSubmission) -> None:
    """The photo becomes the pupil's card photo; the previous one is deleted."""
    _decided(submission, actor)
    submission.status = SubmissionStatus.ACCEPTED.value
    pupil = submission.pupil
    old = pupil.photo_key
    pupil.photo_key = submission.storage_key
    pupil.photo_uploaded_at = utcnow()
    pupil.photo_status = PhotoStatus.ACCEPTED.value
    db.session.flush()
    if old and old != submission.storage_key:
        file_lifecycle.delete_after_commit(old)


def reject(actor: Actor, submission: PhotoSubmission, reason: str) -> None:
    """Refuse the photo with a reason the parent will read; the file is deleted."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise OperationError("Podaj powód odrzucenia zdjęcia — rodzic go przeczyta.")
    _decided(submission, actor)
    submission.status = SubmissionStatus.REJECTED.value
    submission.rejection_reason = reason[:300]
    pupil = submission.pupil
    pupil.photo_status = PhotoStatus.ACCEPTED.value if pupil.photo_key else PhotoStatus.REJECTED.value
    db.session.flush()
    file_lifecycle.delete_after_commit(submission.storage_key)


def pending_queue() -> list[PhotoSubmission]:
    return list(db.session.scalars(select(PhotoSubmission).where(
        PhotoSubmission.status == SubmissionStatus.PENDING.value).order_by(PhotoSubmission.created_at,
                                                                           PhotoSubmission.id)))


# --- parents' links --------------------------------------------------------------------------


def issue_link(actor: Actor | None, pupil: Pupil, *, days: int, now: dt.datetime | None = None) -> str:
    """A new upload link for one pupil; earlier unused links of that pupil stop working.

    Returns the token, which exists nowhere else: only its SHA-256 is stored."""
    now = now or utcnow()
    db.session.execute(update(PhotoLink).where(
        PhotoLink.pupil_id == pupil.id, PhotoLink.used_at.is_(None), PhotoLink.revoked_at.is_(None))
        .values(revoked_at=now))
    value = token(LINK_TOKEN_BYTES)
    db.session.add(PhotoLink(school_id=pupil.school_id, pupil_id=pupil.id, token_hash=sha256_hex(value.encode()),
                             expires_at=now + dt.timedelta(days=days),
                             created_by_id=actor.user_id if actor else None))
    db.session.flush()
    return value


class LinkUnusable(OperationError):
    """The link is unknown, expired, revoked or already used; the message tells the parent."""


def link_hash(value: str) -> str:
    return sha256_hex((value or "").encode())


def usable_link(now: dt.datetime | None = None) -> PhotoLink:
    """The link whose hash the current (link) tenant holds, if it may still be used."""
    now = now or utcnow()
    link = db.session.scalar(select(PhotoLink))  # row-level security shows only the presented link
    if link is None:
        raise LinkUnusable("Ten link jest nieprawidłowy. Poproś szkołę o nowy.")
    if link.used_at is not None:
        raise LinkUnusable("Zdjęcie zostało już wysłane przez ten link. Jeśli trzeba wysłać inne, poproś szkołę "
                           "o nowy link.")
    if link.revoked_at is not None:
        raise LinkUnusable("Ten link został zastąpiony nowszym. Użyj najnowszego linku od szkoły.")
    if link.expires_at <= now:
        raise LinkUnusable("Ten link wygasł. Poproś szkołę o nowy.")
    return link


def mark_used(link: PhotoLink) -> None:
    """Spend the link, once: of two uploads racing on one link, the second is refused."""
    done = db.session.execute(
        update(PhotoLink).where(PhotoLink.id == link.id, PhotoLink.used_at.is_(None), PhotoLink.revoked_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise LinkUnusable("Zdjęcie zostało już wysłane przez ten link.")
    db.session.refresh(link)


@contextlib.contextmanager
def acting_for_link(value: str):
    """Resolve a parent's token, then run the block as the link's school, yielding the link.

    The lookup runs as a tenant that holds nothing but the token's hash, so the database shows
    that one link row; only then does the work switch to the school the link belongs to.
    Raises `LinkUnusable` for an unknown, expired, revoked or used link.
    """
    hashed = link_hash(value)
    with tenant_scope(Tenant(link_hash=hashed)):
        found = usable_link()
        link_id, school_id = found.id, found.school_id
    with tenant_scope(Tenant(school_id=school_id)):
        link = db.session.scalar(select(PhotoLink).where(PhotoLink.id == link_id, PhotoLink.token_hash == hashed))
        yield link
