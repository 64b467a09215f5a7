"""Signing in through the city's own account (docs/security.md T2.18, portal.auth.city_sign_in) against
a real OpenID Connect provider on loopback (panva's oidc-provider in a Node process, tests/oidc_provider.py):
the authorization code flow with PKCE, state and nonce; the ID token's issuer, audience, expiry
and signature; the person matched by the provider's subject (or, once, a verified e-mail); the
city's role mapping; and every refusal a Polish page with a 4xx, leaving no session, link or log
line with a token, code or the person's identity."""

from __future__ import annotations

import datetime as dt
import json
import logging
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra.db import db
from portal.auth import oidc_settings
from tenants.tenancy.models import IdentityLink
from tenants.tenancy.models import Membership
from tenants.tenancy.models import User
from tests.conftest import Browser
from tests.oidc_provider import Provider

CALLBACK = "http://localhost/logowanie/miasto/powrot"  # the test client's host
SECRETS = {"legitka-a": "sekret-miasta-a-0123456789", "legitka-b": "sekret-miasta-b-0123456789",
           "legitka-wrong-iss": "sekret-wrong-iss-0123456789", "legitka-foreign-key": "sekret-foreign-0123456789"}
CLIENTS = [
    {"client_id": "legitka-a", "redirect_uris": [CALLBACK]},
    {"client_id": "legitka-b", "redirect_uris": [CALLBACK]},
    # validly signed by the provider's own key, but claiming to come from another issuer
    {"client_id": "legitka-wrong-iss", "redirect_uris": [CALLBACK], "id_token_claims": {"iss": "https://evil.example"}},
    # signed by a key the provider never published
    {"client_id": "legitka-foreign-key", "redirect_uris": [CALLBACK], "foreign_key": True},
]
ACCOUNTS = {  # the provider's people; each one's subject is its login
    "urzednik-a": {"email": "urzednik.a@test.pl", "email_verified": True, "groups": ["legitka-miasto-a"]},
    "urzednik-b": {"email": "urzednik.b@test.pl", "email_verified": True, "groups": ["legitka-miasto-b"]},
    "dyrektor-a": {"email": "dyrektor.a@test.pl", "email_verified": True, "groups": ["legitka-sp1-dyrekcja"]},
    "nieznany": {"email": "nikt@test.pl", "email_verified": True, "groups": ["legitka-miasto-a"]},
    "niezweryfikowany": {"email": "urzednik.a@test.pl", "email_verified": False, "groups": ["legitka-miasto-a"]},
    "wedrowny": {"email": "wedrowny@test.pl", "email_verified": True,
                 "groups": ["legitka-miasto-a", "legitka-miasto-b"]},
}
STALE = "Ta próba logowania wygasła, została już użyta"
NOT_CONFIRMED = "Nie udało się potwierdzić tożsamości z konta miejskiego"
UNKNOWN = "nie jest powiązane z żadnym kontem w Legitce"
NO_ACCESS = "nie daje dostępu do Legitki w tym mieście"


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    started = Provider(tmp_path_factory.mktemp("oidc"),
                       [{**client, "client_secret": SECRETS[client["client_id"]]} for client in CLIENTS], ACCOUNTS)
    yield started
    started.stop()


def city(provider, client_id: str, roles: list[dict], **extra) -> dict:
    """A city's settings; school staff allowed when the roles name a school."""
    extra.setdefault("school_staff", any("school" in role for role in roles))
    return {"issuer": provider.issuer, "client_id": client_id, "client_secret": SECRETS[client_id],
            "scopes": "openid email profile groups", "roles": roles, **extra}


CITY_A_ROLES = [{"value": "legitka-miasto-a", "role": "city_official"},
                {"value": "legitka-sp1-dyrekcja", "role": "school_director", "school": "sp1-a"}]
CITY_B_ROLES = [{"value": "legitka-miasto-b", "role": "city_official"}]


@pytest.fixture
def people(world):
    """Cities A and B, a school of A, and their Legitka accounts (made by the city or director)."""
    a = world.org("city", "Miasto Alfa", slug="miasto-a")
    b = world.org("city", "Miasto Beta", slug="miasto-b")
    school = world.school(a, slug="sp1-a")
    return {"a": a, "b": b, "school": school,
            "urzednik_a": world.user("urzednik.a@test.pl", a, "city_official"),
            "urzednik_b": world.user("urzednik.b@test.pl", b, "city_official"),
            "dyrektor_a": world.user("dyrektor.a@test.pl", school, "school_director"),
            "wedrowny": world.user("wedrowny@test.pl", b, "city_official")}


@pytest.fixture
def city_app(another_app, provider, people):
    def make(a: dict | None = None, **settings):
        cities = {"miasto-a": a or city(provider, "legitka-a", CITY_A_ROLES),
                  "miasto-b": city(provider, "legitka-b", CITY_B_ROLES)}
        return another_app(OIDC_CITIES=cities, **settings)

    return make


def start(client, slug: str) -> str:
    response = client.post("/logowanie/miasto", data={"miasto": slug, "csrf_token": Browser(client).csrf()})
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def come_back(client, provider, slug: str, login: str) -> str:
    """Start at Legitka, sign in at the provider; the callback URL the provider sent back."""
    return provider.sign_in(start(client, slug), login)


def home_of(app, client) -> str:
    return client.get("/").headers["Location"]


def url(app, endpoint: str) -> str:
    with app.test_request_context():
        return url_for(endpoint)


def links(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        found = [(link.issuer, link.subject, link.user_id) for link in db.session.scalars(select(IdentityLink))]
        db.session.commit()
        return found


def assert_refused(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in response.text


def assert_signed_out(client) -> None:
    assert "/logowanie" in client.get("/").headers["Location"]


def test_the_sign_in_page_offers_the_city_account_only_where_configured(app, city_app):
    assert "konto miejskie" not in app.test_client().get("/logowanie").text
    page = city_app().test_client().get("/logowanie").text
    assert "Zaloguj przez konto miejskie (Miasto Alfa)" in page and "(Miasto Beta)" in page


def test_a_city_official_signs_in_through_the_city_and_gets_the_mapped_role(city_app, provider, people):
    app = city_app()
    client = app.test_client()
    to_provider = start(client, "miasto-a")
    request = parse_qs(urlsplit(to_provider).query)
    assert to_provider.startswith(provider.issuer + "/")
    assert request["code_challenge_method"] == ["S256"] and request["response_type"] == ["code"]
    assert len(request["state"][0]) >= 43 and len(request["nonce"][0]) >= 43 and request["code_challenge"]
    assert request["redirect_uri"] == [CALLBACK] and request["client_id"] == ["legitka-a"]

    response = client.get(provider.sign_in(to_provider, "urzednik-a"))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert home_of(app, client) == url(app, "city.overview")
    assert client.get(url(app, "city.overview")).status_code == 200
    assert links(app) == [(provider.issuer, "urzednik-a", people["urzednik_a"])]

    # Linked: the subject decides from now on, whatever the e-mail in Legitka becomes.
    with app.app_context():
        db.session.get(User, people["urzednik_a"]).email = "nowy.adres@test.pl"
        db.session.commit()
    again = app.test_client()
    assert again.get(come_back(again, provider, "miasto-a", "urzednik-a")).status_code == 302
    assert home_of(app, again) == url(app, "city.overview")
    assert len(links(app)) == 1


def test_school_staff_get_their_school_only_where_the_city_allows_it(city_app, provider, people):
    app = city_app()
    client = app.test_client()
    assert client.get(come_back(client, provider, "miasto-a", "dyrektor-a")).status_code == 302
    assert home_of(app, client) == url(app, "school.dashboard")

    strict = city_app(city(provider, "legitka-a", CITY_A_ROLES[:1]))  # school_staff off: the city's own only
    client = strict.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "dyrektor-a")), 403, NO_ACCESS)
    assert_signed_out(client)


def test_a_token_from_another_issuer_is_refused(city_app, provider, people):
    app = city_app(city(provider, "legitka-wrong-iss", CITY_A_ROLES))
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "urzednik-a")), 403, NOT_CONFIRMED)
    assert_signed_out(client)
    assert links(app) == []


def test_an_answer_naming_another_issuer_is_refused(city_app, provider, people):
    """RFC 9207: the provider names itself in its answer; an answer naming another one (a mix-up) is refused."""
    app = city_app()
    client = app.test_client()
    back = come_back(client, provider, "miasto-a", "urzednik-a")
    assert parse_qs(urlsplit(back).query)["iss"] == [provider.issuer]
    tampered = back.replace("iss=", "iss=https%3A%2F%2Fevil.example&x=")
    assert_refused(client.get(tampered), 403, NOT_CONFIRMED)
    assert_signed_out(client)


def test_a_provider_whose_discovery_names_another_issuer_is_not_used(city_app, provider, people):
    port = urlsplit(provider.issuer).port
    app = city_app(city(provider, "legitka-a", CITY_A_ROLES, issuer=f"http://localhost:{port}"))
    client = app.test_client()
    response = client.post("/logowanie/miasto", data={"miasto": "miasto-a", "csrf_token": Browser(client).csrf()})
    assert_refused(response, 503, "Logowanie przez konto miejskie jest chwilowo niedostępne")


def test_a_signature_by_a_key_the_provider_never_published_is_refused(city_app, provider, people):
    app = city_app(city(provider, "legitka-foreign-key", CITY_A_ROLES))
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "urzednik-a")), 403, NOT_CONFIRMED)
    assert_signed_out(client)


def test_the_callback_used_twice_is_refused(city_app, provider, people):
    app = city_app()
    client = app.test_client()
    to_provider = start(client, "miasto-a")
    cookie_before = client.get_cookie("legitka").value  # the session as it was before the callback
    back = provider.sign_in(to_provider, "urzednik-a")
    assert client.get(back).status_code == 302

    assert_refused(client.get(back), 400, STALE)  # the same browser, again
    assert home_of(app, client) == url(app, "city.overview")  # its own session goes on
    replaying = app.test_client()  # the stale cookie replayed with the URL: the state is gone
    replaying.set_cookie("legitka", cookie_before, domain="localhost")
    assert_refused(replaying.get(back), 400, STALE)
    assert_signed_out(replaying)
    stranger = app.test_client()  # the URL carried into another browser
    assert_refused(stranger.get(back), 400, STALE)
    assert_signed_out(stranger)


def test_a_callback_started_in_another_browser_is_refused(city_app, provider, people):
    """Login CSRF: an attacker's own callback URL, opened in the victim's browser, signs nobody in."""
    app = city_app()
    attacker = app.test_client()
    back = come_back(attacker, provider, "miasto-a", "urzednik-a")
    victim = app.test_client()
    start(victim, "miasto-a")  # even with a sign-in of its own pending
    assert_refused(victim.get(back), 400, STALE)
    assert_signed_out(victim)


def test_an_expired_id_token_is_refused(city_app, provider, people):
    """Legitka's clock two hours ahead of the provider's: the ID token (an hour's life, a minute's
    leeway) has expired by the time it is checked."""
    app = city_app()
    client = app.test_client()
    back = come_back(client, provider, "miasto-a", "urzednik-a")
    with clock.pinned(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)):
        response = client.get(back)
    assert_refused(response, 403, NOT_CONFIRMED)
    assert_signed_out(client)
    assert links(app) == []


def test_an_unknown_person_is_refused_and_nothing_is_created(city_app, provider, people):
    app = city_app()
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
        db.session.commit()
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "nieznany")), 403, UNKNOWN)
    assert_signed_out(client)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == users
        db.session.commit()
    assert links(app) == []


def test_an_unverified_email_matches_nobody(city_app, provider, people):
    app = city_app()
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "niezweryfikowany")), 403, UNKNOWN)
    assert_signed_out(client)
    assert links(app) == []


def test_a_user_of_another_city_cannot_get_in_to_this_one(city_app, provider, people):
    app = city_app()
    # B's official, whose groups at the provider are B's, through A's sign-in
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "urzednik-b")), 403, NO_ACCESS)
    assert_signed_out(client)
    # someone in A's group at the provider, but whose Legitka account is B's official
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "wedrowny")), 403, NO_ACCESS)
    assert_signed_out(client)
    # through B's own sign-in: in, as B's official
    client = app.test_client()
    assert client.get(come_back(client, provider, "miasto-b", "wedrowny")).status_code == 302
    assert home_of(app, client) == url(app, "city.overview")
    assert links(app) == [(provider.issuer, "wedrowny", people["wedrowny"])]
    # once linked, still not into A
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "wedrowny")), 403, NO_ACCESS)


def test_a_mapping_naming_another_citys_school_grants_nothing(city_app, provider, people, world):
    """A's settings naming a school of B (a typo, or a slug copied from B's): B's director, in the
    group at the provider, gets nothing through A."""
    school_b = world.school(people["b"], "Szkoła w Becie", slug="sp1-b")
    with city_app().app_context():
        membership = db.session.scalar(select(Membership).where(Membership.user_id == people["dyrektor_a"]))
        membership.organisation_id = school_b  # the director now directs B's school
        db.session.commit()
    app = city_app(city(provider, "legitka-a", [{"value": "legitka-sp1-dyrekcja", "role": "school_director",
                                                  "school": "sp1-b"}]))
    client = app.test_client()
    assert_refused(client.get(come_back(client, provider, "miasto-a", "dyrektor-a")), 403, NO_ACCESS)
    assert_signed_out(client)


def test_a_city_session_keeps_to_the_memberships_the_city_granted(city_app, provider, people):
    """A's official who is also a secretary of A's school in Legitka, though the city's groups say
    nothing of it: signed in through the city, the school is out of reach."""
    app = city_app()
    with app.app_context():
        other = Membership(user_id=people["urzednik_a"], organisation_id=people["school"], role="school_secretary")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    client = app.test_client()
    assert client.get(come_back(client, provider, "miasto-a", "urzednik-a")).status_code == 302
    assert f'value="{other_id}"' not in client.get(url(app, "city.overview")).text
    assert Browser(client).post("/przelacz", {"membership_id": other_id}).status_code == 404
    assert home_of(app, client) == url(app, "city.overview")


def test_no_token_code_or_identity_reaches_the_log(city_app, provider, people, caplog):
    app = city_app()
    for name in ("legitka", "portal", "tenants", "infra", "authlib", "urllib3", "requests", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)  # every logger of ours and of the HTTP calls
    secrets, logged = [], []
    for login in ("urzednik-a", "nieznany"):
        client = app.test_client()
        to_provider = start(client, "miasto-a")  # Legitka (with its discovery call)
        logged.append(caplog.text)
        back = provider.sign_in(to_provider, login)  # the person's browser at the provider: not Legitka's log
        caplog.clear()
        assert client.get(back).status_code in (302, 403)  # Legitka (with its token request)
        logged.append(caplog.text)
        caplog.clear()
        query = parse_qs(urlsplit(back).query)
        secrets += [query["code"][0], query["state"][0], login, ACCOUNTS[login]["email"]]
    text = "".join(logged)
    assert "POST /token" in text and "city sign-in refused: unknown_user" in text  # the capture works
    for secret in secrets + [SECRETS["legitka-a"]]:
        assert secret not in text


def test_an_unknown_city_is_refused_and_the_way_back_stays_on_this_site(city_app, provider, people):
    app = city_app()
    client = app.test_client()
    refused = client.post("/logowanie/miasto", data={"miasto": "nie-ma", "csrf_token": Browser(client).csrf()})
    assert_refused(refused, 404, "To miasto nie ma logowania przez konto miejskie.")
    overview = url(app, "city.overview")
    for target, lands in (("//evil.example/", "/"), (overview, overview)):
        client = app.test_client()
        response = client.post("/logowanie/miasto", data={"miasto": "miasto-a", "next": target,
                                                          "csrf_token": Browser(client).csrf()})
        assert client.get(provider.sign_in(response.headers["Location"], "urzednik-a")).headers["Location"] == lands


def test_without_redis_the_city_sign_in_is_unavailable_and_passwords_still_work(another_app, redis_later, provider,
                                                                                 people):
    port, _start = redis_later
    app = another_app(REDIS_URL=f"redis://127.0.0.1:{port}/0",
                      OIDC_CITIES={"miasto-a": city(provider, "legitka-a", CITY_A_ROLES)})
    client = app.test_client()
    response = client.post("/logowanie/miasto", data={"miasto": "miasto-a", "csrf_token": Browser(client).csrf()})
    assert_refused(response, 503, "Logowanie przez konto miejskie jest chwilowo niedostępne")
    assert Browser(app.test_client()).login("urzednik.a@test.pl").status_code == 302


ISSUER = "https://login.example.pl"
GRANT = [{"value": "g", "role": "city_official"}]


@pytest.mark.parametrize(("entry", "complaint"), [
    ({"issuer": ISSUER, "client_id": "x", "roles": GRANT}, "client_secret"),
    ({"issuer": "http://login.example.pl", "client_id": "x", "client_secret": "s", "roles": GRANT},
     "issuer must be an https URL"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s",
      "roles": [{"value": "g", "role": "school_director", "school": "sp1"}]}, "needs school_staff"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s", "school_staff": True,
      "roles": [{"value": "g", "role": "school_director"}]}, "needs the school's slug"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s", "roles": [{"value": "g", "role": "printer_operator"}]},
     "cannot sign in through a city"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s", "roles": GRANT, "clientsecret": "s"},
     "unknown setting"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s", "roles": []}, "roles"),
    ({"issuer": ISSUER, "client_id": "x", "client_secret": "s", "roles": GRANT, "scopes": "email"}, "openid"),
])
def test_a_misconfigured_city_stops_the_app_at_start(entry, complaint):
    with pytest.raises(ValueError, match=complaint):
        oidc_settings.parse({"miasto": entry})


def test_the_secret_comes_from_its_own_environment_variable(another_app, monkeypatch, database):
    """The mapping in LEGITKA_OIDC_CITIES, the secret in LEGITKA_OIDC_CITIES__<slug>__client_secret."""
    mapping = {"miasto": {"issuer": ISSUER, "client_id": "x", "roles": GRANT}}
    monkeypatch.setenv("LEGITKA_OIDC_CITIES", json.dumps(mapping))
    monkeypatch.setenv("LEGITKA_OIDC_CITIES__miasto__client_secret", "z-sejfu-123")
    provider = another_app().config["OIDC_PROVIDERS"]["miasto"]
    assert (provider.issuer, provider.client_id, provider.client_secret) == (ISSUER, "x", "z-sejfu-123")
    assert "z-sejfu-123" not in repr(provider)
