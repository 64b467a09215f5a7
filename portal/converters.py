"""Ids the client sends, in a URL or a form: within PostgreSQL's BIGINT, or no id at all.

A number past BIGINT names no row of ours, and handed to the database it is an error there
("bigint out of range"; SQLite's driver raises OverflowError), so the portal refuses it first:
`<int:...>` in a URL rule is `IdConverter` (a longer number, or digits that are not ASCII, is a
404, like any unknown id) and a form's id goes through `parse_id` (None, which the view answers
with its 422 message) — the same reading as `infra.inputs.ident`, which it is.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from infra.inputs import BIGINT_MAX
from infra.inputs import ident

MAX_ID = BIGINT_MAX
parse_id = ident  # a row id typed into a form: 1 … BIGINT's maximum in ASCII digits, else None (never raises)


class IdConverter(IntegerConverter):
    """Werkzeug's `int`, bounded by BIGINT unless a rule says otherwise, and ASCII digits only
    (werkzeug's `\\d+` also matches "٣", which int() reads as 3: a second address for one row)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max if max is not None else MAX_ID, signed)
