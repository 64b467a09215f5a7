"""Issue 16, cards made before Legitka (docs/domain.md §24): a school imports its register and the
numbering continues with no gap and no duplicate. Hand-worked files, real operations and database."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import services
from infra.db import db
from infra.db import utcnow
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils import applications
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.registry import import_file
from tenants.registry import imports as registry_imports
from tenants.registry import queries as registry_queries
from tenants.registry.models import Card
from tenants.registry.models import SchoolCounter
from tenants.roster.file import read_table
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tests import hostile_rosters
from tests.helpers import add_pupil
from tests.helpers import store_photo

ANNA = pesel_rules.make(dt.date(2012, 5, 4), 111, "K")  # Kowalska, a pupil with a paper card
JAN = pesel_rules.make(dt.date(2013, 2, 11), 222, "M")  # Nowak, a pupil with an e-card
PIOTR = pesel_rules.make(dt.date(2008, 1, 20), 333, "M")  # Zieliński, left the school long ago
HEADER = "Nr legitymacji;Nazwisko;Imię;Drugie imię;PESEL;Klasa (oddział);Data wydania;Rodzaj legitymacji;Stan;" \
         "Data odbioru"


def csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# The hand-worked register: numbers 1, 2, 3, 5 (4 is a gap of the school's own past).
REGISTER = csv(
    f"1/2022;ZIELIŃSKI;Piotr;;{PIOTR};8a;01.09.2022;papierowa;unieważniona;02.09.2022",
    f"2/2023;Kowalska;Anna;;{ANNA};7b;04.09.2023;papierowa;ważna;05.09.2023",
    f"3/2024;Nowak;Jan;;{JAN};6a;02.09.2024;e-legitymacja;ważna;",
    f"5/2024;Nowak;Jan;;{JAN};6a;10.09.2024;e-legitymacja;unieważniona;",
)


def _school(app, world, name, **numbering):
    city = world.city()
    school_id = world.school(city, name, card_number_format="{n}/{rok}", **numbering)
    printer = world.printer([city])
    user = world.user(f"dyr-{school_id}@test.pl", school_id, "school_director")
    return Actor(user_id=user, role="school_director", organisation_id=school_id), school_id, printer


@pytest.fixture
def school(app, world):
    actor, school_id, printer = _school(app, world, "SP 9 Import")
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        yield actor, db.session.get(Organisation, school_id), printer
        db.session.rollback()


def _pupils(actor):
    anna = add_pupil(actor, first="Anna", surname="Kowalska", born=dt.date(2012, 5, 4), serial=111, class_name="7b")
    jan = add_pupil(actor, first="Jan", surname="Nowak", born=dt.date(2013, 2, 11), serial=222, sex="M",
                    class_name="6a")
    return anna, jan


def _cards():
    return {c.number: c for c in db.session.scalars(select(Card).order_by(Card.number))}


def _counter(year=0):
    return db.session.scalar(select(SchoolCounter.last_no).where(SchoolCounter.year == year)) or 0


def _legitka_card(actor, org, printer, pupil) -> Card:
    store_photo(actor, org, pupil)
    application = applications.create_application(actor, pupil, "first", school=org)
    applications.decide_application(actor, application, approve=True)
    order = printing_ops.create_order(actor, org, printer, [application.id])
    (card,) = printing_ops.submit_order(actor, order)
    return card


def test_the_register_is_imported_and_a_legitka_order_continues_from_max_plus_one(school):
    actor, org, printer = school
    anna, jan = _pupils(actor)

    batch = registry_imports.start(actor, REGISTER)
    # The preview: nothing written yet.
    assert (batch.status, _cards(), _counter(), anna.paper_card_number) == ("checked", {}, 0, "")
    s = batch.summary
    assert (s["total"], s["valid"], s["invalid"], s["pupil"], s["former"], s["paper"]) == (4, 4, 0, 3, 1, 2)
    assert (s["highest"], s["next"]) == (5, 6)
    assert len(s["warnings"]) == 1 and "brakowałoby numerów 4 " in s["warnings"][0]  # the school's own gap
    assert [r["action"] for r in batch.report] == ["former", "pupil", "pupil", "pupil"]
    assert batch.report[0]["label"] == "nr 1/2022 — Zieliński Piotr (8a)"  # ALL CAPS set right, no PESEL
    assert "nie ma wśród uczniów" in batch.report[0]["warnings"][0]

    summary = registry_imports.confirm(actor, batch)
    assert summary["valid"] == 4 and batch.status == "done" and batch.file_key is None
    cards = _cards()
    assert sorted(cards) == [1, 2, 3, 5]
    piotr = cards[1]
    assert (piotr.source, piotr.medium, piotr.pupil_id, piotr.holder_name, piotr.holder_class, piotr.status,
            piotr.valid_until, piotr.label, piotr.order_id, piotr.application_id) == (
        "import", "paper", None, "Zieliński Piotr", "8a", "invalidated", None, "1/2022", None, None)
    assert services.pesel_cipher().decrypt(piotr.holder_pesel_cipher) == PIOTR
    paper = cards[2]
    assert (paper.pupil_id, paper.medium, paper.status, paper.handed_over_on, paper.holder_pesel_cipher) == (
        anna.id, "paper", "handed_over", dt.date(2023, 9, 5), None)
    # Anna's valid paper card is now her paper card: an application for her is an exchange (§21).
    assert (anna.paper_card_number, anna.paper_card_issued_on, anna.holds_paper_card) == (
        "2/2023", dt.date(2023, 9, 4), True)
    ecard = cards[3]
    # Issued 02.09.2024: school year 2024/25, valid until 30.09.2025 (docs/domain.md §4).
    assert (ecard.pupil_id, ecard.medium, ecard.status, ecard.valid_until) == (
        jan.id, "id1", "handed_over", dt.date(2025, 9, 30))
    assert cards[5].status == "invalidated" and "przed wdrożeniem Legitki" in cards[5].status_note
    assert _counter() == 5

    # The next Legitka card: 6, no gap and no duplicate.
    newcomer = add_pupil(actor, first="Ewa", surname="Nowa", born=dt.date(2017, 3, 3), serial=444)
    card = _legitka_card(actor, org, printer, newcomer)
    assert (card.number, card.source) == (6, "legitka")
    assert sorted(_cards()) == [1, 2, 3, 5, 6]


def test_the_registry_book_lists_imported_entries_with_the_former_pupils_pesel_logged(school):
    actor, _org, _printer = school
    _pupils(actor)
    registry_imports.confirm(actor, registry_imports.start(actor, REGISTER))
    rows = registry_queries.book_rows(actor, registry_queries.entries(), "registry_pdf")
    assert [(r.label, r.name, r.identity, r.class_name, r.template, r.valid_until) for r in rows] == [
        ("1/2022", "Zieliński Piotr", PIOTR, "8a", "papierowa", None),
        ("2/2023", "Kowalska Anna", ANNA, "7b", "papierowa", None),
        ("3/2024", "Nowak Jan", JAN, "6a", "—", dt.date(2025, 9, 30)),
        ("5/2024", "Nowak Jan", JAN, "6a", "—", dt.date(2025, 9, 30)),
    ]
    former = _cards()[1]
    logged = db.session.scalar(select(func.count()).select_from(AccessLog).where(
        AccessLog.action == "registry_pdf", AccessLog.detail == f"card={former.id}"))
    assert logged == 1
    # The class filter finds a former pupil by the register's class.
    assert [c.number for c in registry_queries.entries(registry_queries.RegistryFilter(class_name="8a"))] == [1]


def test_a_duplicate_number_in_the_file_refuses_the_whole_file(school):
    actor, _org, _printer = school
    _pupils(actor)
    batch = registry_imports.start(actor, csv(
        f"1;Kowalska;Anna;;{ANNA};7b;04.09.2023;papierowa;ważna;",
        f"2;Nowak;Jan;;{JAN};6a;02.09.2024;e-legitymacja;ważna;",
        f"2/2024;Zieliński;Piotr;;{PIOTR};8a;03.09.2024;e-legitymacja;ważna;",
    ))
    assert batch.summary["invalid"] == 1
    assert "Numer 2/2024 występuje w pliku już w wierszu 3" in batch.report[2]["errors"][0]
    with pytest.raises(OperationError, match="całą ewidencję albo nic"):
        registry_imports.confirm(actor, batch)
    assert (_cards(), _counter()) == ({}, 0)


def test_a_number_legitka_already_gave_is_a_clash_and_nothing_is_written(school):
    actor, org, printer = school
    anna, jan = _pupils(actor)
    assert _legitka_card(actor, org, printer, jan).number == 1
    batch = registry_imports.start(actor, csv(
        f"1;Kowalska;Anna;;{ANNA};7b;04.09.2023;papierowa;ważna;",
        f"2;Zieliński;Piotr;;{PIOTR};8a;01.09.2022;papierowa;ważna;",
    ))
    assert batch.report[0]["errors"] == [
        "Numer 1 jest już w ewidencji Legitki (legitymacja nr 1/" + str(_cards()[1].issue_date.year) +
        ") — dwa wpisy nie mogą mieć tego samego numeru."]
    with pytest.raises(OperationError):
        registry_imports.confirm(actor, batch)
    assert sorted(_cards()) == [1] and _counter() == 1 and anna.paper_card_number == ""


def test_a_number_taken_between_preview_and_confirm_is_refused_at_confirm(school):
    actor, org, printer = school
    _anna, jan = _pupils(actor)
    batch = registry_imports.start(actor, csv(f"1;Kowalska;Anna;;{ANNA};7b;04.09.2023;papierowa;ważna;"))
    assert batch.summary["invalid"] == 0
    _legitka_card(actor, org, printer, jan)  # number 1 goes to an order meanwhile
    with pytest.raises(OperationError, match="błędne wiersze"):
        registry_imports.confirm(actor, batch)
    assert [c.source for c in _cards().values()] == ["legitka"]


def test_row_errors_are_polish_and_name_no_pesel(school):
    actor, _org, _printer = school
    bad_checksum = ANNA[:10] + str((int(ANNA[10]) + 1) % 10)
    batch = registry_imports.start(actor, csv(
        f"7;Kowalska;Anna;;{bad_checksum};7b;04.09.2023;papierowa;ważna;",
        f"8;Nowak;Jan;;{JAN};6a;13.07.2024;papierowa;ważna;",
        f"9a;Nowak;Jan;;{JAN};6a;02.09.2024;plastik;może;01.09.2024",
    ))
    errors = [r["errors"] for r in batch.report]
    assert errors[0] == ["PESEL ma błędną cyfrę kontrolną — sprawdź, czy nie ma literówki."]
    assert errors[1] == ["Legitymacja papierowa z datą wydania 13.07.2024: papierowe legitymacje wydawano do "
                         "12.07.2024 — późniejsza może być tylko e-legitymacją. Popraw datę albo rodzaj."]
    assert errors[2] == [
        "Numer legitymacji „9a” ma nieznaną postać — wpisz numer z ewidencji, np. 123 albo 123/2023.",
        "Rodzaj legitymacji „plastik” nie jest rozpoznany — wpisz „papierowa” albo „e-legitymacja”.",
        "Stan „może” nie jest rozpoznany — wpisz „ważna” albo „unieważniona”.",
        "Data odbioru jest wcześniejsza niż data wydania."]
    stored = json.dumps([batch.report, batch.summary], ensure_ascii=False)
    for pesel in (ANNA, JAN, bad_checksum):
        assert pesel not in stored
    # The stored file's key is made of ids and a random token (infra.storage.school_key), no PESEL.
    assert batch.file_key.startswith(f"schools/{batch.school_id}/imports/")
    assert not any(pesel in batch.file_key for pesel in (ANNA, JAN, bad_checksum))


def test_a_file_without_the_registers_columns_is_refused_and_nothing_kept(school):
    actor, _org, _printer = school
    with pytest.raises(OperationError, match="brakuje kolumn: „Nr legitymacji”"):
        registry_imports.start(actor, b"Nazwisko;Imi\xc4\x99;Klasa\nNowak;Jan;1a\n")
    assert registry_imports.recent() == []


@pytest.mark.parametrize("name", ["xlsx_billion_laughs", "xlsx_cell_in_column_xfd", "xlsx_many_zip_entries",
                                  "csv_one_line_of_delimiters"])
def test_hostile_files_are_refused_by_the_shared_reader(school, name):
    actor, _org, _printer = school
    build, message = hostile_rosters.HOSTILE[name]
    with pytest.raises(OperationError, match=message):
        registry_imports.start(actor, build())
    assert registry_imports.recent() == [] and _cards() == {}


def test_the_downloadable_template_imports_cleanly():
    for data in (import_file.template_csv(), import_file.template_xlsx()):
        table = read_table(data)
        mapping = import_file.detect_columns(table.headers)
        checks = import_file.check_rows(table, mapping, today=dt.date(2026, 12, 5))
        assert [c.errors for c in checks] == [[], []]
        assert [(c.row.number, c.row.medium) for c in checks] == [(41, "paper"), (42, "id1")]


def test_librus_and_vulcan_style_headings_are_recognised():
    headers = ["Lp.", "Numer legitymacji", "Nazwisko ucznia", "Imiona ucznia", "PESEL ucznia", "Dane oddziału",
               "Data wystawienia", "Typ legitymacji", "Status legitymacji", "Data wręczenia"]
    assert import_file.detect_columns(headers) == {
        "number": 1, "surname": 2, "first_name": 3, "pesel": 4, "class_name": 5, "issue_date": 6, "medium": 7,
        "status": 8, "collected_on": 9}


def test_imports_are_isolated_between_schools(app, world):
    actor_a, a, _p = _school(app, world, "SP A")
    actor_b, b, _p = _school(app, world, "SP B")
    with app.app_context():
        with tenant_scope(Tenant(school_id=a)):
            batch = registry_imports.start(actor_a, REGISTER)
            registry_imports.confirm(actor_a, batch)
            db.session.commit()
            import_id = batch.id
        with tenant_scope(Tenant(school_id=b)):
            with pytest.raises(NotFoundError):
                registry_imports.get(import_id)
            assert registry_imports.recent() == [] and _cards() == {}
            # Numbers are the school's own: B imports its own 1/2022.
            other = registry_imports.start(actor_b, REGISTER)
            assert other.summary["invalid"] == 0
            db.session.rollback()


def test_the_imported_paper_card_ends_with_the_exchange(school):
    actor, org, printer = school
    anna, _jan = _pupils(actor)
    registry_imports.confirm(actor, registry_imports.start(actor, REGISTER))
    card = _legitka_card(actor, org, printer, anna)
    assert card.number == 6
    application = db.session.get(Application, card.application_id)
    assert application.paper_card_number == "2/2023"  # an exchange (§21)
    card.status = "delivered"
    db.session.get(PrintOrder, card.order_id).delivered_at = utcnow()
    db.session.flush()
    printing_ops.record_handover(actor, card, handed_over_on=clock.today(), collected_by="Anna Kowalska",
                                 paper_card_returned=True)
    paper = _cards()[2]
    assert (paper.status, paper.invalidation_reason, paper.invalidated_at) == ("invalidated", "replaced", clock.today())
    assert not db.session.get(Pupil, anna.id).holds_paper_card


def test_a_school_numbering_per_year_imports_each_years_sequence(app, world):
    """docs/domain.md §5, §24: numbered per year, 1/2023 and 1/2024 are two cards; each year's counter
    is raised to its highest number; a year's number repeated, or a label naming another year than
    the issue date, is refused."""
    actor, school_id, _printer = _school(app, world, "SP Roczna", card_numbering="yearly", card_numbering_from=0)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        refused = registry_imports.start(actor, csv(
            f"1/2024;Nowak;Jan;;{JAN};6a;02.09.2024;e-legitymacja;ważna;",
            f"1/2024;Zieliński;Piotr;;{PIOTR};8a;03.09.2024;e-legitymacja;ważna;",
            f"2/2023;Kowalska;Anna;;{ANNA};7b;04.09.2024;e-legitymacja;ważna;",
        ))
        assert [r["errors"] for r in refused.report] == [[], [
            "Numer 1/2024 występuje w pliku w roku 2024 już w wierszu 2 — numer legitymacji nie może się powtarzać."
        ], ["Numer 2/2023 ma w sobie inny rok niż rok wydania (2024) — przy numeracji rocznej rok w numerze to rok "
            "wydania legitymacji. Popraw numer albo datę."]]
        batch = registry_imports.start(actor, csv(
            f"1/2023;Zieliński;Piotr;;{PIOTR};8a;01.09.2023;papierowa;ważna;",
            f"2/2023;Kowalska;Anna;;{ANNA};7b;04.09.2023;papierowa;ważna;",
            f"1/2024;Nowak;Jan;;{JAN};6a;02.09.2024;e-legitymacja;ważna;",
            f"3/2024;Nowak;Jan;;{JAN};6a;10.09.2024;e-legitymacja;unieważniona;",
        ))
        assert batch.summary["sequences"] == {"2023": 2, "2024": 3}
        assert batch.summary["warnings"] == [
            "W ewidencji roku 2024 brakowałoby numerów 2 — nie ma ich ani w pliku, ani w Legitce. Jeśli to luki w "
            "dotychczasowej ewidencji szkoły (np. numery zepsutych druków), można importować; jeśli plik jest "
            "niepełny, uzupełnij go."]
        registry_imports.confirm(actor, batch)
        assert sorted((c.numbering_year, c.number, c.label) for c in db.session.scalars(select(Card))) == [
            (2023, 1, "1/2023"), (2023, 2, "2/2023"), (2024, 1, "1/2024"), (2024, 3, "3/2024")]
        assert (_counter(2023), _counter(2024), _counter(0)) == (2, 3, 0)
        db.session.rollback()


def test_the_database_keeps_legitka_and_imported_entries_apart(school):
    """The check constraints of migration 0022: a Legitka card needs its application and order; an
    imported one has neither and names a holder; no paper card after 12.07.2024 (docs/domain.md §7)."""
    from sqlalchemy.exc import IntegrityError

    _actor, org, _printer = school
    base = {"school_id": org.id, "template_code": "", "issue_date": dt.date(2024, 7, 12), "status": "handed_over"}
    refused = [
        Card(number=1, source="legitka", medium="id1", valid_until=dt.date(2025, 9, 30), holder_name="X Y", **base),
        Card(number=2, source="import", medium="paper", **base),  # no holder at all
        Card(number=3, source="import", medium="paper", holder_name="Nowak Jan",
             **{**base, "issue_date": dt.date(2024, 7, 13)}),  # paper after 12.07.2024
        Card(number=4, source="import", medium="id1", holder_name="Nowak Jan", **base),  # an e-card without validity
    ]
    for card in refused:
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(card)
            db.session.flush()
    with db.session.begin_nested():
        db.session.add(Card(number=5, source="import", medium="paper", holder_name="Nowak Jan", **base))
        db.session.flush()


def test_no_pesel_reaches_the_logs_or_the_change_records(school, caplog):
    import logging

    actor, _org, _printer = school
    _pupils(actor)
    with caplog.at_level(logging.DEBUG):
        batch = registry_imports.start(actor, REGISTER)
        registry_imports.confirm(actor, batch)
    details = " ".join(d or "" for d in db.session.scalars(select(AccessLog.detail)))
    for pesel in (ANNA, JAN, PIOTR):
        assert pesel not in caplog.text and pesel not in details
    assert f"import={batch.id} entries=4 next=6" in details


def test_the_mlegitymacja_todo_takes_imported_cards_as_the_pupils_cards(school):
    """docs/domain.md §9, §24: Jan's imported valid e-card (3/2024) is to be registered in SIO; Anna's
    imported paper card is her paper card (listed as "(papierowa)"), not a second entry; the former
    pupil is on no list."""
    from tenants.mlegitymacja import operations as mlegitymacja

    actor, _org, _printer = school
    anna, jan = _pupils(actor)
    registry_imports.confirm(actor, registry_imports.start(actor, REGISTER))
    tasks = {(t.pupil.id, t.action, t.card.number) for t in mlegitymacja.todo()}
    assert tasks == {(jan.id, mlegitymacja.REGISTER, 3), (anna.id, mlegitymacja.REGISTER, 0)}


def test_gaps_are_worked_out_from_the_numbers():
    assert import_file.gaps({1, 2, 3, 5}, 5) == [(4, 4)]
    assert import_file.gaps({3, 4, 8}, 8) == [(1, 2), (5, 7)]
    assert import_file.gaps({1, 2}, 2) == []
    assert import_file.gaps({9_999_999}, 9_999_999) == [(1, 9_999_998)]
    assert import_file.runs_text([(1, 2), (5, 5)]) == "1–2, 5"
