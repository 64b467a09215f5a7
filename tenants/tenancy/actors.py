"""Who performs an operation: passed into domain code by the view, job or CLI command."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str
    organisation_id: int | None
    request_id: str = ""
    ip: str = ""
    endpoint: str = ""
    client: str = ""  # the API client (its public client_id) that acted, on the printers' API


SYSTEM = Actor(user_id=None, role="system", organisation_id=None, endpoint="job")
