"""Gap-free registry numbers per school and sequence (docs/security.md §2.4, T5.1–T5.3;
docs/domain.md §5).

A school numbers its cards either continuously ({n} never restarts) or per year ({n} starts again
at 1 each calendar year of issue, printed as "{n}/{rok}"). Each sequence has one counter row
(`school_counters`, keyed by school and year; year 0 = continuous). One UPDATE of that row takes
`k` numbers at once; the row lock serialises concurrent submits of the same school, and other
schools never wait. Being part of the caller's transaction, a rollback returns the numbers: none
is ever lost or given twice.

Which sequence a card's number comes from is decided in `assign`, with the school's numbering
settings read under a share lock of the school's row: a change of the setting (`change`, which
takes that row for update) waits for submits in flight and submits wait for it, so no submit
numbers with a setting that has just changed (which could repeat a label within a year).

The counter belongs to the registry (tenants); printing takes numbers from it when an order is
submitted, and a registry import continues numbering after its last entry (`raise_counter`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from sqlalchemy import exists
from sqlalchemy import extract
from sqlalchemy import select
from sqlalchemy import text

from infra.db import db
from tenants.registry.models import Card
from tenants.registry.operations import check_number_format
from tenants.registry.operations import number_label
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

CONTINUOUS_YEAR = 0  # the counter row (and `Card.numbering_year`) of the continuous sequence

_ENSURE = text("INSERT INTO school_counters (school_id, year, last_no) VALUES (:school_id, :year, 0) "
               "ON CONFLICT DO NOTHING")
_TAKE = text("UPDATE school_counters SET last_no = last_no + :k WHERE school_id = :school_id AND year = :year "
             "RETURNING last_no")
# CASE rather than GREATEST/MAX: the same SQL on PostgreSQL and SQLite.
_RAISE = text("UPDATE school_counters SET last_no = CASE WHEN last_no < :at_least THEN :at_least ELSE last_no END "
              "WHERE school_id = :school_id AND year = :year")


class Numbering(enum.StrEnum):
    CONTINUOUS = "continuous"  # 1, 2, … for ever
    YEARLY = "yearly"  # 1/2026, 2/2026, …, then 1/2027 from 1 January


NUMBERING_LABELS = {Numbering.CONTINUOUS.value: "ciągła (numer nigdy nie zaczyna się od nowa)",
                    Numbering.YEARLY.value: "roczna (od 1 w każdym roku kalendarzowym wydania)"}


def _sequence(year: int | None) -> int:
    if year is None:
        return CONTINUOUS_YEAR
    if not 2000 < year < 2200:
        raise ValueError("year out of range")
    return year


def take_numbers(school_id: int, k: int, *, year: int | None = None) -> range:
    """Reserve the next `k` numbers of the school's sequence (`year` None: the continuous one)
    inside the current transaction."""
    if k < 1:
        raise ValueError("k must be positive")
    params = {"school_id": school_id, "year": _sequence(year)}
    db.session.execute(_ENSURE, params)
    last = db.session.execute(_TAKE, {**params, "k": k}).scalar_one()
    return range(last - k + 1, last + 1)


def raise_counter(school_id: int, at_least: int, *, year: int | None = None) -> None:
    """Make the last given number of the school's sequence (`year` None: the continuous one) at
    least `at_least`, never lowering it, inside the current transaction and under the same row
    lock as `take_numbers`: after importing a registry whose last entry is 250, the next card gets
    251 (with `year=2026`: after 250/2026 comes 251/2026)."""
    if at_least < 0:
        raise ValueError("at_least must not be negative")
    params = {"school_id": school_id, "year": _sequence(year)}
    db.session.execute(_ENSURE, params)
    db.session.execute(_RAISE, {**params, "at_least": at_least})


@dataclasses.dataclass(frozen=True)
class Setting:
    """A school's numbering: `mode` applies from the calendar year `from_year`, the other mode
    before it (a change made in a year that already has cards waits for 1 January)."""

    mode: str = Numbering.CONTINUOUS.value
    from_year: int = 0
    number_format: str = "{n}"

    def mode_in(self, year: int) -> str:
        if year >= self.from_year:
            return self.mode
        return Numbering.YEARLY.value if self.mode == Numbering.CONTINUOUS.value else Numbering.CONTINUOUS.value

    def sequence_of(self, issue_date: dt.date) -> int:
        """The counter a card issued on `issue_date` takes its number from: its calendar year (the
        one `{rok}` prints) when the school numbers per year then, else 0."""
        return issue_date.year if self.mode_in(issue_date.year) == Numbering.YEARLY.value else CONTINUOUS_YEAR

    def pending(self, today: dt.date) -> tuple[str, int] | None:
        """A change that waits for a coming year: (mode, year), or None."""
        return (self.mode, self.from_year) if self.from_year > today.year else None


def setting_of(school: Organisation) -> Setting:
    return Setting(school.card_numbering, school.card_numbering_from, school.card_number_format)


def _locked_setting(school_id: int, *, for_update: bool) -> Setting:
    """The school's numbering read from the database (not the session's copy), its row locked:
    shared by submits, exclusive for a change (PostgreSQL; SQLite locks the whole file)."""
    row = db.session.execute(
        select(Organisation.card_numbering, Organisation.card_numbering_from, Organisation.card_number_format)
        .where(Organisation.id == school_id).with_for_update(read=not for_update)).one()
    return Setting(row.card_numbering, row.card_numbering_from, row.card_number_format)


@dataclasses.dataclass(frozen=True)
class Assigned:
    numbers: range
    year: int  # the sequence: 0 continuous, else the calendar year of issue
    labels: list[str]


def assign(school_id: int, k: int, issue_date: dt.date) -> Assigned:
    """The next `k` registry numbers for cards issued on `issue_date`, from the sequence the
    school's setting gives for that year, with their printed labels ({rok} = the same year)."""
    setting = _locked_setting(school_id, for_update=False)
    year = setting.sequence_of(issue_date)
    numbers = take_numbers(school_id, k, year=year or None)
    return Assigned(numbers, year, [number_label(setting.number_format, n, issue_date) for n in numbers])


def _has_cards_in(school_id: int, year: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Card.school_id == school_id,
                                                        extract("year", Card.issue_date) == year))))


def change(actor: Actor, school: Organisation, mode: str, number_format: str, today: dt.date) -> Setting:
    """Set the school's numbering and print format (docs/domain.md §5). A new mode applies at once
    if the school has no card issued this calendar year, else from 1 January next year: a year is
    numbered one way only, so "12/2026" never means two cards. Per-year numbering needs {rok} in
    the format (else "1" would repeat every year)."""
    if mode not in NUMBERING_LABELS:
        raise OperationError("Wybierz numerację ciągłą albo roczną.")
    number_format = check_number_format(number_format)
    current = _locked_setting(school.id, for_update=True)  # waits for submits in flight
    now_mode = current.mode_in(today.year)
    if mode == now_mode:
        # unchanged, or a change waiting for next year called off
        new = Setting(mode, current.from_year if current.mode == mode else today.year, number_format)
    else:
        new = Setting(mode, today.year + 1 if _has_cards_in(school.id, today.year) else today.year, number_format)
    yearly_ahead = Numbering.YEARLY.value in (new.mode_in(today.year), new.mode)
    if yearly_ahead and "{rok}" not in number_format:
        raise OperationError("Przy numeracji rocznej format numeru musi zawierać {rok}, np. {n}/{rok} — "
                             "inaczej numery powtarzałyby się co roku.")
    if new != current:
        school.card_numbering, school.card_numbering_from, school.card_number_format = new.mode, new.from_year, \
            new.number_format
        if (new.mode, new.from_year) != (current.mode, current.from_year):
            record_change(actor, "card_numbering_changed", school_id=school.id,
                          detail=f"mode={new.mode} from={new.from_year}")
        db.session.flush()
    return new
