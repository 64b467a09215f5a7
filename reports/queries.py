"""Aggregates for city officials. They read only order metadata (counts, prices, dates),
which the city may see through its own row-level policy; pupils and cards stay invisible."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from infra.db import db
from printing.models import DeletionReceipt
from printing.models import OrderStatus
from printing.models import PrintOrder
from reports.labels import SCHOOL_TYPES
from tenants.registry import holograms
from tenants.registry.models import Hologram
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

_PLACED = [s.value for s in OrderStatus if s is not OrderStatus.DRAFT]


@dataclasses.dataclass(frozen=True)
class SchoolRollout:
    school_id: int
    school_name: str
    school_type: str
    district: str
    cards_ordered: int
    cards_delivered: int
    cards_handed_over: int
    total_cost: Decimal
    orders: int

    @property
    def unit_price(self) -> Decimal | None:
        """Average price paid per card (total ÷ cards ordered)."""
        if not self.cards_ordered:
            return None
        return (self.total_cost / self.cards_ordered).quantize(Decimal("0.01"))


def city_rollout(city_id: int) -> list[SchoolRollout]:
    """One row per school of the city, schools without orders included."""
    delivered = case((PrintOrder.status == OrderStatus.DELIVERED.value, PrintOrder.card_count), else_=0)
    agg = (select(PrintOrder.school_id,
                  func.coalesce(func.sum(PrintOrder.card_count), 0).label("ordered"),
                  func.coalesce(func.sum(delivered), 0).label("delivered"),
                  func.coalesce(func.sum(PrintOrder.handed_over_count), 0).label("handed_over"),
                  func.coalesce(func.sum(PrintOrder.total_price), 0).label("cost"),
                  func.count(PrintOrder.id).label("orders"))
           .where(PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED))
           .group_by(PrintOrder.school_id).subquery())
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.school_type, Organisation.district,
               agg.c.ordered, agg.c.delivered, agg.c.handed_over, agg.c.cost, agg.c.orders)
        .outerjoin(agg, agg.c.school_id == Organisation.id)
        .where(Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == city_id)
        .order_by(Organisation.name)).all()
    return [SchoolRollout(r[0], r[1], r[2] or "", r[3] or "", int(r[4] or 0), int(r[5] or 0), int(r[6] or 0),
                          Decimal(r[7] or 0).quantize(Decimal("0.01")), int(r[8] or 0)) for r in rows]


def city_orders(city_id: int, limit: int = 50) -> list[PrintOrder]:
    """Recent placed orders of the city's schools (metadata only)."""
    return list(db.session.scalars(
        select(PrintOrder).where(PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED))
        .order_by(PrintOrder.submitted_at.desc()).limit(limit)))


@dataclasses.dataclass(frozen=True)
class School:
    """A school of the city as the city's pages show it."""

    id: int
    name: str
    school_type: str
    district: str

    @property
    def type_label(self) -> str:
        return SCHOOL_TYPES.get(self.school_type, self.school_type)


def city_schools(city_id: int) -> list[School]:
    """Every school of the city, by name. The one read of the city's schools: the dashboard, the
    cost comparison and the what-if all take it from here."""
    return [School(i, n, t or "", d or "") for i, n, t, d in db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.school_type, Organisation.district).where(
            Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == city_id)
        .order_by(Organisation.name))]


def city_invoice_mismatches(city_id: int) -> list[PrintOrder]:
    """Orders whose printer invoiced a different amount from the frozen quote."""
    return list(db.session.scalars(
        select(PrintOrder).where(PrintOrder.city_id == city_id, PrintOrder.invoice_mismatch.is_(True))
        .order_by(PrintOrder.invoice_recorded_at.desc())))


def city_deletion_receipts(city_id: int, limit: int = 50) -> list[DeletionReceipt]:
    """The latest receipts of batch files deleted after their retention period (purges still
    under way have no receipt yet)."""
    return list(db.session.scalars(
        select(DeletionReceipt).where(DeletionReceipt.city_id == city_id, DeletionReceipt.deleted_at.is_not(None))
        .order_by(DeletionReceipt.deleted_at.desc()).limit(limit)))


@dataclasses.dataclass
class HologramLedger:
    """One school's holograms by state (all school years)."""

    school_id: int
    school_name: str
    received: int = 0
    in_stock: int = 0
    issued: int = 0
    voided: int = 0
    destroyed: int = 0


def city_hologram_ledger(city_id: int) -> list[HologramLedger]:
    """Received, issued, voided, destroyed and on hand per school of the city; the city's RLS
    policy lets it count its schools' hologram rows, which hold no personal data."""
    schools = db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.kind == "school", Organisation.city_id == city_id).order_by(Organisation.name)).all()
    counts = holograms.state_counts(Hologram.school_id, Hologram.school_id.in_([i for i, _ in schools]))
    return [HologramLedger(school_id, name, received=sum(counts.get(school_id, {}).values()),
                           **counts.get(school_id, {})) for school_id, name in schools]
