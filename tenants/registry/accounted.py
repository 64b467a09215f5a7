"""What the strictly accounted forms (druki ścisłego zarachowania) share: holograms and card blanks
are both delivered as serial ranges, kept one row per serial in exactly one state, and destroyed by
a committee with a protocol (docs/domain.md §1, §4, §22). The ledgers themselves are
`tenants.registry.holograms` and `tenants.registry.blanks`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from tenants.tenancy.errors import OperationError

MAX_DELIVERY = 10_000
SERIAL = re.compile(r"^(?P<prefix>.*?)(?P<digits>[0-9]+)$")  # ASCII digits: they are what gets printed


@dataclasses.dataclass(frozen=True)
class Noun:
    """How a ledger's messages name its forms: genitive plural and an example range."""

    many: str  # "hologramów"
    first: str  # "HS 000101"
    last: str  # "HS 000400"


HOLOGRAMS = Noun("hologramów", "HS 000101", "HS 000400")
BLANKS = Noun("blankietów", "BL-000101", "BL-000400")
# A blank's serial as printers report it per card (printing.fulfilment) and as a delivery is taken in.
BLANK_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/-]{0,39}$")


def serial_range(first: str, last: str, noun: Noun = HOLOGRAMS) -> list[str]:
    """"AB 000120" … "AB 000125" → the six serials, zero padding kept. `OperationError` unless
    both share the prefix and the width and the range is 1…MAX_DELIVERY long."""
    a, b = SERIAL.match(first.strip()), SERIAL.match(last.strip())
    if not a or not b or a["prefix"] != b["prefix"] or len(a["digits"]) != len(b["digits"]):
        raise OperationError(f"Podaj pierwszy i ostatni numer seryjny z tej samej serii, np. {noun.first} "
                             f"i {noun.last}.")
    start, end = int(a["digits"]), int(b["digits"])
    if not 0 < end - start + 1 <= MAX_DELIVERY:
        raise OperationError(f"Zakres numerów musi być rosnący i mieć najwyżej {MAX_DELIVERY} {noun.many}.")
    width = len(a["digits"])
    return [f"{a['prefix']}{n:0{width}d}" for n in range(start, end + 1)]


def serials_from(text: str, noun: Noun = HOLOGRAMS) -> list[str]:
    """Serials typed one per line or separated by commas; "A – B" lines are ranges."""
    serials = []
    for part in re.split(r"[\n,;]+", text or ""):
        part = part.strip()
        if not part:
            continue
        bounds = re.split(r"\s+[-–]\s+|\s*[–]\s*", part)
        serials.extend(serial_range(*bounds, noun) if len(bounds) == 2 else [part])
    return serials


def compress(serials: list[str]) -> list[str]:
    """Serials as a protocol lists them: runs of one series as "BL 0001 – BL 0005", others alone.
    ["B1", "B2", "B3", "B7", "X"] → ["B1 – B3", "B7", "X"]."""
    out: list[tuple[str, str, int, str, int]] = []  # (prefix, first, first n, last, last n) of each run
    for serial in sorted(serials, key=_series_key):
        m = SERIAL.match(serial)
        if m and out and out[-1][0] == (m["prefix"], len(m["digits"])) and out[-1][4] + 1 == int(m["digits"]):
            key, first, first_n, _last, _n = out[-1]
            out[-1] = (key, first, first_n, serial, int(m["digits"]))
        else:
            key = (m["prefix"], len(m["digits"])) if m else (serial, -1)
            n = int(m["digits"]) if m else -2
            out.append((key, serial, n, serial, n))
    return [first if first == last else f"{first} – {last}" for _key, first, _f, last, _l in out]


def _series_key(serial: str):
    m = SERIAL.match(serial)
    return (m["prefix"], len(m["digits"]), int(m["digits"])) if m else (serial, -1, -1)


def protocol_fields(held_on: dt.date, committee: str, reason: str) -> tuple[str, str]:
    """A protocol's committee and reason, whitespace collapsed; refused when either is empty or
    the date is in the future."""
    committee, reason = " ".join((committee or "").split()), " ".join((reason or "").split())
    if not committee or not reason:
        raise OperationError("Protokół wymaga składu komisji i powodu.")
    if held_on > clock.today():
        raise OperationError("Data protokołu nie może być z przyszłości.")
    return committee[:300], reason[:300]


def received_on_checked(received_on: dt.date, supplier: str, noun: Noun) -> str:
    """A delivery's supplier, whitespace collapsed; refused when empty or dated in the future."""
    supplier = " ".join((supplier or "").split())
    if not supplier:
        raise OperationError(f"Podaj dostawcę {noun.many}.")
    if received_on > clock.today():
        raise OperationError("Data przyjęcia nie może być z przyszłości.")
    return supplier[:200]


def state_counts(state_column, key, *where) -> dict:
    """{value of `key`: {state: count}} over the rows of `state_column`'s table the current tenant may see."""
    counts: dict = {}
    for value, state, n in db.session.execute(select(key, state_column, func.count()).where(*where)
                                              .group_by(key, state_column)):
        counts.setdefault(value, {})[state] = n
    return counts
