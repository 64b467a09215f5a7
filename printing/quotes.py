"""What an order of N cards costs on each channel, side by side (docs/domain.md §13).

External printers and the city print centre charge their tier price valid on the order date,
a surcharge per card when the date falls in the printer's own high-season window, and shipping
per parcel; the price is gross and the quote carries its VAT split (printing.pricing has the
formulas). A school's own printer costs its marginal cost per card: blank, hologram, the
ribbon's share (price / prints per roll) and the operator's time, all raised by the spoilage
rate; its fixed costs (purchase, licence) are not part of one order's quote and show in the
city's cost report instead. The quote the director orders from is frozen on the order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from infra.db import db
from printing import pricing
from printing.models import Channel
from printing.models import SchoolPrinter
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation

CENT = pricing.CENT
# The default high season (Grupa LOCA's terms, docs/domain.md §10): 15 August – 31 October; each
# printer sets its own window (Organisation.season_from / season_until).
HIGH_SEASON = ((8, 15), (10, 31))
DEFAULT_LEAD_DAYS = pricing.DEFAULT_LEAD_DAYS


def in_high_season(day: dt.date, printer: Organisation | None = None) -> bool:
    """Whether `day` is in `printer`'s high season (the default window without a printer)."""
    if printer is None:
        return pricing.in_season(day, *pricing.DEFAULT_SEASON)
    terms = pricing.terms_of(printer)
    return pricing.in_season(day, terms.season_from, terms.season_until)


_money = pricing.money


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
    parcels: int = 1
    vat_rate: Decimal | None = None  # % in the gross prices; None: not an invoice (own printer)
    lead_time_working: bool = False  # lead_time_days are working days (the printer's terms)

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
    def net(self) -> Decimal | None:
        return pricing.vat_split(self.total, self.vat_rate)[0] if self.vat_rate is not None else None

    @property
    def vat(self) -> Decimal | None:
        return pricing.vat_split(self.total, self.vat_rate)[1] if self.vat_rate is not None else None

    @property
    def due_date(self) -> dt.date:
        """The day the cards are due: `lead_time_days` working days after the order day, or that
        many calendar days moved on to the next working day when they end on a Saturday, Sunday or
        public holiday (civil code art. 115; docs/domain.md §20)."""
        return pricing.due_day(self.ordered_on, self.lead_time_days, self.lead_time_working)

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
                "lead_time_days": self.lead_time_days, "lead_time_working": self.lead_time_working,
                "ordered_on": self.ordered_on.isoformat(),
                "due_date": self.due_date.isoformat(), "parcels": self.parcels,
                "vat_rate": None if self.vat_rate is None else str(self.vat_rate),
                "net": None if self.net is None else str(self.net), "vat": None if self.vat is None else str(self.vat)}


def printer_quote(printer: Organisation, quantity: int, ordered_on: dt.date,
                  tiers: list[pricing.Tier] | None = None) -> Quote:
    """An external printer's or the city print centre's quote: its price list and terms on
    `ordered_on` (tiers valid that day, its season window, parcels, VAT)."""
    channel = Channel.CITY_CENTRE.value if printer.is_city_print_centre else Channel.EXTERNAL.value
    terms = pricing.terms_of(printer)
    common = dict(channel=channel, printer_id=printer.id, name=printer.name, quantity=quantity,
                  lead_time_days=terms.lead_time_days, lead_time_working=terms.lead_time_working,
                  ordered_on=ordered_on, vat_rate=terms.vat_rate)
    try:
        price = pricing.external_price(pricing.tier_list(printer.id) if tiers is None else tiers, terms,
                                       quantity, ordered_on)
    except pricing.NoPriceError:
        return Quote(unit_price=Decimal("0.00"), surcharge_per_card=Decimal("0.00"), shipping=Decimal("0.00"),
                     available=False, note="brak ceny dla takiej liczby kart", **common)
    return Quote(unit_price=price.unit_price, surcharge_per_card=price.surcharge_per_card, shipping=price.shipping,
                 parcels=price.parcels, **common)


def own_unit_cost(profile: SchoolPrinter) -> Decimal:
    """Marginal cost of one good card on the school's printer: consumables and the operator's
    time, spoilt cards included (printing.pricing.marginal_per_card)."""
    return pricing.marginal_per_card(pricing.profile_of(profile))


def own_quote(profile: SchoolPrinter, quantity: int, ordered_on: dt.date) -> Quote:
    return Quote(channel=Channel.OWN.value, printer_id=None, name=profile.model or "Drukarka szkoły",
                 quantity=quantity, unit_price=own_unit_cost(profile), surcharge_per_card=Decimal("0.00"),
                 shipping=Decimal("0.00"), lead_time_days=profile.lead_time_days, ordered_on=ordered_on,
                 parcels=0, note="koszt materiałów i czasu pracy; zakup drukarki i licencja w raporcie kosztów miasta")


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
