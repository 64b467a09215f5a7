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
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import extract
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
from tenants.registry import template_versions
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


class CardSource(enum.StrEnum):
    """Where a registry entry comes from (docs/domain.md §24): a card Legitka ordered, or one the
    school issued before Legitka and imported from its register."""

    LEGITKA = "legitka"
    IMPORT = "import"


class CardMedium(enum.StrEnum):
    ID1 = "id1"  # the plastic e-legitymacja (ID-1)
    PAPER = "paper"  # the old paper booklet, issued until 12.07.2024 (docs/domain.md §7); imported only


def _version_in_force(context) -> str | None:
    """A new card's template version when none is given: the one in force on its issue date
    (docs/domain.md §25); None for an imported entry without a template (§24)."""
    values = context.get_current_parameters()
    if not values.get("template_code"):
        return None
    return template_versions.in_force(values["template_code"], values["issue_date"]).key


class Card(SchoolOwned, TimestampMixin, Base):
    """One entry of the school's registry of issued cards (ewidencja): the number is for ever."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # The sequence the number comes from: 0 = the school's continuous numbering, a year = the
    # numbering that restarts at 1 each calendar year of issue (docs/domain.md §5).
    numbering_year: Mapped[int] = mapped_column(Integer, default=0)
    # An imported entry (docs/domain.md §24) has no application and no order, and no pupil when its
    # holder is not (or no longer) a pupil of the school; the check constraints below say so.
    pupil_id: Mapped[int | None] = mapped_column(Id)
    application_id: Mapped[int | None] = mapped_column(Id)
    order_id: Mapped[int | None] = mapped_column(Id)
    template_code: Mapped[str] = mapped_column(String(12))  # "" for an imported card whose template is unknown
    issue_date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)  # None only for a paper card (valid until leaving)
    # the version of the template the card is printed with, for ever (docs/domain.md §25); None only
    # for an imported entry, whose template the old register does not name (§24)
    template_version: Mapped[str | None] = mapped_column(String(template_versions.KEY_LENGTH),
                                                         default=_version_in_force)
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
    source: Mapped[str] = mapped_column(String(8), default=CardSource.LEGITKA.value, server_default="legitka")
    medium: Mapped[str] = mapped_column(String(8), default=CardMedium.ID1.value, server_default="id1")
    # Imported entries: the holder as the school's register names them (the name and class also
    # for a matched pupil, as they were; the PESEL only without a pupil, encrypted like a pupil's).
    holder_name: Mapped[str] = mapped_column(String(200), default="", server_default="")  # "Surname First names"
    holder_class: Mapped[str] = mapped_column(String(20), default="", server_default="")
    holder_birth: Mapped[dt.date | None] = mapped_column(Date)
    holder_pesel_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    import_id: Mapped[int | None] = mapped_column(Id)  # the registry import (`imports` row) that wrote it

    __table_args__ = (
        UniqueConstraint("school_id", "numbering_year", "number"),
        UniqueConstraint("school_id", "id"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("numbering_year >= 0", name="numbering_year_non_negative"),
        CheckConstraint("source IN ('legitka', 'import')", name="source"),
        CheckConstraint("source = 'import' OR template_version IS NOT NULL", name="legitka_card_version"),
        CheckConstraint("medium IN ('id1', 'paper')", name="medium"),
        # A Legitka card came from an application and an order, for a pupil, on an ID-1 blank.
        CheckConstraint("source = 'import' OR (application_id IS NOT NULL AND order_id IS NOT NULL AND "
                        "pupil_id IS NOT NULL AND medium = 'id1' AND import_id IS NULL)", name="legitka_card"),
        # An imported card has neither, and names its holder (a pupil, or the register's name).
        CheckConstraint("source = 'legitka' OR (application_id IS NULL AND order_id IS NULL AND "
                        "(pupil_id IS NOT NULL OR holder_name <> ''))", name="imported_card"),
        # Paper cards were issued until 12.07.2024 and have no validity date; an ID-1 card has one.
        CheckConstraint("(medium = 'paper' AND issue_date <= '2024-07-12' AND valid_until IS NULL) OR "
                        "(medium = 'id1' AND valid_until IS NOT NULL)", name="medium_dates"),
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
    def imported(self) -> bool:
        return self.source == CardSource.IMPORT.value

    @property
    def paper(self) -> bool:
        return self.medium == CardMedium.PAPER.value

    @property
    def holder_full_name(self) -> str:
        """"Surname First names" — the pupil's, or the register's for an imported entry without one."""
        pupil = self.pupil if self.pupil_id is not None else None
        return f"{pupil.surname} {pupil.first_names}" if pupil is not None else self.holder_name

    @property
    def holder_class_name(self) -> str:
        pupil = self.pupil if self.pupil_id is not None else None
        return pupil.class_name if pupil is not None else self.holder_class

    @property
    def kind_label(self) -> str:
        """The template column of the registry: the template, "papierowa", or "—" when unknown."""
        return "papierowa" if self.paper else (self.template_code or "—")

    @property
    def version(self) -> template_versions.Version | None:
        if not self.template_version:
            return None
        return template_versions.find(self.template_code, self.template_version)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_CARD_STATUSES

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Where the card stands in the registry (`registry_order`)."""
        return (self.issue_date.year, self.numbering_year, self.number)


def registry_order() -> tuple:
    """The registry's order, by the year of issue, then the sequence, then the number: 249, 250
    (continuous, 2025), then 1/2026, 2/2026, 10/2026 — never "10/2026" before "2/2026" as text
    would sort (docs/domain.md §5)."""
    return (extract("year", Card.issue_date), Card.numbering_year, Card.number)


class SchoolCounter(SchoolOwned, Base):
    """The last registry number a school has given out in one sequence: `year` 0 is the
    continuous numbering, a calendar year the numbering that restarts each year (docs/domain.md
    §5). Numbers come from a row lock, not a sequence, because sequences leave gaps on rollback
    (docs/security.md §2.4); `tenants.registry.numbering` is the only writer."""

    __tablename__ = "school_counters"

    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    last_no: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("last_no >= 0", name="last_no_non_negative"),
                      CheckConstraint("year >= 0", name="year_non_negative"))


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
