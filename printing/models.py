"""Print orders, printers' price tiers and the outbox that drives batch jobs."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from infra.db import Base
from infra.db import TimestampMixin
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import SchoolOwned
from tenants.tenancy.models import User


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"
    ACCEPTED = "accepted"  # the printer took the order on (and may now download it)
    REJECTED = "rejected"  # the printer declined it; the school sends it to another printer
    DOWNLOADED = "downloaded"
    PRINTED = "printed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class Channel(enum.StrEnum):
    """Where an order is printed (docs/domain.md §13: the city compares these)."""

    EXTERNAL = "external"  # a printing house under contract
    CITY_CENTRE = "city_centre"  # the city's shared print centre
    OWN = "own"  # the school's own card printer


class PriceTier(Base):
    """A printer's unit price (gross, zł) from `min_quantity` cards upwards."""

    __tablename__ = "price_tiers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    min_quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)  # None: since ever
    valid_until: Mapped[dt.date | None] = mapped_column(Date)  # None: until further notice

    __table_args__ = (
        UniqueConstraint("printer_id", "min_quantity", "valid_from"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )


class SeenByOrderParties:
    """Rows of an order that its school, its printer and its city each see (tenant criteria)."""

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        clauses = []
        if tenant.school_id is not None:
            clauses.append(cls.school_id == tenant.school_id)
        if tenant.printer_id is not None:
            clauses.append(cls.printer_id == tenant.printer_id)
        if tenant.city_id is not None:
            clauses.append(cls.city_id == tenant.city_id)
        return or_(*clauses) if clauses else false()


class PrintOrder(SeenByOrderParties, TimestampMixin, Base):
    """A school's order for a batch of cards from one printer.

    Visible to the ordering school, to the printer it is addressed to and to the school's city
    (metadata and counts only: the city never reaches a pupil through it).
    """

    __tablename__ = "print_orders"
    __school_owned__ = True  # only a school creates its orders (tenants.tenancy.scoping)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # None: printed on the school's own printer (channel "own").
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.DRAFT.value)
    card_count: Mapped[int] = mapped_column(Integer, default=0)
    handed_over_count: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    total_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    first_number: Mapped[int | None] = mapped_column(Integer)
    last_number: Mapped[int | None] = mapped_column(Integer)
    numbering_year: Mapped[int] = mapped_column(Integer, default=0)  # as its cards'
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(String(300), default="")
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_key: Mapped[str | None] = mapped_column(String(200))
    # The encrypted 7z for the printer and its password (AES-GCM like PESELs; shown to the
    # printer's operator in the portal, separately from the download).
    package_key: Mapped[str | None] = mapped_column(String(200))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_password_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(12), default=Channel.EXTERNAL.value)
    # The quote the director accepted, frozen at submission (printing.quotes.Quote.as_dict).
    quote: Mapped[dict | None] = mapped_column(JSON)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    reprint_of_id: Mapped[int | None] = mapped_column(Id)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(80), default="")
    invoice_number: Mapped[str] = mapped_column(String(60), default="")
    invoice_net: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    invoice_vat: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    invoice_gross: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    invoice_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    invoice_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    purge_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint("card_count >= 0", name="card_count_non_negative"),
        CheckConstraint("handed_over_count >= 0 AND handed_over_count <= card_count", name="handed_over_bounds"),
    )

    school: Mapped[Organisation] = relationship(foreign_keys=[school_id])
    printer: Mapped[Organisation | None] = relationship(foreign_keys=[printer_id])

    @property
    def number_range(self) -> str:
        if self.first_number is None:
            return ""
        year = f"/{self.numbering_year}" if self.numbering_year else ""  # per-year numbering: 2/2026–10/2026
        if self.first_number == self.last_number:
            return f"{self.first_number}{year}"
        return f"{self.first_number}{year}–{self.last_number}{year}"


class ItemOutcome(enum.StrEnum):
    PENDING = "pending"
    PRINTED = "printed"
    REJECTED = "rejected"


class OrderItem(Base):
    """One card of an order as the printer sees it: the card's number and template, and the
    printer's result for it. The printer reads and reports here, never in the school's registry;
    the school applies the results to its cards when it confirms delivery."""

    __tablename__ = "order_items"
    __school_owned__ = True

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    order_id: Mapped[int] = mapped_column(Id, index=True)
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    card_id: Mapped[int] = mapped_column(Id)
    card_label: Mapped[str] = mapped_column(String(30))
    template_code: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(10), default=ItemOutcome.PENDING.value)
    blank_serial: Mapped[str] = mapped_column(String(40), default="")
    chip_uid: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "order_id", "card_id"),
        ForeignKeyConstraint(["school_id", "order_id"], ["print_orders.school_id", "print_orders.id"]),
        ForeignKeyConstraint(["school_id", "card_id"], ["cards.school_id", "cards.id"]),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.printer_id is not None:
            return cls.printer_id == tenant.printer_id
        return false()


class DeletionReceipt(Base):
    """Proof that a batch's files left storage (retention, docs/domain.md §12): what, its sha256,
    how many stored versions, when. Kept for the school and the city after the files are gone."""

    __tablename__ = "deletion_receipts"
    __school_owned__ = True

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    order_id: Mapped[int] = mapped_column(Id)
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    files: Mapped[list] = mapped_column(JSON)  # [{"name", "sha256", "versions"}]
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # None while the purge is under way: `files` then holds the plan (the versions found before
    # anything was deleted), and the receipt is shown to nobody until the purge completes it.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "order_id"),  # one receipt per order: purging twice adds none
        ForeignKeyConstraint(["school_id", "order_id"], ["print_orders.school_id", "print_orders.id"]),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.city_id is not None:
            return cls.city_id == tenant.city_id
        return false()


class PrinterDeletion(SeenByOrderParties, Base):
    """The printer's confirmation that it deleted every copy of an order's data after delivery
    (docs/domain.md §23, the agreement's duty under ZEFO §6.3): who confirmed, when, through which
    channel, and how. Written once by the printer; the school and the city read it; nobody changes
    or deletes it (row-level security has no UPDATE or DELETE policy)."""

    __tablename__ = "printer_deletions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    order_id: Mapped[int] = mapped_column(Id)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: through the API
    via: Mapped[str] = mapped_column(String(3))  # "web" | "api"
    api_client: Mapped[str] = mapped_column(String(48), default="")  # the API client's public id
    method: Mapped[str] = mapped_column(String(200), default="")
    statement: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "order_id"),  # one confirmation per order: confirming again adds none
        ForeignKeyConstraint(["school_id", "order_id"], ["print_orders.school_id", "print_orders.id"]),
        CheckConstraint("via IN ('web', 'api')", name="via_known"),
    )

    printer: Mapped[Organisation] = relationship(foreign_keys=[printer_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])


class CostFields:
    """What a card costs on an in-house printer (docs/domain.md §13): fixed costs (printer amortised
    over `amortisation_years`, yearly licence, starter kit) and per-card costs (blank, hologram,
    ribbon ÷ yield, staff minutes × hourly rate), raised by the spoilage rate."""

    model: Mapped[str] = mapped_column(String(100), default="")
    purchase_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    purchased_on: Mapped[dt.date | None] = mapped_column(Date)
    amortisation_years: Mapped[int] = mapped_column(Integer, default=5)
    licence_per_year: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    starter_kit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    blank_price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    hologram_price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    ribbon_price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    ribbon_yield: Mapped[int] = mapped_column(Integer, default=250)
    staff_minutes_per_card: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    spoilage_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0.00"))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=3)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CentreCostProfile(CostFields, Base):
    """What a card really costs the city's print centre (its price list is what schools pay)."""

    __tablename__ = "centre_cost_profiles"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))

    __table_args__ = (UniqueConstraint("city_id", "printer_id"),
                      CheckConstraint("ribbon_yield > 0", name="ribbon_yield_positive"),
                      CheckConstraint("amortisation_years > 0", name="amortisation_positive"))

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        return cls.city_id == tenant.city_id if tenant.city_id is not None else false()


class ReferencePrinter(CostFields, Base):
    """The city's reference "own printer" for the break-even (one per city, editable): what one
    card printer in a school would cost. Until the city saves one, printing.pricing.SINGLE_PRINTER
    (the Szczecin letter's single-printer figures, docs/domain.md §13) stands in."""

    __tablename__ = "reference_printers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)

    __table_args__ = (CheckConstraint("ribbon_yield > 0", name="ribbon_yield_positive"),
                      CheckConstraint("amortisation_years > 0", name="amortisation_positive"))

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        return cls.city_id == tenant.city_id if tenant.city_id is not None else false()


class CityBudget(Base):
    """The city's yearly budget for school ID cards and its rollout target."""

    __tablename__ = "city_budgets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # A school is "behind plan" when it has handed over less than `target_percent` of the cards
    # its pupils need by `target_date`.
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    target_percent: Mapped[int] = mapped_column(Integer, default=90)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("city_id", "year"),
                      CheckConstraint("amount >= 0", name="amount_non_negative"))

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        return cls.city_id == tenant.city_id if tenant.city_id is not None else false()


class SchoolPrinter(CostFields, Base):
    """A school's own card printer and what a card costs on it (docs/domain.md §13 cost model)."""

    __tablename__ = "school_printers"
    __school_owned__ = True

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint("ribbon_yield > 0", name="ribbon_yield_positive"),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.city_id is not None:
            return cls.city_id == tenant.city_id
        return false()


class ApiClient(Base):
    """A printer's machine credentials for the API (OAuth2 client credentials). Only a hash of
    the secret is kept; the secret is shown once, when the client is made."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # docs/security.md T3.17


class ApiToken(Base):
    """An access token issued to an API client; stored as its SHA-256 only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OutboxEvent(SchoolOwned, Base):
    """Work that must happen after a commit (e.g. build a batch). Written in the same
    transaction as the change; a relay enqueues it and re-enqueues it if the job is lost."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    order_id: Mapped[int] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    enqueued_count: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ProcessingAgreement(Base):
    """A school's data-processing agreement with a printer: who, in force from when until when.
    Visible to both parties (the school keeps it; the printer sees what binds it)."""

    __tablename__ = "processing_agreements"
    __school_owned__ = True

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    retention_days: Mapped[int] = mapped_column(Integer, default=7)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("school_id", "id"),
                      CheckConstraint("valid_until >= valid_from", name="period"))

    printer: Mapped[Organisation] = relationship(foreign_keys=[printer_id])

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.printer_id is not None:
            return cls.printer_id == tenant.printer_id
        return false()
