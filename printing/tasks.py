"""rq jobs of the printing domain, and the outbox relay that enqueues them and recovers lost ones.

Jobs take ids only. The database decides whether work is still needed (compare-and-set on the
order's status with a lease), so a job delivered twice, or re-enqueued after Redis lost it,
does the work once in effect (docs/architecture.md, the main flow).

The rules every relay shares (rq's waiting states, the wait / send / give-up `verdict`, the job
ids, `MAX_SENDS`, the claim's compare-and-set, the lease keeper, the `started` grace) live in
`infra.jobs`; this module keeps the batch's own: its outbox, its files, its transient back-off.

The lease is short and renewed while the batch is being built (`_holding`): a worker that
dies mid-batch (SIGKILL, OOM) stops renewing it, and within one lease the relay, which every
worker runs periodically, sees the order `rendering` with a lapsed lease and enqueues it again.
The relay also re-enqueues an order whose job Redis no longer has (flushed, evicted) or whose
job ended without finishing it.

**Files: one set per attempt, published by the compare-and-set.** Each claim gets a new attempt
number, and the attempt writes its `manifest.json` and `package.7z` under its own
keys (`schools/<school>/orders/<order>/attempt-<n>/…`, `attempt_keys`). Nothing a printer can
fetch is ever overwritten: the keys become the order's only in the same UPDATE that flips it
`rendering → ready`, and only while the order is still `rendering` under this attempt. So an
attempt that was paused past its lease (SIGSTOP, a VM pause, a swap storm) and resumes after
another attempt finished cannot touch the published package; its UPDATE is refused. The package
password is chosen before rendering (kept across retries once stored) and stored by that same
UPDATE with the keys and checksums, so the stored password is always the one the published
package was encrypted with; a refused attempt changes neither.

Who deletes what (every delete removes all stored versions, `Storage.purge`):
- an attempt that does not publish (refused, failed, or giving the order back after a transient
  error) deletes the files it wrote, once the database confirms they were not published (a
  COMMIT whose answer was lost may have published them: then it is the winner after all);
- the attempt that publishes, or that fails the order for good, removes what earlier attempts
  left (one killed before it could clean up); those can no longer publish. The keys of a
  published package that the order still records are kept (a failed rebuild after a redirect);
- retention (`printing.retention`) purges the published keys the order records.
An attempt frozen past a winner's sweep and killed before it resumes leaves its files behind.

**Transient and lasting failures.** A lasting cause (`BatchError`: a missing photo, a lapsed
agreement, a bad calibration; or any error `infra.db_errors.is_transient` does not call passing)
fails the order at once with its reason, and the school may retry it. A transient one (the
database connection lost, a serialization failure, a lock or statement timeout, or the file
storage unreachable, `infra.storage.is_unavailable`) does not reach the school: the attempt gives
the order back (see `_give_back`) and the relay sends it again after a back-off growing with the
number of jobs already sent (`retry_delay`). After `infra.jobs.MAX_SENDS` jobs the order fails with a reason
saying it was retried automatically, how often and when (`gave_up_reason`). (docs/printing.md.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from infra import jobs
from infra import services
from infra.crypto import sha256_hex
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.db_errors import is_transient
from infra.storage import is_unavailable
from infra.storage import school_key
from printing.batch import BatchError
from printing.batch import build
from printing.models import OrderStatus
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.tenancy.actors import SYSTEM
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped

log = logging.getLogger("legitka.printing")

DEFAULT_LEASE_SECONDS = 120  # config BATCH_LEASE_SECONDS; renewed every third of it while a batch builds
JOB_TIMEOUT = 600  # rq kills a horse that runs longer; its lease lapses and the relay sends the order again
RELAY_BATCH = 500
# What each attempt writes, under its own keys: the encrypted package and the manifest (no personal
# data). "cards.pdf" is no longer written (docs/security.md T3.19) but is still swept: attempts
# made before may have left one.
BATCH_FILES = ("cards.pdf", "manifest.json", "package.7z")
DEFAULT_RETRY_SECONDS = 15  # config BATCH_RETRY_SECONDS: the first back-off after a transient error
MAX_RETRY_DELAY = dt.timedelta(minutes=10)
GAVE_UP = ("Przygotowanie paczki kilka razy zostało przerwane (np. awaria serwera w trakcie pracy). "
           "Spróbuj ponownie; jeśli to się powtórzy, zgłoś problem.")


def lease() -> dt.timedelta:
    """How long a claim holds an order without renewal (config `BATCH_LEASE_SECONDS`)."""
    seconds = float(current_app.config.get("BATCH_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)
    return dt.timedelta(seconds=max(seconds, 1.0))


def _claim(order_id: int, school_id: int, held: dt.timedelta) -> int | None:
    """Take the order for rendering; returns the attempt number, or None if nothing to do."""
    return jobs.claim(PrintOrder, PrintOrder.id == order_id, PrintOrder.school_id == school_id,
                      waiting=OrderStatus.SUBMITTED.value, running=OrderStatus.RENDERING.value, held=held)


def _holding(order_id: int, school_id: int, attempt: int, held: dt.timedelta):
    """A side thread renewing the attempt's lease on the order while the batch builds
    (`infra.jobs.keep_lease`); it stops once the attempt no longer holds the order."""
    def renew() -> bool:
        with tenant_scope(Tenant(school_id=school_id)):
            renewed = db.session.execute(
                update(PrintOrder)
                .where(PrintOrder.id == order_id, PrintOrder.school_id == school_id,
                       PrintOrder.status == OrderStatus.RENDERING.value, PrintOrder.attempt == attempt)
                .values(lease_until=utcnow() + held)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
        return renewed == 1

    return jobs.keep_lease(renew, held, f"lease-order-{order_id}")


def _close_outbox(order_id: int) -> None:
    db.session.execute(update(OutboxEvent).where(OutboxEvent.order_id == order_id, OutboxEvent.done_at.is_(None))
                       .values(done_at=utcnow()).execution_options(synchronize_session=False))


def attempt_keys(school_id: int, order_id: int, attempt: int | None) -> dict[str, str]:
    """The storage keys of one attempt's files, by file name. `None`: the keys every attempt
    shared before keys were attempt-scoped (orders built then still record them)."""
    folder = ("orders", order_id) if attempt is None else ("orders", order_id, f"attempt-{int(attempt)}")
    return {name: school_key(school_id, *folder, name) for name in BATCH_FILES}


def retry_delay(sends: int, base: float) -> dt.timedelta:
    """How long an order given back after a transient error waits before the relay sends it
    again: `base` after the first job, doubling with each job sent, at most `MAX_RETRY_DELAY`."""
    seconds = base * 2 ** max(sends - 1, 0)
    return min(dt.timedelta(seconds=seconds), MAX_RETRY_DELAY)


def gave_up_reason(tries: int, first: dt.datetime, last: dt.datetime, zone: str = "Europe/Warsaw") -> str:
    """The school's reason for an order whose batch kept meeting passing faults: that the system
    retried it by itself, how often and when (local time), and what to do now."""
    tz = ZoneInfo(zone)
    first, last = first.astimezone(tz), last.astimezone(tz)
    since = first.strftime("%d.%m.%Y %H:%M")
    until = last.strftime("%H:%M") if last.date() == first.date() else last.strftime("%d.%m.%Y %H:%M")
    return (f"Nie udało się przygotować paczki mimo {tries} automatycznych prób ({since}–{until}): "
            "baza danych lub magazyn plików były chwilowo niedostępne. Spróbuj ponownie za kilka minut; "
            "jeśli to się powtórzy, zgłoś problem.")


def _retry_base() -> float:
    """The first back-off after a transient error, in seconds (config `BATCH_RETRY_SECONDS`)."""
    return max(float(current_app.config.get("BATCH_RETRY_SECONDS") or DEFAULT_RETRY_SECONDS), 0.1)


def _passing(exc: BaseException) -> bool:
    """Whether the error may pass if the same work runs again a little later (a dropped or timed
    out database connection, a serialization failure; the file storage unreachable)."""
    return is_transient(exc) or is_unavailable(exc)


def _fresh_session() -> None:
    """End the session's transaction, even on a dead connection: SQLAlchemy has invalidated a
    lost one, so the next statement checks a connection out anew (`pool_pre_ping` replaces the
    pool's other dead ones). Only if even the rollback fails is the session closed (its objects
    detach; on the embedded default the job shares the request's session, so not by default)."""
    try:
        db.session.rollback()
    except Exception:
        with contextlib.suppress(Exception):
            db.session.close()


def _purge(keys, keep=frozenset()) -> None:
    """Delete each key with all its versions (except `keep`); a storage error is logged, not
    raised: what stays behind is removed by a later winner's sweep."""
    storage = services.storage()
    for key in keys:
        if key in keep:
            continue
        try:
            storage.purge(key)
        except Exception as exc:
            log.warning("could not remove a batch file: %s", type(exc).__name__)


def _sweep(school_id: int, order_id: int, before: int, keep=frozenset()) -> None:
    """Remove the files of the order's attempts before `before` (and of the shared keys older
    orders used), except `keep`: those attempts can no longer publish."""
    for attempt in [None, *range(1, before)]:
        _purge(attempt_keys(school_id, order_id, attempt).values(), keep)


def build_batch(order_id: int, school_id: int) -> str:
    """Render the order's cards, manifest and package under this attempt's keys and publish
    them by marking the order ready (see the module's docstring for the contract).

    Returns what became of the attempt (for logs and tests): `ready`, `failed`, `retry` (given
    back after a transient error), `superseded` (another attempt holds the order), `skipped`
    (nothing to do) or `lost` (the database could not be told; the lease will lapse).
    """
    with tenant_scope(Tenant(school_id=school_id)):
        # On PostgreSQL a side thread renews a short lease; on the embedded SQLite, one long lease.
        held = lease() if jobs.renewing() else max(lease(), dt.timedelta(seconds=JOB_TIMEOUT))
        attempt = _claim(order_id, school_id, held)
        db.session.commit()
        if attempt is None:
            return "skipped"
        keys = attempt_keys(school_id, order_id, attempt)
        written: list[str] = []
        try:
            with _holding(order_id, school_id, attempt, held):
                order = db.session.get(PrintOrder, order_id)
                cipher = services.pesel_cipher()
                # One password per order, kept across retries once stored (the printer may have it
                # already); a new one is stored only with the package it encrypts, by the same CAS.
                password_cipher = order.package_password_cipher or cipher.encrypt(token(18))
                pdf, manifest, cards, packed = build(order, cipher.decrypt(password_cipher), SYSTEM)
                storage = services.storage()
                # The plain PDF is not stored: it is inside the package (docs/security.md T3.19).
                # The package is encrypted for the printer and handed out by a presigned link:
                # stored as it is; the manifest is encrypted at rest like any object (T3.20).
                for name, data, content_type in (("manifest.json", manifest, "application/json"),
                                                 ("package.7z", packed.data, "application/x-7z-compressed")):
                    written.append(keys[name])
                    storage.put(keys[name], data, content_type, recipient_encrypted=name == "package.7z")
            # The publication: the keys, checksums and password become the order's only if this
            # attempt still holds it.
            done = db.session.execute(
                update(PrintOrder)
                .where(PrintOrder.id == order_id, PrintOrder.status == OrderStatus.RENDERING.value,
                       PrintOrder.attempt == attempt)
                .values(status=OrderStatus.READY.value, pdf_key=None,
                        manifest_key=keys["manifest.json"], pdf_sha256=sha256_hex(pdf),
                        package_key=keys["package.7z"], package_sha256=packed.sha256,
                        package_password_cipher=password_cipher, ready_at=utcnow(), lease_until=None, error="")
                .execution_options(synchronize_session=False))
            if done.rowcount != 1:  # a newer attempt took over after our lease ran out
                db.session.rollback()
                _purge(written)
                return "superseded"
            # build() added each card's "batch_render" access-log row; they commit with the publication.
            _close_outbox(order_id)
            db.session.commit()
        except Exception as exc:
            return _after_failure(order_id, school_id, attempt, exc, written)
        _sweep(school_id, order_id, attempt, keep=frozenset(keys.values()))
        return OrderStatus.READY.value


def _after_failure(order_id: int, school_id: int, attempt: int, exc: Exception, written: list[str]) -> str:
    """Settle an attempt that raised: on a fresh connection, find out whether it published after
    all (a COMMIT whose answer was lost), else remove its files and fail the order (lasting
    cause) or give it back (transient). When even that cannot reach the database, the lease
    lapses and the relay sends the order again; the files stay for the next winner's sweep."""
    # The exception type only: messages of library errors may quote data.
    log.warning("batch for order %s, attempt %s, raised %s", order_id, attempt, type(exc).__name__)
    _fresh_session()
    try:
        row = db.session.execute(
            select(PrintOrder.status, PrintOrder.attempt, PrintOrder.package_key, PrintOrder.pdf_key,
                   PrintOrder.manifest_key)
            .where(PrintOrder.id == order_id, PrintOrder.school_id == school_id)).one()
        if row.status == OrderStatus.READY.value and row.package_key in written:
            db.session.commit()
            log.info("batch for order %s was published before the error", order_id)
            _sweep(school_id, order_id, attempt, keep=frozenset(written))
            return OrderStatus.READY.value
        _purge(written)
        if row.status != OrderStatus.RENDERING.value or row.attempt != attempt:
            db.session.commit()
            return "superseded"
        recorded = frozenset(k for k in (row.package_key, row.pdf_key, row.manifest_key) if k)
        if isinstance(exc, BatchError):
            outcome = _fail(order_id, school_id, attempt, str(exc), recorded)
        elif _passing(exc):
            outcome = _give_back(order_id, school_id, attempt, recorded)
        else:
            log.error("batch for order %s failed: %s", order_id, type(exc).__name__)
            outcome = _fail(order_id, school_id, attempt, "Błąd wewnętrzny podczas przygotowania paczki.", recorded)
        return outcome
    except Exception as again:
        _fresh_session()
        log.error("batch for order %s: could not record the failure (%s); the lease will lapse",
                  order_id, type(again).__name__)
        return "lost"


def _fail(order_id: int, school_id: int, attempt: int, reason: str, recorded: frozenset[str]) -> str:
    """The order becomes `failed` with `reason` (the school sees it and may retry), if this
    attempt still holds it; earlier attempts' leftovers go."""
    failed = db.session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order_id, PrintOrder.status == OrderStatus.RENDERING.value,
               PrintOrder.attempt == attempt)
        .values(status=OrderStatus.FAILED.value, error=reason[:300], lease_until=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if failed:
        _close_outbox(order_id)
    db.session.commit()
    if not failed:
        return "superseded"
    _sweep(school_id, order_id, attempt, keep=recorded)
    return OrderStatus.FAILED.value


def _give_back(order_id: int, school_id: int, attempt: int, recorded: frozenset[str]) -> str:
    """After a transient error: keep the order `rendering` with its lease pushed `retry_delay`
    ahead, so the relay's existing path for a lapsed lease sends it again then.

    Chosen over going back to `submitted`: the relay already re-sends a lapsed lease, and does
    so also when this very update cannot be made (the database is still away) — the lease this
    attempt held lapses by itself — so there is one way back, not two; `_claim` and duplicate
    jobs already respect a lease; and the school keeps seeing the batch as in progress. The jobs
    sent for the order's outbox event count the tries: after `MAX_SENDS` the order fails with
    `gave_up_reason` (the relay's `_give_up` bounds deaths and lost jobs the same way)."""
    now = utcnow()
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.order_id == order_id,
                                                        OutboxEvent.school_id == school_id,
                                                        OutboxEvent.done_at.is_(None))
                              .order_by(OutboxEvent.id.desc()).limit(1))
    if event is None or event.enqueued_count >= jobs.MAX_SENDS:  # no event: nothing would send it again
        tries, first = (event.enqueued_count, event.created_at) if event is not None else (1, now)
        zone = current_app.config.get("TIMEZONE", "Europe/Warsaw")
        log.error("batch for order %s given up after %s jobs, the last one met a transient error", order_id, tries)
        return _fail(order_id, school_id, attempt, gave_up_reason(tries, first, now, zone), recorded)
    delay = retry_delay(event.enqueued_count, _retry_base())
    db.session.execute(
        update(PrintOrder)
        .where(PrintOrder.id == order_id, PrintOrder.status == OrderStatus.RENDERING.value,
               PrintOrder.attempt == attempt)
        .values(lease_until=now + delay)
        .execution_options(synchronize_session=False))
    db.session.commit()
    log.warning("batch for order %s given back after a transient error; sent again in %.0f s",
                order_id, delay.total_seconds())
    return "retry"


@dataclasses.dataclass
class _Pending:
    event: OutboxEvent
    status: str | None = None  # the order's
    lease_until: dt.datetime | None = None
    job: str | None = None  # rq's status of the event's last job; None: never sent, or Redis lost it


def job_id(event: OutboxEvent, n: int) -> str:
    """The `n`th job sent for an outbox event: unique, also across an order's retries."""
    return jobs.job_id("batch", event.order_id, event.id, n)


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


def _verdict(item: _Pending, now: dt.datetime) -> str:
    """`infra.jobs.verdict` for the event's order: `rendering` is its running state (a lease given
    back after a transient error is a lease too, so the back-off waits as a live lease does). The
    event records when its last job stops being trusted (`next_attempt_at`, the send plus
    `STARTED_GRACE`) rather than when it was sent."""
    return jobs.verdict(running=item.status == OrderStatus.RENDERING.value, lease_until=item.lease_until,
                        sends=item.event.enqueued_count, sent_at=item.event.next_attempt_at - jobs.STARTED_GRACE,
                        job=item.job, now=now)


def relay_outbox(now: dt.datetime | None = None, *, reconcile: bool = False) -> int:
    """Enqueue outbox work that needs a job; returns how many jobs were enqueued.

    With `reconcile` (the workers' periodic relay, the `relay` command) this is also the
    reconciler: an order still `submitted` whose job Redis lost, or `rendering` with a lapsed
    lease (its worker died), is enqueued again at once; events of orders that no longer need a
    batch are closed; an order sent `MAX_SENDS` times without a result becomes `failed`.
    Without it (a request, right after committing its change) only events never sent, or last
    sent more than `infra.jobs.STARTED_GRACE` ago, are looked at: little work, across tenants, in a
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
            elif (what := _verdict(item, now)) == jobs.WAIT:
                continue
            elif what == jobs.GIVE_UP:
                if _give_up(item.event, now):
                    close.append(item.event)
            else:
                send.append(item.event)
        # Only now touch the events: every flush happens in the relay's own (system) scope.
        for event in close:
            event.done_at = now
        due = []
        for event in send:
            event.next_attempt_at = now + jobs.STARTED_GRACE
            event.enqueued_count += 1
            due.append((event.order_id, event.school_id, job_id(event, event.enqueued_count)))
        db.session.commit()
    for order_id, school_id, name in due:
        queue.enqueue(build_batch, order_id, school_id, job_id=name, timeout=JOB_TIMEOUT)
    return len(due)


def _give_up(event: OutboxEvent, now: dt.datetime) -> bool:
    """Fail an order whose batch keeps dying or getting lost (the school sees why and may retry);
    what its dead attempts left in storage goes (the keys the order still records stay)."""
    with tenant_scope(Tenant(school_id=event.school_id)):
        row = db.session.execute(
            update(PrintOrder)
            .where(PrintOrder.id == event.order_id, PrintOrder.school_id == event.school_id,
                   jobs.takeable(PrintOrder.status, PrintOrder.lease_until, waiting=OrderStatus.SUBMITTED.value,
                                 running=OrderStatus.RENDERING.value, now=now))
            .values(status=OrderStatus.FAILED.value, error=GAVE_UP, lease_until=None)
            .returning(PrintOrder.attempt, PrintOrder.package_key, PrintOrder.pdf_key, PrintOrder.manifest_key)
            .execution_options(synchronize_session=False)).one_or_none()
    if row is None:
        return False
    log.error("batch for order %s given up after %s jobs", event.order_id, event.enqueued_count)
    _sweep(event.school_id, event.order_id, row.attempt + 1,
           keep=frozenset(k for k in (row.package_key, row.pdf_key, row.manifest_key) if k))
    return True
