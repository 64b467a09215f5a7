"""What the school's pages share: who may open them, the current school, date parsing."""

from __future__ import annotations

import datetime as dt

from portal.security import current_membership
from tenants.models import Organisation
from tenants.models import Role

STAFF = (Role.SCHOOL_DIRECTOR, Role.SCHOOL_SECRETARY)
DIRECTOR = (Role.SCHOOL_DIRECTOR,)


def current_school() -> Organisation:
    return current_membership().organisation


def parse_date(value: str) -> dt.date | None:
    """Accepts dd.mm.rrrr (what people type) and rrrr-mm-dd (what date inputs send)."""
    value = (value or "").strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None
