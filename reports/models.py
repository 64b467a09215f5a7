"""Anonymous statistics the city reads (docs/security.md T1.13): per-school counts and one fact row
per card, with no pupil reference, no name, no PESEL. Schools' jobs write them under the
school's tenant (reports.statistics); the city reads them through its own row-level policy.
They outlive the pupils' data: deleting a pupil under retention rules leaves the counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id


class _SchoolOrCity:
    """Written by its school; read by the school and by the school's city."""

    __school_owned__ = True

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.city_id is not None:
            return cls.city_id == tenant.city_id
        return false()


class SchoolStats(_SchoolOrCity, Base):
    """A school's counts at `computed_at` (one row per school, replaced on each refresh)."""

    __tablename__ = "school_stats"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    pupils_active: Mapped[int] = mapped_column(Integer, default=0)
    # the work to do (docs/domain.md §26): no valid card (never had one / lost validity) + open requests
    pupils_needing_card: Mapped[int] = mapped_column(Integer, default=0)
    needing_new: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    needing_invalidated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    needing_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pupils_valid_ecard: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # handed over
    pupils_without_photo: Mapped[int] = mapped_column(Integer, default=0)
    paper_cards: Mapped[int] = mapped_column(Integer, default=0)  # active pupils holding a valid paper card
    # of those holding a valid card, the ones whose card came from the earlier register (docs/domain.md §24)
    valid_cards_imported: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mleg_registered: Mapped[int] = mapped_column(Integer, default=0)
    applications_open: Mapped[int] = mapped_column(Integer, default=0)  # submitted or approved, not ordered
    applications_total: Mapped[int] = mapped_column(Integer, default=0)
    cards_ordered: Mapped[int] = mapped_column(Integer, default=0)
    cards_delivered: Mapped[int] = mapped_column(Integer, default=0)  # delivered or later
    cards_handed_over: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_paid: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_fees: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    # pupils in the first year of this school's cycle now: the estimate of the coming intake
    forecast_first_year: Mapped[int] = mapped_column(Integer, default=0)
    # {"2026": {"pupils": 410, "first_year": 52}}: this school year's entry rewritten on each refresh
    year_history: Mapped[dict] = mapped_column(JSON, default=dict)
    # reports.forecast.summary: {"coming": …, "last": …, "actual": …}
    forecast: Mapped[dict] = mapped_column(JSON, default=dict)
    # the school's hologram ledger: {"2026": {"in_stock": 40, "issued": 310}} (school year → state → count)
    hologram_counts: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("school_id", "id"),)


class CardFact(_SchoolOrCity, Base):
    """One issued card, anonymously: when it was applied for, ordered, delivered, handed over;
    through which channel and printer; what it cost (the frozen quote's share) and what fee came in."""

    __tablename__ = "card_facts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    card_id: Mapped[int] = mapped_column(Id)
    order_id: Mapped[int] = mapped_column(Id, index=True)
    channel: Mapped[str] = mapped_column(String(12))
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(12))  # first / replacement / duplicate
    status: Mapped[str] = mapped_column(String(12))  # the card's status at the last refresh
    applied_on: Mapped[dt.date | None] = mapped_column(Date)
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    handed_over_on: Mapped[dt.date | None] = mapped_column(Date)
    promised_days: Mapped[int | None] = mapped_column(Integer)  # the printer's lead time on the quote
    cost: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))  # total ÷ cards of the order
    fee: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))  # duplicate fee paid
    print_rejections: Mapped[int] = mapped_column(Integer, default=0)  # times a printer rejected this card

    __table_args__ = (UniqueConstraint("school_id", "id"), UniqueConstraint("school_id", "card_id"),
                      Index("ix_card_facts_city_id_submitted_on", "city_id", "submitted_on"),
                      Index("ix_card_facts_city_id_handed_over_on", "city_id", "handed_over_on"))


class OrderFacts(_SchoolOrCity, Base):
    """The card facts of one order summed up, per delivery day (an order's delivered cards share
    it; the rest have none): rebuilt from `card_facts` on each refresh, so it holds exactly what
    they hold, a few hundred rows a year per city instead of every card. The dashboard's money,
    punctuality, blanks and budget figures read these (reports.aggregates)."""

    __tablename__ = "order_facts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    order_id: Mapped[int] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(12))
    printer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)  # None: these cards have not come
    promised_days: Mapped[int | None] = mapped_column(Integer)
    cards: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # the sum of the cards' costs
    paid: Mapped[int] = mapped_column(Integer)  # duplicates with a fee paid
    fees: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    live_waiting: Mapped[int] = mapped_column(Integer)  # live cards not delivered (late once the promise passed)
    spoiled: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)  # cards a printer rejected at least once

    __table_args__ = (UniqueConstraint("school_id", "id"), Index("ix_order_facts_city_id_submitted_on",
                                                                  "city_id", "submitted_on"))


class CouncilReport(Base):
    """A PDF report for the city council that a city official asked for: its filters, and, once
    the job has built it (reports.council_report.build), where the file is. The city's alone;
    only its newest `council_report.KEEP` reports are kept."""

    __tablename__ = "council_reports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # the dashboard's filters (reports.filters.Filters) and the day the numbers are for
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    school_type: Mapped[str] = mapped_column(String(20), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued / running / ready / failed
    file_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(String(300), default="", server_default="")  # why it failed (Polish)
    # The job's safety net (infra.jobs): the attempt holding it and until when, and the jobs sent for it.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        return cls.city_id == tenant.city_id if tenant.city_id is not None else false()
