"""The school's breach register (rejestr naruszeń ochrony danych osobowych, GDPR art. 33(5)) and
the 72-hour clock of art. 33(1): docs/privacy-registers.md §1–§4.

- A breach is recorded by the school's director (`record`) and changed only by adding a version
  (`amend`): nothing is updated or deleted, and the page shows every version with who wrote it.
- Times are typed as a date and a time of day in Europe/Warsaw (`infra.clock.zone`) and stored as
  UTC instants; an hour the clock skips when summer time starts is refused, an hour it repeats in
  October is read as the first one (the earlier instant: the earlier deadline).
- The deadline for notifying the supervisory authority (Prezes UODO) is the instant of discovery
  plus 72 hours, counted in real hours (`deadline_of`). A report after it needs the reasons for
  the delay. `standing` says, for the current instant of `infra.clock`, how much time is left or
  by how much the deadline was missed.

Reading functions take a list of school ids (docs/privacy-registers.md §5) and return only what
the current tenant sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import utcnow
from tenants.privacy.models import DESCRIPTION_MAX
from tenants.privacy.models import PERSONS_MAX
from tenants.privacy.models import REFERENCE_MAX
from tenants.privacy.models import SHORT_MAX
from tenants.privacy.models import TEXT_MAX
from tenants.privacy.models import BreachDecision
from tenants.privacy.models import DataBreach
from tenants.privacy.models import DataBreachVersion
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import User

NOTIFY_WITHIN = dt.timedelta(hours=72)  # art. 33(1): "not later than 72 hours after having become aware of it"

# The fields of a version a person types, in the order the history lists them, with their labels.
FIELDS = {
    "discovered_at": "Stwierdzenie naruszenia",
    "description": "Opis naruszenia",
    "data_categories": "Kategorie danych",
    "subject_categories": "Kategorie osób",
    "persons_affected": "Przybliżona liczba osób",
    "consequences": "Możliwe konsekwencje",
    "measures": "Zastosowane środki",
    "decision": "Zgłoszenie do Prezesa UODO",
    "reported_at": "Data zgłoszenia",
    "authority_reference": "Znak sprawy UODO",
    "delay_reason": "Przyczyny opóźnienia",
    "not_reportable_reason": "Dlaczego nie podlega zgłoszeniu",
    "subjects_informed_at": "Zawiadomienie osób, których dane dotyczą",
}
DECISIONS = {
    BreachDecision.OPEN.value: "nierozstrzygnięte — jeszcze nie zgłoszono",
    BreachDecision.REPORTED.value: "zgłoszono do Prezesa UODO",
    BreachDecision.NOT_REPORTABLE.value: "nie podlega zgłoszeniu (brak ryzyka)",
}


# --- the clock ----------------------------------------------------------------------------------


def deadline_of(discovered_at: dt.datetime) -> dt.datetime:
    """The last instant a notification is on time: discovery + 72 real hours (docs/privacy-registers.md §2),
    in UTC (arithmetic on a Warsaw datetime would add wall-clock hours across a change of the clocks)."""
    return _aware(discovered_at) + NOTIFY_WITHIN


@dataclasses.dataclass(frozen=True)
class Standing:
    """Where a breach stands against its deadline at one instant.

    `state`: "running" (not reported, deadline ahead), "overdue" (not reported, deadline passed:
    flagged), "on_time" / "late" (reported before or after the deadline), "not_reportable".
    `left` is the time to the deadline while running; `late_by` how far past it (overdue or late)."""

    state: str
    deadline: dt.datetime
    left: dt.timedelta | None = None
    late_by: dt.timedelta | None = None

    @property
    def flagged(self) -> bool:
        return self.state == "overdue"


def standing(version: DataBreachVersion, now: dt.datetime | None = None) -> Standing:
    """The breach's standing at `now` (the clock's instant by default)."""
    now = _aware(now or clock.utcnow())
    deadline = deadline_of(version.discovered_at)
    if version.decision == BreachDecision.NOT_REPORTABLE.value:
        return Standing("not_reportable", deadline)
    if version.decision == BreachDecision.REPORTED.value:
        reported = _aware(version.reported_at)
        if reported <= deadline:
            return Standing("on_time", deadline)
        return Standing("late", deadline, late_by=reported - deadline)
    if now <= deadline:
        return Standing("running", deadline, left=deadline - now)
    return Standing("overdue", deadline, late_by=now - deadline)


def format_span(span: dt.timedelta) -> str:
    """"53 godz. 20 min": whole minutes (rounded down), in hours and minutes, as the 72 h are counted."""
    minutes = max(int(span.total_seconds() // 60), 0)
    return f"{minutes // 60} godz. {minutes % 60:02d} min"


def describe(found: Standing) -> str:
    """The standing in one Polish sentence, for the pages and the officer."""
    deadline = _warsaw_text(found.deadline)
    if found.state == "running":
        return f"Na zgłoszenie do Prezesa UODO zostało {format_span(found.left)} (termin: {deadline})."
    if found.state == "overdue":
        return (f"Termin zgłoszenia minął {deadline} — {format_span(found.late_by)} temu. Zgłoś naruszenie "
                f"i podaj przyczyny opóźnienia albo zapisz, dlaczego nie podlega zgłoszeniu.")
    if found.state == "on_time":
        return f"Zgłoszono w terminie (termin: {deadline})."
    if found.state == "late":
        return f"Zgłoszono po terminie ({deadline}), z opóźnieniem {format_span(found.late_by)}."
    return "Naruszenie nie podlega zgłoszeniu do Prezesa UODO."


# --- reading ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """One breach as the register shows it: its number in its school's register (1, 2, … in the
    order recorded), the current version and its standing now."""

    breach: DataBreach
    number: int
    current: DataBreachVersion
    standing: Standing


def register(school_ids: Sequence[int], now: dt.datetime | None = None) -> list[Entry]:
    """Every breach of the schools, newest first, each with its current version and standing."""
    ids = [int(i) for i in school_ids]
    if not ids:
        return []
    breaches = db.session.scalars(select(DataBreach).where(DataBreach.school_id.in_(ids))
                                  .order_by(DataBreach.school_id, DataBreach.id)).all()
    latest = _latest_versions(ids)
    entries, counters = [], {}
    for breach in breaches:
        counters[breach.school_id] = counters.get(breach.school_id, 0) + 1
        current = latest.get(breach.id)
        if current is not None:
            entries.append(Entry(breach, counters[breach.school_id], current, standing(current, now)))
    return sorted(entries, key=lambda e: e.breach.id, reverse=True)


def entry(school_ids: Sequence[int], breach_id: int, now: dt.datetime | None = None) -> Entry:
    """One breach of the schools; `NotFoundError` when it is none of theirs (shown as 404)."""
    for found in register(school_ids, now):
        if found.breach.id == breach_id:
            return found
    raise NotFoundError("breach")


@dataclasses.dataclass(frozen=True)
class Change:
    """One version in the history: who wrote it, when, and which fields it changed (old → new, as text)."""

    version: int
    recorded_at: dt.datetime
    recorded_by: str
    changes: list[tuple[str, str, str]]


def history(breach: DataBreach) -> list[Change]:
    """Every version of the breach, oldest first, each with the fields it changed."""
    versions = db.session.scalars(select(DataBreachVersion).where(
        DataBreachVersion.school_id == breach.school_id, DataBreachVersion.breach_id == breach.id)
        .order_by(DataBreachVersion.version)).all()
    users = {u.id: u.full_name for u in db.session.scalars(select(User).where(
        User.id.in_({v.recorded_by_id for v in versions if v.recorded_by_id})))}
    changes, previous = [], None
    for version in versions:
        fields = []
        for name, label in FIELDS.items():
            new = as_text(name, getattr(version, name))
            old = as_text(name, getattr(previous, name)) if previous is not None else ""
            if previous is None and new or previous is not None and new != old:
                fields.append((label, old, new))
        changes.append(Change(version.version, version.recorded_at, users.get(version.recorded_by_id, "—"), fields))
        previous = version
    return changes


def as_text(name: str, value) -> str:
    """A field's value as the history and the PDF write it."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return _warsaw_text(value)
    if name == "decision":
        return DECISIONS.get(value, value)
    if isinstance(value, int):
        return inputs.format_number(value)
    return str(value)


def _latest_versions(school_ids: list[int]) -> dict[int, DataBreachVersion]:
    rows = db.session.scalars(select(DataBreachVersion).where(DataBreachVersion.school_id.in_(school_ids))
                              .order_by(DataBreachVersion.breach_id, DataBreachVersion.version)).all()
    return {row.breach_id: row for row in rows}  # the last one of each breach wins


# --- writing ------------------------------------------------------------------------------------


def record(actor: Actor, form: Mapping[str, str]) -> DataBreach:
    """The director records a breach of the current school: version 1 from the form."""
    fields = read_form(form)
    school_id = require_school()
    breach = DataBreach(school_id=school_id, created_by_id=actor.user_id, created_at=utcnow())
    db.session.add(breach)
    db.session.flush()
    db.session.add(DataBreachVersion(school_id=school_id, breach_id=breach.id, version=1, recorded_at=utcnow(),
                                     recorded_by_id=actor.user_id, **fields))
    db.session.flush()
    return breach


def amend(actor: Actor, found: Entry, form: Mapping[str, str]) -> DataBreachVersion:
    """A new version of the breach from the form, which carries the version it was filled from
    (`version`): a form filled from an older one is refused, so that nobody overwrites a change
    they have not seen. Two amendments of the same version at once: the second is refused too
    (the version number is unique)."""
    based_on = inputs.whole_or_none(form.get("version"), low=1, high=1_000_000)
    if based_on != found.current.version:
        raise OperationError("Wpis zmieniono w międzyczasie (jest nowsza wersja). Otwórz go ponownie i wprowadź "
                             "zmiany jeszcze raz.", code="stale_version")
    fields = read_form(form)
    if all(getattr(found.current, name) == value for name, value in fields.items()):
        raise OperationError("Nic się nie zmieniło — nie zapisano nowej wersji.", code="unchanged")
    version = DataBreachVersion(school_id=found.breach.school_id, breach_id=found.breach.id,
                                version=found.current.version + 1, recorded_at=utcnow(),
                                recorded_by_id=actor.user_id, **fields)
    try:
        with db.session.begin_nested():
            db.session.add(version)
            db.session.flush()
    except sa_exc.IntegrityError:
        raise OperationError("Ktoś zapisał zmianę tego wpisu w tej samej chwili. Otwórz go ponownie i wprowadź "
                             "zmiany jeszcze raz.", code="stale_version") from None
    return version


def read_form(form: Mapping[str, str]) -> dict:
    """The form's fields as a version's columns, or `OperationError` with the first problem in
    Polish (docs/privacy-registers.md §4)."""
    now = clock.utcnow()
    discovered = _instant(form, "discovered_on", "discovered_time", "stwierdzenia naruszenia", required=True)
    if discovered > now:
        raise OperationError("Data i godzina stwierdzenia naruszenia nie mogą być z przyszłości.")
    description = _text(form, "description", "Opis naruszenia", DESCRIPTION_MAX)
    if not description:
        raise OperationError("Opisz naruszenie — opis nie może być pusty.")
    persons = form.get("persons_affected") or ""
    try:
        persons_affected = inputs.whole(persons, low=0, high=PERSONS_MAX) if persons.strip() else None
    except inputs.Refused:
        raise OperationError("Przybliżona liczba osób: podaj liczbę całkowitą od 0 do 10 000 000 albo zostaw "
                             "pole puste.") from None
    decision = form.get("decision") or BreachDecision.OPEN.value
    if decision not in DECISIONS:
        raise OperationError("Wybierz, czy naruszenie zgłoszono do Prezesa UODO.")
    fields = {
        "discovered_at": discovered, "description": description,
        "data_categories": _text(form, "data_categories", "Kategorie danych", TEXT_MAX),
        "subject_categories": _text(form, "subject_categories", "Kategorie osób", SHORT_MAX),
        "persons_affected": persons_affected,
        "consequences": _text(form, "consequences", "Możliwe konsekwencje", TEXT_MAX),
        "measures": _text(form, "measures", "Zastosowane środki", TEXT_MAX),
        "decision": decision, "reported_at": None, "authority_reference": "", "delay_reason": "",
        "not_reportable_reason": "", "subjects_informed_at": None,
    }
    if decision == BreachDecision.REPORTED.value:
        reported = _instant(form, "reported_on", "reported_time", "zgłoszenia do Prezesa UODO", required=True)
        if reported < discovered:
            raise OperationError("Zgłoszenie do Prezesa UODO nie może być wcześniejsze niż stwierdzenie naruszenia.")
        if reported > now:
            raise OperationError("Data i godzina zgłoszenia do Prezesa UODO nie mogą być z przyszłości.")
        delay_reason = _text(form, "delay_reason", "Przyczyny opóźnienia", TEXT_MAX)
        deadline = deadline_of(discovered)
        if reported > deadline and not delay_reason:
            raise OperationError(f"Zgłoszenie nastąpiło po upływie 72 godzin od stwierdzenia naruszenia (termin: "
                                 f"{_warsaw_text(deadline)}). Podaj przyczyny opóźnienia (art. 33 ust. 1 RODO).",
                                 code="delay_reason_required")
        fields.update(reported_at=reported, delay_reason=delay_reason,
                      authority_reference=_text(form, "authority_reference", "Znak sprawy UODO", REFERENCE_MAX))
    elif decision == BreachDecision.NOT_REPORTABLE.value:
        reason = _text(form, "not_reportable_reason", "Dlaczego nie podlega zgłoszeniu", TEXT_MAX)
        if not reason:
            raise OperationError("Podaj, dlaczego naruszenie nie podlega zgłoszeniu (np. nie powoduje ryzyka "
                                 "naruszenia praw lub wolności osób — art. 33 ust. 1 RODO).")
        fields["not_reportable_reason"] = reason
    informed = _instant(form, "informed_on", "informed_time", "zawiadomienia osób", required=False)
    if informed is not None:
        if informed < discovered:
            raise OperationError("Zawiadomienie osób nie może być wcześniejsze niż stwierdzenie naruszenia.")
        if informed > now:
            raise OperationError("Data i godzina zawiadomienia osób nie mogą być z przyszłości.")
    fields["subjects_informed_at"] = informed
    return fields


def form_of(version: DataBreachVersion) -> dict[str, str]:
    """A version as the form shows it (Warsaw dates and times as typed)."""
    form = {name: ("" if getattr(version, name) is None else str(getattr(version, name)))
            for name in ("description", "data_categories", "subject_categories", "persons_affected", "consequences",
                         "measures", "decision", "authority_reference", "delay_reason", "not_reportable_reason")}
    for prefix, value in (("discovered", version.discovered_at), ("reported", version.reported_at),
                          ("informed", version.subjects_informed_at)):
        local = _aware(value).astimezone(clock.zone()) if value is not None else None
        form[f"{prefix}_on"] = inputs.format_day(local) if local else ""
        form[f"{prefix}_time"] = f"{local:%H:%M}" if local else ""
    form["version"] = str(version.version)
    return form


def _text(form: Mapping[str, str], name: str, label: str, limit: int) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise OperationError(f"{label}: najwyżej {inputs.format_number(limit)} znaków.")
    return value


def _instant(form: Mapping[str, str], day_field: str, time_field: str, what: str, *, required: bool):
    """A Warsaw date and time from two fields as an aware UTC instant; None when both are empty
    and the instant is not required."""
    day_text, time_text = (form.get(day_field) or "").strip(), (form.get(time_field) or "").strip()
    if not day_text and not time_text and not required:
        return None
    try:
        day = inputs.day(day_text, earliest=dt.date(2000, 1, 1))
    except inputs.Refused:
        day = None
    if day is None:
        raise OperationError(f"Data {what}: podaj prawidłową datę w formacie dd.mm.rrrr.")
    try:
        time = inputs.time_of_day(time_text)
    except inputs.Refused:
        time = None
    if time is None:
        raise OperationError(f"Godzina {what}: podaj godzinę w formacie gg:mm (np. 10:00).")
    zone = clock.zone()
    local = dt.datetime.combine(day, time, tzinfo=zone)
    instant = local.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):  # a skipped hour (spring)
        raise OperationError(f"Godzina {time:%H:%M} nie istnieje w dniu {inputs.format_day(day)} (zmiana czasu "
                             f"na letni) — podaj godzinę {what} jeszcze raz.")
    return instant


def _aware(value: dt.datetime) -> dt.datetime:
    """The instant in UTC. SQLite gives back naive UTC; and Python adds and subtracts datetimes of one
    zone by their wall clocks, so every computation here is done in UTC."""
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _warsaw_text(value: dt.datetime) -> str:
    local = _aware(value).astimezone(clock.zone())
    return f"{inputs.format_day(local)}, {local:%H:%M}"
