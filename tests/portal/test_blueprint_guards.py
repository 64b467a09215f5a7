"""Each audience's blueprint checks who may use it once (portal.access.guard_blueprint), so a
route added to it is guarded without a decorator of its own: every route of every guarded
blueprint sends an anonymous visitor to the sign-in page and answers 404 to a user of another
audience, and a blueprint with no guard must be listed as public with its reason."""

from __future__ import annotations

import pytest

from portal.access import PUBLIC_BLUEPRINTS
from tests.conftest import PASSWORD
from tests.conftest import pass_second_factor

AUDIENCE = {  # who signs in as an outsider for each guard (never a member of the audience)
    "school_director, school_secretary": "printer_operator",
    "printer_operator": "school_director",
    "city_official": "school_director",
    "data_protection_officer": "city_official",
    "platform admin": "city_official",
}


def _guarded_rules(app):
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        guard = getattr(blueprint, "legitka_guard", None)
        if guard is not None:
            url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
            method = "GET" if "GET" in rule.methods else "POST"
            yield rule.endpoint, guard, method, url


def test_every_blueprint_is_guarded_or_listed_as_public(app):
    unguarded = {name for name, bp in app.blueprints.items() if getattr(bp, "legitka_guard", None) is None}
    assert unguarded == set(PUBLIC_BLUEPRINTS)


@pytest.fixture
def outsiders(app, world, two_schools):
    """A signed-in test client for each kind of user, keyed by role."""
    printer = world.printer([two_schools["city"]])
    emails = {"school_director": "dyr.guard@test.pl", "printer_operator": "op.guard@test.pl",
              "city_official": "urz.guard@test.pl"}
    world.user(emails["school_director"], two_schools["a"], "school_director")
    world.user(emails["printer_operator"], printer, "printer_operator")
    world.user(emails["city_official"], two_schools["city"], "city_official")
    clients = {}
    for role in emails:
        client = app.test_client()
        page = client.get("/logowanie")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/logowanie", data={"csrf_token": token, "email": emails[role], "password": PASSWORD})
        response = pass_second_factor(client, emails[role], response)
        assert response.status_code == 302, role
        clients[role] = client
    return clients


def test_every_guarded_route_turns_away_strangers_and_other_audiences(app, outsiders):
    csrf = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = False  # the guard, not the CSRF check, must answer the POSTs
    try:
        routes = list(_guarded_rules(app))
        assert len(routes) > 100
        anonymous = app.test_client()
        for endpoint, guard, method, url in routes:
            response = anonymous.open(url, method=method)
            assert response.status_code == 302 and "/logowanie" in response.location, (endpoint, response.status_code)
            outsider = outsiders[AUDIENCE[guard]]
            response = outsider.open(url, method=method)
            assert response.status_code == 404, (endpoint, guard, response.status_code)
    finally:
        app.config["WTF_CSRF_ENABLED"] = csrf
