"""The production worker: `flask legitka worker` forks a work horse per job (rq's Worker), relays
the outbox first, and builds the batch on PostgreSQL from the forked process. The relay is also
the reconciler: it sends again what Redis lost or a dead worker left (test_worker_faults.py runs
the real process under SIGKILL and FLUSHDB)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy import update

from infra import jobs
from infra import services
from infra.db import db
from infra.db import utcnow
from printing import tasks
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped
from tests.portal.test_isolation import school_objects


def test_worker_command_relays_the_outbox_and_builds_the_batch(app, two_schools):
    a = two_schools["a"]
    ids = school_objects(app, a, two_schools["director_a"], two_schools["p1"])
    with app.app_context():
        services.queue().rq.empty()  # Redis lost the job: only the outbox knows
    result = app.test_cli_runner().invoke(args=["legitka", "worker", "--burst", "--relay-every", "3600"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == ids["order"]))
        assert order.status == "ready" and order.pdf_sha256


def _event(app, order_id) -> OutboxEvent:
    with app.app_context(), unscoped("test: one order's outbox row"):
        event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.order_id == order_id))
        db.session.expunge(event)
        return event


def _set_order(app, school_id, order_id, **values) -> None:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id).values(**values))
        db.session.commit()


def _order(app, school_id, order_id) -> PrintOrder:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        order = db.session.get(PrintOrder, order_id)
        db.session.expunge(order)
        return order


def test_the_relay_leaves_a_waiting_job_alone(app, two_schools):
    """Relaying again while the job waits in the queue sends nothing twice; a lease held by a
    working worker is respected too; a request's relay only sends what was never sent."""
    a = two_schools["a"]
    order_id = school_objects(app, a, two_schools["director_a"], two_schools["p1"])["order"]
    with app.app_context():
        assert tasks.relay_outbox(reconcile=True) == 0 and tasks.relay_outbox(reconcile=True) == 0
        assert services.queue().rq.count == 1
        services.queue().rq.empty()
        assert tasks.relay_outbox() == 0  # recovering lost jobs is the workers' periodic work
    _set_order(app, a, order_id, status="rendering", attempt=1, lease_until=utcnow() + dt.timedelta(minutes=1))
    with app.app_context():
        assert tasks.relay_outbox(reconcile=True) == 0  # a worker holds the lease (and renews it)
        later = utcnow() + dt.timedelta(minutes=2)  # it stopped renewing: it died
        assert tasks.relay_outbox(later, reconcile=True) == 1
    assert _event(app, order_id).enqueued_count == 2


def test_an_order_whose_batch_keeps_dying_fails_readably_instead_of_looping(app, two_schools):
    """T4.4/T4.7: each death mid-batch (lease lapsed, job gone) sends the order again, up to
    MAX_SENDS jobs; then the order is `failed` with a reason the school can read, and retryable."""
    a = two_schools["a"]
    order_id = school_objects(app, a, two_schools["director_a"], two_schools["p1"])["order"]
    for attempt in range(1, jobs.MAX_SENDS + 1):
        _set_order(app, a, order_id, status="rendering", attempt=attempt,
                   lease_until=utcnow() - dt.timedelta(seconds=1))  # the worker died holding it
        with app.app_context():
            services.queue().rq.empty()
            assert tasks.relay_outbox(reconcile=True) == (1 if attempt < jobs.MAX_SENDS else 0)
    order = _order(app, a, order_id)
    assert order.status == "failed" and order.error == tasks.GAVE_UP and order.lease_until is None
    event = _event(app, order_id)
    assert event.done_at is not None and event.enqueued_count == jobs.MAX_SENDS


def test_the_relay_closes_events_of_orders_that_need_no_batch(app, two_schools):
    a = two_schools["a"]
    order_id = school_objects(app, a, two_schools["director_a"], two_schools["p1"])["order"]
    _set_order(app, a, order_id, status="ready")  # finished by another path, event still open
    with app.app_context():
        services.queue().rq.empty()
        assert tasks.relay_outbox(reconcile=True) == 0
    assert _event(app, order_id).done_at is not None
