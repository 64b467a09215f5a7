"""A school's pupil records: add, edit, and find a pupil by PESEL or other identity document.

Each function flushes and never commits (the caller owns the transaction) and refuses bad
input with `OperationError` carrying a Polish message that names no PESEL or document number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from infra import clock
from infra import services
from infra.db import db
from tenants.pupils import fields
from tenants.pupils import names
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.fields import document_number
from tenants.pupils.models import LearnerType
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change


def pesel_index(value: str) -> str:
    return services.pesel_cipher().blind_index(value)


def document_index(number: str) -> str:
    # A prefix keeps document numbers and PESELs apart in the same keyed index.
    return services.pesel_cipher().blind_index("doc:" + document_number(number))


def find_by_pesel(value: str) -> Pupil | None:
    return db.session.scalar(select(Pupil).where(Pupil.school_id == require_school(),
                                                 Pupil.pesel_index == pesel_index(value)))


def find_by_document(number: str) -> Pupil | None:
    return db.session.scalar(select(Pupil).where(Pupil.school_id == require_school(),
                                                 Pupil.id_document_index == document_index(number)))


@dataclasses.dataclass
class PupilDetails:
    """What a form or an import row says about a pupil. `None` leaves a stored value unchanged."""

    first_names: str
    surname: str
    date_of_birth: dt.date | None
    pesel: str = ""
    id_document_type: str = ""
    id_document_number: str = ""
    sex: str | None = None
    class_name: str = ""
    book_number: str = ""
    learner_type: str | None = None
    disabled: bool | None = None
    address: str = ""
    parent_email: str = ""
    status: str | None = None


def _clean(details: PupilDetails, today: dt.date | None = None) -> PupilDetails:
    """Validate and normalise by the field rules the roster import uses too (`tenants.pupils.fields`);
    raise `OperationError` with the first problem found."""
    text = _text_fields(details)
    pesel, date_of_birth, sex = _identity(details)
    if pesel:
        text["id_document_type"] = text["id_document_number"] = ""  # the PESEL is the identity; no second
    elif not (text["id_document_type"] and text["id_document_number"]):
        raise OperationError("Podaj numer PESEL albo — gdy uczeń go nie ma — rodzaj i numer innego dokumentu "
                             "tożsamości.")
    if date_of_birth is None:
        raise OperationError("Podaj datę urodzenia w formacie dd.mm.rrrr.")
    if problem := fields.birth_date_problem(date_of_birth, today or clock.today()):
        raise OperationError(problem)
    if details.learner_type is not None and details.learner_type not in {t.value for t in LearnerType}:
        raise OperationError("Nieznany rodzaj ucznia.")
    if details.status is not None and details.status not in {s.value for s in PupilStatus}:
        raise OperationError("Nieznany status ucznia.")
    return dataclasses.replace(details, **text, pesel=pesel, date_of_birth=date_of_birth, sex=sex)


def _text_fields(details: PupilDetails) -> dict[str, str]:
    """The names and the text fields normalised, or `OperationError` with the first problem."""
    try:
        first_names = names.person_name(details.first_names, names.FIRST_NAMES, required=False)
        surname = names.person_name(details.surname, names.SURNAME, required=False)
    except names.InvalidName as err:
        raise OperationError(str(err)) from None
    if not first_names or not surname:
        raise OperationError("Podaj imię i nazwisko ucznia.")
    text = {"first_names": first_names, "surname": surname}
    for name in ("surname", "first_names", *fields.TEXT_FIELDS):
        value, problems = fields.check(name, text.get(name, getattr(details, name)))
        if problems:
            raise OperationError(problems[0])
        text[name] = value
    return text


def _identity(details: PupilDetails) -> tuple[str, dt.date | None, str | None]:
    """(PESEL, date of birth, sex): the PESEL checked against the others and filling them in."""
    pesel = (details.pesel or "").strip().replace(" ", "")
    date_of_birth, sex = details.date_of_birth, details.sex or None
    if sex is not None and sex not in ("K", "M"):
        raise OperationError("Wybierz płeć ucznia.")
    if not pesel:
        return "", date_of_birth, sex
    try:
        pesel = pesel_rules.validate(pesel, date_of_birth=date_of_birth, sex_code=sex)
    except pesel_rules.PeselError as err:
        raise OperationError(str(err)) from None
    return pesel, date_of_birth or pesel_rules.birth_date(pesel), pesel_rules.sex(pesel)


def _apply(pupil: Pupil, details: PupilDetails, *, keep_blanks: bool) -> None:
    cipher = services.pesel_cipher()
    pupil.first_names, pupil.surname = details.first_names, details.surname
    pupil.date_of_birth, pupil.sex = details.date_of_birth, details.sex
    if details.pesel:
        pupil.pesel_cipher, pupil.pesel_index = cipher.encrypt(details.pesel), pesel_index(details.pesel)
        pupil.id_document_type, pupil.id_document_cipher, pupil.id_document_index = "", None, None
    else:
        pupil.pesel_cipher, pupil.pesel_index = None, None
        pupil.id_document_type = details.id_document_type
        pupil.id_document_cipher = cipher.encrypt(details.id_document_number)
        pupil.id_document_index = document_index(details.id_document_number)
    for name in ("class_name", "book_number", "address", "parent_email"):
        value = getattr(details, name)
        if value or not keep_blanks:  # an import's empty cell never wipes what the school knows
            setattr(pupil, name, value)
    for name in ("learner_type", "disabled", "status"):
        value = getattr(details, name)
        if value is not None:
            setattr(pupil, name, value)


def _check_unique(details: PupilDetails, pupil: Pupil | None) -> None:
    other = find_by_pesel(details.pesel) if details.pesel else find_by_document(details.id_document_number)
    if other is not None and (pupil is None or other.id != pupil.id):
        if details.pesel:
            raise OperationError("Uczeń z tym numerem PESEL jest już w ewidencji szkoły.")
        raise OperationError("Uczeń z tym numerem dokumentu tożsamości jest już w ewidencji szkoły.")


def add_pupil(actor: Actor, details: PupilDetails, *, unique_checked: bool = False) -> Pupil:
    """Register a pupil in the current school, identified by PESEL or by another document.

    `unique_checked`: the caller (an import's plan) already knows the identity is new; the
    row is then only added to the session, and the unique constraint remains the last word; the
    caller records the change (`record_pupil_added`) once its flush gave the pupil an id.
    Otherwise a "pupil_added" row records who added the pupil (docs/security.md T3.17)."""
    details = _clean(details)
    if not unique_checked:
        _check_unique(details, None)
    pupil = Pupil(school_id=require_school(), learner_type=LearnerType.PUPIL.value, disabled=False,
                  status=PupilStatus.ACTIVE.value)
    _apply(pupil, details, keep_blanks=False)
    db.session.add(pupil)
    if not unique_checked:
        db.session.flush()
        record_pupil_added(actor, pupil)
    return pupil


def record_pupil_added(actor: Actor, pupil: Pupil) -> None:
    """Who added `pupil` (flushed, so it has its id): a "pupil_added" row."""
    record_change(actor, "pupil_added", school_id=pupil.school_id, pupil_id=pupil.id)


def update_pupil(actor: Actor, pupil: Pupil, details: PupilDetails, *, keep_blanks: bool = False,
                 unique_checked: bool = False) -> None:
    """Change a pupil's record; the identity may change too, as long as it stays unique.

    `keep_blanks` (imports): empty text fields leave the stored values as they are. A
    "pupil_updated" row records who changed it (docs/security.md T3.17)."""
    details = _clean(details)
    if not unique_checked:
        _check_unique(details, pupil)
    _apply(pupil, details, keep_blanks=keep_blanks)
    record_change(actor, "pupil_updated", school_id=pupil.school_id, pupil_id=pupil.id)
    if not unique_checked:
        db.session.flush()
