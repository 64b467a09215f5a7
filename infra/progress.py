"""Progress of long jobs, for progress bars: kept in Redis next to the queue, not in the
database, so a job can report progress from inside one long transaction."""

from __future__ import annotations

from infra import services

TTL = 3600


def _key(kind: str, object_id: int) -> str:
    return f"legitka:progress:{kind}:{int(object_id)}"


def report(kind: str, object_id: int, done: int, total: int) -> None:
    services.queue().connection.set(_key(kind, object_id), f"{int(done)}/{int(total)}", ex=TTL)


def read(kind: str, object_id: int) -> tuple[int, int] | None:
    value = services.queue().connection.get(_key(kind, object_id))
    if not value:
        return None
    done, total = value.decode().split("/")
    return int(done), int(total)
