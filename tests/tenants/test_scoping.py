"""`tenant_scoped` / `plain_rows`: the ORM safety net's criteria, added to a plain-column select
that runs without the ORM. Checked apart from row-level security: run as a superuser (who
bypasses RLS) the scoped statement alone must keep other tenants' rows out."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select

from reports.models import CardFact
from tenants import scoping
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.context import unscoped
from tenants.models import Organisation
from tests.conftest import ADMIN_URL
from tests.conftest import DB_NAME
from tests.reports.test_dashboard import seeded  # noqa: F401 (the fixture)


@pytest.fixture
def superuser():
    engine = create_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def _schools(superuser, stmt) -> set[int]:
    with superuser.connect() as conn:
        return {row.school_id for row in conn.execute(stmt)}


def test_the_criteria_keep_other_tenants_out_without_rls(app, seeded, superuser):  # noqa: F811
    stmt = select(CardFact.school_id, CardFact.cost)
    everyone = _schools(superuser, stmt)
    with app.app_context():
        with tenant_scope(Tenant(city_id=seeded.other_city)):
            other_city = _schools(superuser, scoping.tenant_scoped(stmt))
            assert {r.school_id for r in scoping.plain_rows(stmt)} == other_city  # and through the app role
        with tenant_scope(Tenant(school_id=seeded.x)):
            one_school = _schools(superuser, scoping.tenant_scoped(stmt))
        with tenant_scope(Tenant()):
            nobody = _schools(superuser, scoping.tenant_scoped(stmt))
        with unscoped("test: the escape hatch leaves the statement as it is"):
            assert _schools(superuser, scoping.tenant_scoped(stmt)) == everyone
    assert other_city == one_school == {seeded.x} and nobody == set()
    assert len(everyone) > 1


def test_a_tenant_table_outside_the_plain_from_list_is_refused(app):
    in_subquery = select(Organisation.id).where(Organisation.id.in_(select(CardFact.school_id)))
    joined = select(Organisation.id).join(CardFact, CardFact.school_id == Organisation.id)
    with app.app_context(), tenant_scope(Tenant(city_id=1)):
        for stmt in (in_subquery, joined):
            with pytest.raises(ValueError, match="outside the plain FROM list"):
                scoping.tenant_scoped(stmt)
        # Organisations are the shared directory, not a tenant's: nothing to add, nothing refused.
        directory = select(Organisation.id)
        assert str(scoping.tenant_scoped(directory)) == str(directory)
