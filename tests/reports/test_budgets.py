"""The city's budget form (reports.budgets, portal.city): it saves, refuses bad input in Polish,
and writes only the official's own city. The seeded city: tests/reports/dashboard_helpers.py `seeded`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.db import db
from printing.models import CityBudget
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope


def test_budget_form_saves_and_refuses_bad_input_in_polish(app, seeded, browser, database):
    official = browser(seeded.official)
    assert official.get("/miasto/budzet").status_code == 200
    year = seeded.today.year + 1
    response = official.post("/miasto/budzet", {"year": str(year), "amount": "250 000,50",
                                                "target_date": f"31.10.{year}", "target_percent": "95"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        budget = db.session.scalar(db.select(CityBudget).where(CityBudget.year == year))
        assert (budget.amount, budget.target_date, budget.target_percent) == (
            Decimal("250000.50"), dt.date(year, 10, 31), 95)
    again = official.post("/miasto/budzet", {"year": str(year), "amount": "300000", "target_date": "",
                                             "target_percent": ""})
    assert again.status_code == 302
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        rows = db.session.scalars(db.select(CityBudget).where(CityBudget.year == year)).all()
        assert [(b.amount, b.target_date, b.target_percent) for b in rows] == [(Decimal("300000.00"), None, 90)]
    for form, message in (({"year": "1999", "amount": "1"}, "Rok: podaj liczbę całkowitą od 2020 do 2100"),
                          ({"year": str(year), "amount": "dużo"}, "Kwota budżetu: podaj kwotę w złotych"),
                          ({"year": str(year), "amount": "-5"}, "Kwota budżetu: kwota od 0"),
                          ({"year": str(year), "amount": "1", "target_date": "31.02.2026"}, "Termin celu"),
                          ({"year": str(year), "amount": "1", "target_percent": "120"}, "Cel")):
        response = official.post("/miasto/budzet", form)
        assert response.status_code == 422 and message in response.get_data(as_text=True), form
    no_token = official.client.post("/miasto/budzet", data={"year": str(year), "amount": "1"})
    assert no_token.status_code == 400
    # The other city's official writes only its own budget.
    other = browser(seeded.other_official)
    assert other.post("/miasto/budzet", {"year": str(year), "amount": "7"}).status_code == 302
    with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
        assert db.session.scalar(db.select(CityBudget.amount).where(CityBudget.year == year)) == Decimal("300000.00")
