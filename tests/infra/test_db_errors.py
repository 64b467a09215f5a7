"""Passing and lasting database errors (infra.db_errors), raised for real by PostgreSQL: a lock
timeout, a statement timeout, a terminated connection, a serialization failure, and errors that
retrying would not cure."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool
from sqlalchemy import text

from infra.db_errors import is_timeout
from infra.db_errors import is_transient
from tests.conftest import OWNER_URL


@pytest.fixture
def engine(database):
    engine = create_engine(OWNER_URL, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS error_probe (id int PRIMARY KEY, n int)"))
        conn.execute(text("TRUNCATE error_probe"))
        conn.execute(text("INSERT INTO error_probe VALUES (1, 0)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE error_probe"))
    engine.dispose()


def _raised(engine, *statements: str) -> sa_exc.DBAPIError:
    with pytest.raises(sa_exc.DBAPIError) as caught, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return caught.value


def test_a_lock_timeout_is_a_passing_timeout(engine):
    with engine.begin() as holder:
        holder.execute(text("SELECT * FROM error_probe WHERE id = 1 FOR UPDATE"))
        error = _raised(engine, "SET LOCAL lock_timeout = '100ms'", "UPDATE error_probe SET n = 1 WHERE id = 1")
    assert is_timeout(error) and is_transient(error)


def test_a_statement_timeout_is_a_passing_timeout(engine):
    error = _raised(engine, "SET LOCAL statement_timeout = '50ms'", "SELECT pg_sleep(2)")
    assert is_timeout(error) and is_transient(error)


def test_a_terminated_connection_is_passing_but_no_timeout(engine):
    with engine.connect() as victim:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.begin() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa_exc.DBAPIError) as caught:
            victim.execute(text("SELECT 1"))
    assert is_transient(caught.value) and not is_timeout(caught.value)


def test_a_serialization_failure_is_passing(engine):
    """Two serializable transactions that each read what the other writes: one must roll back."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(row_read: int, row_written: int) -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
                conn.execute(text("SELECT sum(n) FROM error_probe"))
                barrier.wait()
                conn.execute(text("INSERT INTO error_probe VALUES (:id, 1)"), {"id": row_written})
                barrier.wait()
                conn.commit()
        except sa_exc.DBAPIError as err:
            errors.append(err)
        except threading.BrokenBarrierError:
            pass

    threads = [threading.Thread(target=work, args=(1, 2)), threading.Thread(target=work, args=(1, 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 1
    assert is_transient(errors[0]) and not is_timeout(errors[0])


def test_errors_that_retrying_would_not_cure_are_lasting(engine):
    duplicate = _raised(engine, "INSERT INTO error_probe VALUES (1, 0)")
    typo = _raised(engine, "SELECT no_such_column FROM error_probe")
    assert not is_transient(duplicate) and not is_transient(typo)
    assert not is_transient(ValueError("not a database error"))
