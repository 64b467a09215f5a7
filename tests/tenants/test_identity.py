"""A pupil's PESEL (or other identity document) is decrypted in one place, `tenants.pupils.identity`, and
every path that reveals it writes an access-log row (docs/security.md T3.4, T3.10)."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib

from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import batch
from printing import operations as printing_ops
from tenants.mlegitymacja import operations as mlegitymacja
from tenants.pupils import applications
from tenants.pupils import identity
from tenants.pupils import operations as pupils
from tenants.pupils.pesel import make as make_pesel
from tenants.registry import queries as registry_queries
from tenants.registry.models import Card
from tenants.tenancy.actors import SYSTEM
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("infra", "tenants", "printing", "reports", "portal", "bench")
# `.decrypt(…)` elsewhere opens only an order's package password (not a personal number), never a
# pupil's: the call's argument must name `package_password_cipher` or the job's `password_cipher`.
PASSWORD_ARGUMENTS = {"package_password_cipher", "password_cipher"}
BORN = dt.date(2018, 6, 1)


def _argument_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def test_nothing_outside_tenants_identity_decrypts_a_personal_number():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            # infra/envelope.py opens stored files (T3.20: encrypted at rest, read as plain before), no column
            if ".venv" in path.parts or path in (ROOT / "tenants/pupils/identity.py", ROOT / "infra/crypto.py",
                                                 ROOT / "infra/envelope.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                decrypts = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr == "decrypt")
                if decrypts and (not node.args or _argument_name(node.args[0]) not in PASSWORD_ARGUMENTS):
                    offenders.append(where)
                if isinstance(node, ast.ImportFrom) and node.module == "tenants.pupils.identity" and any(
                        alias.name.startswith("_") for alias in node.names):
                    offenders.append(where)
                if isinstance(node, ast.Attribute) and node.attr == "_decrypt":
                    offenders.append(where)
    assert not offenders, "decrypts outside tenants.pupils.identity:\n" + "\n".join(offenders)


def _rows(action: str | None = None) -> list[tuple]:
    """Access-log rows (of `action`, or every row but the records of changes, docs/security.md T3.17)."""
    stmt = select(AccessLog.action, AccessLog.pupil_id, AccessLog.order_id, AccessLog.actor_user_id)
    if action is not None:
        stmt = stmt.where(AccessLog.action == action)
    else:
        stmt = stmt.where(AccessLog.action != "pupil_added")
    return sorted(tuple(r) for r in db.session.execute(stmt.order_by(AccessLog.id)))


def test_each_reveal_writes_one_row_and_the_masked_form_none(app_ctx, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with tenant_scope(Tenant(school_id=school_id)):
        with_pesel = add_pupil(actor)
        with_document = pupils.add_pupil(actor, pupils.PupilDetails(
            first_names="Olena", surname="Kowal", date_of_birth=BORN, id_document_type="paszport",
            id_document_number="AB1234567", sex="K"))
        db.session.commit()
        assert _rows() == []
        assert identity.masked(with_pesel) == "*******" + make_pesel(BORN, 101, "K")[-4:]
        assert identity.masked(with_document) == "*****567"
        assert _rows() == []  # the screen form reveals nothing and logs nothing

        assert identity.reveal_pesel(actor, with_pesel, "pesel_view") == make_pesel(BORN, 101, "K")
        assert identity.reveal_pesel(actor, with_document, "pesel_view") is None
        assert identity.reveal_identity(actor, with_document, "application_form_pdf", order_id=None) == \
            "paszport AB1234567"
        assert identity.reveal_document_number(actor, with_document, "pupil_edit") == "AB1234567"
        db.session.commit()
        user = two_schools["director_a"]
        assert _rows() == sorted([("pesel_view", with_pesel.id, None, user),
                                  ("pesel_view", with_document.id, None, user),
                                  ("application_form_pdf", with_document.id, None, user),
                                  ("pupil_edit", with_document.id, None, user)])


def test_the_batch_the_proof_the_registry_book_and_the_sio_list_each_log_every_pupil(app_ctx, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        school.bank_account = "07102050110000990202075919"
        added = [add_pupil(actor, surname="Nowak", serial=101), add_pupil(actor, surname="Lis", serial=102)]
        ids = []
        for pupil in added:
            store_photo(actor, school, pupil)
            application = applications.create_application(actor, pupil, "first", school=school)
            applications.decide_application(actor, application, approve=True)
            ids.append(application.id)
        order = printing_ops.create_order(actor, school, two_schools["p1"], ids)
        db.session.commit()
        expected = sorted(p.id for p in added)

        draft_proof = batch.preview_data(order, actor, today=clock.today())
        assert len(draft_proof) == 2 and sorted(r[1] for r in _rows("proof_view")) == expected
        printing_ops.submit_order(actor, order)
        db.session.commit()

        cards, data = batch.card_data(order, SYSTEM, "batch_render")
        assert {d.pesel for d in data} == {make_pesel(BORN, 101, "K"), make_pesel(BORN, 102, "K")}
        assert sorted(r[1:] for r in _rows("batch_render")) == sorted((p, order.id, None) for p in expected)

        rows = registry_queries.book_rows(actor, cards, "registry_pdf")
        assert len(rows) == 2 and sorted(r[1] for r in _rows("registry_pdf")) == expected

        csv = mlegitymacja.sio_csv(actor, [mlegitymacja.Task(c.pupil, c, mlegitymacja.REGISTER) for c in cards])
        assert make_pesel(BORN, 102, "K").encode() in csv
        assert sorted(r[1] for r in _rows("sio_export")) == expected
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Card)) == 2


def test_keeping_a_pupils_identity_on_an_edit_is_logged(app, browser, two_schools):
    staff = browser("sekretariat.a@test.pl")
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=two_schools["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        pupil_id = add_pupil(actor).id
        db.session.commit()
    form = {"first_names": "Ola", "surname": "Nowakowska", "date_of_birth": "01.06.2018", "sex": "K", "pesel": "",
            "class_name": "1a", "learner_type": "pupil"}
    response = staff.post(f"/szkola/uczniowie/{pupil_id}/edycja", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert [r[:2] for r in _rows("pupil_edit")] == [("pupil_edit", pupil_id)]
        db.session.commit()
