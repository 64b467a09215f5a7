"""Sign-in, sessions, headers, CSRF, errors and bad input in the portal (T2.1–T2.9, T3.4)."""

from __future__ import annotations

import datetime as dt
import io
import logging

from sqlalchemy import update

from infra.db import db
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession
from tests.helpers import pupil_form
from tests.helpers import ui_pupil_with_photo


def test_passwords_are_argon2id_with_asvs_parameters(app, two_schools):
    from tenants.tenancy.passwords import hash_password

    value = hash_password("jakies-dlugie-haslo")
    assert value.startswith("$argon2id$v=19$")
    params = dict(p.split("=") for p in value.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2


def test_wrong_password_and_unknown_user_get_the_same_polish_answer(browser, two_schools):
    client = browser()
    wrong = client.login("dyrektor.a@test.pl", "zle-haslo-123")
    unknown = client.login("nikt@test.pl", "zle-haslo-123")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Nieprawidłowy e-mail lub hasło." in response.get_data(as_text=True)


def test_sign_out_ends_the_session_on_the_server(app, browser, two_schools):
    user = browser("dyrektor.a@test.pl")
    cookie = user.client.get_cookie("legitka")
    assert user.get("/szkola/").status_code == 200
    assert user.post("/wyloguj").status_code == 302
    # Replaying the old cookie does not bring the session back.
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value)
    response = replay.get("/szkola/")
    assert response.status_code == 302 and "/logowanie" in response.headers["Location"]


def test_idle_session_expires(app, browser, two_schools):
    user = browser("dyrektor.a@test.pl")
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
        db.session.commit()
    assert user.get("/szkola/").status_code == 302


def test_disabled_user_is_out_at_the_next_request(app, browser, two_schools):
    user = browser("dyrektor.a@test.pl")
    with app.app_context():
        db.session.execute(update(User).where(User.email == "dyrektor.a@test.pl").values(is_active=False))
        db.session.commit()
    assert user.get("/szkola/").status_code == 302


def test_security_headers_on_pages(browser, two_schools):
    user = browser("sekretariat.a@test.pl")
    pupil_id = ui_pupil_with_photo(user)
    for url in ("/logowanie", "/szkola/", f"/szkola/uczniowie/{pupil_id}", "/szkola/nie-ma-takiej"):
        headers = user.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "base-uri 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert headers["Cache-Control"].startswith("no-store")
    photo = user.get(f"/szkola/uczniowie/{pupil_id}/zdjecie.jpg")
    assert photo.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert photo.headers["Content-Disposition"] == 'inline; filename="photo.jpg"'


def test_templates_carry_no_inline_script_or_style(app):
    import pathlib
    import re

    for path in pathlib.Path(app.root_path, "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert "<style" not in text and " style=" not in text and " on" + "click=" not in text, path


def test_forms_without_csrf_token_are_refused(browser, two_schools):
    user = browser("sekretariat.a@test.pl")
    response = user.client.post("/szkola/uczniowie/nowy", data=pupil_form())
    assert response.status_code == 400 and "Formularz wygasł" in response.get_data(as_text=True)


def test_invalid_pupil_data_is_explained_and_nothing_is_saved(browser, two_schools):
    user = browser("sekretariat.a@test.pl")
    cases = [
        (pupil_form(pesel="87061302072"), "cyfrę kontrolną"),
        (pupil_form(date_of_birth="14.03.2018"), "Data urodzenia nie zgadza"),
        (pupil_form(parent_email="rodzic@"), "e-mail rodzica"),
        (pupil_form(pesel="", id_document_number="AB123"), "innego dokumentu"),
        (pupil_form(date_of_birth="2019-13-45"), "dd.mm.rrrr"),
        (pupil_form(first_names="  "), "imię i nazwisko"),
    ]
    for form, message in cases:
        response = user.post("/szkola/uczniowie/nowy", form)
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and message in body, (form, body[:300])
        assert not form["pesel"] or form["pesel"] not in body  # the number is not echoed back into the page
    assert "Nie znaleziono uczniów" in user.get("/szkola/uczniowie").get_data(as_text=True)
    assert user.post("/szkola/uczniowie/nowy", pupil_form()).status_code == 302
    duplicate = user.post("/szkola/uczniowie/nowy", pupil_form(first="Inna"))
    assert duplicate.status_code == 422 and "już w ewidencji" in duplicate.get_data(as_text=True)


def test_bad_photo_upload_gets_a_reason_and_keeps_the_old_photo(browser, two_schools):
    user = browser("sekretariat.a@test.pl")
    pupil_id = ui_pupil_with_photo(user)
    before = user.get(f"/szkola/uczniowie/{pupil_id}/zdjecie.jpg").data
    response = user.post(f"/szkola/uczniowie/{pupil_id}/zdjecie", {"photo": (io.BytesIO(b"%PDF-1.4 fake"), "a.jpg")},
                         content_type="multipart/form-data")
    assert response.status_code == 422 and "nie jest zdjęciem" in response.get_data(as_text=True)
    assert user.get(f"/szkola/uczniowie/{pupil_id}/zdjecie.jpg").data == before


def test_refused_actions_answer_422_with_the_reason(browser, two_schools):
    director = browser("dyrektor.a@test.pl")
    response = director.post("/szkola/uczniowie/nowy", pupil_form())
    pupil_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert director.post(f"/szkola/uczniowie/{pupil_id}/wnioski").status_code == 302
    again = director.post(f"/szkola/uczniowie/{pupil_id}/wnioski")
    assert again.status_code == 422 and "otwarty wniosek" in again.get_data(as_text=True)
    new_order = director.post("/szkola/zamowienia/nowe", {"channel": two_schools["p1"]})
    assert new_order.status_code == 422 and "co najmniej jeden" in new_order.get_data(as_text=True)


def test_server_error_page_shows_a_request_id_and_no_internals(app, browser, two_schools, monkeypatch, caplog):
    import reports.queries

    pesel = "4405" + "1401458"  # built at run time, so only a leaked value could reach the log

    def broken(city_id):
        raise RuntimeError(f"secret detail {pesel}")

    monkeypatch.setattr(reports.queries, "city_rollout", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    caplog.set_level(logging.ERROR)
    response = browser("urzednik@test.pl").get("/miasto/")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Numer zgłoszenia" in body
    assert "Traceback" not in body and "secret detail" not in body
    assert response.headers["X-Request-ID"] in body
    assert "44051401458" not in caplog.text and "RuntimeError" in caplog.text


def test_language_switch_to_english_and_back(browser, two_schools):
    user = browser("dyrektor.a@test.pl")
    user.post("/jezyk", {"lang": "en", "next": "/szkola/"})
    assert "Pupils" in user.get("/szkola/").get_data(as_text=True)
    user.post("/jezyk", {"lang": "pl", "next": "https://evil.example/"})
    assert "Uczniowie" in user.get("/szkola/").get_data(as_text=True)
