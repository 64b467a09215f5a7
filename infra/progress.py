"""Progress of long jobs, for progress bars: kept in Redis next to the queue, not in the
database, so a job can report progress from inside one long transaction.

Progress is a nicety: Redis down, slow or flushed never fails a job nor a page. `report` then
does nothing (logged once per call as a warning, without data) and `read` answers None, which
the page shows as "no progress known yet".
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from infra import services

log = logging.getLogger("legitka.progress")

TTL = 3600
_UNAVAILABLE = (RedisError, OSError)


def _key(kind: str, object_id: int) -> str:
    return f"legitka:progress:{kind}:{int(object_id)}"


def report(kind: str, object_id: int, done: int, total: int) -> None:
    try:
        services.queue().connection.set(_key(kind, object_id), f"{int(done)}/{int(total)}", ex=TTL)
    except _UNAVAILABLE as exc:
        log.warning("progress of %s %s not recorded: %s", kind, int(object_id), type(exc).__name__)


def read(kind: str, object_id: int) -> tuple[int, int] | None:
    try:
        value = services.queue().connection.get(_key(kind, object_id))
    except _UNAVAILABLE as exc:
        log.warning("progress of %s %s not read: %s", kind, int(object_id), type(exc).__name__)
        return None
    if not value:
        return None
    done, total = value.decode().split("/")
    return int(done), int(total)
