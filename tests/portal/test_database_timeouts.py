"""Statement and lock timeouts (issue 14): a school's counter row held by another session makes
the submit answer a Polish 503 "try again" with Retry-After within the lock timeout, changing
nothing; once the lock is gone the same click places the order with the next numbers. The
statement timeout does the same, the printers' API answers its JSON error, and the worker's
jobs get their own (longer) values. Real PostgreSQL sessions, nothing mocked."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from infra.db import db
from infra.db import use_timeouts
from portal.config import database_timeouts
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils.models import Application
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.db_sessions import held
from tests.helpers import add_pupil
from tests.helpers import approved_applications
from tests.helpers import letters
from tests.helpers import run_jobs
from tests.portal.test_api import bearer
from tests.portal.test_api import placed_order
from tests.portal.test_api import token_for

LOCK_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def app(app):
    """The test app with a short lock timeout, as a deployment would set LEGITKA_DB_LOCK_TIMEOUT_SECONDS."""
    from portal import create_app

    names = ("TESTING", "INSTANCE_PATH", "DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "LOCAL_STORAGE_PATH",
             "SESSION_COOKIE_SECURE", "SMTP_HOST", "SMTP_PORT", "PUBLIC_URL", "SECRET_KEY", "PESEL_KEY",
             "PESEL_INDEX_KEY", "PASSWORD_HASH_PROFILE")
    short = create_app({name: app.config[name] for name in names}
                       | {"DB_LOCK_TIMEOUT_SECONDS": LOCK_TIMEOUT, "DB_STATEMENT_TIMEOUT_SECONDS": 5})
    yield short
    with short.app_context():
        db.engine.dispose()


def draft_order(app, ids, count=2) -> int:
    actor = Actor(user_id=ids["director_a"], role="school_director", organisation_id=ids["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        application_ids = approved_applications(
            actor, school, [add_pupil(actor, surname=f"Czekający{letters(i)}", serial=301 + i) for i in range(count)])
        order = printing_ops.create_order(actor, school, ids["p1"], application_ids)
        db.session.execute(text("INSERT INTO school_counters (school_id, last_no) VALUES (:s, 0) "
                                "ON CONFLICT DO NOTHING"), {"s": ids["a"]})
        db.session.commit()
        return order.id


def state(app, ids, order_id) -> dict:
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        order = db.session.get(PrintOrder, order_id)
        return {"status": order.status, "first": order.first_number, "last": order.last_number,
                "cards": db.session.scalar(select(func.count()).select_from(Card)),
                "counter": db.session.scalar(text("SELECT last_no FROM school_counters WHERE school_id = :s"),
                                             {"s": ids["a"]}),
                "applications": sorted(db.session.scalars(select(Application.status)
                                                          .where(Application.order_id == order_id)))}


def held_counter(app, ids):
    """Another session holding the school's counter row, as a long submit of the school would."""
    return held(app.config["DATABASE_URL"], Tenant(school_id=ids["a"]),
                "SELECT last_no FROM school_counters WHERE school_id = :school FOR UPDATE", school=ids["a"])


def test_a_held_counter_lock_answers_503_within_the_lock_timeout_and_changes_nothing(app, two_schools, browser):
    order_id = draft_order(app, two_schools)
    director = browser("dyrektor.a@test.pl")
    url = f"/szkola/zamowienia/{order_id}/zloz"
    before = state(app, two_schools, order_id)
    with held_counter(app, two_schools):
        started = time.monotonic()
        busy = director.post(url)
        took = time.monotonic() - started
    assert busy.status_code == 503, busy.get_data(as_text=True)[:500]
    assert busy.headers["Retry-After"].isdigit()
    page = busy.get_data(as_text=True)
    assert "Spróbuj ponownie" in page and "Niczego nie zmieniono" in page
    assert LOCK_TIMEOUT <= took < LOCK_TIMEOUT + 2.5  # waited for the lock, then gave up (not gunicorn's 30 s)
    assert state(app, two_schools, order_id) == before == {
        "status": "draft", "first": None, "last": None, "cards": 0, "counter": 0,
        "applications": ["approved", "approved"]}

    placed = director.post(url)  # the lock is gone: the same click works, with the next numbers
    assert placed.status_code == 302, placed.get_data(as_text=True)[:500]
    after = state(app, two_schools, order_id)
    assert (after["status"], after["first"], after["last"], after["cards"], after["counter"]) == (
        "submitted", 1, 2, 2, 2)


def test_a_statement_timeout_answers_503_too(app, two_schools, browser):
    """No lock timeout, a short statement timeout: the blocked UPDATE is cancelled (57014)."""
    order_id = draft_order(app, two_schools)
    director = browser("dyrektor.a@test.pl")
    with app.app_context():
        use_timeouts(db.engine, lock_seconds=0, statement_seconds=LOCK_TIMEOUT)
    try:
        with held_counter(app, two_schools):
            started = time.monotonic()
            busy = director.post(f"/szkola/zamowienia/{order_id}/zloz")
            took = time.monotonic() - started
    finally:
        with app.app_context():
            use_timeouts(db.engine, **database_timeouts(app.config))
    assert busy.status_code == 503 and "Spróbuj ponownie" in busy.get_data(as_text=True)
    assert took < LOCK_TIMEOUT + 2.5
    assert state(app, two_schools, order_id)["status"] == "draft"


def test_the_api_answers_json_503_and_changes_nothing(app, two_schools):
    order_id = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"])
    run_jobs(app)
    token = token_for(app, two_schools["p1"])
    client = app.test_client()
    with held(app.config["DATABASE_URL"], Tenant(school_id=two_schools["a"]),
              "SELECT id FROM print_orders WHERE id = :id FOR UPDATE", id=order_id):
        busy = client.post(f"/api/v1/orders/{order_id}/accept", headers=bearer(token))
    assert busy.status_code == 503 and busy.headers["Retry-After"].isdigit()
    assert busy.json["error"]["code"] == "temporarily_unavailable" and busy.json["error"]["request_id"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=bearer(token)).json["status"] == "ready"
    accepted = client.post(f"/api/v1/orders/{order_id}/accept", headers=bearer(token))
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"


def test_web_requests_and_jobs_get_their_own_timeouts(app):
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "500ms"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "5s"
        use_timeouts(db.engine, **database_timeouts(app.config, jobs=True))  # what `legitka worker` does
        try:
            with db.engine.connect() as conn:
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "2min"
        finally:
            use_timeouts(db.engine, **database_timeouts(app.config))


def test_a_timeout_setting_must_be_a_number_of_seconds(tmp_path):
    from portal import create_app

    with pytest.raises(ValueError, match="DB_LOCK_TIMEOUT_SECONDS"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DB_LOCK_TIMEOUT_SECONDS": -1})
