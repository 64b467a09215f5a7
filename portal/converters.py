"""Ids the client sends, in a URL or a form: within PostgreSQL's BIGINT, or no id at all.

A number past BIGINT names no row of ours, and handed to the database it is an error there
("bigint out of range"), so the portal refuses it first: `<int:...>` in a URL rule is
`IdConverter` (a longer number is a 404, like any unknown id) and a form's id goes through
`parse_id` (None, which the view answers with its 422 message).
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # the largest BIGINT


class IdConverter(IntegerConverter):
    """Werkzeug's `int`, bounded by BIGINT unless a rule says otherwise."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max if max is not None else MAX_ID, signed)


def parse_id(value) -> int | None:
    """A row id typed into a form: 1 to 19 ASCII digits within BIGINT, else None (never raises)."""
    value = value.strip() if isinstance(value, str) else ""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
