"""The card registry (each card a school has ordered, with its number for ever), the hologram
ledger and the blank ledger.

Cards: a registry number is never reused; `SchoolCounter` gives them out without gaps.

Holograms: strictly accounted forms, one row per serial, in exactly one state.

in_stock → issued (to one card for one school year) | voided (protocol) ;
in_stock | voided → destroyed (protocol). Stock is a count of rows, so it cannot go negative;
issuing is a compare-and-set on the row's state, so a serial is never issued twice.

Blanks (docs/domain.md §22): the same, per holder of stock (a school with its own printer, or a
printer), in_stock → used (one card) → spoiled ; in_stock → spoiled ; in_stock | spoiled →
destroyed (protocol). A spoiled card is destroyed by the school's protocol (`CardDestruction`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from infra.db import Base
from infra.db import TimestampMixin
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.pupils.models import Pupil
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import SchoolOwned


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


class HologramState(enum.StrEnum):
    IN_STOCK = "in_stock"
    ISSUED = "issued"
    VOIDED = "voided"
    DESTROYED = "destroyed"


class HologramDelivery(SchoolOwned, Base):
    """A delivery of holograms received by the school: a serial range for one school year."""

    __tablename__ = "hologram_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    school_year: Mapped[int] = mapped_column(Integer)  # 2026 = school year 2026/27
    supplier: Mapped[str] = mapped_column(String(200))
    received_on: Mapped[dt.date] = mapped_column(Date)
    first_serial: Mapped[str] = mapped_column(String(30))
    last_serial: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("school_id", "id"), CheckConstraint("count > 0", name="count_positive"))


class HologramProtocol(SchoolOwned, Base):
    """A protocol voiding or destroying holograms: date, committee, reason (docs/domain.md, source 002 §3.6)."""

    __tablename__ = "hologram_protocols"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "void" | "destroy"
    held_on: Mapped[dt.date] = mapped_column(Date)
    committee: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("school_id", "id"),
                      CheckConstraint("kind IN ('void', 'destroy')", name="kind"))


class Hologram(SchoolOwned, Base):
    """One serial. The city may read its schools' rows (counts for its ledger); they hold no
    personal data, only ids."""

    __tablename__ = "holograms"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    serial: Mapped[str] = mapped_column(String(30))
    school_year: Mapped[int] = mapped_column(Integer)
    delivery_id: Mapped[int] = mapped_column(Id)
    state: Mapped[str] = mapped_column(String(10), default=HologramState.IN_STOCK.value)
    card_id: Mapped[int | None] = mapped_column(Id)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_protocol_id: Mapped[int | None] = mapped_column(Id)
    destroy_protocol_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "serial"),
        CheckConstraint("state IN ('in_stock', 'issued', 'voided', 'destroyed')", name="state"),
        CheckConstraint("(state = 'issued') = (card_id IS NOT NULL)", name="issued_has_card"),
        ForeignKeyConstraint(["school_id", "delivery_id"], ["hologram_deliveries.school_id", "hologram_deliveries.id"]),
        ForeignKeyConstraint(["school_id", "card_id"], ["cards.school_id", "cards.id"]),
        ForeignKeyConstraint(["school_id", "void_protocol_id"],
                             ["hologram_protocols.school_id", "hologram_protocols.id"],
                             name="fk_holograms_void_protocol"),
        ForeignKeyConstraint(["school_id", "destroy_protocol_id"],
                             ["hologram_protocols.school_id", "hologram_protocols.id"],
                             name="fk_holograms_destroy_protocol"),
        # At most one hologram per card per school year.
        Index("uq_holograms_one_per_card_and_year", "school_id", "card_id", "school_year", unique=True,
              postgresql_where=text("state = 'issued'"), sqlite_where=text("state = 'issued'")),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.city_id is not None:
            return cls.school_id.in_(select(Organisation.id).where(Organisation.city_id == tenant.city_id))
        return false()


# --- blanks (docs/domain.md §22) ----------------------------------------------------------------


class HolderOwned:
    """Rows of a holder of blank stock: a school printing on its own printer, or a printer (the
    city's print centre). Visible only to that organisation, whichever kind it is."""

    __holder_owned__ = True  # new rows must belong to the current tenant (tenants.tenancy.scoping)

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        holder = tenant.school_id or tenant.printer_id
        return cls.holder_id == holder if holder is not None else false()


class BlankState(enum.StrEnum):
    IN_STOCK = "in_stock"
    USED = "used"  # printed on for one card (the printer's or the school's report)
    SPOILED = "spoiled"  # printed on but never handed over (misprint, the card spoiled), or defective
    DESTROYED = "destroyed"  # by a protocol


class BlankDelivery(HolderOwned, Base):
    """Blanks received into stock: one serial range."""

    __tablename__ = "blank_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    supplier: Mapped[str] = mapped_column(String(200))
    received_on: Mapped[dt.date] = mapped_column(Date)
    first_serial: Mapped[str] = mapped_column(String(40))
    last_serial: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("holder_id", "id"), CheckConstraint("count > 0", name="count_positive"))


class BlankProtocol(HolderOwned, Base):
    """A destruction protocol: when, the committee, why; which cards and blanks it covers are the
    rows pointing at it (`CardDestruction`, `Blank.protocol_id`)."""

    __tablename__ = "blank_protocols"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    committee: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("holder_id", "id"),)


class Blank(HolderOwned, Base):
    """One blank serial of a holder, in exactly one state. A used blank names its card (the
    card's school and id: a print centre prints for many schools, and sees only the ids)."""

    __tablename__ = "blanks"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[int] = mapped_column(Id)
    state: Mapped[str] = mapped_column(String(10), default=BlankState.IN_STOCK.value)
    card_school_id: Mapped[int | None] = mapped_column(Id)
    card_id: Mapped[int | None] = mapped_column(Id)
    card_label: Mapped[str] = mapped_column(String(30), default="")  # as printed, for the holder's own lists
    used_on: Mapped[dt.date | None] = mapped_column(Date)
    spoiled_on: Mapped[dt.date | None] = mapped_column(Date)
    spoil_reason: Mapped[str] = mapped_column(String(300), default="")
    spoiled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    protocol_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("holder_id", "id"),
        UniqueConstraint("holder_id", "serial"),
        CheckConstraint("state IN ('in_stock', 'used', 'spoiled', 'destroyed')", name="state"),
        CheckConstraint("state <> 'used' OR card_id IS NOT NULL", name="used_has_card"),
        CheckConstraint("state <> 'in_stock' OR card_id IS NULL", name="in_stock_has_no_card"),
        CheckConstraint("(card_id IS NULL) = (card_school_id IS NULL)", name="card_pair"),
        CheckConstraint("(state = 'destroyed') = (protocol_id IS NOT NULL)", name="destroyed_by_protocol"),
        ForeignKeyConstraint(["holder_id", "delivery_id"], ["blank_deliveries.holder_id", "blank_deliveries.id"]),
        ForeignKeyConstraint(["holder_id", "protocol_id"], ["blank_protocols.holder_id", "blank_protocols.id"]),
        ForeignKeyConstraint(["card_school_id", "card_id"], ["cards.school_id", "cards.id"]),
        # A card is printed on one blank at a time.
        Index("uq_blanks_one_used_per_card", "card_school_id", "card_id", unique=True,
              postgresql_where=text("state = 'used'"), sqlite_where=text("state = 'used'")),
    )


class CardDestruction(SchoolOwned, Base):
    """A spoiled card destroyed by one of the school's protocols, once; its number and blank
    serial as they were, for the protocol."""

    __tablename__ = "card_destructions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    card_id: Mapped[int] = mapped_column(Id)
    protocol_id: Mapped[int] = mapped_column(Id)
    card_label: Mapped[str] = mapped_column(String(30))
    blank_serial: Mapped[str] = mapped_column(String(40), default="")

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "card_id"),  # destroyed once
        ForeignKeyConstraint(["school_id", "card_id"], ["cards.school_id", "cards.id"]),
        ForeignKeyConstraint(["school_id", "protocol_id"], ["blank_protocols.holder_id", "blank_protocols.id"]),
    )
