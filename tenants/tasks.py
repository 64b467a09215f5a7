"""rq jobs of the school domain: roster imports and photo ZIPs (e-mail goes through `tenants.mail_outbox`).

Jobs take ids only (SECURITY.md T4.8) and act for the school whose id they are given. A job
claims its import by a compare-and-set on the status, so a job delivered twice works once.

An import ends `done` or `failed` (with a Polish reason, its uploaded file deleted), never stays
"trwa": a job holds a lease on its import (`RosterImport.lease_until`) that the photo ZIP job
renews after every file. A job that dies (killed, out of memory, lost with Redis) stops
renewing it; the import page shows it failed once the lease has lapsed, and the worker's
periodic sweep (`expire_lapsed_imports`) marks it failed and deletes its file.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile

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
from tenants.models import OrgKind
from tenants.models import PhotoSource
from tenants.models import Pupil
from tenants.models import PupilStatus
from tenants.models import RosterImport
from tenants.operations import OperationError
from tenants.pupils import find_by_pesel

log = logging.getLogger("legitka.tenants")

ROSTER_JOB_TIMEOUT = 1800  # seconds; rq stops a job running longer
PHOTO_ZIP_JOB_TIMEOUT = 1800
# A roster import is one transaction and cannot renew its lease: it holds it for as long as rq lets it run.
ROSTER_LEASE = dt.timedelta(seconds=ROSTER_JOB_TIMEOUT + 60)
# The photo ZIP job renews its lease after every file (one takes well under a second; the largest
# admitted, a few seconds).
PHOTO_ZIP_LEASE = dt.timedelta(minutes=5)
REPORT_EVERY = 25  # the ZIP job saves its report so far this often, so an interrupted import still shows it
INTERRUPTED = ("Import został przerwany (np. awaria serwera w trakcie pracy) i nie zostanie dokończony. Przesłany "
               "plik usunięto — prześlij go ponownie. Zdjęcia z raportu poniżej są już w kolejce do przejrzenia.")
ZIP_INTERNAL_ERROR = ("Import przerwany przez błąd wewnętrzny. Przesłany plik usunięto. Zdjęcia z raportu poniżej "
                      "są już w kolejce do przejrzenia; pozostałe prześlij ponownie w nowym archiwum.")


def _claim(import_id: int, school_id: int, lease: dt.timedelta) -> RosterImport | None:
    done = db.session.execute(
        update(RosterImport).where(RosterImport.id == import_id, RosterImport.school_id == school_id,
                                   RosterImport.status == ImportStatus.QUEUED.value)
        .values(status=ImportStatus.RUNNING.value, lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if done.rowcount != 1:
        return None
    return db.session.get(RosterImport, import_id)


def _actor(batch: RosterImport) -> Actor:
    return Actor(user_id=batch.created_by_id, role="school_staff", organisation_id=batch.school_id,
                 endpoint="job:import")


def _fail(import_id: int, message: str, report: list | None = None) -> None:
    db.session.rollback()
    batch = db.session.get(RosterImport, import_id)
    batch.status = ImportStatus.FAILED.value
    batch.error_message = message[:300]
    batch.finished_at = utcnow()
    batch.lease_until = None
    if report is not None:
        batch.report = report
        batch.summary = _zip_summary(report)
    roster_import.drop_file(batch)
    db.session.commit()


def apply_roster_import(import_id: int, school_id: int) -> str:
    """Import every valid row of a checked pupil list in one transaction."""
    with tenant_scope(Tenant(school_id=school_id)):
        batch = _claim(import_id, school_id, ROSTER_LEASE)
        if batch is None:
            return "skipped"
        try:
            roster_import.apply(_actor(batch), batch,
                                progress=lambda done, total: progress.report("import", import_id, done, total))
            batch.status = ImportStatus.DONE.value
            batch.finished_at = utcnow()
            batch.lease_until = None
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
    """Match each photo in a ZIP to a pupil, check it and queue it for review; report every file.

    A file that cannot be used (not a photo, refused by the checks, damaged, nobody's) is reported
    with its reason and the next one goes on. Anything unexpected ends the import as failed with
    a Polish reason; the ZIP is deleted whichever way the import ends.
    """
    with tenant_scope(Tenant(school_id=school_id)):
        batch = _claim(import_id, school_id, PHOTO_ZIP_LEASE)
        if batch is None:
            return "skipped"
        report: list[dict] = []
        try:
            with tempfile.TemporaryFile() as spool:  # the upload is up to 200 MB: read from disk, a file at a time
                services.storage().get_file(batch.file_key, spool)
                archive = photo_zip.PhotoArchive(spool)
                _import_archive(import_id, school_id, _actor(batch), archive, report)
        except photo_zip.ZipError as err:
            _fail(import_id, str(err), report)
            return ImportStatus.FAILED.value
        except Exception as exc:
            log.error("photo ZIP import %s failed: %s", import_id, type(exc).__name__)  # no message: may quote data
            _fail(import_id, ZIP_INTERNAL_ERROR, report)
            return ImportStatus.FAILED.value
        batch = db.session.get(RosterImport, import_id)
        batch.report = report
        batch.summary = _zip_summary(report)
        batch.status = ImportStatus.DONE.value
        batch.finished_at = utcnow()
        batch.lease_until = None
        roster_import.drop_file(batch)
        db.session.commit()
        return ImportStatus.DONE.value


def _import_archive(import_id: int, school_id: int, actor: Actor, archive: photo_zip.PhotoArchive,
                    report: list[dict]) -> None:
    school = db.session.get(Organisation, school_id)
    pupils = list(db.session.scalars(select(Pupil).where(Pupil.status == PupilStatus.ACTIVE.value)))
    candidates = [photo_zip.Candidate(p.id, p.surname, p.first_names, p.class_name) for p in pupils]
    by_id = {p.id: p for p in pupils}
    for done, entry in enumerate(archive.entries(), start=1):
        row = _import_one(actor, school, entry, candidates, by_id)
        report.append(row)
        if row["outcome"] == "queued":
            db.session.commit()  # each photo stands alone: one bad file does not undo the others
        else:
            db.session.rollback()
        # Still alive: the lease moves on with every file (and the report so far is kept now and then).
        values = {"lease_until": utcnow() + PHOTO_ZIP_LEASE}
        if done % REPORT_EVERY == 0:
            values |= {"report": report, "summary": _zip_summary(report)}
        db.session.execute(update(RosterImport).where(RosterImport.id == import_id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        progress.report("import", import_id, done, len(archive))


def _zip_summary(report: list[dict]) -> dict:
    return {key: sum(1 for r in report if r["outcome"] == key)
            for key in ("queued", "unmatched", "ambiguous", "refused")} | {"total": len(report)}


def _import_one(actor, school, entry, candidates, by_id) -> dict:
    row = {"file": entry.name[-200:], "outcome": "refused", "pupil": "", "message": ""}
    if entry.refused:
        row["message"] = entry.refused
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


def expire_lapsed_imports(now: dt.datetime | None = None) -> int:
    """Fail every import whose job stopped renewing its lease, and delete its file; returns how many.

    School by school (each in its own tenant scope: no query across schools). The worker runs it
    periodically; `expire_lapsed_imports_here` does the same for the current school only.
    """
    now = now or utcnow()
    schools = db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.SCHOOL.value)).all()
    db.session.commit()
    count = 0
    for school_id in schools:
        with tenant_scope(Tenant(school_id=school_id)):
            try:
                count += expire_lapsed_imports_here(now)
            except Exception as exc:  # one school's storage error must not keep the others' imports running
                db.session.rollback()
                log.error("expiring lapsed imports of school %s failed: %s", school_id, type(exc).__name__)
    return count


def expire_lapsed_imports_here(now: dt.datetime | None = None) -> int:
    """`expire_lapsed_imports` for the current tenant's school; commits."""
    now = now or utcnow()
    lapsed = db.session.scalars(select(RosterImport.id).where(
        RosterImport.status.in_((ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)),
        RosterImport.lease_until < now)).all()
    count = 0
    for import_id in lapsed:
        # Compare-and-set: a job that renewed its lease meanwhile keeps its import.
        failed = db.session.execute(
            update(RosterImport).where(RosterImport.id == import_id, RosterImport.lease_until < now,
                                       RosterImport.status.in_((ImportStatus.QUEUED.value,
                                                                ImportStatus.RUNNING.value)))
            .values(status=ImportStatus.FAILED.value, error_message=INTERRUPTED, finished_at=now, lease_until=None)
            .execution_options(synchronize_session=False)).rowcount == 1
        if failed:
            roster_import.drop_file(db.session.get(RosterImport, import_id))
            log.warning("import %s failed: its job stopped renewing the lease", import_id)
            count += 1
        db.session.commit()
    return count


def public_url() -> str:
    return (current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
