"""The blank ledger through the portal (docs/domain.md §22): the city's print centre takes blanks
into stock and its results use them for the cards; the school's own printer likewise; a spoiled or
uncollected card is destroyed once, after its validity, with a protocol printed as PDF."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import fulfilment
from printing import queries as printing_queries
from printing.fulfilment import ItemResult
from printing.models import SchoolPrinter
from tenants.registry.models import Blank
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tests.printing.test_fulfilment import place_order
from tests.printing.test_fulfilment import take_on

TODAY = clock.today().strftime("%d.%m.%Y")


def pdf_text(data: bytes) -> str:
    """The PDF's text with each run of whitespace (its line breaks too) as one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def as_printer(app, printer_id):
    return app.app_context(), tenant_scope(Tenant(printer_id=printer_id))


def blank_states(app, tenant: Tenant) -> dict:
    with app.app_context(), tenant_scope(tenant):
        return {b.serial: (b.state, b.card_id) for b in db.session.scalars(select(Blank))}


def printer_sessions(app):
    from contextlib import contextmanager

    @contextmanager
    def session(printer_id):
        with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
            yield
    return session


def results(order_id, items, serials):
    form = {}
    for item, serial in zip(items, serials, strict=True):
        form[f"outcome-{item.id}"] = "printed"
        form[f"serial-{item.id}"] = serial
    return form


def test_the_print_centre_uses_blanks_from_its_stock_and_refuses_others(app, two_schools, browser):
    p1 = two_schools["p1"]
    operator = browser("drukarnia.1@test.pl")
    assert "Blankiety" in operator.get("/drukarnia/").get_data(as_text=True)
    received = operator.post("/drukarnia/blankiety/dostawa", {"first": "PC-0001", "last": "PC-0010",
                                                             "supplier": "PWPW S.A.", "received_on": TODAY})
    assert received.status_code == 302
    overlap = operator.post("/drukarnia/blankiety/dostawa", {"first": "PC-0010", "last": "PC-0012",
                                                            "supplier": "PWPW S.A.", "received_on": TODAY})
    assert overlap.status_code == 422 and "1 z tych numerów blankietów jest już w ewidencji" in overlap.get_data(
        as_text=True)
    page = operator.get("/drukarnia/blankiety/").get_data(as_text=True)
    assert "PC-0001 – PC-0010" in page and "<strong>10</strong>" in page

    order_id = place_order(app, two_schools, count=2)
    take_on(printer_sessions(app), p1, order_id)
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        items = fulfilment.items(printing_queries.get_printer_order(order_id))
    url = f"/drukarnia/zamowienia/{order_id}/wyniki"
    unknown = operator.post(url, results(order_id, items, ["PC-0001", "ZZ-1"]))
    assert unknown.status_code == 422 and "Blankietu ZZ-1 nie ma w ewidencji" in unknown.get_data(as_text=True)
    assert operator.post(url, results(order_id, items, ["PC-0001", "PC-0002"])).status_code == 302
    states = blank_states(app, Tenant(printer_id=p1))
    assert states["PC-0001"][0] == states["PC-0002"][0] == "used" and states["PC-0003"] == ("in_stock", None)
    assert {states["PC-0001"][1], states["PC-0002"][1]} == {i.card_id for i in items}  # linked to the cards
    # A typo corrected before shipping: PC-0002 goes back, PC-0005 is used instead.
    assert operator.post(url, results(order_id, items, ["PC-0001", "PC-0005"])).status_code == 302
    states = blank_states(app, Tenant(printer_id=p1))
    assert states["PC-0002"] == ("in_stock", None) and states["PC-0005"][0] == "used"

    # Another order cannot name a blank already used.
    second = place_order(app, two_schools, count=1)
    take_on(printer_sessions(app), p1, second)
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        (item,) = fulfilment.items(printing_queries.get_printer_order(second))
    used = operator.post(f"/drukarnia/zamowienia/{second}/wyniki", results(second, [item], ["PC-0001"]))
    assert used.status_code == 422
    assert "Blankiet PC-0001 został już użyty dla legitymacji nr 1" in used.get_data(as_text=True)

    # A blank ruined in the printer, then destroyed with unused ones by protocol.
    spoiled = operator.post("/drukarnia/blankiety/zepsute", {"serials": "PC-0003", "reason": "zacięcie drukarki"})
    assert spoiled.status_code == 302
    refused = operator.post("/drukarnia/blankiety/protokol", {"serials": "PC-0001", "held_on": TODAY,
                                                              "committee": "J. Kowal, M. Nowak", "reason": "wada"})
    assert refused.status_code == 422 and "PC-0001 został już użyty" in refused.get_data(as_text=True)
    done = operator.post("/drukarnia/blankiety/protokol", {"serials": "PC-0003\nPC-0008 – PC-0010", "held_on": TODAY,
                                                           "committee": "J. Kowal, M. Nowak", "reason": "wada"})
    assert done.status_code == 302
    page = operator.get("/drukarnia/blankiety/").get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        from tenants.registry.models import BlankProtocol

        protocol_id = db.session.scalar(select(BlankProtocol.id))
    pdf = operator.get(f"/drukarnia/blankiety/protokol/{protocol_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    year = clock.today().year
    assert f"nr 1/{year}" in text and "J. Kowal, M. Nowak" in text and "PC-0003" in text and "zacięcie drukarki" in text
    assert "PC-0008 – PC-0010" in text and "blankietów 4 (w tym niewykorzystanych 3)" in text
    assert "Legitymacje szkolne" not in text  # a printer's protocol covers blanks only
    assert f"/drukarnia/blankiety/protokol/{protocol_id}.pdf" in page
    # The school sees nothing of the print centre's stock.
    assert blank_states(app, Tenant(school_id=two_schools["a"])) == {}


def test_a_school_destroys_its_spoiled_cards_after_their_validity_with_a_protocol(app, two_schools, browser):
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        db.session.add(SchoolPrinter(school_id=two_schools["a"], city_id=two_schools["city"], model="Evolis"))
        db.session.commit()
    secretary = browser("sekretariat.a@test.pl")
    assert secretary.post("/szkola/blankiety/dostawa", {"first": "S-001", "last": "S-005", "supplier": "PWPW",
                                                        "received_on": TODAY}).status_code == 302
    order_id = place_order(app, two_schools, count=2, printer_key=None)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        items = fulfilment.items(printing_queries.get_school_order(order_id))
    assert secretary.post(f"/szkola/zamowienia/{order_id}/plik-do-druku.pdf").status_code == 200
    assert secretary.post(f"/szkola/zamowienia/{order_id}/wyniki",
                          results(order_id, items, ["S-001", "S-002"])).status_code == 302
    assert secretary.post(f"/szkola/zamowienia/{order_id}/dostarczone").status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        cards = db.session.scalars(select(Card).order_by(Card.number)).all()
        first, second = cards
        assert [(c.status, c.blank_serial) for c in cards] == [("delivered", "S-001"), ("delivered", "S-002")]
    spoil = secretary.post(f"/szkola/ewidencja/legitymacja/{first.id}/zepsuta", {"note": "nieodebrana"})
    assert spoil.status_code == 302, spoil.get_data(as_text=True)
    assert blank_states(app, Tenant(school_id=two_schools["a"]))["S-001"] == ("spoiled", first.id)

    page = secretary.get("/szkola/blankiety/").get_data(as_text=True)
    from_day = (first.valid_until + dt.timedelta(days=1)).strftime("%d.%m.%Y")
    assert "Legitymacje do zniszczenia" in page and from_day in page and "nieodebrana" in page
    form = {"card_id": str(first.id), "serials": "S-005", "held_on": TODAY,
            "committee": "A. Nowak, B. Lis, C. Wiśniewska", "reason": "nieodebrane po upływie ważności"}
    early = secretary.post("/szkola/blankiety/protokol", form)
    assert early.status_code == 422
    assert f"można zniszczyć po upływie jej ważności, od {from_day}" in early.get_data(as_text=True)

    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        db.session.get(Card, first.id).valid_until = dt.date(2025, 9, 30)  # a year on, as it were
        db.session.commit()
    assert secretary.post("/szkola/blankiety/protokol", form).status_code == 302
    assert blank_states(app, Tenant(school_id=two_schools["a"]))["S-001"][0] == "destroyed"
    twice = secretary.post("/szkola/blankiety/protokol", form)
    assert twice.status_code == 422 and "została już zniszczona" in twice.get_data(as_text=True)
    not_spoiled = secretary.post("/szkola/blankiety/protokol", dict(form, card_id=str(second.id), serials=""))
    assert not_spoiled.status_code == 422 and "nie jest oznaczona jako zepsuta" in not_spoiled.get_data(as_text=True)

    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        from tenants.registry.models import BlankProtocol

        protocol_id = db.session.scalar(select(BlankProtocol.id))
    text = pdf_text(secretary.get(f"/szkola/blankiety/protokol/{protocol_id}.pdf").data)
    assert "Protokół zniszczenia druków ścisłego zarachowania" in text and "A. Nowak, B. Lis, C. Wiśniewska" in text
    assert f"{first.label} S-001 nieodebrana" in text and "S-005" in text
    # The card's own blank S-001 goes with the card and is listed once, with it.
    assert ("legitymacji 1 (wraz z blankietami, na których je wydrukowano), blankietów 1 "
            "(w tym niewykorzystanych 1)") in text
    assert text.count("S-001") == 1
    assert "UczeńA" not in text and "UczeńB" not in text  # card numbers, no names
    page = secretary.get("/szkola/blankiety/").get_data(as_text=True)
    assert "Brak zepsutych legitymacji do zniszczenia." in page


def test_an_order_the_print_centre_declines_gives_its_blanks_back(app, two_schools, browser):
    p1 = two_schools["p1"]
    operator = browser("drukarnia.1@test.pl")
    assert operator.post("/drukarnia/blankiety/dostawa", {"first": "R-1", "last": "R-3", "supplier": "PWPW",
                                                         "received_on": TODAY}).status_code == 302
    order_id = place_order(app, two_schools, count=2)
    take_on(printer_sessions(app), p1, order_id)
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        first, second = fulfilment.items(printing_queries.get_printer_order(order_id))
    assert operator.post(f"/drukarnia/zamowienia/{order_id}/wyniki",
                         results(order_id, [first], ["R-2"])).status_code == 302
    assert blank_states(app, Tenant(printer_id=p1))["R-2"] == ("used", first.card_id)
    # Through the API a printer gets the rule's code with the same message (docs/api.md).
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        order = printing_queries.get_printer_order(order_id)
        with pytest.raises(OperationError) as refused:
            fulfilment.record_results(Actor(user_id=None, role="printer_operator", organisation_id=p1), order,
                                      [ItemResult(second.card_label, "printed", blank_serial="R-9")])
        assert refused.value.code == "blank_unknown" and "Blankietu R-9 nie ma w ewidencji" in str(refused.value)
    assert operator.post(f"/drukarnia/zamowienia/{order_id}/odrzuc", {"reason": "Awaria maszyny"}).status_code == 302
    assert blank_states(app, Tenant(printer_id=p1))["R-2"] == ("in_stock", None)
