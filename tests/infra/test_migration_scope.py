"""Data migrations see every tenant's rows, and nothing else can (docs/security.md T1.16)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from alembic import command
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select
from sqlalchemy import text

from infra.db import db
from infra.migrate import alembic_config
from infra.migrate import upgrade
from printing.models import PrintOrder
from reports import statistics
from reports.models import CardFact
from reports.models import OrderFacts
from reports.models import SchoolStats
from tenants.registry import holograms
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.conftest import APP_URL
from tests.conftest import OWNER_URL

ORDER_COLUMNS = (OrderFacts.order_id, OrderFacts.channel, OrderFacts.printer_id, OrderFacts.submitted_on,
                 OrderFacts.delivered_on, OrderFacts.promised_days, OrderFacts.cards, OrderFacts.cost,
                 OrderFacts.paid, OrderFacts.fees, OrderFacts.live_waiting, OrderFacts.spoiled, OrderFacts.rejected)


def _facts(school_id: int, city_id: int, printer_id: int, director: int, first_serial: str) -> None:
    """Card facts of two orders and a hologram delivery, as the school under its RLS; the summaries
    0008 added stay empty (as after upgrading a database whose refresh had not run yet)."""
    with tenant_scope(Tenant(school_id=school_id)):
        day = dt.date(2025, 9, 1)
        for card_id, order_id, status, fee, rejections, delivered in (
                (1, 10, "handed_over", "0.00", 0, day), (2, 10, "ordered", "9.00", 1, None),
                (3, 11, "spoiled", "0.00", 0, None), (4, 11, "delivered", "0.00", 0, day)):
            db.session.add(CardFact(
                school_id=school_id, city_id=city_id, card_id=card_id, order_id=order_id, channel="printer",
                printer_id=printer_id, kind="first", status=status, submitted_on=day, delivered_on=delivered,
                promised_days=14, cost=Decimal("12.50"), fee=Decimal(fee), print_rejections=rejections))
        db.session.add(SchoolStats(school_id=school_id, city_id=city_id, computed_at=dt.datetime.now(dt.UTC),
                                   hologram_counts={}))
        actor = Actor(user_id=director, role="school_director", organisation_id=school_id)
        holograms.receive(actor, school_year=2025, supplier="PWPW", received_on=day, first=first_serial,
                          last=first_serial[:-1] + "4")
        db.session.commit()


def _upgrade_to_head() -> None:
    """Upgrade as a deployment does (infra.migrate.upgrade): the owner migrates and the app role is
    granted the tables made again (a downgrade past 0020 or 0026 dropped some)."""
    upgrade(OWNER_URL, APP_URL)


def _summaries(school_id: int) -> tuple[list, dict]:
    with tenant_scope(Tenant(school_id=school_id)):
        orders = sorted((tuple(r) for r in db.session.execute(select(*ORDER_COLUMNS))), key=repr)
        counts = db.session.scalar(select(SchoolStats.hologram_counts))
        db.session.commit()
    return orders, counts


def test_a_data_migration_fills_every_schools_summaries(app_ctx, two_schools, database):
    ids = two_schools
    _facts(ids["a"], ids["city"], ids["p1"], ids["director_a"], "HA001")
    _facts(ids["b"], ids["city"], ids["p2"], ids["director_b"], "HB001")
    assert _summaries(ids["a"]) == ([], {}) and _summaries(ids["b"]) == ([], {})
    owner, _tables = database
    with owner.connect() as conn:  # the owner outside the runner: forced RLS shows it nothing
        assert conn.execute(text("SELECT count(*) FROM card_facts")).scalar_one() == 0

    command.downgrade(alembic_config(OWNER_URL), "0013")
    _upgrade_to_head()

    filled = {school: _summaries(ids[school]) for school in ("a", "b")}
    for school in ("a", "b"):
        orders, counts = filled[school]
        assert len(orders) == 4 and sum(o[6] for o in orders) == 4, school  # per order and delivery day
        assert counts == {"2025": {"in_stock": 4}}, school
        # The same as the statistics refresh computes.
        with tenant_scope(Tenant(school_id=ids[school])):
            statistics._rebuild_order_facts(ids[school])
            assert statistics._hologram_counts() == counts
            db.session.commit()
        assert _summaries(ids[school])[0] == orders, school


def test_the_app_role_cannot_use_the_migration_scope(app_ctx, two_schools):
    ids = two_schools
    _facts(ids["a"], ids["city"], ids["p1"], ids["director_a"], "HA001")
    engine = create_engine(APP_URL, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('legitka.migration', 'on', true), "
                              "set_config('app.school_id', :b, true)"), {"b": str(ids["b"])})
            assert conn.execute(text("SELECT count(*) FROM card_facts")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM holograms")).scalar_one() == 0
            assert conn.execute(text("UPDATE school_stats SET hologram_counts = '{}'")).rowcount == 0
        with engine.begin() as conn:  # no tenant at all: still nothing
            conn.execute(text("SET LOCAL legitka.migration = 'on'"))
            assert conn.execute(text("SELECT count(*) FROM card_facts")).scalar_one() == 0
        with engine.connect() as conn:  # nor can it become the owner
            assert conn.execute(text("SELECT pg_has_role(current_user, 'legitka_owner', 'MEMBER')")).scalar_one() \
                is False
    finally:
        engine.dispose()


def test_every_table_under_rls_has_the_migration_policy_for_the_owner_only(database):
    owner, _tables = database
    with owner.connect() as conn:
        rows = conn.execute(text("""
            SELECT c.relname, p.polname IS NOT NULL, coalesce(array_agg(r.rolname) FILTER (WHERE r.rolname IS NOT NULL),
                                                              '{}')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'migration_runner'
            LEFT JOIN pg_roles r ON r.oid = ANY (p.polroles)
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity
            GROUP BY c.relname, p.polname""")).all()
    assert len(rows) > 20
    for name, has_policy, roles in rows:
        assert has_policy and list(roles) == ["legitka_owner"], name


def test_0026_makes_card_costs_exact_shares_of_their_orders(app_ctx, two_schools):
    """10.00 zł over three cards was 3.33 a card (9.99 in all); after 0026 it is 3.34 + 3.33 + 3.33
    (the smaller card id takes the odd grosz), and the order facts say 10.00 (docs/city.md)."""
    ids = two_schools
    with tenant_scope(Tenant(school_id=ids["a"])):
        order = PrintOrder(school_id=ids["a"], city_id=ids["city"], printer_id=ids["p1"], channel="external",
                           status="delivered", card_count=3, total_price=Decimal("10.00"),
                           created_by_id=ids["director_a"])
        db.session.add(order)
        db.session.flush()
        for card_id in (7, 5, 6):
            db.session.add(CardFact(school_id=ids["a"], city_id=ids["city"], card_id=card_id, order_id=order.id,
                                    channel="external", printer_id=ids["p1"], kind="first", status="ordered",
                                    submitted_on=dt.date(2026, 9, 1), cost=Decimal("3.33"), fee=Decimal("0.00")))
        db.session.commit()
        order_id = order.id

    command.downgrade(alembic_config(OWNER_URL), "0026-1")  # just before the rewrite of the cards' costs
    _upgrade_to_head()

    with tenant_scope(Tenant(school_id=ids["a"])):
        costs = dict(db.session.execute(select(CardFact.card_id, CardFact.cost).where(
            CardFact.order_id == order_id)).tuples().all())
        assert costs == {5: Decimal("3.34"), 6: Decimal("3.33"), 7: Decimal("3.33")}
        assert db.session.scalar(select(OrderFacts.cost).where(OrderFacts.order_id == order_id)) == Decimal("10.00")
        assert statistics.card_costs(Decimal("10.00"), [7, 5, 6]) == costs  # as the refresh computes it
        db.session.commit()
