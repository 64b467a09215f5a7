"""Batch attempts under pauses and dropped connections (issue 14), with the real worker on the
test PostgreSQL and Redis: an attempt frozen with SIGSTOP past its lease and resumed after
another finished cannot touch the published package (its files are its own, published only by
the compare-and-set to `ready`, and removed when it loses); `pg_terminate_backend` on the app's
connections while a batch renders brings the order back by itself with a back-off and ends
`ready`; a lasting cause still fails at once with its reason. In-process, a real lock timeout
shows the give-back and, after `MAX_SENDS` jobs, the failure saying when it was retried."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pathlib
import signal
import socket
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from botocore.exceptions import EndpointConnectionError
from botocore.exceptions import ReadTimeoutError
from rq.job import Job
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from infra import jobs
from infra import services
from infra.db import db
from infra.db import utcnow
from infra.storage import NotFound
from infra.storage import S3Storage
from infra.storage import StorageError
from infra.storage import is_unavailable
from printing import fulfilment
from printing import queries as printing_queries
from printing import tasks
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.registry.models import Card
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped
from tests.conftest import DB_NAME
from tests.conftest import PG_HOST
from tests.infra.test_storage import s3_endpoint  # noqa: F401 (the moto server fixture)
from tests.printing.test_fulfilment import director
from tests.printing.test_fulfilment import operator
from tests.printing.test_fulfilment import place_order
from tests.printing.test_retention import versions
from tests.printing.worker_processes import BORN
from tests.printing.worker_processes import assert_one_complete_package
from tests.printing.worker_processes import order_row
from tests.printing.worker_processes import outbox_of
from tests.printing.worker_processes import status_of
from tests.printing.worker_processes import submit
from tests.workers import LEASE_SECONDS
from tests.workers import horses
from tests.workers import wait_for

# A superuser connection to the test database: it may end the app role's backends.
ADMIN_DB_URL = f"postgresql+psycopg://postgres@{PG_HOST}/{DB_NAME}"


def stored_files(app, school_id: int, order_id: int) -> dict[str, str]:
    """Every file stored for the order, by key, with its sha256."""
    root = pathlib.Path(app.config["LOCAL_STORAGE_PATH"])
    folder = root / "schools" / str(school_id) / "orders" / str(order_id)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def job_result(redis, name: str):
    job = Job.fetch(name, connection=redis)
    return job.return_value() if job.get_status() == "finished" else None


# --- SIGSTOP / SIGCONT ------------------------------------------------------------------------


def test_an_attempt_paused_past_its_lease_cannot_touch_the_published_package(app, two_schools, workers, redis,
                                                                             tmp_path):
    """Worker A's work horse is frozen while it renders; its lease lapses, worker B takes the
    order over and publishes it; A resumes, finishes rendering, writes its own attempt's files,
    is refused by the compare-and-set and removes them. The published package is untouched:
    it opens with the stored password, matches its checksum and manifests, and no file of the
    losing attempt remains."""
    a = two_schools["a"]
    cards = 250  # about 0.8 s of rendering here
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], cards)
    first = workers.start("--relay-every", "0.5")
    wait_for(lambda: status_of(app, a, order_id) == "rendering" and horses(first.pid), 60,
             "the batch to start rendering", workers, interval=0.01)
    (horse,) = horses(first.pid)
    os.kill(horse, signal.SIGSTOP)
    try:
        paused = order_row(app, a, order_id)
        assert paused.status == "rendering" and paused.attempt == 1, "the batch ended before the pause: more cards"
        second = workers.start("--relay-every", "0.5")
        wait_for(lambda: status_of(app, a, order_id) == "ready", 90, "worker B to publish the order", workers)
        published = stored_files(app, a, order_id)
        assert order_row(app, a, order_id).attempt == 2
    finally:
        os.kill(horse, signal.SIGCONT)
    (event,) = outbox_of(app, order_id)
    assert wait_for(lambda: job_result(redis, tasks.job_id(event, 1)), 90, "the resumed attempt to end",
                    workers) == "superseded"
    workers.stop(second)
    workers.stop(first)

    order = assert_one_complete_package(app, a, order_id, cards, tmp_path)
    assert order.attempt == 2 and "/attempt-2/" in order.package_key
    assert stored_files(app, a, order_id) == published  # not a byte of the winner's files changed
    assert job_result(redis, tasks.job_id(event, 2)) == "ready"


@pytest.fixture
def s3_app(app, s3_endpoint):  # noqa: F811
    """The test app storing files in a versioned bucket of its own on moto's S3 server (ids
    restart with every test: a shared bucket would mix this test's files with another's)."""
    storage = S3Storage(f"legitka-attempts-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint,
                        region="eu-central-1", access_key="testing", secret_key="testing")
    storage.ensure_bucket(versioned=True)
    registered = app.extensions["legitka"]
    local, registered.storage = registered.storage, storage
    yield app, storage
    registered.storage = local


def test_publishing_removes_every_version_of_what_earlier_attempts_left(s3_app, two_schools):
    """On a versioned bucket: an order built (attempt 1), declined and redirected; attempt 2
    died after writing its files (twice: two versions each), and files lie under the shared
    keys older code wrote. Attempt 3 publishes, then removes all of those, every version, so
    only the published files remain for retention to purge."""
    app, storage = s3_app
    a, p1, p2 = two_schools["a"], two_schools["p1"], two_schools["p2"]
    order_id = place_order(app, two_schools, count=1)
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        fulfilment.reject(operator(p1), printing_queries.get_printer_order(order_id), "Awaria maszyny")
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        fulfilment.redirect(director(two_schools), printing_queries.get_school_order(order_id), p2)
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id).values(
            status="rendering", attempt=2, lease_until=utcnow() - dt.timedelta(seconds=1)))  # attempt 2 died
        db.session.commit()
        dead = [*tasks.attempt_keys(a, order_id, 2).values(), *tasks.attempt_keys(a, order_id, None).values()]
    for key in dead:
        for _ in range(2):
            storage.put(key, b"left behind", "application/octet-stream")
    prefix = f"schools/{a}/orders/{order_id}/"
    assert len(versions(storage, prefix)) == 2 + 2 * len(dead)  # attempt 1's package and manifest, then these

    with app.app_context():
        services.queue().rq.empty()
        assert tasks.build_batch(order_id, a) == "ready"
    order = order_row(app, a, order_id)
    assert order.attempt == 3 and order.status == "ready"
    left = versions(storage, prefix)
    assert order.pdf_key is None  # the card PDF is in the package only (docs/security.md T3.19)
    assert sorted(v["Key"] for v in left) == sorted([order.manifest_key, order.package_key])
    assert all("Size" in v for v in left)  # versions, not delete markers
    assert hashlib.sha256(storage.get(order.package_key)).hexdigest() == order.package_sha256


# --- dropped database connections -------------------------------------------------------------


@pytest.fixture
def admin_db():
    engine = create_engine(ADMIN_DB_URL, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def terminate_app_backends(admin_db) -> int:
    """End every backend of the app's role in the test database (the workers', the relay's and
    this test's own pooled ones); returns how many."""
    with admin_db.connect() as conn:
        return len(conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename = 'legitka_app' AND pid <> pg_backend_pid()")).all())


def test_dropped_connections_while_rendering_end_ready_without_a_click(app, two_schools, workers, redis,
                                                                       tmp_path, admin_db):
    """`pg_terminate_backend` on the app's connections 0.05–0.4 s into rendering: the attempt
    gives the order back (it never becomes `failed`), the relay sends it again after the
    back-off, and it ends `ready` with one complete package, each within a bounded time."""
    a = two_schools["a"]
    cards = 400  # about 1.2 s of rendering here (100 take 0.4–0.6 s)
    proc = workers.start("--relay-every", "0.3")
    for n, offset in enumerate((0.05, 0.15, 0.25, 0.4)):
        order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], cards,
                          born=BORN + dt.timedelta(days=n))
        wait_for(lambda order_id=order_id: status_of(app, a, order_id) == "rendering", 60,
                 "the batch to start rendering", workers, interval=0.01)
        time.sleep(offset)
        assert terminate_app_backends(admin_db) >= 1
        hit = order_row(app, a, order_id)
        assert hit.status == "rendering", f"the batch ended {offset} s in, before the fault: more cards"
        seen = set()

        def settled(order_id=order_id, seen=seen):
            status = status_of(app, a, order_id)
            seen.add(status)
            return status in ("ready", "failed") and status

        assert wait_for(settled, 10 * LEASE_SECONDS, "the order to come back and finish", workers) == "ready"
        assert "failed" not in seen
        order = assert_one_complete_package(app, a, order_id, cards, tmp_path)
        assert order.attempt >= 2, "the fault did not hit the batch"
        (event,) = outbox_of(app, order_id)
        assert event.enqueued_count == order.attempt  # each try was sent by the relay, none by a person
    workers.stop(proc)
    assert "given back after a transient error" in workers.output()


def test_a_lasting_cause_still_fails_at_once_with_its_reason(app, two_schools, workers, redis):
    """A missing photo is not retried: the first attempt fails the order with its reason and
    leaves no file behind."""
    a = two_schools["a"]
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], 1)
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        card = db.session.scalar(select(Card).where(Card.order_id == order_id))
        services.storage().delete(card.pupil.photo_key)
    workers.burst()
    order = order_row(app, a, order_id)
    assert order.status == "failed" and order.attempt == 1
    assert order.error == "Brak zdjęcia u 1 ucznia w zamówieniu."
    assert stored_files(app, a, order_id) == {}
    (event,) = outbox_of(app, order_id)
    assert event.done_at is not None and event.enqueued_count == 1


# --- a real lock timeout, in-process ------------------------------------------------------------


@pytest.fixture
def lock_timeout(app, admin_db):
    """The app role's connections to the test database time out after 300 ms waiting for a lock
    (a fresh pool picks the setting up); reset afterwards."""
    with admin_db.connect() as conn:
        conn.execute(text(f"ALTER ROLE legitka_app IN DATABASE {DB_NAME} SET lock_timeout = '300ms'"))
    with app.app_context():
        db.engine.dispose()
    yield
    with admin_db.connect() as conn:
        conn.execute(text(f"ALTER ROLE legitka_app IN DATABASE {DB_NAME} RESET lock_timeout"))
    with app.app_context():
        db.engine.dispose()


def build_while_cards_are_locked(app, admin_db, order_id: int, school_id: int) -> str:
    """Run the batch job while another session holds the cards table: the job's read of the
    cards hits the lock timeout, a transient error."""
    with admin_db.connect() as conn:
        conn.execute(text("BEGIN"))
        conn.execute(text("LOCK TABLE cards IN ACCESS EXCLUSIVE MODE"))
        try:
            with app.app_context():
                return tasks.build_batch(order_id, school_id)
        finally:
            conn.execute(text("ROLLBACK"))


def test_a_transient_error_gives_the_order_back_then_fails_readably_after_max_sends(app, two_schools, redis,
                                                                                   admin_db, lock_timeout):
    a = two_schools["a"]
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], 1)
    with app.app_context():
        services.queue().rq.empty()  # this test runs the job itself
    before = utcnow()
    assert build_while_cards_are_locked(app, admin_db, order_id, a) == "retry"
    order = order_row(app, a, order_id)
    assert order.status == "rendering" and order.attempt == 1 and order.error == ""
    with app.app_context():
        delay = tasks.retry_delay(1, tasks._retry_base())
    assert before + delay <= order.lease_until <= utcnow() + delay  # the relay sends it again then
    assert stored_files(app, a, order_id) == {}
    with app.app_context():
        assert tasks.relay_outbox(reconcile=True) == 0  # not before the back-off has passed
        assert tasks.relay_outbox(order.lease_until + dt.timedelta(seconds=1), reconcile=True) == 1
        services.queue().rq.empty()

    # The last job the outbox allows meets the same passing fault: now the school is told.
    with app.app_context(), unscoped("test: the order's outbox row"):
        db.session.execute(update(OutboxEvent).where(OutboxEvent.order_id == order_id)
                           .values(enqueued_count=jobs.MAX_SENDS))
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id)
                           .values(lease_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    assert build_while_cards_are_locked(app, admin_db, order_id, a) == "failed"
    order = order_row(app, a, order_id)
    assert order.status == "failed" and order.attempt == 2
    assert order.error.startswith(f"Nie udało się przygotować paczki mimo {jobs.MAX_SENDS} automatycznych prób")
    assert "Błąd wewnętrzny" not in order.error
    (event,) = outbox_of(app, order_id)
    assert event.done_at is not None
    # Nothing stuck: once the lock is gone the school's retry builds it.
    with app.app_context():
        assert tasks.build_batch(order_id, a) == "skipped"  # failed orders wait for the school


def test_storage_out_of_reach_gives_the_order_back(app, two_schools, redis):
    """The file storage cannot be reached (S3 on a port nobody listens on): a passing fault, so
    the order is given back with a back-off, not failed."""
    a = two_schools["a"]
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], 1)
    with socket.socket() as probe:  # a free port, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = S3Storage("legitka-away", endpoint_url=f"http://127.0.0.1:{port}", access_key="testing",
                            secret_key="testing")
    registered = app.extensions["legitka"]
    local, registered.storage = registered.storage, unreachable
    try:
        with app.app_context():
            services.queue().rq.empty()
            assert tasks.build_batch(order_id, a) == "retry"
    finally:
        registered.storage = local
    order = order_row(app, a, order_id)
    assert order.status == "rendering" and order.error == "" and order.lease_until > utcnow()


# --- the schedule and the words ------------------------------------------------------------------


def test_the_back_off_doubles_from_the_base_up_to_a_cap():
    assert [tasks.retry_delay(n, 15).total_seconds() for n in range(1, 6)] == [15, 30, 60, 120, 240]
    assert tasks.retry_delay(20, 15) == tasks.MAX_RETRY_DELAY
    assert tasks.retry_delay(0, 15).total_seconds() == 15


def test_the_give_up_reason_says_how_often_and_when_in_local_time():
    first = dt.datetime(2026, 12, 5, 9, 2, tzinfo=dt.UTC)
    reason = tasks.gave_up_reason(5, first, first + dt.timedelta(minutes=19))
    assert "mimo 5 automatycznych prób (05.12.2026 10:02–10:21)" in reason  # Warsaw is UTC+1 in December
    assert "Spróbuj ponownie" in reason and len(reason) <= 300
    overnight = tasks.gave_up_reason(5, first, first + dt.timedelta(days=1))
    assert "(05.12.2026 10:02–06.12.2026 10:02)" in overnight


def test_storage_errors_that_may_pass_are_told_from_lasting_ones():
    """An unreachable or throttling S3 is passing (the batch is retried); a missing object or
    refused access is lasting."""
    def client_error(code):
        return ClientError({"Error": {"Code": code, "Message": ""}}, "PutObject")

    assert is_unavailable(EndpointConnectionError(endpoint_url="https://s3.test"))
    assert is_unavailable(ReadTimeoutError(endpoint_url="https://s3.test"))
    assert is_unavailable(client_error("SlowDown")) and is_unavailable(client_error("503"))
    wrapped = StorageError("S3 read failed")
    wrapped.__cause__ = client_error("ServiceUnavailable")
    assert is_unavailable(wrapped)
    assert not is_unavailable(client_error("AccessDenied"))
    assert not is_unavailable(NotFound("k")) and not is_unavailable(OSError("disk full"))
