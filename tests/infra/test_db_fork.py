"""A forked child (rq's work horse) never speaks on a database connection of its parent: with
`pool_pre_ping` a pooled connection is pinged before any checkout event can refuse it, so the
child must start with an empty pool (infra.db.guard_against_fork)."""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from infra.db import db
from tests.conftest import APP_URL


def test_a_forked_child_leaves_the_parents_pooled_connection_alone(app_ctx):
    parent_backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.execute(text("SELECT 'the parent was here'"))
    db.session.commit()  # back in the pool, idle; its last statement is the commit
    db.session.remove()

    child = os.fork()
    if child == 0:  # the work horse: one query of its own, then out without running any cleanup
        code = 1
        try:
            with db.engine.connect() as conn:
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
    assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() == parent_backend
