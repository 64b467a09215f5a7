"""The demo city "Miasto Szczecin (demo)": schools of every kind, ~1,600 pupils with valid
PESELs, the city print centre and two printing houses with price lists, a user for every role,
some order history so the city's view has numbers, and one pupil's transfer from SP 18 waiting
for SP 1's decision.

Deterministic (one seeded random generator, fixed lists) and idempotent: organisations and
users are found by slug and e-mail, and a school's pupils and history are created only once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
from decimal import Decimal

from PIL import Image
from PIL import ImageDraw
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import utcnow
from portal import demo_history
from portal.jobs import start_after_commit
from printing import operations as printing_ops
from printing import quotes
from printing.models import CentreCostProfile
from printing.models import CityBudget
from printing.models import OrderItem
from printing.models import OrderStatus
from printing.models import PriceTier
from printing.models import PrinterDeletion
from printing.models import PrintOrder
from printing.models import ProcessingAgreement
from printing.models import SchoolPrinter
from reports.forecast import running_year
from reports.statistics import refresh_all
from tenants.consultations import operations as consultation_ops
from tenants.consultations.models import Consultation
from tenants.photos import operations as photo_intake
from tenants.photos.checks import CHECKS
from tenants.photos.models import PhotoSource
from tenants.pupils import applications
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.models import Application
from tenants.pupils.models import LearnerType
from tenants.pupils.models import Pupil
from tenants.registry import blanks
from tenants.registry import holograms
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import registry_order
from tenants.tenancy import nrb
from tenants.tenancy import second_factor
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Membership
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import Role
from tenants.tenancy.models import User
from tenants.tenancy.operations import log_access
from tenants.tenancy.passwords import hash_password
from tenants.transfers import operations as transfer

DEMO_PASSWORD = "legitka-demo"  # noqa: S105 (published demo login)
CITY_SLUG = "szczecin-demo"

GIRLS = ["Zuzanna", "Zofia", "Hanna", "Julia", "Maja", "Łucja", "Alicja", "Oliwia", "Maria", "Pola", "Wiktoria",
         "Amelia", "Lena", "Antonina", "Helena", "Małgorzata", "Jadwiga", "Ewa", "Róża", "Iga", "Żaneta", "Agnieszka"]
BOYS = ["Jan", "Antoni", "Aleksander", "Franciszek", "Nikodem", "Szymon", "Filip", "Jakub", "Stanisław", "Mikołaj",
        "Wojciech", "Tymon", "Ignacy", "Józef", "Łukasz", "Bartłomiej", "Maciej", "Paweł", "Michał", "Kacper"]
SURNAMES = [("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik"),
            ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"),
            ("Szymański", "Szymańska"), ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
            ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"), ("Piotrowski", "Piotrowska"),
            ("Grabowski", "Grabowska"), ("Pawłowski", "Pawłowska"), ("Michalski", "Michalska"), ("Król", "Król"),
            ("Wieczorek", "Wieczorek"), ("Jabłoński", "Jabłońska"), ("Wróbel", "Wróbel"), ("Nowakowski", "Nowakowska"),
            ("Majewski", "Majewska"), ("Olszewski", "Olszewska"), ("Stępień", "Stępień"), ("Jaworski", "Jaworska"),
            ("Malinowski", "Malinowska"), ("Górski", "Górska"), ("Sikora", "Sikora"), ("Żak", "Żak"),
            ("Łęcki", "Łęcka"), ("Ślusarczyk", "Ślusarczyk"), ("Bąk", "Bąk"), ("Gołębiowski", "Gołębiowska")]


@dataclasses.dataclass(frozen=True)
class DemoSchool:
    slug: str
    name: str
    school_type: str
    street: str
    postal_code: str
    district: str
    director: str
    grades: int  # number of year groups
    classes_per_grade: int
    class_size: int
    learner_type: str = LearnerType.PUPIL.value
    disabled_share: float = 0.02


SCHOOLS = [
    DemoSchool("sp1", "Szkoła Podstawowa nr 1 im. Bolesława Chrobrego", "primary", "ul. Józefa Piłsudskiego 12",
               "70-460", "Śródmieście", "Grażyna Kowalczyk", 8, 2, 14),
    DemoSchool("sp18", "Szkoła Podstawowa nr 18 im. Marii Konopnickiej", "primary", "ul. Żółkiewskiego 4",
               "71-104", "Zachód", "Tomasz Wróblewski", 8, 2, 11),
    DemoSchool("sp37", "Szkoła Podstawowa nr 37 z Oddziałami Integracyjnymi", "primary", "ul. Jagiellońska 58",
               "70-382", "Śródmieście", "Beata Ślęzak", 8, 2, 10, disabled_share=0.08),
    DemoSchool("sp48", "Szkoła Podstawowa nr 48 im. Józefa Wybickiego", "primary", "ul. Górnośląska 19",
               "70-767", "Prawobrzeże", "Andrzej Łukaszewicz", 8, 1, 14),
    DemoSchool("sp61", "Szkoła Podstawowa nr 61", "primary", "ul. Światowida 15", "71-771", "Północ",
               "Jolanta Gąsiorowska", 8, 1, 13),
    DemoSchool("sp74", "Szkoła Podstawowa nr 74 im. Ewy Szelburg-Zarembiny", "primary", "ul. Bandurskiego 56",
               "71-683", "Północ", "Krzysztof Żurawski", 8, 1, 12),
    DemoSchool("lo2", "II Liceum Ogólnokształcące im. Mieszka I", "liceum", "pl. Mariacki 1", "70-547",
               "Śródmieście", "Elżbieta Wąsowicz", 4, 3, 12),
    DemoSchool("lo13", "XIII Liceum Ogólnokształcące", "liceum", "ul. Unisławy 26", "71-413", "Zachód",
               "Paweł Ciećkiewicz", 4, 2, 12),
    DemoSchool("tech-lacz", "Technikum Łączności i Informatyki nr 3", "technikum", "ul. Jana Matejki 22",
               "70-530", "Śródmieście", "Mirosław Gałązka", 5, 2, 11),
    DemoSchool("tech-mech", "Technikum Mechaniczne i Elektryczne nr 1", "technikum", "ul. Sikorskiego 3",
               "70-313", "Pomorzany", "Dorota Kołodziej", 5, 2, 10),
    DemoSchool("bs2", "Branżowa Szkoła I stopnia nr 2", "branzowa", "ul. Staszica 1", "71-515", "Niebuszewo",
               "Ryszard Błażejczyk", 3, 2, 11),
    DemoSchool("sosw1", "Specjalny Ośrodek Szkolno-Wychowawczy nr 1", "special", "ul. Gościnna 10", "71-784",
               "Północ", "Halina Żmudzińska", 8, 1, 8, disabled_share=1.0),
    DemoSchool("cku", "Centrum Kształcenia Ustawicznego — Liceum dla Dorosłych", "adult", "ul. Kutrzeby 7",
               "71-019", "Gumieńce", "Marek Ostrowski", 3, 2, 14, learner_type=LearnerType.ADULT.value,
               disabled_share=0.03),
]

PRINTERS = [
    # slug, name, city centre?, lead time (days), tiers (min quantity, gross zł per card),
    # terms: season surcharge per card, shipping per order
    ("centrum-druku", "Miejskie Centrum Druku Legitymacji (demo)", True, 14,
     [(1, "11.40"), (50, "10.90"), (200, "10.40")], ("0.00", "0.00")),
    ("pomorska-karta", "Drukarnia Pomorska Karta sp. z o.o. (demo)", False, 21,
     [(1, "15.50"), (20, "13.00"), (50, "11.50"), (200, "9.90")], ("1.50", "18.00")),
    ("polcard", "PolCard Druk S.A. (demo)", False, 30,
     [(1, "14.00"), (30, "12.50"), (100, "10.50"), (500, "8.50")], ("2.00", "22.99")),
]
# The one demo school that prints its cards itself (docs/domain.md §13 figures).
OWN_PRINTER_SCHOOL = "lo2"
OWN_PRINTER = dict(model="Evolis Primacy 2 Duplex", purchase_price=Decimal("6500.00"),
                   licence_per_year=Decimal("1000.00"), starter_kit_price=Decimal("500.00"),
                   blank_price=Decimal("7.90"), hologram_price=Decimal("1.20"), ribbon_price=Decimal("480.00"),
                   ribbon_yield=250, spoilage_percent=Decimal("3.00"), lead_time_days=2)


def _get_or_create_org(slug: str, **fields) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(slug=slug, **fields)
        db.session.add(org)
        db.session.flush()
    return org


def _user(email: str, name: str, *, org: Organisation | None = None, role: Role | None = None,
          admin: bool = False, password_hash: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=name, password_hash=password_hash, is_platform_admin=admin)
        db.session.add(user)
        db.session.flush()
    exists = org is not None and db.session.scalar(select(Membership.id).where(
        Membership.user_id == user.id, Membership.organisation_id == org.id, Membership.role == role.value))
    if org is not None and exists is None:
        db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role.value))
    if admin or (role is not None and role.value in second_factor.REQUIRED_ROLES):
        # Enrolled already: `flask legitka demo-totp EMAIL` prints the code (README, docs/security.md T2.3).
        second_factor.enrol_demo(user)
    return user


def portrait(rng: random.Random) -> bytes:
    """A plain synthetic ID-style portrait (no real person): light background, head and shoulders."""
    img = Image.new("RGB", (492, 633), (238, 238, 242))
    draw = ImageDraw.Draw(img)
    skin = rng.choice([(241, 204, 177), (224, 182, 150), (198, 150, 118), (250, 218, 196)])
    hair = rng.choice([(60, 40, 25), (120, 80, 40), (200, 160, 90), (30, 25, 20), (150, 60, 30)])
    shirt = rng.choice([(40, 70, 130), (120, 30, 50), (40, 100, 70), (80, 80, 90), (200, 200, 205)])
    draw.rounded_rectangle((70, 470, 422, 700), radius=120, fill=shirt)
    draw.rectangle((210, 400, 282, 490), fill=skin)
    draw.ellipse((136, 95, 356, 420), fill=hair)
    draw.ellipse((150, 140, 342, 430), fill=skin)
    for x in (205, 287):
        draw.ellipse((x - 11, 255, x + 11, 270), fill=(50, 50, 60))
    draw.arc((210, 330, 282, 370), 20, 160, fill=(150, 70, 70), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


# The demo's portraits are drawn, not photographed: no face detector would find a face in them.
NO_CHECKS = {code: "off" for code in CHECKS}


def _photo(actor: Actor, school: Organisation, pupil: Pupil, data: bytes) -> None:
    photo_intake.submit_photo(actor, school, pupil, data, source=PhotoSource.STAFF.value, policy=NO_CHECKS)


def _birth_date(rng: random.Random, school: DemoSchool, grade: int, today: dt.date) -> dt.date:
    school_year = today.year if today.month >= 9 else today.year - 1
    if school.learner_type == LearnerType.ADULT.value:
        year = school_year - rng.randint(19, 45)
    elif school.school_type in ("primary", "special"):
        year = school_year - 6 - grade
    else:
        year = school_year - 14 - grade
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def _seed_pupils(school: Organisation, spec: DemoSchool, rng: random.Random, today: dt.date) -> int:
    from infra import services

    cipher = services.pesel_cipher()
    used: set[str] = set()
    count = 0
    for grade in range(1, spec.grades + 1):
        for section in "abc"[:spec.classes_per_grade]:
            adult = spec.learner_type == LearnerType.ADULT.value
            class_name = f"sem. {grade}{section}" if adult else f"{grade}{section}"
            for _ in range(spec.class_size):
                sex = rng.choice("KM")
                names = GIRLS if sex == "K" else BOYS
                first = rng.choice(names)
                if rng.random() < 0.15:
                    first += " " + rng.choice([n for n in names if n != first])
                surname = rng.choice(SURNAMES)[0 if sex == "M" else 1]
                dob = _birth_date(rng, spec, grade, today)
                serial = rng.randrange(1000)
                value = pesel_rules.make(dob, serial, sex)
                while value in used:
                    serial = (serial + 1) % 1000
                    value = pesel_rules.make(dob, serial, sex)
                used.add(value)
                pupil = Pupil(school_id=school.id, first_names=first, surname=surname, date_of_birth=dob, sex=sex,
                              pesel_cipher=cipher.encrypt(value), pesel_index=cipher.blind_index(value),
                              class_name=class_name, learner_type=spec.learner_type,
                              disabled=rng.random() < spec.disabled_share)
                db.session.add(pupil)
                count += 1
    db.session.flush()
    return count


# Two of the history's orders whose printer never confirmed deleting its copy: the flag the school
# and the city see (docs/domain.md §23). The others' printers confirmed two days after delivery.
DELETION_UNCONFIRMED = ("sp1", "lo13")


def _printer_confirms_deletion(order: PrintOrder, printer: Organisation) -> None:
    """The printer's confirmation, written as the printer (only it may, by row-level security)."""
    operator = db.session.scalar(select(User.id).where(User.email == f"drukarnia@{printer.slug}.demo"))
    with tenant_scope(Tenant(printer_id=printer.id)):
        db.session.add(PrinterDeletion(
            school_id=order.school_id, city_id=order.city_id, order_id=order.id, printer_id=printer.id,
            # two days after delivery, never later than now (a delivery yesterday is confirmed today)
            confirmed_at=min(order.delivered_at + dt.timedelta(days=2), max(order.delivered_at, clock.utcnow())),
            confirmed_by_id=operator, via="web",
            method="Usunięcie z serwera produkcyjnego i stacji; wydruki próbne zniszczone w niszczarce"))
        db.session.flush()


def _printer_downloads(order: PrintOrder, printer: Organisation) -> None:
    """The printer's download of the order's package, logged as the printer's portal logs it
    (`batch_download` in the printer's chain), at the moment the order records."""
    operator = db.session.scalar(select(User.id).where(User.email == f"drukarnia@{printer.slug}.demo"))
    db.session.flush()
    with clock.pinned(order.downloaded_at), tenant_scope(Tenant(printer_id=printer.id)):
        log_access(Actor(user_id=operator, role=Role.PRINTER_OPERATOR.value, organisation_id=printer.id,
                         endpoint="seed"), "batch_download", school_id=order.school_id, order_id=order.id)
        db.session.flush()


def _confirm_past_deletions(schools: list[Organisation], today: dt.date) -> None:
    """The earlier school years' orders (demo_history) were long since deleted by their printers:
    each gets its confirmation, so that only this autumn's two unconfirmed orders are flagged."""
    autumn = dt.datetime(running_year(today), 9, 1, tzinfo=dt.UTC)
    for school in schools:
        with tenant_scope(Tenant(school_id=school.id)):
            confirmed = select(PrinterDeletion.order_id)
            past = db.session.scalars(select(PrintOrder).where(
                PrintOrder.status == OrderStatus.DELIVERED.value, PrintOrder.delivered_at < autumn,
                PrintOrder.id.not_in(confirmed)).order_by(PrintOrder.id)).all()
            for order in past:
                _printer_confirms_deletion(order, db.session.get(Organisation, order.printer_id))
            db.session.commit()


def _seed_history(school: Organisation, spec: DemoSchool, rng: random.Random, printers: list[Organisation],
                  director: User, today: dt.date) -> None:
    """First classes got cards this autumn: photos, approved applications, an order that went the
    whole way; in the showcase school, class 1b waits in every earlier state for the demo, and in
    SP 18 part of class 1b is in a fresh order."""
    actor = Actor(user_id=director.id, role=Role.SCHOOL_DIRECTOR.value, organisation_id=school.id, endpoint="seed")
    held_back = {"1b"} if spec.slug in ("sp1", "sp18") else set()  # their 1b shows the earlier states
    running = running_year(today)
    first_class = [p for p in db.session.scalars(select(Pupil).order_by(Pupil.id))
                   if demo_history.start_year(p, running) == running and p.class_name not in held_back]
    submitted_on = today - dt.timedelta(days=rng.randint(35, 60))
    base = dt.datetime.combine(submitted_on, dt.time(9, 0), tzinfo=dt.UTC)
    # The school's work happens on its days, so the access log's rows carry them (docs/dpo.md: a
    # data protection officer asking "who saw this child in October" finds that month's rows).
    with clock.pinned(base - dt.timedelta(days=7)):
        for pupil in first_class:
            _photo(actor, school, pupil, portrait(rng))
            application = applications.create_application(actor, pupil)
            applications.decide_application(actor, application, approve=True)
    printer = printers[rng.randrange(len(printers))]
    ids = [a.id for a in db.session.scalars(select(Application).where(
        Application.status == "approved"))]
    with clock.pinned(base):
        order = printing_ops.create_order(actor, school, printer.id, ids)
        printing_ops.submit_order(actor, order, today=submitted_on)
    # The history: the printer printed and shipped, the school received and handed most out.
    lead = dt.timedelta(days=rng.randint(5, (printer.lead_time_days or 14) + 5))
    order.status = OrderStatus.DELIVERED.value
    order.submitted_at = base
    order.ready_at = base + dt.timedelta(minutes=3)
    order.downloaded_at = base + dt.timedelta(hours=5)
    _printer_downloads(order, printer)
    order.printed_at = base + lead - dt.timedelta(days=2)
    order.shipped_at = base + lead - dt.timedelta(days=1)
    order.delivered_at = base + lead
    order.delivered_by_id = director.id
    order.accepted_at = base + dt.timedelta(hours=4)
    order.carrier, order.tracking_number = "InPost", f"6200{rng.randrange(10**12):012d}"
    order.purge_after = order.delivered_at + dt.timedelta(days=7)
    # Invoices: one printer in the demo charged its shipping twice — the flag the city sees.
    gross = order.total_price + (Decimal("18.00") if rng.random() < 0.3 else Decimal("0.00"))
    order.invoice_number, order.invoice_gross = f"FV/{submitted_on:%Y/%m}/{order.id:04d}", gross
    order.invoice_net = (gross / Decimal("1.23")).quantize(Decimal("0.01"))
    order.invoice_vat = gross - order.invoice_net
    order.invoice_recorded_at, order.invoice_mismatch = order.shipped_at, gross != order.total_price
    items = {i.card_id: i for i in db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))}
    cards = list(db.session.scalars(select(Card).where(Card.order_id == order.id).order_by(*registry_order())))
    handed = 0
    for card in cards:
        card.blank_serial = f"EL{rng.randrange(10**8):08d}"
        items[card.id].outcome, items[card.id].blank_serial = "printed", card.blank_serial
        items[card.id].reported_at = order.printed_at
        card.status = CardStatus.DELIVERED.value
        if rng.random() < 0.85:
            card.status = CardStatus.HANDED_OVER.value
            card.handed_over_on = min(today, (base + lead).date() + dt.timedelta(days=rng.randint(1, 5)))
            card.collected_by = rng.choice(GIRLS + BOYS) + " " + rng.choice(SURNAMES)[0] + " (rodzic)"  # pupils.names
            handed += 1
    order.handed_over_count = handed
    for application in db.session.scalars(select(Application).where(
            Application.order_id == order.id)):
        application.status = "issued" if any(c.application_id == application.id and c.status == "handed_over"
                                              for c in cards) else "ordered"
    db.session.flush()
    if spec.slug not in DELETION_UNCONFIRMED:
        _printer_confirms_deletion(order, printer)

    # The school's hologram stock for this school year (for the yearly confirmation).
    holograms.receive(actor, school_year=holograms.school_year_of(today), supplier="PWPW S.A. (demo)",
                      received_on=submitted_on, first=f"HS {spec.slug.upper()} 0001",
                      last=f"HS {spec.slug.upper()} 0150")

    if spec.slug == "sp18":
        # A fresh order from class 1b waits in the printers' queue for the printer's operator.
        fresh = []
        for pupil in db.session.scalars(select(Pupil).where(Pupil.class_name == "1b").order_by(Pupil.id).limit(6)):
            _photo(actor, school, pupil, portrait(rng))
            application = applications.create_application(actor, pupil)
            applications.decide_application(actor, application, approve=True)
            fresh.append(application.id)
        pending = printing_ops.create_order(actor, school, printers[1].id, fresh)
        printing_ops.submit_order(actor, pending, today=today)
        # A pupil of class 1a moves to SP 1: the request waits there for the secretary to accept
        # or decline (her card here is invalidated; SP 1 receives her data and a copy of the photo).
        sp1 = db.session.scalar(select(Organisation).where(Organisation.slug == "sp1"))
        if sp1 is not None:
            transfer.send(actor, school, first_class[-1], sp1.id)

    if spec.slug == "sp1":
        # Class 1b in every earlier state, so each role has something to do in the demo.
        second = list(db.session.scalars(select(Pupil).where(Pupil.class_name == "1b").order_by(Pupil.id)))
        for i, pupil in enumerate(second):
            if i < 8:
                _photo(actor, school, pupil, portrait(rng))
            if i < 6:
                application = applications.create_application(actor, pupil)
                if i < 4:
                    applications.decide_application(actor, application, approve=True)


def _agreements(school: Organisation, printers: list[Organisation], director: User, today: dt.date) -> None:
    """Every demo school has signed a data-processing agreement with every printer of the city,
    in force for the school years 2024/25 to 2027/28."""
    for printer in printers:
        if db.session.scalar(select(ProcessingAgreement.id).where(ProcessingAgreement.printer_id == printer.id)):
            continue
        db.session.add(ProcessingAgreement(
            school_id=school.id, printer_id=printer.id, reference=f"UP/{school.slug}/{printer.slug}/2024",
            signed_on=dt.date(2024, 8, 26), valid_from=dt.date(2024, 9, 1),
            valid_until=dt.date(2028, 8, 31), created_by_id=director.id))
    db.session.flush()


def _city_finances(city: Organisation, centre: Organisation, today: dt.date) -> None:
    """The city's budget for this year and its print centre's real costs (Bydgoszcz-like: two
    printers with software, docs/domain.md §13), unless already entered."""
    if db.session.scalar(select(CityBudget.id).where(CityBudget.year == today.year)) is None:
        db.session.add(CityBudget(city_id=city.id, year=today.year, amount=Decimal("60000.00"),
                                  target_date=dt.date(today.year, 10, 31), target_percent=90))
    if db.session.scalar(select(CentreCostProfile.id).where(CentreCostProfile.printer_id == centre.id)) is None:
        db.session.add(CentreCostProfile(
            city_id=city.id, printer_id=centre.id, model="2 × Evolis Primacy 2 + oprogramowanie",
            purchase_price=Decimal("16000.00"), purchased_on=dt.date(2024, 8, 1), amortisation_years=5,
            licence_per_year=Decimal("2000.00"), starter_kit_price=Decimal("1000.00"), blank_price=Decimal("7.90"),
            hologram_price=Decimal("1.20"), ribbon_price=Decimal("480.00"), ribbon_yield=250,
            staff_minutes_per_card=Decimal("3.00"), hourly_rate=Decimal("45.00"), spoilage_percent=Decimal("3.00"),
            lead_time_days=14))


CONSULTATION_TITLE = "Legitymacje szkolne od przyszłego roku: własny kanał, wspólne zamówienie czy centrum druku?"
CONSULTATION_ANSWERS = {  # school → (rating, problems, description, hours a month, preference, comments)
    "sp18": ("2", ["photos", "delays"], "Rodzice przysyłają zdjęcia z telefonu, połowę trzeba poprawiać.", "8",
             "city_order", "Wspólne zamówienie odciążyłoby sekretariat."),
    "sp37": ("3", ["holograms"], "", "5", "print_centre", ""),
    "lo2": ("4", [], "", "3", "keep_own", "Obecna drukarnia działa dobrze."),
    "tech-mech": ("2", ["costs", "equipment"], "Taśmy do drukarki kończą się w środku września.", "12",
                  "print_centre", "Własna drukarka wymaga za dużo obsługi."),
    "sosw1": ("3", ["staff", "other"], "Uczniowie z niepełnosprawnościami potrzebują zdjęć robionych w szkole.",
              "6,5", "city_order", ""),
}


def _consultation(city: Organisation, schools: list, today: dt.date) -> None:
    """One open consultation with the directors (docs/city.md) and a few schools' answers, unless
    the city has it already; SP 1 has not answered, so its director sees the call on the dashboard."""
    with tenant_scope(Tenant(city_id=city.id)):
        found = db.session.scalar(select(Consultation).where(Consultation.title == CONSULTATION_TITLE))
        if found is not None:
            return
        official = Actor(user_id=None, role=Role.CITY_OFFICIAL.value, organisation_id=city.id)
        consultation = consultation_ops.open_(consultation_ops.save(city.id, official, {
            "title": CONSULTATION_TITLE, "deadline": inputs.format_day(today + dt.timedelta(days=21)),
            "intro": "Miasto rozważa wspólne zamawianie legitymacji albo miejskie centrum druku. Prosimy dyrektorów "
                     "o ocenę obecnego sposobu i o zdanie przed decyzją.",
            "extra_question": "Czy szkoła mogłaby odbierać legitymacje z centrum druku osobiście?"}))
        db.session.commit()
        consultation_id = consultation.id
    for school, spec, director in schools:
        if spec.slug not in CONSULTATION_ANSWERS:
            continue
        rating, problems, text, hours, preference, comments = CONSULTATION_ANSWERS[spec.slug]
        with tenant_scope(Tenant(school_id=school.id)):
            actor = Actor(user_id=director.id, role=Role.SCHOOL_DIRECTOR.value, organisation_id=school.id)
            consultation_ops.answer(actor, school, db.session.get(Consultation, consultation_id), {
                "satisfaction": rating, "problems": problems, "problems_text": text, "staff_hours": hours,
                "preference": preference, "comments": comments, "extra_answer": "Tak." if rating != "4" else ""})
            db.session.commit()


def seed(today: dt.date | None = None) -> str:
    """Create whatever of the demo city is missing; returns a one-paragraph report."""
    today = today or clock.today()
    password_hash = hash_password(DEMO_PASSWORD)
    city = _get_or_create_org(CITY_SLUG, kind=OrgKind.CITY.value, name="Miasto Szczecin (demo)", town="Szczecin")
    printers = []
    for slug, name, centre, lead, tiers, (surcharge, shipping) in PRINTERS:
        printer = _get_or_create_org(slug, kind=OrgKind.PRINTER.value, name=name, is_city_print_centre=centre,
                                     lead_time_days=lead, town="Szczecin", contact_email=f"zamowienia@{slug}.demo",
                                     season_surcharge=Decimal(surcharge), shipping_price=Decimal(shipping))
        has_tiers = db.session.scalar(select(PriceTier.id).where(PriceTier.printer_id == printer.id).limit(1))
        if has_tiers is None:
            for qty, price in tiers:
                db.session.add(PriceTier(printer_id=printer.id, min_quantity=qty, unit_price=Decimal(price)))
        if db.session.get(CityPrinter, (city.id, printer.id)) is None:
            db.session.add(CityPrinter(city_id=city.id, printer_id=printer.id))
        _user(f"drukarnia@{slug}.demo", f"Operator — {name}", org=printer, role=Role.PRINTER_OPERATOR,
              password_hash=password_hash)
        printers.append(printer)
    _user("admin@legitka.demo", "Administrator platformy", admin=True, password_hash=password_hash)
    _user("urzednik@szczecin.demo", "Katarzyna Żelazna (Wydział Oświaty)", org=city, role=Role.CITY_OFFICIAL,
          password_hash=password_hash)
    # The city's data protection officer, serving every demo school (docs/dpo.md).
    _user("iod@szczecin.demo", "Tomasz Rzetelny (Inspektor Ochrony Danych)", org=city,
          role=Role.DATA_PROTECTION_OFFICER, password_hash=password_hash)
    schools = []
    for spec in SCHOOLS:
        school = _get_or_create_org(spec.slug, kind=OrgKind.SCHOOL.value, name=spec.name, city_id=city.id,
                                    school_type=spec.school_type, street=spec.street, postal_code=spec.postal_code,
                                    town="Szczecin", director_name=spec.director, district=spec.district)
        if not school.bank_account:  # the duplicate-fee account: a made-up but valid NRB (PKO BP sort code)
            school.bank_account = nrb.make("10205011", f"{len(schools) + 1:016d}")
        director = _user(f"dyrektor@{spec.slug}.demo", spec.director, org=school, role=Role.SCHOOL_DIRECTOR,
                         password_hash=password_hash)
        _user(f"sekretariat@{spec.slug}.demo", f"Sekretariat — {spec.name}", org=school, role=Role.SCHOOL_SECRETARY,
              password_hash=password_hash)
        schools.append((school, spec, director))
    db.session.commit()

    created = 0
    for index, (school, spec, director) in enumerate(schools):
        with tenant_scope(Tenant(school_id=school.id)):
            _agreements(school, printers, director, today)
            if spec.slug == OWN_PRINTER_SCHOOL and quotes.school_printer(school.id) is None:
                db.session.add(SchoolPrinter(school_id=school.id, city_id=city.id, **OWN_PRINTER))
            if db.session.scalar(select(func.count()).select_from(Pupil)) == 0:
                rng = random.Random(f"legitka-demo-{spec.slug}")
                created += _seed_pupils(school, spec, rng, today)
                actor = Actor(user_id=director.id, role=Role.SCHOOL_DIRECTOR.value, organisation_id=school.id,
                              endpoint="seed")
                demo_history.past_years(actor, school, printers[rng.randrange(len(printers))], rng, today,
                                        lambda p, a=actor, s=school, r=rng: _photo(a, s, p, portrait(r)))
                if index % 3 != 2:  # two schools in three already ordered this autumn
                    _seed_history(school, spec, rng, printers, director, today)
                db.session.commit()
            if spec.slug == OWN_PRINTER_SCHOOL and not blanks.keeps_ledger():  # its own blank stock (§22)
                blanks.receive(Actor(user_id=director.id, role=Role.SCHOOL_DIRECTOR.value, organisation_id=school.id,
                                     endpoint="seed"), supplier="PWPW S.A. (demo)", received_on=today,
                               first="LO2-000001", last="LO2-000200")
                db.session.commit()
    centre = printers[0]  # the city's print centre keeps its blank stock too (docs/domain.md §22)
    with tenant_scope(Tenant(printer_id=centre.id)):
        if not blanks.keeps_ledger():
            blanks.receive(Actor(user_id=None, role=Role.PRINTER_OPERATOR.value, organisation_id=centre.id,
                                 endpoint="seed"), supplier="PWPW S.A. (demo)", received_on=today,
                           first="CD-000001", last="CD-000500")
            db.session.commit()
    pupils_total = 0
    for school, _spec, _director in schools:
        with tenant_scope(Tenant(school_id=school.id)):
            pupils_total += db.session.scalar(select(func.count()).select_from(Pupil))
    with tenant_scope(Tenant(city_id=city.id)):
        orders = db.session.scalar(select(func.count()).select_from(PrintOrder))
    db.session.commit()
    start_after_commit()  # the waiting batch and the printer's e-mail (in-process on the embedded default)
    with tenant_scope(Tenant(city_id=city.id)):
        _city_finances(city, printers[0], today)
        db.session.commit()
    if created:  # the earlier school years' transfers and, once refreshed, their history (issue 17)
        demo_history.past_transfers([s for s, _spec, _d in schools], printers[0],
                                    {s.id: d.id for s, _spec, d in schools}, today)
        _confirm_past_deletions([s for s, _spec, _d in schools], today)
    _consultation(city, schools, today)
    refresh_all()  # the city dashboard's anonymous statistics (reports.statistics)
    if created:
        demo_history.past_history([s for s, _spec, _d in schools], today)
        refresh_all()  # the forecast, now with the past years' history
    return (f"Demo city ready: {len(schools)} schools, {pupils_total} pupils ({created} new), "
            f"{len(printers)} printers, {orders} orders; seeded at {utcnow():%Y-%m-%d %H:%M} UTC.")
