"""Substring searches match what the user typed, never a pattern (infra.like): `%`, `_` and `\\`
find only rows holding them, on PostgreSQL and on SQLite, and no LIKE is built anywhere else."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import re

import pytest
from sqlalchemy import Column
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import select

from infra.like import contains
from tests.conftest import ADMIN_URL
from tests.helpers import add_pupil

ROOT = pathlib.Path(__file__).resolve().parents[2]
VALUES = ["100%", "a_b", "back\\slash", "plain", "ABC", "ab"]
SEARCHES = {"%": ["100%"], "_": ["a_b"], "\\": ["back\\slash"], "%%": [], "a%b": [], "a_": ["a_b"], "_b": ["a_b"],
            "\\s": ["back\\slash"], "\\%": [], "abc": ["ABC"], "b": ["a_b", "ab", "ABC", "back\\slash"]}


@pytest.mark.parametrize("url", ["sqlite://", ADMIN_URL], ids=["sqlite", "postgresql"])
def test_contains_matches_wildcards_literally(url):
    engine = create_engine(url)
    table = Table("like_probe", MetaData(), Column("name", String), prefixes=["TEMPORARY"])
    try:
        with engine.connect() as conn:
            table.metadata.create_all(conn)
            conn.execute(table.insert(), [{"name": v} for v in VALUES])
            found = {text: sorted(conn.scalars(select(table.c.name).where(contains(table.c.name, text))))
                     for text in SEARCHES}
    finally:
        engine.dispose()
    assert found == {text: sorted(rows) for text, rows in SEARCHES.items()}


def _pupils(app, school_id, director_id):
    from infra.db import db
    from tenants.pupils.queries import PupilFilter
    from tenants.pupils.queries import list_pupils
    from tenants.tenancy.actors import Actor
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    actor = Actor(user_id=director_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        for serial, (first, surname) in enumerate([("Anna", "Kowalska"), ("Jan", "Nowak"), ("Zofia", "Kowal-Nowak")]):
            add_pupil(actor, first=first, surname=surname, serial=200 + serial, born=dt.date(2017, 5, 1 + serial))
        db.session.commit()
        return {q: sorted(p.surname for p in list_pupils(PupilFilter(search=q)))
                for q in ("%", "_", "\\", "%%", "Ko%ska", "N_wak", "a\\", "kowal", "nowak kowal")}


PUPIL_SEARCHES = {"%": [], "_": [], "\\": [], "%%": [], "Ko%ska": [], "N_wak": [], "a\\": [],
                  "kowal": ["Kowal-Nowak", "Kowalska"], "nowak kowal": ["Kowal-Nowak"]}


def test_pupil_search_on_postgresql(app, two_schools):
    assert _pupils(app, two_schools["a"], two_schools["director_a"]) == PUPIL_SEARCHES


def test_pupil_search_on_sqlite(tmp_path, monkeypatch):
    import os

    from infra.db import db
    from portal import create_app
    from tests.conftest import World

    for name in list(os.environ):
        if name.startswith("LEGITKA_"):
            monkeypatch.delenv(name)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        assert app.test_cli_runner().invoke(args=["legitka", "migrate"]).exit_code == 0
        world = World(app)
        school = world.school(world.city())
        director = world.user("dyrektor@sqlite.test", school, "school_director")
        assert _pupils(app, school, director) == PUPIL_SEARCHES
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_pupil_list_searches_literally(app, two_schools, browser):
    _pupils(app, two_schools["a"], two_schools["director_a"])
    secretary = browser("sekretariat.a@test.pl")
    for query in ("%25", "_", "%5C", "Ko%25ska"):
        page = secretary.get(f"/szkola/uczniowie?q={query}").get_data(as_text=True)
        assert "Kowalska" not in page and "Nowak" not in page, query
    assert "Kowalska" in secretary.get("/szkola/uczniowie?q=kowalska").get_data(as_text=True)


# --- no LIKE outside infra.like --------------------------------------------------------------

_PATTERN_METHODS = {"like", "ilike", "notlike", "not_like", "notilike", "not_ilike", "contains", "icontains",
                    "not_contains", "istartswith", "iendswith", "regexp_match"}
_SQL_LIKE = re.compile(r"\b(I?LIKE|SIMILAR\s+TO)\b")


def _offences(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            # `Model.column.startswith(...)` is SQL; `text.startswith(...)` is Python's str.
            on_a_column = (isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name)
                           and receiver.value.id[:1].isupper())
            if method in _PATTERN_METHODS or (method in ("startswith", "endswith") and on_a_column):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{method}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_LIKE.search(node.value):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} SQL LIKE in a string")
    return found


def test_every_like_in_the_code_goes_through_infra_like():
    sources = [p for package in ("infra", "tenants", "printing", "reports", "portal")
               for p in sorted((ROOT / package).rglob("*.py")) if p != ROOT / "infra" / "like.py"]
    assert len(sources) > 50
    offences = [o for path in sources for o in _offences(path)]
    assert offences == [], "use infra.like.contains (wildcards escaped) instead"
    assert _offences(ROOT / "infra" / "like.py")  # the check sees a LIKE when there is one
