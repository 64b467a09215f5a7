"""Denied requests leave a trace (docs/security.md T3.10): the one place the 404 and 403 answers of
the portal and the API are produced (`portal.errors`, `portal.api.errors`) calls `record` — a
tenant object asked for by id that is another tenant's or nobody's (`NotFoundError`, `abort(404)`),
a page of another audience, a missing scope or a lapsed agreement.

The request's own transaction is rolled back first (nothing it did is kept), and the row is written
and committed in a short transaction of its own, in the acting tenant's chain: the route and the ids
from the URL, never personal data, and never whether the id exists elsewhere. Only a signed-in user
with a membership or an API client with a valid token is recorded (an anonymous visitor has no
tenant to write for; unknown URLs match no route and are not recorded).

Flooding: at most `DENIED_ROWS_PER_MINUTE` (30) rows per user (or API client) and clock minute,
counted in Redis; the next one writes a single "denied_capped" row, then nothing more that minute.
Redis being down counts nothing and writes every row (logged): losing the trace is worse than
extra rows. Writing the row never turns the refusal into an error page of its own.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask import g
from flask import request
from redis.exceptions import RedisError

from infra import clock
from infra import services
from infra.db import db
from portal import actions
from portal.security import current_actor
from portal.security import current_membership
from tenants.tenancy import operations

log = logging.getLogger("legitka.portal")


def _actor():
    if request.blueprint == "api":
        return g.get("api_actor")
    return current_actor() if current_membership() is not None else None


def _within_cap(subject: str) -> str | None:
    """"denied" while within the minute's cap, "denied_capped" for the first one past it, else None."""
    cap = int(current_app.config.get("DENIED_ROWS_PER_MINUTE", 30))
    minute = int(clock.utcnow().timestamp() // 60)
    key = f"legitka:denied:{subject}:{minute}"
    try:
        pipe = services.queue().connection.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _expiry = pipe.execute()
    except RedisError:
        log.warning("denied-request counter unavailable; not limiting")
        return "denied"
    count = int(count)
    return "denied" if count <= cap else "denied_capped" if count == cap + 1 else None


def record(status: int) -> None:
    """Write the denied request's row (see the module's docstring); the caller then answers."""
    actor = _actor()
    if actor is None or request.url_rule is None or request.endpoint == "static":
        return
    subject = f"client:{actor.client}" if actor.client else f"user:{actor.user_id}"
    kind = _within_cap(subject)
    if kind is None:
        return
    db.session.rollback()
    try:
        written = operations.log_denied(actor, status=status, route=request.url_rule.rule,
                                        ids=dict(request.view_args or {}), capped=kind == "denied_capped")
        if written:
            actions.commit()
    except Exception as err:  # noqa: BLE001 — the refusal is answered whatever happens to its row
        db.session.rollback()
        log.warning("denied request %s not written to the access log (%s)", g.get("request_id", ""),
                    type(err).__name__)
