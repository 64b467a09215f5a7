"""Importing a class list: Vulcan columns, column mapping, the dry run's per-row errors, the
job that imports, and re-imports that update without duplicating anyone."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from infra import progress
from infra import services
from infra.db import db
from infra.storage import NotFound
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.roster.models import RosterImport
from tenants.roster.table import is_dumped_table
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests import hostile_rosters as hostile
from tests.helpers import letters
from tests.helpers import roster_csv
from tests.helpers import run_jobs
from tests.helpers import vulcan_row

ANNA = vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a", book="12/2024")
JAN = vulcan_row("Nowak", "Jan", dt.date(2018, 7, 9), 12, "M", "1a", second="Paweł", book="13/2024")


@pytest.fixture
def staff(browser, two_schools):
    return browser("sekretariat.a@test.pl")


def upload(staff, data: bytes, name="lista.csv"):
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    import_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    return import_id, staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)


def batch(app, school_id, import_id) -> RosterImport:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        row = db.session.get(RosterImport, import_id)
        db.session.expunge(row)
        return row


def pupils(app, school_id) -> list[Pupil]:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        rows = list(db.session.scalars(select(Pupil).order_by(Pupil.surname)))
        for row in rows:
            db.session.expunge(row)
        return rows


def import_all(app, staff, import_id):
    response = staff.post(f"/szkola/import/{import_id}/importuj")
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs(app)


def test_a_vulcan_list_is_dry_run_then_imported_by_a_job(app, staff, two_schools):
    school = two_schools["a"]
    import_id, page = upload(staff, roster_csv([ANNA, JAN]))
    assert "Vulcan" in page and "Importuj 2 poprawnych wierszy" in page
    assert pupils(app, school) == []  # the dry run writes nothing
    file_key = batch(app, school, import_id).file_key
    import_all(app, staff, import_id)
    done = batch(app, school, import_id)
    assert done.status == "done" and done.summary["new"] == 2 and done.file_key is None
    with app.app_context(), pytest.raises(NotFound):
        services.storage().get(file_key)  # the list with PESELs is gone once imported
    anna, jan = pupils(app, school)
    assert (anna.surname, anna.first_names, anna.class_name, anna.book_number, anna.sex) == \
        ("Kowalska", "Anna", "1a", "12/2024", "K")
    assert jan.first_names == "Jan Paweł" and jan.date_of_birth == dt.date(2018, 7, 9) and jan.sex == "M"
    with app.app_context():
        assert services.pesel_cipher().decrypt(anna.pesel_cipher) == ANNA[4]
    assert "Import zakończony" in staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)


def test_reimporting_the_same_list_changes_nothing_and_a_new_year_updates(app, staff, two_schools):
    school = two_schools["a"]
    import_id, _ = upload(staff, roster_csv([ANNA, JAN]))
    import_all(app, staff, import_id)
    again, page = upload(staff, roster_csv([ANNA, JAN]))
    assert batch(app, school, again).summary == {"total": 2, "new": 0, "update": 0, "unchanged": 2, "invalid": 0}
    refused = staff.post(f"/szkola/import/{again}/importuj")
    assert refused.status_code == 422 and "nic do zaimportowania" in refused.get_data(as_text=True)
    # September: both moved up a class, a newcomer joined.
    moved = [row[:6] + ["2a"] for row in (ANNA, JAN)]
    ola = vulcan_row("Zielińska", "Ola", dt.date(2018, 1, 20), 13, "K", "2a")
    year, page = upload(staff, roster_csv(moved + [ola]))
    assert "klasa: 1a → 2a" in page
    assert batch(app, school, year).summary == {"total": 3, "new": 1, "update": 2, "unchanged": 0, "invalid": 0}
    import_all(app, staff, year)
    rows = pupils(app, school)
    assert [(p.surname, p.class_name) for p in rows] == [("Kowalska", "2a"), ("Nowak", "2a"), ("Zielińska", "2a")]
    assert rows[0].book_number == "12/2024"  # an empty cell keeps what the school knew


def test_every_row_error_is_reported_and_only_valid_rows_are_imported(app, staff, two_schools):
    school = two_schools["a"]
    first, _ = upload(staff, roster_csv([ANNA]))
    import_all(app, staff, first)
    bad_checksum = vulcan_row("Lis", "Ewa", dt.date(2018, 2, 2), 14, "K", "1b")
    bad_checksum[4] = bad_checksum[4][:-1] + str((int(bad_checksum[4][-1]) + 1) % 10)
    wrong_birth = vulcan_row("Wilk", "Adam", dt.date(2018, 2, 2), 15, "M", "1b")
    wrong_birth[3] = "03.02.2018"
    no_surname = vulcan_row("", "Igor", dt.date(2018, 5, 5), 16, "M", "1b")
    no_class = vulcan_row("Sowa", "Iga", dt.date(2018, 5, 6), 17, "K", "")
    repeated = list(JAN)
    twin = vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 99, "K", "1a")  # same person? other PESEL
    rows = [JAN, bad_checksum, wrong_birth, no_surname, no_class, repeated, twin]
    import_id, page = upload(staff, roster_csv(rows))
    report = {r["line"]: r for r in batch(app, school, import_id).report}
    assert report[2]["action"] == "new"
    assert "cyfrę kontrolną" in " ".join(report[3]["errors"])
    assert "nie zgadza się z datą" in " ".join(report[4]["errors"])
    assert "Brak nazwiska" in " ".join(report[5]["errors"])
    assert "Brak klasy" in " ".join(report[6]["errors"])
    assert "powtarza się w wierszu 2" in " ".join(report[7]["errors"])
    assert "innym numerem PESEL" in " ".join(report[8]["errors"])
    for line in (3, 4, 5, 6, 7, 8):
        assert report[line]["action"] == "invalid"
        assert f"<td>{line}</td>" in page
    assert not re.search(r"\d{11}", page)  # no PESEL on the report page
    import_all(app, staff, import_id)
    assert [p.surname for p in pupils(app, school)] == ["Kowalska", "Nowak"]


def test_an_unknown_layout_is_mapped_by_the_secretary(app, staff, two_schools):
    school = two_schools["a"]
    header = ["Lp.", "Uczeń – nazwisko", "Imiona ucznia", "Urodzony", "Nr PESEL", "Oddział klasy", "Kontakt"]
    born = dt.date(2017, 11, 30)
    data = roster_csv([["1", "Mazur", "Kinga Maria", "30.11.2017", make_pesel(born, 21, "K"), "2c",
                        "rodzic.mazur@example.pl"]], header=header, encoding="cp1250")
    import_id, page = upload(staff, data)
    assert batch(app, school, import_id).status in ("needs_mapping", "checked")
    mapping = {"surname": 1, "first_name": 2, "date_of_birth": 3, "pesel": 4, "class_name": 5, "parent_email": 6}
    response = staff.post(f"/szkola/import/{import_id}/kolumny", {k: str(v) for k, v in mapping.items()})
    assert response.status_code == 302
    assert batch(app, school, import_id).summary["new"] == 1
    both = staff.post(f"/szkola/import/{import_id}/kolumny", {"surname": "1", "first_name": "1", "class_name": "5",
                                                              "pesel": "4"})
    assert both.status_code == 422 and "jednocześnie" in both.get_data(as_text=True)
    staff.post(f"/szkola/import/{import_id}/kolumny", {k: str(v) for k, v in mapping.items()})
    import_all(app, staff, import_id)
    (kinga,) = pupils(app, school)
    assert (kinga.first_names, kinga.class_name, kinga.parent_email) == ("Kinga Maria", "2c",
                                                                         "rodzic.mazur@example.pl")


def test_pupils_without_pesel_come_in_with_another_document(app, staff, two_schools):
    school = two_schools["a"]
    header = ["Nazwisko", "Imię", "Drugie imię", "Data urodzenia", "PESEL", "Rodzaj dokumentu tożsamości",
              "Numer dokumentu tożsamości", "Numer w księdze uczniów", "Klasa (oddział)"]
    row = ["Shevchenko", "Olena", "", "12.04.2016", "", "paszport", "FA 123 4567", "40/2024", "3a"]
    import_id, _ = upload(staff, roster_csv([row], header=header))
    import_all(app, staff, import_id)
    again, _ = upload(staff, roster_csv([row[:8] + ["4a"]], header=header))
    assert batch(app, school, again).summary["update"] == 1  # matched by the document, not duplicated
    import_all(app, staff, again)
    (olena,) = pupils(app, school)
    assert olena.pesel_cipher is None and olena.id_document_type == "paszport" and olena.class_name == "4a"
    with app.app_context():
        assert services.pesel_cipher().decrypt(olena.id_document_cipher) == "FA1234567"


def test_a_failing_import_writes_nothing(app, staff, two_schools):
    school = two_schools["a"]
    import_id, _ = upload(staff, roster_csv([ANNA, JAN]))
    with app.app_context():
        services.storage().delete(batch(app, school, import_id).file_key)  # the file vanished meanwhile
    import_all(app, staff, import_id)
    failed = batch(app, school, import_id)
    assert failed.status == "failed" and "Nic nie zostało zapisane" in failed.error_message
    assert pupils(app, school) == []


@pytest.mark.parametrize(("data", "message"), [
    (b"%PDF-1.7 not a list", "PDF"),
    (b"", "Wybierz plik"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
])
def test_files_that_are_no_list_are_refused_plainly(staff, data, message):
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(data), "lista.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_thousands_of_rows_import_as_one_job_with_progress(app, staff, two_schools):
    school = two_schools["a"]
    rows = [vulcan_row(f"Uczeń{letters(i)}", "Test", dt.date(2015, 1, 1) + dt.timedelta(days=i % 700), i % 1000,
                       "KM"[i % 2], f"{1 + i % 8}{'abc'[i % 3]}") for i in range(1500)]
    import_id, page = upload(staff, roster_csv(rows))
    assert batch(app, school, import_id).summary["new"] == 1500
    import_all(app, staff, import_id)
    assert batch(app, school, import_id).status == "done"
    with app.app_context():
        assert progress.read("import", import_id) == (1500, 1500)
    with app.app_context(), tenant_scope(Tenant(school_id=school)):
        assert db.session.scalar(select(func.count()).select_from(Pupil)) == 1500


# Issue 13: hostile files, the mapping field, and the dry run agreeing with the import -------------


def post_file(staff, url: str, field: str, data: bytes, name: str):
    # Encoded here, in memory: the test client would spool a big body to a temporary file it never
    # closes (a ResourceWarning, an error under this suite's settings).
    boundary, body = encode_multipart({"csrf_token": staff.csrf(), field: FileStorage(io.BytesIO(data), name)})
    return staff.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def stored_files(storage_root) -> list:
    return sorted(p for p in storage_root.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", list(hostile.HOSTILE))
def test_a_hostile_list_is_refused_with_a_polish_message_and_nothing_is_kept(app, staff, two_schools, storage_root,
                                                                            name):
    files_before = stored_files(storage_root)
    data = hostile.build(name)
    response = post_file(staff, "/szkola/import/", "file", data, "lista.xlsx" if data[:2] == b"PK" else "lista.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:500]
    assert hostile.HOSTILE[name][1] in html.unescape(page)
    assert stored_files(storage_root) == files_before
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.scalar(select(func.count()).select_from(RosterImport)) == 0


def test_the_upload_keeps_the_table_as_read_and_mapping_and_import_use_it(app, staff, two_schools):
    school = two_schools["a"]
    import_id, _ = upload(staff, roster_csv([ANNA, JAN], encoding="cp1250"))
    with app.app_context():
        kept = services.storage().get(batch(app, school, import_id).file_key)
    assert is_dumped_table(kept) and ANNA[4].encode() in kept  # the rows as read, not the cp1250 upload
    import_all(app, staff, import_id)
    assert [p.surname for p in pupils(app, school)] == ["Kowalska", "Nowak"]


def test_an_upload_kept_as_the_file_itself_still_imports(app, staff, two_schools):
    """An import checked before this version kept the uploaded file; its job reads the file."""
    school = two_schools["a"]
    import_id, _ = upload(staff, roster_csv([ANNA, JAN]))
    with app.app_context():
        services.storage().put(batch(app, school, import_id).file_key, roster_csv([ANNA, JAN]), "text/csv")
    import_all(app, staff, import_id)
    assert batch(app, school, import_id).status == "done" and len(pupils(app, school)) == 2


OTHER_HEADER = ["Lp.", "Uczeń – nazwisko", "Imiona ucznia", "Urodzony", "Nr PESEL", "Oddział klasy", "Kontakt"]


@pytest.mark.parametrize("value", ["9" * 5000, "-1", "1e309", "NaN", "\x00", "3\x00", "²", "١", " 1", "1.0", "0x1",
                                   "99999", "9999"])
def test_the_mapping_field_takes_only_a_column_the_form_offers(app, staff, two_schools, value):
    school = two_schools["a"]
    born = dt.date(2017, 11, 30)
    data = roster_csv([["1", "Mazur", "Kinga", "30.11.2017", make_pesel(born, 21, "K"), "2c", ""]],
                      header=OTHER_HEADER)
    import_id, _ = upload(staff, data)
    before = batch(app, school, import_id)
    form = {"surname": "1", "first_name": "2", "date_of_birth": "3", "pesel": "4", "class_name": "5"}
    response = staff.post(f"/szkola/import/{import_id}/kolumny", form | {"address": value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:300]
    if value == "9999":  # a number, but of no column in the file
        assert "Kolumna wybrana dla pola „Adres zamieszkania” nie istnieje w pliku" in page
    elif "\x00" in value:  # refused at the door of every form (portal.input_guard) before the view
        assert "Niedozwolone znaki w formularzu" in page
    else:
        assert "Kolumna wybrana dla pola „Adres zamieszkania” jest nieprawidłowa" in page
    after = batch(app, school, import_id)
    assert (after.mapping, after.status, after.summary) == (before.mapping, before.status, before.summary)
    assert staff.post(f"/szkola/import/{import_id}/kolumny", form).status_code == 302


DOCUMENT_HEADER = ["Nazwisko", "Imię", "Drugie imię", "Data urodzenia", "PESEL", "Rodzaj dokumentu tożsamości",
                   "Numer dokumentu tożsamości", "Numer w księdze uczniów", "Klasa (oddział)"]


def test_one_document_number_under_two_types_is_a_row_error_in_the_dry_run_and_the_rest_imports(app, staff,
                                                                                                two_schools):
    """The attacker's case: the dry run said 3 new rows, the import failed with "Błąd wewnętrzny".
    The register keeps a document number once whatever its type, so the second row is refused in the
    dry run, with its line, and everything the dry run accepts imports."""
    school = two_schools["a"]
    rows = [["Shevchenko", "Olena", "", "12.04.2016", "", "paszport", "FA1234567", "", "3a"],
            ["Shevchenko", "Oksana", "", "12.04.2017", "", "karta pobytu", "fa 123 4567", "", "2a"],
            ["Bondar", "Iryna", "", "01.02.2016", "", "paszport", "FB7654321", "", "3a"]]
    import_id, page = upload(staff, roster_csv(rows, header=DOCUMENT_HEADER))
    checked = batch(app, school, import_id)
    assert checked.summary == {"total": 3, "new": 2, "update": 0, "unchanged": 0, "invalid": 1}
    (bad,) = [r for r in checked.report if r["action"] == "invalid"]
    assert bad["line"] == 3 and "Ten sam numer dokumentu tożsamości powtarza się w wierszu 2" in bad["errors"][0]
    assert "Importuj 2 poprawnych wierszy" in page
    import_all(app, staff, import_id)
    done = batch(app, school, import_id)
    assert done.status == "done" and done.error_message == ""
    assert sorted(p.first_names for p in pupils(app, school)) == ["Iryna", "Olena"]
    # The same number under another type later is the same pupil: an update of the type, no conflict.
    again, _ = upload(staff, roster_csv([rows[0][:5] + ["karta pobytu"] + rows[0][6:]], header=DOCUMENT_HEADER))
    assert batch(app, school, again).summary["update"] == 1
    import_all(app, staff, again)
    assert {p.first_names: p.id_document_type for p in pupils(app, school)}["Olena"] == "karta pobytu"


def test_a_pupil_saved_while_the_import_writes_gives_a_polish_message_not_an_internal_error(app, staff, two_schools):
    """The import plans against the register as it is, then writes; a pupil with the same PESEL
    saved by someone else in between makes the unique index refuse the row. The import then says so
    in Polish and writes nothing. Here the other user's transaction (in a thread) really holds the
    PESEL, added and not yet committed, while the job runs, and commits once the job waits for it."""
    import threading
    import time

    from sqlalchemy import text

    from tenants.pupils.operations import PupilDetails
    from tenants.pupils.operations import add_pupil
    from tenants.tenancy.actors import Actor

    school = two_schools["a"]
    import_id, _ = upload(staff, roster_csv([ANNA, JAN]))
    assert staff.post(f"/szkola/import/{import_id}/importuj").status_code == 302
    secretary = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school)
    holding = threading.Event()
    outcome: list[str] = []

    def other_user():
        with app.app_context(), tenant_scope(Tenant(school_id=school)):
            add_pupil(secretary, PupilDetails(first_names="Anna", surname="Kowalska",
                                              date_of_birth=dt.date(2018, 3, 4), pesel=ANNA[4], class_name="1a"))
            db.session.flush()  # the row and its PESEL index entry exist, not yet committed
            holding.set()
            for _ in range(600):  # until the import's INSERT waits for this transaction
                if db.session.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                    outcome.append("the import waited")
                    break
                time.sleep(0.05)
            db.session.commit()

    thread = threading.Thread(target=other_user)
    thread.start()
    assert holding.wait(30)
    run_jobs(app)  # rq's worker wants the main thread
    thread.join(30)
    assert outcome == ["the import waited"]
    failed = batch(app, school, import_id)
    assert failed.status == "failed", failed.error_message
    assert "ktoś zapisał w ewidencji ucznia z tym samym numerem PESEL" in failed.error_message
    assert "Błąd wewnętrzny" not in failed.error_message
    assert [p.first_names for p in pupils(app, school)] == ["Anna"]  # the other user's pupil; none of the file's


def test_a_queued_import_whose_job_was_lost_is_sent_again_and_gives_up_after_too_many_sends(app, staff, two_schools,
                                                                                         redis):
    """Redis lost the job before any worker took the import: it does not stay "w kolejce" for ever.
    The reconciler sends it again at once (a new job id); an import sent `MAX_SENDS` times without a
    result fails with its reason, and its list (it holds PESELs) is deleted."""
    from sqlalchemy import update

    from infra import jobs
    from tenants.roster import jobs as import_jobs

    school = two_schools["a"]
    import_id, _page = upload(staff, roster_csv([ANNA, JAN]))
    assert staff.post(f"/szkola/import/{import_id}/importuj").status_code == 302  # queued; no worker runs it
    queued = batch(app, school, import_id)
    assert queued.status == "queued" and queued.sends == 1 and queued.file_key
    assert redis.exists(f"rq:job:import-{import_id}-1")
    with app.app_context():
        assert import_jobs.reconcile_imports() == 0  # its job waits in the queue: left alone
    redis.flushdb()
    with app.app_context():
        assert import_jobs.reconcile_imports() == 1
    assert batch(app, school, import_id).sends == 2 and redis.exists(f"rq:job:import-{import_id}-2")
    # Lost again and again: given up after the last send, with the reason, the list deleted.
    with app.app_context(), tenant_scope(Tenant(school_id=school)):
        db.session.execute(update(RosterImport).where(RosterImport.id == import_id).values(sends=jobs.MAX_SENDS))
        db.session.commit()
    redis.flushdb()
    with app.app_context():
        assert import_jobs.reconcile_imports() == 1
    failed = batch(app, school, import_id)
    assert failed.status == "failed" and failed.file_key is None and failed.error_message == import_jobs.GAVE_UP
    with app.app_context(), pytest.raises(NotFound):
        services.storage().get(queued.file_key)
    assert "kilka razy został przerwany" in staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)
