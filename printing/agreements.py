"""Data-processing agreements (umowy powierzenia przetwarzania danych) between a school and a
printer (docs/domain.md §12; docs/security.md T3.13). No order goes to a printer without one in force on
the day, and a printer cannot fetch an undelivered batch once its agreement has lapsed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import ProcessingAgreement
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError


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
