"""Reads of consultations. The tenant's criteria (tenants.consultations.models) already keep a
school to its city's opened consultations and its own answer, and a city to its own; each read
names the owner again, so a wrong tenant finds nothing rather than something."""

from __future__ import annotations

from sqlalchemy import select

from infra import clock
from infra.db import db
from tenants.consultations.models import Consultation
from tenants.consultations.models import ConsultationAnswer
from tenants.consultations.models import ConsultationStatus
from tenants.tenancy.errors import NotFoundError


def city_consultations(city_id: int) -> list[Consultation]:
    """The city's consultations, newest first."""
    return list(db.session.scalars(select(Consultation).where(Consultation.city_id == city_id)
                                   .order_by(Consultation.id.desc())))


def city_consultation(city_id: int, consultation_id: int) -> Consultation:
    """One of the city's consultations, or NotFoundError (another city's is not found)."""
    found = db.session.scalar(select(Consultation).where(Consultation.city_id == city_id,
                                                         Consultation.id == consultation_id))
    if found is None:
        raise NotFoundError("consultation")
    return found


def answers(city_id: int, consultation_id: int) -> dict[int, ConsultationAnswer]:
    """The schools' answers to the city's consultation, by school id."""
    return {a.school_id: a for a in db.session.scalars(select(ConsultationAnswer).where(
        ConsultationAnswer.city_id == city_id, ConsultationAnswer.consultation_id == consultation_id))}


def latest_opened(city_id: int) -> Consultation | None:
    """The city's newest consultation that has been opened (open or closed): the council's report
    carries it."""
    return db.session.scalar(select(Consultation).where(
        Consultation.city_id == city_id, Consultation.status != ConsultationStatus.DRAFT.value)
        .order_by(Consultation.opened_at.desc(), Consultation.id.desc()).limit(1))


def school_consultations(city_id: int) -> list[Consultation]:
    """The consultations a school of `city_id` sees: opened ones, newest first."""
    return list(db.session.scalars(select(Consultation).where(
        Consultation.city_id == city_id, Consultation.status != ConsultationStatus.DRAFT.value)
        .order_by(Consultation.id.desc())))


def awaiting(city_id: int, school_id: int) -> list[tuple[Consultation, bool]]:
    """The open consultations a school can still answer (deadline not passed), each with whether
    the school has answered: what the school's dashboard shows first."""
    today = clock.today()
    open_ = list(db.session.scalars(select(Consultation).where(
        Consultation.city_id == city_id, Consultation.status == ConsultationStatus.OPEN.value,
        Consultation.deadline >= today).order_by(Consultation.deadline)))
    if not open_:
        return []
    answered = set(db.session.scalars(select(ConsultationAnswer.consultation_id).where(
        ConsultationAnswer.school_id == school_id,
        ConsultationAnswer.consultation_id.in_([c.id for c in open_]))))
    return [(c, c.id in answered) for c in open_]


def school_consultation(city_id: int, consultation_id: int) -> Consultation:
    """An opened consultation of the school's city, or NotFoundError."""
    found = db.session.scalar(select(Consultation).where(
        Consultation.city_id == city_id, Consultation.id == consultation_id,
        Consultation.status != ConsultationStatus.DRAFT.value))
    if found is None:
        raise NotFoundError("consultation")
    return found
