"""The printer's deletion confirmation through the portal and the API (docs/domain.md §23,
docs/api.md): the operator confirms on the order page, a printer's system over the API; both are
refused before delivery, idempotent when repeated, a 404 for another printer; the school's order
page and the city's pages show the confirmation, and the flag "brak potwierdzenia usunięcia"
from the eighth day after delivery (hand-worked dates)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import PrinterDeletion
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.portal.test_api import bearer
from tests.portal.test_api import token_for
from tests.portal.test_transfers import superuser  # noqa: F401 (the fixture)
from tests.printing.test_printer_deletions import deliver
from tests.printing.test_printer_deletions import delivered_order
from tests.printing.test_printer_deletions import shipped_order

WARSAW = ZoneInfo("Europe/Warsaw")
DELIVERED = dt.datetime(2026, 11, 10, 12, 0, tzinfo=WARSAW)  # due 17.11.2026, flagged from 18.11.2026


def confirmations(app, ids) -> list[PrinterDeletion]:
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        rows = db.session.scalars(select(PrinterDeletion)).all()
        db.session.expunge_all()
        return rows


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --- the portal -------------------------------------------------------------------------------------


def test_the_operator_confirms_on_the_order_page_and_the_school_and_city_see_it(app, two_schools, browser):
    ids = two_schools
    order_id = delivered_order(app, ids, DELIVERED)
    url = f"/drukarnia/zamowienia/{order_id}"
    operator = browser("drukarnia.1@test.pl")
    page = text_of(operator.get(url))
    assert "Potwierdź usunięcie danych" in page and "do 17.11.2026" in page

    unticked = operator.post(f"{url}/usuniecie-danych", data={"method": "Usunięcie z serwera"})
    assert unticked.status_code == 422 and "Zaznacz oświadczenie" in text_of(unticked)
    assert confirmations(app, ids) == []

    done = operator.post(f"{url}/usuniecie-danych",
                         data={"confirm": "1", "method": "Usunięcie z serwera i stacji, wydruki próbne zniszczone",
                               "statement": "Kopie zapasowe nadpisane"}, follow_redirects=True)
    assert done.status_code == 200 and "Potwierdzono usunięcie danych zamówienia" in text_of(done)
    [row] = confirmations(app, ids)
    assert row.via == "web" and row.confirmed_by_id is not None and row.statement == "Kopie zapasowe nadpisane"
    page = text_of(operator.get(url))
    assert "usunięcie potwierdzone" in page and "Potwierdź usunięcie danych" not in page

    again = operator.post(f"{url}/usuniecie-danych", data={"confirm": "1", "method": "Inny opis"},
                          follow_redirects=True)
    assert again.status_code == 200 and "zostało już potwierdzone" in text_of(again)
    assert [(r.id, r.method, r.confirmed_at) for r in confirmations(app, ids)] == \
        [(row.id, row.method, row.confirmed_at)]

    school = text_of(browser("dyrektor.a@test.pl").get(f"/szkola/zamowienia/{order_id}"))
    assert "Usunięcie danych w drukarni" in school and "usunięcie potwierdzone" in school
    assert "Usunięcie z serwera i stacji, wydruki próbne zniszczone" in school and "(portal)" in school
    assert "brak potwierdzenia usunięcia" not in school
    city = text_of(browser("urzednik@test.pl").get("/miasto/"))
    assert "Ostatnie potwierdzenia usunięcia danych przez drukarnie" in city
    assert f"nr {order_id}" in city and "Drukarnia Pierwsza" in city


def test_the_portal_refuses_before_delivery_and_another_printer_gets_404(app, two_schools, browser):
    ids = two_schools
    order_id = shipped_order(app, ids)
    url = f"/drukarnia/zamowienia/{order_id}/usuniecie-danych"
    early = browser("drukarnia.1@test.pl").post(url, data={"confirm": "1"})
    assert early.status_code == 422 and "po dostarczeniu kart do szkoły" in text_of(early)
    deliver(app, ids, order_id, DELIVERED)
    other = browser("drukarnia.2@test.pl")
    assert other.post(url, data={"confirm": "1"}).status_code == 404
    assert other.get(f"/drukarnia/zamowienia/{order_id}").status_code == 404
    assert confirmations(app, ids) == []


def test_the_flag_at_seven_and_eight_days_for_the_school_and_the_city(app, two_schools, browser):
    """Delivered 10.11.2026 12:00 (Warsaw): on 17.11.2026 at 12:00 — 7 days — the school's order
    page says "do 17.11.2026" and nothing is flagged; on 18.11.2026 at 12:00 — 8 days — the school's
    list and order page and the city's overview and orders page flag the order, with the printer's
    name and 1 day overdue. The other school sees nothing of it."""
    ids = two_schools
    order_id = delivered_order(app, ids, DELIVERED)
    with clock.pinned(dt.datetime(2026, 11, 17, 12, 0, tzinfo=WARSAW)):
        director = browser("dyrektor.a@test.pl")
        school = text_of(director.get(f"/szkola/zamowienia/{order_id}"))
        assert "usunięcie do 17.11.2026" in school and "brak potwierdzenia usunięcia" not in school.lower()
        official = browser("urzednik@test.pl")
        for page in ("/miasto/", "/miasto/zamowienia"):
            city = text_of(official.get(page))
            assert "Wszystkie drukarnie potwierdziły usunięcie danych w terminie." in city, page
    with clock.pinned(dt.datetime(2026, 11, 18, 12, 0, tzinfo=WARSAW)):
        director = browser("dyrektor.a@test.pl")
        school = text_of(director.get(f"/szkola/zamowienia/{order_id}"))
        assert "Brak potwierdzenia usunięcia" in school and "1 dzień po terminie" in school
        assert "brak potwierdzenia usunięcia (1 dzień po terminie)" in text_of(director.get("/szkola/zamowienia"))
        official = browser("urzednik@test.pl")
        for page in ("/miasto/", "/miasto/zamowienia"):
            city = text_of(official.get(page))
            row = re.search(rf"<tr><td>nr {order_id}</td>.*?</tr>", city)
            assert row, page
            assert "Szkoła Podstawowa nr 1" in row.group(0) and "Drukarnia Pierwsza" in row.group(0)
            assert "17.11.2026" in row.group(0) and "<strong>1</strong>" in row.group(0)
        other_school = text_of(browser("dyrektor.b@test.pl").get("/szkola/zamowienia"))
        assert "brak potwierdzenia usunięcia" not in other_school
        printer = text_of(browser("drukarnia.1@test.pl").get("/drukarnia/"))
        assert "brak potwierdzenia usunięcia (1 dzień po terminie)" in printer
    with clock.pinned(dt.datetime(2026, 11, 20, 12, 0, tzinfo=WARSAW)):
        city = text_of(browser("urzednik@test.pl").get("/miasto/zamowienia"))
        assert "<strong>3</strong>" in re.search(rf"<tr><td>nr {order_id}</td>.*?</tr>", city).group(0)


def test_the_city_sees_the_twenty_most_overdue_and_how_many_there_are(app, two_schools, browser,
                                                                      superuser):  # noqa: F811
    """A city whose printers never confirm has thousands of such orders: its pages list the 20 most
    overdue (the oldest deliveries first) and say how many there are in all. 24 orders, copied from
    one delivered order by the superuser, delivered one day apart."""
    from sqlalchemy import text

    order_id = delivered_order(app, two_schools, DELIVERED)
    with superuser.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE copy AS SELECT * FROM print_orders WHERE id = :id"), {"id": order_id})
        for _copy in range(23):
            conn.execute(text("UPDATE copy SET id = (SELECT max(id) + 1 FROM print_orders), "
                              "delivered_at = delivered_at - interval '1 day', "
                              "purge_after = purge_after - interval '1 day'"))
            conn.execute(text("INSERT INTO print_orders SELECT * FROM copy"))
        oldest = conn.execute(text("SELECT max(id) FROM print_orders")).scalar()
    with clock.pinned(dt.datetime(2026, 11, 18, 12, 0, tzinfo=WARSAW)):
        official = browser("urzednik@test.pl")
        for page in ("/miasto/", "/miasto/zamowienia"):
            city = text_of(official.get(page))
            listed = re.findall(r"<tr><td>nr (\d+)</td><td>Szkoła Podstawowa nr 1</td><td><strong>Drukarnia", city)
            assert len(listed) == 20 and int(listed[0]) == oldest and str(order_id) not in listed, page
            assert "Razem 24 zamówienia bez potwierdzenia po terminie; powyżej 20 najdłużej oczekujących." in city


# --- the API ------------------------------------------------------------------------------------------


def test_the_api_confirms_once_refuses_early_and_hides_the_order_from_another_printer(app, two_schools, browser):
    ids = two_schools
    order_id = shipped_order(app, ids)
    client = app.test_client()
    mine, other = token_for(app, ids["p1"]), token_for(app, ids["p2"])
    url = f"/api/v1/orders/{order_id}/deletion-confirmation"

    early = client.post(url, headers=bearer(mine))
    assert early.status_code == 409 and early.json["error"]["code"] == "invalid_state"
    assert client.get(f"/api/v1/orders/{order_id}", headers=bearer(mine)).json["deletion"] is None
    deliver(app, ids, order_id, DELIVERED)

    foreign = client.post(url, json={}, headers=bearer(other))
    assert foreign.status_code == 404 and foreign.json["error"]["code"] == "not_found"
    too_long = client.post(url, json={"method": "x" * 201}, headers=bearer(mine))
    assert too_long.status_code == 422 and too_long.json["error"]["code"] == "validation_error"
    read_only = client.post(url, headers=bearer(token_for(app, ids["p1"], scopes=("batches:read",))))
    assert read_only.status_code == 403 and read_only.json["error"]["code"] == "insufficient_scope"
    assert confirmations(app, ids) == []

    first = client.post(url, json={"method": "Bezpieczne usunięcie (shred), kopie zapasowe wygasły"},
                        headers=bearer(mine))
    assert first.status_code == 200, first.json
    body = first.json
    assert body["order_id"] == order_id and body["confirmed_via"] == "api" and body["already_confirmed"] is False
    assert body["method"] == "Bezpieczne usunięcie (shred), kopie zapasowe wygasły" and body["statement"] is None
    assert body["due_on"] == "2026-11-17"
    again = client.post(url, json={"method": "Inny opis"}, headers=bearer(mine))
    assert again.status_code == 200
    assert again.json == {**body, "already_confirmed": True}  # the first confirmation, unchanged
    [row] = confirmations(app, ids)
    assert row.via == "api" and row.confirmed_by_id is None and row.api_client

    detail = client.get(f"/api/v1/orders/{order_id}", headers=bearer(mine)).json
    assert detail["deletion"]["due_on"] == "2026-11-17" and detail["deletion"]["confirmed_at"] == body["confirmed_at"]
    assert detail["deletion"]["days_overdue"] == 0
    school = text_of(browser("dyrektor.a@test.pl").get(f"/szkola/zamowienia/{order_id}"))
    assert f"API drukarni (klient {row.api_client})" in school and "usunięcie potwierdzone" in school
