"""A forked child (rq's work horse) never speaks on a database connection of its parent: with
`pool_pre_ping` a pooled connection is pinged before any checkout event can refuse it, so the
child must start with an empty pool (infra.db.guard_against_fork)."""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from infra.db import guard_against_fork
from tests.conftest import APP_URL


def test_a_forked_child_leaves_the_parents_pooled_connection_alone(database):
    # An engine of the test's own, set up as the app's (pre-ping, the fork guard), with one pooled
    # connection: which connection the parent gets back does not depend on what ran before.
    engine = create_engine(APP_URL, pool_pre_ping=True, pool_size=1, max_overflow=0)
    guard_against_fork(engine)
    with engine.connect() as conn:
        parent_backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.execute(text("SELECT 'the parent was here'"))
        conn.commit()  # back in the pool, idle; its last statement is the commit

    child = os.fork()
    if child == 0:  # the work horse: one query of its own, then out without running any cleanup
        code = 1
        try:
            with engine.connect() as conn:
                code = 0 if conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != parent_backend else 2
        finally:
            os._exit(code)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    observer = create_engine(APP_URL, poolclass=pool.NullPool)
    with observer.connect() as conn:
        last = conn.execute(text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid"),
                            {"pid": parent_backend}).one()
    observer.dispose()
    assert tuple(last) == ("idle", "COMMIT")  # not the child's ping
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == parent_backend
    engine.dispose()
