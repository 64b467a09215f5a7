"""Redirect targets taken from the client (`?next=` at sign-in, the language switch's `next`) are
followed only when they are a path on this site (portal.redirects.local_target); anything else
sends the browser home, and no value gives a server error."""

from __future__ import annotations

from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest

from portal.redirects import local_target
from tests.conftest import PASSWORD
from tests.conftest import Browser
from tests.conftest import pass_second_factor

# Values as the server receives them (after the query string or form is decoded).
HOSTILE = [
    "/\t/evil.com", "/\n/evil.com", "/\r/evil.com", "/\r\n/evil.com", "\t//evil.com", "/\x00/evil.com",
    "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\\/evil.com", "https://evil.com",
    "http:/evil.com", "https:evil.com", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
    " //evil.com", "/ /evil.com", "/\u00a0/evil.com", "/\u3000/evil.com", "/\u2028/evil.com", "/\u200b/evil.com",
    "/\u202e/moc.live", "/\ufeff/evil.com", "/%09/evil.com", "/%0A/evil.com", "/%2F/evil.com", "/%2f%2fevil.com",
    "/%5Cevil.com", "/%252F/evil.com", "/%25252F/evil.com", "%2F%2Fevil.com", "/..//evil.com", "/./x",
    "/%2e%2e//evil.com", "/%ff", "evil.com", "ok/path", "", "/" + "a" * 3000,
]
ALLOWED = ["/", "/ok/path?x=1", "/szkola/uczniowie?q=%C5%81ukasz&klasa=1a", "/szkola/uczniowie?q=Łukasz",
           "/szkola/uczniowie#lista", "/drukarnia/zamowienia/12", "/ok/path?next=//evil.com"]


def lands_on(location: str) -> str:
    """The host a browser would go to for this Location, read as leniently as browsers do (tab,
    CR and LF dropped, leading spaces and controls trimmed, backslash as slash)."""
    cleaned = "".join(ch for ch in location if ch not in "\t\r\n").lstrip("\x00\x01\x02\x03 ").replace("\\", "/")
    return urlsplit(urljoin("http://localhost/logowanie", cleaned)).netloc


@pytest.mark.parametrize("value", HOSTILE)
def test_local_target_refuses_anything_but_a_path_on_this_site(value):
    assert local_target(value) is None


@pytest.mark.parametrize("value", ALLOWED)
def test_local_target_keeps_paths_on_this_site(value):
    assert local_target(value) == value


def sign_in(app, query: str, email: str = "sekretariat.a@test.pl"):
    """Sign in with `?query`; by default as a secretary without a second factor (the password's
    answer is the redirect to the target: dozens of sign-ins need no code each). A user with a
    second factor gets the target after the code (`pass_second_factor`)."""
    client = Browser(app.test_client())
    response = client.client.post("/logowanie?" + query, data={"email": email, "password": PASSWORD,
                                                               "csrf_token": client.csrf()})
    return pass_second_factor(client.client, email, response)


def expected(value: str) -> str:
    return quote(value, safe="/?=&#%") if value in ALLOWED else "/"


def test_sign_in_follows_only_local_next(app, two_schools):
    """One sign-in per value (a loop, not parameters: each sign-in is an argon2 check, and the
    two schools are built once); every wrong answer is listed."""
    wrong = {}
    for value in HOSTILE + ALLOWED:
        response = sign_in(app, "next=" + quote(value, safe=""))
        location = response.headers.get("Location", "")
        if response.status_code != 302 or lands_on(location) != "localhost" or location != expected(value):
            wrong[value] = (response.status_code, location)
    assert wrong == {}


# The issue's payloads exactly as typed into the address bar (the query string undecoded).
RAW_QUERIES = ["next=/%09/evil.com", "next=/%0A/evil.com", "next=/%0D%0A/evil.com", "next=//evil.com",
               "next=/\\evil.com", "next=/%5C/evil.com", "next=https://evil.com", "next=%2F%2Fevil.com",
               "next=/%2509/evil.com", "next=javascript:alert(1)", "next=/%E2%80%AE/moc.live", "next=%00",
               "next=/%FF%FE", "next=%C0%AF%C0%AFevil.com", "next=/ok&next=//evil.com", "next=//evil.com&next=/ok"]


def test_sign_in_with_the_issues_payloads_never_leaves_the_site(app, two_schools):
    wrong = {}
    for query in RAW_QUERIES:
        page = app.test_client().get("/logowanie?" + query)
        response = sign_in(app, query)
        if (page.status_code != 200 or "evil.com" in page.get_data(as_text=True)  # the form carries no bad target
                or response.status_code != 302 or response.headers["Location"] not in ("/", "/ok")):
            wrong[query] = (page.status_code, response.status_code, response.headers.get("Location"))
    assert wrong == {}


def test_the_sign_in_form_keeps_a_local_next(app, two_schools):
    client = Browser(app.test_client())
    page = client.client.get("/logowanie?next=" + quote("/szkola/uczniowie?klasa=1a", safe="")).get_data(as_text=True)
    assert 'action="/logowanie?next=/szkola/uczniowie?klasa%3D1a"' in page
    response = sign_in(app, "next=/szkola/uczniowie?klasa%3D1a")
    assert response.headers["Location"] == "/szkola/uczniowie?klasa=1a"
    # A director's sign-in goes through the second factor and then to the same target; a hostile one is dropped.
    assert sign_in(app, "next=/szkola/uczniowie?klasa%3D1a", "dyrektor.a@test.pl").headers["Location"] == \
        "/szkola/uczniowie?klasa=1a"
    assert sign_in(app, "next=//evil.com", "dyrektor.a@test.pl").headers["Location"] == "/"


def test_a_page_that_needs_signing_in_comes_back_after_it(app, two_schools):
    client = Browser(app.test_client())
    sent = client.get("/szkola/uczniowie?klasa=1a")
    assert sent.status_code == 302
    login_url = sent.headers["Location"]
    response = client.client.post(login_url, data={"email": "dyrektor.a@test.pl", "password": PASSWORD,
                                                   "csrf_token": client.csrf()})
    assert response.headers["Location"] == "/logowanie/drugi-skladnik"  # the director enrols first
    response = pass_second_factor(client.client, "dyrektor.a@test.pl", response)
    assert response.headers["Location"] == "/szkola/uczniowie?klasa=1a"


def test_the_language_switch_follows_only_local_next(app):
    client = Browser(app.test_client())
    wrong = {}
    for value in HOSTILE + ALLOWED:
        response = client.post("/jezyk", {"lang": "en", "next": value})
        location = response.headers.get("Location", "")
        if response.status_code != 302 or lands_on(location) != "localhost" or location != expected(value):
            wrong[value] = (response.status_code, location)
    assert wrong == {}
