"""The ORM safety net and the per-transaction database settings for tenancy.

Every ORM SELECT, UPDATE and DELETE gets `tenant_criteria` of each tenant-owned model for the
current tenant (no tenant: no rows). New tenant-owned rows must belong to the current tenant.
`plain_rows` runs a select of plain columns without the ORM's per-row work (a download of
thousands of rows) and adds the same criteria itself.
On PostgreSQL each transaction starts with `set_config(..., true)` for the settings the RLS
policies read; being transaction-local, they cannot leak to the next user of a pooled
connection (docs/security.md §2.2).
"""

from __future__ import annotations

import functools

from flask import has_app_context
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import Table
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql.util import find_tables

from infra.db import Base
from infra.db import db
from tenants.tenancy import context

_SET_CONFIG = text(
    "SELECT set_config('app.school_id', :school_id, true), set_config('app.printer_id', :printer_id, true),"
    " set_config('app.city_id', :city_id, true), set_config('app.scope', :scope, true),"
    " set_config('app.link_hash', :link_hash, true)"
)


class TenantViolation(Exception):
    """Code tried to write a row for a tenant other than the current one."""


def tenant_models() -> list[type]:
    return [m.class_ for m in Base.registry.mappers if hasattr(m.class_, "tenant_criteria")]


def apply_settings(connection, tenant: context.Tenant) -> None:
    if connection.dialect.name != "postgresql":
        return
    s = tenant.settings()
    connection.execute(_SET_CONFIG, {"school_id": s["app.school_id"], "printer_id": s["app.printer_id"],
                                     "city_id": s["app.city_id"], "scope": s["app.scope"],
                                     "link_hash": s["app.link_hash"]})


def _after_begin(session, transaction, connection) -> None:
    apply_settings(connection, context.current_tenant())


def _add_criteria(state) -> None:
    if state.is_column_load or context.unscoped_reason() is not None:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(*_criteria_options(context.current_tenant(), tuple(tenant_models())))


@functools.lru_cache(maxsize=1024)
def _criteria_options(tenant: context.Tenant, models: tuple[type, ...]) -> tuple:
    """The net's options for one tenant and the tenant models mapped so far, built once: they
    are immutable and the same for every statement (building them anew cost ~0.1 ms a query)."""
    return tuple(with_loader_criteria(model, model.tenant_criteria(tenant), include_aliases=True) for model in models)


def tenant_scoped(stmt: Select) -> Select:
    """`stmt` with the current tenant's criteria of each tenant-owned table it selects from, as
    the ORM net would add them. Only a tenant table named plainly in the FROM list can be scoped
    here: one anywhere else (a join, an alias, a subquery, a CTE, EXISTS, a scalar subquery in the
    columns) is refused with ValueError, even when the same table is also in the FROM list."""
    if context.unscoped_reason() is not None:
        return stmt
    owned = {model.__table__: model for model in tenant_models()}
    froms = stmt.get_final_froms()
    nested = [part for part in find_tables(stmt, include_selects=True, include_aliases=True, include_joins=True)
              if part is not stmt and not isinstance(part, Table)]
    nested += [part for part in froms if not isinstance(part, Table)]  # joins
    if any(set(find_tables(part, include_aliases=True)) & owned.keys() for part in nested):
        raise ValueError("tenant_scoped: a tenant table outside the plain FROM list")
    tenant = context.current_tenant()
    return stmt.where(*(owned[f].tenant_criteria(tenant) for f in froms if f in owned))


def plain_rows(stmt: Select) -> list[Row]:
    """The rows of a select of plain columns, tenant-scoped (`tenant_scoped`), as the driver
    gives them: no ORM per-row processing, which costs more than the query for ~10,000 rows."""
    return db.session.connection().execute(tenant_scoped(stmt)).all()


def _check_new_rows(session, flush_context, instances) -> None:
    if context.unscoped_reason() is not None:
        return
    tenant = context.current_tenant()
    for obj in session.new:
        model = type(obj)
        # `__owner_column__` names the column holding the owning school when it is not `school_id`
        # (a transfer request belongs to the school that sends it).
        if getattr(model, "__school_owned__", False) and \
                getattr(obj, getattr(model, "__owner_column__", "school_id")) != tenant.school_id:
            raise TenantViolation(f"{model.__name__} for another school")
        # A holder of blank stock is a school or a printer (tenants.registry.models.HolderOwned).
        if getattr(model, "__holder_owned__", False) and \
                (obj.holder_id is None or obj.holder_id not in (tenant.school_id, tenant.printer_id)):
            raise TenantViolation(f"{model.__name__} for another holder")


def install(db) -> None:
    """Register the listeners once per process; `tenants.tenancy.context` changes reach open transactions."""
    if getattr(install, "_done", False):
        return
    event.listen(Session, "after_begin", _after_begin)
    event.listen(Session, "do_orm_execute", _add_criteria)
    event.listen(Session, "before_flush", _check_new_rows)

    def _push(tenant: context.Tenant) -> None:
        # A tenant set while a transaction is already open (the sign-in lookup ran first)
        # must reach that transaction too.
        if has_app_context() and db.session().in_transaction():
            apply_settings(db.session.connection(), tenant)

    context._listeners.append(_push)
    install._done = True
