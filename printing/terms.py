"""What a channel costs and how a printer's machine is set up: the printer's own terms (lead
time, season surcharge, shipping, pre-printed blanks, calibration) and the school's own card
printer with its cost profile. Values come from forms as text; errors are Polish."""

from __future__ import annotations

import re
from decimal import Decimal
from decimal import InvalidOperation

from sqlalchemy import select

from infra.db import db
from infra.db import utcnow
from printing.models import SchoolPrinter
from printing.render import MAX_BLEED_MM
from printing.render import MAX_OFFSET_MM
from tenants.actors import Actor
from tenants.context import require_school
from tenants.models import Organisation
from tenants.operations import OperationError


def parse_amount(value, label: str, *, low: Decimal = Decimal("0"), high: Decimal = Decimal("100000000"),
                 code: str = "invalid_amount") -> Decimal:
    """A decimal with two places from user text ("1 234,50" or "1234.5"), within [low, high]."""
    text = str(value if value is not None else "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(text)
        if not amount.is_finite():
            raise InvalidOperation
        amount = amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise OperationError(f"{label}: podaj liczbę, np. 12,50.", code) from None
    if not low <= amount < high:
        raise OperationError(f"{label}: dozwolone od {low} do {high}.", code)
    return amount


def _whole(value, label: str, low: int, high: int) -> int:
    text = str(value or "").strip()
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise OperationError(f"{label}: podaj liczbę całkowitą od {low} do {high}.", "invalid_number")
    return int(text)


def update_printer_terms(actor: Actor, printer: Organisation, form) -> None:
    """A printer's operator sets its lead time, surcharges and calibration (all at once)."""
    if printer.kind != "printer" or actor.organisation_id != printer.id:
        raise OperationError("Nieprawidłowa drukarnia.")
    offset = Decimal(str(MAX_OFFSET_MM))
    printer.lead_time_days = _whole(form.get("lead_time_days"), "Czas realizacji (dni)", 1, 120)
    printer.season_surcharge = parse_amount(form.get("season_surcharge"), "Dopłata sezonowa", high=Decimal("100"))
    printer.shipping_price = parse_amount(form.get("shipping_price"), "Wysyłka", high=Decimal("1000"))
    printer.preprinted_blanks = form.get("preprinted_blanks") == "on"
    printer.offset_x_mm = parse_amount(form.get("offset_x_mm"), "Przesunięcie w poziomie", low=-offset,
                                       high=offset + Decimal("0.01"))
    printer.offset_y_mm = parse_amount(form.get("offset_y_mm"), "Przesunięcie w pionie", low=-offset,
                                       high=offset + Decimal("0.01"))
    printer.bleed_mm = parse_amount(form.get("bleed_mm"), "Spad", high=Decimal(str(MAX_BLEED_MM)) + Decimal("0.01"))
    db.session.flush()


def school_printer() -> SchoolPrinter | None:
    return db.session.scalar(select(SchoolPrinter).where(SchoolPrinter.school_id == require_school()))


def save_school_printer(actor: Actor, school: Organisation, form) -> SchoolPrinter:
    """Record or update the school's own card printer and what its consumables cost."""
    school_id = require_school()
    model = " ".join("".join(c for c in str(form.get("model") or "") if c.isprintable()).split())
    if not model:
        raise OperationError("Podaj model drukarki, np. Evolis Primacy 2.")
    profile = school_printer() or SchoolPrinter(school_id=school_id, city_id=school.city_id)
    profile.model = model[:100]
    profile.purchase_price = parse_amount(form.get("purchase_price"), "Cena drukarki")
    profile.licence_per_year = parse_amount(form.get("licence_per_year"), "Licencja rocznie")
    profile.starter_kit_price = parse_amount(form.get("starter_kit_price"), "Zestaw startowy")
    profile.blank_price = parse_amount(form.get("blank_price"), "Blankiet", high=Decimal("1000"))
    profile.hologram_price = parse_amount(form.get("hologram_price"), "Hologram", high=Decimal("1000"))
    profile.ribbon_price = parse_amount(form.get("ribbon_price"), "Taśma", high=Decimal("10000"))
    profile.ribbon_yield = _whole(form.get("ribbon_yield"), "Wydruków z taśmy", 1, 100000)
    profile.spoilage_percent = parse_amount(form.get("spoilage_percent"), "Odsetek zepsutych kart",
                                            high=Decimal("50"))
    profile.lead_time_days = _whole(form.get("lead_time_days") or "3", "Czas realizacji (dni)", 0, 60)
    profile.updated_at = utcnow()
    db.session.add(profile)
    db.session.flush()
    return profile
