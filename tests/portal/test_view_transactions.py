"""One way for a view to run a domain operation and answer (portal.actions, docs/architecture.md,
adding a page): the operation is committed once and answered with the success message and a
redirect, or refused, rolled back and answered with the view's page; and no view ends a
transaction itself — `db.session.commit()` appears in portal/ only in the places listed here."""

from __future__ import annotations

import ast
import pathlib

import pytest
from flask import get_flashed_messages
from sqlalchemy import select

from infra.db import db
from portal import actions
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"

# (module, top-level function) -> why it commits outside `portal.actions`. Views are not here.
ALLOWED_COMMITS = {
    ("actions.py", "attempt"): "the one commit of a view's operation",
    ("actions.py", "commit"): "the one commit of a view's unrefusable writes (access-log rows)",
    ("cli.py", "create_city"): "a command, not a request",
    ("cli.py", "create_school"): "a command, not a request",
    ("cli.py", "create_printer"): "a command, not a request",
    ("cli.py", "create_user"): "a command, not a request",
    ("demo.py", "seed"): "demo seeding (a command): commits between its steps",
    ("demo.py", "_confirm_past_deletions"): "demo seeding (a command): each school's past orders' confirmations",
    ("demo.py", "_consultation"): "demo seeding (a command): the consultation, then each school's answer",
    ("demo_history.py", "past_transfers"): "demo seeding: each school's part of a past transfer as itself",
    ("demo_history.py", "past_history"): "demo seeding: each school's past years' history as itself",
    ("api/oauth.py", "Server"): "Server.save_token, authlib's token-store hook: the issued token outlives the request",
    ("api/views.py", "_bind"): "the API's credential lookup, committed before the request switches to "
                               "the printer's tenant (plumbing run before the view)",
}


def _commits() -> set[tuple[str, str]]:
    """Every (module, enclosing top-level function) holding a `<x>.session.commit()` call."""
    found = set()
    for path in sorted(PORTAL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for top in tree.body:
            name = getattr(top, "name", "<module>")
            for node in ast.walk(top):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
                        and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "session"):
                    found.add((path.relative_to(PORTAL).as_posix(), name))
    return found


def test_views_never_commit_themselves():
    """A view runs its operation with `portal.actions` (run / attempt / commit); a new commit
    elsewhere fails here, and so does an allowed place that no longer commits."""
    found = _commits()
    assert found - set(ALLOWED_COMMITS) == set(), "commit outside portal.actions: use actions.run/attempt/commit"
    assert set(ALLOWED_COMMITS) - found == set(), "listed but no longer committing: remove from ALLOWED_COMMITS"


def _school_name(school_id: int) -> str:
    db.session.rollback()
    with tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(Organisation.name).where(Organisation.id == school_id))


def _rename(school_id: int, name: str, *, refuse: bool = False):
    def operation():
        db.session.get(Organisation, school_id).name = name
        db.session.flush()
        if refuse:
            raise OperationError("Odmowa.")
        return name

    return operation


def test_run_commits_once_flashes_and_redirects(app, world):
    school = world.school(world.city())
    with app.test_request_context("/"), tenant_scope(Tenant(school_id=school)):
        response = actions.run(_rename(school, "Nowa nazwa"), success=lambda name: f"Zapisano: {name}.",
                               refused=lambda err: ("page", 422), then="/dalej")
        assert (response.status_code, response.location) == (302, "/dalej")
        assert get_flashed_messages(with_categories=True) == [("success", "Zapisano: Nowa nazwa.")]
        assert _school_name(school) == "Nowa nazwa"


def test_run_refused_rolls_back_and_answers_with_the_page(app, world):
    school = world.school(world.city(), "Stara nazwa")
    with app.test_request_context("/"), tenant_scope(Tenant(school_id=school)):
        answer = actions.run(_rename(school, "Nowa nazwa", refuse=True), success="Zapisano.",
                             refused=lambda err: (f"strona: {err}", 422), then="/dalej")
        assert answer == ("strona: Odmowa.", 422)
        assert get_flashed_messages() == []
        assert _school_name(school) == "Stara nazwa"


def test_run_without_refused_raises_a_refusal(app, world):
    """An operation the rules never refuse has no error page: a refusal is a bug (500), uncommitted."""
    school = world.school(world.city(), "Stara nazwa")
    with app.test_request_context("/"), tenant_scope(Tenant(school_id=school)):
        with pytest.raises(OperationError):
            actions.run(_rename(school, "Nowa nazwa", refuse=True), then="/dalej")
        assert _school_name(school) == "Stara nazwa"


def test_then_may_answer_with_a_page_and_use_the_result(app, world):
    school = world.school(world.city())
    with app.test_request_context("/"), tenant_scope(Tenant(school_id=school)):
        answer = actions.run(_rename(school, "Trzecia"), success=lambda name: [name, "drugi"],
                             then=lambda name: (f"lista: {name}", 200))
        assert answer == ("lista: Trzecia", 200)
        assert get_flashed_messages() == ["Trzecia", "drugi"]
