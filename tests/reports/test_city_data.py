"""The page's memo (reports.city_data `Data`): what a page has read is read once.
The seeded city: tests/reports/dashboard_helpers.py `seeded`."""

from __future__ import annotations

from infra.db import db
from reports import budgets
from reports import city_data
from reports import dashboard
from reports import listings
from reports.filters import Filters
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope


def test_a_page_reads_the_citys_schools_and_budgets_once_and_a_new_page_afresh(app, seeded):
    """What a page has read is kept in the `Data` it passes to every table (reports.city_data), not
    in a request global: one Data reads the city's schools and budgets once, a new one afresh."""
    from sqlalchemy import event

    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def reads() -> tuple[int, int]:
        return (sum("organisations.district" in s and "print_orders" not in s for s in statements),  # city_schools
                sum("FROM city_budgets" in s for s in statements))

    f = Filters(None, None, today=seeded.today)
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            data = city_data.load(seeded.city, f)
            target = budgets.current_target(data.budgets, f.today)
            assert target is not None and budgets.next_target(data.budgets, f.today) is None
            dashboard.rollout(seeded.city, f, data, target)
            dashboard.budget_table(seeded.city, f, data)
            listings.order_list(seeded.city, f, data=data)
            listings.orders_by_school(seeded.city, f, data)
            listings.fact_list(seeded.city, f, limit=5, data=data)
            assert city_data.districts(data) and city_data.computed_range(data)[2] == 0
            assert reads() == (1, 1)
            again = city_data.load(seeded.city, f)
            assert [s.id for s in again.all_schools] == [s.id for s in data.all_schools] and again.budgets
            assert reads() == (2, 2)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
