"""State changes of tenancy itself: the access log (docs/security.md T3.10) and the record of who
made each change of a legal record (T3.17). Like every operation it flushes with the caller's
transaction and never commits."""

from __future__ import annotations

from infra.db import utcnow
from tenants.tenancy import audit_chain
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import current_tenant
from tenants.tenancy.models import AccessLog


def log_access(actor: Actor, action: str, *, school_id: int | None, pupil_id: int | None = None,
               order_id: int | None = None, result: str = "ok", detail: str = "") -> None:
    """Append one access-log row (docs/security.md T3.10): who saw which pupil's data, when, how.
    `detail` holds ids only (e.g. "transfer=12 to_school=3"), never personal data. The row joins
    its tenant's hash chain (T3.11, `audit_chain.link`); `school_id` None is a printer's or city's
    own row (a denied attempt), chained as that tenant's. An API client that acted is named."""
    row = AccessLog(
        ts=utcnow(), actor_user_id=actor.user_id, actor_role=actor.role, actor_organisation_id=actor.organisation_id,
        school_id=school_id, pupil_id=pupil_id, order_id=order_id, action=action,
        endpoint=actor.endpoint[:100], request_id=actor.request_id[:40], ip=actor.ip[:45], result=result,
        detail=detail, api_client=actor.client[:48],
    )
    chain = audit_chain.chain_for(school_id)
    if chain is None:
        raise LookupError("an access-log row needs a school or an acting tenant")
    row.chain = chain
    audit_chain.append(row)  # numbered and hashed as the session flushes it


def log_denied(actor: Actor, *, status: int, route: str, ids: dict[str, object], capped: bool = False) -> bool:
    """A refused request for a tenant object (docs/security.md T3.10): a 404 for an id that is
    another tenant's or nobody's, or a 403. Written in the acting tenant's own chain (the row must
    not tell anybody whether the id exists elsewhere); `detail` holds the route and the ids from
    the URL, never personal data. False when there is no tenant to write for (signed out, a
    platform admin). `capped`: the actor's last row this minute ("denied_capped", portal.denied).
    The caller owns the transaction (the request's was rolled back)."""
    tenant = current_tenant()
    if audit_chain.chain_for(None, tenant) is None:
        return False
    detail = " ".join([f"status={status}", f"route={route[:200]}",
                       *(f"{k}={str(v)[:40]}" for k, v in sorted(ids.items()))])
    log_access(actor, "denied_capped" if capped else "denied", school_id=tenant.school_id, result="denied",
               detail=detail[:1000])
    return True


def record_change(actor: Actor, action: str, *, school_id: int, pupil_id: int | None = None,
                  order_id: int | None = None, detail: str = "") -> None:
    """Record who changed a legal record (docs/security.md T3.17): a registry entry, a pupil's
    record, an application, an order's state, the school's SIO entries or hologram stock. The row
    goes into the append-only access log (same columns: who, role, organisation, request, when), so
    no later request can rewrite it; `action` names the change ("card_invalidated"), `detail` holds
    ids and codes only. Every function of the domain packages that takes an `actor` and changes
    such a record calls this (or stores `actor.user_id` in a `…_by_id` column of the record)."""
    log_access(actor, action, school_id=school_id, pupil_id=pupil_id, order_id=order_id, detail=detail)
