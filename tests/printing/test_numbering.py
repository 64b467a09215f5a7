"""Registry numbers: gap-free and unique per school under concurrent submits (T5.1–T5.3)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from sqlalchemy import select

from infra.db import db
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.registry import numbering
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation


def make_drafts(app, school_id, printer_id, sizes, user_id):
    """Draft orders of the given sizes, each from fresh approved applications."""
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        ids = []
        for n, size in enumerate(sizes):
            apps = []
            for i in range(size):
                pupil = Pupil(school_id=school_id, first_names="Jan", surname=f"Uczeń {n}-{i}",
                              date_of_birth=dt.date(2019, 1, 1), sex="M", class_name="1a", photo_key="schools/x/p.jpg",
                              pesel_index=f"index-{uuid.uuid4().hex}")  # numbering needs no real PESEL
                db.session.add(pupil)
                db.session.flush()
                apps.append(Application(school_id=school_id, pupil_id=pupil.id, kind="first", status="approved",
                                        created_by_id=user_id))
            db.session.add_all(apps)
            db.session.flush()
            ids.append(printing_ops.create_order(actor, school, printer_id, [a.id for a in apps]).id)
        db.session.commit()
        return ids


def submit_in_threads(app, school_id, order_ids, rollback_ids=(), user_id=None):
    barrier = threading.Barrier(len(order_ids))
    errors = []

    def work(order_id):
        try:
            with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
                order = db.session.get(PrintOrder, order_id)
                barrier.wait()
                printing_ops.submit_order(Actor(user_id, "school_director", school_id), order)
                if order_id in rollback_ids:
                    db.session.rollback()
                else:
                    db.session.commit()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(order_id,)) for order_id in order_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def numbers(app, school_id):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        cards = db.session.scalars(select(Card).order_by(Card.number)).all()
        orders = {o.id: (o.first_number, o.last_number, o.status) for o in db.session.scalars(select(PrintOrder))}
        return [(c.number, c.order_id) for c in cards], orders


def test_parallel_submits_get_unique_gap_free_numbers(app, two_schools):
    a = two_schools["a"]
    sizes = [1, 2, 3, 1, 2, 3, 1, 2, 3, 4]
    order_ids = make_drafts(app, a, two_schools["p1"], sizes, two_schools["director_a"])
    rolled_back = {order_ids[1], order_ids[6]}
    submit_in_threads(app, a, order_ids, rolled_back)

    cards, orders = numbers(app, a)
    expected = sum(s for s, o in zip(sizes, order_ids, strict=True) if o not in rolled_back)
    assert [n for n, _ in cards] == list(range(1, expected + 1))  # no gap, no repeat
    for order_id in order_ids:
        mine = [n for n, o in cards if o == order_id]
        if order_id in rolled_back:
            assert mine == [] and orders[order_id][2] == "draft"  # a rolled-back submit consumed nothing
        else:
            first, last, status = orders[order_id]
            assert status == "submitted" and mine == list(range(first, last + 1))  # one contiguous range


def test_numbers_are_per_school_and_schools_do_not_share_a_counter(app, two_schools):
    a_orders = make_drafts(app, two_schools["a"], two_schools["p1"], [2, 2], two_schools["director_a"])
    b_orders = make_drafts(app, two_schools["b"], two_schools["p1"], [3], two_schools["director_b"])
    submit_in_threads(app, two_schools["a"], a_orders)
    submit_in_threads(app, two_schools["b"], b_orders)
    assert [n for n, _ in numbers(app, two_schools["a"])[0]] == [1, 2, 3, 4]
    assert [n for n, _ in numbers(app, two_schools["b"])[0]] == [1, 2, 3]


def test_a_later_submit_continues_after_a_rolled_back_one(app, two_schools):
    a = two_schools["a"]
    first, second = make_drafts(app, a, two_schools["p1"], [2, 2], two_schools["director_a"])
    submit_in_threads(app, a, [first], rollback_ids={first})
    submit_in_threads(app, a, [second])
    cards, orders = numbers(app, a)
    assert [n for n, _ in cards] == [1, 2] and orders[second][:2] == (1, 2)


def test_raise_counter_continues_an_imported_registry_and_never_lowers(app, two_schools):
    """An imported registry ends at 250: the next submit gets 251, 252. Raising to 100 later
    changes nothing (never lowers); school B's counter is untouched."""
    a, b = two_schools["a"], two_schools["b"]
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        numbering.raise_counter(a, 250)
        db.session.commit()
    (order,) = make_drafts(app, a, two_schools["p1"], [2], two_schools["director_a"])
    submit_in_threads(app, a, [order])
    assert [n for n, _ in numbers(app, a)[0]] == [251, 252]
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        numbering.raise_counter(a, 100)
        assert list(numbering.take_numbers(a, 1)) == [253]
        db.session.rollback()
    with app.app_context(), tenant_scope(Tenant(school_id=b)):
        assert list(numbering.take_numbers(b, 1)) == [1]
        db.session.rollback()
