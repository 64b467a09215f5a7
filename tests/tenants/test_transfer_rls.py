"""A transfer request at the SQL level, as the application's own database role: both schools read
it, nobody else does; each school changes only its own columns, once; nobody deletes it
(migration 0010's policies and `pupil_transfers_guard` trigger)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import exc
from sqlalchemy import select
from sqlalchemy import text

from infra.db import db
from tenants.pupils.models import Pupil
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.transfers import operations as transfer
from tenants.transfers.models import PupilTransfer
from tests.helpers import add_pupil
from tests.tenants.test_rls import app_engine  # noqa: F401 (the fixture)
from tests.tenants.test_rls import as_tenant


@pytest.fixture
def sent(app, two_schools, world):
    """A pending request from A to B for A's pupil; C is a third school of the same city."""
    ids = dict(two_schools, c=world.school(two_schools["city"], "Szkoła Podstawowa nr 3"),
               d=world.school(world.city("Inne Miasto"), "Szkoła w Innym Mieście"))
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=ids["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        pupil = add_pupil(actor, surname="Wędrowna", serial=401)
        other = add_pupil(actor, surname="Druga", serial=402)
        request = transfer.send(actor, school, pupil, ids["b"])
        db.session.commit()
        ids.update(transfer=request.id, pupil=pupil.id, other=other.id)
    with app.app_context(), tenant_scope(Tenant(school_id=ids["b"])):
        own = add_pupil(Actor(user_id=two_schools["director_b"], role="school_director", organisation_id=ids["b"]),
                        surname="Własny", serial=403)
        db.session.commit()
        ids["b_pupil"] = own.id
    return ids


def update(engine, school, sql, **params):
    with engine.begin() as conn:
        as_tenant(conn, school=school)
        return conn.execute(text(sql), params).rowcount


def status(engine, school, transfer_id):
    with engine.begin() as conn:
        as_tenant(conn, school=school)
        return conn.execute(text("SELECT status FROM pupil_transfers WHERE id = :t"), {"t": transfer_id}).scalar()


SENDER_MAY_NOT = [
    "UPDATE pupil_transfers SET status = 'accepted', to_pupil_id = :p, decided_at = now() WHERE id = :t",
    "UPDATE pupil_transfers SET status = 'declined', decline_reason = 'x', decided_at = now() WHERE id = :t",
    "UPDATE pupil_transfers SET decline_reason = 'x' WHERE id = :t",
    "UPDATE pupil_transfers SET received_at = now() WHERE id = :t",
    "UPDATE pupil_transfers SET surname = 'Zmieniona' WHERE id = :t",
    "UPDATE pupil_transfers SET to_school_id = :c WHERE id = :t",
]


@pytest.mark.parametrize("sql", SENDER_MAY_NOT)
def test_the_sender_cannot_write_the_receivers_decision_or_change_what_it_sent(app_engine, sent, sql):  # noqa: F811
    with pytest.raises((exc.ProgrammingError, exc.IntegrityError), match="pupil_transfers"):
        update(app_engine, sent["a"], sql, t=sent["transfer"], p=sent["pupil"], c=sent["c"])
    assert status(app_engine, sent["a"], sent["transfer"]) == "pending"


RECEIVER_MAY_NOT = [
    "UPDATE pupil_transfers SET status = 'withdrawn', withdrawn_at = now() WHERE id = :t",
    "UPDATE pupil_transfers SET first_names = 'Inna' WHERE id = :t",
    "UPDATE pupil_transfers SET pesel_index = 'x' WHERE id = :t",
    "UPDATE pupil_transfers SET to_pupil_id = :p WHERE id = :t",  # a decision without deciding
    "UPDATE pupil_transfers SET from_school_id = :b WHERE id = :t",
]


@pytest.mark.parametrize("sql", RECEIVER_MAY_NOT)
def test_the_receiver_cannot_withdraw_or_change_what_was_sent(app_engine, sent, sql):  # noqa: F811
    with pytest.raises((exc.ProgrammingError, exc.IntegrityError)):
        update(app_engine, sent["b"], sql, t=sent["transfer"], p=sent["b_pupil"], b=sent["b"])
    assert status(app_engine, sent["b"], sent["transfer"]) == "pending"


def test_each_school_makes_its_own_transition_once(app_engine, sent):  # noqa: F811
    t = sent["transfer"]
    assert update(app_engine, sent["b"], "UPDATE pupil_transfers SET received_at = now() WHERE id = :t", t=t) == 1
    with pytest.raises(exc.ProgrammingError, match="once"):  # the receipt is noted once
        update(app_engine, sent["b"], "UPDATE pupil_transfers SET received_at = now() WHERE id = :t", t=t)
    decline = ("UPDATE pupil_transfers SET status = 'declined', decline_reason = 'brak miejsc', decided_at = now(),"
               " photo_key = NULL WHERE id = :t")
    assert update(app_engine, sent["b"], decline, t=t) == 1
    with pytest.raises(exc.ProgrammingError, match="already closed"):
        update(app_engine, sent["b"], "UPDATE pupil_transfers SET status = 'pending' WHERE id = :t", t=t)
    with pytest.raises(exc.ProgrammingError, match="already closed"):
        update(app_engine, sent["a"], "UPDATE pupil_transfers SET status = 'withdrawn', withdrawn_at = now()"
                                      " WHERE id = :t", t=t)
    with pytest.raises(exc.ProgrammingError, match="decision"):
        update(app_engine, sent["b"], "UPDATE pupil_transfers SET decline_reason = 'inny' WHERE id = :t", t=t)
    assert status(app_engine, sent["a"], t) == "declined"


def test_a_third_school_a_printer_and_a_city_neither_see_nor_change_the_request(app_engine, sent):  # noqa: F811
    for settings in ({"school": sent["c"]}, {"school": sent["d"]}, {"printer": sent["p1"]},
                     {"city": sent["city"]}, {}):
        with app_engine.begin() as conn:
            as_tenant(conn, **settings)
            assert conn.execute(text("SELECT count(*) FROM pupil_transfers")).scalar_one() == 0, settings
            changed = conn.execute(text("UPDATE pupil_transfers SET status = 'declined', decline_reason = 'x'"
                                        " WHERE id = :t"), {"t": sent["transfer"]})
            assert changed.rowcount == 0, settings
    for school in (sent["a"], sent["b"]):
        with app_engine.begin() as conn:
            as_tenant(conn, school=school)
            assert conn.execute(text("SELECT count(*) FROM pupil_transfers")).scalar_one() == 1


def test_nobody_deletes_a_request_or_sends_one_in_anothers_name(app_engine, sent, database):  # noqa: F811
    for school in (sent["a"], sent["b"]):
        with app_engine.begin() as conn, pytest.raises(exc.ProgrammingError, match="permission denied"):
            as_tenant(conn, school=school)
            conn.execute(text("DELETE FROM pupil_transfers"))
    owner, _tables = database
    with owner.begin() as conn:  # the owner is under FORCE RLS, with no DELETE policy at all
        conn.execute(text("SELECT set_config('app.school_id', :s, true)"), {"s": str(sent["a"])})
        assert conn.execute(text("DELETE FROM pupil_transfers")).rowcount == 0
    copy = ("INSERT INTO pupil_transfers (from_school_id, to_school_id, from_pupil_id, status, first_names, surname,"
            " date_of_birth, pesel_index, id_document_type, class_name, learner_type, disabled, address, parent_email,"
            " with_photo, sent_by_id, sent_at, decline_reason, took_photo)"
            " SELECT :from_, :to, :pupil, :status, 'X', 'Y', :dob, 'idx', '', '', 'pupil', false, '', '', false,"
            " (SELECT min(id) FROM users), now(), '', false")
    base = {"dob": dt.date(2018, 1, 1), "status": "pending"}
    with app_engine.begin() as conn, pytest.raises(exc.ProgrammingError, match="row-level security"):
        as_tenant(conn, school=sent["b"])  # B writing a request in A's name
        conn.execute(text(copy), dict(base, from_=sent["a"], to=sent["b"], pupil=sent["other"]))
    with app_engine.begin() as conn, pytest.raises(exc.ProgrammingError, match="same city"):
        as_tenant(conn, school=sent["a"])  # to a school of another city
        conn.execute(text(copy), dict(base, from_=sent["a"], to=sent["d"], pupil=sent["other"]))
    with app_engine.begin() as conn, pytest.raises(exc.ProgrammingError, match="pending and undecided"):
        as_tenant(conn, school=sent["a"])  # born already accepted
        conn.execute(text(copy), dict(base, from_=sent["a"], to=sent["c"], pupil=sent["other"], status="withdrawn"))
    with app_engine.begin() as conn, pytest.raises(exc.IntegrityError, match="one_pending"):
        as_tenant(conn, school=sent["a"])  # a second open request for the same pupil
        conn.execute(text(copy), dict(base, from_=sent["a"], to=sent["c"], pupil=sent["pupil"]))


def test_an_accept_racing_a_withdrawal_has_exactly_one_winner(app, sent):
    """Two sessions on their own connections: B accepts while A withdraws. One wins; the other
    finds the request closed and writes nothing (no pupil at B when the withdrawal won)."""
    barrier, outcomes = threading.Barrier(2), {}

    def run(name, school_id, user_id, work):
        actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
        with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
            found = transfer.get_transfer(sent["transfer"])
            barrier.wait()
            try:
                work(actor, found)
                db.session.commit()
                outcomes[name] = "won"
            except OperationError:
                db.session.rollback()
                outcomes[name] = "refused"

    threads = [
        threading.Thread(target=run, args=("accept", sent["b"], sent["director_b"],
                                           lambda actor, found: transfer.accept(actor, found, transfer.Takeover()))),
        threading.Thread(target=run, args=("withdraw", sent["a"], sent["director_a"], transfer.withdraw)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["refused", "won"], outcomes
    with app.app_context(), tenant_scope(Tenant(school_id=sent["b"])):
        final = db.session.get(PupilTransfer, sent["transfer"]).status
        moved = db.session.scalar(select(Pupil).where(Pupil.surname == "Wędrowna"))
        assert final == ("accepted" if outcomes["accept"] == "won" else "withdrawn")
        assert (moved is not None) == (outcomes["accept"] == "won")


def test_two_sendings_of_one_pupil_at_once_make_one_request(app, sent):
    """A double click, or two secretaries: the pupil's row lock lets one sending through; the other
    finds the request open and writes nothing."""
    barrier, outcomes = threading.Barrier(2), []

    def run(target):
        actor = Actor(user_id=sent["director_a"], role="school_director", organisation_id=sent["a"])
        with app.app_context(), tenant_scope(Tenant(school_id=sent["a"])):
            school = db.session.get(Organisation, sent["a"])
            pupil = db.session.get(Pupil, sent["other"])
            barrier.wait()
            try:
                transfer.send(actor, school, pupil, target)
                db.session.commit()
                outcomes.append("sent")
            except OperationError:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(sent[key],)) for key in ("b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "sent"]
    with app.app_context(), tenant_scope(Tenant(school_id=sent["a"])):
        rows = db.session.scalars(select(PupilTransfer).where(PupilTransfer.from_pupil_id == sent["other"])).all()
        assert [r.status for r in rows] == ["pending"]
