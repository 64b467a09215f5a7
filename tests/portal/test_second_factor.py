"""The second factor and sessions (docs/security.md T2.3, T2.5): TOTP as RFC 6238, enrolment before
anything else for the roles that need it, each code and recovery code accepted once, resets and
accounts switched off by a school's director or the platform admin (logged, every session ended),
and the previous sign-in shown. Real PostgreSQL and Redis; codes computed from the stored key as
the user's app would."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from infra import clock
from infra.db import db
from tenants.tenancy import second_factor
from tenants.tenancy import totp
from tenants.tenancy.models import RecoveryCode
from tenants.tenancy.models import SecondFactor
from tenants.tenancy.models import User
from tenants.tenancy.models import UserSession
from tests.conftest import SUPERUSER_URL
from tests.conftest import Browser
from tests.conftest import enrol_second_factor
from tests.conftest import next_code

DIRECTOR = "dyrektor.a@test.pl"
SECRETARY = "sekretariat.a@test.pl"
ENROL, CODE = "/logowanie/drugi-skladnik", "/logowanie/kod"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def superuser(database):
    engine = create_engine(SUPERUSER_URL, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def log_rows(engine, action: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT school_id, actor_organisation_id, actor_role, detail, chain FROM access_log WHERE action = :a "
            "ORDER BY id"), {"a": action})]


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def post_code(client: Browser, code: str):
    token = _CSRF.search(client.get(CODE).get_data(as_text=True)).group(1)
    return client.client.post(CODE, data={"code": code, "csrf_token": token})


def wrong_code(secret: str) -> str:
    """Six digits that are no code of the steps around now."""
    now = totp.step_of(clock.utcnow())
    valid = {totp.code_at(secret, step) for step in range(now - 2, now + 3)}
    return next(c for c in ("000000", "111111", "123456", "654321", "999999") if c not in valid)


def test_codes_are_rfc_6238s_test_vectors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890", RFC 6238 Appendix B (SHA-1)
    for seconds, eight_digits in ((59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
                                  (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")):
        instant = dt.datetime.fromtimestamp(seconds, dt.UTC)
        assert totp.code_at(secret, totp.step_of(instant)) == eight_digits[-6:]
        assert totp.matching_step(secret, eight_digits[-6:], instant + dt.timedelta(seconds=30)) == seconds // 30
        assert totp.matching_step(secret, eight_digits[-6:], instant + dt.timedelta(seconds=61)) is None
    assert totp.matching_step(secret, "abcdef", dt.datetime.now(dt.UTC)) is None


def test_a_director_enrols_before_anything_else_and_sees_the_key_and_a_qr_code(app, two_schools):
    client = Browser(app.test_client())
    response = client.password(DIRECTOR)
    assert response.status_code == 302 and response.headers["Location"] == ENROL
    # Every page of every audience goes to enrolment: nothing is reachable with the password alone.
    for url in ("/", "/szkola/", "/szkola/uczniowie", "/szkola/ustawienia/", "/szkola/pracownicy/", "/drukarnia/",
                "/miasto/", "/admin/", CODE):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.headers["Location"] == ENROL, url
    page = client.get(ENROL).get_data(as_text=True)
    secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert len(secret) == 32 and "<svg" in page
    assert client.get(ENROL).get_data(as_text=True).count(totp.grouped(secret)) == 1  # a reload: the same key
    refused = client.post(ENROL, {"code": wrong_code(secret)})
    assert refused.status_code == 422 and "Kod jest nieprawidłowy" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(SecondFactor)) is None  # nothing stored before a right code
    done = client.post(ENROL, {"code": totp.code_at(secret, totp.step_of(clock.utcnow()))})
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "Drugi składnik jest włączony" in page
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert len(set(codes)) == 10 and "To pierwsze logowanie na tym koncie." in page
    assert client.get("/szkola/").status_code == 200  # signed in by the enrolment's code
    with app.app_context():
        factor = db.session.scalar(select(SecondFactor))
        assert secret.encode() not in factor.secret_cipher  # encrypted at rest
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
        assert not any(code.replace("-", "") in h for code in codes for h in hashes)


def test_a_secretary_may_sign_in_without_it_and_enrol_later(app, browser, two_schools):
    secretary = browser()
    response = secretary.password(SECRETARY)
    assert response.headers["Location"] == "/"  # no second step
    assert secretary.get("/szkola/").status_code == 200
    page = secretary.get(ENROL).get_data(as_text=True)
    secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert secretary.post(ENROL, {"code": totp.code_at(secret, totp.step_of(clock.utcnow()))}).status_code == 200
    again = browser()
    assert again.password(SECRETARY).headers["Location"] == CODE  # from now on the code is asked for
    assert post_code(again, next_code(app, SECRETARY)).status_code == 302


def test_each_code_is_accepted_once_and_a_wrong_one_is_refused(app, two_schools):
    secret = enrol_second_factor(app, DIRECTOR)
    first, second = Browser(app.test_client()), Browser(app.test_client())
    assert first.password(DIRECTOR).headers["Location"] == CODE
    code = next_code(app, DIRECTOR)
    assert post_code(first, code).status_code == 302
    assert first.get("/szkola/").status_code == 200
    assert second.password(DIRECTOR).headers["Location"] == CODE
    reused = post_code(second, code)
    assert reused.status_code == 401 and "Ten kod został już użyty" in reused.get_data(as_text=True)
    wrong = post_code(second, wrong_code(secret))
    assert wrong.status_code == 401 and "Kod jest nieprawidłowy" in wrong.get_data(as_text=True)
    assert second.get("/szkola/").headers["Location"] == CODE  # still waiting
    assert post_code(second, next_code(app, DIRECTOR)).status_code == 302
    assert second.get("/szkola/").status_code == 200


def test_five_wrong_codes_end_the_waiting_sign_in(app, two_schools):
    secret = enrol_second_factor(app, DIRECTOR)
    client = Browser(app.test_client())
    client.password(DIRECTOR)
    for _ in range(4):
        assert post_code(client, wrong_code(secret)).status_code == 401
    last = post_code(client, wrong_code(secret))
    assert last.status_code == 401 and "Zbyt wiele błędnych kodów" in last.get_data(as_text=True)
    assert client.get(CODE).headers["Location"] == "/logowanie"  # the password again
    assert client.get("/szkola/").headers["Location"].startswith("/logowanie?next=")


def test_wrong_codes_from_any_sign_in_of_the_account_buy_growing_waits(two_schools, another_app):
    """A right password clears the password's counts, so wrong codes are counted per account: five
    are free, the sixth starts a wait that even the right code must sit out."""
    app = another_app(LOGIN_DELAY_SECONDS=60)
    secret = enrol_second_factor(app, DIRECTOR)
    first = Browser(app.test_client())
    first.password(DIRECTOR)
    for _ in range(4):
        assert post_code(first, wrong_code(secret)).status_code == 401
    second = Browser(app.test_client())  # a new waiting sign-in does not start the count again
    second.password(DIRECTOR)
    assert post_code(second, wrong_code(secret)).status_code == 401
    assert post_code(second, wrong_code(secret)).status_code == 401
    refused = post_code(second, next_code(app, DIRECTOR))
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Zbyt wiele błędnych kodów. Spróbuj ponownie za" in refused.get_data(as_text=True)


def test_a_recovery_code_is_accepted_once(app, two_schools):
    enrol_second_factor(app, DIRECTOR)
    with app.app_context():
        codes = second_factor.issue_recovery_codes(db.session.get(User, two_schools["director_a"]))
        db.session.commit()
    first = Browser(app.test_client())
    first.password(DIRECTOR)
    used = post_code(first, codes[3].upper())  # typed in capitals: still the code
    assert used.status_code == 302
    assert "zostało 9" in first.get("/szkola/").get_data(as_text=True)
    second = Browser(app.test_client())
    second.password(DIRECTOR)
    reused = post_code(second, codes[3])
    assert reused.status_code == 401 and "Ten kod odzyskiwania został już użyty" in reused.get_data(as_text=True)
    assert post_code(second, codes[4]).status_code == 302


def test_a_director_resets_a_colleagues_factor_which_is_logged_and_enrolled_again(app, browser, world, two_schools,
                                                                                  superuser):
    deputy_id = world.user("wicedyrektor.a@test.pl", two_schools["a"], "school_director")
    deputy = browser("wicedyrektor.a@test.pl")  # enrolled on the way in
    director = browser(DIRECTOR)
    assert "wicedyrektor.a@test.pl" in director.get("/szkola/pracownicy/").get_data(as_text=True)
    response = director.post(f"/szkola/pracownicy/{deputy_id}/drugi-skladnik")
    assert response.status_code == 302
    assert "włączy go od nowa" in director.get("/szkola/pracownicy/").get_data(as_text=True)
    assert log_rows(superuser, "second_factor_reset") == [
        (two_schools["a"], two_schools["a"], "school_director", f"user={deputy_id}", f"school:{two_schools['a']}")]
    assert deputy.get("/szkola/").headers["Location"].startswith("/logowanie")  # signed out
    again = Browser(app.test_client())
    assert again.password("wicedyrektor.a@test.pl").headers["Location"] == ENROL  # and enrols anew
    with app.app_context():
        assert db.session.get(SecondFactor, deputy_id) is None


def test_a_director_cannot_touch_another_schools_staff(app, browser, two_schools, superuser):
    enrol_second_factor(app, "dyrektor.b@test.pl")
    director = browser(DIRECTOR)
    other = two_schools["director_b"]
    for url in (f"/szkola/pracownicy/{other}/drugi-skladnik", f"/szkola/pracownicy/{other}/wylacz",
                f"/szkola/pracownicy/{other}/wlacz", "/szkola/pracownicy/999999/wylacz"):
        assert director.post(url).status_code == 404, url
    assert "dyrektor.b@test.pl" not in director.get("/szkola/pracownicy/").get_data(as_text=True)
    secretary = browser(SECRETARY)
    assert secretary.get("/szkola/pracownicy/").status_code == 404  # the director's page only
    with app.app_context():
        assert db.session.get(SecondFactor, other) is not None
        assert db.session.get(User, other).is_active
    assert log_rows(superuser, "second_factor_reset") == log_rows(superuser, "account_disabled") == []


def test_a_user_switched_off_by_the_director_is_out_of_every_session(app, browser, two_schools, superuser):
    at_school, at_home = browser(SECRETARY), browser(SECRETARY)
    assert at_school.get("/szkola/").status_code == 200 and at_home.get("/szkola/").status_code == 200
    director = browser(DIRECTOR)
    secretary_id = user_id(app, SECRETARY)
    assert director.post(f"/szkola/pracownicy/{secretary_id}/wylacz").status_code == 302
    for client in (at_school, at_home):  # the very next request of each, wherever it is
        response = client.get("/szkola/uczniowie")
        assert response.status_code == 302 and response.headers["Location"].startswith("/logowanie")
    with app.app_context():
        assert db.session.scalars(select(UserSession.ended_at).where(UserSession.user_id == secretary_id)).all()
        assert None not in db.session.scalars(select(UserSession.ended_at).where(
            UserSession.user_id == secretary_id)).all()
    assert browser().password(SECRETARY).status_code == 401
    assert log_rows(superuser, "account_disabled") == [
        (two_schools["a"], two_schools["a"], "school_director", f"user={secretary_id}", f"school:{two_schools['a']}")]
    assert director.post(f"/szkola/pracownicy/{two_schools['director_a']}/wylacz").status_code == 422  # not oneself
    assert director.post(f"/szkola/pracownicy/{secretary_id}/wlacz").status_code == 302
    assert browser(SECRETARY).get("/szkola/").status_code == 200


def test_the_platform_admin_resets_and_switches_off_any_account_in_its_organisations_chain(app, browser, world,
                                                                                           two_schools, superuser):
    world.user("admin@test.pl", admin=True)
    operator = browser("drukarnia.1@test.pl")
    admin = browser("admin@test.pl")  # an admin enrols too
    operator_id, official_id = user_id(app, "drukarnia.1@test.pl"), user_id(app, "urzednik@test.pl")
    assert "drukarnia.1@test.pl" in admin.get("/admin/uzytkownicy").get_data(as_text=True)
    assert admin.post(f"/admin/uzytkownicy/{operator_id}/drugi-skladnik").status_code == 302
    assert operator.get("/drukarnia/").headers["Location"].startswith("/logowanie")
    assert admin.post(f"/admin/uzytkownicy/{official_id}/wylacz").status_code == 302
    assert admin.post("/admin/uzytkownicy/999999/wylacz").status_code == 404
    p1, city = two_schools["p1"], two_schools["city"]
    assert log_rows(superuser, "second_factor_reset") == [
        (None, p1, "platform_admin", f"user={operator_id}", f"printer:{p1}")]
    assert log_rows(superuser, "account_disabled") == [
        (None, city, "platform_admin", f"user={official_id}", f"city:{city}")]
    assert browser().password("urzednik@test.pl").status_code == 401


def test_the_previous_sign_in_is_shown_with_its_time_and_address(app, browser, two_schools):
    first = Browser(app.test_client())
    first.client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    first.login(SECRETARY)
    assert "To pierwsze logowanie na tym koncie." in first.get("/szkola/").get_data(as_text=True)
    with app.app_context():  # that sign-in was on 1 July at 10:05 UTC: 12:05 in Warsaw (summer time)
        db.session.execute(update(UserSession).values(created_at=dt.datetime(2026, 7, 1, 10, 5, tzinfo=dt.UTC)))
        db.session.commit()
    second = browser(SECRETARY)
    assert "Poprzednie logowanie: 01.07.2026 12:05, adres IP 192.0.2.7." in second.get("/szkola/").get_data(
        as_text=True)
    director = browser(DIRECTOR)  # after the second factor too
    assert "To pierwsze logowanie na tym koncie." in director.get("/szkola/").get_data(as_text=True)
    again = browser(DIRECTOR)
    assert "Poprzednie logowanie: " in again.get("/szkola/").get_data(as_text=True)


def test_demo_totp_prints_a_demo_accounts_code_only(app, world, two_schools):
    world.user("dyrektor@sp9.demo", two_schools["a"], "school_director")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["legitka", "demo-totp", "dyrektor@sp9.demo"]).exit_code == 2  # no key yet
    with app.app_context():
        second_factor.enrol_demo(db.session.scalar(select(User).where(User.email == "dyrektor@sp9.demo")))
        db.session.commit()
    result = runner.invoke(args=["legitka", "demo-totp", "dyrektor@sp9.demo"])
    assert result.exit_code == 0 and re.fullmatch(r"\d{6}\n", result.output)
    client = Browser(app.test_client())
    assert client.password("dyrektor@sp9.demo").headers["Location"] == CODE
    assert post_code(client, result.output.strip()).status_code == 302
    assert runner.invoke(args=["legitka", "demo-totp", DIRECTOR]).exit_code == 2  # not a demo account
