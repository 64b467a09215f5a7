"""The access log's hash chain (docs/security.md T3.11): per tenant, each row carries the previous
row's hash, so a row altered or removed by a database superuser (who can switch the append-only
trigger off) is found by `flask legitka verify-log`, which names the first broken row."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from infra.db import db
from tenants.tenancy import audit_chain
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.operations import log_access
from tenants.tenancy.operations import log_denied
from tests.conftest import ADMIN_URL
from tests.conftest import DB_NAME


@pytest.fixture
def superuser(database):
    """The PostgreSQL superuser: past every policy, and able to switch the trigger off."""
    engine = create_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def tamper(superuser, sql: str, **params) -> None:
    """What an attacker with the superuser's password does: the append-only trigger off, then the change."""
    with superuser.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text(sql), params)


@pytest.fixture
def logged(app, two_schools):
    """Three rows about school A's pupils (the school, the printer), one about B's, one printer's denied attempt."""
    a, b, p1 = two_schools["a"], two_schools["b"], two_schools["p1"]
    secretary = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=a,
                      request_id="req1", ip="10.0.0.1", endpoint="school.pupil")
    printer = Actor(user_id=None, role="printer_api", organisation_id=p1, client="klient-1")
    with app.app_context():
        with tenant_scope(Tenant(school_id=a)):
            log_access(secretary, "pupil_view", school_id=a, pupil_id=11)
            log_access(secretary, "pupil_view", school_id=a, pupil_id=12)
            db.session.commit()
        with tenant_scope(Tenant(printer_id=p1)):
            log_access(printer, "batch_download", school_id=a, order_id=5)
            log_denied(printer, status=404, route="/api/v1/orders/<int:order_id>", ids={"order_id": 99})
            db.session.commit()
        with tenant_scope(Tenant(school_id=b)):
            log_access(Actor(user_id=two_schools["director_b"], role="school_director", organisation_id=b),
                       "pupil_list", school_id=b, detail="pupils=")
            db.session.commit()
    return two_schools


def chain_rows(superuser, chain: str) -> list:
    with superuser.connect() as conn:
        return conn.execute(text("SELECT * FROM access_log WHERE chain = :c ORDER BY chain_seq"), {"c": chain}).all()


def verify(app):
    with app.app_context():
        return audit_chain.verify()


def test_each_row_hashes_the_previous_one_from_the_tenant_s_genesis(app, logged, superuser):
    a = logged["a"]
    first, second, third = chain_rows(superuser, f"school:{a}")
    # Worked by hand: the genesis is sha256("legitka-access-log-genesis\nschool:<id>"), and each row's
    # hash is sha256(previous hash + "\n" + its columns as a JSON list).
    genesis = hashlib.sha256(f"legitka-access-log-genesis\nschool:{a}".encode()).hexdigest()
    # chain, no., ts, user, role, organisation, school, pupil, order, action, endpoint, request, ip,
    # result, detail, API client
    columns = [f"school:{a}", 1, first.ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
               logged["director_a"], "school_director", a, a, 11, None, "pupil_view", "school.pupil", "req1",
               "10.0.0.1", "ok", "", ""]
    expected = hashlib.sha256((genesis + "\n" + json.dumps(columns, ensure_ascii=False,
                                                           separators=(",", ":"))).encode()).hexdigest()
    assert (first.chain_seq, first.prev_hash, first.row_hash) == (1, genesis, expected)
    assert (second.chain_seq, second.prev_hash) == (2, first.row_hash)
    assert (third.chain_seq, third.prev_hash, third.api_client, third.actor_organisation_id) == (
        3, second.row_hash, "klient-1", logged["p1"])
    # The printer's denied attempt (no school) is in the printer's own chain; B's row in B's.
    (denied,) = chain_rows(superuser, f"printer:{logged['p1']}")
    assert (denied.school_id, denied.action, denied.chain_seq) == (None, "denied", 1)
    assert [r.chain_seq for r in chain_rows(superuser, f"school:{logged['b']}")] == [1]
    assert verify(app) == (3, [])


def test_a_row_altered_by_the_superuser_is_named(app, logged, superuser):
    second = chain_rows(superuser, f"school:{logged['a']}")[1]
    tamper(superuser, "UPDATE access_log SET pupil_id = 13 WHERE id = :id", id=second.id)
    checked, broken = verify(app)
    assert checked == 3 and len(broken) == 1
    assert (broken[0].chain, broken[0].row_id, broken[0].chain_seq) == (f"school:{logged['a']}", second.id, 2)
    assert "altered" in broken[0].reason
    # Rewriting the row's own hash too only moves the fault to the next row.
    tamper(superuser, "UPDATE access_log SET row_hash = :h WHERE id = :id",
           h=hashlib.sha256(b"forged").hexdigest(), id=second.id)
    (fault,) = verify(app)[1]
    assert fault.row_id == second.id  # its hash no longer matches its columns either


def test_a_row_deleted_by_the_superuser_is_named(app, logged, superuser):
    first, second, third = chain_rows(superuser, f"school:{logged['a']}")
    tamper(superuser, "DELETE FROM access_log WHERE id = :id", id=second.id)
    (fault,) = verify(app)[1]
    assert (fault.row_id, fault.chain_seq) == (third.id, 3) and "no. 2 expected" in fault.reason
    # Renumbering the rest does not help: the link to the deleted row's hash is still there.
    tamper(superuser, "UPDATE access_log SET chain_seq = 2 WHERE id = :id", id=third.id)
    (fault,) = verify(app)[1]
    assert fault.row_id == third.id


def test_the_last_row_deleted_is_found_by_the_head(app, logged, superuser):
    last = chain_rows(superuser, f"school:{logged['a']}")[-1]
    tamper(superuser, "DELETE FROM access_log WHERE id = :id", id=last.id)
    (fault,) = verify(app)[1]
    assert fault.row_id is None and "head is at no. 3, the rows end at no. 2" in fault.reason


def test_rows_written_before_the_chain_are_outside_it(app, logged, superuser):
    with superuser.begin() as conn:  # a row as migration 0030 found it: no chain
        conn.execute(text("INSERT INTO access_log (ts, actor_role, school_id, action, endpoint, request_id, ip,"
                          " result, detail) VALUES (now(), 'school_director', :a, 'pupil_view', '', '', '', 'ok', '')"),
                     {"a": logged["a"]})
    assert verify(app) == (3, [])


def test_the_command_reports_the_first_broken_row(app, logged, superuser):
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["legitka", "verify-log"])
    assert intact.exit_code == 0 and "3 łańcuchów" in intact.output
    first = chain_rows(superuser, f"school:{logged['b']}")[0]
    tamper(superuser, "UPDATE access_log SET detail = 'pupils=1' WHERE id = :id", id=first.id)
    broken = runner.invoke(args=["legitka", "verify-log"])
    assert broken.exit_code == 1
    assert f"school:{logged['b']}: row id {first.id} (no. 1): altered" in broken.output


def test_two_transactions_of_one_school_chain_one_after_the_other(app, two_schools, superuser):
    """The first transaction's flush locks the school's head; the second waits for it (seen in
    pg_stat_activity, not timed), then follows on: numbers 1 and 2, one link, nothing forked."""
    a = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=a)
    with app.app_context(), tenant_scope(Tenant(school_id=a)):  # the head exists before the race
        log_access(actor, "pupil_view", school_id=a, pupil_id=1)
        db.session.commit()
    second_done = threading.Event()

    def second():
        with app.app_context(), tenant_scope(Tenant(school_id=a)):
            db.session.execute(text("SET LOCAL lock_timeout = '60s'"))  # a loaded machine may be slow to look
            log_access(actor, "pupil_view", school_id=a, pupil_id=3)
            db.session.commit()
        second_done.set()

    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        log_access(actor, "pupil_view", school_id=a, pupil_id=2)
        db.session.flush()  # numbered 2: the head is locked until this transaction ends
        worker = threading.Thread(target=second)
        worker.start()
        # Autocommit: pg_stat_activity is a snapshot taken once per transaction.
        with superuser.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for _ in range(600):  # until the second transaction waits for the head's lock
                waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                            " AND query LIKE '%access_log_heads%'")).scalar_one()
                if waiting:
                    break
                second_done.wait(0.05)
        assert waiting == 1 and not second_done.is_set()
        db.session.commit()
    worker.join()
    assert [(r.chain_seq, r.pupil_id) for r in chain_rows(superuser, f"school:{a}")] == [(1, 1), (2, 2), (3, 3)]
    assert verify(app) == (1, [])
