"""The dashboard's filters, read from a query string: the period, school type and district
(`Filters`) every page takes, and what a list of card facts is narrowed to (`FactQuery`). Bad
values raise `FilterError` with a Polish message for the user."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping

from infra import clock
from infra import inputs
from reports.labels import CHANNELS
from reports.labels import KINDS
from reports.labels import SCHOOL_TYPES
from tenants.registry import holograms
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import SchoolType

EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # the dashboard's periods


class FilterError(OperationError):
    """A filter the dashboard cannot apply; the message is Polish, for the user."""


def school_year_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """1 September – 31 August of the school year `today` is in."""
    start = today.year if today.month >= 9 else today.year - 1
    return dt.date(start, 9, 1), dt.date(start + 1, 8, 31)


def parse_day(value: str, label: str) -> dt.date | None:
    try:
        return inputs.day(value, earliest=EARLIEST, latest=LATEST)
    except inputs.Refused:
        raise FilterError(f"{label}: podaj datę w formacie dd.mm.rrrr (lata 2000–2100).", "invalid_date") from None


@dataclasses.dataclass(frozen=True)
class Filters:
    """The dashboard's filters. A period end left empty is open."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    school_type: str = ""
    district: str = ""
    today: dt.date = dataclasses.field(default_factory=clock.today)

    @classmethod
    def default(cls, today: dt.date | None = None) -> Filters:
        today = today or clock.today()
        start, end = school_year_period(today)
        return cls(start, end, today=today)

    def covers(self, day: dt.date | None) -> bool:
        if day is None:
            return self.date_from is None and self.date_to is None
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)

    def school_years(self) -> tuple[int | None, int | None]:
        """The school years (2025 = 2025/26) the period touches: those a card issued on its first
        and last day serves, under the city's summer cut-over (docs/domain.md §4); None: open."""
        return (holograms.school_year_of(self.date_from) if self.date_from else None,
                holograms.school_year_of(self.date_to) if self.date_to else None)

    def args(self) -> dict[str, str]:
        """The query-string form, period always explicit (an empty end is open)."""
        return {"od": self.date_from.isoformat() if self.date_from else "",
                "do": self.date_to.isoformat() if self.date_to else "",
                "typ": self.school_type, "dzielnica": self.district}

    def describe(self) -> str:
        period = (inputs.format_day(self.date_from) if self.date_from else "…") + "–" + (
            inputs.format_day(self.date_to) if self.date_to else "…")
        parts = [f"okres {period}" if self.date_from or self.date_to else "cały okres"]
        if self.school_type:
            parts.append(f"typ szkoły: {SCHOOL_TYPES.get(self.school_type, self.school_type)}")
        if self.district:
            parts.append(f"dzielnica: {self.district}")
        return "; ".join(parts)


def parse_filters(args: Mapping[str, str], today: dt.date | None = None) -> Filters:
    """Filters from a query string: `od`, `do` (rrrr-mm-dd or dd.mm.rrrr; both absent: the
    current school year; present but empty: open), `typ` (a school type), `dzielnica`."""
    today = today or clock.today()
    if "od" not in args and "do" not in args:
        start, end = school_year_period(today)
    else:
        start, end = parse_day(args.get("od", ""), "Data „od”"), parse_day(args.get("do", ""), "Data „do”")
    if start and end and start > end:
        raise FilterError("Początek okresu jest późniejszy niż jego koniec.", "invalid_period")
    school_type = (args.get("typ") or "").strip()
    if school_type and school_type not in {t.value for t in SchoolType}:
        raise FilterError("Nieznany typ szkoły.", "invalid_school_type")
    district = " ".join("".join(ch if ch.isprintable() else " " for ch in (args.get("dzielnica") or "")).split())[:100]
    return Filters(start, end, school_type, district, today)


FACT_STATES = {
    "w_obiegu": "ważne (zamówione, w druku, w szkole lub wydane)",
    "dostarczone": "w szkole lub wydane",
    "wydane": "wydane",
    "dostawa": "dostarczone przez drukarnię",
    "zepsute": "zepsute",
    "odrzucone": "odrzucone przy druku",
    "oplacone": "duplikaty z opłatą",
    "ocenione": "z oceną terminowości",
    "terminowe": "dostarczone w terminie",
    "spoznione": "spóźnione",
}


@dataclasses.dataclass(frozen=True)
class FactQuery:
    """Which card facts a list shows, beyond `Filters`: a school, a printer (its id, or "wlasna"
    for schools' own printers), a channel, a kind, a state (FACT_STATES), a month of the order
    (rrrr-mm), and the day the period applies to: the order's (`zlozenia`) or the handover's
    (`wydania`)."""

    school_id: int | None = None
    printer: str = ""
    channel: str = ""
    kind: str = ""
    state: str = ""
    month: str = ""
    basis: str = "zlozenia"

    def args(self) -> dict[str, str]:
        values = {"szkola": str(self.school_id or ""), "drukarnia": self.printer, "kanal": self.channel,
                  "rodzaj": self.kind, "stan": self.state, "miesiac": self.month, "wg": self.basis}
        return {k: v for k, v in values.items() if v and not (k == "wg" and v == "zlozenia")}


def parse_fact_query(args: Mapping[str, str]) -> FactQuery:
    def text(name: str) -> str:
        return (args.get(name) or "").strip()

    school = text("szkola")
    if school and inputs.ident(school) is None:
        raise FilterError("Wybierz szkołę z listy.", "invalid_school")
    printer = text("drukarnia")
    if printer and printer != "wlasna" and inputs.ident(printer) is None:
        raise FilterError("Wybierz drukarnię z listy.", "invalid_printer")
    checks = (("kanal", CHANNELS, "Nieznany kanał druku."), ("rodzaj", KINDS, "Nieznany rodzaj legitymacji."),
              ("stan", FACT_STATES, "Nieznany stan legitymacji."), ("wg", ("zlozenia", "wydania"),
                                                                      "Nieznana podstawa okresu."))
    for name, allowed, message in checks:
        if text(name) and text(name) not in allowed:
            raise FilterError(message, "invalid_filter")
    month = text("miesiac")
    if month and not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise FilterError("Miesiąc: podaj w formacie rrrr-mm.", "invalid_month")
    return FactQuery(inputs.ident(school) if school else None, printer, text("kanal"), text("rodzaj"), text("stan"),
                     month, text("wg") or "zlozenia")
