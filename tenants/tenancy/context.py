"""The tenant a piece of work runs for, held in a ContextVar.

A request sets it once from the signed-in membership (`portal.auth`); an rq job sets it from the
ids it was given. Nothing reads it from the client. With no tenant set, tenant-owned data is
invisible (fail closed), both in the ORM safety net (`tenants.tenancy.scoping`) and in PostgreSQL's
row-level security.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging

log = logging.getLogger("legitka.tenancy")


@dataclasses.dataclass(frozen=True)
class Tenant:
    """Who the current work acts for. Exactly one of the ids is set, or `system` for maintenance."""

    school_id: int | None = None
    printer_id: int | None = None
    city_id: int | None = None
    system: bool = False
    # A parent's photo link: no organisation, only the SHA-256 of the token they hold, which
    # opens exactly that link's row (tenants.photos.models.PhotoLink).
    link_hash: str | None = None

    def __post_init__(self) -> None:
        for name in ("school_id", "printer_id", "city_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise ValueError(f"{name} must be a positive int")
        if sum(v is not None for v in (self.school_id, self.printer_id, self.city_id)) > 1:
            raise ValueError("a tenant is one organisation")
        if self.link_hash is not None and (self.school_id or self.printer_id or self.city_id or self.system
                                           or len(self.link_hash) != 64):
            raise ValueError("a link tenant is a bare 64-character token hash")

    def settings(self) -> dict[str, str]:
        """The per-transaction PostgreSQL settings the RLS policies read ('' = unset)."""
        return {
            "app.school_id": str(self.school_id or ""),
            "app.printer_id": str(self.printer_id or ""),
            "app.city_id": str(self.city_id or ""),
            "app.scope": "system" if self.system else "",
            "app.link_hash": self.link_hash or "",
        }


NO_TENANT = Tenant()
_current: contextvars.ContextVar[Tenant] = contextvars.ContextVar("legitka_tenant", default=NO_TENANT)
_unscoped: contextvars.ContextVar[str | None] = contextvars.ContextVar("legitka_unscoped", default=None)


def current_tenant() -> Tenant:
    return _current.get()


def require_school() -> int:
    """The current school's id, or `LookupError` when the work is not acting for a school."""
    school_id = _current.get().school_id
    if school_id is None:
        raise LookupError("no school tenant is set")
    return school_id


def set_tenant(tenant: Tenant) -> contextvars.Token:
    """Set the tenant for the rest of this context (a request); undo with `reset_tenant`."""
    token = _current.set(tenant)
    _on_change(tenant)
    return token


def reset_tenant(token: contextvars.Token) -> None:
    _current.reset(token)
    _on_change(_current.get())


@contextlib.contextmanager
def tenant_scope(tenant: Tenant):
    """Run a block for one tenant (jobs, CLI, tests)."""
    token = set_tenant(tenant)
    try:
        yield tenant
    finally:
        reset_tenant(token)


@contextlib.contextmanager
def unscoped(reason: str):
    """THE escape hatch: the ORM safety net is off inside this block, and it is logged.

    The database keeps enforcing row-level security; only tables whose policy admits the
    `system` scope (the batch and mail outboxes) open up. Use for cross-tenant maintenance, never in a view.
    """
    log.warning("unscoped access: %s", reason)
    token = _unscoped.set(reason)
    tenant_token = set_tenant(Tenant(system=True))
    try:
        yield
    finally:
        reset_tenant(tenant_token)
        _unscoped.reset(token)


def unscoped_reason() -> str | None:
    return _unscoped.get()


# `tenants.tenancy.scoping` registers a hook here so that a tenant set in the middle of an open
# transaction reaches the database at once.
_listeners: list = []


def _on_change(tenant: Tenant) -> None:
    for listener in _listeners:
        listener(tenant)
