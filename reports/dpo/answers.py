"""The officer's two questions about children's data (docs/dpo.md §1 and §2; docs/security.md T3.12).

1. "Kto widział dane dziecka X w okresie?" (`who_saw`): every access-log row of the pupil's school
   in the period that names the pupil, or that names — without a pupil — an order holding one of
   the pupil's cards (a printer's batch download or download link: the batch carried the child's
   data). Whoever acted: the school's staff, the city, a printer, an API client, the officer.
2. "Dane których dzieci otrzymała drukarnia P?" (`sent_to_printer`): the pupils whose cards were
   in an order whose batch printer P fetched in the period — an order of P first downloaded then
   (`print_orders.downloaded_at`), or any order named by a download or link row of P in the access
   log then (a re-download, or an order P fetched and then declined, which went to another printer).

Pupils are found by PESEL (through the blind index; the number is never stored or logged) or by
name (`find_pupils`). Every answer that shows a pupil writes the officer's own access-log row, one
per pupil shown, in the pupil's school's chain. Periods are Warsaw days, both ends included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.like import contains
from printing.models import OrderItem
from printing.models import PrintOrder
from reports.labels import ACCESS_RESULTS
from reports.labels import access_action
from reports.tables import Table
from tenants.pupils.identity import masked
from tenants.pupils.models import Pupil
from tenants.pupils.operations import pesel_index
from tenants.registry.models import Card
from tenants.tenancy import officer
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import User
from tenants.tenancy.operations import log_access

MAX_HITS = 50  # pupils listed for one search; a narrower search finds the rest
MAX_DAYS = 3 * 366  # the longest period asked at once
# The access-log actions by which a printer fetched an order's batch (portal.printer.views, portal.api.views).
DOWNLOAD_ACTIONS = ("batch_download", "batch_link")
# What a batch carries of each child (printing.package.FIELDS; docs/security.md T3.1).
SENT_FIELDS = "imiona i nazwisko, data urodzenia, PESEL lub dokument tożsamości, zdjęcie, numer legitymacji"
ROLE_NAMES = {"city_official": "urzędnik miasta", "school_director": "dyrektor szkoły",
              "school_secretary": "sekretariat szkoły", "printer_operator": "operator drukarni",
              "data_protection_officer": "inspektor ochrony danych", "platform_admin": "administrator platformy",
              "system": "system"}


@dataclasses.dataclass(frozen=True)
class Period:
    """Warsaw days `start`..`end`, both included."""

    start: dt.date
    end: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start 00:00, the day after end 00:00) in Warsaw time, as aware datetimes."""
        zone = clock.zone()
        return (dt.datetime.combine(self.start, dt.time(), zone),
                dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), zone))

    @property
    def label(self) -> str:
        return f"{inputs.format_day(self.start)}–{inputs.format_day(self.end)}"


def parse_period(start_text, end_text, *, default_days: int = 30) -> Period:
    """The period typed as dd.mm.rrrr; an empty end is today, an empty start `default_days` before
    the end. A Polish `OperationError` for a date that is not one or a period running backwards."""
    try:
        end = inputs.day(end_text) or clock.today()
    except inputs.Refused:
        raise OperationError("Data końca okresu: wpisz datę jako dd.mm.rrrr.", "bad_date") from None
    try:
        start = inputs.day(start_text) or end - dt.timedelta(days=default_days)
    except inputs.Refused:
        raise OperationError("Data początku okresu: wpisz datę jako dd.mm.rrrr.", "bad_date") from None
    if end < start:
        raise OperationError("Początek okresu musi być przed jego końcem.", "bad_period")
    if (end - start).days > MAX_DAYS:
        raise OperationError("Okres może mieć najwyżej trzy lata.", "bad_period")
    return Period(start, end)


def _moment(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(clock.zone())
    return f"{inputs.format_day(local.date())} {local:%H:%M}"


# --- finding the child ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PupilHit:
    school_id: int
    school_name: str
    pupil_id: int
    name: str
    class_name: str
    status: str


def find_pupils(actor: Actor, organisation: Organisation, *, pesel: str = "", name: str = "") -> list[PupilHit]:
    """The served schools' pupils with this PESEL, or whose surname or first names contain `name`.
    Each school that shows pupils gets one `dpo_pupil_search` row naming them (ids only, never
    the search text)."""
    pesel = "".join((pesel or "").split())
    name = " ".join((name or "").split())
    if pesel:
        if len(pesel) != 11 or not pesel.isascii() or not pesel.isdigit():
            raise OperationError("PESEL ma 11 cyfr.", "bad_pesel")
        criterion = Pupil.pesel_index == pesel_index(pesel)
    elif len(name) >= 2:
        # every word in the surname or the first names, in any order ("Jan Kowalski", "Kowalski Jan")
        criterion = and_(*(or_(contains(Pupil.surname, word), contains(Pupil.first_names, word))
                           for word in name[:100].split()))
    else:
        raise OperationError("Wpisz PESEL dziecka albo co najmniej dwie litery imienia lub nazwiska.", "empty_search")
    hits: list[PupilHit] = []
    for school in officer.served_schools(organisation):
        if len(hits) >= MAX_HITS:
            break
        with officer.reading_school(organisation, school.id):
            pupils = db.session.scalars(select(Pupil).where(Pupil.school_id == school.id, criterion)
                                        .order_by(Pupil.surname, Pupil.first_names, Pupil.id)
                                        .limit(MAX_HITS - len(hits))).all()
            if pupils:
                log_access(actor, "dpo_pupil_search", school_id=school.id,
                           detail="pupils=" + ",".join(str(p.id) for p in pupils))
            hits += [PupilHit(school.id, school.name, p.id, p.full_name, p.class_name, p.status) for p in pupils]
    return hits


# --- 1. who saw the child -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seen:
    school: Organisation
    pupil_name: str
    period: Period
    table: Table


def pupil_order_ids(school_id: int, pupil_id: int):
    """The orders holding any of the pupil's cards (its card's order, or an item of an order), as a
    select for the current (school) tenant."""
    by_card = select(Card.order_id).where(Card.school_id == school_id, Card.pupil_id == pupil_id,
                                          Card.order_id.is_not(None))
    by_item = (select(OrderItem.order_id).join(Card, and_(Card.id == OrderItem.card_id,
                                                          Card.school_id == OrderItem.school_id))
               .where(OrderItem.school_id == school_id, Card.pupil_id == pupil_id))
    return by_card.union(by_item)


def _names(model_id_column, name_column, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(model_id_column, name_column).where(model_id_column.in_(ids))).all())


def who_saw(actor: Actor, organisation: Organisation, school_id: int, pupil_id: int, period: Period, *,
            action: str = "dpo_access_report") -> Seen:
    """Every access-log row concerning the pupil in the period, oldest first (see the module's
    docstring), as a table; the officer's own `action` row is written after the rows are read.
    `NotFoundError` for a school not served or a pupil not of that school."""
    low, high = period.bounds()
    with officer.reading_school(organisation, school_id) as school:
        pupil = db.session.scalar(select(Pupil).where(Pupil.id == pupil_id, Pupil.school_id == school.id))
        if pupil is None:
            raise NotFoundError("no such pupil in this school")
        orders = select(pupil_order_ids(school.id, pupil.id).subquery().c.order_id)
        rows = db.session.scalars(select(AccessLog).where(
            AccessLog.school_id == school.id, AccessLog.ts >= low, AccessLog.ts < high,
            or_(AccessLog.pupil_id == pupil.id,
                and_(AccessLog.pupil_id.is_(None), AccessLog.order_id.in_(orders))))
            .order_by(AccessLog.ts, AccessLog.id)).all()
        users = _names(User.id, User.full_name, (r.actor_user_id for r in rows))
        orgs = _names(Organisation.id, Organisation.name, (r.actor_organisation_id for r in rows))
        table = Table(
            key="kto-widzial", title=f"Kto widział dane dziecka: {pupil.full_name} ({school.name}), {period.label}",
            columns=("Wpis dziennika", "Kiedy", "Kto", "Rola", "Organizacja", "Czynność", "Wynik", "Klient API",
                     "Zamówienie"),
            rows=tuple((r.id, _moment(r.ts), users.get(r.actor_user_id, "—"),
                        ROLE_NAMES.get(r.actor_role, r.actor_role), orgs.get(r.actor_organisation_id, "—"),
                        access_action(r.action), ACCESS_RESULTS.label(r.result), r.api_client or "—", r.order_id)
                       for r in rows),
            note="Z dziennika dostępu szkoły (wpisy o dziecku i o zamówieniach z jego legitymacją); czas warszawski.")
        log_access(actor, action, school_id=school.id, pupil_id=pupil.id,
                   detail=f"from={period.start.isoformat()} to={period.end.isoformat()} rows={len(rows)}")
        return Seen(school, pupil.full_name, period, table)


# --- 2. what a printer received -------------------------------------------------------------------


def printer_of(printer_id: int | None) -> Organisation:
    printer = db.session.get(Organisation, printer_id) if printer_id else None
    if printer is None or printer.kind != OrgKind.PRINTER.value:
        raise NotFoundError("no such printer")
    return printer


def _fetched_orders(school_id: int, printer_id: int, low: dt.datetime, high: dt.datetime) -> dict[int, dt.datetime]:
    """Order id → the first moment in the period printer P fetched its batch (current tenant: the school)."""
    fetched: dict[int, dt.datetime] = {}
    logged = db.session.execute(select(AccessLog.order_id, func.min(AccessLog.ts)).where(
        AccessLog.school_id == school_id, AccessLog.actor_organisation_id == printer_id,
        AccessLog.action.in_(DOWNLOAD_ACTIONS), AccessLog.result == "ok", AccessLog.order_id.is_not(None),
        AccessLog.ts >= low, AccessLog.ts < high).group_by(AccessLog.order_id)).all()
    first = db.session.execute(select(PrintOrder.id, PrintOrder.downloaded_at).where(
        PrintOrder.school_id == school_id, PrintOrder.printer_id == printer_id,
        PrintOrder.downloaded_at >= low, PrintOrder.downloaded_at < high)).all()
    for order_id, moment in [*logged, *first]:
        if order_id not in fetched or moment < fetched[order_id]:
            fetched[order_id] = moment
    return fetched


def sent_to_printer(actor: Actor, organisation: Organisation, printer_id: int, period: Period, *,
                    action: str = "dpo_printer_report") -> Table:
    """The pupils of the served schools whose data printer P fetched in the period, one row per
    pupil and order, by school, order and name; one officer's `action` row per row shown."""
    printer = printer_of(printer_id)
    low, high = period.bounds()
    rows = []
    for school in officer.served_schools(organisation):
        with officer.reading_school(organisation, school.id):
            fetched = _fetched_orders(school.id, printer.id, low, high)
            if not fetched:
                continue
            found = db.session.execute(
                select(OrderItem.order_id, Pupil, PrintOrder.delivered_at)
                .join(Card, and_(Card.id == OrderItem.card_id, Card.school_id == OrderItem.school_id))
                .join(Pupil, and_(Pupil.id == Card.pupil_id, Pupil.school_id == Card.school_id))
                .join(PrintOrder, and_(PrintOrder.id == OrderItem.order_id,
                                       PrintOrder.school_id == OrderItem.school_id))
                .where(OrderItem.school_id == school.id, OrderItem.order_id.in_(list(fetched)))
                .order_by(OrderItem.order_id, Pupil.surname, Pupil.first_names, Pupil.id)).all()
            for order_id, pupil, delivered_at in found:
                log_access(actor, action, school_id=school.id, pupil_id=pupil.id, order_id=order_id,
                           detail=f"printer={printer.id}")
                rows.append((pupil.full_name, school.name, pupil.class_name, order_id, _moment(fetched[order_id]),
                             _moment(delivered_at), masked(pupil), SENT_FIELDS))
    return Table(
        key="drukarnia", title=f"Dane dzieci przekazane drukarni {printer.name}, {period.label}",
        columns=("Uczeń", "Szkoła", "Klasa", "Zamówienie", "Pobrane przez drukarnię", "Dostarczone do szkoły",
                 "PESEL (zamaskowany)", "Przekazane dane"),
        rows=tuple(rows),
        note="Zamówienia, których paczkę drukarnia pobrała w tym okresie (pierwsze pobranie lub wpis pobrania "
             "w dzienniku dostępu); czas warszawski.")
