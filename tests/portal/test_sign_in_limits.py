"""Guessing is slowed down, never turned into a lock-out (docs/security.md T2.4, portal.auth.throttle,
portal.auth.devices), with the real Redis of the test suite: growing waits per account and
address, per address, and (short ones) per account from unknown browsers; a known browser
counts only its own failures; the printers' token endpoint slows down addresses, never a client.

Time passing is played by expiring the waits' Redis keys (`let_the_waits_pass`), as the clock
would; the counts stay, as they do for the hour after the last failure."""

from __future__ import annotations

import json

import pytest
from itsdangerous import URLSafeSerializer

from tests.conftest import PASSWORD
from tests.conftest import TEST_KEYS
from tests.conftest import Browser
from tests.portal.test_api import TOKEN_URL
from tests.portal.test_api import basic
from tests.portal.test_api import make_client

REFUSED = "Zbyt wiele nieudanych prób logowania"
DIRECTOR = "dyrektor.a@test.pl"
WRONG = "zle-haslo-123"


class Visitor:
    """One browser (its own cookies) at an address, as seen through the one trusted proxy."""

    def __init__(self, app, address: str) -> None:
        self.browser, self.address = Browser(app.test_client()), address

    def login(self, email: str = DIRECTOR, password: str = PASSWORD):
        return self.browser.client.post("/logowanie", data={"email": email, "password": password,
                                                            "csrf_token": self.browser.csrf()},
                                        headers={"X-Forwarded-For": self.address})


def device_entries(value: str) -> list:
    """What a known-device cookie holds, read with the app's key."""
    return URLSafeSerializer(TEST_KEYS["SECRET_KEY"], salt="legitka.known-device").loads(value)


def let_the_waits_pass(redis) -> None:
    """The clock moves past every wait. A refusal with no wait to outlast would be a lock-out."""
    waits = list(redis.scan_iter("legitka:attempts:*:wait"))
    assert waits, "refused, yet nothing is waiting: a lock, not a wait"
    for key in waits:
        redis.pexpire(key, 1)
    while any(redis.scan_iter("legitka:attempts:*:wait")):
        pass  # gone within a millisecond


def fail_until(visitor, redis, failures: int, email: str = DIRECTOR) -> list[int]:
    """Wrong passwords from `visitor` until `failures` of them were checked (waiting out each
    wait); the Retry-After each failure announced (0: none)."""
    announced = []
    while len(announced) < failures:
        response = visitor.login(email, WRONG)
        if response.status_code == 429:
            let_the_waits_pass(redis)
            continue
        assert response.status_code == 401, response.status_code
        announced.append(int(response.headers.get("Retry-After", 0)))
    return announced


def test_wrong_guesses_buy_growing_waits_for_that_account_from_that_address(two_schools, another_app, redis):
    app = another_app(PROXY_HOPS=1, LOGIN_MAX_DELAY_SECONDS=20)
    attacker = Visitor(app, "192.0.2.1")
    assert [attacker.login(password=WRONG).status_code for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(6):
        failed = attacker.login(password=WRONG)
        assert failed.status_code == 401 and "Następna próba będzie możliwa za" in failed.get_data(as_text=True)
        waits.append(int(failed.headers["Retry-After"]))
        refused = attacker.login()  # even the right password waits: from this address, for this account
        assert refused.status_code == 429 and REFUSED in refused.get_data(as_text=True)
        assert 0 < int(refused.headers["Retry-After"]) <= waits[-1]
        assert Visitor(app, "192.0.2.1").login("dyrektor.b@test.pl").status_code == 302  # another account
        let_the_waits_pass(redis)
    assert waits == [2, 4, 8, 16, 20, 20]  # doubling, up to LOGIN_MAX_DELAY_SECONDS
    assert Visitor(app, "198.51.100.2").login().status_code == 302  # the director, elsewhere, meanwhile
    keys = [k.decode() for k in redis.scan_iter("legitka:attempts:*")]
    assert keys and not any(s in k for k in keys for s in ("dyrektor", "test.pl", "192.0.2", "198.51"))
    assert attacker.login().status_code == 302  # the wait is over: the right password is let in
    assert "Retry-After" not in attacker.login(password=WRONG).headers  # and it cleared the count


def test_fifty_failures_from_one_address_do_not_keep_the_director_out(two_schools, another_app, redis):
    app = another_app(PROXY_HOPS=1)  # the default limits
    school_network = "192.0.2.10"  # a school's one public address: the director and a pupil behind it
    directors_browser = Visitor(app, school_network)
    assert directors_browser.login().status_code == 302  # a known device from now on
    attacker = Visitor(app, school_network)
    announced = fail_until(attacker, redis, 50)
    assert announced[:5] == [0] * 5 and announced[5:9] == [2, 4, 8, 16] and max(announced) == 900
    assert attacker.login().status_code == 429  # the director's account from this browser and address waits
    assert Visitor(app, school_network).login().status_code == 429  # so does any unknown browser there

    assert Visitor(app, "198.51.100.7").login().status_code == 302  # the director at home, a new browser
    assert directors_browser.login().status_code == 302  # the director's own browser, at the school
    assert Visitor(app, school_network).login("dyrektor.b@test.pl").status_code == 302  # other accounts


def test_an_address_guessing_across_accounts_is_slowed_down(two_schools, another_app, redis):
    app = another_app(PROXY_HOPS=1, LOGIN_FAILURES_PER_ADDRESS=3)
    known = Visitor(app, "192.0.2.20")
    assert known.login("dyrektor.b@test.pl").status_code == 302
    sprayer = Visitor(app, "192.0.2.20")
    assert [sprayer.login(f"nikt{i}@test.pl", WRONG).status_code for i in range(3)] == [401] * 3
    fourth = sprayer.login("dyrektor.b@test.pl", WRONG)
    assert fourth.status_code == 401 and fourth.headers["Retry-After"] == "2"
    assert Visitor(app, "192.0.2.20").login().status_code == 429  # an untouched account, from this address
    assert Visitor(app, "192.0.2.21").login().status_code == 302  # from another address
    assert known.login("dyrektor.b@test.pl").status_code == 302  # a known browser at the sprayed address


def test_guessing_one_account_from_many_addresses_slows_unknown_browsers_briefly(two_schools, another_app, redis):
    app = another_app(PROXY_HOPS=1, LOGIN_ACCOUNT_MAX_DELAY_SECONDS=5)  # 5 addresses start it, as by default
    directors_browser = Visitor(app, "198.51.100.1")
    assert directors_browser.login().status_code == 302
    bots = [Visitor(app, f"203.0.113.{i}") for i in range(1, 10)]
    announced = [int(bot.login(password=WRONG).headers.get("Retry-After", 0)) for bot in bots[:4]]
    assert announced == [0] * 4  # four addresses: each only spends its own free failures
    assert bots[4].login(password=WRONG).headers["Retry-After"] == "2"  # the fifth starts the account's wait
    stranger = Visitor(app, "198.51.100.99")  # the director on a new laptop, at a new address
    refused = stranger.login()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 5
    assert directors_browser.login().status_code == 302  # the director's own browser: not at all
    for bot in bots[5:]:
        let_the_waits_pass(redis)
        announced.append(int(bot.login(password=WRONG).headers["Retry-After"]))
    assert announced[4:] == [4, 5, 5, 5]  # short: capped at LOGIN_ACCOUNT_MAX_DELAY_SECONDS
    let_the_waits_pass(redis)
    assert stranger.login().status_code == 302  # a wait, never a lock


def test_an_ipv6_subscriber_is_one_address(two_schools, another_app, redis):
    """Rotating through one's own /64 (2^64 addresses) neither resets the allowance nor counts as
    many addresses against the account."""
    app = another_app(PROXY_HOPS=1)
    rotating = [Visitor(app, f"2001:db8:1:2::{i:x}") for i in range(1, 8)]
    announced = [int(v.login(password=WRONG).headers.get("Retry-After", 0)) for v in rotating[:6]]
    assert announced == [0, 0, 0, 0, 0, 2]  # one /64: one allowance
    assert rotating[6].login().status_code == 429  # and one wait
    assert Visitor(app, "2001:db8:1:3::1").login().status_code == 302  # the next /64 is someone else
    assert Visitor(app, "::ffff:192.0.2.1").login("dyrektor.b@test.pl").status_code == 302


def test_a_known_browser_counts_only_its_own_failures(browser, two_schools, redis):
    own = browser(DIRECTOR)  # signed in once: a known device
    cookie = own.client.get_cookie("legitka-device")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/"
    assert cookie.max_age == 365 * 86400
    entries = device_entries(cookie.value)
    assert len(entries) == 1 and not any(s in json.dumps(entries) for s in ("dyrektor", "test.pl", "127.0.0.1"))
    announced = fail_until(own, redis, 6)
    assert announced == [0, 0, 0, 0, 0, 2]
    assert own.login(DIRECTOR).status_code == 429  # its own failures do slow it down
    assert browser().login(DIRECTOR).status_code == 302  # an unknown browser at the same address is not

    forged = browser()
    forged.client.set_cookie("legitka-device", cookie.value[:-2] + ("AA" if cookie.value[-2:] != "AA" else "BB"))
    assert fail_until(forged, redis, 6) == [0, 0, 0, 0, 0, 2]  # a forged cookie counts as none: the address's
    assert browser().login(DIRECTOR).status_code == 429  # count for the account, so a stranger here waits too
    let_the_waits_pass(redis)
    assert own.login(DIRECTOR).status_code == 302


def test_a_browser_remembers_a_few_accounts(browser, two_schools):
    """A shared office computer: the secretary's and the director's sign-ins both stay known."""
    shared = browser()
    for email in ("sekretariat.a@test.pl", DIRECTOR, "sekretariat.a@test.pl"):
        assert shared.login(email).status_code == 302
    assert len(device_entries(shared.client.get_cookie("legitka-device").value)) == 2


def test_with_redis_down_sign_in_still_works(two_schools, another_app, caplog):
    down = another_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = Browser(down.test_client())
    assert client.login(DIRECTOR, WRONG).status_code == 401
    assert client.login(DIRECTOR).status_code == 302
    assert "attempt counter sign-in-pair unavailable" in caplog.text


def test_the_api_client_keeps_working_for_its_caller_while_another_address_guesses(two_schools, another_app,
                                                                                   redis):
    app = another_app(PROXY_HOPS=1)
    client_id, secret = make_client(app, two_schools["p1"])
    api = app.test_client()
    form = {"grant_type": "client_credentials"}

    def token(address: str, key: str, *, in_form: bool = False):
        if in_form:
            return api.post(TOKEN_URL, data={**form, "client_id": client_id, "client_secret": key},
                            headers={"X-Forwarded-For": address})
        return api.post(TOKEN_URL, data=form, headers={**basic(client_id, key), "X-Forwarded-For": address})

    printer, attacker = "203.0.113.5", "198.51.100.66"
    announced = []
    while len(announced) < 50:
        response = token(attacker, f"zly-sekret-{len(announced)}", in_form=len(announced) % 2 == 1)
        if response.status_code == 429:
            assert response.json["error"] == "too_many_requests" and "access_token" not in response.json
            assert token(printer, secret).status_code == 200  # the printer's own system, meanwhile
            let_the_waits_pass(redis)
            continue
        assert response.status_code == 401
        announced.append(int(response.headers.get("Retry-After", 0)))
    assert announced[:8] == [0, 0, 0, 0, 0, 2, 4, 8]  # the guessing address waits longer and longer
    refused = token(attacker, secret)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 900
    assert token(printer, secret).status_code == 200 and token(printer, secret, in_form=True).status_code == 200


@pytest.mark.parametrize("setting", [{"LOGIN_DELAY_SECONDS": 0}, {"LOGIN_FREE_FAILURES": "pięć"},
                                     {"LOGIN_WINDOW_MINUTES": -1}, {"LOGIN_DEVICE_DAYS": True}])
def test_nonsense_limits_are_refused_at_start(another_app, setting):
    with pytest.raises(ValueError, match=next(iter(setting))):
        another_app(**setting)
