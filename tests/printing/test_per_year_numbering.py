"""Per-year registry numbering (docs/domain.md §5): {n} starts again at 1 each calendar year of
issue, printed "{n}/{rok}" with the same year; gap-free per sequence; two schools independent; a
change of the option applies at once only in a year without cards, else from 1 January.

All dates are Warsaw's (the clock is pinned, `infra.clock.pinned`): 31.12.2026 23:30 UTC is
already 01.01.2027 00:30 in Warsaw, so a card ordered then is the first of 2027."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.registry import numbering
from tenants.registry import queries as registry_queries
from tenants.registry.models import Card
from tenants.registry.models import SchoolCounter
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.db_sessions import wait_for_lock_waiters
from tests.printing.test_numbering import make_drafts
from tests.printing.test_numbering import submit_in_threads


def warsaw(y, m, d, hh=12, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=clock.zone())


def utc(y, m, d, hh, mm) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=dt.UTC)


class City:
    """A city with a printer and schools made while the clock reads `made_on` (so the printer's
    data-processing agreements run from a year before it to the end of 2030)."""

    def __init__(self, app, world, made_on: dt.datetime, schools: dict[str, dict]):
        self.app = app
        with clock.pinned(made_on):
            city = world.city()
            self.ids = {key: world.school(city, f"Szkoła {key}", **fields) for key, fields in schools.items()}
            self.users = {key: world.user(f"dyr-{key.lower()}-{sid}@test.pl", sid, "school_director")
                          for key, sid in self.ids.items()}
            self.printer = world.printer([city], agreements=False)
            world.agreements(self.printer, [city], valid_until=dt.date(2030, 12, 31))

    def actor(self, key) -> Actor:
        return Actor(user_id=self.users[key], role="school_director", organisation_id=self.ids[key])

    def submit(self, key, at: dt.datetime, sizes, rollback=False):
        """Orders of `sizes` cards submitted at `at` (each by its own thread and connection)."""
        with clock.pinned(at):
            orders = make_drafts(self.app, self.ids[key], self.printer, sizes, self.users[key])
            submit_in_threads(self.app, self.ids[key], orders, set(orders) if rollback else (), self.users[key])
        return orders

    def change(self, key, at: dt.datetime, mode, number_format="{n}/{rok}") -> numbering.Setting:
        with clock.pinned(at), self.app.app_context(), tenant_scope(Tenant(school_id=self.ids[key])):
            school = db.session.get(Organisation, self.ids[key])
            setting = numbering.change(self.actor(key), school, mode, number_format, clock.today())
            db.session.commit()
            return setting

    def registry(self, key, **filters):
        """(label, sequence, number, issue date) of the registry's entries, in the registry's order."""
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.ids[key])):
            f = registry_queries.RegistryFilter(**filters)
            return [(c.label, c.numbering_year, c.number, c.issue_date) for c in registry_queries.entries(f)]

    def counters(self, key) -> dict[int, int]:
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.ids[key])):
            return {c.year: c.last_no for c in db.session.scalars(select(SchoolCounter))}

    def order_ranges(self, key) -> list[str]:
        with self.app.app_context(), tenant_scope(Tenant(school_id=self.ids[key])):
            return [o.number_range for o in db.session.scalars(select(PrintOrder).where(
                PrintOrder.status == "submitted").order_by(PrintOrder.id))]


YEARLY = {"card_number_format": "{n}/{rok}", "card_numbering": "yearly"}
CONTINUOUS = {"card_number_format": "{n}/{rok}"}


def test_numbering_restarts_at_new_year_in_warsaw_and_rollback_returns_numbers(app, world):
    """School A numbers per year, school B continuously, both "{n}/{rok}":

    | Warsaw time        | A orders     | A gets                 | B orders | B gets          |
    | 30.12.2026 12:00   | 2            | 1/2026, 2/2026         | 2        | 1/2026, 2/2026  |
    | 31.12.2026 23:30   | 1            | 3/2026                 | 1        | 3/2026          |
    | 01.01.2027 00:30   | 2            | 1/2027, 2/2027         | 2        | 4/2027, 5/2027  |
    | 02.01.2027 09:00   | 1, rolled back | — (2027's 3 returned) |          |                 |
    | 02.01.2027 09:05   | 1            | 3/2027                 |          |                 |
    """
    city = City(app, world, warsaw(2026, 12, 1), {"A": YEARLY, "B": CONTINUOUS})
    for key in "AB":
        city.submit(key, warsaw(2026, 12, 30), [2])
        city.submit(key, utc(2026, 12, 31, 22, 30), [1])  # 23:30 in Warsaw: still 2026
        city.submit(key, utc(2026, 12, 31, 23, 30), [2])  # 00:30 on 1 January in Warsaw
    city.submit("A", warsaw(2027, 1, 2, 9, 0), [1], rollback=True)
    city.submit("A", warsaw(2027, 1, 2, 9, 5), [1])

    new_year = dt.date(2027, 1, 1)
    assert city.registry("A") == [
        ("1/2026", 2026, 1, dt.date(2026, 12, 30)), ("2/2026", 2026, 2, dt.date(2026, 12, 30)),
        ("3/2026", 2026, 3, dt.date(2026, 12, 31)),
        ("1/2027", 2027, 1, new_year), ("2/2027", 2027, 2, new_year),
        ("3/2027", 2027, 3, dt.date(2027, 1, 2)),
    ]
    assert city.counters("A") == {2026: 3, 2027: 3}  # no continuous row: A never used it
    assert city.order_ranges("A") == ["1/2026–2/2026", "3/2026", "1/2027–2/2027", "3/2027"]
    assert [(label, seq) for label, seq, _n, _d in city.registry("B")] == [
        ("1/2026", 0), ("2/2026", 0), ("3/2026", 0), ("4/2027", 0), ("5/2027", 0)]
    assert city.counters("B") == {0: 5}


def test_registry_sorts_and_finds_by_label_not_text(app, world, browser):
    """2/2026 before 10/2026 (as text "10/2026" < "2/2026"), and 2025's cards before 2026's,
    on the registry page, in the book (PDF rows) and the XLSX, and when searching a number."""
    city = City(app, world, warsaw(2025, 10, 1), {"A": YEARLY})
    city.submit("A", warsaw(2025, 10, 1), [2])  # 1/2025, 2/2025
    city.submit("A", warsaw(2026, 3, 2), [10])  # 1/2026 … 10/2026
    expected = ["1/2025", "2/2025"] + [f"{n}/2026" for n in range(1, 11)]
    assert [row[0] for row in city.registry("A")] == expected
    assert [row[0] for row in city.registry("A", number="2")] == ["2/2025", "2/2026"]
    assert [row[0] for row in city.registry("A", number="10/2026")] == ["10/2026"]
    assert [row[0] for row in city.registry("A", year=2026, number="1")] == ["1/2026"]

    director = browser(f"dyr-a-{city.ids['A']}@test.pl")
    page = director.get("/szkola/ewidencja").get_data(as_text=True)
    shown = [label for label in expected if f">{label}</a>" in page]
    assert sorted(shown, key=lambda label: page.index(f">{label}</a>")) == expected
    found = director.get("/szkola/ewidencja?nr=2").get_data(as_text=True)
    assert ">2/2025</a>" in found and ">2/2026</a>" in found and ">1/2026</a>" not in found

    sheet = load_workbook(io.BytesIO(director.get("/szkola/ewidencja/ewidencja.xlsx").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=4, values_only=True)] == expected
    with app.app_context(), tenant_scope(Tenant(school_id=city.ids["A"])):
        cards = registry_queries.entries()
        rows = registry_queries.book_rows(city.actor("A"), cards, "test")
        db.session.rollback()
    assert [r.label for r in rows] == expected  # the PDF book is made from these rows


def test_switching_mid_year_waits_for_new_year_and_never_repeats_a_label(app, world):
    """School A numbers continuously ("{n}/{rok}"): 1/2026, 2/2026 on 10.03.2026.

    - 15.06.2026 the director picks per-year numbering: 2026 has cards, so it applies from
      01.01.2027; an order on 16.06.2026 still gets 3/2026 (continuous), not 1/2026 (which is taken).
    - 02.01.2027: 1/2027 (per year), 2/2027.
    - 20.02.2027 back to continuous: 2027 has cards, so from 01.01.2028; 25.02.2027 gives 3/2027.
    - 03.01.2028: continuous again, after its last number 3: 4/2028.
    School B, no card yet in 2026, switches on 15.06.2026 and numbers per year at once: 1/2026.
    """
    city = City(app, world, warsaw(2026, 3, 1), {"A": CONTINUOUS, "B": CONTINUOUS})
    city.submit("A", warsaw(2026, 3, 10), [2])
    setting = city.change("A", warsaw(2026, 6, 15), "yearly")
    assert (setting.mode, setting.from_year, setting.mode_in(2026)) == ("yearly", 2027, "continuous")
    assert setting.pending(dt.date(2026, 6, 15)) == ("yearly", 2027)
    city.submit("A", warsaw(2026, 6, 16), [1])
    city.submit("A", warsaw(2027, 1, 2), [2])
    setting = city.change("A", warsaw(2027, 2, 20), "continuous")
    assert (setting.mode_in(2027), setting.mode_in(2028)) == ("yearly", "continuous")
    city.submit("A", warsaw(2027, 2, 25), [1])
    city.submit("A", warsaw(2028, 1, 3), [1])
    labels = [(label, seq, number) for label, seq, number, _d in city.registry("A")]
    assert labels == [("1/2026", 0, 1), ("2/2026", 0, 2), ("3/2026", 0, 3),
                      ("1/2027", 2027, 1), ("2/2027", 2027, 2), ("3/2027", 2027, 3), ("4/2028", 0, 4)]
    assert len({label for label, _s, _n in labels}) == len(labels)

    setting = city.change("B", warsaw(2026, 6, 15), "yearly")
    assert (setting.from_year, setting.mode_in(2026)) == (2026, "yearly")
    city.submit("B", warsaw(2026, 6, 16), [1])
    assert [row[:2] for row in city.registry("B")] == [("1/2026", 2026)]


def test_a_change_waiting_for_new_year_can_be_called_off(app, world):
    """Per-year from 2027 chosen on 10.06.2026 (the year has cards), then continuous chosen again on
    11.06.2026: nothing changes, 2027 goes on continuously (3/2027)."""
    city = City(app, world, warsaw(2026, 6, 1), {"A": CONTINUOUS})
    city.submit("A", warsaw(2026, 6, 2), [2])
    assert city.change("A", warsaw(2026, 6, 10), "yearly").pending(dt.date(2026, 6, 10)) == ("yearly", 2027)
    setting = city.change("A", warsaw(2026, 6, 11), "continuous")
    assert setting.pending(dt.date(2026, 6, 11)) is None and setting.mode_in(2027) == "continuous"
    city.submit("A", warsaw(2027, 1, 4), [1])
    assert [row[:2] for row in city.registry("A")][-1] == ("3/2027", 0)


@pytest.mark.parametrize(("mode", "number_format"), [("yearly", "{n}"), ("yearly", "SP1/{n}"), ("sometimes", "{n}")])
def test_per_year_numbering_needs_the_year_in_the_label(app, world, mode, number_format):
    """Per year with "{n}" alone would print "1" every year: refused, and so is an unknown mode."""
    city = City(app, world, warsaw(2026, 6, 1), {"A": CONTINUOUS})
    with pytest.raises(OperationError):
        city.change("A", warsaw(2026, 6, 2), mode, number_format)


def test_a_per_year_school_cannot_drop_the_year_from_its_format(app, world):
    """Yearly from 2027 is pending (2026 has cards): "{n}" is refused already now; after calling
    it off, "{n}" is fine again for the continuous numbering."""
    city = City(app, world, warsaw(2026, 6, 1), {"A": CONTINUOUS})
    city.submit("A", warsaw(2026, 6, 2), [1])
    city.change("A", warsaw(2026, 6, 3), "yearly")
    with pytest.raises(OperationError, match="rok"):
        city.change("A", warsaw(2026, 6, 4), "yearly", "{n}")
    assert city.change("A", warsaw(2026, 6, 5), "continuous", "{n}").number_format == "{n}"


def test_raise_counter_per_year_continues_an_imported_years_registry(app, world):
    """An imported 2027 register ends at 250/2027: the next 2027 card is 251/2027; 2028 starts at 1."""
    city = City(app, world, warsaw(2027, 1, 1), {"A": YEARLY})
    with app.app_context(), tenant_scope(Tenant(school_id=city.ids["A"])):
        numbering.raise_counter(city.ids["A"], 250, year=2027)
        db.session.commit()
    city.submit("A", warsaw(2027, 3, 1), [1])
    city.submit("A", warsaw(2028, 1, 10), [1])
    assert [row[0] for row in city.registry("A")] == ["251/2027", "1/2028"]
    assert city.counters("A") == {2027: 251, 2028: 1}


def test_the_settings_page_sets_the_numbering(app, world, browser):
    """Through the school's settings page (at today's real date, whatever it is): a school with no
    card this year switches at once; "{n}" with per-year numbering is refused with a Polish message."""
    city = world.city()
    school_id = world.school(city, "Szkoła Ustawień", card_number_format="{n}")
    world.user("dyr-ustawienia@test.pl", school_id, "school_director")
    director = browser("dyr-ustawienia@test.pl")
    refused = director.post("/szkola/ustawienia/", {"card_number_format": "{n}", "card_numbering": "yearly"})
    assert refused.status_code == 422 and "musi zawierać {rok}" in refused.get_data(as_text=True)
    saved = director.post("/szkola/ustawienia/", {"card_number_format": "{n}/{rok}", "card_numbering": "yearly"})
    assert saved.status_code == 302
    page = director.get("/szkola/ustawienia/").get_data(as_text=True)
    assert '<option value="yearly" selected>' in page and "Obecnie" in page
    with app.app_context():
        school = db.session.get(Organisation, school_id)
        assert (school.card_numbering, school.card_numbering_from) == ("yearly", clock.today().year)


def test_a_card_of_each_sequence_may_share_a_number_but_not_within_one(app, world):
    """The registry is unique on (school, numbering year, number): 5 (continuous) and 5/2026 may
    both exist; two 5/2026 may not."""
    city = City(app, world, warsaw(2026, 3, 1), {"A": YEARLY})
    city.submit("A", warsaw(2026, 3, 2), [1])
    with app.app_context(), tenant_scope(Tenant(school_id=city.ids["A"])):
        card = db.session.scalars(select(Card)).one()
        copy = {c.key: getattr(card, c.key) for c in Card.__table__.columns if c.key not in ("id", "application_id")}
        db.session.add(Card(**{**copy, "numbering_year": 0, "application_id": card.application_id}))
        db.session.flush()  # 1 in the continuous sequence next to 1/2026: allowed
        db.session.add(Card(**{**copy, "application_id": card.application_id}))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_parallel_submits_are_gap_free_in_each_year(app, world):
    """Per-year school A: on 31.12.2026 five orders (1, 2, 3, 1, 2 cards) submitted at once by five
    threads, the 3-card one rolled back → 2026 holds 1..6; on 01.01.2027 ten orders
    (2, 1, 3, 1, 2, 3, 1, 2, 3, 4), two rolled back (3 and 2 cards) → 2027 holds 1..17. Each
    committed order one contiguous range, each label "{n}/{its year}"."""
    city = City(app, world, warsaw(2026, 12, 1), {"A": YEARLY})
    school = city.ids["A"]
    for day, sizes, rolled in ((warsaw(2026, 12, 31), [1, 2, 3, 1, 2], {2}),
                               (warsaw(2027, 1, 1, 9), [2, 1, 3, 1, 2, 3, 1, 2, 3, 4], {2, 7})):
        with clock.pinned(day):
            orders = make_drafts(app, school, city.printer, sizes, city.users["A"])
            submit_in_threads(app, school, orders, {orders[i] for i in rolled}, city.users["A"])
    with app.app_context(), tenant_scope(Tenant(school_id=school)):
        cards = list(db.session.scalars(select(Card)))
        ranges = {o.id: (o.first_number, o.last_number, o.numbering_year) for o in db.session.scalars(
            select(PrintOrder).where(PrintOrder.status == "submitted"))}
    for year, total in ((2026, 6), (2027, 17)):
        mine = sorted(c.number for c in cards if c.numbering_year == year)
        assert mine == list(range(1, total + 1))  # no gap, no repeat, within the year
        assert all(c.number_label == f"{c.number}/{year}" and c.issue_date.year == year
                   for c in cards if c.numbering_year == year)
    assert len(cards) == 23
    for order_id, (first, last, year) in ranges.items():
        assert sorted(c.number for c in cards if c.order_id == order_id) == list(range(first, last + 1))
        assert {c.numbering_year for c in cards if c.order_id == order_id} == {year}
    assert city.counters("A") == {2026: 6, 2027: 17}


def _in_thread(target, *args):
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_change_waits_for_a_submit_in_flight_and_sees_its_cards(app, world):
    """School A (continuous, no card yet in 2026) submits its first order of 2026 on 01.06.2026;
    before it commits, the director picks per-year numbering. The change waits for the submit's
    share lock on the school's row; once the submit commits, the year has a card (1/2026,
    continuous), so per-year numbering waits for 2027 — never 1/2026 twice."""
    city = City(app, world, warsaw(2026, 5, 1), {"A": CONTINUOUS})
    school = city.ids["A"]
    submitted, go = threading.Event(), threading.Event()
    results = {}

    def submit(order_id):
        with app.app_context(), tenant_scope(Tenant(school_id=school)):
            printing_ops.submit_order(city.actor("A"), db.session.get(PrintOrder, order_id))
            submitted.set()
            go.wait()
            db.session.commit()

    with clock.pinned(warsaw(2026, 6, 1)):
        (order_id,) = make_drafts(app, school, city.printer, [1], city.users["A"])
        submitter, submit_errors = _in_thread(submit, order_id)
        submitted.wait()
        changer, change_errors = _in_thread(lambda: results.update(setting=city.change("A", warsaw(2026, 6, 1),
                                                                                         "yearly")))
        try:
            wait_for_lock_waiters(1)  # the change waits for the submit in flight
        finally:
            go.set()
            submitter.join()
            changer.join()
    assert not submit_errors and not change_errors, (submit_errors, change_errors)
    assert (results["setting"].from_year, results["setting"].mode_in(2026)) == (2027, "continuous")
    city.submit("A", warsaw(2026, 6, 2), [1])
    assert [row[:2] for row in city.registry("A")] == [("1/2026", 0), ("2/2026", 0)]


def test_a_submit_waits_for_a_change_in_flight_and_numbers_by_it(app, world):
    """School A (continuous, no card yet in 2026): the director's change to per-year numbering is
    in flight (not committed) when an order is submitted on 01.06.2026. The submit waits for it and
    then numbers per year (1/2026 in the 2026 sequence), not by the setting it read before."""
    city = City(app, world, warsaw(2026, 5, 1), {"A": CONTINUOUS})
    school = city.ids["A"]
    changed, go = threading.Event(), threading.Event()

    def change():
        with app.app_context(), tenant_scope(Tenant(school_id=school)):
            org = db.session.get(Organisation, school)
            numbering.change(city.actor("A"), org, "yearly", "{n}/{rok}", clock.today())
            changed.set()
            go.wait()
            db.session.commit()

    with clock.pinned(warsaw(2026, 6, 1)):
        (order_id,) = make_drafts(app, school, city.printer, [1], city.users["A"])
        changer, change_errors = _in_thread(change)
        changed.wait()
        submitter, submit_errors = _in_thread(submit_in_threads, app, school, [order_id], (), city.users["A"])
        try:
            wait_for_lock_waiters(1)  # the submit waits for the change in flight
        finally:
            go.set()
            changer.join()
            submitter.join()
    assert not submit_errors and not change_errors, (submit_errors, change_errors)
    assert city.registry("A") == [("1/2026", 2026, 1, dt.date(2026, 6, 1))]
