"""Sending import jobs, and the reconciler that sends them again (the safety net of `infra.jobs`).

A request that queues an import (a confirmed pupil list, an uploaded photo ZIP) commits the row
as `queued` first and then calls `send`: if Redis is down the row simply stays queued, the page
says so, and the reconciler sends it when Redis is back. `reconcile_imports` (every worker's
relay loop, and `flask legitka reconcile-jobs`) goes school by school, each as that school, and
sends again an import whose job Redis lost or whose worker died (lease lapsed); after
`infra.jobs.MAX_SENDS` sends it fails the import with `GAVE_UP` and deletes its file. A failed
import is not retried from the same file (deleted at once: it holds PESELs or children's
photos); the school uploads it again.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy import update

from infra import jobs
from infra.db import db
from infra.db import utcnow
from tenants import roster_import
from tenants import tasks
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import ImportKind
from tenants.models import ImportStatus
from tenants.models import Organisation
from tenants.models import OrgKind
from tenants.models import RosterImport

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

    School by school, each as that school (no query across schools); one school's error (its
    storage, say) does not stop the others. Redis being down stops the round (nothing is recorded
    for a send that did not happen); the next round tries again."""
    schools = db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.SCHOOL.value)).all()
    db.session.commit()
    count = 0
    for school_id in schools:
        with tenant_scope(Tenant(school_id=school_id)):
            try:
                count += reconcile_imports_here()
            except jobs.QUEUE_DOWN:
                db.session.rollback()
                raise
            except Exception as exc:
                db.session.rollback()
                log.error("reconciling imports of school %s failed: %s", school_id, type(exc).__name__)
    return count


def reconcile_imports_here() -> int:
    """`reconcile_imports` for the current tenant's school; commits."""
    now = utcnow()
    stmt = select(RosterImport).where(RosterImport.status.in_(ACTIVE)).order_by(RosterImport.id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # two workers' reconcilers never handle the same import
    active = list(db.session.scalars(stmt))
    decided = jobs.decide(active, "import", now, running=ImportStatus.RUNNING.value)
    count = 0
    for batch, what in decided:
        if what == jobs.SEND:
            _resend(batch)  # commits: the row locks of the others go, which is fine (skip locked)
            count += 1
        elif what == jobs.GIVE_UP and _give_up(batch, now):
            count += 1
    db.session.commit()
    return count


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
