"""Who may open what: role checks for handlers, and the actor passed to domain code."""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user

from portal.extensions import login_manager
from portal.security import current_membership


def require_roles(*roles: str):
    """Signed-in users whose current membership has one of `roles`; others get 404.

    404 rather than 403: a page of another audience or tenant must not confirm it exists.
    """
    allowed = {getattr(r, "value", r) for r in roles}

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            membership = current_membership()
            if membership is None or membership.role not in allowed:
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_platform_admin(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_platform_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
