"""State changes of tenancy itself: the access log (docs/security.md T3.10) and the record of who
made each change of a legal record (T3.17). Like every operation it flushes with the caller's
transaction and never commits."""

from __future__ import annotations

from infra.db import db
from tenants.tenancy.actors import Actor
from tenants.tenancy.models import AccessLog


def log_access(actor: Actor, action: str, *, school_id: int, pupil_id: int | None = None,
               order_id: int | None = None, result: str = "ok", detail: str = "") -> None:
    """Append one access-log row (docs/security.md T3.10): who saw which pupil's data, when, how.
    `detail` holds ids only (e.g. "transfer=12 to_school=3"), never personal data."""
    db.session.add(AccessLog(
        actor_user_id=actor.user_id, actor_role=actor.role, actor_organisation_id=actor.organisation_id,
        school_id=school_id, pupil_id=pupil_id, order_id=order_id, action=action,
        endpoint=actor.endpoint[:100], request_id=actor.request_id[:40], ip=actor.ip[:45], result=result,
        detail=detail,
    ))


def record_change(actor: Actor, action: str, *, school_id: int, pupil_id: int | None = None,
                  order_id: int | None = None, detail: str = "") -> None:
    """Record who changed a legal record (docs/security.md T3.17): a registry entry, a pupil's
    record, an application, an order's state, the school's SIO entries or hologram stock. The row
    goes into the append-only access log (same columns: who, role, organisation, request, when), so
    no later request can rewrite it; `action` names the change ("card_invalidated"), `detail` holds
    ids and codes only. Every function of the domain packages that takes an `actor` and changes
    such a record calls this (or stores `actor.user_id` in a `…_by_id` column of the record)."""
    log_access(actor, action, school_id=school_id, pupil_id=pupil_id, order_id=order_id, detail=detail)
