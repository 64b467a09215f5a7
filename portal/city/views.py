"""City officials: the rollout and its cost per school, from order aggregates only."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint
from flask import render_template

from portal.access import require_roles
from portal.security import current_membership
from reports import queries
from tenants.models import Role

bp = Blueprint("city", __name__, url_prefix="/miasto")


@bp.get("/")
@require_roles(Role.CITY_OFFICIAL)
def overview():
    city = current_membership().organisation
    rows = queries.city_rollout(city.id)
    totals = {
        "ordered": sum(r.cards_ordered for r in rows),
        "delivered": sum(r.cards_delivered for r in rows),
        "handed_over": sum(r.cards_handed_over for r in rows),
        "cost": sum((r.total_cost for r in rows), Decimal("0.00")),
    }
    totals["unit_price"] = (totals["cost"] / totals["ordered"]).quantize(Decimal("0.01")) if totals["ordered"] else None
    return render_template("city/overview.html", city=city, rows=rows, totals=totals,
                           orders=queries.city_orders(city.id, limit=20),
                           holograms=queries.city_hologram_ledger(city.id),
                           mismatches=queries.city_invoice_mismatches(city.id),
                           receipts=queries.city_deletion_receipts(city.id, limit=20),
                           schools={o.id: o.name for o in queries.city_schools(city.id)})
