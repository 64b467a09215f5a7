"""Who needs a card and the September forecast (docs/domain.md §26, docs/city.md "Who needs a
card"), worked out by hand on small cities.

The rule under test: paper cards issued before 13 July 2024 stay valid until the pupil leaves the
school (the Szczecin letter, every procedure), so their holders are a valid group of their own,
not work to do; what needs a card is a pupil holding no valid card (never had one, or the card
lost its validity) and every open replacement, duplicate or exchange.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra.db import db
from printing.models import CityBudget
from reports import dashboard
from reports import forecast
from reports import statistics
from reports.filters import Filters
from reports.models import SchoolStats
from tenants.pupils import applications
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.models import Pupil
from tenants.registry import imports as registry_imports
from tenants.registry import operations as registry
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Membership
from tenants.transfers import operations as transfers
from tenants.transfers.models import PupilTransfer
from tests.helpers import add_pupil
from tests.reports.test_statistics import Seed
from tests.reports.test_statistics import _School
from tests.reports.test_statistics import truth  # noqa: F401 (the superuser fixture)

# --- the forecast's arithmetic -------------------------------------------------------------------

# A school seen by Legitka for three school years (2024/25, 2025/26 and 2026/27, running now).
HISTORY = {"2024": {"pupils": 400, "first_year": 50}, "2025": {"pupils": 420, "first_year": 55},
           "2026": {"pupils": 440, "first_year": 60}}
TRANSFERS = {2024: 8, 2025: 13, 2026: 4}  # pupils accepted from other schools of the city
DUPLICATES = {2024: 6, 2025: 14, 2026: 3}  # duplicate cards applied for


def test_the_september_forecast_by_hand():
    made = forecast.forecast(dt.date(2026, 12, 5), HISTORY, TRANSFERS, DUPLICATES)
    # For 2027/28, from 2026/27 (440 pupils, 60 in year 1) and the two years before it:
    #   transfer rate  = (13 + 8) ÷ (420 + 400) = 21 ÷ 820;  × 440 = 11.27 → 11
    #   duplicate rate = (14 + 6) ÷ (420 + 400) = 20 ÷ 820;  × 440 = 10.73 → 11
    #   total = 60 + 11 + 11 = 82
    assert (made.year, made.pupils, made.intake, made.rate_years) == (2027, 440, 60, (2025, 2024))
    assert (round(made.transfer_rate, 6), round(made.duplicate_rate, 6)) == (round(21 / 820, 6), round(20 / 820, 6))
    assert (made.transfers, made.duplicates, made.total) == (11, 11, 82)
    # Not 1,688 against an intake of 60: pupils holding valid cards are not in it.


def test_last_years_forecast_is_the_same_function_a_year_earlier():
    summary = forecast.summary(dt.date(2026, 12, 5), HISTORY, TRANSFERS, DUPLICATES)
    last, done = summary["last"], summary["actual"]
    # As of 05.12.2025, for 2026/27: 2025/26 had 420 pupils, 55 in year 1; of the two years before,
    # only 2024/25 is known (400 pupils, 8 transfers, 6 duplicates; 2023/24 has nothing):
    #   transfers 8 ÷ 400 × 420 = 8.4 → 8; duplicates 6 ÷ 400 × 420 = 6.3 → 6; total 55 + 8 + 6 = 69.
    assert (last["as_of"], last["year"], last["intake"], last["transfers"], last["duplicates"], last["total"]) == (
        "2025-12-05", 2026, 55, 8, 6, 69)
    assert last["rate_years"] == [2024]
    # What 2026/27 has needed up to 05.12.2026: 60 first-years, 4 transfers, 3 duplicates = 67.
    assert (done["year"], done["until"], done["intake"], done["transfers"], done["duplicates"], done["total"]) == (
        2026, "2026-12-05", 60, 4, 3, 67)
    assert summary["coming"]["total"] == 82


def test_the_forecast_needs_the_running_years_pupils():
    # A school Legitka first saw this year: no forecast a year ago, and no rates from past years.
    only_now = {"2026": {"pupils": 100, "first_year": 12}}
    assert forecast.forecast(dt.date(2025, 12, 5), only_now, {}, {}) is None
    made = forecast.forecast(dt.date(2026, 12, 5), only_now, {}, {})
    assert (made.total, made.transfer_rate, made.duplicate_rate, made.rate_years) == (12, None, None, ())
    # A past year with events but no pupil count is divided by today's pupils: 5 duplicates in
    # 2025/26 ÷ 100 × 100 = 5.
    made = forecast.forecast(dt.date(2026, 12, 5), only_now, {}, {2025: 5})
    assert (made.duplicates, made.total) == (5, 17)
    # The school year turns on 1 September; 29 February's year-ago day is 28 February.
    assert forecast.running_year(dt.date(2027, 8, 31)) == 2026
    assert forecast.running_year(dt.date(2027, 9, 1)) == 2027
    assert forecast.a_year_before(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)


# --- who needs a card: a small city, refreshed -------------------------------------------------------


def _small_city(app, world, today: dt.date, accepted_on: dt.date | None = None) -> Seed:
    """School S (primary) and school T, which sends S a pupil; printer P. In S, each pupil one case:

    | pupil          | class | holds                                   | group              | needs a card        |
    |----------------|-------|-----------------------------------------|--------------------|---------------------|
    | Papierowa      | 5a    | a paper card from 2023                  | valid paper card   | no                  |
    | Papierowa Dwa  | 7a    | a paper card from 2022                  | valid paper card   | no                  |
    | Wymieniająca   | 6a    | a paper card, exchange asked for        | valid paper card   | yes: open request   |
    | Nowa           | 1a    | nothing (newly admitted)                | —                  | yes: never had one  |
    | Przeniesiona   | 4a    | nothing here (came from T)              | —                  | yes: never had one  |
    | Zgubiona       | 3a    | an e-card handed over, then lost        | —                  | yes: lost validity  |
    | Wydana         | 2a    | an e-card handed over                   | valid e-card       | no                  |
    | Duplikat       | 2a    | an e-card handed over, duplicate asked  | valid e-card       | yes: open request   |
    | Zamówiona      | 1a    | a first e-card ordered, on its way      | (on its way)       | no                  |
    | Odeszła        | 8a    | nothing; left the school                | not counted        | no                  |

    S accepts the transfer today, or on `accepted_on`."""
    city = world.city("Miasto Małe")
    s_id = world.school(city, "Szkoła Podstawowa nr 5", district="Centrum")
    t_id = world.school(city, "Szkoła Podstawowa nr 6", district="Centrum")
    printer = world.printer([city], "Drukarnia Mała")
    director_s = world.user("dyrektor.s@male.pl", s_id, "school_director")
    director_t = world.user("dyrektor.t@male.pl", t_id, "school_director")
    world.user("urzednik@male.pl", city, "city_official")
    seed = Seed(today, city, 0, s_id, t_id, 0, 0, printer, 0)
    with app.app_context():
        with tenant_scope(Tenant(school_id=t_id)):
            t = _School(seed, t_id, director_t)
            leaving = t.pupil("Ala", "Przeniesiona", "4a")
            _o, cards = t.order(printer, [leaving], applied=60, submitted=55, delivered=50)
            t.hand_over(cards[0], 45)
            transfer = transfers.send(t.actor, t.school, leaving, s_id)  # her card from T stops being valid
            db.session.commit()
        with tenant_scope(Tenant(school_id=s_id)):
            s = _School(seed, s_id, director_s)
            for name, cls, number, year in (("Papierowa", "5a", "P/5/2023", 2023),
                                            ("Papierowa Dwa", "7a", "P/7/2022", 2022),
                                            ("Wymieniająca", "6a", "P/6/2023", 2023)):
                pupil = s.pupil("Ola", name, cls)
                registry.record_paper_card(s.actor, pupil, number, dt.date(year, 9, 1))
            exchanging = db.session.scalar(select(Pupil).where(Pupil.surname == "Wymieniająca"))
            assert applications.create_application(s.actor, exchanging).paper_card_number == "P/6/2023"
            s.pupil("Ola", "Nowa", "1a", photo=False)
            with clock.pinned(dt.datetime.combine(accepted_on or today, dt.time(10), tzinfo=dt.UTC)):
                transfers.accept(s.actor, db.session.get(PupilTransfer, transfer.id),
                                 transfers.Takeover(class_name="4a"))
            lost, handed, duplicate = (s.pupil("Ola", n, c) for n, c in (("Zgubiona", "3a"), ("Wydana", "2a"),
                                                                         ("Duplikat", "2a")))
            _o, cards = s.order(printer, [lost, handed, duplicate], applied=90, submitted=85, delivered=80)
            for card in cards:
                s.hand_over(card, 75)
            registry.invalidate(s.actor, cards[0], "lost")
            applications.create_application(s.actor, duplicate, "duplicate", reason_code="lost", school=s.school)
            s.order(printer, [s.pupil("Ola", "Zamówiona", "1a")], applied=5, submitted=3)
            registry.pupil_left(s.actor, s.pupil("Ola", "Odeszła", "8a", photo=False), "left")
            db.session.commit()
        with tenant_scope(Tenant(city_id=city)):  # the plan in force: 50 % by yesterday
            db.session.add(CityBudget(city_id=city, year=today.year, amount=Decimal("100.00"),
                                      target_date=today - dt.timedelta(days=1), target_percent=50))
            db.session.commit()
        assert statistics.refresh_city(city) == 2
    return seed


def test_who_needs_a_card_by_hand(app, world, database):
    today = clock.today()
    seed = _small_city(app, world, today)
    with app.app_context(), tenant_scope(Tenant(school_id=seed.a)):
        s = db.session.scalar(select(SchoolStats))
        # 9 active pupils (Odeszła left): e-card in hand — Wydana, Duplikat (2); valid paper —
        # Papierowa, Papierowa Dwa, Wymieniająca (3); never had one — Nowa, Przeniesiona (2); lost
        # validity — Zgubiona (1); open requests — Wymieniająca's exchange, Duplikat's duplicate (2).
        assert (s.pupils_active, s.pupils_valid_ecard, s.paper_cards) == (9, 2, 3)
        assert s.valid_cards_imported == 0  # nothing imported here
        assert (s.needing_new, s.needing_invalidated, s.needing_requests, s.pupils_needing_card) == (2, 1, 2, 5)
        # Before issue 17 "needing" was "no live e-card": the three paper holders, Nowa,
        # Przeniesiona and Zgubiona = 6, and the exchange and the duplicate were not counted.
        assert s.forecast_first_year == 2  # Nowa and Zamówiona in 1a
    with app.app_context(), tenant_scope(Tenant(city_id=seed.city)):
        f = Filters.default(today)
        rollout = dashboard.rollout(seed.city, f)
        row = dict(zip(rollout.table.columns, rollout.table.rows[0], strict=True))
        # Coverage: (2 e-cards + 3 paper cards) ÷ 9 = 55.6 % ≥ 50 % → not behind plan. By handed-over
        # e-cards alone it would be 2 ÷ 9 = 22.2 % and behind.
        assert (row["Szkoła"], row["Pokrycie (%)"], row["Za planem"]) == ("Szkoła Podstawowa nr 5", 55.6, "nie")
        assert (row["Ważna legitymacja papierowa"], row["Potrzebują legitymacji"], row["Nowo przyjęci bez legitymacji"],
                row["Legitymacja straciła ważność"], row["Wnioski: wymiana, duplikat"]) == (3, 5, 2, 1, 2)
        assert not rollout.keys[0]["behind"]
        # T: its only pupil moved to S; nobody there needs a card.
        row_t = dict(zip(rollout.table.columns, rollout.table.rows[1], strict=True))
        assert (row_t["Uczniowie"], row_t["Potrzebują legitymacji"], row_t["Pokrycie (%)"]) == (0, 0, None)
        tiles = dashboard.overview(seed.city, f)
        assert (tiles.pupils_needing_card, tiles.paper_cards, tiles.coverage, tiles.behind_plan) == (5, 3, 55.6, 0)


def test_the_refresh_forecasts_from_transfers_duplicates_and_history(app, world, database, truth):  # noqa: F811
    """S (from the small city) with its history of last school year put back as a refresh then
    would have left it (120 pupils, 14 in year 1), the transfer from T decided last school year and
    a duplicate applied for last school year."""
    today = clock.today()
    running = forecast.running_year(today)
    last_year_day = dt.date(running - 1, 11, 15)
    seed = _small_city(app, world, today, accepted_on=last_year_day)
    with truth.begin() as conn:  # as the owner: what a refresh last school year would have left
        conn.execute(text("UPDATE school_stats SET year_history = CAST(:h AS json) WHERE school_id = :s"),
                     {"h": f'{{"{running - 1}": {{"pupils": 120, "first_year": 14}}}}', "s": seed.a})
    with app.app_context(), tenant_scope(Tenant(school_id=seed.a)):
        s = _School(seed, seed.a, _director(seed.a))
        wydana = db.session.scalar(select(Pupil).where(Pupil.surname == "Wydana"))
        days = (today - last_year_day).days
        _order, _cards = s.order(seed.p1, [wydana], applied=days, submitted=days - 1, kind="duplicate")
        db.session.commit()
    with app.app_context():
        statistics.refresh_school(seed.a)
        with tenant_scope(Tenant(school_id=seed.a)):
            s = db.session.scalar(select(SchoolStats))
            coming, last = s.forecast["coming"], s.forecast["last"]
            assert s.year_history[str(running)] == {"pupils": 9, "first_year": 2}
            assert s.year_history[str(running - 1)] == {"pupils": 120, "first_year": 14}
    # This year's forecast: intake 2 (Nowa, Zamówiona); last year: 1 transfer and 1 duplicate among
    # 120 pupils; × 9 pupils = 0.075 → 0 each. Total 2.
    assert (coming["year"], coming["intake"], coming["rate_years"]) == (running + 1, 2, [running - 1])
    assert (round(coming["transfer_rate"], 6), round(coming["duplicate_rate"], 6)) == (round(1 / 120, 6),) * 2
    assert (coming["transfers"], coming["duplicates"], coming["total"]) == (0, 0, 2)
    # Last year's forecast (as of a year ago, for the running year): 14 first-years, no earlier
    # years known → 14; this year so far: 2 first-years, 0 transfers, 0 duplicates.
    assert (last["year"], last["intake"], last["total"]) == (running, 14, 14)
    assert s.forecast["actual"]["total"] == 2
    with app.app_context(), tenant_scope(Tenant(city_id=seed.city)):
        check = dashboard.forecast_check(seed.city, Filters.default(today))
        rows = {r[0]: dict(zip(check.table.columns, r, strict=True)) for r in check.table.rows}
        assert (rows["Razem"]["Razem: prognoza"], rows["Razem"]["Razem: wykonanie"], rows["Razem"]["Różnica"],
                rows["Razem"]["Błąd (%)"]) == (14, 2, -12, 600.0)
        table = dashboard.forecast_table(seed.city, Filters.default(today))
        total = dict(zip(table.table.columns, table.table.rows[-1], strict=True))
        assert (total["Szkoła"], total["Pierwsze klasy (nabór)"], total["Prognoza kart"]) == ("Razem", 2, 2)


def _director(school_id: int) -> int:
    return db.session.scalar(select(Membership.user_id).where(Membership.organisation_id == school_id))


def test_an_imported_register_counts_each_pupil_once(app, world, database):
    """Cards from the school's earlier register (docs/domain.md §24) are registry entries: a current
    pupil's imported paper card is her valid paper card (counted once, not also as an e-card), an
    imported e-card in hand is a valid e-card, and the former pupil's entry counts for nobody."""
    city = world.city("Miasto Importu")
    school_id = world.school(city, "Szkoła Podstawowa nr 8")
    director = world.user("dyrektor@import.pl", school_id, "school_director")
    actor = Actor(user_id=director, role="school_director", organisation_id=school_id)
    anna_pesel = pesel_rules.make(dt.date(2012, 5, 4), 111, "K")
    jan_pesel = pesel_rules.make(dt.date(2013, 2, 11), 222, "M")
    former = pesel_rules.make(dt.date(2008, 1, 20), 333, "M")
    register = ("Nr legitymacji;Nazwisko;Imię;PESEL;Klasa (oddział);Data wydania;Rodzaj legitymacji;Stan\n"
                f"1;Zieliński;Piotr;{former};8a;01.09.2022;papierowa;ważna\n"
                f"2;Kowalska;Anna;{anna_pesel};7b;04.09.2023;papierowa;ważna\n"
                f"3;Nowak;Jan;{jan_pesel};6a;02.09.2024;e-legitymacja;ważna\n").encode()
    with app.app_context():
        with tenant_scope(Tenant(school_id=school_id)):
            add_pupil(actor, first="Anna", surname="Kowalska", born=dt.date(2012, 5, 4), serial=111, class_name="7b")
            add_pupil(actor, first="Jan", surname="Nowak", born=dt.date(2013, 2, 11), serial=222, sex="M",
                      class_name="6a")
            registry_imports.confirm(actor, registry_imports.start(actor, register))
            db.session.commit()
        assert statistics.refresh_city(city) == 1
        with tenant_scope(Tenant(school_id=school_id)):
            s = db.session.scalar(select(SchoolStats))
            # 2 pupils: Jan's e-card in hand (1), Anna's paper card (1); Piotr is no pupil here.
            # Counting the paper entry as an e-card too would give (2, 1). Both valid cards came from
            # the imported register: the rollout shows them by source.
            assert (s.pupils_active, s.pupils_valid_ecard, s.paper_cards, s.pupils_needing_card) == (2, 1, 1, 0)
            assert s.valid_cards_imported == 2
        with tenant_scope(Tenant(city_id=city)):
            rollout = dashboard.rollout(city, Filters.default(clock.today()))
            row = dict(zip(rollout.table.columns, rollout.table.rows[0], strict=True))
            assert (row["Ważna e-legitymacja"], row["Ważna legitymacja papierowa"],
                    row["W tym z dawnej ewidencji"], row["Pokrycie (%)"]) == (1, 1, 2, 100.0)
