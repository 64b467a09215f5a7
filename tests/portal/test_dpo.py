"""The data protection officer (docs/dpo.md): the two answers equal the truth read by plain SQL as
the PostgreSQL superuser (past every policy), their exports hold the same rows, another city's
officer gets 404 and sees none of it, a school's officer sees only that school, the PESEL never
appears in a URL or a log, every answer writes the officer's rows, and the officer only reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy import text

from infra import clock
from infra import inputs
from infra.db import db
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.tenancy import officer
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import log_access
from tenants.tenancy.scoping import TenantViolation
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.portal.test_isolation import others  # noqa: F401 (the fixture)
from tests.portal.test_isolation import school_b  # noqa: F401 (the fixture)
from tests.portal.test_isolation import truth  # noqa: F401 (the fixture)
from tests.portal.test_transfers import BORN
from tests.portal.test_transfers import city  # noqa: F401 (the fixture)
from tests.portal.test_transfers import superuser  # noqa: F401 (the fixture)

ZOFIA_PESEL = make_pesel(BORN, 301, "K")  # tests.portal.test_transfers.city's Zofia


def _day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _bounds(start: dt.date, end: dt.date):
    zone = clock.zone()
    return dt.datetime.combine(start, dt.time(), zone), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)


@pytest.fixture
def served(app, world, city, browser):  # noqa: F811
    """City C's schools A, B, C and another city's D, each with a card ordered from a printer:
    A's Zofia (P1, first downloaded today) and Adam (no card); B's Bartek (P1, first downloaded
    40 days ago, fetched again today — a log row of P1); C's Celina (P3, downloaded today); D's Dorota
    (P4 of the other city). Officers: the city's, school B's, and the other city's. School A's
    secretary has opened Zofia's page; P1 fetched B's order today."""
    ids = dict(city)
    ids["p3"] = world.printer([city["city"]], "Drukarnia Trzecia")
    with app.app_context():
        ids["city_d"] = db.session.get(Organisation, city["d"]).city_id
    ids["p4"] = world.printer([ids["city_d"]], "Drukarnia Innego Miasta")
    world.user("iod@test.pl", city["city"], "data_protection_officer")
    world.user("iod.b@test.pl", city["b"], "data_protection_officer")
    world.user("iod.inne@test.pl", ids["city_d"], "data_protection_officer")
    director_d = world.user("dyrektor.d@test.pl", city["d"], "school_director")
    now = clock.utcnow()

    def order(school_id, director_id, printer_id, first, surname, serial, downloaded_at):
        actor = Actor(user_id=director_id, role="school_director", organisation_id=school_id)
        with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
            school = db.session.get(Organisation, school_id)
            pupil = add_pupil(actor, first=first, surname=surname, born=BORN, serial=serial, class_name="2a")
            (card,) = handed_over_cards(actor, school, printer_id, [pupil])
            db.session.execute(text("UPDATE print_orders SET downloaded_at = :at WHERE id = :id"),
                               {"at": downloaded_at, "id": card.order_id})
            db.session.commit()
            return pupil.id, card.order_id

    with app.app_context(), tenant_scope(Tenant(school_id=city["a"])):
        zofia_order = db.session.execute(text("SELECT order_id FROM cards WHERE id = :id"),
                                         {"id": city["card"]}).scalar_one()
        db.session.execute(text("UPDATE print_orders SET downloaded_at = :at WHERE id = :id"),
                           {"at": now, "id": zofia_order})
        db.session.commit()
    ids["zofia_order"] = zofia_order
    ids["bartek"], ids["bartek_order"] = order(city["b"], city["director_b"], city["p1"], "Bartek", "Bejski", 311,
                                               now - dt.timedelta(days=40))
    director_c = world.user("dyrektor.c@test.pl", city["c"], "school_director")
    ids["celina"], ids["celina_order"] = order(city["c"], director_c, ids["p3"], "Celina", "Cewska", 312, now)
    ids["dorota"], ids["dorota_order"] = order(city["d"], director_d, ids["p4"], "Dorota", "Dalska", 313, now)
    # P1 fetches B's order again today (the printer's own row, as portal.printer.views writes it).
    with app.app_context(), tenant_scope(Tenant(printer_id=city["p1"])):
        log_access(Actor(user_id=None, role="printer_operator", organisation_id=city["p1"], client="cli-1"),
                   "batch_download", school_id=city["b"], order_id=ids["bartek_order"])
        log_access(Actor(user_id=None, role="printer_operator", organisation_id=city["p1"]),
                   "batch_download", school_id=city["a"], order_id=zofia_order)
        db.session.commit()
    assert browser("sekretariat.a@test.pl").get(f"/szkola/uczniowie/{city['zofia']}").status_code == 200
    return ids


def who_saw_truth(superuser, school_id, pupil_id, start, end) -> list[int]:  # noqa: F811
    low, high = _bounds(start, end)
    with superuser.connect() as conn:
        return list(conn.execute(text("""
            SELECT id FROM access_log
            WHERE school_id = :s AND ts >= :low AND ts < :high AND (pupil_id = :p OR (pupil_id IS NULL AND order_id IN (
                SELECT order_id FROM cards WHERE school_id = :s AND pupil_id = :p AND order_id IS NOT NULL
                UNION SELECT oi.order_id FROM order_items oi
                      JOIN cards c ON c.id = oi.card_id AND c.school_id = oi.school_id
                      WHERE oi.school_id = :s AND c.pupil_id = :p)))
            ORDER BY ts, id"""), {"s": school_id, "p": pupil_id, "low": low, "high": high}).scalars())


def printer_truth(superuser, city_id, printer_id, start, end) -> list[tuple]:  # noqa: F811
    low, high = _bounds(start, end)
    with superuser.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text("""
            WITH fetched AS (
                SELECT order_id, school_id FROM access_log
                WHERE actor_organisation_id = :p AND action IN ('batch_download', 'batch_link') AND result = 'ok'
                  AND order_id IS NOT NULL AND ts >= :low AND ts < :high
                UNION SELECT id, school_id FROM print_orders
                WHERE printer_id = :p AND downloaded_at >= :low AND downloaded_at < :high)
            SELECT DISTINCT p.first_names || ' ' || p.surname, s.name, oi.order_id
            FROM fetched f
            JOIN organisations s ON s.id = f.school_id
            JOIN order_items oi ON oi.order_id = f.order_id AND oi.school_id = f.school_id
            JOIN cards c ON c.id = oi.card_id AND c.school_id = oi.school_id
            JOIN pupils p ON p.id = c.pupil_id AND p.school_id = c.school_id
            WHERE s.city_id = :city"""), {"p": printer_id, "city": city_id, "low": low, "high": high}))


def table_rows(html: str) -> list[list[str]]:
    """The cells of each body row of the page's report table."""
    body = html.split('<table class="table report-table">', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells and 'class="muted"' not in row:
            rows.append([c.strip() for c in cells])
    return rows


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1:]


def xlsx_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(values) if r and r[0] in ("Wpis dziennika", "Uczeń"))
    return values[header + 1:]


def dpo_rows(superuser, action):  # noqa: F811
    with superuser.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT school_id, pupil_id, order_id, actor_role, chain, detail FROM access_log WHERE action = :a "
            "ORDER BY id"), {"a": action})]


def test_who_saw_the_child_equals_the_sql_truth(app, served, browser, superuser):  # noqa: F811
    iod = browser("iod@test.pl")
    today = clock.today()
    start, end = today - dt.timedelta(days=7), today
    url = f"/iod/szkola/{served['a']}/uczen/{served['zofia']}?od={_day(start)}&do={_day(end)}"
    expected = who_saw_truth(superuser, served["a"], served["zofia"], start, end)
    page = iod.get(url)
    assert page.status_code == 200
    shown = [int(r[0]) for r in table_rows(page.text)]
    assert shown == expected
    with superuser.connect() as conn:
        actions = [conn.execute(text("SELECT action, actor_organisation_id FROM access_log WHERE id = :i"),
                                {"i": i}).one() for i in expected]
    # The secretary's view, the batch built for the card (one row per card), P1's download of the order.
    assert ("batch_download", served["p1"]) in actions
    assert ("pupil_view", served["a"]) in actions
    assert all(org != served["d"] for _, org in actions)
    rows = table_rows(page.text)  # the actions by their Polish names, never their codes
    assert {"dane ucznia (podgląd)", "pobranie paczki przez drukarnię"} <= {r[5] for r in rows}
    assert not {"pupil_view", "batch_download", "ok"} & {cell for r in rows for cell in r}
    # The officer's own row: after the answer was read, in school A's chain.
    assert dpo_rows(superuser, "dpo_access_report") == [
        (served["a"], served["zofia"], None, "data_protection_officer", f"school:{served['a']}",
         f"from={start.isoformat()} to={end.isoformat()} rows={len(expected)}")]
    # Exports: the same rows (expected now includes the officer's report row too).
    for fmt, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        expected = who_saw_truth(superuser, served["a"], served["zofia"], start, end)
        export = iod.get(url + f"&format={fmt}")
        assert export.status_code == 200 and export.headers["Cache-Control"] == "no-store"
        assert [int(r[0]) for r in read(export.data)] == expected
        assert "Zofia" not in export.headers["Content-Disposition"]
    assert len(dpo_rows(superuser, "dpo_access_export")) == 2
    # A period without any row: empty, and the expected agrees.
    old = f"/iod/szkola/{served['a']}/uczen/{served['zofia']}?od=01.01.2025&do=31.01.2025"
    assert table_rows(iod.get(old).text) == [] == who_saw_truth(superuser, served["a"], served["zofia"],
                                                                dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    # Bad dates: a Polish message and a 4xx, never a 500.
    bad = iod.get(f"/iod/szkola/{served['a']}/uczen/{served['zofia']}?od=31.02.2026")
    assert bad.status_code == 422 and "dd.mm.rrrr" in bad.text
    backwards = iod.get(f"/iod/szkola/{served['a']}/uczen/{served['zofia']}?od=02.02.2026&do=01.02.2026")
    assert backwards.status_code == 422 and "Początek okresu" in backwards.text
    assert iod.get(url + "&format=pdf").status_code == 404


def test_what_a_printer_received_equals_the_sql_truth(app, served, browser, superuser):  # noqa: F811
    iod = browser("iod@test.pl")
    today = clock.today()
    start, end = today - dt.timedelta(days=7), today
    for printer in ("p1", "p2", "p3"):
        url = f"/iod/drukarnie?drukarnia={served[printer]}&od={_day(start)}&do={_day(end)}"
        expected = printer_truth(superuser, served["city"], served[printer], start, end)
        page = iod.get(url)
        assert page.status_code == 200
        shown = sorted((r[0], r[1], int(r[3])) for r in table_rows(page.text))
        assert shown == expected, printer
        for fmt, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
            export = iod.get(url + f"&format={fmt}")
            assert sorted((r[0], r[1], int(r[3])) for r in read(export.data)) == expected
    p1 = printer_truth(superuser, served["city"], served["p1"], start, end)
    # Zofia (first download today) and Bartek (first download 40 days ago, fetched again today).
    assert {name for name, _school, _order in p1} == {"Zofia Przenoszona", "Bartek Bejski"}
    assert {name for name, _s, _o in printer_truth(superuser, served["city"], served["p3"], start, end)} == \
        {"Celina Cewska"}
    page = iod.get(f"/iod/drukarnie?drukarnia={served['p1']}&od={_day(start)}&do={_day(end)}").text
    assert "*******" + ZOFIA_PESEL[-4:] in page and ZOFIA_PESEL not in page
    # A period that ends before Bartek's first download and starts after it: only the re-download counts.
    long_ago = today - dt.timedelta(days=40)
    only_first = printer_truth(superuser, served["city"], served["p1"], long_ago, long_ago)
    assert [n for n, _s, _o in only_first] == ["Bartek Bejski"]
    # One officer's row per pupil and order shown, in the pupil's school's chain.
    shown_rows = dpo_rows(superuser, "dpo_printer_report")
    assert (served["a"], served["zofia"], served["zofia_order"], "data_protection_officer", f"school:{served['a']}",
            f"printer={served['p1']}") in shown_rows
    assert all(r[0] != served["d"] for r in shown_rows)
    assert iod.get("/iod/drukarnie?drukarnia=abc").status_code == 422
    assert iod.get(f"/iod/drukarnie?drukarnia={served['a']}").status_code == 404  # a school is no printer


def test_another_citys_officer_gets_404_and_sees_nothing(app, served, browser, superuser):  # noqa: F811
    other = browser("iod.inne@test.pl")
    for school, pupil in (("a", "zofia"), ("b", "bartek"), ("c", "celina")):
        response = other.get(f"/iod/szkola/{served[school]}/uczen/{served[pupil]}")
        assert response.status_code == 404
        assert "Przenoszona" not in response.text and "Bejski" not in response.text
    # Its own school's pupil is served.
    assert other.get(f"/iod/szkola/{served['d']}/uczen/{served['dorota']}").status_code == 200
    found = other.post("/iod/uczen", {"pesel": ZOFIA_PESEL})
    assert found.status_code == 200 and "Przenoszona" not in found.text
    assert "Przenoszona" not in other.post("/iod/uczen", {"name": "Przen"}).text
    page = other.get(f"/iod/drukarnie?drukarnia={served['p1']}").text
    assert "Przenoszona" not in page and "Bejski" not in page
    for path in ("/iod/umowy", "/iod/retencja", "/iod/"):
        text_ = other.get(path).text
        assert "Szkoła Podstawowa nr 1" not in text_ and "Szkoła Podstawowa nr 2" not in text_
    chains = other.post("/iod/dziennik").text
    assert f"school:{served['a']}" not in chains and f"school:{served['d']}" in chains
    # The refusals are in the other officer's own chain, and nothing of city C's schools was logged by it.
    with superuser.connect() as conn:
        rows = conn.execute(text("SELECT school_id, result, chain FROM access_log WHERE actor_organisation_id = :o"),
                            {"o": served["city_d"]}).all()
    assert {r.chain for r in rows if r.result == "denied"} == {f"city:{served['city_d']}"}
    assert not [r for r in rows if r.school_id in (served["a"], served["b"], served["c"])]


def test_a_school_officer_sees_only_that_school(app, served, browser):
    iod_b = browser("iod.b@test.pl")
    assert iod_b.get(f"/iod/szkola/{served['a']}/uczen/{served['zofia']}").status_code == 404
    assert iod_b.get(f"/iod/szkola/{served['b']}/uczen/{served['bartek']}").status_code == 200
    assert "Przenoszona" not in iod_b.post("/iod/uczen", {"pesel": ZOFIA_PESEL}).text
    found = iod_b.post("/iod/uczen", {"name": "Bejs"}).text
    assert "Bartek Bejski" in found
    for full in ("Bartek Bejski", "Bejski Bartek", "bejski  BART"):  # every word, any order (the school lists
        assert "Bartek Bejski" in iod_b.post("/iod/uczen", {"name": full}).text, full  # surname first)
    assert "Bartek Bejski" not in iod_b.post("/iod/uczen", {"name": "Bejski Zofia"}).text
    page = iod_b.get(f"/iod/drukarnie?drukarnia={served['p1']}").text
    assert "Bartek Bejski" in page and "Zofia Przenoszona" not in page
    assert "Szkoła Podstawowa nr 1" not in iod_b.get("/iod/umowy").text


def test_the_pesel_is_never_in_a_url_or_a_log(app, served, browser, superuser, caplog):  # noqa: F811
    iod = browser("iod@test.pl")
    form = iod.get("/iod/uczen").text
    assert 'method="post"' in form
    with caplog.at_level(logging.DEBUG):
        found = iod.post("/iod/uczen", {"pesel": ZOFIA_PESEL})
    assert found.status_code == 200 and "Zofia Przenoszona" in found.text
    assert ZOFIA_PESEL not in found.text  # not echoed back either
    links = re.findall(r'href="([^"]+)"', found.text)
    assert f"/iod/szkola/{served['a']}/uczen/{served['zofia']}" in links
    assert not [link for link in links if ZOFIA_PESEL in link]
    assert ZOFIA_PESEL not in caplog.text
    with superuser.connect() as conn:
        logged = conn.execute(text("SELECT detail, endpoint FROM access_log WHERE action = 'dpo_pupil_search'")).all()
    assert logged == [(f"pupils={served['zofia']}", "dpo.find_pupil")]
    assert iod.post("/iod/uczen", {"pesel": "123"}).status_code == 422
    assert iod.post("/iod/uczen", {}).status_code == 422
    # A PESEL in a query string is not read: the search is POST only.
    assert "Zofia" not in iod.get(f"/iod/uczen?pesel={ZOFIA_PESEL}").text


def test_the_officer_reads_only(app, served, browser):
    iod = browser("iod@test.pl")
    for url in ("/szkola/", "/szkola/uczniowie", f"/szkola/uczniowie/{served['zofia']}",
                f"/szkola/uczniowie/{served['zofia']}/edycja", "/miasto/"):
        assert iod.get(url).status_code == 404, url
    edit = {"first_names": "Zofia", "surname": "Zmieniona", "date_of_birth": "01.06.2018", "class_name": "4b",
            "learner_type": "pupil", "status": "active"}
    assert iod.post(f"/szkola/uczniowie/{served['zofia']}/edycja", edit).status_code == 404
    # The switch itself refuses a write, whatever code runs inside it.
    with app.app_context(), tenant_scope(Tenant(city_id=served["city"])):
        city_org = db.session.get(Organisation, served["city"])
        with pytest.raises(TenantViolation), officer.reading_school(city_org, served["a"]):
            pupil = db.session.scalar(select(Pupil).where(Pupil.id == served["zofia"]))
            pupil.surname = "Zmieniona"
            db.session.flush()
        db.session.rollback()
        with pytest.raises(LookupError), officer.reading_school(city_org, served["d"]):
            pass
    with app.app_context(), tenant_scope(Tenant(school_id=served["a"])):
        assert db.session.get(Pupil, served["zofia"]).surname == "Przenoszona"


def test_registers_agreements_retention_and_the_chain_check(app, served, browser, superuser):  # noqa: F811
    iod = browser("iod@test.pl")
    today = clock.today()
    # School C's agreement with P3 lapses in 10 days; school B's with P1 lapsed yesterday (B ordered from P1).
    with superuser.begin() as conn:
        conn.execute(text("UPDATE processing_agreements SET valid_until = :d WHERE school_id = :s AND printer_id = :p"),
                     {"d": today + dt.timedelta(days=10), "s": served["c"], "p": served["p3"]})
        conn.execute(text("UPDATE processing_agreements SET valid_until = :d WHERE school_id = :s AND printer_id = :p"),
                     {"d": today - dt.timedelta(days=1), "s": served["b"], "p": served["p1"]})
        # Zofia's order was delivered 9 days ago: P1's confirmation is overdue (domain.md §23).
        conn.execute(text("UPDATE print_orders SET delivered_at = :at, purge_after = :purge WHERE id = :id"),
                     {"at": clock.utcnow() - dt.timedelta(days=9), "purge": clock.utcnow() - dt.timedelta(days=2),
                      "id": served["zofia_order"]})
    page = iod.get("/iod/umowy").text
    assert "wygasa za 10 dni" in page and "wygasła" in page
    warnings = page.split("Zamówienia u drukarni bez ważnej umowy")[1].split("<h2>")[0]
    assert "Szkoła Podstawowa nr 2" in warnings and "Drukarnia Pierwsza" in warnings
    assert "Szkoła Podstawowa nr 1" not in warnings
    retention = iod.get("/iod/retencja").text
    assert "7 dni od potwierdzenia dostawy" in retention
    assert "brak potwierdzenia usunięcia — 2 dni po terminie" in retention
    # nothing has purged that order's files (no worker ran): Legitka's own deletion is overdue, said so
    assert "zaległe: miało być usunięte" in retention
    # The chain check: every served school OK, then a row of A's altered by the superuser is named.
    assert iod.get("/iod/dziennik").status_code == 200
    checked = iod.post("/iod/dziennik").text
    assert checked.count("NARUSZONY") == 0 and f"school:{served['a']}" in checked
    with superuser.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        row_id = conn.execute(text("SELECT id FROM access_log WHERE chain = :c AND chain_seq = 1"),
                              {"c": f"school:{served['a']}"}).scalar_one()
        conn.execute(text("UPDATE access_log SET detail = 'forged' WHERE id = :i"), {"i": row_id})
    broken = iod.post("/iod/dziennik").text
    assert broken.count("NARUSZONY") == 1 and f"id {row_id}" in broken


def test_every_officer_url_with_another_citys_school_is_a_404(app, world, two_schools, others, truth,  # noqa: F811
                                                               browser):
    """The isolation walk (tests/portal/test_isolation.py) for the officer's audience: every route
    with a path argument, filled with another city's school, answers 404 and changes nothing."""
    from tests.portal.test_isolation import rows
    from tests.portal.test_isolation import walk

    world.user("iod.walk@test.pl", two_schools["city"], "data_protection_officer")
    iod = browser("iod.walk@test.pl")
    before = rows(truth)
    requests = list(walk(app, "dpo", others))
    assert requests
    for endpoint, method, url in requests:
        response = iod.post(url) if method == "POST" else iod.get(url)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert "Tajna" not in response.text and "Drugim" not in response.text
    assert rows(truth) == before
    # The same pupil through its own (served) school is answered.
    assert iod.get(f"/iod/szkola/{two_schools['b']}/uczen/{others['pupil']}").status_code == 200


def test_exports_keep_hostile_names_as_text(app, served, browser, superuser):  # noqa: F811
    """A school or printer named like a formula stays text in both answers' CSV and XLSX (the
    project's exports, infra.spreadsheets), as tests/portal/test_spreadsheet_exports.py shows for the others."""
    from tests.portal.test_spreadsheet_exports import HOSTILE
    from tests.portal.test_spreadsheet_exports import csv_rows as safe_csv_rows
    from tests.portal.test_spreadsheet_exports import xlsx_texts

    with superuser.begin() as conn:
        conn.execute(text("UPDATE organisations SET name = :n WHERE id = :i"), {"n": HOSTILE[0], "i": served["p1"]})
        conn.execute(text("UPDATE organisations SET name = :n WHERE id = :i"), {"n": "-2+3", "i": served["a"]})
    iod = browser("iod@test.pl")
    for url in (f"/iod/szkola/{served['a']}/uczen/{served['zofia']}", f"/iod/drukarnie?drukarnia={served['p1']}"):
        joiner = "&" if "?" in url else "?"
        rows = safe_csv_rows(iod.get(url + joiner + "format=csv").data)
        assert any(HOSTILE[0] in field or "-2+3" in field for row in rows for field in row)
        texts = xlsx_texts(iod.get(url + joiner + "format=xlsx").data)
        assert any(HOSTILE[0] in t or "-2+3" in t for t in texts)


def test_the_officer_reads_the_schools_breach_registers_and_records_of_processing(app, served, browser):
    """The city's officer reads every served school's breach register, with the 72-hour clock, and
    each school's records of processing (page and PDF); the other city's officer gets 404 for them
    and school B's officer sees B's only (docs/dpo.md, docs/privacy-registers.md)."""
    from tenants.privacy import breaches

    discovered = clock.now() - dt.timedelta(hours=80)  # undecided, past its 72 hours
    director_a = Actor(user_id=served["director_a"], role="school_director", organisation_id=served["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=served["a"])):
        breach = breaches.record(director_a, {
            "discovered_on": inputs.format_day(discovered.date()), "discovered_time": f"{discovered:%H:%M}",
            "description": "Zgubiony pendrive z listą klasy 2a"})
        db.session.commit()
        breach_id = breach.id
    iod = browser("iod@test.pl")
    page = iod.get("/iod/naruszenia")
    assert page.status_code == 200 and "Zgubiony pendrive z listą klasy 2a" in page.text
    assert "po terminie" in page.text and "Szkoła Podstawowa nr 1" in page.text
    one = iod.get(f"/iod/szkola/{served['a']}/naruszenia/{breach_id}")
    assert one.status_code == 200 and "Historia wpisu" in one.text and "Zapisz nową wersję" not in one.text
    record = iod.get(f"/iod/szkola/{served['a']}/rejestr-czynnosci")
    assert record.status_code == 200 and "Drukarnia Pierwsza" in record.text
    pdf = iod.get(f"/iod/szkola/{served['a']}/rejestr-czynnosci?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert str(served["a"]) in iod.get("/iod/rejestr-czynnosci").text
    other = browser("iod.inne@test.pl")
    assert "Zgubiony pendrive" not in other.get("/iod/naruszenia").text
    assert other.get(f"/iod/szkola/{served['a']}/naruszenia/{breach_id}").status_code == 404
    assert other.get(f"/iod/szkola/{served['a']}/rejestr-czynnosci").status_code == 404
    iod_b = browser("iod.b@test.pl")
    assert "Zgubiony pendrive" not in iod_b.get("/iod/naruszenia").text
    assert iod_b.get(f"/iod/szkola/{served['a']}/naruszenia/{breach_id}").status_code == 404
    assert iod_b.get(f"/iod/szkola/{served['b']}/naruszenia/{breach_id}").status_code == 404  # not B's breach
