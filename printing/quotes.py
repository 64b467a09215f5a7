"""What an order of N cards costs on each channel, side by side (BRIEF.md §13).

External printers and the city print centre charge their tier price per card, a surcharge per
card in the high season and shipping per order. A school's own printer costs its consumables
per card: blank, hologram, the ribbon's share (price / prints per roll), all raised by the
spoilage rate; its fixed costs (purchase, licence) are not part of one order's quote and show
in the city's cost report instead. The quote the director orders from is frozen on the order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP
from decimal import Decimal

from sqlalchemy import select

from infra.db import db
from printing import pricing
from printing.models import Channel
from printing.models import SchoolPrinter
from tenants.models import CityPrinter
from tenants.models import Organisation

CENT = Decimal("0.01")
# The printers' high season (Grupa LOCA's terms, BRIEF.md §10): 15 August – 31 October.
HIGH_SEASON = ((8, 15), (10, 31))
DEFAULT_LEAD_DAYS = 14


def in_high_season(day: dt.date) -> bool:
    (m1, d1), (m2, d2) = HIGH_SEASON
    return (m1, d1) <= (day.month, day.day) <= (m2, d2)


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class Quote:
    """One channel's price for `quantity` cards ordered on `ordered_on`.

    `available` is False when the channel cannot take the order (no price for the quantity;
    `note` says why). Amounts are gross, in zł."""

    channel: str
    printer_id: int | None
    name: str
    quantity: int
    unit_price: Decimal
    surcharge_per_card: Decimal
    shipping: Decimal
    lead_time_days: int
    ordered_on: dt.date
    available: bool = True
    note: str = ""

    @property
    def cards_total(self) -> Decimal:
        return _money(self.unit_price * self.quantity)

    @property
    def surcharge_total(self) -> Decimal:
        return _money(self.surcharge_per_card * self.quantity)

    @property
    def total(self) -> Decimal:
        return self.cards_total + self.surcharge_total + self.shipping

    @property
    def per_card(self) -> Decimal:
        return _money(self.total / self.quantity) if self.quantity else Decimal("0.00")

    @property
    def due_date(self) -> dt.date:
        return self.ordered_on + dt.timedelta(days=self.lead_time_days)

    @property
    def key(self) -> str:
        """The form value that picks this channel: a printer's id, or "own"."""
        return Channel.OWN.value if self.channel == Channel.OWN.value else str(self.printer_id)

    def as_dict(self) -> dict:
        """The frozen form kept on the order (JSON: amounts as strings, dates ISO)."""
        return {"channel": self.channel, "printer_id": self.printer_id, "name": self.name,
                "quantity": self.quantity, "unit_price": str(self.unit_price),
                "surcharge_per_card": str(self.surcharge_per_card), "surcharge_total": str(self.surcharge_total),
                "shipping": str(self.shipping), "total": str(self.total), "per_card": str(self.per_card),
                "lead_time_days": self.lead_time_days, "ordered_on": self.ordered_on.isoformat(),
                "due_date": self.due_date.isoformat()}


def printer_quote(printer: Organisation, quantity: int, ordered_on: dt.date) -> Quote:
    """An external printer's or the city print centre's quote."""
    channel = Channel.CITY_CENTRE.value if printer.is_city_print_centre else Channel.EXTERNAL.value
    surcharge = _money(printer.season_surcharge or 0) if in_high_season(ordered_on) else Decimal("0.00")
    common = dict(channel=channel, printer_id=printer.id, name=printer.name, quantity=quantity,
                  lead_time_days=printer.lead_time_days or DEFAULT_LEAD_DAYS, ordered_on=ordered_on)
    try:
        unit = pricing.unit_price(printer.id, quantity)
    except pricing.NoPriceError:
        return Quote(unit_price=Decimal("0.00"), surcharge_per_card=Decimal("0.00"), shipping=Decimal("0.00"),
                     available=False, note="brak ceny dla takiej liczby kart", **common)
    return Quote(unit_price=unit, surcharge_per_card=surcharge, shipping=_money(printer.shipping_price or 0),
                 **common)


def own_unit_cost(profile: SchoolPrinter) -> Decimal:
    """Consumables per good card on the school's printer, spoilt cards included."""
    per_print = Decimal(profile.blank_price) + Decimal(profile.hologram_price) + (
        Decimal(profile.ribbon_price) / Decimal(profile.ribbon_yield))
    return _money(per_print * (1 + Decimal(profile.spoilage_percent) / 100))


def own_quote(profile: SchoolPrinter, quantity: int, ordered_on: dt.date) -> Quote:
    return Quote(channel=Channel.OWN.value, printer_id=None, name=profile.model or "Drukarka szkoły",
                 quantity=quantity, unit_price=own_unit_cost(profile), surcharge_per_card=Decimal("0.00"),
                 shipping=Decimal("0.00"), lead_time_days=profile.lead_time_days, ordered_on=ordered_on,
                 note="koszt materiałów; zakup drukarki i licencja w raporcie kosztów miasta")


def school_printer(school_id: int) -> SchoolPrinter | None:
    return db.session.scalar(select(SchoolPrinter).where(SchoolPrinter.school_id == school_id))


def compare(school: Organisation, quantity: int, ordered_on: dt.date) -> list[Quote]:
    """Every channel open to the school for `quantity` cards: available ones cheapest first,
    then those that cannot take the order."""
    printers = db.session.scalars(
        select(Organisation).join(CityPrinter, CityPrinter.printer_id == Organisation.id)
        .where(CityPrinter.city_id == school.city_id))
    quotes = [printer_quote(p, quantity, ordered_on) for p in printers]
    profile = school_printer(school.id)
    if profile is not None:
        quotes.append(own_quote(profile, quantity, ordered_on))
    return sorted(quotes, key=lambda q: (not q.available, q.total, q.name))


def quote_for(school: Organisation, channel_key: str, quantity: int, ordered_on: dt.date) -> Quote | None:
    """The quote for one channel (a printer's id as text, or "own"), or None if not open to the school."""
    for quote in compare(school, quantity, ordered_on):
        if quote.key == channel_key:
            return quote
    return None
