"""rq jobs of the printing domain and the outbox relay that enqueues them.

Jobs take ids only. The database decides whether work is still needed (compare-and-set on the
order's status with a lease), so a job delivered twice, or re-enqueued after Redis lost it,
does the work once in effect; output keys are deterministic, so a retry overwrites.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from infra import services
from infra.crypto import sha256_hex
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import school_key
from printing.batch import BatchError
from printing.batch import build
from printing.models import OrderStatus
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.actors import SYSTEM
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.context import unscoped
from tenants.operations import log_access

log = logging.getLogger("legitka.printing")

LEASE = dt.timedelta(minutes=10)
JOB_TIMEOUT = int(LEASE.total_seconds())
RELAY_AGAIN_AFTER = LEASE + dt.timedelta(minutes=1)


def _claim(order_id: int, school_id: int) -> int | None:
    """Take the order for rendering; returns the attempt number, or None if nothing to do."""
    now = utcnow()
    result = db.session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order_id, PrintOrder.school_id == school_id,
               or_(PrintOrder.status == OrderStatus.SUBMITTED.value,
                   (PrintOrder.status == OrderStatus.RENDERING.value) & (PrintOrder.lease_until < now)))
        .values(status=OrderStatus.RENDERING.value, attempt=PrintOrder.attempt + 1, lease_until=now + LEASE)
        .returning(PrintOrder.attempt))
    return result.scalar_one_or_none()


def _close_outbox(order_id: int) -> None:
    db.session.execute(update(OutboxEvent).where(OutboxEvent.order_id == order_id, OutboxEvent.done_at.is_(None))
                       .values(done_at=utcnow()).execution_options(synchronize_session=False))


def build_batch(order_id: int, school_id: int) -> str:
    """Render the order's cards and manifest into storage and mark the order ready.

    On failure the order becomes `failed` with a readable reason and can be retried; nothing
    half-made is marked ready. Returns the final status (for logs and tests).
    """
    with tenant_scope(Tenant(school_id=school_id)):
        attempt = _claim(order_id, school_id)
        db.session.commit()
        if attempt is None:
            return "skipped"
        try:
            order = db.session.get(PrintOrder, order_id)
            cipher = services.pesel_cipher()
            # One password per order, kept across retries once made (the printer may have it already).
            password_cipher = order.package_password_cipher or cipher.encrypt(token(18))
            pdf, manifest, cards, packed = build(order, cipher.decrypt(password_cipher))
            pdf_key = school_key(school_id, "orders", order_id, "cards.pdf")
            manifest_key = school_key(school_id, "orders", order_id, "manifest.json")
            package_key = school_key(school_id, "orders", order_id, "package.7z")
            storage = services.storage()
            storage.put(pdf_key, pdf, "application/pdf")
            storage.put(manifest_key, manifest, "application/json")
            storage.put(package_key, packed.data, "application/x-7z-compressed")
            done = db.session.execute(
                update(PrintOrder)
                .where(PrintOrder.id == order_id, PrintOrder.status == OrderStatus.RENDERING.value,
                       PrintOrder.attempt == attempt)
                .values(status=OrderStatus.READY.value, pdf_key=pdf_key, manifest_key=manifest_key,
                        pdf_sha256=sha256_hex(pdf), package_key=package_key, package_sha256=packed.sha256,
                        package_password_cipher=password_cipher, ready_at=utcnow(), lease_until=None, error="")
                .execution_options(synchronize_session=False))
            if done.rowcount != 1:  # a newer attempt took over after our lease ran out
                db.session.rollback()
                return "superseded"
            for card in cards:
                log_access(SYSTEM, "batch_render", school_id=school_id, pupil_id=card.pupil_id, order_id=order_id)
            _close_outbox(order_id)
            db.session.commit()
            return OrderStatus.READY.value
        except Exception as exc:
            db.session.rollback()
            reason = str(exc) if isinstance(exc, BatchError) else "Błąd wewnętrzny podczas przygotowania paczki."
            # The exception type only: messages of library errors may quote data.
            log.error("batch for order %s failed: %s", order_id, type(exc).__name__)
            db.session.execute(
                update(PrintOrder)
                .where(PrintOrder.id == order_id, PrintOrder.status == OrderStatus.RENDERING.value,
                       PrintOrder.attempt == attempt)
                .values(status=OrderStatus.FAILED.value, error=reason[:300], lease_until=None)
                .execution_options(synchronize_session=False))
            _close_outbox(order_id)
            db.session.commit()
            return OrderStatus.FAILED.value


def relay_outbox(now: dt.datetime | None = None) -> int:
    """Enqueue due outbox events; returns how many were sent.

    Each event is pushed back by a lease before enqueueing, so an event whose job is lost
    (worker killed, Redis flushed) is enqueued again once the lease has passed.
    """
    now = now or utcnow()
    with unscoped("outbox relay"):
        stmt = (select(OutboxEvent).where(OutboxEvent.done_at.is_(None), OutboxEvent.next_attempt_at <= now)
                .order_by(OutboxEvent.id).limit(100))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        due = []
        for event in db.session.scalars(stmt):
            event.next_attempt_at = now + RELAY_AGAIN_AFTER
            event.enqueued_count += 1
            due.append((event.order_id, event.school_id, event.enqueued_count))
        db.session.commit()
    queue = services.queue()
    for order_id, school_id, n in due:
        queue.enqueue(build_batch, order_id, school_id, job_id=f"batch-{order_id}-{n}", timeout=JOB_TIMEOUT)
    return len(due)
