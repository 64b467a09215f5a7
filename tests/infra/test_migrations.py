"""The migrations build exactly the schema the models describe, on PostgreSQL and on SQLite."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy import pool

import printing.models  # noqa: F401  (registers the tables)
import reports.models  # noqa: F401
import tenants.consultations.models  # noqa: F401
import tenants.mail.models  # noqa: F401
import tenants.photos.models  # noqa: F401
import tenants.privacy.models  # noqa: F401
import tenants.pupils.models  # noqa: F401
import tenants.registry.models  # noqa: F401
import tenants.roster.models  # noqa: F401
import tenants.tenancy.models  # noqa: F401
import tenants.transfers.models  # noqa: F401
from infra.db import Base
from infra.migrate import upgrade


def schema_drift(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_postgres_schema_matches_the_models(database):
    owner, _tables = database
    assert schema_drift(owner) == []


def test_sqlite_schema_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    upgrade(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    assert schema_drift(engine) == []
    engine.dispose()
