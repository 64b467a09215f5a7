"""Data-processing agreements (umowy powierzenia przetwarzania danych) between a school and a
printer (docs/domain.md §12; docs/security.md T3.13). No order goes to a printer without one in force on
the day, and a printer cannot fetch an undelivered batch once its agreement has lapsed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import OrderStatus
from printing.models import PrintOrder
from printing.models import ProcessingAgreement
from tenants.privacy.processing_records import Recipient
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation


def in_force(school_id: int, printer_id: int, on: dt.date | None = None) -> ProcessingAgreement | None:
    on = on or clock.today()
    return db.session.scalar(select(ProcessingAgreement).where(
        ProcessingAgreement.school_id == school_id, ProcessingAgreement.printer_id == printer_id,
        ProcessingAgreement.valid_from <= on, ProcessingAgreement.valid_until >= on)
        .order_by(ProcessingAgreement.valid_until.desc()).limit(1))


def require(school_id: int, printer_id: int, on: dt.date | None = None) -> None:
    if in_force(school_id, printer_id, on) is None:
        raise OperationError("Szkoła nie ma z tą drukarnią ważnej umowy powierzenia przetwarzania danych — "
                             "zamówienia nie można złożyć. Dyrektor zapisuje umowę w ustawieniach szkoły.")


def record(actor: Actor, printer_id: int, *, reference: str, signed_on: dt.date, valid_from: dt.date,
           valid_until: dt.date) -> ProcessingAgreement:
    """The school's director records an agreement signed with a printer of the city."""
    reference = " ".join((reference or "").split())
    if not reference:
        raise OperationError("Podaj numer lub znak umowy.")
    if valid_until < valid_from:
        raise OperationError("Umowa musi kończyć się po dacie początku.")
    if signed_on > clock.today():
        raise OperationError("Data podpisania nie może być z przyszłości.")
    agreement = ProcessingAgreement(school_id=require_school(), printer_id=printer_id, reference=reference[:100],
                                    signed_on=signed_on, valid_from=valid_from, valid_until=valid_until,
                                    created_by_id=actor.user_id)
    db.session.add(agreement)
    db.session.flush()
    return agreement


def recipients(school_ids: Sequence[int]) -> dict[int, list[Recipient]]:
    """The printers each school has (or had) an agreement with, one `Recipient` per agreement, with
    the number of the school's orders sent to that printer: the recipients of the school's records
    of processing activities (docs/privacy-registers.md §7). Only what the current tenant sees."""
    ids = [int(i) for i in school_ids]
    if not ids:
        return {}
    sent = {(school_id, printer_id): count for school_id, printer_id, count in db.session.execute(
        select(PrintOrder.school_id, PrintOrder.printer_id, func.count()).where(
            PrintOrder.school_id.in_(ids), PrintOrder.printer_id.is_not(None),
            PrintOrder.status != OrderStatus.DRAFT.value).group_by(PrintOrder.school_id, PrintOrder.printer_id))}
    found: dict[int, list[Recipient]] = {}
    for agreement, printer in db.session.execute(
            select(ProcessingAgreement, Organisation)
            .join(Organisation, Organisation.id == ProcessingAgreement.printer_id)
            .where(ProcessingAgreement.school_id.in_(ids))
            .order_by(Organisation.name, ProcessingAgreement.valid_from)).tuples():
        found.setdefault(agreement.school_id, []).append(Recipient(
            school_id=agreement.school_id, name=printer.name, address=printer.address_line,
            print_centre=bool(printer.is_city_print_centre), reference=agreement.reference,
            signed_on=agreement.signed_on, valid_from=agreement.valid_from, valid_until=agreement.valid_until,
            retention_days=agreement.retention_days, orders=sent.get((agreement.school_id, printer.id), 0)))
    return found
