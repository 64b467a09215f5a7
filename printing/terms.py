"""What a channel costs and how a printer's machine is set up: the printer's own terms (lead
time, season surcharge and its window, shipping per parcel, cards per parcel, VAT, calibration),
the school's own card printer with its cost profile, and the city print centre's cost profile.
Values come from forms as text; errors are Polish."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import select

from infra import inputs
from infra.db import db
from infra.db import utcnow
from printing.card_layout import MAX_BLEED_MM
from printing.card_layout import MAX_OFFSET_MM
from printing.models import CentreCostProfile
from printing.models import CostFields
from printing.models import ReferencePrinter
from printing.models import SchoolPrinter
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import current_tenant
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation


def parse_amount(value, label: str, *, low: Decimal = Decimal("0"), high: Decimal = Decimal("100000000"),
                 code: str = "invalid_amount") -> Decimal:
    """A decimal with two places from user text ("1 234,50" or "1234.5"), within [low, high)."""
    try:
        amount = inputs.amount(value, low=-inputs.MAX_AMOUNT, high=inputs.MAX_AMOUNT)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj liczbę, np. 12,50.", code) from None
    if not low <= amount < high:
        raise OperationError(f"{label}: dozwolone od {low} do {high}.", code)
    return amount


def _whole(value, label: str, low: int, high: int) -> int:
    try:
        return inputs.whole(value, low=low, high=high)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj liczbę całkowitą od {low} do {high}.", "invalid_number") from None


def parse_day_month(value, label: str) -> str:
    """A day of the year typed as "dd.mm" ("15.08", "1.9", "15-08" too) → stored "MM-DD"."""
    match = re.fullmatch(r"\s*([0-9]{1,2})\s*[.\-/]\s*([0-9]{1,2})\s*\.?\s*", str(value or ""))
    try:
        if not match:
            raise ValueError
        day, month = int(match[1]), int(match[2])
        dt.date(2000, month, day)  # a leap year: 29.02 is a day
    except ValueError:
        raise OperationError(f"{label}: podaj dzień i miesiąc w formacie dd.mm, np. 15.08.",
                             "invalid_day_month") from None
    return f"{month:02d}-{day:02d}"


def day_month(stored: str | None) -> str:
    """"08-15" → "15.08" (how the form shows a stored day)."""
    month, _, day = str(stored or "").partition("-")
    return f"{day}.{month}" if day else ""


def parse_date(value, label: str) -> dt.date | None:
    """An optional date typed as dd.mm.rrrr (or rrrr-mm-dd from a date input), 1900–2099; '' → None."""
    try:
        return inputs.day(value)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj datę w formacie dd.mm.rrrr.", "invalid_date") from None


def _given(form, name: str) -> bool:
    """Whether the form carried the field at all (an older form without it keeps the value)."""
    return form.get(name) is not None


def update_printer_terms(actor: Actor, printer: Organisation, form) -> None:
    """A printer's operator sets its lead time, surcharges and calibration (all at once)."""
    if printer.kind != "printer" or actor.organisation_id != printer.id:
        raise OperationError("Nieprawidłowa drukarnia.")
    offset = Decimal(str(MAX_OFFSET_MM))
    printer.lead_time_days = _whole(form.get("lead_time_days"), "Czas realizacji (dni)", 1, 120)
    if _given(form, "lead_time_unit"):
        unit = form.get("lead_time_unit")
        if unit not in ("calendar", "working"):
            raise OperationError("Wybierz, czy czas realizacji liczy dni kalendarzowe, czy robocze.")
        printer.lead_time_working = unit == "working"
    printer.season_surcharge = parse_amount(form.get("season_surcharge"), "Dopłata sezonowa", high=Decimal("100"))
    printer.shipping_price = parse_amount(form.get("shipping_price"), "Wysyłka (za paczkę)", high=Decimal("1000"))
    if _given(form, "season_from") or _given(form, "season_until"):
        printer.season_from = parse_day_month(form.get("season_from"), "Początek sezonu")
        printer.season_until = parse_day_month(form.get("season_until"), "Koniec sezonu")
    if _given(form, "vat_rate"):
        printer.vat_rate = parse_amount(form.get("vat_rate"), "Stawka VAT (%)", high=Decimal("100"))
    if _given(form, "parcel_capacity"):
        printer.parcel_capacity = _whole(form.get("parcel_capacity"), "Kart w jednej paczce (0 = jedna paczka)",
                                         0, 100000)
    # no "pre-printed blanks" choice any more: every print file is the personalisation only (docs/domain.md §3)
    printer.offset_x_mm = parse_amount(form.get("offset_x_mm"), "Przesunięcie w poziomie", low=-offset,
                                       high=offset + Decimal("0.01"))
    printer.offset_y_mm = parse_amount(form.get("offset_y_mm"), "Przesunięcie w pionie", low=-offset,
                                       high=offset + Decimal("0.01"))
    printer.bleed_mm = parse_amount(form.get("bleed_mm"), "Spad", high=Decimal(str(MAX_BLEED_MM)) + Decimal("0.01"))
    db.session.flush()


def school_printer() -> SchoolPrinter | None:
    return db.session.scalar(select(SchoolPrinter).where(SchoolPrinter.school_id == require_school()))


def _text_field(value, limit: int = 100) -> str:
    return " ".join("".join(c for c in str(value or "") if c.isprintable()).split())[:limit]


def apply_cost_fields(profile: CostFields, form, *, partial: bool = False) -> None:
    """Set an in-house printer's cost profile from form text (all fields checked before any is
    kept by the caller's commit). With `partial`, a field the form does not carry at all keeps
    its value (the older school form without amortisation and staff time)."""

    def field(name: str, parse, default):
        if partial and not _given(form, name):
            current = getattr(profile, name, None)
            return default if current is None else current
        return parse(form.get(name))

    profile.purchase_price = parse_amount(form.get("purchase_price"), "Cena drukarki")
    profile.amortisation_years = field("amortisation_years",
                                       lambda v: _whole(v, "Okres amortyzacji (lata)", 1, 30), 5)
    profile.licence_per_year = parse_amount(form.get("licence_per_year"), "Licencja rocznie")
    profile.starter_kit_price = parse_amount(form.get("starter_kit_price"), "Zestaw startowy")
    profile.blank_price = parse_amount(form.get("blank_price"), "Blankiet", high=Decimal("1000"))
    profile.hologram_price = parse_amount(form.get("hologram_price"), "Hologram", high=Decimal("1000"))
    profile.ribbon_price = parse_amount(form.get("ribbon_price"), "Taśma", high=Decimal("10000"))
    profile.ribbon_yield = _whole(form.get("ribbon_yield"), "Wydruków z taśmy", 1, 100000)
    profile.staff_minutes_per_card = field(
        "staff_minutes_per_card", lambda v: parse_amount(v, "Czas pracy na kartę (minuty)", high=Decimal("600")),
        Decimal("0.00"))
    profile.hourly_rate = field(
        "hourly_rate", lambda v: parse_amount(v, "Koszt godziny pracy", high=Decimal("10000")), Decimal("0.00"))
    profile.spoilage_percent = parse_amount(form.get("spoilage_percent"), "Odsetek zepsutych kart",
                                            high=Decimal("50"))
    profile.lead_time_days = _whole(form.get("lead_time_days") or "3", "Czas realizacji (dni)", 0, 60)
    profile.updated_at = utcnow()


def save_school_printer(school: Organisation, form) -> SchoolPrinter:
    """Record or update the school's own card printer and what its consumables cost."""
    school_id = require_school()
    model = _text_field(form.get("model"))
    if not model:
        raise OperationError("Podaj model drukarki, np. Evolis Primacy 2.")
    profile = school_printer() or SchoolPrinter(school_id=school_id, city_id=school.city_id)
    profile.model = model
    apply_cost_fields(profile, form, partial=True)
    db.session.add(profile)
    db.session.flush()
    return profile


# --- the city print centre's own cost ------------------------------------------------------


def city_print_centres(city_id: int) -> list[Organisation]:
    """The print centres the city runs (printers flagged as the city's centre serving it)."""
    return list(db.session.scalars(
        select(Organisation).join(CityPrinter, CityPrinter.printer_id == Organisation.id)
        .where(CityPrinter.city_id == city_id, Organisation.is_city_print_centre.is_(True))
        .order_by(Organisation.name)))


def centre_cost_profile(city_id: int, printer_id: int) -> CentreCostProfile | None:
    return db.session.scalar(select(CentreCostProfile).where(
        CentreCostProfile.city_id == city_id, CentreCostProfile.printer_id == printer_id))


def save_centre_cost_profile(actor: Actor, city_id: int, printer_id: int, form) -> CentreCostProfile:
    """A city official records what a card really costs the city's print centre."""
    if actor.role != "city_official" or actor.organisation_id != city_id or current_tenant().city_id != city_id:
        raise OperationError("Profil kosztów centrum zapisuje urzędnik miasta.")
    if printer_id not in {c.id for c in city_print_centres(city_id)}:
        raise OperationError("Wybierz miejskie centrum druku z listy.")
    profile = centre_cost_profile(city_id, printer_id) or CentreCostProfile(city_id=city_id, printer_id=printer_id)
    profile.model = _text_field(form.get("model"))
    profile.purchased_on = parse_date(form.get("purchased_on"), "Data zakupu")
    apply_cost_fields(profile, form)
    db.session.add(profile)
    db.session.flush()
    return profile


# --- the city's reference "own printer" (the break-even's in-house side) ----------------------


def reference_printer(city_id: int) -> ReferencePrinter | None:
    """The city's saved reference printer (None: the Szczecin letter's, pricing.SINGLE_PRINTER)."""
    return db.session.scalar(select(ReferencePrinter).where(ReferencePrinter.city_id == city_id))


def save_reference_printer(actor: Actor, city_id: int, form) -> ReferencePrinter:
    """A city official records what one card printer in a school would cost (docs/city.md)."""
    if actor.role != "city_official" or actor.organisation_id != city_id or current_tenant().city_id != city_id:
        raise OperationError("Drukarkę wzorcową zapisuje urzędnik miasta.")
    profile = reference_printer(city_id) or ReferencePrinter(city_id=city_id)
    profile.model = _text_field(form.get("model"))
    profile.purchased_on = None  # a printer not bought yet: never amortised
    apply_cost_fields(profile, form)
    db.session.add(profile)
    db.session.flush()
    return profile
