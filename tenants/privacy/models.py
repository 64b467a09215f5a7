"""The tables of the school's data-protection registers (docs/privacy-registers.md).

`DataBreach` is one breach of the school's register: only its identity (who recorded it, when).
Everything about it lives in `DataBreachVersion` rows, one per change, numbered 1, 2, … per breach:
the register is insert-only (docs/privacy-registers.md §3). Nobody updates or deletes a row of
either table: the app's database role has neither privilege, row-level security has no policy for
either, and on PostgreSQL a trigger refuses both even to the owner (migration 0032).

`PrivacyContacts` holds what only the director can say for the records of processing activities
(the controller's name and contact, the data protection officer, other recipients, the school's
own measures): one row per school, changed in place, naming who changed it last.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.models import Id
from tenants.tenancy.models import SchoolOwned


class BreachDecision(enum.StrEnum):
    OPEN = "open"  # not yet decided or not yet reported: the 72-hour clock runs
    REPORTED = "reported"  # notified to the supervisory authority (Prezes UODO)
    NOT_REPORTABLE = "not_reportable"  # unlikely to result in a risk (art. 33(1)): not notified, with the reason


# Limits of the free text (characters).
DESCRIPTION_MAX = 4000
TEXT_MAX = 2000
SHORT_MAX = 300
REFERENCE_MAX = 100
PERSONS_MAX = 10_000_000


class DataBreach(SchoolOwned, Base):
    """A breach in the school's register: its identity only (docs/privacy-registers.md §3)."""

    __tablename__ = "data_breaches"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("school_id", "id"),)


class DataBreachVersion(SchoolOwned, Base):
    """What the register said about one breach from `recorded_at` on, until the next version."""

    __tablename__ = "data_breach_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    breach_id: Mapped[int] = mapped_column(Id, index=True)
    version: Mapped[int] = mapped_column(Integer)
    discovered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX))
    data_categories: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    subject_categories: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    persons_affected: Mapped[int | None] = mapped_column(Integer)
    consequences: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    measures: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    decision: Mapped[str] = mapped_column(String(16), default=BreachDecision.OPEN.value)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    authority_reference: Mapped[str] = mapped_column(String(REFERENCE_MAX), default="")
    delay_reason: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    not_reportable_reason: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    subjects_informed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("decision IN ('open', 'reported', 'not_reportable')", name="decision"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("persons_affected IS NULL OR persons_affected >= 0", name="persons"),
        CheckConstraint("decision <> 'reported' OR reported_at IS NOT NULL", name="reported_when"),
        UniqueConstraint("school_id", "breach_id", "version"),
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "breach_id"], ["data_breaches.school_id", "data_breaches.id"],
                             name="fk_data_breach_versions_breach"),
    )


class PrivacyContacts(SchoolOwned, Base):
    """The director's part of the school's records of processing activities (art. 30(1)(a))."""

    __tablename__ = "privacy_contacts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    controller_name: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    controller_contact: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    dpo_name: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    dpo_contact: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    other_recipients: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    school_measures: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("school_id"), UniqueConstraint("school_id", "id"))
