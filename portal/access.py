"""Who may open what: role checks for handlers, and the actor passed to domain code.

Each audience's blueprint states once who may use it (`guard_blueprint`): every route added to
it is covered without a decorator of its own, so a new route cannot forget the check. A route
that only some of the audience may use (the director's decisions) narrows it with
`require_roles`. Blueprints open to the public (sign-in, a parent's link, the printers' API with
its bearer tokens) are listed with their reason in `PUBLIC_BLUEPRINTS`; a test fails on any other
blueprint without a guard.
"""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user

from portal.extensions import login_manager
from portal.security import current_membership

PUBLIC_BLUEPRINTS = {
    "auth": "sign-in, sign-out, the membership switch and the language: open to everyone",
    "parent": "a parent's photo link: the token in the link is the credential (portal.parent)",
    "api": "the printers' API: OAuth2 bearer tokens checked per request (portal.api)",
    "city_sign_in": "signing in through the city's OpenID Connect provider: before anyone is signed in "
                    "(portal.auth.city_sign_in)",
}


def _refusal(allowed: frozenset[str] | None):
    """None when the signed-in user may go on; otherwise the response (sign-in redirect) or a 404.

    `allowed` None means platform admins only. 404 rather than 403: a page of another audience
    or tenant must not confirm it exists."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if allowed is None:
        if not current_user.is_platform_admin:
            abort(404)
        return None
    membership = current_membership()
    if membership is None or membership.role not in allowed:
        abort(404)
    return None


def guard_blueprint(bp, *roles: str, platform_admin: bool = False) -> None:
    """Every route of `bp` needs a signed-in user whose current membership has one of `roles`
    (or, with `platform_admin`, a platform admin); checked before any of its views runs."""
    allowed = None if platform_admin else frozenset(getattr(r, "value", r) for r in roles)
    bp.before_request(lambda: _refusal(allowed))
    bp.legitka_guard = "platform admin" if platform_admin else ", ".join(sorted(allowed))


def require_roles(*roles: str):
    """One route of a guarded blueprint narrowed to `roles` (e.g. the director's decisions);
    others get 404 (see `_refusal`)."""
    allowed = frozenset(getattr(r, "value", r) for r in roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refused = _refusal(allowed)
            return refused if refused is not None else view(*args, **kwargs)

        return wrapper

    return decorator


