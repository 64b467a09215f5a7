"""The state changes of a consultation: the city writes, opens and closes it; a school's director
answers and may change the answer until the deadline. Every refusal is an `OperationError` with a
Polish message. Functions flush, never commit.

The deadline is the last day answers are taken, a whole day in Europe/Warsaw (`infra.clock`): an
answer on the deadline day at 23:59 Warsaw time counts, one a minute later is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import utcnow
from tenants.consultations import questions
from tenants.consultations.models import HOURS_MAX
from tenants.consultations.models import INTRO_MAX
from tenants.consultations.models import LONG_TEXT_MAX
from tenants.consultations.models import QUESTION_MAX
from tenants.consultations.models import SHORT_TEXT_MAX
from tenants.consultations.models import TITLE_MAX
from tenants.consultations.models import Consultation
from tenants.consultations.models import ConsultationAnswer
from tenants.consultations.models import ConsultationStatus
from tenants.pupils import text_entry
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import Role

LATEST_DEADLINE_DAYS = 366  # a deadline at most a year ahead


def _text(form: Mapping, name: str, label: str, limit: int, *, required: bool = False,
          multiline: bool = False) -> str:
    value = str(form.get(name) or "").strip()
    if multiline:
        value = value.replace("\r\n", "\n")
    if len(value) > limit:
        raise OperationError(f"Pole „{label}” może mieć najwyżej {limit} znaków (wpisano {len(value)}).")
    if problem := text_entry.problem(value, label, multiline=multiline):
        raise OperationError(problem)
    if required and not value:
        raise OperationError(f"Wypełnij pole „{label}”.")
    return value


# --- the city's side -----------------------------------------------------------------------------


def _deadline(form: Mapping) -> dt.date:
    today = clock.today()
    try:
        deadline = inputs.day(form.get("deadline"))
    except inputs.Refused:
        deadline = None
        raise OperationError("Podaj termin odpowiedzi w formacie dd.mm.rrrr.") from None
    if deadline is None:
        raise OperationError("Podaj termin odpowiedzi w formacie dd.mm.rrrr.")
    if deadline < today:
        raise OperationError(f"Termin odpowiedzi nie może być wcześniejszy niż dziś ({inputs.format_day(today)}).")
    if deadline > today + dt.timedelta(days=LATEST_DEADLINE_DAYS):
        raise OperationError("Termin odpowiedzi może być najwyżej rok od dziś.")
    return deadline


def save(city_id: int, actor: Actor, form: Mapping, consultation: Consultation | None = None) -> Consultation:
    """A new consultation (a draft) or a draft's changes, from the form's `title`, `intro`,
    `extra_question` and `deadline`. An open consultation may only have its deadline moved."""
    if consultation is not None and consultation.status == ConsultationStatus.CLOSED.value:
        raise OperationError("Konsultacja jest zamknięta; nie można jej już zmieniać.")
    if consultation is not None and consultation.is_open:
        consultation.deadline = _deadline(form)
        db.session.flush()
        return consultation
    title = _text(form, "title", "Tytuł", TITLE_MAX, required=True)
    intro = _text(form, "intro", "Wprowadzenie", INTRO_MAX, multiline=True)
    extra = _text(form, "extra_question", "Dodatkowe pytanie miasta", QUESTION_MAX)
    deadline = _deadline(form)
    if consultation is None:
        consultation = Consultation(city_id=city_id, created_by_id=actor.user_id, status=ConsultationStatus.DRAFT.value)
        db.session.add(consultation)
    consultation.title, consultation.intro, consultation.extra_question = title, intro, extra
    consultation.deadline = deadline
    db.session.flush()
    return consultation


def open_(consultation: Consultation) -> Consultation:
    """Draft → open: the city's schools see it from now on."""
    if consultation.status != ConsultationStatus.DRAFT.value:
        raise OperationError("Otworzyć można tylko konsultację w przygotowaniu.")
    if consultation.deadline < clock.today():
        raise OperationError("Termin odpowiedzi już minął; ustaw późniejszy termin przed otwarciem.")
    consultation.status, consultation.opened_at = ConsultationStatus.OPEN.value, utcnow()
    db.session.flush()
    return consultation


def close(consultation: Consultation) -> Consultation:
    """Open → closed: no answer may be given or changed any more; the answers stay."""
    if not consultation.is_open:
        raise OperationError("Zamknąć można tylko otwartą konsultację.")
    consultation.status, consultation.closed_at = ConsultationStatus.CLOSED.value, utcnow()
    db.session.flush()
    return consultation


def delete_draft(consultation: Consultation) -> None:
    if consultation.status != ConsultationStatus.DRAFT.value:
        raise OperationError("Usunąć można tylko konsultację w przygotowaniu; otwartą lub zamkniętą się zamyka.")
    db.session.delete(consultation)
    db.session.flush()


# --- the school's side -----------------------------------------------------------------------------


def answering_refusal(consultation: Consultation, today: dt.date | None = None) -> str | None:
    """Why no answer may be given or changed now (a Polish sentence), or None when it may."""
    today = today or clock.today()
    if consultation.status == ConsultationStatus.CLOSED.value:
        return "Konsultacja została zamknięta przez urząd; odpowiedzi nie można już złożyć ani zmienić."
    if not consultation.is_open:
        return "Konsultacja nie jest otwarta."
    if today > consultation.deadline:
        return (f"Termin odpowiedzi minął {inputs.format_day(consultation.deadline)}; odpowiedzi nie można już "
                "złożyć ani zmienić.")
    return None


@dataclasses.dataclass(frozen=True)
class AnswerForm:
    satisfaction: int
    problems: tuple[str, ...]
    problems_text: str
    staff_hours: Decimal
    preference: str
    comments: str
    extra_answer: str


def read_answer(form, consultation: Consultation) -> AnswerForm:
    """The director's form, checked: each refusal names the question."""
    try:
        satisfaction = inputs.whole(form.get("satisfaction"), low=1, high=5)
    except inputs.Refused:
        raise OperationError("Oceń obecny sposób zamawiania legitymacji w skali od 1 do 5.") from None
    chosen = form.getlist("problems") if hasattr(form, "getlist") else list(form.get("problems") or ())
    if any(key not in questions.PROBLEMS for key in chosen) or len(chosen) > len(questions.PROBLEMS):
        raise OperationError("Wybierz problemy z listy.")
    problems = tuple(key for key in questions.PROBLEMS if key in chosen)
    problems_text = _text(form, "problems_text", questions.PROBLEMS_TEXT, SHORT_TEXT_MAX, multiline=True)
    if "other" in problems and not problems_text:
        raise OperationError("Zaznaczono „Inne” — opisz problem w polu „Opis problemów”.")
    try:
        hours = inputs.amount(form.get("staff_hours"), low=Decimal(0), high=HOURS_MAX, places=1)
    except inputs.Refused:
        raise OperationError("Podaj liczbę godzin w miesiącu od 0 do 999,9 (np. 6 albo 2,5).") from None
    preference = str(form.get("preference") or "")
    if preference not in questions.PREFERENCES:
        raise OperationError("Wybierz, który sposób wydawania legitymacji szkoła woli na przyszłość.")
    comments = _text(form, "comments", questions.COMMENTS, LONG_TEXT_MAX, multiline=True)
    extra = _text(form, "extra_answer", "Odpowiedź na pytanie miasta", LONG_TEXT_MAX, multiline=True) \
        if consultation.extra_question else ""
    return AnswerForm(satisfaction, problems, problems_text, hours, preference, comments, extra)


def answer(actor: Actor, school: Organisation, consultation: Consultation, form) -> ConsultationAnswer:
    """The school's answer, given or changed (docs/city.md): by the school's director only, to a
    consultation of the school's own city that is open, on or before its deadline."""
    if actor.role != Role.SCHOOL_DIRECTOR.value:
        raise OperationError("Na konsultację odpowiada dyrektor szkoły.")
    if consultation.city_id != school.city_id or actor.organisation_id != school.id:
        raise OperationError("Ta konsultacja nie dotyczy tej szkoły.")
    if refusal := answering_refusal(consultation):
        raise OperationError(refusal)
    given = read_answer(form, consultation)
    row = own_answer(consultation.id, school.id)
    if row is None:
        row = ConsultationAnswer(school_id=school.id, city_id=school.city_id, consultation_id=consultation.id)
        db.session.add(row)
    row.satisfaction, row.problems, row.problems_text = given.satisfaction, list(given.problems), given.problems_text
    row.staff_hours, row.preference, row.comments = given.staff_hours, given.preference, given.comments
    row.extra_answer, row.answered_by_id, row.updated_at = given.extra_answer, actor.user_id, utcnow()
    db.session.flush()
    return row


def own_answer(consultation_id: int, school_id: int) -> ConsultationAnswer | None:
    """The school's answer, if it has given one (the tenant's criteria keep every other school's out too)."""
    return db.session.scalar(select(ConsultationAnswer).where(ConsultationAnswer.consultation_id == consultation_id,
                                                              ConsultationAnswer.school_id == school_id))
