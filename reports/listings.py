"""The lists behind the dashboard's numbers: the cards (`fact_list`, anonymous card facts, a page
at a time) and the schools' orders (`orders_by_school` up to the minute, `order_list` by the
period). Each row says what it stands for, so the view can link it; a download leaves that out.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import OrderStatus
from printing.models import PrintOrder
from reports import aggregates
from reports import queries
from reports.city_data import Data
from reports.city_data import Listing
from reports.city_data import load
from reports.city_data import printer_names
from reports.filters import FactQuery
from reports.filters import Filters
from reports.labels import CARD_STATES
from reports.labels import CHANNELS
from reports.labels import KINDS
from reports.labels import ORDER_STATES
from reports.labels import OWN_PRINTERS
from reports.labels import SCHOOL_TYPES
from reports.models import CardFact
from reports.tables import Table
from tenants.registry.models import LIVE_CARD_STATUSES
from tenants.tenancy import scoping

DELIVERED = ("delivered", "handed_over")


# --- the cards behind the numbers --------------------------------------------------------------

_FACT_COLUMNS = (CardFact.school_id, CardFact.order_id, CardFact.channel, CardFact.printer_id,
                 CardFact.kind, CardFact.status, CardFact.applied_on, CardFact.submitted_on, CardFact.delivered_on,
                 CardFact.handed_over_on, CardFact.promised_days, CardFact.cost, CardFact.fee,
                 CardFact.print_rejections)


def _state(state: str, f: Filters):
    """The SQL condition of a FACT_STATES key (None: no condition)."""
    judged, on_time = aggregates.judged(f) == 1, aggregates.on_time() == 1
    return {
        "w_obiegu": CardFact.status.in_(LIVE_CARD_STATUSES),
        "dostarczone": CardFact.status.in_(DELIVERED),
        "wydane": CardFact.status == "handed_over",
        "dostawa": CardFact.delivered_on.is_not(None),
        "zepsute": CardFact.status == "spoiled",
        "odrzucone": CardFact.print_rejections > 0,
        "oplacone": CardFact.fee > 0,
        "ocenione": judged,
        "terminowe": on_time,
        "spoznione": and_(judged, ~on_time),
    }.get(state)


def _fact_where(city_id: int, f: Filters, q: FactQuery) -> list:
    where = aggregates.of_schools(CardFact, city_id, f)
    where.append(aggregates.handed_between(f) if q.basis == "wydania" else aggregates.between(CardFact.submitted_on, f))
    if q.school_id is not None:
        where.append(CardFact.school_id == q.school_id)
    if q.printer:
        where.append(CardFact.printer_id.is_(None) if q.printer == "wlasna" else CardFact.printer_id == int(q.printer))
    if q.channel:
        where.append(CardFact.channel == q.channel)
    if q.kind:
        where.append(CardFact.kind == q.kind)
    if q.month:
        first = dt.date(int(q.month[:4]), int(q.month[5:]), 1)
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        where += [CardFact.submitted_on >= first, CardFact.submitted_on < following]
    state = _state(q.state, f)
    if state is not None:
        where.append(state)
    return where


def fact_count(city_id: int, f: Filters, q: FactQuery | None = None) -> int:
    """How many cards `fact_list` lists (all its pages)."""
    return db.session.scalar(select(func.count()).select_from(CardFact).where(
        *_fact_where(city_id, f, q or FactQuery()))) or 0


def fact_list(city_id: int, f: Filters, q: FactQuery | None = None, *, limit: int | None = None,
              offset: int = 0, keys: bool = True, data: Data | None = None) -> Listing:
    """The cards behind the numbers, one row each, newest order first, without anything personal
    (no card number): all of them, or `limit` from `offset` (a page). `keys=False` leaves out
    what each row stands for (a download links nowhere)."""
    q = q or FactQuery()
    lead = aggregates.day_diff(CardFact.handed_over_on, CardFact.applied_on)
    stmt = (select(*_FACT_COLUMNS, lead.label("lead"), aggregates.judged(f).label("judged"),
                   aggregates.on_time().label("on_time")).where(*_fact_where(city_id, f, q))
            .order_by(CardFact.submitted_on.desc().nulls_last(), CardFact.order_id.desc(), CardFact.id.desc()))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    facts = scoping.plain_rows(stmt)  # a year's cards: the ORM's work per row would cost more than the query
    names = {s.id: s.name for s in (data or load(city_id, f)).all_schools}
    printers = printer_names({fact[3] for fact in facts})
    printers[None] = OWN_PRINTERS
    verdict = {(1, 1): "tak", (1, 0): "nie", (0, 1): "", (0, 0): ""}
    channels, kinds, states = CHANNELS.current(), KINDS.current(), CARD_STATES.current()
    rows = [(names.get(school_id, ""), order_id, channels.get(channel, channel), printers.get(printer_id, ""),
             kinds.get(kind, kind), states.get(status, status), applied_on, submitted_on, delivered_on,
             handed_over_on, lead, promised_days, verdict[judged, on_time], cost, fee, rejections)
            for (school_id, order_id, channel, printer_id, kind, status, applied_on, submitted_on, delivered_on,
                 handed_over_on, promised_days, cost, fee, rejections, lead, judged, on_time) in facts]
    return Listing(Table("facts", "Legitymacje (dane zbiorcze, bez danych osobowych)", (
        "Szkoła", "Zamówienie nr", "Kanał", "Drukarnia", "Rodzaj", "Stan", "Wniosek", "Zamówienie złożone",
        "Dostarczona", "Wydana", "Dni: wniosek → wydanie", "Obiecany czas realizacji (dni)", "W terminie",
        "Cena z zamówienia (zł)", "Opłata (zł)", "Odrzucenia przy druku"), tuple(rows),
        "Okres według dnia " + ("wydania legitymacji." if q.basis == "wydania" else "złożenia zamówienia.")
        + " Cena z zamówienia: część ceny zamówienia przypadająca na kartę (co do grosza sumuje się do ceny "
          "zamówienia); koszt dla miasta z kosztami stałymi centrum druku i własnych drukarek — Wydatki."),
        tuple({"order_id": fact[1], "school_id": fact[0]} for fact in facts) if keys else ())


# --- orders (live, from the orders themselves) --------------------------------------------------

_PLACED = [s.value for s in OrderStatus if s is not OrderStatus.DRAFT]


def orders_by_school(city_id: int, f: Filters, data: Data | None = None) -> Listing:
    """Cards and money per school from the orders themselves, up to the minute (no refresh, no
    period): every placed order."""
    types = {s.id for s in (data or load(city_id, f)).schools}
    rows = [r for r in queries.city_rollout(city_id) if r.school_id in types]
    return Listing(Table("orders_by_school", "Zamówienia szkół (na bieżąco)", (
        "Szkoła", "Typ", "Zamówione", "Dostarczone", "Wydane", "Cena z zamówień za kartę (zł)",
        "Cena z zamówień (zł)"),
        tuple((r.school_name, SCHOOL_TYPES.get(r.school_type, r.school_type), r.cards_ordered, r.cards_delivered,
               r.cards_handed_over, r.unit_price, r.total_cost) for r in rows),
        "Wszystkie złożone zamówienia, bez filtra okresu; dostarczone: karty zamówień dostarczonych do szkoły. "
        "Ceny z wycen zamówień (centrum druku: cennik wewnętrzny); koszt dla miasta — Wydatki."),
        tuple({"school_id": r.school_id} for r in rows))


def order_list(city_id: int, f: Filters, school_id: int | None = None, data: Data | None = None) -> Listing:
    """Placed orders of the city's schools (metadata only) whose order day is in the period."""
    data = data or load(city_id, f)
    schools = {s.id: s.name for s in data.schools}
    real = data.real.costs  # in-house orders' real costs (reports.real_cost); the rest cost their invoice
    if school_id is not None:
        schools = {k: v for k, v in schools.items() if k == school_id}
    zone = clock.zone()
    stmt = select(PrintOrder.id, PrintOrder.school_id, PrintOrder.printer_id, PrintOrder.channel,
                  PrintOrder.submitted_at, PrintOrder.card_count, PrintOrder.handed_over_count, PrintOrder.status,
                  PrintOrder.total_price, PrintOrder.invoice_gross, PrintOrder.invoice_mismatch).where(
        PrintOrder.city_id == city_id, PrintOrder.status.in_(_PLACED))
    if school_id is not None:
        stmt = stmt.where(PrintOrder.school_id == school_id)
    if f.date_from is not None:  # a day's bounds in the city's time zone, as UTC
        stmt = stmt.where(PrintOrder.submitted_at >= dt.datetime.combine(f.date_from, dt.time(), tzinfo=zone))
    if f.date_to is not None:
        stmt = stmt.where(PrintOrder.submitted_at < dt.datetime.combine(
            f.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone))
    orders = [o for o in db.session.execute(stmt.order_by(PrintOrder.submitted_at.desc(), PrintOrder.id.desc()))
              if o.school_id in schools]
    printers = printer_names(o.printer_id for o in orders)
    rows, keys = [], []
    for o in orders:
        day = o.submitted_at.astimezone(zone).date() if o.submitted_at else None
        if not f.covers(day):
            continue
        invoice = "" if o.invoice_gross is None else ("nie" if o.invoice_mismatch else "tak")
        rows.append((day, o.id, schools[o.school_id], printers.get(o.printer_id, OWN_PRINTERS),
                     CHANNELS.get(o.channel, o.channel), o.card_count, o.handed_over_count,
                     ORDER_STATES.get(o.status, o.status), o.total_price,
                     real[o.id].total if o.id in real else o.total_price, o.invoice_gross, invoice))
        keys.append({"order_id": o.id, "school_id": o.school_id})
    return Listing(Table("orders", "Zamówienia szkół", (
        "Złożone", "Zamówienie nr", "Szkoła", "Drukarnia", "Kanał", "Karty", "Wydane", "Stan", "Wycena (zł)",
        "Koszt dla miasta (zł)", "Faktura brutto (zł)", "Faktura zgodna z wyceną"), tuple(rows),
        "Zamówienia złożone w okresie. Koszt dla miasta: wycena drukarni zewnętrznej; w centrum druku i we "
        "własnej drukarce koszt zmienny × karty + część kosztów stałych roku (od przeliczenia statystyk)."),
        tuple(keys))
