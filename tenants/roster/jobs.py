"""Sending import jobs, and the reconciler that sends them again (the safety net of `infra.jobs`).

A request that queues an import (a confirmed pupil list, an uploaded photo ZIP) commits the row
as `queued` first and then calls `send`: if Redis is down the row simply stays queued, the page
says so, and the reconciler sends it when Redis is back. `reconcile_imports` (every worker's
relay loop, and `flask legitka reconcile-jobs`) goes school by school, each as that school, and
sends again an import whose job Redis lost or whose worker died (lease lapsed); after
`infra.jobs.MAX_SENDS` sends it fails the import with `GAVE_UP` and deletes its file. A failed
import is not retried from the same file (deleted at once: it holds PESELs or children's
photos); the school uploads it again.

The rules (when to wait, send or give up; job ids; sending before recording) are `infra.jobs`';
the round school by school is `tenants.tenancy.reconcile`; this module says which job an import gets and
how one is given up.
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from infra import jobs
from infra.db import db
from tenants.roster import operations as roster_import
from tenants.roster import tasks
from tenants.roster.models import ImportKind
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.tenancy.models import OrgKind
from tenants.tenancy.reconcile import each_organisation

log = logging.getLogger("legitka.tenants")

GAVE_UP = ("Import kilka razy został przerwany (np. awaria serwera w trakcie pracy) i nie został dokończony. "
           "Przesłany plik usunięto — prześlij go ponownie; jeśli to się powtórzy, zgłoś problem.")
ACTIVE = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


def _job(batch: RosterImport):
    """The job function and its timeout for an import of this kind."""
    if batch.kind == ImportKind.PHOTOS.value:
        return tasks.import_photo_zip, tasks.PHOTO_ZIP_JOB_TIMEOUT
    return tasks.apply_roster_import, tasks.ROSTER_JOB_TIMEOUT


def _resend(batch: RosterImport) -> None:
    func, timeout = _job(batch)
    jobs.resend(batch, "import", func, batch.id, batch.school_id, timeout=timeout)


def send(batch: RosterImport) -> bool:
    """Send a committed, queued import's job; False when the queue is down (the import stays queued
    and the reconciler sends it later). Never raises for the queue."""
    func, timeout = _job(batch)
    return jobs.send(batch, "import", func, batch.id, batch.school_id, timeout=timeout, what="import")


def reconcile_imports() -> int:
    """Send again, or give up on, every school's imports that need it; returns how many were touched.
    School by school, each as that school (`tenants.tenancy.reconcile.each_organisation`)."""
    return each_organisation(OrgKind.SCHOOL, reconcile_imports_here, "imports")


def reconcile_imports_here() -> int:
    """`reconcile_imports` for the current tenant's school; commits."""
    return jobs.reconcile(RosterImport, "import", active=ACTIVE, running=ImportStatus.RUNNING.value,
                          resend=_resend, give_up=_give_up)


def _give_up(batch: RosterImport, now) -> bool:
    """Fail an import whose job keeps dying or getting lost, and delete its file (commits)."""
    import_id, key, sends = batch.id, batch.file_key, batch.sends
    failed = db.session.execute(
        update(RosterImport)
        .where(RosterImport.id == import_id, RosterImport.sends == sends,
               jobs.takeable(RosterImport.status, RosterImport.lease_until, waiting=ImportStatus.QUEUED.value,
                             running=ImportStatus.RUNNING.value, now=now))
        .values(status=ImportStatus.FAILED.value, error_message=GAVE_UP, finished_at=now, lease_until=None,
                file_key=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if failed:
        roster_import.delete_file(key)
        log.error("import %s given up after %s jobs", import_id, sends)
    return failed
