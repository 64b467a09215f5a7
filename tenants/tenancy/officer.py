"""The data protection officer's (inspektor ochrony danych, IOD) reach: which schools an officer
serves, and the one controlled switch by which the officer reads a served school's records
(docs/dpo.md, "Tenancy").

An officer's membership is either a school's (the officer of that one school) or a city's (an
officer appointed by the city for every school of that city). Row-level security stays as it is:
no policy names the officer. To read a school's access log, orders and agreements the officer's
work switches, one school at a time, to that school's tenant (`reading_school`) — the same rows
its director sees — after checking that the school is served: a school of another city is
`NotFoundError` (a 404). Inside the switch the session may only append access-log rows (the
officer reads, never edits): any other row added, changed or deleted is refused with
`TenantViolation` before it reaches the database.
"""

from __future__ import annotations

import contextlib
import contextvars

from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.db import db
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import AccessLogHead
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.scoping import TenantViolation

_reading: contextvars.ContextVar[int | None] = contextvars.ContextVar("legitka_dpo_reading", default=None)
_APPEND_ONLY = (AccessLog, AccessLogHead)  # the officer's own log rows and their chain's head


def served_schools(organisation: Organisation) -> list[Organisation]:
    """The schools an officer whose membership is in `organisation` serves, by name: the school
    itself, or every school of the city. Organisations carry no personal data and no RLS."""
    if organisation.kind == OrgKind.SCHOOL.value:
        return [organisation]
    if organisation.kind == OrgKind.CITY.value:
        return list(db.session.scalars(select(Organisation).where(
            Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == organisation.id)
            .order_by(Organisation.name, Organisation.id)))
    return []


def served_school(organisation: Organisation, school_id: int | None) -> Organisation:
    """The served school `school_id`, or `NotFoundError` (another city's school, a printer, nothing)."""
    for school in served_schools(organisation):
        if school.id == school_id:
            return school
    raise NotFoundError("no such school for this officer")


@contextlib.contextmanager
def reading_school(organisation: Organisation, school_id: int):
    """Run a block as the served school `school_id` (its RLS applies), read-only but for the
    access-log rows the block writes; they are flushed before the switch ends, so they are
    written as that school's rows in its chain."""
    school = served_school(organisation, school_id)
    db.session.flush()  # what the request wrote before goes as its own tenant, not checked as the officer's
    token = _reading.set(school.id)
    try:
        with tenant_scope(Tenant(school_id=school.id)):
            yield school
            db.session.flush()
    finally:
        _reading.reset(token)


def _refuse_writes(session, flush_context, instances) -> None:
    if _reading.get() is None:
        return
    refused = [obj for obj in session.new if not isinstance(obj, _APPEND_ONLY)]
    refused += list(session.deleted)
    refused += [obj for obj in session.dirty if not isinstance(obj, AccessLogHead) and session.is_modified(obj)]
    if refused:
        raise TenantViolation(f"the data protection officer reads only ({type(refused[0]).__name__})")


event.listen(Session, "before_flush", _refuse_writes)
