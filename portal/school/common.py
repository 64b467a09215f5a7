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


MAX_ID = 2**63 - 1  # the largest BIGINT: ids beyond it exist nowhere and must not reach the database
# A URL converter for ids: a longer number is a 404, not a database error.
ID = f"int(max={MAX_ID})"


def parse_id(value) -> int | None:
    """A row id typed into a form: 1 to 19 digits within BIGINT, else None (never an exception)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
