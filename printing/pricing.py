"""A printer's unit price for a quantity, from its tiers (BRIEF.md §13)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from infra.db import db
from printing.models import PriceTier


class NoPriceError(LookupError):
    """The printer has no tier that covers the quantity."""


def tiers(printer_id: int) -> list[PriceTier]:
    return list(db.session.scalars(
        select(PriceTier).where(PriceTier.printer_id == printer_id).order_by(PriceTier.min_quantity)))


def unit_price(printer_id: int, quantity: int) -> Decimal:
    """The price of the highest tier whose `min_quantity` ≤ quantity."""
    if quantity < 1:
        raise ValueError("quantity must be positive")
    price = None
    for tier in tiers(printer_id):
        if tier.min_quantity <= quantity:
            price = tier.unit_price
    if price is None:
        raise NoPriceError(printer_id)
    return Decimal(price)


def total(unit: Decimal, quantity: int) -> Decimal:
    return (unit * quantity).quantize(Decimal("0.01"))
