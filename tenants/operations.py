"""State changes of a school's records. Each function flushes and never commits: the request,
job or command that calls it owns the transaction. Errors are `OperationError` with a Polish
message safe to show to the user (no PESEL, no internal ids)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from infra import services
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import school_key
from tenants import pesel as pesel_rules
from tenants.actors import Actor
from tenants.context import require_school
from tenants.models import AccessLog
from tenants.models import Application
from tenants.models import ApplicationKind
from tenants.models import ApplicationStatus
from tenants.models import LearnerType
from tenants.models import Pupil
from tenants.photos import PhotoError
from tenants.photos import normalise_photo

DUPLICATE_FEE = Decimal("9.00")


class OperationError(ValueError):
    """A request the rules refuse; `str(err)` is a Polish message for the user."""


class NotFoundError(LookupError):
    """No such object for the current tenant (shown as 404, whether it exists elsewhere or not)."""


def log_access(actor: Actor, action: str, *, school_id: int, pupil_id: int | None = None,
               order_id: int | None = None, result: str = "ok") -> None:
    """Append one access-log row (SECURITY.md T3.10): who saw which pupil's data, when, how."""
    db.session.add(AccessLog(
        actor_user_id=actor.user_id, actor_role=actor.role, actor_organisation_id=actor.organisation_id,
        school_id=school_id, pupil_id=pupil_id, order_id=order_id, action=action,
        endpoint=actor.endpoint[:100], request_id=actor.request_id[:40], ip=actor.ip[:45], result=result,
    ))


def add_pupil(actor: Actor, *, first_names: str, surname: str, date_of_birth: dt.date, sex: str,
              pesel: str, class_name: str = "", learner_type: str = LearnerType.PUPIL.value,
              disabled: bool = False) -> Pupil:
    """Register a pupil in the current school. The PESEL must be valid and match birth date and
    sex; it is stored encrypted with a blind index, and must be unique within the school."""
    school_id = require_school()
    first_names, surname = first_names.strip(), surname.strip()
    if not first_names or not surname:
        raise OperationError("Podaj imię i nazwisko ucznia.")
    if sex not in ("K", "M"):
        raise OperationError("Wybierz płeć ucznia.")
    if learner_type not in {t.value for t in LearnerType}:
        raise OperationError("Nieznany rodzaj ucznia.")
    try:
        value = pesel_rules.validate(pesel, date_of_birth=date_of_birth, sex_code=sex)
    except pesel_rules.PeselError as err:
        raise OperationError(str(err)) from None
    cipher = services.pesel_cipher()
    index = cipher.blind_index(value)
    if db.session.scalar(select(Pupil.id).where(Pupil.pesel_index == index)) is not None:
        raise OperationError("Uczeń z tym numerem PESEL jest już w ewidencji szkoły.")
    pupil = Pupil(school_id=school_id, first_names=first_names, surname=surname, date_of_birth=date_of_birth,
                  sex=sex, pesel_cipher=cipher.encrypt(value), pesel_index=index,
                  class_name=class_name.strip()[:20], learner_type=learner_type, disabled=disabled)
    db.session.add(pupil)
    db.session.flush()
    return pupil


def set_photo(actor: Actor, pupil: Pupil, data: bytes) -> None:
    """Check and normalise an uploaded photo and store it under a random key.

    The old photo object is removed after the new one is stored; raises `OperationError` for a
    file that is not a usable JPEG/PNG photo.
    """
    try:
        clean = normalise_photo(data)
    except PhotoError as err:
        raise OperationError(str(err)) from None
    key = school_key(pupil.school_id, "photos", f"{token(16)}.jpg")
    services.storage().put(key, clean, "image/jpeg")
    old = pupil.photo_key
    pupil.photo_key = key
    pupil.photo_uploaded_at = utcnow()
    db.session.flush()
    if old:
        services.storage().delete(old)


def create_application(actor: Actor, pupil: Pupil, kind: str = ApplicationKind.FIRST.value,
                       reason: str = "") -> Application:
    """Open a card application for a pupil. One open application per pupil at a time; a first
    card only for a pupil who has none; duplicates carry the 9 zł fee."""
    if kind not in {k.value for k in ApplicationKind}:
        raise OperationError("Nieznany rodzaj wniosku.")
    if pupil.status != "active":
        raise OperationError("Wniosek można złożyć tylko dla ucznia, który uczy się w szkole.")
    open_statuses = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.APPROVED.value,
                     ApplicationStatus.ORDERED.value)
    existing = db.session.scalar(select(Application.id).where(
        Application.pupil_id == pupil.id, Application.status.in_(open_statuses)))
    if existing is not None:
        raise OperationError("Ten uczeń ma już otwarty wniosek o legitymację.")
    if kind == ApplicationKind.FIRST.value:
        issued = db.session.scalar(select(Application.id).where(
            Application.pupil_id == pupil.id, Application.status == ApplicationStatus.ISSUED.value,
            Application.kind == ApplicationKind.FIRST.value))
        if issued is not None:
            raise OperationError("Ten uczeń otrzymał już pierwszą legitymację — złóż wniosek o wymianę lub duplikat.")
    application = Application(
        school_id=pupil.school_id, pupil_id=pupil.id, kind=kind, reason=reason.strip()[:200],
        fee_amount=DUPLICATE_FEE if kind == ApplicationKind.DUPLICATE.value else Decimal("0.00"),
        created_by_id=actor.user_id)
    db.session.add(application)
    db.session.flush()
    return application


def decide_application(actor: Actor, application: Application, *, approve: bool, reason: str = "") -> None:
    """The director approves or rejects a submitted application. Approval needs a photo."""
    if application.status != ApplicationStatus.SUBMITTED.value:
        raise OperationError("Ten wniosek został już rozpatrzony.")
    if approve:
        if not application.pupil.photo_key:
            raise OperationError("Nie można zatwierdzić wniosku: uczeń nie ma zdjęcia.")
        application.status = ApplicationStatus.APPROVED.value
    else:
        if not reason.strip():
            raise OperationError("Podaj powód odrzucenia wniosku.")
        application.status = ApplicationStatus.REJECTED.value
        application.rejection_reason = reason.strip()[:300]
    application.decided_by_id = actor.user_id
    application.decided_at = utcnow()
    db.session.flush()
