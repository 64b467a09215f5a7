"""Other PostgreSQL sessions for concurrency tests: one that holds row locks while the app works,
and a look at how many of the test database's sessions are waiting for a lock."""

from __future__ import annotations

import contextlib
import time

from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from tenants.tenancy.context import Tenant
from tenants.tenancy.scoping import apply_settings
from tests.conftest import ADMIN_URL
from tests.conftest import DB_NAME


@contextlib.contextmanager
def held(url: str, tenant: Tenant, sql: str, **params):
    """A session of its own (as `url`'s role, under `tenant`) holding the row locks `sql` takes
    (`SELECT … FOR UPDATE`) until the block ends."""
    engine = create_engine(url, poolclass=pool.NullPool)
    conn = engine.connect()
    try:
        with conn.begin():
            apply_settings(conn, tenant)
            assert conn.execute(text(sql), params).first() is not None, "nothing to lock"
            yield
    finally:
        conn.close()
        engine.dispose()


def wait_for_lock_waiters(count: int, timeout: float = 10.0) -> None:
    """Return once `count` sessions of the test database wait for a lock (pg_stat_activity, as
    the superuser who sees every session's wait); fail after `timeout` seconds."""
    admin = create_engine(ADMIN_URL, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + timeout
        with admin.connect() as conn:
            while True:
                waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                                            "AND wait_event_type = 'Lock'"), {"db": DB_NAME}).scalar()
                if waiting >= count:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{waiting} session(s) waiting for a lock, expected {count}")
                time.sleep(0.02)
    finally:
        admin.dispose()
