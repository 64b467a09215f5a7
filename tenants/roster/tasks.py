"""rq jobs of the school domain: roster imports and photo ZIPs (e-mail goes through `tenants.mail.outbox`).

Jobs take ids only (docs/security.md T4.8) and act for the school whose id they are given.

Imports have the safety net of `infra.jobs`: the import row is the durable record, sent (and sent
again) by `tenants.roster.jobs`. A job takes its import by a compare-and-set (`queued`, or
`running` whose lease lapsed because the worker holding it died) that bumps `attempt`, holds a
lease of `infra.jobs.lease()` renewed from a side thread, and writes every result by a
compare-and-set on its attempt, so an attempt that lost its lease (paused, cut off) changes
nothing. An import ends `done` or `failed` with a Polish reason, and its uploaded file is deleted
either way.

- A roster import is one transaction: an attempt killed midway wrote nothing, and the next one
  simply runs it again.
- A photo ZIP commits file by file, each file's outcome (its photo queued for review, or why not)
  together with its row of the report: a later attempt resumes after the files already reported
  and never queues a photo twice.
- A passing database error (`infra.db_errors.is_transient`) does not fail the import: the attempt
  lets its lease go and the reconciler sends it again; after `infra.jobs.MAX_SENDS` sends the
  import fails (`import_jobs.GAVE_UP`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import tempfile

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from infra import jobs
from infra import progress
from infra import services
from infra.db import db
from infra.db import utcnow
from infra.db_errors import is_transient
from tenants.photos import operations as photo_intake
from tenants.photos import zips as photo_zip
from tenants.photos.models import PhotoSource
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.pupils.operations import find_by_pesel
from tenants.roster import operations as roster_import
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

log = logging.getLogger("legitka.tenants")

ROSTER_JOB_TIMEOUT = 1800  # seconds; rq stops a job running longer
PHOTO_ZIP_JOB_TIMEOUT = 1800
ROSTER_INTERNAL_ERROR = "Błąd wewnętrzny podczas importu. Nic nie zostało zapisane — prześlij listę ponownie."
ZIP_INTERNAL_ERROR = ("Import przerwany przez błąd wewnętrzny. Przesłany plik usunięto. Zdjęcia z raportu poniżej "
                      "są już w kolejce do przejrzenia; pozostałe prześlij ponownie w nowym archiwum.")


class _Superseded(Exception):
    """This attempt no longer holds its import (its lease lapsed and another attempt took it)."""


def _claim(import_id: int, school_id: int, held: dt.timedelta) -> int | None:
    """Take the import for this attempt; returns the attempt number, or None if nothing to do."""
    attempt = jobs.claim(RosterImport, RosterImport.id == import_id, RosterImport.school_id == school_id,
                         waiting=ImportStatus.QUEUED.value, running=ImportStatus.RUNNING.value, held=held)
    db.session.commit()
    return attempt


def _mine(import_id: int, attempt: int):
    """The import as long as this attempt holds it (the condition of every write of a job)."""
    return update(RosterImport).where(RosterImport.id == import_id, RosterImport.attempt == attempt,
                                      RosterImport.status == ImportStatus.RUNNING.value) \
        .execution_options(synchronize_session=False)


def _holding(import_id: int, school_id: int, attempt: int, held: dt.timedelta):
    """A side thread renewing the attempt's lease (`infra.jobs.keep_lease`)."""
    def renew() -> bool:
        with tenant_scope(Tenant(school_id=school_id)):
            renewed = db.session.execute(_mine(import_id, attempt).values(lease_until=utcnow() + held)).rowcount
            db.session.commit()
        return renewed == 1

    return jobs.keep_lease(renew, held, f"lease-import-{import_id}")


def _held() -> dt.timedelta:
    if not jobs.renewing():
        return dt.timedelta(seconds=max(ROSTER_JOB_TIMEOUT, PHOTO_ZIP_JOB_TIMEOUT) + 60)
    return jobs.lease()


def _actor(batch: RosterImport) -> Actor:
    return Actor(user_id=batch.created_by_id, role="school_staff", organisation_id=batch.school_id,
                 endpoint="job:import")


def _finish(import_id: int, attempt: int, **values) -> bool:
    """End the import (done or failed) if this attempt still holds it: file key cleared in the same
    update, the file itself deleted once that is committed. Commits; False if superseded."""
    key = db.session.scalar(select(RosterImport.file_key).where(RosterImport.id == import_id))
    ended = db.session.execute(_mine(import_id, attempt).values(
        finished_at=utcnow(), lease_until=None, file_key=None, **values)).rowcount == 1
    if not ended:
        db.session.rollback()
        return False
    db.session.commit()
    roster_import.delete_file(key)
    return True


def _fail(import_id: int, attempt: int, message: str, report: list | None = None) -> str:
    db.session.rollback()
    values = {"status": ImportStatus.FAILED.value, "error_message": message[:300]}
    if report is not None:
        values |= {"report": report, "summary": _zip_summary(report)}
    return ImportStatus.FAILED.value if _finish(import_id, attempt, **values) else "superseded"


def _let_go(import_id: int, attempt: int, exc: Exception) -> str:
    """A passing database error: release the lease so that the reconciler sends the import again."""
    log.warning("import %s: passing database error %s, to be sent again", import_id, type(exc).__name__)
    with contextlib.suppress(Exception):  # the connection may be gone: then the lease lapses by itself
        db.session.rollback()
        db.session.execute(_mine(import_id, attempt).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    return "retry"


def apply_roster_import(import_id: int, school_id: int) -> str:
    """Import every valid row of a checked pupil list in one transaction (see the module docstring)."""
    with tenant_scope(Tenant(school_id=school_id)):
        held = _held()
        attempt = _claim(import_id, school_id, held)
        if attempt is None:
            return "skipped"
        try:
            with _holding(import_id, school_id, attempt, held):
                batch = db.session.get(RosterImport, import_id)
                roster_import.apply(_actor(batch), batch,
                                    progress=lambda done, total: progress.report("import", import_id, done, total))
                report, summary = batch.report, batch.summary
                db.session.expire(batch, ["report", "summary"])  # written below, with the attempt's condition
            if not _finish(import_id, attempt, status=ImportStatus.DONE.value, report=report, summary=summary):
                return "superseded"  # rolled back: this attempt wrote nothing
            return ImportStatus.DONE.value
        except OperationError as err:
            return _fail(import_id, attempt, str(err))
        except Exception as exc:
            if is_transient(exc):
                return _let_go(import_id, attempt, exc)
            log.error("roster import %s failed: %s", import_id, type(exc).__name__)  # no message: may quote data
            return _fail(import_id, attempt, ROSTER_INTERNAL_ERROR)


def import_photo_zip(import_id: int, school_id: int) -> str:
    """Match each photo in a ZIP to a pupil, check it and queue it for review; report every file.

    A file that cannot be used (not a photo, refused by the checks, damaged, nobody's) is reported
    with its reason and the next one goes on. Each file's outcome is committed with its report row,
    and an attempt starts after the files already reported (an earlier attempt's). Anything
    unexpected ends the import as failed with a Polish reason; the ZIP is deleted whichever way
    the import ends.
    """
    with tenant_scope(Tenant(school_id=school_id)):
        held = _held()
        attempt = _claim(import_id, school_id, held)
        if attempt is None:
            return "skipped"
        batch = db.session.get(RosterImport, import_id)
        report: list[dict] = list(batch.report or [])
        try:
            with _holding(import_id, school_id, attempt, held), tempfile.TemporaryFile() as spool:
                # The upload is up to 200 MB: read from disk, a file at a time.
                services.storage().get_file(batch.file_key, spool)
                archive = photo_zip.PhotoArchive(spool)
                _import_archive(import_id, school_id, attempt, _actor(batch), archive, report)
        except _Superseded:
            db.session.rollback()
            return "superseded"
        except photo_zip.ZipError as err:
            return _fail(import_id, attempt, str(err), report)
        except Exception as exc:
            if is_transient(exc):
                return _let_go(import_id, attempt, exc)
            log.error("photo ZIP import %s failed: %s", import_id, type(exc).__name__)  # no message: may quote data
            return _fail(import_id, attempt, ZIP_INTERNAL_ERROR, report)
        done = _finish(import_id, attempt, status=ImportStatus.DONE.value, report=report,
                       summary=_zip_summary(report))
        return ImportStatus.DONE.value if done else "superseded"


def _import_archive(import_id: int, school_id: int, attempt: int, actor: Actor,
                    archive: photo_zip.PhotoArchive, report: list[dict]) -> None:
    """Import the archive's files after the `len(report)` already reported, appending to `report`."""
    school = db.session.get(Organisation, school_id)
    pupils = list(db.session.scalars(select(Pupil).where(Pupil.status == PupilStatus.ACTIVE.value)))
    candidates = [photo_zip.Candidate(p.id, p.surname, p.first_names, p.class_name) for p in pupils]
    by_id = {p.id: p for p in pupils}
    for done, entry in enumerate(archive.entries(start=len(report)), start=len(report) + 1):
        row = _import_one(actor, school, entry, candidates, by_id)
        if row["outcome"] != "queued":
            db.session.rollback()  # a refused photo leaves nothing behind
        # The file's outcome and its report row in one commit, as long as this attempt holds the import
        # (a photo queued twice would be the price of anything weaker); the lease moves on with it.
        kept = db.session.execute(_mine(import_id, attempt).values(
            report=[*report, row], summary=_zip_summary([*report, row]),
            lease_until=utcnow() + _held())).rowcount
        if kept != 1:
            raise _Superseded
        db.session.commit()
        report.append(row)
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


def public_url() -> str:
    return (current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
