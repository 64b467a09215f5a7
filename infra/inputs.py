"""Polish input and output, the one place for both (docs/architecture.md, "Polish input and output;
the pupil field rules"): numbers, amounts and dates as people type them and clients send them,
read without surprises within stated bounds; an e-mail address's rule; and how dates, numbers and
amounts are written for a Polish reader (dd.mm.rrrr, "1 234,50 zł"). Which characters text may
hold: infra.text.

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
# dd.mm.rrrr as people type it, also with - or / (as some spreadsheets export dates) ...
_DAY_DOTTED = re.compile(r"([0-9]{1,2})([./-])([0-9]{1,2})\2([0-9]{4})")
# ... and rrrr-mm-dd as a date input sends it (a spreadsheet may add a midnight time).
_DAY_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T?00:00(?::00)?)?")
_ZL = re.compile(r"zł$", re.IGNORECASE)  # an amount may end with its currency
_MAX_TEXT = 40  # longer than any number or date a person types; anything longer is refused unread


class Refused(ValueError):
    """The text is not a value within the bounds; the message is for logs, not for users.
    `no_such_day`: a date written correctly that the calendar does not have (31.02)."""

    def __init__(self, reason: str, *, no_such_day: bool = False):
        super().__init__(reason)
        self.no_such_day = no_such_day


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
    """A decimal as typed ("1 234,50", "1234.5", "-3", "9,00 zł"): no exponent, no NaN or infinity,
    at most 15 digits before the separator and 10 after, rounded half up to `places` decimals (the
    accountants' rule), then from `low` to `high` inclusive."""
    match = _DECIMAL.fullmatch(_ZL.sub("", _text(value)))
    if not match:
        raise Refused("not an amount")
    sign, units, fraction = match.groups()
    # At most 25 significant digits: quantizing stays within the default context's 28.
    number = Decimal(f"{sign}{units}.{fraction or '0'}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not low <= number <= high:
        raise Refused("out of range")
    return number


def day(value, *, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.date | None:
    """A date typed as dd.mm.rrrr (d.m.rrrr, dd-mm-rrrr and dd/mm/rrrr too) or sent by a date input
    as rrrr-mm-dd; None for empty text; `Refused` for anything else, a day that does not exist
    (31.02: `no_such_day`) or one outside the bounds."""
    text = _text(value)
    if not text:
        return None
    if match := _DAY_DOTTED.fullmatch(text):
        d, _, m, y = match.groups()
        d, m, y = int(d), int(m), int(y)
    elif match := _DAY_ISO.fullmatch(text):
        y, m, d = (int(g) for g in match.groups())
    else:
        raise Refused("not a date")
    try:
        result = dt.date(y, m, d)
    except ValueError:
        raise Refused("no such day", no_such_day=True) from None
    if not earliest <= result <= latest:
        raise Refused("out of range")
    return result


_TIME = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})(?::00)?")


def time_of_day(value) -> dt.time | None:
    """A time of day typed as gg:mm (g:mm and gg.mm too) or sent by a time input as gg:mm[:00];
    None for empty text; `Refused` for anything else or an hour or minute out of range. Which
    instant it names is the caller's business (a day and a zone: docs/privacy-registers.md §2)."""
    text = _text(value)
    if not text:
        return None
    match = _TIME.fullmatch(text)
    if not match:
        raise Refused("not a time")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise Refused("out of range")
    return dt.time(hour, minute)


# --- E-mail addresses ---------------------------------------------------------------------------

MAX_EMAIL = 254  # RFC 5321's limit for a path
# One address: no whitespace, no second @, no list separators or angle brackets (a pasted
# "a@b.pl; c@d.pl" or "Jan <a@b.pl>"), a dot in the domain and a top-level domain of two or more.
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")


def is_email(value) -> bool:
    """Whether `value` is one plausible e-mail address of at most `MAX_EMAIL` characters."""
    text = "" if value is None else str(value)
    return len(text) <= MAX_EMAIL and _EMAIL.fullmatch(text) is not None


# --- Output: how a Polish reader expects to see values ------------------------------------------

NBSP = "\u00a0"  # groups thousands and keeps "zł" with its amount: a line never breaks inside


def format_day(value: dt.date) -> str:
    """dd.mm.rrrr (a datetime: its date as given, no time zone conversion)."""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


MONTHS = ("styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień", "wrzesień",
          "październik", "listopad", "grudzień")
MONTHS_SHORT = ("sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class Month(str):
    """A calendar month in a table, held as "rrrr-mm": it sorts by time, and CSV/XLSX write it so,
    a column a spreadsheet sorts. Where a person reads it (a page, the PDF, a chart) it is written
    by `format_month`: "październik 2026"."""

    __slots__ = ()


def format_month(value: str, *, short: bool = False) -> str:
    """ "2026-10" → "październik 2026" (`short`: "paź 2026", for a chart's axis); other text as it is."""
    match = _MONTH.fullmatch(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return value
    names = MONTHS_SHORT if short else MONTHS
    return f"{names[int(match.group(2)) - 1]} {match.group(1)}"


def format_number(value: int | float | Decimal, places: int = 0) -> str:
    """Thousands grouped by a no-break space, a decimal comma: "20 000", "1 234,5". A whole
    number stays exact however large (not rounded through a float)."""
    if isinstance(value, int) and places == 0:
        return f"{value:,}".replace(",", NBSP)
    return f"{value:,.{places}f}".replace(",", NBSP).replace(".", ",")


def format_amount(value: Decimal | int | float) -> str:
    """An amount without its currency: "1 234,50"."""
    return format_number(Decimal(value), 2)


def format_money(value: Decimal | int | float) -> str:
    """An amount in zł: "1 234,50 zł" (no-break spaces)."""
    return f"{format_amount(value)}{NBSP}zł"


def plural(n: int, one: str, few: str, many: str) -> str:
    """The form of a noun (or phrase) that goes with the whole number `n`, by the Polish rule:
    1 → `one` ("1 karta"); ending in 2–4 but not 12–14 → `few` ("2 karty", "22 karty");
    anything else, 0 included → `many` ("5 kart", "12 kart", "21 kart", "112 kart"). The sign is
    ignored. Only the form is returned; the caller writes the number (format_number).

    English needs no rule of its own: its singular is exactly Polish `one` (n == 1), so a
    translation gives "card" for `one` and "cards" for both `few` and `many`
    (docs/architecture.md, "Polish input and output")."""
    n = abs(int(n))
    if n == 1:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def counted(n: int, one: str, few: str, many: str) -> str:
    """The number and its form: "1 karta", "23 karty", "10 000 kart"."""
    return f"{format_number(int(n))} {plural(n, one, few, many)}"


def format_percent(value: int | float | Decimal, places: int = 1) -> str:
    """A percentage: "92,8 %" (decimal comma, a no-break space before the sign, as Polish
    typography writes it); `value` is already in percent."""
    return f"{format_number(value, places)}{NBSP}%"
