"""A school's pupils and their card applications (first card, replacement, duplicate).

Tenant-owned: see `tenants.tenancy.models` for the rule every school's table follows."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import LargeBinary
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from infra import clock
from infra.db import Base
from infra.db import TimestampMixin
from infra.db import UTCDateTime
from tenants.pupils import card_templates
from tenants.tenancy.models import Id
from tenants.tenancy.models import SchoolOwned


class LearnerType(enum.StrEnum):
    PUPIL = "pupil"
    ADULT = "adult"
    PRESCHOOL = "preschool"


class PupilStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"
    TRANSFERRED = "transferred"


class PhotoStatus(enum.StrEnum):
    """Where the pupil's photo stands: the filter on the pupil list and the parent's view."""

    MISSING = "missing"
    PENDING = "pending"  # a parent or a ZIP import sent one; the secretary has not decided yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# How a paper card stopped being valid (docs/domain.md §21); the keys are stored.
PAPER_CARD_ENDS = {
    "returned": "zwrócona przy wydaniu e-legitymacji",
    "lost": "utracona — wydano duplikat",
}


class Pupil(SchoolOwned, TimestampMixin, Base):
    """A pupil of the school. PESEL and the number of another identity document are stored
    encrypted, with a keyed blind index for lookups and duplicates; the address is kept for
    mLegitymacja and never printed."""

    __tablename__ = "pupils"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    first_names: Mapped[str] = mapped_column(String(100))
    surname: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))  # from the PESEL; unknown without one
    pesel_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    pesel_index: Mapped[str | None] = mapped_column(String(64))
    # Pupils without a PESEL: the card shows the name and number of another identity document.
    id_document_type: Mapped[str] = mapped_column(String(60), default="")
    id_document_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_document_index: Mapped[str | None] = mapped_column(String(64))
    book_number: Mapped[str] = mapped_column(String(20), default="")  # numer w księdze uczniów
    class_name: Mapped[str] = mapped_column(String(20), default="")
    learner_type: Mapped[str] = mapped_column(String(12), default=LearnerType.PUPIL.value)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default=PupilStatus.ACTIVE.value)
    address: Mapped[str] = mapped_column(String(300), default="")
    parent_email: Mapped[str] = mapped_column(String(254), default="")
    photo_key: Mapped[str | None] = mapped_column(String(200))
    photo_uploaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    photo_status: Mapped[str] = mapped_column(String(12), default=PhotoStatus.MISSING.value)
    # A paper card issued under the old templates before 13 July 2024 stays valid until the
    # pupil leaves the school (docs/domain.md §7).
    paper_card_number: Mapped[str] = mapped_column(String(30), default="")
    paper_card_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    # An e-card for a paper-card holder is an exchange: the paper card stops being valid when the
    # new card is handed over, returned or recorded lost (docs/domain.md §21). Who: the change log.
    paper_card_invalidated_on: Mapped[dt.date | None] = mapped_column(Date)
    paper_card_invalidation: Mapped[str] = mapped_column(String(20), default="")  # PAPER_CARD_ENDS
    # mLegitymacja: entered in SIO by hand (no public API); Legitka keeps the to-do list.
    # The objection of the parents, or of the adult learner themself (docs/domain.md §21).
    mleg_objection_on: Mapped[dt.date | None] = mapped_column(Date)
    mleg_card_id: Mapped[int | None] = mapped_column(Id)  # the card the SIO entry was made for
    mleg_registered_on: Mapped[dt.date | None] = mapped_column(Date)
    mleg_invalidated_on: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "pesel_index"),
        UniqueConstraint("school_id", "id_document_index"),
        CheckConstraint("sex IN ('K', 'M')", name="sex"),
        CheckConstraint("status IN ('active', 'left', 'transferred')", name="status"),
        CheckConstraint("pesel_index IS NOT NULL OR id_document_index IS NOT NULL", name="identified"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.surname}"

    @property
    def card_choice(self) -> card_templates.Choice:
        """The card template (wzór) for this learner today, or why there is none (docs/domain.md §2)."""
        return card_templates.choose(self.learner_type, self.disabled, self.date_of_birth, clock.today())

    @property
    def template_code(self) -> str | None:
        """The card template (wzór) for this learner today; None: no card (docs/domain.md §2)."""
        return self.card_choice.template

    @property
    def holds_paper_card(self) -> bool:
        """A paper card is recorded and still valid: no e-card has been handed over in exchange
        for it (docs/domain.md §7, §21)."""
        return bool(self.paper_card_number) and self.paper_card_invalidated_on is None

    @property
    def paper_card_end_label(self) -> str:
        return PAPER_CARD_ENDS.get(self.paper_card_invalidation, self.paper_card_invalidation)

    @property
    def objects_for_themself(self) -> bool:
        """An adult learner (słuchacz) objects to the mLegitymacja themself, not a parent (docs/domain.md §21)."""
        return self.learner_type == LearnerType.ADULT.value


class ApplicationKind(enum.StrEnum):
    FIRST = "first"
    REPLACEMENT = "replacement"
    DUPLICATE = "duplicate"


# Why a replacement or a duplicate is asked for (docs/domain.md §6, §21); the keys are stored.
REPLACEMENT_REASONS = {
    "data_error": "błąd w danych na legitymacji",
    "name_change": "zmiana imienia lub nazwiska",
    "outdated_photo": "nieaktualne zdjęcie",
    "new_certificate": "nowe orzeczenie o niepełnosprawności (wzór z literą N)",
    "no_stamp_room": "brak miejsca na hologramy (legitymacja papierowa)",
}
# Reasons no longer offered; old applications keep their label. The address is not printed on
# the card, so a change of address needs no new card (docs/domain.md §21).
RETIRED_REASONS = {
    "address_change": "zmiana adresu (nie wymaga nowej legitymacji)",
}
DUPLICATE_REASONS = {
    "lost": "utrata (zgubienie)",
    "stolen": "kradzież",
    "destroyed": "zniszczenie",
}


class ApplicationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ORDERED = "ordered"
    ISSUED = "issued"


class Application(SchoolOwned, TimestampMixin, Base):
    """A request for a card (first, replacement or duplicate), decided by the director."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default=ApplicationStatus.SUBMITTED.value)
    fee_amount: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    # the legal basis of the fee in force on the day the application was made, kept with it for
    # ever like the amount ("" for a free application; docs/domain.md §25)
    fee_basis: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    order_id: Mapped[int | None] = mapped_column(Id)
    reason_code: Mapped[str] = mapped_column(String(20), default="")  # REPLACEMENT_/DUPLICATE_REASONS
    # Replacement: the old card comes back to the school before the new one is approved.
    old_card_returned_on: Mapped[dt.date | None] = mapped_column(Date)
    # The paper card this application exchanges, if the pupil held a valid one when applying: it
    # stays valid until the new card is handed over (docs/domain.md §21).
    paper_card_number: Mapped[str] = mapped_column(String(30), default="")
    # Duplicate: the 9 zł fee, as paid into the school's account and checked by a member of staff.
    payment_amount: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    payment_date: Mapped[dt.date | None] = mapped_column(Date)
    payment_reference: Mapped[str] = mapped_column(String(100), default="")
    payment_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payment_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
        ForeignKeyConstraint(["school_id", "order_id"], ["print_orders.school_id", "print_orders.id"]),
    )

    pupil: Mapped[Pupil] = relationship(
        primaryjoin="and_(Application.pupil_id == Pupil.id, Application.school_id == Pupil.school_id)",
        foreign_keys="[Application.pupil_id, Application.school_id]", viewonly=True)

    @property
    def reason_label(self) -> str:
        return {**REPLACEMENT_REASONS, **RETIRED_REASONS, **DUPLICATE_REASONS}.get(self.reason_code, self.reason)

    @property
    def payment_recorded(self) -> bool:
        return self.payment_checked_at is not None


class DuplicateFee(TimestampMixin, Base):
    """The duplicate fee for a period (docs/domain.md §25): the stamp duty for certifying a
    signature, national law, so one table for the whole platform, kept by the platform admin.
    Periods never overlap (tenants.pupils.fees checks it); `valid_to` None: until further notice.
    An application keeps the amount and basis it was made with (`Application.fee_amount`,
    `fee_basis`), so no change here alters one already made."""

    __tablename__ = "duplicate_fees"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the migration's seed
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period"),
        UniqueConstraint("valid_from"),
    )

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)
