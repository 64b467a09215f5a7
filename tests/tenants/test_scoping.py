"""`tenant_scoped` / `plain_rows`: the ORM safety net's criteria, added to a plain-column select
that runs without the ORM. Checked apart from row-level security: run as a superuser (who
bypasses RLS) the scoped statement alone must keep other tenants' rows out."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select

from reports.models import CardFact
from tenants.tenancy import scoping
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped
from tenants.tenancy.models import Organisation
from tests.conftest import ADMIN_URL
from tests.conftest import DB_NAME
from tests.reports.dashboard_helpers import seeded  # noqa: F401 (the fixture)


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
    """Anywhere but plainly in the FROM list, a tenant table would go unscoped: refused, even
    when the same table is in the FROM list too."""
    from sqlalchemy import exists
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    orders = select(CardFact.order_id).correlate(None)
    cte = select(CardFact.order_id).cte("orders")
    refused = {
        "in a subquery": select(Organisation.id).where(Organisation.id.in_(select(CardFact.school_id))),
        "joined": select(Organisation.id).join(CardFact, CardFact.school_id == Organisation.id),
        "aliased": select(aliased(CardFact).school_id),
        "in FROM and in a subquery": select(CardFact.school_id).where(CardFact.order_id.in_(orders)),
        "in FROM and in a CTE": select(CardFact.school_id).where(CardFact.order_id.in_(select(cte.c.order_id))),
        "in FROM and in EXISTS": select(CardFact.school_id).where(exists(orders.where(CardFact.order_id == 1))),
        "a scalar subquery among the columns": select(
            CardFact.school_id, select(func.count()).select_from(CardFact).correlate(None).scalar_subquery()),
    }
    with app.app_context(), tenant_scope(Tenant(city_id=1)):
        for name, stmt in refused.items():
            with pytest.raises(ValueError, match="outside the plain FROM list"):
                scoping.tenant_scoped(stmt)
                pytest.fail(name)
        # Organisations are the shared directory, not a tenant's: nothing to add, nothing refused,
        # also as the subquery that keeps a city's facts to its current schools.
        directory = select(Organisation.id)
        assert str(scoping.tenant_scoped(directory)) == str(directory)
        schools = select(CardFact.school_id).where(CardFact.school_id.in_(select(Organisation.id)))
        assert "card_facts.city_id" in str(scoping.tenant_scoped(schools))
