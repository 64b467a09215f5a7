"""rq jobs of the school domain: roster imports, photo ZIPs, e-mail to parents.

Jobs take ids only (SECURITY.md T4.8) and act for the school whose id they are given. A job
claims its import by a compare-and-set on the status, so a job delivered twice works once.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from infra import progress
from infra import services
from infra.db import db
from infra.db import utcnow
from tenants import photo_intake
from tenants import photo_zip
from tenants import roster_import
from tenants.actors import Actor
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import ImportStatus
from tenants.models import Organisation
from tenants.models import PhotoSource
from tenants.models import PhotoSubmission
from tenants.models import Pupil
from tenants.models import PupilStatus
from tenants.models import RosterImport
from tenants.models import SubmissionStatus
from tenants.operations import OperationError
from tenants.pupils import find_by_pesel

log = logging.getLogger("legitka.tenants")


def _claim(import_id: int, school_id: int) -> RosterImport | None:
    done = db.session.execute(
        update(RosterImport).where(RosterImport.id == import_id, RosterImport.school_id == school_id,
                                   RosterImport.status == ImportStatus.QUEUED.value)
        .values(status=ImportStatus.RUNNING.value).execution_options(synchronize_session=False))
    db.session.commit()
    if done.rowcount != 1:
        return None
    return db.session.get(RosterImport, import_id)


def _actor(batch: RosterImport) -> Actor:
    return Actor(user_id=batch.created_by_id, role="school_staff", organisation_id=batch.school_id,
                 endpoint="job:import")


def _fail(import_id: int, message: str) -> None:
    db.session.rollback()
    batch = db.session.get(RosterImport, import_id)
    batch.status = ImportStatus.FAILED.value
    batch.error_message = message[:300]
    batch.finished_at = utcnow()
    roster_import.drop_file(batch)
    db.session.commit()


def apply_roster_import(import_id: int, school_id: int) -> str:
    """Import every valid row of a checked pupil list in one transaction."""
    with tenant_scope(Tenant(school_id=school_id)):
        batch = _claim(import_id, school_id)
        if batch is None:
            return "skipped"
        try:
            roster_import.apply(_actor(batch), batch,
                                progress=lambda done, total: progress.report("import", import_id, done, total))
            batch.status = ImportStatus.DONE.value
            batch.finished_at = utcnow()
            roster_import.drop_file(batch)
            db.session.commit()
            return ImportStatus.DONE.value
        except OperationError as err:
            _fail(import_id, str(err))
        except Exception as exc:
            log.error("roster import %s failed: %s", import_id, type(exc).__name__)  # no message: may quote data
            _fail(import_id, "Błąd wewnętrzny podczas importu. Nic nie zostało zapisane — spróbuj ponownie.")
        return ImportStatus.FAILED.value


def import_photo_zip(import_id: int, school_id: int) -> str:
    """Match each photo in a ZIP to a pupil, check it and queue it for review; report every file."""
    with tenant_scope(Tenant(school_id=school_id)):
        batch = _claim(import_id, school_id)
        if batch is None:
            return "skipped"
        try:
            entries = photo_zip.photo_entries(services.storage().get(batch.file_key))
        except photo_zip.ZipError as err:
            _fail(import_id, str(err))
            return ImportStatus.FAILED.value
        school = db.session.get(Organisation, school_id)
        pupils = list(db.session.scalars(select(Pupil).where(Pupil.status == PupilStatus.ACTIVE.value)))
        candidates = [photo_zip.Candidate(p.id, p.surname, p.first_names, p.class_name) for p in pupils]
        by_id = {p.id: p for p in pupils}
        actor = _actor(batch)
        report = []
        for done, entry in enumerate(entries, start=1):
            row = _import_one(actor, school, entry, candidates, by_id)
            report.append(row)
            if row["outcome"] == "queued":
                db.session.commit()  # each photo stands alone: one bad file does not undo the others
            else:
                db.session.rollback()
            progress.report("import", import_id, done, len(entries))
        batch = db.session.get(RosterImport, import_id)
        batch.report = report
        batch.summary = {key: sum(1 for r in report if r["outcome"] == key)
                         for key in ("queued", "unmatched", "ambiguous", "refused")} | {"total": len(report)}
        batch.status = ImportStatus.DONE.value
        batch.finished_at = utcnow()
        roster_import.drop_file(batch)
        db.session.commit()
        return ImportStatus.DONE.value


def _import_one(actor, school, entry, candidates, by_id) -> dict:
    row = {"file": entry.name[-200:], "outcome": "refused", "pupil": "", "message": ""}
    if not entry.data:
        row["message"] = entry.problem or "To nie jest plik JPEG ani PNG albo jest większy niż 15 MB."
        return row
    pesel = photo_zip.pesel_in_name(entry.name)
    if pesel is not None:
        pupil = find_by_pesel(pesel)
        match = photo_zip.Match("matched", (pupil.id,)) if pupil and pupil.id in by_id else photo_zip.Match("unmatched")
    else:
        match = photo_zip.match_by_name(entry.name, candidates)
    if match.outcome != "matched":
        row["outcome"] = match.outcome
        row["pupil"] = ", ".join(f"{by_id[i].full_name} ({by_id[i].class_name})" for i in match.pupil_ids)
        return row
    pupil = by_id[match.pupil_ids[0]]
    row["pupil"] = f"{pupil.full_name} ({pupil.class_name})"
    try:
        submission = photo_intake.submit_photo(actor, school, pupil, entry.data, source=PhotoSource.ZIP.value,
                                               accept_warnings=True)
    except OperationError as err:
        row["message"] = str(err)
        return row
    row["outcome"] = "queued"
    row["message"] = " ".join(f["message"] for f in submission.findings)
    return row


def public_url() -> str:
    return (current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")


def notify_photo_decision(submission_id: int, school_id: int) -> str:
    """E-mail the parent that the photo was accepted, or why it was rejected with a new link."""
    with tenant_scope(Tenant(school_id=school_id)):
        submission = db.session.scalar(select(PhotoSubmission).where(PhotoSubmission.id == submission_id))
        if submission is None or submission.status not in (SubmissionStatus.ACCEPTED.value,
                                                            SubmissionStatus.REJECTED.value):
            return "skipped"
        pupil = submission.pupil
        to = submission.notify_email or pupil.parent_email
        if not to:
            return "no-address"
        school = db.session.get(Organisation, school_id)
        first_name = pupil.first_names.split()[0]
        if submission.status == SubmissionStatus.ACCEPTED.value:
            subject = f"Zdjęcie do legitymacji przyjęte — {school.name}"
            body = (f"Dzień dobry,\n\nzdjęcie do legitymacji szkolnej dla: {first_name} zostało przyjęte przez "
                    f"sekretariat szkoły {school.name}.\nSzkoła poinformuje, gdy legitymacja będzie do odbioru.\n")
        else:
            days = int(current_app.config.get("PHOTO_LINK_DAYS") or 14)
            link = photo_intake.issue_link(None, pupil, days=days)
            db.session.commit()
            subject = f"Prosimy o nowe zdjęcie do legitymacji — {school.name}"
            body = (f"Dzień dobry,\n\nsekretariat szkoły {school.name} nie mógł przyjąć zdjęcia do legitymacji "
                    f"dla: {first_name}.\nPowód: {submission.rejection_reason}\n\nNowe zdjęcie można wysłać przez "
                    f"ten link (ważny {days} dni, działa na telefonie):\n{public_url()}/zdjecie/{link}\n")
        services.mailer().send(to, subject, body + "\n— Legitka, w imieniu szkoły. Prosimy nie odpowiadać na tę "
                                                   "wiadomość.\n")
        return "sent"
