"""Progress bars live in Redis (`infra.progress`) and are a nicety: with Redis down a job still
finishes and its page still shows, without progress."""

from __future__ import annotations

import datetime as dt

from infra import progress
from infra.db import db
from tenants.roster import tasks
from tenants.roster.models import RosterImport
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.conftest import Browser
from tests.helpers import upload_roster
from tests.helpers import vulcan_row


def test_redis_down_neither_fails_an_import_job_nor_its_page(app_on_redis_later, two_schools):
    twin, school = app_on_redis_later, two_schools["a"]  # its Redis is never started
    staff = Browser(twin.test_client())
    assert staff.login("sekretariat.a@test.pl").status_code == 302
    rows = [vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a")]
    import_id = upload_roster(staff, rows)
    assert staff.post(f"/szkola/import/{import_id}/importuj").status_code == 302  # queued, not sent
    page = staff.get(f"/szkola/import/{import_id}")
    assert page.status_code == 200 and "w kolejce" in page.get_data(as_text=True)
    with twin.app_context():
        assert progress.read("import", import_id) is None
        progress.report("import", import_id, 1, 2)  # nothing to write to: nothing happens
        # The job itself (as a worker would run it once Redis is back), reporting progress as it goes.
        assert tasks.apply_roster_import(import_id, school) == "done"
    with twin.app_context(), tenant_scope(Tenant(school_id=school)):
        batch = db.session.get(RosterImport, import_id)
        assert (batch.status, batch.summary["new"], batch.file_key) == ("done", 1, None)
    assert "Import zakończony" in staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
