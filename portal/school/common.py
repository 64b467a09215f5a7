"""What the school's pages share: who may open them, the current school, date parsing, a
pupil's photo as an answer."""

from __future__ import annotations

import datetime as dt

from flask import Response

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


def jpeg_response(data: bytes) -> Response:
    """A pupil's photo as the answer: shown inline, never cached, and sandboxed so that a file
    that is not what it claims can run nothing (docs/security.md T2.12)."""
    response = Response(data, mimetype="image/jpeg")
    response.headers["Content-Disposition"] = 'inline; filename="photo.jpg"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store, private"
    return response
