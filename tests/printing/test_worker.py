"""The production worker: `flask legitka worker` forks a work horse per job (rq's Worker), relays
the outbox first, and builds the batch on PostgreSQL from the forked process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy import update

from infra.db import db
from infra.db import utcnow
from printing.models import OutboxEvent
from printing.models import PrintOrder
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.context import unscoped
from tests.portal.test_isolation import school_objects


def test_worker_command_relays_the_outbox_and_builds_the_batch(app, two_schools):
    a = two_schools["a"]
    ids = school_objects(app, a, two_schools["director_a"], two_schools["p1"])
    with app.app_context():
        app.extensions["legitka"].queue.rq.empty()  # Redis lost the job: only the outbox knows
        with unscoped("test: the relay's lease has run out"):
            db.session.execute(update(OutboxEvent).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
            db.session.commit()
    result = app.test_cli_runner().invoke(args=["legitka", "worker", "--burst", "--relay-every", "3600"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == ids["order"]))
        assert order.status == "ready" and order.pdf_sha256
