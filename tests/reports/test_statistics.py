"""The anonymous statistics behind the city dashboard (reports.statistics): each school's counts
equal what straightforward SQL finds in the base tables (read as the superuser: the owner role
is under FORCE ROW LEVEL SECURITY too, and the truth must not depend on any policy),
and erasing a pupil's data under the retention rules leaves every number of the dashboard as it
was. `seed_cities` builds the city the dashboard tests use too (tests/reports/dashboard_helpers.py
`seeded`).

"Deleted under retention rules" here means what a school's archival deletion of a pupil who has
left does at its worst: the pupil's row, photos and links, applications, registry cards and the
printers' order items for them are erased (the orders themselves, which carry no personal data,
stay). Statistics that outlive it: the school's snapshot counts only current pupils, and every
card's fact stays as last computed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra.db import db
from printing import fulfilment
from printing import operations as printing_ops
from printing.models import OrderItem
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from reports import statistics
from reports.models import CardFact
from reports.models import SchoolStats
from tenants.mlegitymacja import operations as mlegitymacja
from tenants.pupils import applications
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.registry import holograms
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import letters
from tests.helpers import store_photo

ZONE = "Europe/Warsaw"
LIVE = ("ordered", "printed", "delivered", "handed_over")


@dataclasses.dataclass
class Seed:
    """What `seed_cities` made: ids, the users' e-mails, and every pupil's name and PESEL (the
    city must never see them)."""

    today: dt.date
    city: int
    other_city: int
    a: int
    b: int
    empty: int
    x: int
    p1: int
    p2: int
    names: list[str] = dataclasses.field(default_factory=list)
    pesels: list[str] = dataclasses.field(default_factory=list)
    left_pupil: int = 0
    director_a: int = 0
    official: str = "urzednik@test.pl"
    other_official: str = "urzednik@drugie.pl"


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=dt.UTC)


class _School:
    """Acts as one school's director inside its tenant, with the real operations."""

    def __init__(self, seed: Seed, school_id: int, user_id: int):
        self.seed, self.id = seed, school_id
        self.actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
        self.school = db.session.get(Organisation, school_id)
        self.school.bank_account = self.school.bank_account or "07102050110000990202075919"
        self.serial = 0

    def pupil(self, first: str, surname: str, class_name: str, *, photo: bool = True) -> Pupil:
        self.serial += 1
        born = dt.date(2012, 1, 1) + dt.timedelta(days=37 * self.serial + self.id)
        pupil = add_pupil(self.actor, first=first, surname=surname, born=born, serial=200 + self.serial, sex="K",
                          class_name=class_name)
        self.seed.names.append(surname)
        self.seed.pesels.append(make_pesel(born, 200 + self.serial, "K"))
        if photo:
            store_photo(self.actor, self.school, pupil)
        return pupil

    def order(self, printer_id: int | None, pupils: list[Pupil], *, applied: int, submitted: int,
              delivered: int | None = None, kind: str = "first") -> tuple[PrintOrder, list[Card]]:
        """Applications `applied` days ago, the order placed `submitted` days ago and, when
        `delivered` is given, delivered that many days ago (printing is not under test)."""
        ids = []
        for pupil in pupils:
            application = applications.create_application(self.actor, pupil, kind, school=self.school,
                                                          reason_code="lost" if kind == "duplicate" else "")
            if kind == "duplicate":
                applications.record_payment(self.actor, application, amount=application.fee_amount,
                                            paid_on=self.seed.today, reference="przelew")
            applications.decide_application(self.actor, application, approve=True)
            application.created_at = _at(self.seed.today - dt.timedelta(days=applied), 8)
            ids.append(application.id)
        order = printing_ops.create_order(self.actor, self.school, printer_id, ids)
        position = [p.id for p in pupils]
        cards = sorted(printing_ops.submit_order(self.actor, order), key=lambda c: position.index(c.pupil_id))
        order.submitted_at = _at(self.seed.today - dt.timedelta(days=submitted), 9)
        if delivered is not None:
            self.deliver(order, cards, delivered)
        db.session.flush()
        return order, cards

    def deliver(self, order: PrintOrder, cards: list[Card], days_ago: int) -> None:
        order.status, order.delivered_at = "delivered", _at(self.seed.today - dt.timedelta(days=days_ago), 10)
        for card in cards:
            card.status = "delivered"
        db.session.flush()

    def hand_over(self, card: Card, days_ago: int) -> None:
        printing_ops.record_handover(self.actor, card, handed_over_on=self.seed.today - dt.timedelta(days=days_ago),
                                     collected_by="rodzic")


def seed_cities(app, world, today: dt.date | None = None) -> Seed:
    """City 1: school A (primary, Śródmieście) with every kind of history, school B (liceum,
    Zachód) printing partly on its own printer, an empty school E (primary, Zachód); printer P1
    (the city print centre, 14 days) and P2 (external, 21 days, shipping 18 zł). City 2: school X
    with its own official and orders from P1."""
    today = today or clock.today()
    city = world.city("Miasto Pierwsze")
    other_city = world.city("Miasto Drugie")
    a = world.school(city, "Szkoła Podstawowa nr 1", district="Śródmieście")
    b = world.school(city, "II Liceum Ogólnokształcące", school_type="liceum", district="Zachód")
    empty = world.school(city, "Szkoła Podstawowa nr 3", district="Zachód")
    x = world.school(other_city, "Szkoła Podstawowa nr 99 w Drugim", district="Centrum")
    p1 = world.printer([city, other_city], "Centrum Druku Pierwsze", tiers=((1, "11.40"), (10, "10.90")))
    p2 = world.printer([city], "Drukarnia Druga", tiers=((1, "15.50"), (10, "13.00")))
    director_a = world.user("dyrektor.a@test.pl", a, "school_director")
    director_b = world.user("dyrektor.b@test.pl", b, "school_director")
    director_e = world.user("dyrektor.e@test.pl", empty, "school_director")
    director_x = world.user("dyrektor.x@test.pl", x, "school_director")
    world.user("urzednik@test.pl", city, "city_official")
    world.user("urzednik@drugie.pl", other_city, "city_official")
    seed = Seed(today, city, other_city, a, b, empty, x, p1, p2, director_a=director_a)
    with app.app_context():
        centre, second = db.session.get(Organisation, p1), db.session.get(Organisation, p2)
        centre.is_city_print_centre = True
        second.lead_time_days, second.shipping_price = 21, Decimal("18.00")
        db.session.commit()

        with tenant_scope(Tenant(school_id=a)):
            s = _School(seed, a, director_a)
            p = [s.pupil(f"Zofia{letters(i)}", f"Tajemnicza{letters(i)}", cls) for i, cls in enumerate(
                ["1a", "1a", "1a", "1a", "1a", "2b", "2b", "2b", "2b", "8c", "8c"], start=1)]
            # Long ago (the previous period): two cards, both handed over; one pupil later left.
            old, old_cards = s.order(p1, [p[9], p[10]], applied=420, submitted=400, delivered=390)
            s.hand_over(old_cards[0], 385)
            s.hand_over(old_cards[1], 380)
            # This period, at the city centre: on time (10 days for 14 promised), two handed over.
            o1, c1 = s.order(p1, p[0:3], applied=60, submitted=50, delivered=40)
            s.hand_over(c1[0], 38)
            s.hand_over(c1[1], 35)
            # At P2: late (24 days for 21), both handed over.
            o2, c2 = s.order(p2, p[3:5], applied=45, submitted=44, delivered=20)
            s.hand_over(c2[0], 18)
            s.hand_over(c2[1], 10)
            # At P2: one card printed, one rejected and reprinted in a new order.
            o3, c3 = s.order(p2, p[5:7], applied=30, submitted=28)
            o3.status = "shipped"
            for item in fulfilment.items(o3):
                item.outcome = "printed" if item.card_id == c3[0].id else "rejected"
            db.session.flush()
            fulfilment.confirm_delivery(s.actor, o3)
            o3.delivered_at = _at(today - dt.timedelta(days=8), 10)
            o4 = fulfilment.reprint(s.actor, o3)
            o4.submitted_at = _at(today - dt.timedelta(days=7), 9)
            for item in fulfilment.items(o4):
                item.outcome = "printed"
            s.deliver(o4, [c3[1]], 2)
            s.hand_over(c3[0], 5)
            s.hand_over(c3[1], 1)
            # Overdue at the centre (20 days for 14, nothing delivered), and one not yet due.
            s.order(p1, [p[7]], applied=21, submitted=20)
            s.order(p1, [p[8]], applied=4, submitted=3)
            # A duplicate (9 zł paid) replaces the first card of pupil 1.
            _o7, c7 = s.order(p1, [p[0]], applied=16, submitted=15, delivered=9, kind="duplicate")
            s.hand_over(c7[0], 6)
            # mLegitymacja: registered for pupil 2; registered and invalidated for pupil 4.
            mlegitymacja.mark_registered(s.actor, p[1], c1[1], today - dt.timedelta(days=30))
            mlegitymacja.mark_registered(s.actor, p[3], c2[0], today - dt.timedelta(days=15))
            mlegitymacja.mark_invalidated(s.actor, p[3], today - dt.timedelta(days=3))
            # The pupil who left (whose data the retention test erases).
            registry.pupil_left(s.actor, p[9], "left")
            seed.left_pupil = p[9].id
            # Still waiting: a paper card, no photo, submitted, approved, approved in a draft order.
            paper = s.pupil("Ala", "Papierowska", "1b", photo=False)
            registry.record_paper_card(s.actor, paper, "P/12/2023", dt.date(2023, 9, 1))
            s.pupil("Ola", "Bezzdjęciowska", "3a", photo=False)
            applications.create_application(s.actor, s.pupil("Ewa", "Złożyńska", "1a"))
            approved = applications.create_application(s.actor, s.pupil("Iga", "Zatwierdzyńska", "4a"))
            applications.decide_application(s.actor, approved, approve=True)
            drafted = applications.create_application(s.actor, s.pupil("Ida", "Szkicowska", "5a"))
            applications.decide_application(s.actor, drafted, approve=True)
            printing_ops.create_order(s.actor, s.school, p1, [drafted.id])
            # Holograms of the previous school year: 10 received, 1 issued, 1 destroyed.
            year = holograms.school_year_of(today) - 1
            holograms.receive(s.actor, school_year=year, supplier="PWPW", received_on=today - dt.timedelta(days=400),
                              first="HA 000001", last="HA 000010")
            holograms.issue(s.actor, old_cards[1], "HA 000001", school_year=year, on=today - dt.timedelta(days=380))
            holograms.destroy(s.actor, ["HA 000010"], held_on=today - dt.timedelta(days=100), committee="A, B",
                              reason="uszkodzony")
            db.session.commit()

        with tenant_scope(Tenant(school_id=b)):
            s = _School(seed, b, director_b)
            db.session.add(SchoolPrinter(school_id=b, city_id=city, model="Evolis Primacy 2",
                                         blank_price=Decimal("7.90"), hologram_price=Decimal("1.20"),
                                         ribbon_price=Decimal("480.00"), ribbon_yield=250,
                                         spoilage_percent=Decimal("3.00"), lead_time_days=2))
            db.session.flush()
            q = [s.pupil(f"Hanna{letters(i)}", f"Licealna{letters(i)}", cls)
                 for i, cls in enumerate(["1A", "1A", "2B", "3C"], 1)]
            # Its own printer: 3 days for 2 promised (late); one handed over.
            _own, own_cards = s.order(None, q[0:2], applied=26, submitted=25, delivered=22)
            s.hand_over(own_cards[0], 20)
            # Long ago at the centre.
            _far, far_cards = s.order(p1, [q[3]], applied=205, submitted=200, delivered=190)
            s.hand_over(far_cards[0], 185)
            rejected = applications.create_application(s.actor, q[2])
            applications.decide_application(s.actor, rejected, approve=False, reason="zdjęcie nieaktualne")
            holograms.receive(s.actor, school_year=holograms.school_year_of(today), supplier="PWPW",
                              received_on=today - dt.timedelta(days=1), first="HB 000001", last="HB 000020")
            db.session.commit()

        with tenant_scope(Tenant(school_id=empty)):
            s = _School(seed, empty, director_e)
            s.pupil("Maja", "Pustkowska", "1a", photo=False)
            s.pupil("Lena", "Pustkowska", "2a", photo=False)
            db.session.commit()

        with tenant_scope(Tenant(school_id=x)):
            s = _School(seed, x, director_x)
            r = [s.pupil(f"Obca{letters(i)}", f"Drugomiejska{letters(i)}", "1a") for i in (1, 2, 3)]
            _ox, x_cards = s.order(p1, r, applied=33, submitted=31, delivered=25)
            for card in x_cards:
                s.hand_over(card, 22)
            db.session.commit()
    return seed


# --- the truth, as the owner, straight from the base tables -------------------------------------


def truth_school_counts(owner, school_id: int) -> dict:
    """Each SchoolStats number by its definition (reports.statistics), in plain SQL."""
    live = "('ordered', 'printed', 'delivered', 'handed_over')"
    in_hand = "EXISTS (SELECT 1 FROM cards c WHERE c.pupil_id = p.id AND c.status = 'handed_over')"
    paper = "(p.paper_card_number <> '' AND p.paper_card_invalidated_on IS NULL)"
    valid = f"(EXISTS (SELECT 1 FROM cards c WHERE c.pupil_id = p.id AND c.status IN {live}) OR {paper})"
    held = "(EXISTS (SELECT 1 FROM cards c WHERE c.pupil_id = p.id AND c.status = 'invalidated') " \
           "OR p.paper_card_number <> '')"
    request = ("EXISTS (SELECT 1 FROM applications a WHERE a.pupil_id = p.id AND a.status IN ('submitted', "
               "'approved', 'ordered') AND (a.kind IN ('replacement', 'duplicate') OR a.paper_card_number <> ''))")
    with owner.connect() as conn:
        def one(sql: str):
            return conn.execute(text(sql), {"s": school_id}).scalar()

        active = "p.school_id = :s AND p.status = 'active'"
        of_active = ("a.school_id = :s AND EXISTS (SELECT 1 FROM pupils p WHERE p.id = a.pupil_id "
                     "AND p.status = 'active')")
        first_year = one(f"SELECT count(*) FROM pupils p WHERE {active} AND p.class_name ~ '^1[^0-9]*$'")
        new = one(f"SELECT count(*) FROM pupils p WHERE {active} AND NOT {valid} AND NOT {held}")
        lost = one(f"SELECT count(*) FROM pupils p WHERE {active} AND NOT {valid} AND {held}")
        requests = one(f"SELECT count(*) FROM pupils p WHERE {active} AND {valid} AND {request}")
        return {
            "pupils_active": one(f"SELECT count(*) FROM pupils p WHERE {active}"),
            "pupils_needing_card": new + lost + requests,
            "needing_new": new,
            "needing_invalidated": lost,
            "needing_requests": requests,
            "pupils_valid_ecard": one(f"SELECT count(*) FROM pupils p WHERE {active} AND {in_hand}"),
            "pupils_without_photo": one(f"SELECT count(*) FROM pupils p WHERE {active} AND p.photo_key IS NULL"),
            "paper_cards": one(f"SELECT count(*) FROM pupils p WHERE {active} AND {paper} AND NOT {in_hand}"),
            "mleg_registered": one(f"SELECT count(*) FROM pupils p WHERE {active} AND p.mleg_registered_on IS NOT NULL "
                                   "AND p.mleg_invalidated_on IS NULL"),
            "applications_open": one(f"SELECT count(*) FROM applications a WHERE {of_active} "
                                     "AND a.status IN ('submitted', 'approved') AND a.order_id IS NULL"),
            "applications_total": one(f"SELECT count(*) FROM applications a WHERE {of_active}"),
            "cards_ordered": one(f"SELECT count(*) FROM cards WHERE school_id = :s AND status IN {live}"),
            "cards_delivered": one("SELECT count(*) FROM cards WHERE school_id = :s "
                                   "AND status IN ('delivered', 'handed_over')"),
            "cards_handed_over": one("SELECT count(*) FROM cards WHERE school_id = :s AND status = 'handed_over'"),
            "duplicates_paid": one(f"SELECT count(*) FROM applications a WHERE {of_active} AND a.kind = 'duplicate' "
                                   "AND a.payment_checked_at IS NOT NULL"),
            "duplicate_fees": Decimal(one(f"SELECT coalesce(sum(a.payment_amount), 0) FROM applications a "
                                          f"WHERE {of_active} AND a.kind = 'duplicate' "
                                          "AND a.payment_checked_at IS NOT NULL")).quantize(Decimal("0.01")),
            "forecast_first_year": first_year,
        }


COUNTS = ("pupils_active", "pupils_needing_card", "needing_new", "needing_invalidated", "needing_requests",
          "pupils_valid_ecard", "pupils_without_photo", "paper_cards", "mleg_registered",
          "applications_open", "applications_total", "cards_ordered", "cards_delivered", "cards_handed_over",
          "duplicates_paid", "duplicate_fees", "forecast_first_year")


def stats_of(app, school_id: int) -> dict:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        row = db.session.scalar(select(SchoolStats))
        return {name: getattr(row, name) for name in COUNTS}


def facts_of(app, school_id: int) -> dict[int, dict]:
    columns = ("order_id", "channel", "printer_id", "kind", "status", "applied_on", "submitted_on", "delivered_on",
               "handed_over_on", "promised_days", "cost", "fee", "print_rejections")
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return {f.card_id: {c: getattr(f, c) for c in columns} for f in db.session.scalars(select(CardFact))}


@pytest.fixture
def truth(database):
    """A superuser connection to the test database: plain SQL over every row, no policy applies."""
    from sqlalchemy import create_engine
    from sqlalchemy import pool

    from tests.conftest import ADMIN_URL
    from tests.conftest import DB_NAME

    engine = create_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(app, world, database, snapshots):
    """`seed_cities` with its statistics refreshed: built once per run, laid back for each test
    (tests.snapshots), so a test may change it."""
    def build():
        seed = seed_cities(app, world)
        with app.app_context():
            assert statistics.refresh_all() == 4
        return seed

    return snapshots.lay("reports.statistics", build)


# --- tests ------------------------------------------------------------------------------------------


def test_every_school_count_equals_the_sql_truth(app, seeded, truth):
    owner = truth
    for school in (seeded.a, seeded.b, seeded.empty, seeded.x):
        assert stats_of(app, school) == truth_school_counts(owner, school), school
    a = stats_of(app, seeded.a)
    # The scenario, spelled out: 15 active (one left), 7 valid handed-over cards, 1 paid duplicate.
    assert (a["pupils_active"], a["cards_handed_over"], a["duplicates_paid"], a["duplicate_fees"]) == (
        15, 7, 1, Decimal("9.00"))
    assert (a["paper_cards"], a["mleg_registered"], a["applications_open"]) == (1, 1, 2)
    # Who holds what (docs/domain.md §26): a handed-over e-card — pupils 1 (her duplicate), 2, 4, 5,
    # 6, 7, 11; on its way — 3 (delivered), 8, 9 (ordered); Ala's paper card is valid, her own group;
    # holding nothing, never held anything — Ola, Ewa, Iga, Ida: the 4 who need a card. Before
    # issue 17 Ala counted too (5).
    assert (a["pupils_valid_ecard"], a["needing_new"], a["needing_invalidated"], a["needing_requests"],
            a["pupils_needing_card"]) == (7, 4, 0, 0, 4)
    assert a["forecast_first_year"] == 7  # 1a: pupils 1–5 and Ewa; 1b: Ala


def test_card_facts_follow_each_card(app, seeded, truth):
    owner = truth
    facts = facts_of(app, seeded.a)
    with owner.connect() as conn:
        cards = conn.execute(text(
            "SELECT c.id, c.order_id, o.channel, o.printer_id, a.kind, c.status, c.handed_over_on, "
            f"LEAST((a.created_at AT TIME ZONE '{ZONE}')::date, (o.submitted_at AT TIME ZONE '{ZONE}')::date), "
            f"(o.submitted_at AT TIME ZONE '{ZONE}')::date, (o.quote->>'lead_time_days')::int, "
            "round(o.total_price / o.card_count, 2), "
            "CASE WHEN a.payment_checked_at IS NOT NULL THEN a.payment_amount ELSE 0 END, "
            "(SELECT count(*) FROM order_items i WHERE i.card_id = c.id AND i.outcome = 'rejected') "
            "FROM cards c JOIN applications a ON a.id = c.application_id JOIN print_orders o ON o.id = c.order_id "
            "WHERE c.school_id = :s"), {"s": seeded.a}).all()
    assert len(facts) == len(cards) == 12
    for (card_id, order_id, channel, printer_id, kind, status, handed, applied, submitted, promised, cost, fee,
         rejections) in cards:
        fact = facts[card_id]
        assert (fact["order_id"], fact["channel"], fact["printer_id"], fact["kind"], fact["status"]) == (
            order_id, channel, printer_id, kind, status)
        assert (fact["handed_over_on"], fact["applied_on"], fact["submitted_on"], fact["promised_days"]) == (
            handed, applied, submitted, promised)
        assert (fact["cost"], fact["fee"], fact["print_rejections"]) == (cost, fee, rejections)
    channels = {f["channel"] for f in facts.values()}
    assert channels == {"city_centre", "external"}
    assert sorted(f["print_rejections"] for f in facts.values())[-1] == 1
    own = facts_of(app, seeded.b)
    assert {f["channel"] for f in own.values()} == {"own", "city_centre"}
    assert {f["promised_days"] for f in own.values() if f["channel"] == "own"} == {2}  # the school printer's


def test_delivery_day_only_for_cards_that_came(app, seeded):
    facts = facts_of(app, seeded.a)
    today = seeded.today
    delivered = sorted((f["submitted_on"] and (today - f["submitted_on"]).days, f["delivered_on"] and
                        (today - f["delivered_on"]).days) for f in facts.values())
    # (days since the order, days since delivery): the overdue and the fresh order have none,
    # the reprinted card came with its new order, the printed one with the first.
    assert delivered == [(3, None), (7, 2), (15, 9), (20, None), (28, 8), (44, 20), (44, 20), (50, 40), (50, 40),
                         (50, 40), (400, 390), (400, 390)]


def test_refresh_is_idempotent_and_replaces_the_snapshot(app, seeded, truth):
    owner = truth
    before = facts_of(app, seeded.a)
    with app.app_context():
        statistics.refresh_school(seeded.a)
        with tenant_scope(Tenant(school_id=seeded.a)):
            assert len(db.session.scalars(select(SchoolStats)).all()) == 1
            pupil = db.session.scalar(select(Pupil).where(Pupil.surname == "Bezzdjęciowska"))
            store_photo(Actor(user_id=seeded.director_a, role="school_director", organisation_id=seeded.a),
                        db.session.get(Organisation, seeded.a), pupil)
            db.session.commit()
        statistics.refresh_school(seeded.a)
    assert facts_of(app, seeded.a) == before
    assert stats_of(app, seeded.a) == truth_school_counts(owner, seeded.a)
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM school_stats")).scalar() == 4


def test_order_facts_and_hologram_counts_sum_up_what_they_summarise(app, seeded, truth):
    """The dashboard reads `order_facts` and `school_stats.hologram_counts`; after each refresh
    they hold exactly the card facts' and the hologram ledgers' sums."""
    summed = """SELECT school_id, order_id, channel, printer_id, submitted_on, delivered_on, promised_days, count(*),
                       sum(cost), count(*) FILTER (WHERE fee > 0), sum(fee),
                       count(*) FILTER (WHERE status IN ('ordered', 'printed', 'delivered', 'handed_over')
                                        AND delivered_on IS NULL),
                       count(*) FILTER (WHERE status = 'spoiled'), count(*) FILTER (WHERE print_rejections > 0)
                FROM card_facts GROUP BY 1, 2, 3, 4, 5, 6, 7"""
    stored = """SELECT school_id, order_id, channel, printer_id, submitted_on, delivered_on, promised_days, cards, cost,
                       paid, fees, live_waiting, spoiled, rejected FROM order_facts"""
    ledger = "SELECT school_id, school_year, state, count(*) FROM holograms GROUP BY 1, 2, 3"

    def check():
        with truth.connect() as conn:
            expected = sorted(tuple(r) for r in conn.execute(text(summed)))
            assert sorted(tuple(r) for r in conn.execute(text(stored))) == expected
            counts: dict = {}
            for school_id, year, state, n in conn.execute(text(ledger)):
                counts.setdefault(school_id, {}).setdefault(str(year), {})[state] = n
            stats = dict(conn.execute(text("SELECT school_id, hologram_counts FROM school_stats")).all())
            assert {k: v for k, v in stats.items() if v} == counts
        return expected

    first = check()
    assert len(first) >= 8 and {r[0] for r in first} >= {seeded.a, seeded.b, seeded.x}
    assert any(r[5] is None for r in first) and any(r[11] for r in first)  # cards still on their way
    with truth.begin() as conn:  # a card spoiled and a hologram voided since: the next refresh follows
        conn.execute(text("UPDATE cards SET status = 'spoiled' WHERE id = (SELECT min(id) FROM cards "
                          "WHERE school_id = :s AND status = 'handed_over')"), {"s": seeded.a})
        conn.execute(text("UPDATE holograms SET state = 'voided' WHERE id = (SELECT min(id) FROM holograms "
                          "WHERE school_id = :s AND state = 'in_stock')"), {"s": seeded.b})
    with app.app_context():
        assert statistics.refresh_all() == 4
    assert check() != first


def test_statistics_survive_erasing_a_pupil_who_left(app, seeded, truth, browser):
    """Retention: the pupil who left, with their photos, applications, registry cards and order
    items, is erased; the dashboard's every table (and export) stays the same after a refresh."""
    from reports import dashboard
    from reports.filters import Filters

    owner = truth
    now = dt.datetime.now(dt.UTC)
    open_period = Filters(None, None, today=seeded.today)

    def every_table():
        with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
            return {key: dashboard.table(key, seeded.city, open_period).table for key in dashboard.TABLES}

    with app.app_context():
        statistics.refresh_all(now)
    before = every_table()
    facts_before = facts_of(app, seeded.a)
    official = browser(seeded.official)
    official.get("/miasto/")  # the sign-in's one-time notice (the previous sign-in) is shown here, not below
    pages_before = _page(official, "/miasto/wydatki?od=&do=")

    with owner.begin() as conn:
        params = {"p": seeded.left_pupil}
        cards = [r[0] for r in conn.execute(text("SELECT id FROM cards WHERE pupil_id = :p"), params)]
        assert cards
        conn.execute(text("UPDATE holograms SET state = 'voided', card_id = NULL WHERE card_id = ANY(:c)"),
                     {"c": cards})
        conn.execute(text("DELETE FROM order_items WHERE card_id = ANY(:c)"), {"c": cards})
        conn.execute(text("UPDATE cards SET replaces_card_id = NULL WHERE replaces_card_id = ANY(:c)"), {"c": cards})
        conn.execute(text("DELETE FROM cards WHERE pupil_id = :p"), params)
        conn.execute(text("DELETE FROM applications WHERE pupil_id = :p"), params)
        conn.execute(text("DELETE FROM photo_submissions WHERE pupil_id = :p"), params)
        conn.execute(text("DELETE FROM photo_links WHERE pupil_id = :p"), params)
        conn.execute(text("DELETE FROM pupils WHERE id = :p"), params)
        assert conn.execute(text("SELECT count(*) FROM pupils WHERE id = :p"), params).scalar() == 0

    with app.app_context():
        assert statistics.refresh_all(now) == 4
    after = every_table()
    for key in before:
        assert after[key] == before[key], key
    assert facts_of(app, seeded.a) == facts_before  # the erased card's fact is still there, unchanged
    assert _page(official, "/miasto/wydatki?od=&do=") == pages_before


def _page(browser, url: str) -> str:
    """A page without its CSRF tokens (signed anew on every request)."""
    import re

    return re.sub(r'name="csrf_token" value="[^"]+"', "", browser.get(url).get_data(as_text=True))


def test_grades_and_card_shares():
    assert [statistics.grade_of(n) for n in ("1a", "1 b", "I c", "sem. 1a", "1A", "10a", "II", "klasa 4", "", "0")] == [
        1, 1, 1, 1, 1, 10, 2, 4, None, 0]
    assert statistics.grade_of("Ia") == 1 and statistics.grade_of("Iwona") is None
    assert statistics.card_cost(Decimal("256.00"), 14) == Decimal("18.29")
    assert statistics.card_cost(Decimal("10.00"), 0) == Decimal("0.00")


def test_refresh_stats_command_and_unknown_city(app, seeded, truth):
    owner = truth
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM school_stats"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["legitka", "refresh-stats"])
    assert result.exit_code == 0 and "4 school(s)" in result.output
    with app.app_context():
        slug = db.session.get(Organisation, seeded.city).slug
    result = runner.invoke(args=["legitka", "refresh-stats", "--city", slug])
    assert result.exit_code == 0 and "3 school(s)" in result.output
    assert runner.invoke(args=["legitka", "refresh-stats", "--city", "nie-ma"]).exit_code == 2
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM school_stats")).scalar() == 4


def test_a_failing_school_does_not_stop_the_others(app, seeded, monkeypatch, caplog):
    real = statistics._pupil_counts

    def broken():
        from tenants.tenancy.context import current_tenant

        if current_tenant().school_id == seeded.b:
            raise RuntimeError("boom")
        return real()

    monkeypatch.setattr(statistics, "_pupil_counts", broken)
    with app.app_context():
        assert statistics.refresh_all() == 3
    assert "statistics refresh failed for school" in caplog.text


def test_the_city_cannot_write_statistics_and_reads_only_its_own(app, seeded):
    """Row-level security: the city reads its schools' rows, never another city's, and cannot
    write them (only the school's own job can)."""
    from sqlalchemy.exc import ProgrammingError

    with app.app_context():
        with tenant_scope(Tenant(city_id=seeded.city)):
            rows = db.session.execute(text("SELECT school_id FROM school_stats")).scalars().all()
            assert sorted(rows) == sorted([seeded.a, seeded.b, seeded.empty])
            assert db.session.execute(text("SELECT count(*) FROM card_facts WHERE school_id = :x"),
                                      {"x": seeded.x}).scalar() == 0
            assert db.session.execute(text("UPDATE school_stats SET pupils_active = 0 WHERE school_id = :a "
                                           "RETURNING id"), {"a": seeded.a}).all() == []
            with pytest.raises(ProgrammingError):
                db.session.execute(text("INSERT INTO card_facts (school_id, city_id, card_id, order_id, channel, "
                                        "kind, status, cost, fee, print_rejections) VALUES (:a, :c, 1, 1, 'own', "
                                        "'first', 'ordered', 0, 0, 0)"), {"a": seeded.a, "c": seeded.city})
            db.session.rollback()
        with tenant_scope(Tenant(school_id=seeded.a)):
            assert db.session.scalar(select(PrintOrder.id).where(PrintOrder.school_id == seeded.x)) is None
            assert {f.school_id for f in db.session.scalars(select(CardFact))} == {seeded.a}


def test_order_items_of_rejections_are_the_schools(app, seeded):
    with app.app_context(), tenant_scope(Tenant(school_id=seeded.a)):
        rejected = db.session.scalars(select(OrderItem).where(OrderItem.outcome == "rejected")).all()
        assert len(rejected) == 1
        application = db.session.scalar(select(Application).join(Card, Card.application_id == Application.id)
                                        .where(Card.id == rejected[0].card_id))
        assert application.kind == "first"
