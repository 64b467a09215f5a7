"""The officer's registers for the served schools (docs/dpo.md §3–§5): the data-processing
agreements with their warnings, the retention schedule with Legitka's deletion receipts and the
printers' deletion confirmations, and the access-log chain check. None of them shows a pupil, so
none writes an access-log row; each reads one school at a time (`officer.reading_school`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import deletions
from printing.fulfilment import RETENTION_DAYS
from printing.models import DeletionReceipt
from printing.models import OrderStatus
from printing.models import PrintOrder
from printing.models import ProcessingAgreement
from tenants.tenancy import audit_chain
from tenants.tenancy import officer
from tenants.tenancy.models import AccessLogHead
from tenants.tenancy.models import Organisation

EXPIRY_WARNING_DAYS = 30
ORDERING_WINDOW_DAYS = 365  # "orders from a printer": an order placed with it within a year
HISTORY_DAYS = 365  # delivered orders listed on the retention page (every missing confirmation too)

# What is kept how long (docs/security.md T3.5, T3.8, T3.9, T4.9; docs/printing.md "Retention";
# docs/domain.md §12, §23): (data, where, how long, who deletes, how it is shown).
SCHEDULE = (
    ("Paczka do druku (zaszyfrowane 7z, manifest)", "magazyn plików Legitki",
     f"{RETENTION_DAYS} dni od potwierdzenia dostawy", "Legitka (`flask legitka purge`, co godzinę)",
     "potwierdzenie usunięcia (pliki, sha256, liczba wersji)"),
    ("Kopia danych u drukarni", "drukarnia lub miejskie centrum druku",
     f"do dnia dostawy + {RETENTION_DAYS} dni (wg umowy powierzenia)", "drukarnia",
     "potwierdzenie usunięcia przez drukarnię; brak — oznaczony od następnego dnia"),
    ("Nieudane zadania w kolejce (identyfikatory, bez danych osobowych)", "Redis", "najwyżej 7 dni",
     "Legitka (automatycznie)", "—"),
    ("Wyniki zadań w kolejce", "Redis", "najwyżej 1 godzina", "Legitka (automatycznie)", "—"),
    ("Księga ewidencji legitymacji, wnioski, dane uczniów", "baza danych szkoły",
     "wg przepisów o archiwizacji szkoły (jeszcze nieskonfigurowane)", "szkoła", "—"),
    ("Dziennik dostępu", "baza danych (tylko dopisywanie, łańcuch skrótów)",
     "bez usuwania (okres jeszcze nieustalony)", "—", "sprawdzenie łańcucha na tej stronie"),
)


# --- 3. data-processing agreements ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AgreementRow:
    school_name: str
    printer_name: str
    reference: str
    signed_on: dt.date
    valid_from: dt.date
    valid_until: dt.date
    state: str  # "expired" | "expiring" | "in_force" | "future"
    days_left: int


@dataclasses.dataclass(frozen=True)
class AgreementWarning:
    school_name: str
    printer_name: str
    orders: int
    last_ordered: dt.date


def agreement_state(agreement: ProcessingAgreement, today: dt.date) -> str:
    if agreement.valid_until < today:
        return "expired"
    if agreement.valid_from > today:
        return "future"
    if (agreement.valid_until - today).days <= EXPIRY_WARNING_DAYS:
        return "expiring"
    return "in_force"


def agreements(organisation: Organisation,
               today: dt.date | None = None) -> tuple[list[AgreementRow], list[AgreementWarning]]:
    """Every agreement of the served schools (by school, printer, end) and the warnings: a school
    that placed an order with a printer within `ORDERING_WINDOW_DAYS` and has no agreement with
    it in force today."""
    today = today or clock.today()
    since = dt.datetime.combine(today - dt.timedelta(days=ORDERING_WINDOW_DAYS), dt.time(), clock.zone())
    rows, warnings = [], []
    for school in officer.served_schools(organisation):
        with officer.reading_school(organisation, school.id):
            found = db.session.scalars(select(ProcessingAgreement).where(ProcessingAgreement.school_id == school.id)
                                       .order_by(ProcessingAgreement.printer_id, ProcessingAgreement.valid_until)).all()
            ordered = db.session.execute(select(PrintOrder.printer_id, PrintOrder.submitted_at).where(
                PrintOrder.school_id == school.id, PrintOrder.printer_id.is_not(None),
                PrintOrder.submitted_at >= since)).all()
        printers = {row.printer_id for row in found} | {printer_id for printer_id, _ in ordered}
        names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                        .where(Organisation.id.in_(printers))).all()) if printers else {}
        for a in found:
            rows.append(AgreementRow(school.name, names.get(a.printer_id, "—"), a.reference, a.signed_on, a.valid_from,
                                     a.valid_until, agreement_state(a, today), (a.valid_until - today).days))
        in_force = {a.printer_id for a in found if a.valid_from <= today <= a.valid_until}
        by_printer: dict[int, list[dt.datetime]] = {}
        for printer_id, submitted_at in ordered:
            by_printer.setdefault(printer_id, []).append(submitted_at)
        for printer_id, moments in sorted(by_printer.items()):
            if printer_id not in in_force:
                warnings.append(AgreementWarning(school.name, names.get(printer_id, "—"), len(moments),
                                        clock.day_of(max(moments))))
    return rows, warnings


# --- 4. retention: receipts and the printers' confirmations -----------------------------------------


@dataclasses.dataclass(frozen=True)
class RetentionRow:
    school_name: str
    order_id: int
    printer_name: str
    delivered_on: dt.date
    purge_after: dt.date | None
    deleted_at: dt.datetime | None  # Legitka's receipt
    files: str
    due_on: dt.date
    confirmed_at: dt.datetime | None  # the printer's confirmation
    days_overdue: int


def retention(organisation: Organisation, today: dt.date | None = None) -> list[RetentionRow]:
    """Each delivered order of an outside printer of the served schools, delivered within
    `HISTORY_DAYS` or still without its printer's confirmation: Legitka's receipt and the
    printer's confirmation (missing ones flagged with the days overdue, docs/domain.md §23)."""
    today = today or clock.today()
    since = dt.datetime.combine(today - dt.timedelta(days=HISTORY_DAYS), dt.time(), clock.zone())
    rows = []
    for school in officer.served_schools(organisation):
        with officer.reading_school(organisation, school.id):
            orders = db.session.scalars(select(PrintOrder).where(
                PrintOrder.school_id == school.id, PrintOrder.status == OrderStatus.DELIVERED.value,
                PrintOrder.printer_id.is_not(None), PrintOrder.delivered_at.is_not(None))
                .order_by(PrintOrder.delivered_at.desc(), PrintOrder.id.desc())).all()
            standing = deletions.standings(orders, today)
            receipts = {r.order_id: r for r in db.session.scalars(select(DeletionReceipt).where(
                DeletionReceipt.school_id == school.id, DeletionReceipt.deleted_at.is_not(None),
                DeletionReceipt.order_id.in_([o.id for o in orders])))}
            names = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({o.printer_id for o in orders}))).all()) if orders else {}
            for order in orders:
                s = standing.get(order.id)
                if s is None or (order.delivered_at < since and s.confirmation is not None):
                    continue
                receipt = receipts.get(order.id)
                files = ", ".join(f"{f['name']} ({f['versions']} wers.)" for f in receipt.files) if receipt else ""
                rows.append(RetentionRow(
                    school.name, order.id, names.get(order.printer_id, "—"), clock.day_of(order.delivered_at),
                    clock.day_of(order.purge_after) if order.purge_after else None,
                    receipt.deleted_at if receipt else None, files, s.due_on,
                    s.confirmation.confirmed_at if s.confirmation else None, s.days_overdue))
    return rows


# --- 5. the access-log chains ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChainResult:
    school_name: str
    chain: str
    rows: int  # the head's number: how many rows the chain holds
    fault: audit_chain.Broken | None
    started: bool  # False: no row of this school has been chained yet


def verify_chains(organisation: Organisation) -> list[ChainResult]:
    """Walk each served school's chain (`audit_chain.verify_chain`, as `flask legitka verify-log`).
    It ends the current transaction: run it before anything is written in the request."""
    schools = officer.served_schools(organisation)
    names = {f"school:{s.id}": s.name for s in schools}
    heads = {h.chain: h for h in db.session.scalars(select(AccessLogHead).where(AccessLogHead.chain.in_(list(names))))}
    for head in heads.values():
        db.session.expunge(head)  # the walk ends the transaction; the head stays as it was read
    results = []
    for chain, name in names.items():
        head = heads.get(chain)
        if head is None:
            results.append(ChainResult(name, chain, 0, None, False))
            continue
        results.append(ChainResult(name, chain, head.seq, audit_chain.verify_chain(head), True))
    return results
