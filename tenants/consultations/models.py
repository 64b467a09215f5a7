"""A city's consultation and its schools' answers.

`Consultation` is the city's: it writes it, opens it (schools see it from then on) and closes it.
A school reads its city's consultations once opened, never a draft and never another city's.
`ConsultationAnswer` is one school's answer to one consultation: the school writes and reads its
own, the city reads its schools' answers (on PostgreSQL the row-level policies of migration 0024
say the same). The answer carries its city and refers to the consultation through (city_id,
consultation_id), so an answer can only ever belong to a consultation of the school's own city.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id
from tenants.tenancy.models import Organisation


class ConsultationStatus(enum.StrEnum):
    DRAFT = "draft"  # the city is still writing it; no school sees it
    OPEN = "open"  # schools see it; directors answer until the deadline
    CLOSED = "closed"  # closed by the city; answers stay, none may be given or changed


# Limits of the free text (characters).
TITLE_MAX = 200
INTRO_MAX = 2000
QUESTION_MAX = 300
SHORT_TEXT_MAX = 1000  # the problems described
LONG_TEXT_MAX = 2000  # comments, the answer to the city's own question
HOURS_MAX = Decimal("999.9")  # staff hours a month on the cards


def _school_city(school_id: int):
    return select(Organisation.city_id).where(Organisation.id == school_id).scalar_subquery()


class Consultation(Base):
    """The city's consultation: title, an introduction, its own optional question, the deadline
    (the last day answers are taken, Europe/Warsaw) and the state."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    intro: Mapped[str] = mapped_column(String(INTRO_MAX), default="")
    extra_question: Mapped[str] = mapped_column(String(QUESTION_MAX), default="")
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=ConsultationStatus.DRAFT.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        UniqueConstraint("city_id", "id"),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        """The city all of its own; a school its city's consultations once opened."""
        if tenant.city_id is not None:
            return cls.city_id == tenant.city_id
        if tenant.school_id is not None:
            return and_(cls.city_id == _school_city(tenant.school_id),
                        cls.status != ConsultationStatus.DRAFT.value)
        return false()

    @property
    def is_open(self) -> bool:
        return self.status == ConsultationStatus.OPEN.value


class ConsultationAnswer(Base):
    """One school's answer (its director's), changed in place until the deadline."""

    __tablename__ = "consultation_answers"
    __school_owned__ = True

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    consultation_id: Mapped[int] = mapped_column(Id, index=True)
    satisfaction: Mapped[int] = mapped_column(Integer)  # with the school's current channel, 1–5
    problems: Mapped[list] = mapped_column(JSON, default=list)  # keys of PROBLEMS (tenants.consultations.questions)
    problems_text: Mapped[str] = mapped_column(String(SHORT_TEXT_MAX), default="")
    staff_hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))  # a month, on the cards
    preference: Mapped[str] = mapped_column(String(16))  # a key of PREFERENCES
    comments: Mapped[str] = mapped_column(String(LONG_TEXT_MAX), default="")
    extra_answer: Mapped[str] = mapped_column(String(LONG_TEXT_MAX), default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        CheckConstraint("staff_hours >= 0", name="staff_hours"),
        CheckConstraint("preference IN ('keep_own', 'city_order', 'print_centre', 'no_opinion')", name="preference"),
        UniqueConstraint("school_id", "consultation_id"),
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["city_id", "consultation_id"], ["consultations.city_id", "consultations.id"],
                             name="fk_consultation_answers_consultation", ondelete="CASCADE"),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        """The school its own answers; the city its schools' answers."""
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.city_id is not None:
            return cls.city_id == tenant.city_id
        return false()
