"""Numbers and dates as people type them and clients send them, read without surprises: whole
numbers, amounts, dates and ids within stated bounds (which characters text may hold: infra.text).

Every reader takes any text (or None) and either returns a value within its bounds or raises
`Refused` (a `ValueError`). Nothing else escapes: not the `ValueError` Python raises for an int
of more than 4,300 digits, not `decimal.InvalidOperation` for `1e309` or 40 nines quantized to
grosze, not an infinite or NaN amount, not a date in year 1 or 9999 that later arithmetic
overflows, not an id that PostgreSQL's bigint or SQLite's INTEGER cannot hold. Only ASCII
digits count as digits ("²".isdigit() is True and int("²") fails; "٣" would be read as 3).

Callers turn `Refused` into their own message: a Polish `OperationError`, a JSON error with a
code, or "ignore the filter". The text is bounded before any conversion, so a 1 MB value costs
one regular-expression match.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP
from decimal import Decimal

BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint; SQLite's INTEGER is the same 64 bits
MAX_AMOUNT = Decimal("999999999999999.99")  # what `amount` can read at all: 15 digits before the separator
EARLIEST = dt.date(1900, 1, 1)  # no pupil, agreement or delivery in this product is older
LATEST = dt.date(2099, 12, 31)  # nor further ahead; years beyond would overflow date arithmetic

# Spaces people type inside numbers ("1 234,50", a no-break or thin space from a spreadsheet).
_SPACES = re.compile(r"[ \u00a0\u2007\u202f]")
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL = re.compile(r"([+-]?)([0-9]{1,15})(?:[.,]([0-9]{1,10}))?")
_DAY_DOTTED = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_DAY_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MAX_TEXT = 40  # longer than any number or date a person types; anything longer is refused unread


class Refused(ValueError):
    """The text is not a value within the bounds; the message is for logs, not for users."""


def _text(value) -> str:
    text = "" if value is None else str(value)
    if len(text) > _MAX_TEXT:
        raise Refused("too long")
    return _SPACES.sub("", text.strip())


def whole(value, *, low: int, high: int) -> int:
    """An integer from `low` to `high` written with ASCII digits (spaces between digits ignored)."""
    text = _text(value)
    if not _WHOLE.fullmatch(text):
        raise Refused("not a whole number")
    number = int(text)
    if not low <= number <= high:
        raise Refused("out of range")
    return number


def whole_or_none(value, *, low: int, high: int) -> int | None:
    """`whole`, or None for empty or refused text: for filters, where a bad value is ignored."""
    try:
        return whole(value, low=low, high=high)
    except Refused:
        return None


def ident(value) -> int | None:
    """A row id sent by a form or a query (1 … bigint's maximum), or None: an id no row can have
    is the same as an id of no row, and a lookup must not overflow the database's integer."""
    return whole_or_none(value, low=1, high=BIGINT_MAX)


def amount(value, *, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """A decimal as typed ("1 234,50", "1234.5", "-3"): no exponent, no NaN or infinity, at most
    15 digits before the separator and 10 after, rounded half up to `places` decimals (the
    accountants' rule), then from `low` to `high` inclusive."""
    match = _DECIMAL.fullmatch(_text(value))
    if not match:
        raise Refused("not an amount")
    sign, units, fraction = match.groups()
    # At most 25 significant digits: quantizing stays within the default context's 28.
    number = Decimal(f"{sign}{units}.{fraction or '0'}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not low <= number <= high:
        raise Refused("out of range")
    return number


def day(value, *, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.date | None:
    """A date typed as dd.mm.rrrr or sent by a date input as rrrr-mm-dd; None for empty text;
    `Refused` for anything else, a day that does not exist (31.02) or one outside the bounds."""
    text = _text(value)
    if not text:
        return None
    if match := _DAY_DOTTED.fullmatch(text):
        d, m, y = (int(g) for g in match.groups())
    elif match := _DAY_ISO.fullmatch(text):
        y, m, d = (int(g) for g in match.groups())
    else:
        raise Refused("not a date")
    try:
        result = dt.date(y, m, d)
    except ValueError:
        raise Refused("no such day") from None
    if not earliest <= result <= latest:
        raise Refused("out of range")
    return result
