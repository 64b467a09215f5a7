"""Schema migrations (Alembic) and the privileges of the application's database role.

Migrations run as the owner role; the application connects as a role that owns nothing, is
not superuser and has no BYPASSRLS, so PostgreSQL's row-level security applies to it
(docs/security.md §2.1, T1.1). A migration that moves data sees every tenant's rows: the runner
(`migrations/env.py`) sets `legitka.migration` for its own transaction, which only the owner's
`migration_runner` policies read (T1.16).
"""

from __future__ import annotations

import pathlib

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import pool
from sqlalchemy import text

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


def alembic_config(url: str, metadata=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    if metadata is not None:
        cfg.attributes["target_metadata"] = metadata
    return cfg


def upgrade(owner_url: str, app_url: str | None = None) -> None:
    """Migrate to the newest schema as the owner, then grant the app role what it may do."""
    command.upgrade(alembic_config(owner_url), "head")
    if app_url and make_url(owner_url).get_backend_name() == "postgresql":
        app_role = make_url(app_url).username
        owner_role = make_url(owner_url).username
        if app_role and app_role != owner_role:
            grant_app_role(owner_url, app_role)


def grant_app_role(owner_url: str, app_role: str) -> None:
    """Data privileges only: no DDL, no TRUNCATE, the access log and printers' deletion confirmations
    are insert-and-read only, its chain heads never deleted, transfer requests are never deleted, and
    the breach register is insert-and-read only."""
    role = '"' + app_role.replace('"', '""') + '"'
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"REVOKE ALL ON alembic_version FROM {role}"))
        conn.execute(text(f"REVOKE UPDATE, DELETE ON access_log FROM {role}"))
        # The chain's heads move on (UPDATE) but are never removed (docs/security.md T3.11).
        conn.execute(text(f"REVOKE DELETE ON access_log_heads FROM {role}"))
        # A transfer request is closed by a decision, never deleted (RLS has no DELETE policy either).
        conn.execute(text(f"REVOKE DELETE ON pupil_transfers FROM {role}"))
        # A printer's deletion confirmation is written once and never changed (docs/domain.md §23).
        conn.execute(text(f"REVOKE UPDATE, DELETE ON printer_deletions FROM {role}"))
        # The breach register is insert-only: a change is a new version (docs/privacy-registers.md §3).
        conn.execute(text(f"REVOKE UPDATE, DELETE ON data_breaches, data_breach_versions FROM {role}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    engine.dispose()


def create_roles_and_database(admin_url: str, database: str, owner_role: str, app_role: str) -> None:
    """Create the owner and app roles and the database if missing (needs a superuser URL).

    For a first deployment and for the test suite; idempotent.
    """
    engine = create_engine(admin_url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for role, extra in ((owner_role, ""), (app_role, " NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if not exists:
                conn.execute(text(f'CREATE ROLE "{role}" LOGIN{extra}'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first():
            conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{owner_role}"'))
    engine.dispose()
