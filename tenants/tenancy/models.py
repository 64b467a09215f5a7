"""Organisations, their people and sessions, the access log, and what each school's own records share.

The records themselves live with their subject (`tenants.pupils.models`, `tenants.photos.models`,
`tenants.roster.models`, `tenants.registry.models`, `tenants.transfers.models`, `tenants.mail.models`).

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
from sqlalchemy import ForeignKey
from sqlalchemy import Index
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
    # The data protection officer (IOD) of one school, or of every school of a city (docs/dpo.md).
    DATA_PROTECTION_OFFICER = "data_protection_officer"

    @property
    def org_kind(self) -> OrgKind:
        return self.org_kinds[0]

    @property
    def org_kinds(self) -> tuple[OrgKind, ...]:
        """The kinds of organisation a membership of this role may be in."""
        return {
            Role.CITY_OFFICIAL: (OrgKind.CITY,),
            Role.SCHOOL_DIRECTOR: (OrgKind.SCHOOL,),
            Role.SCHOOL_SECRETARY: (OrgKind.SCHOOL,),
            Role.PRINTER_OPERATOR: (OrgKind.PRINTER,),
            Role.DATA_PROTECTION_OFFICER: (OrgKind.CITY, OrgKind.SCHOOL),
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
    # Whether `lead_time_days` counts working days (ZEFO: "no later than 21 working days") or
    # calendar days; docs/domain.md §20.
    lead_time_working: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # A printer's terms beyond its price tiers (printing.quotes): a per-card surcharge in the high
    # season, a shipping charge per order, and how its machine is set up (printing.card_layout.Calibration).
    season_surcharge: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    shipping_price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    preprinted_blanks: Mapped[bool] = mapped_column(Boolean, default=False)  # unread: docs/printing.md (issue 16)
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
    # Schools only: "continuous" ({n} never restarts) or "yearly" ({n} restarts at 1 each calendar
    # year of issue), in force from the year `card_numbering_from`; the years before it use the
    # other one (docs/domain.md §5, tenants.registry.numbering).
    card_numbering: Mapped[str] = mapped_column(String(10), default="continuous")
    card_numbering_from: Mapped[int] = mapped_column(Integer, default=0)
    # The school's procedure (docs/domain.md §20): a card within `promise_days` calendar or working
    # days of a complete application, and the parent told within `notice_working_days` of delivery.
    promise_days: Mapped[int] = mapped_column(Integer, default=30)
    promise_working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_working_days: Mapped[int] = mapped_column(Integer, default=5)
    # Cities only: from which day ("MM-DD") cards are issued for the coming school year; "" = the
    # day after classes end (tenants.registry.school_year, docs/domain.md §4).
    school_year_cutover: Mapped[str] = mapped_column(String(5), default="")

    __table_args__ = (
        CheckConstraint("kind IN ('city', 'school', 'printer')", name="kind"),
        CheckConstraint("kind <> 'school' OR city_id IS NOT NULL", name="school_has_city"),
        CheckConstraint("card_numbering IN ('continuous', 'yearly')", name="card_numbering"),
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
    # Where the sign-in came from (shown at the next one: "Poprzednie logowanie", docs/security.md T2.5),
    # and whether the password was right but the second factor is still owed (T2.3): such a row
    # signs nobody in, and `factor_failures` wrong codes end it.
    ip: Mapped[str] = mapped_column(String(45), default="")
    awaiting_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    factor_failures: Mapped[int] = mapped_column(Integer, default=0)

    # A user's sessions: all ended at once (an account switched off), the last one shown at sign-in.
    __table_args__ = (Index("ix_user_sessions_user_id_created_at", "user_id", "created_at"),)


class SecondFactor(Base):
    """A user's TOTP authenticator (docs/security.md T2.3): the secret, encrypted (AES-GCM), and
    the last time step whose code was accepted, so no code is accepted twice. Written when the
    user's first code proves their app holds the secret (`enrolled_at`)."""

    __tablename__ = "user_second_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One of a user's single-use recovery codes, hashed like a password (docs/security.md T2.3)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class IdentityLink(TimestampMixin, Base):
    """A user's account at a city's OpenID Connect provider: the provider's issuer and its stable
    subject (`sub`) for the person, stored at the first sign-in through it (docs/security.md T2.18,
    `tenants.tenancy.identity_links`). No token and no e-mail: the subject is what stays the same."""

    __tablename__ = "identity_links"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("issuer", "subject"),)


# --- tenant-owned records -----------------------------------------------------------------


class SchoolOwned:
    """Mixin for a school's own rows: visible only while that school is the tenant."""

    __school_owned__ = True  # new rows must belong to the current school (tenants.tenancy.scoping)

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is None:
            return false()
        return cls.school_id == tenant.school_id


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
    school_id: Mapped[int | None] = mapped_column(Id, index=True)  # None: a printer's or city's own denied attempt
    pupil_id: Mapped[int | None] = mapped_column(Id)
    order_id: Mapped[int | None] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(100), default="")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    result: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="")
    api_client: Mapped[str] = mapped_column(String(48), default="")  # the API client that acted (T3.10)
    # The hash chain (docs/security.md T3.11, `tenants.tenancy.audit_chain`): per tenant `chain`
    # ("school:3", "printer:7", "city:1"), its running number, the previous row's hash and this one's.
    chain: Mapped[str] = mapped_column(String(40), default="")
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    row_hash: Mapped[str] = mapped_column(String(64), default="")

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        # As the database's policy: a school's rows, or a printer's or city's own actions.
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.printer_id is not None or tenant.city_id is not None:
            return cls.actor_organisation_id == (tenant.printer_id or tenant.city_id)
        return false()


class AccessLogHead(Base):
    """The head of each tenant's access-log chain (docs/security.md T3.11): the last row's number and
    hash, and the genesis the chain started from. Locked (SELECT … FOR UPDATE) while a row is
    appended, so one tenant's rows are chained one at a time. Holds hashes only, no personal data
    and no ids of pupils, so it has no row-level security; the app role may not DELETE from it."""

    __tablename__ = "access_log_heads"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    genesis_hash: Mapped[str] = mapped_column(String(64))
    genesis_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
