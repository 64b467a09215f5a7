"""Reads of a school's records. The ORM safety net already limits them to the current tenant;
lookups by id still name the school so that a missing tenant can never widen a query."""

from __future__ import annotations

from sqlalchemy import select

from infra.db import db
from tenants.context import require_school
from tenants.models import Application
from tenants.models import Card
from tenants.models import Pupil
from tenants.operations import NotFoundError


def get_pupil(pupil_id: int) -> Pupil:
    pupil = db.session.scalar(select(Pupil).where(Pupil.id == pupil_id, Pupil.school_id == require_school()))
    if pupil is None:
        raise NotFoundError("pupil")
    return pupil


def get_application(application_id: int) -> Application:
    application = db.session.scalar(select(Application).where(
        Application.id == application_id, Application.school_id == require_school()))
    if application is None:
        raise NotFoundError("application")
    return application


def get_card(card_id: int) -> Card:
    card = db.session.scalar(select(Card).where(Card.id == card_id, Card.school_id == require_school()))
    if card is None:
        raise NotFoundError("card")
    return card


def list_pupils(*, search: str = "", class_name: str = "", limit: int = 200) -> list[Pupil]:
    stmt = select(Pupil).where(Pupil.school_id == require_school())
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(Pupil.surname.ilike(like) | Pupil.first_names.ilike(like))
    if class_name:
        stmt = stmt.where(Pupil.class_name == class_name)
    return list(db.session.scalars(stmt.order_by(Pupil.class_name, Pupil.surname, Pupil.first_names).limit(limit)))


def class_names() -> list[str]:
    rows = db.session.scalars(select(Pupil.class_name).where(Pupil.school_id == require_school()).distinct())
    return sorted(r for r in rows if r)


def list_applications(status: str | None = None) -> list[Application]:
    stmt = select(Application).where(Application.school_id == require_school())
    if status:
        stmt = stmt.where(Application.status == status)
    return list(db.session.scalars(stmt.order_by(Application.created_at.desc(), Application.id.desc())))


def cards_of_order(order_id: int) -> list[Card]:
    return list(db.session.scalars(select(Card).where(
        Card.school_id == require_school(), Card.order_id == order_id).order_by(Card.number)))


def masked_pesel(pupil: Pupil, cipher) -> str:
    """`*******1234`: what screens show (SECURITY.md T3.4)."""
    if pupil.pesel_cipher is None:
        return "—"
    return "*******" + cipher.decrypt(pupil.pesel_cipher)[-4:]
