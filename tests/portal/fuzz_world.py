"""A small but complete world for the form fuzzer (tests/portal/test_fuzz_forms.py), built with
the conftest factories and the real domain operations on any app (PostgreSQL or the embedded
SQLite default): a city with two schools, an external printer and the city's print centre, staff
for every role, pupils with photos, applications in every state a form acts on, print orders in
most states (draft, ready, downloaded, printed, shipped, delivered with cards to hand over,
rejected, failed, the school's own printer), handed-over cards, holograms in stock, a waiting
photo, roster imports (checked, needing a mapping), transfers pending both ways, a budget,
consultations with the directors (a draft and an open one), an API client and a parent's link.

Everything is made through the domain functions, so the pages render exactly what a school
in the middle of a school year sees."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from infra import clock
from tests.conftest import World
from tests.helpers import ALL_CHECKS_OFF
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import roster_csv
from tests.helpers import run_jobs
from tests.helpers import store_photo

SURNAMES = ("Nowak", "Kowalska", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowska", "Zielińska", "Szymańska",
            "Woźniak", "Dąbrowska", "Kozłowska", "Jankowska", "Mazur", "Kwiatkowska", "Krawczyk", "Piotrowska",
            "Grabowska", "Nowakowska", "Pawłowska", "Michalska", "Król", "Wieczorek", "Jabłońska", "Wróbel")
FIRST_NAMES = ("Ola", "Zofia", "Hanna", "Maja")
EMAILS = {
    "school_director": "dyrektor.a@test.pl",
    "school_secretary": "sekretariat.a@test.pl",
    "printer_operator": "drukarnia.1@test.pl",
    "city_official": "urzednik@test.pl",
    "data_protection_officer": "iod@test.pl",
    "platform_admin": "admin@test.pl",
}


def emails(tag: str = "") -> dict[str, str]:
    """Each role's sign-in e-mail in the world built with `tag`: a second world in the same
    database (tests/portal/test_isolation_matrix.py) needs addresses of its own."""
    return {role: f"{tag}.{email}" if tag else email for role, email in EMAILS.items()}


@dataclasses.dataclass
class Ids:
    city: int = 0
    a: int = 0
    b: int = 0
    p1: int = 0
    centre: int = 0
    users: dict = dataclasses.field(default_factory=dict)
    parent_pupil: int = 0  # the pupil whose parent gets photo links


def build(app, *, in_process_jobs: bool, tag: str = "") -> Ids:
    """Build the world; `in_process_jobs` tells whether the queue already ran the jobs (the
    embedded default) or they wait in Redis for `run_jobs`. A `tag` builds another city's world
    beside it: its city is named after the tag and its people sign in with `emails(tag)`."""
    from infra.db import db
    from printing import fulfilment
    from printing import operations as printing_ops
    from printing import terms
    from printing.api_clients import create_client
    from printing.fulfilment import ItemResult
    from printing.models import CentreCostProfile
    from printing.models import OrderStatus
    from printing.tasks import relay_outbox
    from reports import council_report
    from reports.budgets import save_budget
    from reports.filters import Filters
    from tenants.consultations import operations as consultations
    from tenants.pupils import applications
    from tenants.pupils import pesel as pesel_rules
    from tenants.registry import holograms
    from tenants.registry import imports as registry_imports
    from tenants.roster import operations as roster_import
    from tenants.tenancy.actors import Actor
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope
    from tenants.tenancy.models import Membership
    from tenants.tenancy.models import Organisation
    from tenants.transfers import operations as transfer
    from tests.helpers import registry_csv

    world = World(app)
    ids = Ids()
    ids.city = world.city(f"Miasto {tag}" if tag else "Miasto Testowe")
    addresses = emails(tag)
    ids.a = world.school(ids.city, "Szkoła Podstawowa nr 1")
    ids.b = world.school(ids.city, "Szkoła Podstawowa nr 2")
    ids.p1 = world.printer([ids.city], "Drukarnia Pierwsza")
    ids.centre = world.printer([ids.city], "Miejskie Centrum Druku")
    with app.app_context():
        db.session.get(Organisation, ids.centre).is_city_print_centre = True
        db.session.commit()
    ids.users = {
        "school_director": world.user(addresses["school_director"], ids.a, "school_director"),
        "school_secretary": world.user(addresses["school_secretary"], ids.a, "school_secretary"),
        "printer_operator": world.user(addresses["printer_operator"], ids.p1, "printer_operator"),
        "city_official": world.user(addresses["city_official"], ids.city, "city_official"),
        "data_protection_officer": world.user(addresses["data_protection_officer"], ids.city,
                                              "data_protection_officer"),
        "platform_admin": world.user(addresses["platform_admin"], admin=True),
    }
    ids.users["school_director_b"] = world.user(f"{tag}.dyrektor.b@test.pl" if tag else "dyrektor.b@test.pl", ids.b,
                                                "school_director")
    with app.app_context():  # the secretary also works for school B: her pages offer the switch
        db.session.add(Membership(user_id=ids.users["school_secretary"], organisation_id=ids.b,
                                  role="school_secretary"))
        db.session.commit()
    director = Actor(user_id=ids.users["school_director"], role="school_director", organisation_id=ids.a)
    operator = Actor(user_id=ids.users["printer_operator"], role="printer_operator", organisation_id=ids.p1)
    serials = iter(range(300, 400))

    def pupils(school, count, class_name, *, photo=True):
        made = []
        for i in range(count):
            serial = next(serials)
            pupil = add_pupil(director, surname=SURNAMES[serial % len(SURNAMES)], first=FIRST_NAMES[i],
                              serial=serial, class_name=class_name, parent_email="rodzic@example.pl")
            if photo:
                store_photo(director, school, pupil)
            made.append(pupil)
        return made

    def approved(pupil_list, kind="first", reason_code=""):
        result = []
        for pupil in pupil_list:
            application = applications.create_application(director, pupil, kind, reason_code=reason_code,
                                                          school=school)
            applications.decide_application(director, application, approve=True)
            result.append(application.id)
        return result

    with app.app_context(), tenant_scope(Tenant(school_id=ids.a)):
        school = db.session.get(Organisation, ids.a)
        school.bank_account = "07102050110000990202075919"
        school.photo_policy = dict(ALL_CHECKS_OFF)  # photo checks are not under test here: any real image passes
        terms.save_school_printer(school, {
            "model": "Evolis Primacy 2", "purchase_price": "6500", "amortisation_years": "5",
            "licence_per_year": "1000", "starter_kit_price": "500", "blank_price": "7.90",
            "hologram_price": "1.20", "ribbon_price": "480", "ribbon_yield": "250", "staff_minutes_per_card": "3",
            "hourly_rate": "45", "spoilage_percent": "3"})
        # Pupils with cards handed over (registry, card page, holograms, mLegitymacja, transfers).
        handed = pupils(school, 3, "1a")
        cards = handed_over_cards(director, school, ids.p1, handed)
        year = holograms.school_year_of(clock.today())
        for card in cards[:2]:  # as if issued last school year: they need this year's hologram
            card.valid_until = dt.date(year, 9, 30)
        ready_for_order = approved(pupils(school, 2, "2b"))  # for a new order
        # Orders in the states the school's and the printer's forms act on.
        external = {}
        for state in ("ready", "downloaded", "printed", "shipped", "delivered", "rejected", "failed"):
            count = 2 if state in ("printed", "shipped", "delivered") else 1  # one card printed, one rejected
            order = printing_ops.create_order(director, school, ids.p1, approved(pupils(school, count, "3c")))
            printing_ops.submit_order(director, order)
            external[state] = order.id
        own = printing_ops.create_order(director, school, None, approved(pupils(school, 1, "3c")))
        printing_ops.submit_order(director, own)
        # A draft, the newest order (lists show the newest first).
        printing_ops.create_order(director, school, ids.p1, approved(pupils(school, 1, "3c")))
        # Applications waiting for the director, made last so that lists (newest first) show them
        # first: a replacement and a duplicate (return and payment forms) and a first card.
        applications.create_application(director, handed[0], "replacement", reason_code="data_error", school=school)
        applications.create_application(director, handed[1], "duplicate", reason_code="lost", school=school)
        applications.create_application(director, pupils(school, 1, "2b")[0], school=school)
        # A parent's photo waiting for review, and the pupil whose parent gets links.
        parent_pupil = pupils(school, 1, "1a", photo=False)[0]
        ids.parent_pupil = parent_pupil.id
        pending = store_photo(director, school, pupils(school, 1, "1a", photo=False)[0])
        pending.status = "pending"
        # A pupil leaving for school B, the request still pending (school A may withdraw it).
        transfer.send(director, school, pupils(school, 1, "2b")[0], ids.b)
        # Roster imports: one checked (import / discard), one waiting for its column mapping.
        roster_import.start(director, roster_csv())
        roster_import.start(director, roster_csv(header=["Kolumna 1", "Kolumna 2", "Kolumna 3", "Kolumna 4",
                                                         "Kolumna 5", "Kolumna 6", "Kolumna 7"]))
        # A register of cards issued before Legitka, previewed (save / discard; docs/domain.md §24).
        registry_imports.start(director, registry_csv([
            f"900/2022;Dawny;Piotr;;{pesel_rules.make(dt.date(2008, 1, 20), 333, 'M')};8a;01.09.2022;papierowa;"
            "unieważniona;"]))
        holograms.receive(director, school_year=year, supplier="PWPW", received_on=clock.today(),
                          first="HS 000101", last="HS 000120")
        db.session.commit()
        del ready_for_order
        relay_outbox()
    if not in_process_jobs:
        run_jobs(app)

    # The printer moves its orders on; the school confirms what it received.
    with app.app_context(), tenant_scope(Tenant(printer_id=ids.p1)):
        orders = {state: fulfilment_order(order_id) for state, order_id in external.items()}
        for state in ("downloaded", "printed", "shipped", "delivered", "rejected"):
            fulfilment.accept(operator, orders[state])
        for state in ("downloaded", "printed", "shipped", "delivered"):
            fulfilment.mark_downloaded(operator, orders[state])
        for state in ("printed", "shipped", "delivered"):
            items = fulfilment.items(orders[state])
            results = [ItemResult(card_number=items[0].card_label, outcome="printed", blank_serial=f"BL-{state}-1"),
                       ItemResult(card_number=items[1].card_label, outcome="rejected", reason="rozmazany druk")]
            fulfilment.record_results(operator, orders[state], results)
        for state in ("shipped", "delivered"):
            fulfilment.ship(operator, orders[state], carrier="InPost", tracking_number="123")
        fulfilment.reject(operator, orders["rejected"], "brak blankietów")
        orders["failed"].status = OrderStatus.FAILED.value
        orders["failed"].error = "Brak zdjęcia u 1 ucznia w zamówieniu."
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=ids.a)):
        fulfilment.confirm_delivery(director, fulfilment_order(external["delivered"]))
        db.session.commit()
    # A pupil of school B coming to school A, waiting for A's decision (accept or decline).
    director_b = Actor(user_id=ids.users["school_director_b"], role="school_director", organisation_id=ids.b)
    with app.app_context(), tenant_scope(Tenant(school_id=ids.b)):
        school_b = db.session.get(Organisation, ids.b)
        incoming = add_pupil(director_b, surname="Przybylska", first="Ewa", serial=399, class_name="3b")
        store_photo(director_b, school_b, incoming)
        transfer.send(director_b, school_b, incoming, ids.a)
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(printer_id=ids.p1)):
        create_client(operator, name="System drukarni", scopes=["batches:read", "batches:ack"])
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(city_id=ids.city)):
        save_budget(ids.city, {"year": str(clock.today().year), "amount": "60000", "target_percent": "90",
                               "target_date": clock.today().replace(month=12, day=31).isoformat()})
        db.session.add(CentreCostProfile(
            city_id=ids.city, printer_id=ids.centre, purchase_price=Decimal("16000.00"),
            purchased_on=dt.date(2024, 8, 1), amortisation_years=5, licence_per_year=Decimal("2000.00"),
            starter_kit_price=Decimal("1000.00"), blank_price=Decimal("7.90"), hologram_price=Decimal("1.20"),
            ribbon_price=Decimal("480.00"), ribbon_yield=250, staff_minutes_per_card=Decimal("3.00"),
            hourly_rate=Decimal("45.00"), spoilage_percent=Decimal("3.00")))
        # A council report whose job kept dying: its page offers "Ponów".
        failed = council_report.request_report(ids.city, ids.users["city_official"], Filters.default())
        failed.status, failed.error = "failed", council_report.GAVE_UP
        # Consultations with the directors: a draft (its page offers "Otwórz" and "Usuń") and an open
        # one (the director's answer form; the city's deadline form and "Zamknij").
        official = Actor(user_id=ids.users["city_official"], role="city_official", organisation_id=ids.city)
        deadline = (clock.today() + dt.timedelta(days=30)).strftime("%d.%m.%Y")
        consultations.save(ids.city, official, {"title": "Szkic konsultacji", "deadline": deadline})
        consultations.open_(consultations.save(ids.city, official, {
            "title": "Konsultacja otwarta", "deadline": deadline, "extra_question": "Pytanie miasta?"}))
        db.session.commit()
    return ids


def fulfilment_order(order_id: int):
    from infra.db import db
    from printing.models import PrintOrder

    return db.session.get(PrintOrder, order_id)


def parent_link(app, ids: Ids) -> str:
    """A fresh photo link for the parent's pupil (a newer link replaces the older one)."""
    from infra.db import db
    from tenants.photos import operations as photo_intake
    from tenants.pupils.models import Pupil
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    with app.app_context(), tenant_scope(Tenant(school_id=ids.a)):
        pupil = db.session.get(Pupil, ids.parent_pupil)
        value = photo_intake.issue_link(None, pupil, days=14)
        db.session.commit()
        return value
