"""The reconcilers' round over organisations: one at a time, each as itself.

The rows a reconciler looks after (imports, council reports) are admitted by row-level security
to their own organisation only, never to the system scope, so a round goes organisation by
organisation (docs/reliability.md). What it does for one organisation is the caller's
(`tenants.roster.jobs`, `reports.council_report`; the rules in `infra.jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from infra import jobs
from infra.db import db
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

log = logging.getLogger("legitka.tenants")


def each_organisation(kind: OrgKind, reconcile_here: Callable[[], int], what: str) -> int:
    """Run `reconcile_here()` as each organisation of `kind` (a school or a city); returns the sum
    of what it returned. One organisation's error (its storage, say) is logged (`what`, its id,
    the error's type) and does not stop the others; Redis being down (`infra.jobs.QUEUE_DOWN`)
    stops the round (nothing is recorded for a send that did not happen): the next round tries again."""
    ids = db.session.scalars(select(Organisation.id).where(Organisation.kind == kind.value)).all()
    db.session.commit()
    count = 0
    for org_id in ids:
        with tenant_scope(Tenant(city_id=org_id) if kind == OrgKind.CITY else Tenant(school_id=org_id)):
            try:
                count += reconcile_here()
            except jobs.QUEUE_DOWN:
                db.session.rollback()
                raise
            except Exception as exc:
                db.session.rollback()
                log.error("reconciling %s of %s %s failed: %s", what, kind.value, org_id, type(exc).__name__)
    return count
