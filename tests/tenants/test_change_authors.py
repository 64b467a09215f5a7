"""Every change of a legal record records who made it (docs/security.md T3.17): the registry, the
pupil's record, applications, SIO entries, imports, print orders' states, API clients; and no
domain function takes an `actor` it ignores."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib

import pytest
from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.db import db
from printing import api_clients
from printing import fulfilment
from printing import operations as printing_ops
from printing.models import ApiClient
from printing.models import PrintOrder
from tenants.mlegitymacja import operations as mlegitymacja
from tenants.pupils import applications
from tenants.pupils import operations as pupils
from tenants.pupils import pesel as pesel_rules
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.roster import operations as roster_import
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import User
from tests.helpers import add_pupil
from tests.helpers import roster_csv
from tests.helpers import store_photo
from tests.helpers import vulcan_row

ROOT = pathlib.Path(__file__).resolve().parents[2]
TODAY = clock.today()


def test_no_domain_function_ignores_its_actor():
    ignored = []
    for package in ("tenants", "printing", "reports", "portal"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "actor" in {
                        a.arg for a in (*node.args.args, *node.args.kwonlyargs)}:
                    body = ast.Module(body=node.body, type_ignores=[])
                    if not any(isinstance(n, ast.Name) and n.id == "actor" for n in ast.walk(body)):
                        ignored.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not ignored, "takes an actor and ignores it:\n" + "\n".join(ignored)


def _user(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def _changes(**where) -> list[tuple]:
    stmt = select(AccessLog.action, AccessLog.actor_user_id, AccessLog.pupil_id, AccessLog.order_id, AccessLog.detail)
    for name, value in where.items():
        stmt = stmt.where(getattr(AccessLog, name) == value)
    return list(db.session.execute(stmt.order_by(AccessLog.id)).tuples())


@pytest.fixture
def school(app, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        org.bank_account = "07102050110000990202075919"
        db.session.commit()
        yield actor, org, two_schools


def _ordered_card(actor, org, printer_id, serial):
    pupil = add_pupil(actor, serial=serial)
    store_photo(actor, org, pupil)
    application = applications.create_application(actor, pupil, "first", school=org)
    applications.decide_application(actor, application, approve=True)
    order = printing_ops.create_order(actor, org, printer_id, [application.id])
    printing_ops.submit_order(actor, order)
    db.session.commit()
    return pupil, order, db.session.scalar(select(Card).where(Card.order_id == order.id))


def test_pupil_registry_and_sio_changes_name_their_author(school):
    actor, org, ids = school
    user = actor.user_id
    pupil, order, card = _ordered_card(actor, org, ids["p1"], 101)
    assert ("pupil_added", user, pupil.id, None, "") in _changes()
    assert ("order_submitted", user, None, order.id, "from=draft") in _changes()

    pupils.update_pupil(actor, pupil, pupils.PupilDetails(
        first_names="Ola", surname="Nowakowska", date_of_birth=pupil.date_of_birth, sex="K",
        pesel=pesel_rules.make(pupil.date_of_birth, 101, "K")))
    registry.spoil(actor, card, "błąd nadruku")
    db.session.commit()
    assert _changes(action="pupil_updated") == [("pupil_updated", user, pupil.id, None, "")]
    assert _changes(action="card_spoiled") == [("card_spoiled", user, pupil.id, order.id, f"card={card.id}")]

    second, _order2, live = _ordered_card(actor, org, ids["p1"], 102)
    live.status, live.handed_over_on = "handed_over", TODAY
    db.session.flush()
    mlegitymacja.mark_registered(actor, second, live, TODAY)
    registry.invalidate(actor, live, "lost", note="zgubiona")
    mlegitymacja.mark_invalidated(actor, second, TODAY)
    mlegitymacja.record_objection(actor, second, TODAY)
    mlegitymacja.record_objection(actor, second, None)
    registry.record_paper_card(actor, second, "P/12/2020", dt.date(2020, 9, 1))
    registry.pupil_left(actor, second, "left")
    db.session.commit()
    assert [c for c in _changes(pupil_id=second.id) if c[0] not in ("pupil_added",)] == [
        ("mleg_registered", user, second.id, None, f"card={live.id}"),
        ("card_invalidated", user, second.id, None, f"card={live.id} reason=lost"),
        ("mleg_invalidated", user, second.id, None, f"card={live.id}"),
        ("mleg_objection", user, second.id, None, ""), ("mleg_objection_withdrawn", user, second.id, None, ""),
        ("paper_card_recorded", user, second.id, None, ""), ("pupil_left", user, second.id, None, "status=left")]


def test_a_replacements_returned_card_names_its_author(school):
    actor, org, ids = school
    pupil = add_pupil(actor)
    application = applications.create_application(actor, pupil, "replacement", reason_code="data_error",
                                                  school=org)
    applications.record_old_card_return(actor, application, TODAY)
    db.session.commit()
    assert _changes(action="old_card_returned") == [
        ("old_card_returned", actor.user_id, pupil.id, None, f"application={application.id}")]


def test_an_imports_steps_and_its_pupils_name_their_author(school):
    actor, _org, _ids = school
    rows = [vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a")]
    batch = roster_import.start(actor, roster_csv(rows))
    roster_import.confirm(actor, batch)
    roster_import.apply(actor, batch)
    other = roster_import.start(actor, roster_csv(rows))
    roster_import.discard(actor, other)
    db.session.commit()
    added = db.session.scalars(select(AccessLog.pupil_id).where(AccessLog.action == "pupil_added")).all()
    assert len(added) == 1 and added[0] is not None
    assert [c[:2] + c[4:] for c in _changes() if c[0].startswith("import_")] == [
        ("import_confirmed", actor.user_id, f"import={batch.id}"),
        ("import_discarded", actor.user_id, f"import={other.id}")]


def test_every_order_state_change_names_its_author_the_printers_too(app, school):
    actor, org, ids = school
    _pupil, order, _card = _ordered_card(actor, org, ids["p1"], 101)
    db.session.execute(update(PrintOrder).where(PrintOrder.id == order.id).values(status="failed"))
    printing_ops.retry_order(actor, order)
    db.session.execute(update(PrintOrder).where(PrintOrder.id == order.id).values(status="accepted"))
    db.session.commit()
    order_id = order.id
    printer = Actor(user_id=_user("drukarnia.1@test.pl"), role="printer_operator", organisation_id=ids["p1"])
    with tenant_scope(Tenant(printer_id=ids["p1"])):
        fulfilment.record_invoice(printer, db.session.get(PrintOrder, order_id), number="FV 1/2026", net="10.00",
                                  vat="2.30", gross="12.30")
        fulfilment.reject(printer, db.session.get(PrintOrder, order_id), "brak blankietów")
        db.session.commit()
    draft_pupil = add_pupil(actor, serial=150)
    store_photo(actor, org, draft_pupil)
    application = applications.create_application(actor, draft_pupil, "first", school=org)
    applications.decide_application(actor, application, approve=True)
    draft = printing_ops.create_order(actor, org, ids["p1"], [application.id])
    draft_id = draft.id
    printing_ops.discard_draft(actor, draft)
    db.session.commit()
    user, operator = actor.user_id, printer.user_id
    assert [c[:2] + c[3:] for c in _changes() if c[0].startswith("order_")] == [
        ("order_submitted", user, order_id, "from=draft"), ("order_submitted", user, order_id, "from=failed"),
        ("order_invoiced", operator, order_id, "mismatch"), ("order_rejected", operator, order_id, "from=accepted"),
        ("order_discarded", user, draft_id, "")]
    printer_rows = db.session.scalars(select(AccessLog.actor_organisation_id).where(
        AccessLog.action.in_(["order_invoiced", "order_rejected"]))).all()
    assert printer_rows == [ids["p1"], ids["p1"]]


def test_a_revoked_api_client_names_who_revoked_it(app, two_schools):
    printer_id = two_schools["p1"]
    with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
        operator = Actor(user_id=_user("drukarnia.1@test.pl"), role="printer_operator", organisation_id=printer_id)
        made = api_clients.create_client(operator, name="System", scopes=["batches:read"])
        api_clients.revoke_client(operator, made.client)
        db.session.commit()
        assert db.session.scalar(select(ApiClient.revoked_by_id)) == operator.user_id is not None
