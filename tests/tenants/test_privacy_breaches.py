"""The breach register and its 72-hour clock (docs/privacy-registers.md §1–§5), on PostgreSQL as the
app role: the deadline worked by hand, a late report needing its reasons, the register insert-only
(the app role cannot update or delete, and a trigger stops even a superuser), every change a new
version, and another school's breach invisible."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine
from sqlalchemy import delete
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from infra import clock
from infra import inputs
from infra.db import db
from tenants.privacy import breaches
from tenants.privacy.models import DataBreach
from tenants.privacy.models import DataBreachVersion
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tests.conftest import SUPERUSER_URL

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(day: str, time: str) -> dt.datetime:
    d, m, y = (int(x) for x in day.split("."))
    hh, mm = (int(x) for x in time.split(":"))
    return dt.datetime(y, m, d, hh, mm, tzinfo=WARSAW)


def form(**fields) -> dict:
    base = {"discovered_on": "03.11.2026", "discovered_time": "10:00",
            "description": "Sekretariat wysłał listę klasy 1b z numerami PESEL do niewłaściwego rodzica.",
            "data_categories": "imiona i nazwiska, PESEL, klasa", "subject_categories": "uczniowie",
            "persons_affected": "24", "consequences": "ryzyko kradzieży tożsamości",
            "measures": "prośba o usunięcie wiadomości", "decision": "open"}
    return base | fields


@pytest.fixture
def school(app_ctx, two_schools):
    ids = two_schools
    actor = Actor(user_id=ids["director_a"], role="school_director", organisation_id=ids["a"])
    with tenant_scope(Tenant(school_id=ids["a"])):
        yield actor, ids


def test_the_deadline_is_72_hours_after_discovery_worked_by_hand(app_ctx):
    # 03.11.2026 10:00 in Warsaw (CET, UTC+1) is 09:00 UTC; 72 hours on: 06.11.2026 09:00 UTC, 10:00 in Warsaw.
    assert breaches.deadline_of(warsaw("03.11.2026", "10:00")) == warsaw("06.11.2026", "10:00")
    assert breaches.deadline_of(warsaw("03.11.2026", "10:00")).astimezone(dt.UTC) == \
        dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.UTC)
    # Real hours across the end of summer time (25.10.2026, 03:00 CEST → 02:00 CET): 72 hours after
    # 24.10 10:00 CEST (08:00 UTC) is 27.10 08:00 UTC, which the wall clock shows as 09:00.
    assert breaches.deadline_of(warsaw("24.10.2026", "10:00")) == warsaw("27.10.2026", "09:00")


def test_time_left_overdue_and_a_late_report_needing_its_reasons(school):
    actor, _ids = school
    with clock.pinned(warsaw("03.11.2026", "12:00")):
        breach = breaches.record(actor, form())
        db.session.commit()
    version = db.session.scalar(select(DataBreachVersion).where(DataBreachVersion.breach_id == breach.id))
    assert version.discovered_at == warsaw("03.11.2026", "10:00")

    left = breaches.standing(version, warsaw("05.11.2026", "22:30"))
    assert (left.state, left.left, left.flagged) == ("running", dt.timedelta(hours=11, minutes=30), False)
    assert breaches.describe(left) == ("Na zgłoszenie do Prezesa UODO zostało 11 godz. 30 min "
                                       "(termin: 06.11.2026, 10:00).")
    last = breaches.standing(version, warsaw("06.11.2026", "10:00"))  # "not later than 72 hours": still on time
    assert (last.state, last.left) == ("running", dt.timedelta(0))
    over = breaches.standing(version, warsaw("06.11.2026", "10:01"))
    assert (over.state, over.late_by, over.flagged) == ("overdue", dt.timedelta(minutes=1), True)
    assert "Termin zgłoszenia minął 06.11.2026, 10:00 — 0 godz. 01 min temu" in breaches.describe(over)

    with clock.pinned(warsaw("06.11.2026", "12:00")):
        found = breaches.entry([_ids["a"]], breach.id)
        assert found.standing.flagged and found.number == 1
        # Reported at 11:00 on 06.11: an hour late, so the reasons for the delay are required.
        late = form(decision="reported", reported_on="06.11.2026", reported_time="11:00", version="1")
        with pytest.raises(OperationError) as refused:
            breaches.amend(actor, found, late)
        assert "po upływie 72 godzin" in str(refused.value) and "termin: 06.11.2026, 10:00" in str(refused.value)
        assert refused.value.code == "delay_reason_required"
        db.session.rollback()
        second = breaches.amend(actor, breaches.entry([_ids["a"]], breach.id),
                                late | {"delay_reason": "Dyrektor był na zwolnieniu lekarskim."})
        db.session.commit()
    late_standing = breaches.standing(second)
    assert (late_standing.state, late_standing.late_by) == ("late", dt.timedelta(hours=1))
    assert breaches.describe(late_standing) == \
        "Zgłoszono po terminie (06.11.2026, 10:00), z opóźnieniem 1 godz. 00 min."

    # At 10:00 exactly the report is on time and needs no reasons.
    with clock.pinned(warsaw("06.11.2026", "12:00")):
        other = breaches.record(actor, form())
        on_time = breaches.amend(actor, breaches.entry([_ids["a"]], other.id), form(
            decision="reported", reported_on="06.11.2026", reported_time="10:00", version="1"))
        db.session.commit()
    assert breaches.standing(on_time).state == "on_time"


@pytest.mark.parametrize(("fields", "says"), [
    ({"discovered_on": "31.02.2026"}, "Data stwierdzenia naruszenia: podaj prawidłową datę"),
    ({"discovered_on": ""}, "Data stwierdzenia naruszenia: podaj prawidłową datę"),
    ({"discovered_time": "25:00"}, "Godzina stwierdzenia naruszenia: podaj godzinę"),
    ({"discovered_time": ""}, "Godzina stwierdzenia naruszenia: podaj godzinę"),
    ({"discovered_on": "04.11.2026"}, "nie mogą być z przyszłości"),
    ({"discovered_on": "29.03.2026", "discovered_time": "02:30"}, "nie istnieje w dniu 29.03.2026"),
    ({"description": "  \r\n "}, "Opisz naruszenie — opis nie może być pusty."),
    ({"description": "x" * 4001}, "Opis naruszenia: najwyżej 4\u00a0000 znaków."),
    ({"persons_affected": "-5"}, "Przybliżona liczba osób"),
    ({"persons_affected": "1e9"}, "Przybliżona liczba osób"),
    ({"decision": "maybe"}, "Wybierz, czy naruszenie zgłoszono"),
    ({"decision": "reported"}, "Data zgłoszenia do Prezesa UODO: podaj prawidłową datę"),
    ({"decision": "reported", "reported_on": "03.11.2026", "reported_time": "09:59"},
     "nie może być wcześniejsze niż stwierdzenie naruszenia"),
    ({"decision": "reported", "reported_on": "03.11.2026", "reported_time": "23:00"}, "nie mogą być z przyszłości"),
    ({"decision": "not_reportable"}, "Podaj, dlaczego naruszenie nie podlega zgłoszeniu"),
    ({"informed_on": "02.11.2026", "informed_time": "10:00"}, "Zawiadomienie osób nie może być wcześniejsze"),
    ({"informed_on": "03.11.2026"}, "Godzina zawiadomienia osób"),
])
def test_bad_input_is_refused_in_polish_and_nothing_is_written(school, fields, says):
    actor, _ids = school
    with clock.pinned(warsaw("03.11.2026", "12:00")), pytest.raises(OperationError) as refused:
        breaches.record(actor, form(**fields))
    assert says in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(DataBreach.id)) is None


def test_every_change_is_a_new_version_and_the_history_keeps_the_old_text(school):
    actor, ids = school
    with clock.pinned(warsaw("03.11.2026", "12:00")):
        breach = breaches.record(actor, form())
        db.session.commit()
        breaches.amend(actor, breaches.entry([ids["a"]], breach.id), form(measures="wiadomość usunięta", version="1"))
        db.session.commit()
        found = breaches.entry([ids["a"]], breach.id)
        with pytest.raises(OperationError, match="nowsza wersja"):  # filled from version 1, which is no longer current
            breaches.amend(actor, found, form(measures="inna zmiana", version="1"))
        with pytest.raises(OperationError, match="Nic się nie zmieniło"):
            breaches.amend(actor, found, form(measures="wiadomość usunięta", version="2"))
        db.session.rollback()
        breaches.amend(actor, breaches.entry([ids["a"]], breach.id),
                       form(measures="wiadomość usunięta", decision="not_reportable",
                            not_reportable_reason="Rodzic potwierdził usunięcie; brak ryzyka.", version="2"))
        db.session.commit()
    rows = db.session.execute(select(DataBreachVersion.version, DataBreachVersion.measures,
                                     DataBreachVersion.decision, DataBreachVersion.recorded_by_id)
                              .order_by(DataBreachVersion.version)).all()
    assert [tuple(r) for r in rows] == [
        (1, "prośba o usunięcie wiadomości", "open", ids["director_a"]),
        (2, "wiadomość usunięta", "open", ids["director_a"]),
        (3, "wiadomość usunięta", "not_reportable", ids["director_a"])]
    history = breaches.history(db.session.get(DataBreach, breach.id))
    assert [h.version for h in history] == [1, 2, 3]
    assert ("Zastosowane środki", "prośba o usunięcie wiadomości", "wiadomość usunięta") in history[1].changes
    assert [label for label, _old, _new in history[2].changes] == ["Zgłoszenie do Prezesa UODO",
                                                                   "Dlaczego nie podlega zgłoszeniu"]
    assert breaches.entry([ids["a"]], breach.id).standing.state == "not_reportable"


def test_entries_are_never_updated_or_deleted(school, database):
    actor, ids = school
    with clock.pinned(warsaw("03.11.2026", "12:00")):
        breach = breaches.record(actor, form())
        db.session.commit()
    for statement in (update(DataBreachVersion).values(description="inaczej"), delete(DataBreachVersion),
                      delete(DataBreach), update(DataBreach).values(created_by_id=None)):
        with pytest.raises(sa_exc.ProgrammingError, match="permission denied"):  # the app role has no such privilege
            db.session.execute(statement)
        db.session.rollback()
    superuser = create_engine(SUPERUSER_URL, poolclass=pool.NullPool)  # no policy stops it; the trigger does
    try:
        for statement in ("DELETE FROM data_breach_versions", "UPDATE data_breaches SET created_by_id = NULL",
                          "DELETE FROM data_breaches"):
            with pytest.raises(sa_exc.DBAPIError, match="insert-only"), superuser.begin() as conn:
                conn.execute(text(statement))
    finally:
        superuser.dispose()
    assert db.session.scalar(select(DataBreachVersion.description).where(DataBreachVersion.breach_id == breach.id)) \
        == form()["description"]


def test_another_schools_breach_is_not_found(app_ctx, two_schools):
    ids = two_schools
    director_b = Actor(user_id=ids["director_b"], role="school_director", organisation_id=ids["b"])
    with clock.pinned(warsaw("03.11.2026", "12:00")):
        with tenant_scope(Tenant(school_id=ids["b"])):
            theirs = breaches.record(director_b, form(description="Tajne naruszenie szkoły B")).id
            db.session.commit()
        with tenant_scope(Tenant(school_id=ids["a"])):
            assert breaches.register([ids["a"], ids["b"]]) == []  # asked for both: B's rows stay invisible
            with pytest.raises(NotFoundError):
                breaches.entry([ids["a"], ids["b"]], theirs)
            db.session.rollback()
        with tenant_scope(Tenant(school_id=ids["b"])):
            assert [e.breach.id for e in breaches.register([ids["b"]])] == [theirs]
            db.session.rollback()


def test_time_of_day_reads_what_people_type():
    assert inputs.time_of_day("10:00") == dt.time(10, 0)
    assert inputs.time_of_day(" 7.05 ") == dt.time(7, 5)
    assert inputs.time_of_day("23:59:00") == dt.time(23, 59)
    assert inputs.time_of_day("") is None
    for bad in ("24:00", "10:60", "10", "1000", "10:5", "١٠:٠٠", "10:00:30", "9" * 50):
        with pytest.raises(inputs.Refused):
            inputs.time_of_day(bad)
