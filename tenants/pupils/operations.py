"""A school's pupil records: add, edit, and find a pupil by PESEL or other identity document.

Each function flushes and never commits (the caller owns the transaction) and refuses bad
input with `OperationError` carrying a Polish message that names no PESEL or document number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import select

from infra import services
from infra.db import db
from tenants.pupils import names
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.models import LearnerType
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.pupils.text_entry import TextRefused
from tenants.pupils.text_entry import check_text
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def document_number(value: str) -> str:
    """Identity document numbers compare without spaces and case ("abc 123" = "ABC123")."""
    return re.sub(r"\s+", "", value or "").upper()


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


def _clean(details: PupilDetails) -> PupilDetails:
    """Validate and normalise; raise `OperationError` with the first problem found."""
    try:
        first_names = names.person_name(details.first_names, names.FIRST_NAMES, required=False)
        surname = names.person_name(details.surname, names.SURNAME, required=False)
        for label, value in (("Klasa", details.class_name), ("Numer w księdze uczniów", details.book_number),
                             ("Adres", details.address), ("Rodzaj dokumentu", details.id_document_type),
                             ("Numer dokumentu", details.id_document_number)):
            check_text(value, label)
    except (names.InvalidName, TextRefused) as err:
        raise OperationError(str(err)) from None
    if not first_names or not surname:
        raise OperationError("Podaj imię i nazwisko ucznia.")
    if len(first_names) > 100 or len(surname) > 100:
        raise OperationError("Imię i nazwisko mogą mieć najwyżej 100 znaków.")
    pesel = (details.pesel or "").strip().replace(" ", "")
    number = document_number(details.id_document_number)
    doc_type = " ".join(details.id_document_type.split())
    date_of_birth = details.date_of_birth
    sex = details.sex or None
    if sex is not None and sex not in ("K", "M"):
        raise OperationError("Wybierz płeć ucznia.")
    if pesel:
        try:
            pesel = pesel_rules.validate(pesel, date_of_birth=date_of_birth, sex_code=sex)
        except pesel_rules.PeselError as err:
            raise OperationError(str(err)) from None
        date_of_birth = date_of_birth or pesel_rules.birth_date(pesel)
        sex = pesel_rules.sex(pesel)
        doc_type, number = "", ""  # the PESEL identifies the pupil; no second identity to keep
    elif not (doc_type and number):
        raise OperationError("Podaj numer PESEL albo — gdy uczeń go nie ma — rodzaj i numer innego dokumentu "
                             "tożsamości.")
    elif len(doc_type) > 60 or len(number) > 40:
        raise OperationError("Rodzaj dokumentu może mieć najwyżej 60 znaków, a numer 40.")
    if date_of_birth is None:
        raise OperationError("Podaj datę urodzenia w formacie dd.mm.rrrr.")
    if date_of_birth > dt.date.today():
        raise OperationError("Data urodzenia nie może być z przyszłości.")
    if details.learner_type is not None and details.learner_type not in {t.value for t in LearnerType}:
        raise OperationError("Nieznany rodzaj ucznia.")
    if details.status is not None and details.status not in {s.value for s in PupilStatus}:
        raise OperationError("Nieznany status ucznia.")
    email = details.parent_email.strip()
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        raise OperationError("Adres e-mail rodzica jest nieprawidłowy.")
    class_name = " ".join(details.class_name.split())
    if len(class_name) > 20 or len(details.book_number.strip()) > 20 or len(details.address.strip()) > 300:
        raise OperationError("Klasa i numer w księdze uczniów mogą mieć najwyżej 20 znaków, adres 300.")
    return dataclasses.replace(details, first_names=first_names, surname=surname, pesel=pesel,
                               id_document_type=doc_type, id_document_number=number, date_of_birth=date_of_birth,
                               sex=sex, class_name=class_name, book_number=details.book_number.strip(),
                               address=" ".join(details.address.split()), parent_email=email)


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
    row is then only added to the session, and the unique constraint remains the last word."""
    details = _clean(details)
    if not unique_checked:
        _check_unique(details, None)
    pupil = Pupil(school_id=require_school(), learner_type=LearnerType.PUPIL.value, disabled=False,
                  status=PupilStatus.ACTIVE.value)
    _apply(pupil, details, keep_blanks=False)
    db.session.add(pupil)
    if not unique_checked:
        db.session.flush()
    return pupil


def update_pupil(actor: Actor, pupil: Pupil, details: PupilDetails, *, keep_blanks: bool = False,
                 unique_checked: bool = False) -> None:
    """Change a pupil's record; the identity may change too, as long as it stays unique.

    `keep_blanks` (imports): empty text fields leave the stored values as they are."""
    details = _clean(details)
    if not unique_checked:
        _check_unique(details, pupil)
    _apply(pupil, details, keep_blanks=keep_blanks)
    if not unique_checked:
        db.session.flush()


def identity_label(pupil: Pupil) -> str:
    """What the card shows instead of a PESEL for a pupil without one, e.g. "paszport AB1234567"."""
    if pupil.pesel_cipher is not None or pupil.id_document_cipher is None:
        return ""
    return f"{pupil.id_document_type} {services.pesel_cipher().decrypt(pupil.id_document_cipher)}"
