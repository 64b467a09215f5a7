"""The safety net of jobs a user waits for (roster imports, photo ZIPs, council reports).

The job's own row is the durable record (README, "Reliability"): a request commits the row
first and only then sends the job, so Redis being down, flushed or losing a job costs nothing but
time. A periodic reconcile, run by every worker next to the outbox relay, looks at each row that
is still `queued` or `running` and asks `verdict` what to do:

- `WAIT`: a worker holds a live lease on it, or its last job is still waiting in Redis;
- `SEND`: it was never sent (Redis was down at the request), Redis lost its job (flushed,
  evicted), the job ended without finishing it, or the worker running it died (its lease lapsed);
- `GIVE_UP`: it has been sent `MAX_SENDS` times without a result: the row becomes `failed` with
  a Polish reason and its input file is deleted, instead of looping for ever.

Each send has its own job id (`job_id`: the kind, the row's id and the send's number; ids only),
so rq's status of the last send tells the reconciler whether that job is still alive. A job takes
its row by a compare-and-set (`queued`, or `running` with a lapsed lease) that bumps the row's
attempt number, holds a short lease renewed from a side thread (`LeaseKeeper`), and writes its
result by a compare-and-set on that attempt: an attempt that lost its lease (paused, cut off)
can no longer change the row.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from flask import current_app
from redis.exceptions import RedisError

log = logging.getLogger("legitka.jobs")

DEFAULT_LEASE_SECONDS = 120  # config JOB_LEASE_SECONDS; renewed every third of it while a job works
MAX_SENDS = 5  # a job sent this often without a result (worker died, job lost) fails the row; no endless loop
# A job rq reports `started` for a row still `queued` is taking it right now, or its worker died before
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


def job_id(kind: str, row_id: int, send: int) -> str:
    """The rq job id of the `send`th job for a row: unique per send, ids only."""
    return f"{kind}-{int(row_id)}-{int(send)}"


def verdict(*, running: bool, lease_until: dt.datetime | None, sends: int, sent_at: dt.datetime | None,
            job: str | None, now: dt.datetime) -> str:
    """What the reconciler does with a row still `queued` (`running=False`) or `running`.

    `job` is rq's status of the row's last job (`sends`th), None when Redis does not have it."""
    if running and lease_until is not None and lease_until >= now:
        return WAIT  # a worker holds the lease and renews it
    if sends == 0:
        return SEND  # never sent: Redis was down when it was asked for
    if job in WAITING:
        return WAIT  # the job will run and take the row (or find nothing to do)
    if not running and job == "started" and sent_at is not None and sent_at + STARTED_GRACE > now:
        return WAIT
    # Redis lost the job, it ended without finishing the row, or the worker running it died.
    return GIVE_UP if sends >= MAX_SENDS else SEND


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
