"""Background jobs on rq: real Redis when configured, in-process otherwise.

Redis only wakes workers; the database holds every workflow's state (an outbox row is written
in the same transaction as the change that needs the job). Jobs carry ids only, never
personal data, and keep failures for at most seven days (docs/security.md T4.8, T4.9).
"""

from __future__ import annotations

import re

from rq import Queue
from rq.job import Job

FAILURE_TTL = 7 * 24 * 3600
RESULT_TTL = 3600
DEFAULT_QUEUE = "legitka"
# An unreachable Redis host (not merely a stopped server, which refuses at once) must not hold a
# request for the kernel's TCP timeout: the callers that enqueue after a commit give up quickly
# and leave the work to the outbox relay.
CONNECT_TIMEOUT_SECONDS = 2
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # what rq accepts, and never personal data


class JobQueue:
    """Wraps one rq queue. `inline=True` runs each job at once in the caller (embedded default)."""

    def __init__(self, connection, *, inline: bool, name: str = DEFAULT_QUEUE) -> None:
        self.connection = connection
        self.inline = inline
        self.rq = Queue(name, connection=connection, is_async=not inline)

    def enqueue(self, func, *ids: int, job_id: str | None = None, timeout: int = 600):
        """Enqueue `func(*ids)`. Every argument must be an int id (no names, no PESELs)."""
        for value in ids:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError("job arguments must be integer ids")
        if job_id is not None and not _JOB_ID.match(job_id):
            raise ValueError("job ids are letters, digits, '_' and '-' only")
        return self.rq.enqueue(func, *ids, job_id=job_id, job_timeout=timeout,
                               result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL)

    def statuses(self, job_ids: list[str]) -> list[str | None]:
        """rq's status of each job (`queued`, `started`, `finished`, `failed`, …), or None for a job
        Redis no longer has (flushed, evicted, expired). One round trip for the whole list."""
        if not job_ids:
            return []
        pipe = self.connection.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        return [value.decode() if isinstance(value, bytes) else value for value in pipe.execute()]


def build_queue(config) -> JobQueue:
    """A queue on `REDIS_URL`, or an in-process one on fakeredis when none is configured."""
    url = config.get("REDIS_URL")
    if url:
        import redis

        return JobQueue(redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS), inline=False)
    import fakeredis

    return JobQueue(fakeredis.FakeRedis(), inline=True)
