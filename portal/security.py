"""Per-request plumbing: request id, the tenant from the signed-in membership, security headers.

The tenant is resolved once here from the server-side session, never from anything the client
sends (docs/security.md T1.12); handlers read it through `current_membership()`.
"""

from __future__ import annotations

from flask import g
from flask import request
from flask import session
from flask_login import current_user

from infra.crypto import token
from infra.db import db
from portal.auth import sessions
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import reset_tenant
from tenants.tenancy.context import set_tenant
from tenants.tenancy.models import Membership

# No inline script or style anywhere, so the policy needs no 'unsafe-inline' (T2.7).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def current_membership() -> Membership | None:
    return g.get("membership")


def current_actor() -> Actor:
    membership = current_membership()
    user_id = current_user.id if current_user.is_authenticated else None
    role = membership.role if membership else ("platform_admin" if user_id and current_user.is_platform_admin
                                               else "anonymous")
    return Actor(user_id=user_id, role=role, organisation_id=membership.organisation_id if membership else None,
                 request_id=g.get("request_id", ""), ip=request.remote_addr or "", endpoint=request.endpoint or "")


def _bind_tenant() -> None:
    g.request_id = token(9)
    g.membership = None
    if current_user.is_authenticated:
        wanted = session.get("membership_id")  # set by the explicit switch, server-signed
        memberships = g.usable_memberships = sessions.usable_memberships(current_user.memberships)
        g.membership = next((m for m in memberships if m.id == wanted), memberships[0] if memberships else None)
        if g.membership is not None:
            g.organisation = g.membership.organisation  # loaded before the tenant transaction starts
    # End the sign-in lookup's transaction, so every query of the request runs with the tenant set;
    # the user and membership just read stay loaded (expiring them cost four more queries a request).
    session_ = db.session()
    expire, session_.expire_on_commit = session_.expire_on_commit, False
    try:
        session_.commit()
    finally:
        session_.expire_on_commit = expire
    if g.membership is not None:
        g.tenant_token = set_tenant(g.membership.tenant())


def _unbind_tenant(exc) -> None:
    tok = g.pop("tenant_token", None)
    if tok is not None:
        db.session.remove()
        reset_tenant(tok)


def _headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["X-Frame-Options"] = "DENY"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "static":
        h["Cache-Control"] = "no-store"
    if g.get("request_id"):
        h["X-Request-ID"] = g.request_id
    return response


def init_app(app) -> None:
    app.before_request(_bind_tenant)
    app.teardown_request(_unbind_tenant)
    app.after_request(_headers)
