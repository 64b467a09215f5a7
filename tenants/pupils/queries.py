"""Reads of a school's records. The ORM safety net already limits them to the current tenant;
lookups by id still name the school so that a missing tenant can never widen a query."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import exists
from sqlalchemy import select

from infra.db import db
from infra.like import contains
from tenants.photos.models import PhotoSubmission
from tenants.pupils.models import Application
from tenants.pupils.models import PhotoStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import registry_order
from tenants.roster.models import RosterImport
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import NotFoundError


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


PUPIL_PAGE = 200
CARD_STATES = ("none", "applied", "in_production", "to_collect", "issued")


@dataclasses.dataclass(frozen=True)
class PupilFilter:
    """The pupil list's filters, from the query string (unknown values are ignored)."""

    search: str = ""
    class_name: str = ""
    status: str = PupilStatus.ACTIVE.value  # "" = every status
    photo: str = ""
    card: str = ""

    @classmethod
    def from_args(cls, args) -> PupilFilter:
        def pick(name: str, allowed, default: str = "") -> str:
            value = args.get(name, default)
            return value if value in allowed else default

        return cls(search=args.get("q", "").strip()[:100], class_name=args.get("klasa", "").strip()[:20],
                   status=pick("status", {"", *(s.value for s in PupilStatus)}, PupilStatus.ACTIVE.value),
                   photo=pick("zdjecie", {s.value for s in PhotoStatus}),
                   card=pick("legitymacja", set(CARD_STATES)))


def list_pupils(f: PupilFilter = PupilFilter(), *, limit: int = PUPIL_PAGE) -> list[Pupil]:
    stmt = select(Pupil).where(Pupil.school_id == require_school())
    for word in f.search.split():
        stmt = stmt.where(contains(Pupil.surname, word) | contains(Pupil.first_names, word))
    if f.class_name:
        stmt = stmt.where(Pupil.class_name == f.class_name)
    if f.status:
        stmt = stmt.where(Pupil.status == f.status)
    if f.photo:
        stmt = stmt.where(Pupil.photo_status == f.photo)
    if f.card:
        stmt = stmt.where(_card_state(f.card))
    return list(db.session.scalars(stmt.order_by(Pupil.class_name, Pupil.surname, Pupil.first_names).limit(limit)))


def _card_state(state: str):
    """Where the pupil's card stands: none yet, application open, at the printer, in the
    school waiting to be collected, or handed over."""
    def card_in(*statuses):
        return exists().where(Card.pupil_id == Pupil.id, Card.school_id == Pupil.school_id,
                              Card.status.in_(statuses))

    applied = exists().where(Application.pupil_id == Pupil.id, Application.school_id == Pupil.school_id,
                             Application.status.in_(("submitted", "approved")))
    if state == "applied":
        return applied
    if state == "in_production":
        return card_in(CardStatus.ORDERED.value, CardStatus.PRINTED.value)
    if state == "to_collect":
        return card_in(CardStatus.DELIVERED.value)
    if state == "issued":
        return card_in(CardStatus.HANDED_OVER.value)
    return ~applied & ~exists().where(Card.pupil_id == Pupil.id, Card.school_id == Pupil.school_id)


def get_submission(submission_id: int) -> PhotoSubmission:
    submission = db.session.scalar(select(PhotoSubmission).where(
        PhotoSubmission.id == submission_id, PhotoSubmission.school_id == require_school()))
    if submission is None:
        raise NotFoundError("photo")
    return submission


def get_import(import_id: int) -> RosterImport:
    batch = db.session.scalar(select(RosterImport).where(
        RosterImport.id == import_id, RosterImport.school_id == require_school(),
        RosterImport.kind != "registry"))  # a register's import has its own pages (tenants.registry.imports)
    if batch is None:
        raise NotFoundError("import")
    return batch


def class_names() -> list[str]:
    """Every class name in the school, in natural order (1a, 1b, 2a, …, 10a)."""
    rows = db.session.scalars(select(Pupil.class_name).where(Pupil.school_id == require_school()).distinct())
    return sorted((r for r in rows if r), key=_natural)


def _natural(name: str) -> list:
    """1a, 2a, 10a: runs of ASCII digits compare as numbers (by length, then digits: no int() of
    a run that may be long or, for "²" and the like, no number at all), the rest case-blind."""
    return [(1, len(part.lstrip("0")), part.lstrip("0"), "") if part.isascii() and part.isdigit()
            else (0, 0, "", part.casefold()) for part in re.split(r"([0-9]+)", name)]


def list_applications(status: str | None = None) -> list[Application]:
    stmt = select(Application).where(Application.school_id == require_school())
    if status:
        stmt = stmt.where(Application.status == status)
    return list(db.session.scalars(stmt.order_by(Application.created_at.desc(), Application.id.desc())))


def cards_of_order(order_id: int) -> list[Card]:
    return list(db.session.scalars(select(Card).where(
        Card.school_id == require_school(), Card.order_id == order_id).order_by(*registry_order())))


