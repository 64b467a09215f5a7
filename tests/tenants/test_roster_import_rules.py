"""The dry run and the import apply the same rules: every row the dry run accepts imports.

Hypothesis draws two pupil lists from a small pool of identities (three PESELs; document numbers
that collide across types, case and spaces; two names, two dates of birth), imports the first as
the school's register and then dry-runs the second against it: the import of what the dry run
accepted must succeed on PostgreSQL, with its unique constraints, and add exactly the new rows.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.roster import operations as roster_import
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import roster_csv

HEADER = ["Nazwisko", "Imię", "Drugie imię", "Data urodzenia", "PESEL", "Rodzaj dokumentu tożsamości",
          "Numer dokumentu tożsamości", "Numer w księdze uczniów", "Klasa (oddział)"]
BORN = [dt.date(2016, 4, 9), dt.date(2017, 5, 6)]
PESELS = [make_pesel(BORN[0], 11, "K"), make_pesel(BORN[1], 12, "M"), make_pesel(BORN[0], 13, "K")]
DOCUMENTS = [("paszport", "AB123"), ("dowód osobisty", "ab 123"), ("Paszport", "AB124"), ("karta pobytu", "AB 124"),
             ("paszport", "")]
NAMES = [("Kowalska", "Anna"), ("KOWALSKA", "Anna"), ("Nowak", "Jan")]
# Names the row checks and the register's checks must judge alike (both go through tenants.pupils.names).
SECOND_NAMES = ["", "Maria", "Zoë", "O'Neil", "Anna-Maria", "  maria  ", "ks. Jan", "Ἀλέξανδρος", "An\u200bna",
                "\u202eAnna", "Anna2", "x" * 60, "MARIA JÓZEFA"]

rows = st.fixed_dictionaries({
    "name": st.sampled_from(NAMES),
    "second": st.sampled_from(SECOND_NAMES),
    "pesel": st.sampled_from([None, 0, 1, 2]),
    "document": st.sampled_from([None, *DOCUMENTS]),
    "born": st.sampled_from([None, *BORN]),
    "class_name": st.sampled_from(["1a", "2b"]),
})


def as_cells(row: dict) -> list[str]:
    surname, first = row["name"]
    doc_type, doc_number = row["document"] or ("", "")
    pesel = PESELS[row["pesel"]] if row["pesel"] is not None else ""
    born = row["born"].strftime("%d.%m.%Y") if row["born"] else ""
    return [surname, first, row["second"], born, pesel, doc_type, doc_number, "", row["class_name"]]


@pytest.fixture
def school(app, two_schools, database):
    owner, _tables = database
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=two_schools["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        yield actor, owner


def import_list(actor, cells: list[list[str]]) -> dict:
    """Upload and dry-run a list; import what the dry run accepted. Returns the dry run's summary."""
    if not cells:
        return {}
    batch = roster_import.start(actor, roster_csv(cells, header=HEADER))
    db.session.commit()
    summary = dict(batch.summary)
    if summary.get("new") or summary.get("update"):
        before = db.session.scalar(select(func.count()).select_from(Pupil))
        roster_import.confirm(actor, batch)
        result = roster_import.apply(actor, batch)  # raises OperationError if a row cannot be written
        db.session.commit()
        assert result == summary  # the import did what the dry run said
        assert db.session.scalar(select(func.count()).select_from(Pupil)) == before + summary["new"]
    roster_import.drop_file(batch)
    db.session.commit()
    return summary


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(register=st.lists(rows, max_size=5), upload=st.lists(rows, min_size=1, max_size=6))
def test_every_row_the_dry_run_accepts_imports(school, register, upload):
    actor, owner = school
    with owner.begin() as conn:
        conn.execute(text("TRUNCATE pupils, imports RESTART IDENTITY CASCADE"))
    db.session.expire_all()
    import_list(actor, [as_cells(r) for r in register])
    import_list(actor, [as_cells(r) for r in upload])


@pytest.mark.parametrize(("register", "upload", "new", "invalid"), [
    # one number under two types in the file: the second row is refused, the first imports
    ([], [("paszport", "AB123"), ("dowód osobisty", "ab 123")], 1, 1),
    # the number is already in the register under another type: that pupil, updated
    ([("paszport", "AB123")], [("karta pobytu", "AB123")], 0, 0),
    # a number that only differs in case and spaces is the same number
    ([("paszport", "AB 124")], [("paszport", "ab124"), ("paszport", "AB125")], 1, 0),
])
def test_document_numbers_are_one_identity_whatever_their_type(school, register, upload, new, invalid):
    actor, _owner = school

    def cells(documents):
        return [["Lis", ("Ida", "Ola", "Ewa")[i], "", f"0{i + 1}.02.2016", "", doc_type, number, "", "1a"]
                for i, (doc_type, number) in enumerate(documents)]

    import_list(actor, cells(register))
    summary = import_list(actor, cells(upload))
    assert (summary["new"], summary["invalid"]) == (new, invalid)


def test_a_pre_school_child_without_a_card_is_imported_with_a_note(school):
    """docs/domain.md §2: the row imports (the child is on the school's roll), and the dry run says
    that no card can be ordered for it; a disabled child in the compulsory year gets no note."""
    actor, owner = school
    with owner.begin() as conn:
        conn.execute(text("TRUNCATE pupils, imports RESTART IDENTITY CASCADE"))
    header = [*HEADER, "Rodzaj ucznia", "Niepełnosprawność"]
    born = dt.date(2020, 4, 2)  # 2026/27 is the compulsory pre-school year
    cells = [["Lis", "Ida", "", "02.04.2020", make_pesel(born, 21, "K"), "", "", "", "0a", "przedszkole", "nie"],
             ["Lis", "Ewa", "", "02.04.2020", make_pesel(born, 22, "K"), "", "", "", "0a", "przedszkole", "tak"],
             ["Lis", "Ola", "", "02.04.2016", make_pesel(dt.date(2016, 4, 2), 23, "K"), "", "", "", "4a", "uczeń",
              "nie"]]
    with clock.pinned(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)):
        batch = roster_import.start(actor, roster_csv(cells, header=header))
        notes = {r["label"]: r.get("notes", []) for r in batch.report}
        assert batch.summary["new"] == 3
        assert [label for label, n in notes.items() if n] == ["Lis Ida (0a)"]
        assert "tylko dziecku niepełnosprawnemu" in notes["Lis Ida (0a)"][0]
