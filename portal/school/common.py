"""What the school's pages share: who may open them, the current school, date parsing."""

from __future__ import annotations

import datetime as dt

from infra import inputs
from portal.security import current_membership
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import Role

STAFF = (Role.SCHOOL_DIRECTOR, Role.SCHOOL_SECRETARY)
DIRECTOR = (Role.SCHOOL_DIRECTOR,)


def current_school() -> Organisation:
    return current_membership().organisation


def parse_date(value: str) -> dt.date | None:
    """dd.mm.rrrr (what people type) or rrrr-mm-dd (what date inputs send), 1900–2099; None for
    anything else, empty text included (the caller says which date it needs)."""
    try:
        return inputs.day(value)
    except inputs.Refused:
        return None
