"""The rules every relay and reconciler of rq jobs shares: one home, used by all of them.

Users of these rules: the batch outbox relay (`printing.tasks`), the mail outbox relay
(`tenants.mail.outbox`) and the jobs a user waits for (roster imports and photo ZIPs,
`tenants.roster.jobs` and `tenants.roster.tasks`; council reports, `reports.council_report`). Each keeps
its own table, its own reasons and its own domain rules (the batch's transient back-off through
its lease, the mail's SMTP back-off and `MAX_ATTEMPTS`); what they share lives here:

- `WAITING`: rq's states in which a job will still run;
- `verdict`: the wait / send / give-up decision for a row not finished yet, from its lease, its
  sends and rq's status of its last job (`WAIT`, `SEND`, `GIVE_UP`); a `started` job is trusted
  for a grace (`STARTED_GRACE` unless a relay says otherwise), and `MAX_SENDS` sends bound the tries;
- `job_id`: each send's own rq job id (the kind, the ids, the send's number; ids only), so rq's
  status of the last send tells the relay whether that job is still alive;
- `claim` / `takeable`: the compare-and-set by which a job takes its row (waiting, or running
  with a lapsed lease: a new attempt, leased), and the condition a reconciler gives up under;
- `LeaseKeeper` / `keep_lease`: the side thread renewing an attempt's short lease;
- `send` / `decide` / `reconcile`: how the jobs users wait for are sent (enqueue first, then
  record) and reconciled (the round over organisations is `tenants.tenancy.reconcile`).

The jobs a user waits for (docs/reliability.md): the job's own row is the durable record. A
request commits the row first and only then sends the job, so Redis being down, flushed or
losing a job costs nothing but time. A periodic reconcile, run by every worker next to the
outbox relays, asks `verdict` about each row still `queued` or `running`:

- `WAIT`: a worker holds a live lease on it, or its last job is still waiting in Redis;
- `SEND`: it was never sent (Redis was down at the request), Redis lost its job (flushed,
  evicted), the job ended without finishing it, or the worker running it died (its lease lapsed);
- `GIVE_UP`: it has been sent `MAX_SENDS` times without a result: the row becomes `failed` with
  a Polish reason and its input file is deleted, instead of looping for ever.

A job takes its row by a compare-and-set (`takeable`) that bumps the row's attempt number,
holds a short lease renewed from a side thread (`LeaseKeeper`), and writes its result by a
compare-and-set on that attempt: an attempt that lost its lease (paused, cut off) can no longer
change the row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable
from collections.abc import Sequence

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from infra import services
from infra.db import db
from infra.db import utcnow

log = logging.getLogger("legitka.jobs")

DEFAULT_LEASE_SECONDS = 120  # config JOB_LEASE_SECONDS; renewed every third of it while a job works
MAX_SENDS = 5  # a job sent this often without a result (worker died, job lost) fails the row; no endless loop
# A job rq reports `started` for a row not taken yet is taking it right now, or its worker died before
# it could; sent again only after this long (a row `running` with a lapsed lease is sent again at once).
STARTED_GRACE = dt.timedelta(minutes=11)
# rq states in which the job will still run: nothing to recover.
WAITING = frozenset({"queued", "deferred", "scheduled", "created"})
# What enqueueing raises when Redis cannot be reached: the row stays queued for the reconciler.
QUEUE_DOWN = (RedisError, OSError)

WAIT, SEND, GIVE_UP = "wait", "send", "give_up"


def lease() -> dt.timedelta:
    """How long a job holds its row without renewal (config `JOB_LEASE_SECONDS`)."""
    seconds = float(current_app.config.get("JOB_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)
    return dt.timedelta(seconds=max(seconds, 1.0))


def job_id(kind: str, *ids: int) -> str:
    """The rq job id of one send: `kind`, the row's ids, the send's number last (unique per send,
    ids only), e.g. `import-<id>-<n>`, `batch-<order>-<event>-<n>`."""
    return "-".join([kind, *(str(int(i)) for i in ids)])


def verdict(*, running: bool, lease_until: dt.datetime | None, sends: int, sent_at: dt.datetime | None,
            job: str | None, now: dt.datetime, grace: dt.timedelta = STARTED_GRACE,
            max_sends: int | None = MAX_SENDS) -> str:
    """What a relay does with a row not finished yet: waiting to be taken (`running=False`) or taken
    by a job (`running`, its lease until `lease_until`).

    `sends` jobs were sent for it, the last at `sent_at`; `job` is rq's status of the last one, None
    when Redis does not have it. A `started` job is trusted for `grace` after its send. `max_sends`
    None: the caller bounds the tries itself (the mail outbox counts claims) and never hears `GIVE_UP`."""
    if running and lease_until is not None and lease_until >= now:
        return WAIT  # a worker holds the lease and renews it
    if sends == 0:
        return SEND  # never sent: Redis was down when it was asked for
    if job in WAITING:
        return WAIT  # the job will run and take the row (or find nothing to do)
    if not running and job == "started" and sent_at is not None and sent_at + grace > now:
        return WAIT  # taking the row right now, or its worker died before it could (rq tells late)
    # Redis lost the job, it ended without finishing the row, or the worker running it died.
    return GIVE_UP if max_sends is not None and sends >= max_sends else SEND


def takeable(status, lease_until, *, waiting: str, running: str, now: dt.datetime):
    """The SQL condition of a row a job may take (or a reconciler give up on): `waiting`, or
    `running` whose lease lapsed (the worker holding it died)."""
    return or_(status == waiting, (status == running) & (lease_until < now))


def claim(model, *where, waiting: str, running: str, held: dt.timedelta) -> int | None:
    """Take the row of `model` matching `where` for a new attempt, if it is `takeable`: it becomes
    `running`, its `attempt` goes up by one and it is leased for `held`. Returns the attempt's
    number, or None when there is nothing to take (done, or another attempt holds it). Does not
    commit."""
    now = utcnow()
    return db.session.execute(
        update(model)
        .where(*where, takeable(model.status, model.lease_until, waiting=waiting, running=running, now=now))
        .values(status=running, attempt=model.attempt + 1, lease_until=now + held)
        .returning(model.attempt)).scalar_one_or_none()


class LeaseKeeper:
    """Calls `renew()` every third of `held` from a side thread, in its own app context (so its own
    database session), until the block ends or `renew()` returns False (the attempt no longer
    holds its row). A failed renewal is logged and tried again at the next third."""

    def __init__(self, renew: Callable[[], bool], held: dt.timedelta, name: str) -> None:
        self.app = current_app._get_current_object()
        self.renew, self.held = renew, held
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.held.total_seconds() / 3):
            try:
                with self.app.app_context():
                    held = self.renew()
            except Exception as exc:  # the lease has two more thirds
                log.warning("lease renewal (%s) failed: %s", self.thread.name, type(exc).__name__)
                continue
            if not held:
                return


def renewing() -> bool:
    """Whether a job's lease is renewed from a side thread: on PostgreSQL. On the embedded SQLite the
    job runs in the request, which holds the database (the thread would wait on it): one long lease."""
    return db.session.get_bind().dialect.name == "postgresql"


def keep_lease(renew: Callable[[], bool], held: dt.timedelta, name: str):
    """A `LeaseKeeper` where leases are renewed (`renewing`), else a block that does nothing."""
    return LeaseKeeper(renew, held, name) if renewing() else contextlib.nullcontext()


def _enqueue(row, kind: str, func: Callable, args: tuple, timeout: int) -> None:
    """Enqueue `row`'s next job, then record the send (`sends + 1`, `sent_at`; a compare-and-set on
    `sends`; commits). Raises `QUEUE_DOWN` errors with nothing recorded. On the embedded default
    the job runs here and now."""
    model, row_id, send_no = type(row), row.id, row.sends + 1
    services.queue().enqueue(func, *args, job_id=job_id(kind, row_id, send_no), timeout=timeout)
    db.session.execute(update(model).where(model.id == row_id, model.sends == send_no - 1)
                       .values(sends=send_no, sent_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()


def send(row, kind: str, func: Callable, *args, timeout: int, what: str) -> bool:
    """Send a committed row's next job (`func(*args)`, job id `job_id(kind, row.id, n)`); False when
    the queue is down (the row stays as it is and the reconciler sends it later). Never raises for
    the queue. `what` names the row in the log (ids only)."""
    try:
        _enqueue(row, kind, func, args, timeout)
    except QUEUE_DOWN as exc:
        db.session.rollback()
        log.warning("%s %s: queue unavailable (%s), left to the reconciler", what, row.id, type(exc).__name__)
        return False
    return True


def resend(row, kind: str, func: Callable, *args, timeout: int) -> None:
    """`send` for a reconciler: Redis being down raises (`QUEUE_DOWN`) and stops the round."""
    _enqueue(row, kind, func, args, timeout)


def decide(rows: Sequence, kind: str, now: dt.datetime, *, running: str = "running") -> list[tuple[object, str]]:
    """Each row (with `id`, `status`, `lease_until`, `sends`, `sent_at`) with its `verdict`, reading
    rq's status of each row's last job (`job_id(kind, id, sends)`) in one round trip."""
    sent = [row for row in rows if row.sends]
    last = dict(zip([row.id for row in sent], services.queue().statuses([job_id(kind, row.id, row.sends)
                                                                         for row in sent]), strict=True))
    return [(row, verdict(running=row.status == running, lease_until=row.lease_until, sends=row.sends,
                          sent_at=row.sent_at, job=last.get(row.id), now=now)) for row in rows]


def reconcile(model, kind: str, *, active: Sequence[str], running: str, resend: Callable[[object], None],
              give_up: Callable[[object, dt.datetime], bool]) -> int:
    """One reconcile round over the `active` rows of `model` the current tenant sees: `resend(row)`
    for each `SEND` (it commits: the other rows' locks go, which is fine, see below), `give_up(row,
    now)` for each `GIVE_UP` (True if it failed the row). Returns how many rows were sent or given up;
    commits. On PostgreSQL the rows are read `FOR UPDATE SKIP LOCKED`: two workers' reconcilers never
    handle the same row."""
    now = utcnow()
    stmt = select(model).where(model.status.in_(active)).order_by(model.id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    count = 0
    for row, what in decide(list(db.session.scalars(stmt)), kind, now, running=running):
        if what == SEND:
            resend(row)
            count += 1
        elif what == GIVE_UP and give_up(row, now):
            count += 1
    db.session.commit()
    return count
