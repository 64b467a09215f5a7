"""What the school promised: the day a card is due and the day the parent must be told it can be
collected (docs/domain.md §20).

- The promise counts from the day the application is complete: the later of the day it was
  submitted and the day the pupil's current photo was accepted (`photo_uploaded_at`). No photo
  yet: no promised day.
- It runs `promise_days` calendar days (a due day on a weekend or holiday moves to the next working
  day) or working days, as the school set it (`set_procedure`).
- An application still open (submitted, approved, ordered) after its promised day is overdue.
- The collection notice is due `notice_working_days` working days after the day of delivery
  (source 003 §3.4).

Days come from `infra.clock` (Warsaw) and `infra.holidays`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from infra import clock
from infra import holidays
from infra import inputs
from tenants.pupils.applications import OPEN_STATUSES
from tenants.pupils.models import Application
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

MAX_PROMISE_DAYS = 120  # four months: no procedure promises more; a longer figure is a typing slip
MAX_NOTICE_DAYS = 30


@dataclasses.dataclass(frozen=True)
class Promise:
    """An application's deadline: from `start` (complete), due on `due`; `overdue` as of today."""

    start: dt.date
    due: dt.date
    overdue: bool


def due_after(school: Organisation, start: dt.date) -> dt.date:
    """The promised day for an application complete on `start`, by the school's procedure."""
    if school.promise_working_days:
        return holidays.add_working_days(start, school.promise_days)
    return holidays.add_days(start, school.promise_days)


def complete_on(application: Application) -> dt.date | None:
    """The day the application became complete (submitted, with a photo), or None without a photo."""
    pupil = application.pupil
    if not pupil.photo_key or pupil.photo_uploaded_at is None:
        return None
    return max(clock.day_of(application.created_at), clock.day_of(pupil.photo_uploaded_at))


def promise_of(school: Organisation, application: Application, today: dt.date | None = None) -> Promise | None:
    """The application's promise, or None while it has no photo. Rejected and issued ones keep
    their dates but are never overdue."""
    start = complete_on(application)
    if start is None:
        return None
    due = due_after(school, start)
    today = today or clock.today()
    return Promise(start=start, due=due, overdue=application.status in OPEN_STATUSES and today > due)


def notice_due(school: Organisation, delivered_at: dt.datetime) -> dt.date:
    """The last day to tell parents that a card delivered at `delivered_at` can be collected."""
    return holidays.add_working_days(clock.day_of(delivered_at), school.notice_working_days)


def set_procedure(actor: Actor, school: Organisation, *, days: str, unit: str, notice: str) -> None:
    """Store the school's promise: `days` (1…120) of `unit` ("calendar" or "working"), and the
    notice within `notice` working days (1…30). `OperationError` in Polish on anything else."""
    try:
        promise_days = inputs.whole(days, low=1, high=MAX_PROMISE_DAYS)
    except inputs.Refused:
        raise OperationError(f"Podaj termin wydania legitymacji: liczbę dni od 1 do {MAX_PROMISE_DAYS}.") from None
    if unit not in ("calendar", "working"):
        raise OperationError("Wybierz, czy termin liczy się w dniach kalendarzowych, czy roboczych.")
    try:
        notice_days = inputs.whole(notice, low=1, high=MAX_NOTICE_DAYS)
    except inputs.Refused:
        raise OperationError(f"Podaj termin powiadomienia rodziców: liczbę dni roboczych od 1 do "
                             f"{MAX_NOTICE_DAYS}.") from None
    school.promise_days = promise_days
    school.promise_working_days = unit == "working"
    school.notice_working_days = notice_days
    record_change(actor, "school_procedure", school_id=school.id,
                  detail=f"promise={promise_days} {unit}; notice={notice_days} working")
