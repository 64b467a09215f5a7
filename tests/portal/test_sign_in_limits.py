"""Guessing is slowed down per account and per address (SECURITY.md T2.4, portal.auth.throttle),
with the real Redis of the test suite."""

from __future__ import annotations

import time

import pytest

from tests.conftest import PASSWORD
from tests.conftest import TEST_KEYS
from tests.conftest import Browser
from tests.portal.test_api import TOKEN_URL
from tests.portal.test_api import basic
from tests.portal.test_api import make_client

REFUSED = "Zbyt wiele nieudanych prób logowania"


@pytest.fixture
def another_app(database, tmp_path):
    """An app of its own settings on the test database (its connections closed afterwards)."""
    from infra.db import db
    from portal import create_app
    from tests.conftest import APP_URL
    from tests.conftest import OWNER_URL
    from tests.conftest import REDIS_URL

    made = []

    def make(**settings):
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": APP_URL,
                          "MIGRATION_DATABASE_URL": OWNER_URL, "REDIS_URL": REDIS_URL,
                          "SESSION_COOKIE_SECURE": False, "LOCAL_STORAGE_PATH": str(tmp_path / "files"),
                          **TEST_KEYS, **settings})
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def test_the_eleventh_attempt_within_15_minutes_is_refused_even_with_the_right_password(browser, two_schools,
                                                                                        redis):
    client = browser()
    for _ in range(10):
        assert client.login("dyrektor.a@test.pl", "zle-haslo-123").status_code == 401
    refused = client.login("dyrektor.a@test.pl", PASSWORD)
    assert refused.status_code == 429 and REFUSED in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert browser().login("dyrektor.b@test.pl").status_code == 302  # other accounts from the same address
    keys = [k.decode() for k in redis.scan_iter("legitka:attempts:*")]
    assert keys and not any("dyrektor" in k or "test.pl" in k for k in keys)  # no e-mail in the counters
    for key in keys:  # the window ends
        redis.pexpire(key, 1)
    time.sleep(0.05)
    assert client.login("dyrektor.a@test.pl", PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_accounts_count(browser, two_schools):
    client = browser()
    for _ in range(9):
        assert client.login("dyrektor.a@test.pl", "zle-haslo-123").status_code == 401
    assert browser().login("dyrektor.a@test.pl").status_code == 302
    for _ in range(10):
        assert client.login("dyrektor.a@test.pl", "zle-haslo-123").status_code == 401
    assert client.login("dyrektor.a@test.pl", "zle-haslo-123").status_code == 429


def test_an_address_gets_a_limited_number_of_failures_across_accounts(app, browser, two_schools, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 3)
    client = browser()
    for email in ("nikt@test.pl", "ktos@test.pl", "dyrektor.b@test.pl"):
        assert client.login(email, "zle-haslo-123").status_code == 401
    assert client.login("dyrektor.a@test.pl").status_code == 429  # an untouched account, from this address


def test_behind_a_proxy_the_forwarded_address_counts(two_schools, another_app):
    proxied = another_app(PROXY_HOPS=1, LOGIN_FAILURES_PER_ADDRESS=2)

    def attempt(address: str, email: str) -> int:
        client = Browser(proxied.test_client())
        token = client.csrf()
        return client.client.post("/logowanie", data={"email": email, "password": "zle-haslo-123",
                                                      "csrf_token": token},
                                  headers={"X-Forwarded-For": address}).status_code

    assert [attempt("10.0.0.1", f"nikt{i}@test.pl") for i in range(3)] == [401, 401, 429]
    assert attempt("10.0.0.2", "nikt@test.pl") == 401  # another client behind the same proxy


def test_with_redis_down_sign_in_still_works(two_schools, another_app, caplog):
    down = another_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = Browser(down.test_client())
    assert client.login("dyrektor.a@test.pl", "zle-haslo-123").status_code == 401
    assert client.login("dyrektor.a@test.pl").status_code == 302
    assert "attempt counter sign-in-account unavailable" in caplog.text


def test_the_api_token_endpoint_counts_wrong_secrets_per_client(app, two_schools):
    client_id, secret = make_client(app, two_schools["p1"])
    other_id, other_secret = make_client(app, two_schools["p2"])
    api = app.test_client()
    form = {"grant_type": "client_credentials"}
    for _ in range(10):
        assert api.post(TOKEN_URL, data=form, headers=basic(client_id, "zly-sekret")).status_code == 401
    refused = api.post(TOKEN_URL, data=form, headers=basic(client_id, secret))
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60 and "access_token" not in refused.json
    assert api.post(TOKEN_URL, data=form, headers=basic(other_id, other_secret)).status_code == 200
    # client_id and client_secret in the form count the same way
    posted = api.post(TOKEN_URL, data={**form, "client_id": client_id, "client_secret": secret})
    assert posted.status_code == 429
