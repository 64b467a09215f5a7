"""Print orders, printers' price tiers and the outbox that drives batch jobs."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
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
from tenants.context import Tenant
from tenants.models import Id
from tenants.models import Organisation
from tenants.models import SchoolOwned


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"
    DOWNLOADED = "downloaded"
    PRINTED = "printed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class PriceTier(Base):
    """A printer's unit price (gross, zł) from `min_quantity` cards upwards."""

    __tablename__ = "price_tiers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    min_quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(8, 2))

    __table_args__ = (
        UniqueConstraint("printer_id", "min_quantity"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )


class PrintOrder(TimestampMixin, Base):
    """A school's order for a batch of cards from one printer.

    Visible to the ordering school, to the printer it is addressed to and to the school's city
    (metadata and counts only: the city never reaches a pupil through it).
    """

    __tablename__ = "print_orders"
    __school_owned__ = True  # only a school creates its orders (tenants.scoping)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.DRAFT.value)
    card_count: Mapped[int] = mapped_column(Integer, default=0)
    handed_over_count: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    total_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    first_number: Mapped[int | None] = mapped_column(Integer)
    last_number: Mapped[int | None] = mapped_column(Integer)
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

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        CheckConstraint("card_count >= 0", name="card_count_non_negative"),
        CheckConstraint("handed_over_count >= 0 AND handed_over_count <= card_count", name="handed_over_bounds"),
    )

    school: Mapped[Organisation] = relationship(foreign_keys=[school_id])
    printer: Mapped[Organisation] = relationship(foreign_keys=[printer_id])

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

    @property
    def number_range(self) -> str:
        if self.first_number is None:
            return ""
        if self.first_number == self.last_number:
            return str(self.first_number)
        return f"{self.first_number}–{self.last_number}"


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
