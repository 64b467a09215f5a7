"""Two sessions creating drafts from the same applications at the same moment (issue 14): both
read the applications as free before either writes, yet exactly one draft gets them and the
other request is told why; no empty draft is left. Real PostgreSQL sessions, one per thread."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from infra.db import db
from printing.models import PrintOrder
from tenants.pupils.models import Application
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests import helpers
from tests.db_sessions import held
from tests.db_sessions import wait_for_lock_waiters
from tests.helpers import add_pupil
from tests.helpers import letters


def approved_applications(app, ids, count=2) -> list[int]:
    actor = Actor(user_id=ids["director_a"], role="school_director", organisation_id=ids["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        made = helpers.approved_applications(
            actor, school, [add_pupil(actor, surname=f"Wspólny{letters(i)}", serial=401 + i) for i in range(count)])
        db.session.commit()
        return made


def test_two_simultaneous_drafts_over_the_same_applications(app, two_schools, browser):
    application_ids = approved_applications(app, two_schools)
    form = {"application_id": application_ids, "channel": str(two_schools["p1"])}
    staff = [browser("dyrektor.a@test.pl"), browser("sekretariat.a@test.pl")]
    for person in staff:
        form_token = person.csrf()
        person.form = dict(form, csrf_token=form_token)
    answers = [None, None]

    def create(i):
        answers[i] = staff[i].client.post("/szkola/zamowienia/nowe", data=staff[i].form)

    # A third session holds the applications' rows: both requests read them as free (reads never
    # wait), create their draft, and then both wait to write the applications — the moment of
    # the race, made certain. The lock goes before the app's lock timeout (3 s) runs out.
    with held(app.config["DATABASE_URL"], Tenant(school_id=two_schools["a"]),
              "SELECT id FROM applications WHERE id = ANY(:ids) FOR UPDATE", ids=application_ids):
        threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(2, timeout=2.5)
    for thread in threads:
        thread.join(30)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [302, 422], [a.get_data(as_text=True)[:300] for a in answers]
    refused = next(a for a in answers if a.status_code == 422).get_data(as_text=True)
    assert "w międzyczasie dodana do innego zamówienia" in refused
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        drafts = db.session.scalars(select(PrintOrder)).all()
        assert len(drafts) == 1 and drafts[0].status == "draft" and drafts[0].card_count == 2
        owners = set(db.session.scalars(select(Application.order_id).where(Application.id.in_(application_ids))))
        assert owners == {drafts[0].id}


@pytest.mark.parametrize("first", ["submit", "discard"])
def test_submitting_and_discarding_one_draft_at_the_same_moment(app, two_schools, browser, first):
    """Both requests load the draft, then wait on its row (held by a third session), `first` in
    front; released, exactly one of them wins and the other is told why: either an order with
    its numbers and cards, or no order and free applications — never a deadlock, never
    numbered applications without an order."""
    application_ids = approved_applications(app, two_schools)
    director = browser("dyrektor.a@test.pl")
    created = director.post("/szkola/zamowienia/nowe",
                            {"application_id": application_ids, "channel": str(two_schools["p1"])})
    order_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    staff = {"submit": browser("dyrektor.a@test.pl"), "discard": browser("sekretariat.a@test.pl")}
    urls = {"submit": f"/szkola/zamowienia/{order_id}/zloz", "discard": f"/szkola/zamowienia/{order_id}/usun"}
    forms = {action: {"csrf_token": person.csrf()} for action, person in staff.items()}
    answers = {}

    def act(action):
        answers[action] = staff[action].client.post(urls[action], data=forms[action])

    second = "discard" if first == "submit" else "submit"
    threads = [threading.Thread(target=act, args=(action,)) for action in (first, second)]
    with held(app.config["DATABASE_URL"], Tenant(school_id=two_schools["a"]),
              "SELECT id FROM print_orders WHERE id = :id FOR UPDATE", id=order_id):
        threads[0].start()
        wait_for_lock_waiters(1, timeout=2.5)
        threads[1].start()
        wait_for_lock_waiters(2, timeout=2.5)
    for thread in threads:
        thread.join(30)

    statuses = {action: answer.status_code for action, answer in answers.items()}
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        orders = db.session.scalars(select(PrintOrder)).all()
        rows = db.session.execute(select(Application.status, Application.order_id)
                                  .where(Application.id.in_(application_ids))).all()
    if first == "submit":
        assert statuses == {"submit": 302, "discard": 422}, answers["discard"].get_data(as_text=True)[:300]
        assert "nie zostało jeszcze złożone" in answers["discard"].get_data(as_text=True)
        assert [(o.id, o.status, o.first_number, o.last_number) for o in orders] == [(order_id, "submitted", 1, 2)]
        assert sorted(rows) == [("ordered", order_id), ("ordered", order_id)]
    else:  # the submit finds the draft gone: 404, as for any order that no longer exists
        assert statuses == {"discard": 302, "submit": 404}, answers["submit"].get_data(as_text=True)[:300]
        assert orders == [] and sorted(rows) == [("approved", None), ("approved", None)]
