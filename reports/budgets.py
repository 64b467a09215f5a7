"""The city's budgets and rollout targets (`CityBudget`, one per calendar year): read them, tell
which plan is in force, and record one from the budget form — the one thing the dashboard
writes. The spending against them is the dashboard's budget table (reports.dashboard)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select

from infra import inputs
from infra.db import db
from infra.db import utcnow
from printing.models import CityBudget
from reports.filters import FilterError
from reports.filters import parse_day
from tenants.tenancy.errors import OperationError

ZERO = Decimal("0.00")


def city_budgets(city_id: int) -> list[CityBudget]:
    """The city's budgets and targets, every year."""
    return list(db.session.scalars(select(CityBudget).where(CityBudget.city_id == city_id)))


def current_target(budgets: Iterable[CityBudget], today: dt.date) -> CityBudget | None:
    """The plan in force: the budget year whose target date passed last (None before any)."""
    passed = [b for b in budgets if b.target_date is not None and b.target_date <= today]
    return max(passed, key=lambda b: b.target_date, default=None)


def next_target(budgets: Iterable[CityBudget], today: dt.date) -> CityBudget | None:
    coming = [b for b in budgets if b.target_date is not None and b.target_date > today]
    return min(coming, key=lambda b: b.target_date, default=None)


# --- the budget form ------------------------------------------------------------------------------


def form_values(budgets: Iterable[CityBudget], year: int) -> dict[str, str]:
    """The budget form filled in for `year`: the saved budget as it was typed ("60 000,00",
    "31.10.2026", "90"), so saving it again changes nothing; a year without a budget gets only
    its year (the template's defaults fill the rest)."""
    saved = next((b for b in budgets if b.year == year), None)
    if saved is None:
        return {"year": str(year)}
    return {"year": str(year), "amount": inputs.format_amount(saved.amount),
            "target_date": inputs.format_day(saved.target_date) if saved.target_date else "",
            "target_percent": str(saved.target_percent) if saved.target_percent is not None else ""}


def _whole(value, label: str, low: int, high: int) -> int:
    try:
        return inputs.whole(value, low=low, high=high)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj liczbę całkowitą od {low} do {high}.", "invalid_number") from None


def _amount(value, label: str) -> Decimal:
    """Zł as typed ("250 000,00 zł"), 0 … 9 999 999 999,99 (the column's Numeric(12, 2))."""
    try:
        amount = inputs.amount(value, low=-inputs.MAX_AMOUNT, high=inputs.MAX_AMOUNT)
    except inputs.Refused:
        raise OperationError(f"{label}: podaj kwotę w złotych, np. 250 000,00.", "invalid_amount") from None
    if not ZERO <= amount <= Decimal("9999999999.99"):
        raise OperationError(f"{label}: kwota od 0 do 9 999 999 999,99 zł.", "invalid_amount")
    return amount


def save_budget(city_id: int, form: Mapping[str, str]) -> CityBudget:
    """Record (or change) the city's budget for a calendar year and its rollout target: by
    `target_date`, `target_percent` % of pupils should hold a handed-over card. Flushes."""
    year = _whole(form.get("year"), "Rok", 2020, 2100)
    amount = _amount(form.get("amount"), "Kwota budżetu")
    try:
        target_date = parse_day(form.get("target_date", ""), "Termin celu")
    except FilterError as err:
        raise OperationError(str(err), "invalid_date") from None
    percent_text = (form.get("target_percent") or "").strip().rstrip("%").strip()
    target_percent = _whole(percent_text or "90", "Cel (odsetek uczniów z wydaną legitymacją)", 1, 100)
    budget = db.session.scalar(select(CityBudget).where(CityBudget.city_id == city_id, CityBudget.year == year))
    if budget is None:
        budget = CityBudget(city_id=city_id, year=year)
        db.session.add(budget)
    budget.amount, budget.target_date, budget.target_percent = amount, target_date, target_percent
    budget.updated_at = utcnow()
    db.session.flush()
    return budget
