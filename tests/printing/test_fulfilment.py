"""After submission: channel quotes frozen on the order, the printer's accept/reject, per-card
results, shipping, invoices, delivery into the registry, reprints under the same numbers, and
redirecting a declined order — on PostgreSQL with row-level security."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from infra import holidays
from infra.db import db
from printing import fulfilment
from printing import operations as printing_ops
from printing import queries as printing_queries
from printing import quotes
from printing.fulfilment import ItemResult
from printing.models import OrderItem
from printing.models import PriceTier
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from tenants.pupils import applications
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import letters
from tests.helpers import run_jobs
from tests.helpers import store_photo


def director(ids) -> Actor:
    return Actor(user_id=ids["director_a"], role="school_director", organisation_id=ids["a"])


def operator(printer_id) -> Actor:
    return Actor(user_id=None, role="printer_operator", organisation_id=printer_id)


_serials = itertools.count(200)  # distinct PESELs across orders of one test


def place_order(app, ids, count=3, printer_key="p1", parent_email="") -> int:
    """`count` pupils with photos, approved first-card applications, an order submitted to the
    printer and its batch built; returns the order id."""
    actor = director(ids)
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        application_ids = []
        for i in range(count):
            pupil = add_pupil(actor, surname=f"Uczeń{letters(i)}", serial=next(_serials), parent_email=parent_email)
            store_photo(actor, school, pupil)
            application = applications.create_application(actor, pupil)
            applications.decide_application(actor, application, approve=True)
            application_ids.append(application.id)
        order = printing_ops.create_order(actor, school, ids[printer_key] if printer_key else None, application_ids)
        printing_ops.submit_order(actor, order)
        db.session.commit()
        order_id = order.id
        from printing.tasks import relay_outbox

        relay_outbox()
    run_jobs(app)
    return order_id


@pytest.fixture
def printer_session(app):
    """Run code as a printer tenant: `with printer_session(p1): ...`."""
    from contextlib import contextmanager

    @contextmanager
    def session(printer_id):
        with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
            yield
    return session


@pytest.fixture
def school_session(app, two_schools):
    from contextlib import contextmanager

    @contextmanager
    def session():
        with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
            yield
    return session


def take_on(printer_session, printer_id, order_id):
    with printer_session(printer_id):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.accept(operator(printer_id), order)
        fulfilment.mark_downloaded(operator(printer_id), order)
        db.session.commit()


# --- quotes -----------------------------------------------------------------------------------


def test_quotes_compare_every_channel_with_surcharge_shipping_and_own_printer(app, two_schools, school_session):
    with app.app_context():
        p1 = db.session.get(Organisation, two_schools["p1"])
        p1.season_surcharge, p1.shipping_price, p1.lead_time_days = Decimal("1.50"), Decimal("18.00"), 21
        db.session.commit()
    with school_session():
        db.session.add(SchoolPrinter(school_id=two_schools["a"], city_id=two_schools["city"], model="Evolis Primacy 2",
                                     blank_price=Decimal("6.20"), hologram_price=Decimal("1.10"),
                                     ribbon_price=Decimal("450.00"), ribbon_yield=300, spoilage_percent=Decimal("4")))
        db.session.commit()
        school = db.session.get(Organisation, two_schools["a"])
        in_season = quotes.compare(school, 12, dt.date(2026, 9, 10))
        by_name = {q.name: q for q in in_season}
        first = by_name["Drukarnia Pierwsza"]
        # 12 cards at the ≥10 tier (10.50), +1.50 each in the season, +18 shipping
        assert (first.unit_price, first.surcharge_total, first.shipping, first.total) == (
            Decimal("10.50"), Decimal("18.00"), Decimal("18.00"), Decimal("162.00"))
        assert first.due_date == dt.date(2026, 10, 1) and first.per_card == Decimal("13.50")
        own = by_name["Evolis Primacy 2"]
        # (6.20 + 1.10 + 450/300) × 1.04 = 9.152 → 9.15 per card
        assert own.unit_price == Decimal("9.15") and own.total == Decimal("109.80") and own.printer_id is None
        assert [q.total for q in in_season] == sorted(q.total for q in in_season)  # cheapest first
        off_season = {q.name: q for q in quotes.compare(school, 12, dt.date(2026, 12, 1))}
        assert off_season["Drukarnia Pierwsza"].surcharge_total == Decimal("0.00")
        assert off_season["Drukarnia Pierwsza"].total == Decimal("144.00")


def test_a_printer_without_a_price_for_the_quantity_is_listed_but_not_available(app, two_schools, school_session):
    with app.app_context():
        db.session.execute(update(PriceTier).where(PriceTier.printer_id == two_schools["p2"])
                           .values(min_quantity=PriceTier.min_quantity + 50))
        db.session.commit()
    with school_session():
        school = db.session.get(Organisation, two_schools["a"])
        offers = quotes.compare(school, 3, dt.date(2026, 12, 1))
        second = next(q for q in offers if q.printer_id == two_schools["p2"])
        assert not second.available and offers[-1] is second


def test_the_quote_is_frozen_on_the_order_at_submission(app, two_schools, school_session):
    order_id = place_order(app, two_schools, count=2)
    with app.app_context():
        db.session.execute(update(PriceTier).where(PriceTier.printer_id == two_schools["p1"])
                           .values(unit_price=Decimal("99.00")))
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        assert order.total_price == Decimal("24.00") and order.quote["total"] == "24.00"
        assert order.quote["quantity"] == 2 and order.quote["printer_id"] == two_schools["p1"]
        # 14 calendar days, moved off a weekend or holiday (docs/domain.md §20, rule 7)
        assert order.due_date == holidays.add_days(order.issue_date, 14)


# --- the printer's side -----------------------------------------------------------------------


def test_download_needs_acceptance_and_the_queue_is_sorted_by_due_date(app, two_schools, printer_session):
    late = place_order(app, two_schools, count=1)
    soon = place_order(app, two_schools, count=1)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        db.session.execute(update(PrintOrder).where(PrintOrder.id == soon).values(due_date=dt.date(2026, 12, 1)))
        db.session.execute(update(PrintOrder).where(PrintOrder.id == late).values(due_date=dt.date(2026, 12, 20)))
        db.session.commit()
    with printer_session(two_schools["p1"]):
        assert [o.id for o in printing_queries.printer_orders()] == [soon, late]
        order = printing_queries.get_printer_order(late)
        with pytest.raises(OperationError, match="Najpierw przyjmij"):
            fulfilment.mark_downloaded(operator(two_schools["p1"]), order)
        fulfilment.accept(operator(two_schools["p1"]), order)
        fulfilment.mark_downloaded(operator(two_schools["p1"]), order)
        assert order.status == "downloaded"
    with printer_session(two_schools["p2"]), pytest.raises(NotFoundError):
        printing_queries.get_printer_order(late)


def test_per_card_results_are_checked_and_complete_the_order(app, two_schools, printer_session, school_session):
    order_id = place_order(app, two_schools, count=3)
    p1 = two_schools["p1"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        labels = [i.card_label for i in fulfilment.items(order)]
        assert labels == ["1", "2", "3"]
        bad = [
            ([ItemResult("1", "printed", blank_serial="")], "invalid_blank_serial"),
            ([ItemResult("1", "printed", blank_serial="A1", chip_uid="XYZ")], "invalid_chip_uid"),
            ([ItemResult("1", "rejected", reason=" ")], "reason_required"),
            ([ItemResult("9", "printed", blank_serial="A1")], "unknown_card"),
            ([ItemResult("1", "lost")], "invalid_outcome"),
            ([ItemResult("1", "printed", blank_serial="A1"), ItemResult("2", "printed", blank_serial="A1")],
             "duplicate_blank_serial"),
        ]
        for results, code in bad:
            with pytest.raises(OperationError) as err:
                fulfilment.record_results(operator(p1), order, results)
            assert err.value.code == code
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="BL-1",
                                                                    chip_uid="04 A1 B2 C3")])
        assert order.status == "downloaded"  # two cards still pending
        fulfilment.record_results(operator(p1), order, [
            ItemResult("2", "printed", blank_serial="BL-2"),
            ItemResult("3", "rejected", reason="Zdjęcie nieostre po wydruku")])
        assert order.status == "printed"
        with pytest.raises(OperationError, match="przewoźnika"):
            fulfilment.ship(operator(p1), order, carrier="", tracking_number="")
        fulfilment.ship(operator(p1), order, carrier="Poczta Polska", tracking_number="PX 123")
        # The printer never writes the school's registry: row-level security keeps cards closed to it.
        assert db.session.execute(text("UPDATE cards SET blank_serial = 'X'")).rowcount == 0
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        delivered = fulfilment.confirm_delivery(director(two_schools), order)
        db.session.commit()
        assert [(c.number, c.blank_serial, c.chip_uid) for c in delivered] == [(1, "BL-1", "04A1B2C3"),
                                                                                 (2, "BL-2", "")]
        third = db.session.scalar(select(Card).where(Card.number == 3))
        assert third.status == "ordered"  # rejected: not delivered, waits for the reprint
        assert order.purge_after - order.delivered_at == dt.timedelta(days=7)


def test_a_rejected_card_is_reprinted_under_the_same_number(app, two_schools, printer_session, school_session):
    order_id = place_order(app, two_schools, count=2)
    p1 = two_schools["p1"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="S1"),
                                                        ItemResult("2", "rejected", reason="Literówka w nazwisku")])
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        with pytest.raises(OperationError) as err:  # the printer may still change its results
            fulfilment.reprint(director(two_schools), order)
        assert err.value.code == "invalid_state"
    with printer_session(p1):
        fulfilment.ship(operator(p1), printing_queries.get_printer_order(order_id), carrier="DPD", tracking_number="")
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        [(item, card)] = fulfilment.rejected_cards(order)
        assert (item.reason, card.number) == ("Literówka w nazwisku", 2)
        card.pupil.surname = "Poprawione"  # the school corrects the data
        reprint = fulfilment.reprint(director(two_schools), order)
        db.session.commit()
        assert (reprint.card_count, reprint.first_number, reprint.reprint_of_id) == (1, 2, order_id)
        assert reprint.printer_id == p1 and reprint.total_price == Decimal("12.00")
        db.session.refresh(order)
        assert order.card_count == 1
        with pytest.raises(OperationError):
            fulfilment.reprint(director(two_schools), order)  # nothing left to reprint
        reprint_id = reprint.id
        from printing.tasks import relay_outbox

        relay_outbox()
    run_jobs(app)
    with school_session():
        reprint = printing_queries.get_school_order(reprint_id)
        assert reprint.status == "ready"
        cards = db.session.scalars(select(Card).order_by(Card.number)).all()
        assert [c.number for c in cards] == [1, 2]  # no new number was taken
        assert cards[1].order_id == reprint_id
    with printer_session(p1):
        [item] = fulfilment.items(printing_queries.get_printer_order(reprint_id))
        assert item.card_label == "2" and item.outcome == "pending"


def test_a_declined_order_goes_to_another_printer_with_its_numbers(app, two_schools, printer_session, school_session):
    order_id = place_order(app, two_schools, count=2)
    p1, p2 = two_schools["p1"], two_schools["p2"]
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        with pytest.raises(OperationError) as err:
            fulfilment.reject(operator(p1), order, "")
        assert err.value.code == "reason_required"
        fulfilment.reject(operator(p1), order, "Brak blankietów do końca miesiąca")
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        numbers = (order.first_number, order.last_number)
        with pytest.raises(OperationError) as err:
            fulfilment.redirect(director(two_schools), order, p1)
        assert err.value.code == "same_printer"
        fulfilment.redirect(director(two_schools), order, p2)
        db.session.commit()
        assert (order.status, order.printer_id, order.rejection_reason) == ("submitted", p2, "")
        assert (order.first_number, order.last_number) == numbers
        from printing.tasks import relay_outbox

        relay_outbox()
    run_jobs(app)
    with printer_session(p1), pytest.raises(NotFoundError):
        printing_queries.get_printer_order(order_id)  # the first printer lost access
    with printer_session(p2):
        order = printing_queries.get_printer_order(order_id)
        assert order.status == "ready" and len(fulfilment.items(order)) == 2
    with printer_session(p1):
        assert db.session.scalars(select(OrderItem)).all() == []


def test_an_invoice_that_differs_from_the_quote_is_flagged(app, two_schools, printer_session, school_session):
    order_id = place_order(app, two_schools, count=2)  # 2 × 12.00 = 24.00
    p1 = two_schools["p1"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        with pytest.raises(OperationError) as err:
            fulfilment.record_invoice(operator(p1), order, number="FV/1", net="19.51", vat="4.49", gross="25")
        assert err.value.code == "invoice_sum_mismatch"
        with pytest.raises(OperationError) as err:
            fulfilment.record_invoice(operator(p1), order, number="FV/1", net="abc", vat="0", gross="0")
        assert err.value.code == "invalid_amount"
        assert fulfilment.record_invoice(operator(p1), order, number="FV/1", net="19,51", vat="4,49",
                                         gross="24,00") is False
        assert fulfilment.record_invoice(operator(p1), order, number="FV/1/K", net="20.33", vat="4.67",
                                         gross="25.00") is True
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        assert order.invoice_mismatch and order.invoice_gross == Decimal("25.00") and order.invoice_number == "FV/1/K"
    with app.app_context(), tenant_scope(Tenant(city_id=two_schools["city"])):
        seen = db.session.scalar(select(PrintOrder).where(PrintOrder.id == order_id))
        assert seen.invoice_mismatch  # the city sees the flag too


def test_own_printer_orders_skip_the_agreement_and_are_printed_by_the_school(app, two_schools, school_session):
    with school_session():
        db.session.add(SchoolPrinter(school_id=two_schools["a"], city_id=two_schools["city"], model="Evolis",
                                     blank_price=Decimal("7.00"), ribbon_price=Decimal("300"), ribbon_yield=250))
        db.session.commit()
    order_id = place_order(app, two_schools, count=1, printer_key=None)
    actor = director(two_schools)
    with school_session():
        order = printing_queries.get_school_order(order_id)
        assert (order.channel, order.status, order.total_price) == ("own", "ready", Decimal("8.20"))
        fulfilment.mark_downloaded(actor, order)
        fulfilment.record_results(actor, order, [ItemResult("1", "printed", blank_serial="OWN-1")])
        assert order.status == "printed"
        [card] = fulfilment.confirm_delivery(actor, order)
        assert card.blank_serial == "OWN-1" and order.status == "delivered"


# --- through the portal: e-mails, pages ------------------------------------------------------


def test_the_printer_is_emailed_on_a_new_order_and_parents_when_cards_arrive(app, two_schools, browser, mailbox,
                                                                              printer_session):
    with app.app_context():
        db.session.get(Organisation, two_schools["p1"]).contact_email = "zlecenia@drukarnia1.test"
        db.session.commit()
    order_id = place_order(app, two_schools, count=2, parent_email="rodzic@example.test")
    # place_order submits directly, the printer's e-mail promised with the order; the relay enqueues it.
    from tenants.mail.outbox import relay_mail

    with app.app_context():
        relay_mail()
    run_jobs(app)
    [to_printer] = mailbox
    assert to_printer["To"] == "zlecenia@drukarnia1.test" and f"nr {order_id}" in to_printer["Subject"]
    body = to_printer.get_content()
    assert "2 legitymacji" in body and f"/drukarnia/zamowienia/{order_id}" in body and "Uczeń" not in body

    p1 = two_schools["p1"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="Q1"),
                                                        ItemResult("2", "rejected", reason="Rysa na zdjęciu")])
        fulfilment.ship(operator(p1), order, carrier="DPD", tracking_number="0001")
        db.session.commit()
    mailbox.clear()
    secretary = browser("sekretariat.a@test.pl")
    assert secretary.post(f"/szkola/zamowienia/{order_id}/dostarczone").status_code == 302
    run_jobs(app)
    [to_parent] = mailbox  # only the delivered card's parent; the rejected one waits for its reprint
    assert to_parent["To"] == "rodzic@example.test" and "do odbioru" in to_parent.get_content()
    assert "Ola" in to_parent.get_content() and "UczeńA" not in to_parent.get_content()
    page = secretary.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "Karty odrzucone przez drukarnię" in page and "Rysa na zdjęciu" in page
    assert "Dodruk zamawia dyrektor" in page  # a secretary sees why there is no button


def test_the_director_compares_channels_and_orders_through_the_portal(app, two_schools, browser):
    director_ = browser("dyrektor.a@test.pl")
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        pupil = add_pupil(director(two_schools), surname="Porównanie", serial=next(_serials))
        store_photo(director(two_schools), db.session.get(Organisation, two_schools["a"]), pupil)
        application = applications.create_application(director(two_schools), pupil)
        applications.decide_application(director(two_schools), application, approve=True)
        db.session.commit()
        application_id = application.id
    page = director_.get("/szkola/zamowienia/nowe").get_data(as_text=True)
    assert "Drukarnia Pierwsza" in page and "Drukarnia Druga" in page and "Za kartę" in page
    bad = director_.post("/szkola/zamowienia/nowe", {"application_id": application_id, "channel": "own"})
    assert bad.status_code == 422 and "własnej drukarki" in bad.get_data(as_text=True)
    created = director_.post("/szkola/zamowienia/nowe", {"application_id": application_id,
                                                         "channel": str(two_schools["p2"])})
    assert created.status_code == 302
    draft_page = director_.get(created.headers["Location"]).get_data(as_text=True)
    assert "zostanie zamrożona" in draft_page and "12,00" in draft_page



def test_the_batch_is_the_personalisation_only_laid_out_for_the_printers_calibration(app, two_schools,
                                                                                    school_session):
    import io

    from pypdf import PdfReader

    from printing.batch import print_file

    with app.app_context():
        printer = db.session.get(Organisation, two_schools["p1"])
        # the old "pre-printed blanks" column off (the demo's Pomorska Karta): no longer read, no design either way
        printer.preprinted_blanks, printer.offset_x_mm = False, Decimal("1.50")
        db.session.commit()
    order_id = place_order(app, two_schools, count=1)
    with school_session():
        order = printing_queries.get_school_order(order_id)
        reader = PdfReader(io.BytesIO(print_file(order)))  # out of the encrypted package
    front = reader.pages[0].extract_text()
    assert "UczeńA" in front and "LEGITYMACJA" not in front  # variable data only: the blank has the design
    for static in ("RZECZPOSPOLITA POLSKA", "Imię (imiona)", "PESEL", "WZÓR"):
        assert static not in front, static
    back = reader.pages[1].extract_text()
    assert "Data ważności" not in back and "przejazdów" not in back and back.strip()  # the validity date alone
    for page in reader.pages:
        assert round(float(page.mediabox.width) / 72 * 25.4, 2) == 85.60
        assert set(page["/Resources"].get("/XObject", {})) <= {"/P"} and "/Shading" not in page["/Resources"]


def test_the_school_prints_on_its_own_printer_through_the_portal(app, two_schools, browser, school_session):
    with school_session():
        db.session.add(SchoolPrinter(school_id=two_schools["a"], city_id=two_schools["city"], model="Evolis",
                                     blank_price=Decimal("7.00"), ribbon_price=Decimal("300"), ribbon_yield=250))
        db.session.commit()
    order_id = place_order(app, two_schools, count=2, printer_key=None)
    with school_session():
        items = fulfilment.items(printing_queries.get_school_order(order_id))
    secretary = browser("sekretariat.a@test.pl")
    page = secretary.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "Pobierz plik do druku (PDF)" in page and "drukarka szkoły" in page
    pdf = secretary.post(f"/szkola/zamowienia/{order_id}/plik-do-druku.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # the school's own printer gets the personalisation only too: it prints onto the blanks (docs/domain.md §3)
    assert b"/Subtype /Form" not in pdf.data and b"/ShadingType" not in pdf.data
    from io import BytesIO

    from pypdf import PdfReader

    own_front = PdfReader(BytesIO(pdf.data)).pages[0].extract_text()
    assert "UczeńA" in own_front and "LEGITYMACJA" not in own_front and "Nazwisko" not in own_front
    first, second = items
    missing_serial = secretary.post(f"/szkola/zamowienia/{order_id}/wyniki", {f"outcome-{first.id}": "printed"})
    assert missing_serial.status_code == 422 and "numer seryjny blankietu" in missing_serial.get_data(as_text=True)
    assert secretary.post(f"/szkola/zamowienia/{order_id}/wyniki", {
        f"outcome-{first.id}": "printed", f"serial-{first.id}": "W-1",
        f"outcome-{second.id}": "rejected", f"reason-{second.id}": "Zacięcie drukarki"}).status_code == 302
    assert secretary.post(f"/szkola/zamowienia/{order_id}/dostarczone").status_code == 302
    with school_session():
        cards = db.session.scalars(select(Card).order_by(Card.number)).all()
        assert [(c.status, c.blank_serial) for c in cards] == [("delivered", "W-1"), ("ordered", "")]
    # a printer's endpoints are not the school's: another channel's order has no print file here
    other = place_order(app, two_schools, count=1)
    assert secretary.post(f"/szkola/zamowienia/{other}/plik-do-druku.pdf").status_code == 404


def test_a_redirected_order_starts_clean_at_the_next_printer(app, two_schools, printer_session, school_session):
    order_id = place_order(app, two_schools, count=2)
    p1, p2 = two_schools["p1"], two_schools["p2"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="FIRST-1")])
        fulfilment.record_invoice(operator(p1), order, number="FV/9", net="10", vat="2.30", gross="12.30")
        fulfilment.reject(operator(p1), order, "Awaria maszyny\x00")  # a NUL byte is dropped, not a 500
        db.session.commit()
        assert order.rejection_reason == "Awaria maszyny"
    with school_session():
        order = printing_queries.get_school_order(order_id)
        fulfilment.redirect(director(two_schools), order, p2)
        db.session.commit()
        assert order.invoice_number == "" and order.invoice_gross is None and not order.invoice_mismatch
        assert {(i.outcome, i.blank_serial, i.printer_id) for i in fulfilment.items(order)} == {("pending", "", p2)}


def test_an_order_whose_every_card_was_rejected_is_closed_and_reprinted(app, two_schools, printer_session,
                                                                         school_session):
    order_id = place_order(app, two_schools, count=1)
    p1 = two_schools["p1"]
    take_on(printer_session, p1, order_id)
    with printer_session(p1):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "rejected", reason="Zdjęcie za ciemne")])
        with pytest.raises(OperationError, match="nie ma czego wysłać"):
            fulfilment.ship(operator(p1), order, carrier="DPD", tracking_number="")
        db.session.commit()
    with school_session():
        order = printing_queries.get_school_order(order_id)
        assert fulfilment.confirm_delivery(director(two_schools), order) == []
        assert order.status == "delivered" and order.purge_after is not None  # its files will be purged
        new = fulfilment.reprint(director(two_schools), order)
        db.session.commit()
        with pytest.raises(OperationError):  # a second click finds nothing left to move
            fulfilment.reprint(director(two_schools), order)
        db.session.rollback()
        assert new.card_count == 1 and new.first_number == 1


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "1e999", "²", "12,3,4"])
def test_amounts_that_are_not_numbers_are_refused_with_a_message(value):
    from printing.terms import parse_amount

    with pytest.raises(OperationError) as err:
        parse_amount(value, "Brutto")
    assert err.value.code == "invalid_amount" and "Brutto" in str(err.value)
