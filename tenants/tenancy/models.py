"""Organisations, people and each school's own records.

Tenant-owned models carry `school_id` and define `tenant_criteria`, which the ORM safety net
(`tenants.tenancy.scoping`) adds to every query; PostgreSQL row-level security enforces the same rule
again. Every unique constraint and foreign key on a tenant table includes `school_id`, so a
uniqueness or reference check cannot reveal another school's rows (docs/security.md T1.8).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from infra.db import Base
from infra.db import TimestampMixin
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.context import Tenant

# BIGINT on PostgreSQL (and Citus), INTEGER on SQLite so that it aliases the rowid.
Id = BigInteger().with_variant(Integer, "sqlite")


class OrgKind(enum.StrEnum):
    CITY = "city"
    SCHOOL = "school"
    PRINTER = "printer"


class Role(enum.StrEnum):
    CITY_OFFICIAL = "city_official"
    SCHOOL_DIRECTOR = "school_director"
    SCHOOL_SECRETARY = "school_secretary"
    PRINTER_OPERATOR = "printer_operator"

    @property
    def org_kind(self) -> OrgKind:
        return {
            Role.CITY_OFFICIAL: OrgKind.CITY,
            Role.SCHOOL_DIRECTOR: OrgKind.SCHOOL,
            Role.SCHOOL_SECRETARY: OrgKind.SCHOOL,
            Role.PRINTER_OPERATOR: OrgKind.PRINTER,
        }[self]


class SchoolType(enum.StrEnum):
    PRIMARY = "primary"
    LICEUM = "liceum"
    TECHNIKUM = "technikum"
    BRANZOWA = "branzowa"
    SPECIAL = "special"
    ADULT = "adult"
    PRESCHOOL = "preschool"


class Organisation(TimestampMixin, Base):
    """A city, a school (belongs to a city) or a printer (serves cities through `CityPrinter`)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    school_type: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(6), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    director_name: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    is_city_print_centre: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # A printer's terms beyond its price tiers (printing.quotes): a per-card surcharge in the high
    # season, a shipping charge per order, and how its machine is set up (printing.card_layout.Calibration).
    season_surcharge: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    shipping_price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    preprinted_blanks: Mapped[bool] = mapped_column(Boolean, default=False)
    # Price-list terms (reports.costs): the high season as "MM-DD" days, VAT on the gross tier
    # prices, and how many cards one parcel takes (0: one parcel per order).
    season_from: Mapped[str] = mapped_column(String(5), default="08-15")
    season_until: Mapped[str] = mapped_column(String(5), default="10-31")
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("23.00"))
    parcel_capacity: Mapped[int] = mapped_column(Integer, default=0)
    offset_x_mm: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("0.00"))
    offset_y_mm: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("0.00"))
    bleed_mm: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("0.00"))
    # Schools only: the account duplicate fees are paid into (a validated NRB, 26 digits) and
    # how strictly each automatic photo check applies ({check code: error|warning|off}).
    bank_account: Mapped[str] = mapped_column(String(26), default="")
    photo_policy: Mapped[dict] = mapped_column(JSON, default=dict)
    # How a card's registry number is printed: "{n}" → 123, "{n}/{rok}" → 123/2026.
    card_number_format: Mapped[str] = mapped_column(String(30), default="{n}")

    __table_args__ = (
        CheckConstraint("kind IN ('city', 'school', 'printer')", name="kind"),
        CheckConstraint("kind <> 'school' OR city_id IS NOT NULL", name="school_has_city"),
    )

    city: Mapped[Organisation | None] = relationship(remote_side=[id])

    @property
    def address_line(self) -> str:
        return ", ".join(p for p in (self.street, f"{self.postal_code} {self.town}".strip()) if p)


class CityPrinter(Base):
    """A printer the city has made available to its schools."""

    __tablename__ = "city_printers"

    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", order_by="Membership.id")

    # The interface Flask-Login expects of a user object.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class Membership(TimestampMixin, Base):
    """A user's role in one organisation; a user may hold several and switches explicitly."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(30))

    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role"),)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def tenant(self) -> Tenant:
        org = self.organisation
        if org.kind == OrgKind.SCHOOL.value:
            return Tenant(school_id=org.id)
        if org.kind == OrgKind.PRINTER.value:
            return Tenant(printer_id=org.id)
        return Tenant(city_id=org.id)


class UserSession(Base):
    """A server-side sign-in session: the cookie holds a token whose hash is `id`.

    Signing out ends the row, so a replayed cookie is worthless (docs/security.md T2.5).
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --- tenant-owned records -----------------------------------------------------------------


class SchoolOwned:
    """Mixin for a school's own rows: visible only while that school is the tenant."""

    __school_owned__ = True  # new rows must belong to the current school (tenants.tenancy.scoping)

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is None:
            return false()
        return cls.school_id == tenant.school_id


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
    # mLegitymacja: entered in SIO by hand (no public API); Legitka keeps the to-do list.
    mleg_objection_on: Mapped[dt.date | None] = mapped_column(Date)  # the parent objected
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
    def template_code(self) -> str:
        """The card template (wzór) for this learner, from the brief's §2 table."""
        if self.learner_type == LearnerType.PRESCHOOL.value:
            return "MEiN-I/5"
        if self.learner_type == LearnerType.ADULT.value:
            return "MEiN-I/4-N" if self.disabled else "MEiN-I/2"
        return "MEiN-I/3-N" if self.disabled else "MEiN-I/1"


class ApplicationKind(enum.StrEnum):
    FIRST = "first"
    REPLACEMENT = "replacement"
    DUPLICATE = "duplicate"


# Why a replacement or a duplicate is asked for (docs/domain.md §6); the keys are stored.
REPLACEMENT_REASONS = {
    "data_error": "błąd w danych na legitymacji",
    "name_change": "zmiana imienia lub nazwiska",
    "outdated_photo": "nieaktualne zdjęcie",
    "address_change": "zmiana adresu",
    "no_stamp_room": "brak miejsca na hologramy (legitymacja papierowa)",
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
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    order_id: Mapped[int | None] = mapped_column(Id)
    reason_code: Mapped[str] = mapped_column(String(20), default="")  # REPLACEMENT_/DUPLICATE_REASONS
    # Replacement: the old card comes back to the school before the new one is approved.
    old_card_returned_on: Mapped[dt.date | None] = mapped_column(Date)
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
        return {**REPLACEMENT_REASONS, **DUPLICATE_REASONS}.get(self.reason_code, self.reason)

    @property
    def payment_recorded(self) -> bool:
        return self.payment_checked_at is not None


class CardStatus(enum.StrEnum):
    ORDERED = "ordered"
    PRINTED = "printed"
    DELIVERED = "delivered"
    HANDED_OVER = "handed_over"
    SPOILED = "spoiled"  # never handed over (misprint, damaged, uncollected); the number stays used
    INVALIDATED = "invalidated"  # was valid; see `invalidation_reason`


# Why a card stopped being valid; the keys are stored.
INVALIDATION_REASONS = {
    "replaced": "wymieniona na nową",
    "duplicated": "wydano duplikat",
    "lost": "zgłoszona utrata",
    "left": "uczeń opuścił szkołę",
}
LIVE_CARD_STATUSES = (CardStatus.ORDERED.value, CardStatus.PRINTED.value, CardStatus.DELIVERED.value,
                      CardStatus.HANDED_OVER.value)


class Card(SchoolOwned, TimestampMixin, Base):
    """One entry of the school's registry of issued cards (ewidencja): the number is for ever."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    pupil_id: Mapped[int] = mapped_column(Id)
    application_id: Mapped[int] = mapped_column(Id)
    order_id: Mapped[int] = mapped_column(Id)
    template_code: Mapped[str] = mapped_column(String(12))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=CardStatus.ORDERED.value)
    handed_over_on: Mapped[dt.date | None] = mapped_column(Date)
    collected_by: Mapped[str] = mapped_column(String(200), default="")
    handover_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handover_signed: Mapped[bool] = mapped_column(Boolean, default=False)  # signature on the handover list
    number_label: Mapped[str] = mapped_column(String(30), default="")  # as printed, e.g. "123/2026"
    blank_serial: Mapped[str] = mapped_column(String(40), default="")  # reported by the printer
    chip_uid: Mapped[str] = mapped_column(String(40), default="")
    invalidation_reason: Mapped[str] = mapped_column(String(20), default="")  # INVALIDATION_REASONS
    status_note: Mapped[str] = mapped_column(String(300), default="")  # why spoiled, or more on invalidation
    invalidated_at: Mapped[dt.date | None] = mapped_column(Date)
    replaces_card_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("school_id", "number"),
        UniqueConstraint("school_id", "id"),
        CheckConstraint("number > 0", name="number_positive"),
        ForeignKeyConstraint(["school_id", "replaces_card_id"], ["cards.school_id", "cards.id"]),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
        ForeignKeyConstraint(["school_id", "application_id"], ["applications.school_id", "applications.id"]),
        ForeignKeyConstraint(["school_id", "order_id"], ["print_orders.school_id", "print_orders.id"]),
    )

    pupil: Mapped[Pupil] = relationship(
        primaryjoin="and_(Card.pupil_id == Pupil.id, Card.school_id == Pupil.school_id)",
        foreign_keys="[Card.pupil_id, Card.school_id]", viewonly=True)

    @property
    def label(self) -> str:
        return self.number_label or str(self.number)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_CARD_STATUSES


class SchoolCounter(SchoolOwned, Base):
    """The last registry number a school has given out. Numbers come from a row lock, not a
    sequence, because sequences leave gaps on rollback (docs/security.md §2.4)."""

    __tablename__ = "school_counters"

    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("last_no >= 0", name="last_no_non_negative"),)


class AccessLog(Base):
    """Append-only record of every view of a pupil's data (docs/security.md T3.10).

    The application's database role may INSERT and SELECT only; a trigger refuses UPDATE and
    DELETE even for the owner. Visible to the school whose pupil it concerns.
    """

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(Id)
    actor_role: Mapped[str] = mapped_column(String(30))
    actor_organisation_id: Mapped[int | None] = mapped_column(Id)
    school_id: Mapped[int] = mapped_column(Id, index=True)
    pupil_id: Mapped[int | None] = mapped_column(Id)
    order_id: Mapped[int | None] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(100), default="")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    result: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is None:
            return false()
        return cls.school_id == tenant.school_id


# --- intake: photos and roster imports --------------------------------------------------------


class PhotoSource(enum.StrEnum):
    STAFF = "staff"
    PARENT = "parent"
    ZIP = "zip"
    TRANSFER = "transfer"  # the previous school's photo, taken over when accepting a transfer


class SubmissionStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer photo for the same pupil arrived before a decision


class PhotoSubmission(SchoolOwned, Base):
    """One photo sent for a pupil, already checked, cropped and stored (the original is not kept).

    Staff uploads are accepted at once; parents' and ZIP photos wait in the review queue.
    `findings` holds the automatic checks' warnings as [{code, severity, message}].
    """

    __tablename__ = "photo_submissions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=SubmissionStatus.PENDING.value)
    storage_key: Mapped[str] = mapped_column(String(200))
    findings: Mapped[list] = mapped_column(JSON, default=list)
    notify_email: Mapped[str] = mapped_column(String(254), default="")
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: a parent by link
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
    )

    pupil: Mapped[Pupil] = relationship(
        primaryjoin="and_(PhotoSubmission.pupil_id == Pupil.id, PhotoSubmission.school_id == Pupil.school_id)",
        foreign_keys="[PhotoSubmission.pupil_id, PhotoSubmission.school_id]", viewonly=True)


class PhotoLink(SchoolOwned, Base):
    """A parent's single-purpose link: upload one photo for one pupil, before `expires_at`.

    Only the SHA-256 of the token is stored. A parent has no account and no tenant: the request
    presents the token's hash, and row-level security shows exactly the row with that hash.
    """

    __tablename__ = "photo_links"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.link_hash is not None:
            return cls.token_hash == tenant.link_hash
        return false()


class ImportKind(enum.StrEnum):
    ROSTER = "roster"
    PHOTOS = "photos"


class ImportStatus(enum.StrEnum):
    NEEDS_MAPPING = "needs_mapping"  # columns not recognised: the secretary maps them
    CHECKED = "checked"  # dry run done; waiting for "import the valid rows"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DISCARDED = "discarded"


class RosterImport(SchoolOwned, Base):
    """An uploaded pupil list or photo ZIP on its way in: dry-run report, then a job applies it.

    The uploaded file waits in storage under a random key and is deleted once the import is
    done, failed or discarded. `report` rows name pupils but never hold a PESEL.
    """

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))
    file_key: Mapped[str | None] = mapped_column(String(200))
    layout: Mapped[str] = mapped_column(String(20), default="")
    headers: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    report: Mapped[list] = mapped_column(JSON, default=list)
    error_message: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # While running: until when the attempt holding it must renew its hold (tenants.roster.tasks). Past it, the
    # worker died; the reconciler (tenants.roster.jobs) sends the import again, or after too many sends fails it.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # bumped by each job that takes it
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # jobs sent to the queue for it
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # when the last one was sent

    __table_args__ = (UniqueConstraint("school_id", "id"),)
