"""rq jobs of the printing domain, and the outbox relay that enqueues them and recovers lost ones.

Jobs take ids only. The database decides whether work is still needed (compare-and-set on the
order's status with a lease), so a job delivered twice, or re-enqueued after Redis lost it,
does the work once in effect; output keys are deterministic, so a retry overwrites.

The lease is short and renewed while the batch is being built (`_LeaseKeeper`): a worker that
dies mid-batch (SIGKILL, OOM) stops renewing it, and within one lease the relay, which every
worker runs periodically, sees the order `rendering` with a lapsed lease and enqueues it again
(SECURITY.md §2.6, T4.4). The relay also re-enqueues an order whose job Redis no longer has
(flushed, evicted) or whose job ended without finishing it (T4.5).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading

from flask import current_app
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

DEFAULT_LEASE_SECONDS = 120  # config BATCH_LEASE_SECONDS; renewed every third of it while a batch builds
JOB_TIMEOUT = 600  # rq kills a horse that runs longer; the order then fails (and may be retried)
RELAY_AGAIN_AFTER = dt.timedelta(minutes=11)  # a job `started` this long without taking its order is lost
MAX_SENDS = 5  # an order sent this often without a result (worker died, job lost) fails; no endless loop
RELAY_BATCH = 500
# rq states in which the job will still run: nothing to recover.
WAITING = frozenset({"queued", "deferred", "scheduled", "created"})
GAVE_UP = ("Przygotowanie paczki kilka razy zostało przerwane (np. awaria serwera w trakcie pracy). "
           "Spróbuj ponownie; jeśli to się powtórzy, zgłoś problem.")


def lease() -> dt.timedelta:
    """How long a claim holds an order without renewal (config `BATCH_LEASE_SECONDS`)."""
    seconds = float(current_app.config.get("BATCH_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)
    return dt.timedelta(seconds=max(seconds, 1.0))


def _claim(order_id: int, school_id: int, held: dt.timedelta) -> int | None:
    """Take the order for rendering; returns the attempt number, or None if nothing to do."""
    now = utcnow()
    result = db.session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order_id, PrintOrder.school_id == school_id,
               or_(PrintOrder.status == OrderStatus.SUBMITTED.value,
                   (PrintOrder.status == OrderStatus.RENDERING.value) & (PrintOrder.lease_until < now)))
        .values(status=OrderStatus.RENDERING.value, attempt=PrintOrder.attempt + 1, lease_until=now + held)
        .returning(PrintOrder.attempt))
    return result.scalar_one_or_none()


class _LeaseKeeper:
    """Renews an attempt's lease from a side thread (its own app context and session) until the
    block ends; stops by itself once the attempt no longer holds the order."""

    def __init__(self, order_id: int, school_id: int, attempt: int, held: dt.timedelta) -> None:
        self.app = current_app._get_current_object()
        self.order_id, self.school_id, self.attempt, self.held = order_id, school_id, attempt, held
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lease-order-{order_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.held.total_seconds() / 3):
            try:
                with self.app.app_context(), tenant_scope(Tenant(school_id=self.school_id)):
                    renewed = db.session.execute(
                        update(PrintOrder)
                        .where(PrintOrder.id == self.order_id, PrintOrder.school_id == self.school_id,
                               PrintOrder.status == OrderStatus.RENDERING.value, PrintOrder.attempt == self.attempt)
                        .values(lease_until=utcnow() + self.held)
                        .execution_options(synchronize_session=False)).rowcount
                    db.session.commit()
            except Exception as exc:  # the next round tries again; the lease has two more thirds
                log.warning("lease renewal for order %s failed: %s", self.order_id, type(exc).__name__)
                continue
            if renewed != 1:
                return


def _close_outbox(order_id: int) -> None:
    db.session.execute(update(OutboxEvent).where(OutboxEvent.order_id == order_id, OutboxEvent.done_at.is_(None))
                       .values(done_at=utcnow()).execution_options(synchronize_session=False))


def build_batch(order_id: int, school_id: int) -> str:
    """Render the order's cards and manifest into storage and mark the order ready.

    On failure the order becomes `failed` with a readable reason and can be retried; nothing
    half-made is marked ready. Returns the final status (for logs and tests).
    """
    with tenant_scope(Tenant(school_id=school_id)):
        # On PostgreSQL a side thread renews a short lease. SQLite (the embedded default, jobs run
        # in the request) would make it wait on the request's own transaction: one long lease there.
        renew = db.session.get_bind().dialect.name == "postgresql"
        held = lease() if renew else max(lease(), dt.timedelta(seconds=JOB_TIMEOUT))
        attempt = _claim(order_id, school_id, held)
        db.session.commit()
        if attempt is None:
            return "skipped"
        try:
            with _LeaseKeeper(order_id, school_id, attempt, held) if renew else contextlib.nullcontext():
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


@dataclasses.dataclass
class _Pending:
    event: OutboxEvent
    status: str | None = None  # the order's
    lease_until: dt.datetime | None = None
    job: str | None = None  # rq's status of the event's last job; None: never sent, or Redis lost it


def job_id(event: OutboxEvent, n: int) -> str:
    """The `n`th job sent for an outbox event: unique, also across an order's retries."""
    return f"batch-{event.order_id}-{event.id}-{n}"


def _orders_of(pending: list[_Pending]) -> None:
    """Fill in each event's order status and lease, reading as the order's school (RLS admits
    print orders to their school only, not to the system scope the relay runs in)."""
    by_school: dict[int, list[_Pending]] = {}
    for item in pending:
        by_school.setdefault(item.event.school_id, []).append(item)
    for school_id, items in by_school.items():
        with tenant_scope(Tenant(school_id=school_id)):
            rows = db.session.execute(
                select(PrintOrder.id, PrintOrder.status, PrintOrder.lease_until)
                .where(PrintOrder.school_id == school_id, PrintOrder.id.in_({i.event.order_id for i in items})))
            found = {row.id: row for row in rows}
            for item in items:
                row = found.get(item.event.order_id)
                if row is not None:
                    item.status, item.lease_until = row.status, row.lease_until


def _needs_job(item: _Pending, now: dt.datetime) -> bool:
    """Whether the event's order needs a (new) job now."""
    if item.status == OrderStatus.RENDERING.value and item.lease_until is not None and item.lease_until >= now:
        return False  # a worker holds the lease and renews it
    if item.event.enqueued_count == 0:
        return True  # never sent
    if item.job in WAITING:
        return False  # the job will run and claim (or skip) the order
    if item.status == OrderStatus.RENDERING.value:
        return True  # the lease lapsed: the worker that held it died mid-batch
    if item.job == "started":
        # Taking the order right now, or its worker died before it could (rq reports such a job
        # as abandoned after a while); sent again only after the safety interval.
        return item.event.next_attempt_at <= now
    return True  # Redis lost the job, or it ended (failed, stopped) without taking the order


def relay_outbox(now: dt.datetime | None = None, *, reconcile: bool = False) -> int:
    """Enqueue outbox work that needs a job; returns how many jobs were enqueued.

    With `reconcile` (the workers' periodic relay, the `relay` command) this is also the
    reconciler: an order still `submitted` whose job Redis lost, or `rendering` with a lapsed
    lease (its worker died), is enqueued again at once; events of orders that no longer need a
    batch are closed; an order sent `MAX_SENDS` times without a result becomes `failed`.
    Without it (a request, right after committing its change) only events never sent, or last
    sent more than `RELAY_AGAIN_AFTER` ago, are looked at: little work, across tenants, in a
    request; and on the embedded default, with no worker, still a way out for a stuck order.
    """
    now = now or utcnow()
    queue = services.queue()
    with unscoped("outbox relay"), db.session.no_autoflush:
        stmt = (select(OutboxEvent).where(OutboxEvent.done_at.is_(None)).order_by(OutboxEvent.id).limit(RELAY_BATCH))
        if not reconcile:  # new events, and the rare one unfinished for long (a safety net on SQLite)
            stmt = stmt.where(or_(OutboxEvent.enqueued_count == 0, OutboxEvent.next_attempt_at <= now))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # two relays never handle the same event
        pending = [_Pending(event) for event in db.session.scalars(stmt)]
        _orders_of(pending)
        sent = [item for item in pending if item.event.enqueued_count]
        for item, status in zip(sent, queue.statuses([job_id(i.event, i.event.enqueued_count)
                                                      for i in sent]), strict=True):
            item.job = status
        close, send = [], []
        for item in pending:
            if item.status is None:  # a placed order is never deleted: leave the event for a person to see
                log.error("outbox event %s: order %s not found", item.event.id, item.event.order_id)
            elif item.status not in (OrderStatus.SUBMITTED.value, OrderStatus.RENDERING.value):
                close.append(item.event)  # built, failed, or taken further by hand: nothing left to do
            elif not _needs_job(item, now):
                continue
            elif item.event.enqueued_count >= MAX_SENDS:
                if _give_up(item.event, now):
                    close.append(item.event)
            else:
                send.append(item.event)
        # Only now touch the events: every flush happens in the relay's own (system) scope.
        for event in close:
            event.done_at = now
        due = []
        for event in send:
            event.next_attempt_at = now + RELAY_AGAIN_AFTER
            event.enqueued_count += 1
            due.append((event.order_id, event.school_id, job_id(event, event.enqueued_count)))
        db.session.commit()
    for order_id, school_id, name in due:
        queue.enqueue(build_batch, order_id, school_id, job_id=name, timeout=JOB_TIMEOUT)
    return len(due)


def _give_up(event: OutboxEvent, now: dt.datetime) -> bool:
    """Fail an order whose batch keeps dying or getting lost (the school sees why and may retry)."""
    with tenant_scope(Tenant(school_id=event.school_id)):
        failed = db.session.execute(
            update(PrintOrder)
            .where(PrintOrder.id == event.order_id, PrintOrder.school_id == event.school_id,
                   or_(PrintOrder.status == OrderStatus.SUBMITTED.value,
                       (PrintOrder.status == OrderStatus.RENDERING.value) & (PrintOrder.lease_until < now)))
            .values(status=OrderStatus.FAILED.value, error=GAVE_UP, lease_until=None)
            .execution_options(synchronize_session=False)).rowcount == 1
    if failed:
        log.error("batch for order %s given up after %s jobs", event.order_id, event.enqueued_count)
    return failed
