"""The duplicate fee as a dated setting (docs/domain.md §25): periods with an amount and a legal
basis, kept by the platform admin, never overlapping. An application takes the fee in force on the
day it is made and keeps it (tenants.pupils.applications).

Functions flush and never commit; refusals are `OperationError` with a Polish message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import is_postgres
from infra.db import utcnow
from tenants.pupils.models import DuplicateFee
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError

# The migration's seed (infra/migrations/versions/0023_dated_fee_and_template_versions.py): 9,00 zł
# from the day every new card and duplicate is an ID-1 card (docs/domain.md §7, §25).
SEED_AMOUNT = Decimal("9.00")
SEED_FROM = dt.date(2024, 7, 13)
SEED_BASIS = ("§ 67 ust. 1 rozporządzenia MEiN z 7.06.2023 r. (Dz.U. 2023 poz. 1120): kwota równa opłacie "
              "skarbowej od poświadczenia własnoręczności podpisu (ustawa o opłacie skarbowej, załącznik, "
              "część II pkt 5)")
BASIS_LENGTH = 300  # DuplicateFee.basis's column
NO_FEE = ("Brak stawki opłaty za duplikat na dzień {day} — administrator platformy musi ją ustawić, zanim "
          "szkoła przyjmie wniosek o duplikat.")


def periods() -> list[DuplicateFee]:
    """Every period, the newest first."""
    return list(db.session.scalars(select(DuplicateFee).order_by(DuplicateFee.valid_from.desc())))


def in_force(day: dt.date) -> DuplicateFee | None:
    """The period covering `day`, or None when no period does."""
    return db.session.scalar(select(DuplicateFee).where(
        DuplicateFee.valid_from <= day, (DuplicateFee.valid_to.is_(None)) | (DuplicateFee.valid_to >= day)))


def required(day: dt.date) -> DuplicateFee:
    """The period covering `day`; `OperationError` when none does (a duplicate cannot be asked for
    without knowing what it costs)."""
    fee = in_force(day)
    if fee is None:
        raise OperationError(NO_FEE.format(day=inputs.format_day(day)))
    return fee


def _lock() -> None:
    """Two admins adding periods at once must not both pass the overlap check: on PostgreSQL the
    table is locked against other writers until the commit (SQLite writes one at a time anyway)."""
    if is_postgres(db.session.get_bind()):
        db.session.execute(text("LOCK TABLE duplicate_fees IN SHARE ROW EXCLUSIVE MODE"))


def _overlapping(valid_from: dt.date, valid_to: dt.date | None, *,
                 other_than: int | None = None) -> DuplicateFee | None:
    end = valid_to or dt.date.max
    for fee in periods():
        if fee.id != other_than and fee.valid_from <= end and valid_from <= (fee.valid_to or dt.date.max):
            return fee
    return None


def _describe(fee: DuplicateFee) -> str:
    until = f"do {inputs.format_day(fee.valid_to)}" if fee.valid_to else "bezterminowo"
    return f"{inputs.format_amount(fee.amount)} zł od {inputs.format_day(fee.valid_from)} {until}"


def add_period(actor: Actor, *, amount: Decimal, valid_from: dt.date, valid_to: dt.date | None,
               basis: str) -> DuplicateFee:
    """A new period. It may not start in the past (the table is the history of what applications
    were charged: a day already passed keeps the fee it had), may not end before it starts, needs
    its legal basis, and may not overlap another period — an open-ended one is closed first
    (`close_period`)."""
    basis = " ".join((basis or "").split())
    if not basis:
        raise OperationError("Podaj podstawę prawną stawki (np. przepis ustawy o opłacie skarbowej).")
    if len(basis) > BASIS_LENGTH:
        raise OperationError(f"Podstawa prawna może mieć najwyżej {BASIS_LENGTH} znaków.")
    if not Decimal("0.01") <= amount <= Decimal("999999.99"):
        raise OperationError("Podaj kwotę opłaty, np. 9,00.")
    today = clock.today()
    if valid_from < today:
        raise OperationError("Stawka nie może obowiązywać wstecz — wnioski złożone przed dzisiejszym dniem "
                             "zachowują swoją opłatę. Podaj dzień od dziś.")
    if valid_to is not None and valid_to < valid_from:
        raise OperationError("Koniec okresu nie może być wcześniej niż jego początek.")
    _lock()
    if (other := _overlapping(valid_from, valid_to)) is not None:
        raise OperationError(f"Okres nakłada się na stawkę {_describe(other)} — najpierw zakończ tamtą stawkę "
                             f"dzień wcześniej.")
    fee = DuplicateFee(amount=amount, valid_from=valid_from, valid_to=valid_to, basis=basis,
                       created_by_id=actor.user_id)
    db.session.add(fee)
    db.session.flush()
    return fee


def close_period(actor: Actor, fee: DuplicateFee, valid_to: dt.date) -> None:
    """End a period on `valid_to` (a new stamp duty ahead). Not before yesterday — the days already
    passed keep their fee — and not before the period starts; an end already set moves only
    later if the move overlaps nothing."""
    yesterday = clock.today() - dt.timedelta(days=1)
    if valid_to < yesterday:
        raise OperationError("Okresu nie można zakończyć wstecz — najwcześniej wczoraj.")
    if valid_to < fee.valid_from:
        raise OperationError("Koniec okresu nie może być wcześniej niż jego początek.")
    if fee.valid_to is not None and fee.valid_to < yesterday:
        raise OperationError("Ten okres już się zakończył — jego stawka zostaje w historii.")
    _lock()
    if (other := _overlapping(fee.valid_from, valid_to, other_than=fee.id)) is not None:
        raise OperationError(f"Okres nakładałby się na stawkę {_describe(other)}.")
    fee.valid_to = valid_to
    fee.closed_by_id = actor.user_id
    fee.closed_at = utcnow()
    db.session.flush()
