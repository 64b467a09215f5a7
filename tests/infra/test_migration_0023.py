"""Migration 0023 (docs/domain.md §25) on PostgreSQL and SQLite: existing cards get the template
version in force on their issue date — 21.12.2023 → the original text (poz. 1120), 22.12.2023 and
later → poz. 2653 —, existing duplicates the seed's fee basis, and the fee table its seed."""

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
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils import fees
from tenants.pupils.models import Application
from tenants.pupils.models import DuplicateFee
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.conftest import APP_URL
from tests.conftest import OWNER_URL
from tests.conftest import SUPERUSER_URL
from tests.printing.test_template_orders import draft

ISSUED = {1: dt.date(2023, 12, 21), 2: dt.date(2023, 12, 22), 3: dt.date(2026, 11, 21)}
EXPECTED = {1: "2023-1120", 2: "2023-2653", 3: "2023-2653"}


def test_postgres_backfills_cards_by_issue_date_and_duplicates_basis(app_ctx, two_schools, database):
    school_id, user_id = two_schools["a"], two_schools["director_a"]
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with tenant_scope(Tenant(school_id=school_id)):
        for number in ISSUED:
            order_id = draft(school_id, two_schools["p1"], user_id, "pupil", False, dt.date(2015, 3, number))
            printing_ops.submit_order(actor, db.session.get(PrintOrder, order_id))
        db.session.commit()
    superuser = create_engine(SUPERUSER_URL, poolclass=pool.NullPool)
    with superuser.begin() as conn:
        for number, day in ISSUED.items():
            conn.execute(text("UPDATE cards SET issue_date = :d WHERE number = :n"), {"d": day, "n": number})
        conn.execute(text("UPDATE applications SET kind = 'duplicate', fee_amount = 9 WHERE id = "
                          "(SELECT min(id) FROM applications)"))
    superuser.dispose()

    command.downgrade(alembic_config(OWNER_URL), "0018")
    upgrade(OWNER_URL, APP_URL)  # the owner migrates, the app role gets its privileges on the new table

    with tenant_scope(Tenant(school_id=school_id)):
        versions = dict(db.session.execute(select(Card.number, Card.template_version)).all())
        bases = sorted(db.session.execute(select(Application.kind, Application.fee_basis)).all())
        db.session.commit()
    assert versions == EXPECTED
    assert bases == [("duplicate", fees.SEED_BASIS), ("first", ""), ("first", "")]
    seed = db.session.get(DuplicateFee, 1)
    assert (seed.amount, seed.valid_from, seed.valid_to, seed.basis) == (
        Decimal("9.00"), dt.date(2024, 7, 13), None, fees.SEED_BASIS)


def test_sqlite_backfills_cards_by_issue_date_and_seeds_the_fee(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    command.upgrade(alembic_config(url), "0018")
    engine = create_engine(url, poolclass=pool.NullPool)
    now = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for number, day in ISSUED.items():
            conn.execute(text(
                "INSERT INTO cards (id, school_id, number, pupil_id, application_id, order_id, template_code, "
                "issue_date, valid_until, status, collected_by, created_at) VALUES (:n, 1, :n, 1, :n, 1, 'MEiN-I/2', "
                ":d, :v, 'ordered', '', :now)"), {"n": number, "d": day, "v": dt.date(day.year + 1, 9, 30), "now": now})
        for app_id, kind in ((1, "duplicate"), (2, "first")):
            conn.execute(text(
                "INSERT INTO applications (id, school_id, pupil_id, kind, reason, status, fee_amount, created_by_id, "
                "rejection_reason, created_at) VALUES (:i, 1, 1, :k, '', 'issued', 0, 1, '', :now)"),
                {"i": app_id, "k": kind, "now": now})
    upgrade(url)
    with engine.connect() as conn:
        versions = dict(conn.execute(text("SELECT number, template_version FROM cards")).all())
        bases = dict(conn.execute(text("SELECT kind, fee_basis FROM applications")).all())
        seed = conn.execute(text("SELECT amount, valid_from, valid_to, basis FROM duplicate_fees")).all()
    engine.dispose()
    assert versions == EXPECTED
    assert bases == {"duplicate": fees.SEED_BASIS, "first": ""}
    assert [(Decimal(str(a)), str(f), t, b) for a, f, t, b in seed] == [
        (Decimal("9.00"), "2024-07-13", None, fees.SEED_BASIS)]
