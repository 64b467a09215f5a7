"""Tenant isolation over HTTP: another tenant's object is a 404 on every URL (T1.11–T1.13)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from infra.db import db
from printing import operations as printing_ops
from printing.tasks import relay_outbox
from tenants.pupils import applications
from tenants.roster import operations as roster_import
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import letters
from tests.helpers import roster_csv
from tests.helpers import store_photo


def school_objects(app, school_id, user_id, printer_id, *, submit=True):
    """A pupil with a photo, an application, a draft order and a placed order, for one school."""
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        ids = {}
        pupils = []
        for i, serial in enumerate((101, 102)):
            born = dt.date(2018, 6, 1)
            pupil = add_pupil(actor, surname=f"Tajna-{letters(i)}", born=born, serial=serial)
            store_photo(actor, school, pupil)
            pupils.append(pupil)
        first = applications.create_application(actor, pupils[0])
        applications.decide_application(actor, first, approve=True)
        second = applications.create_application(actor, pupils[1])
        applications.decide_application(actor, second, approve=True)
        pending = store_photo(actor, school, pupils[1])
        pending.status = "pending"  # as if a parent had sent it: waiting in the review queue
        roster = roster_import.start(actor, roster_csv())
        draft = printing_ops.create_order(actor, school, printer_id, [second.id])
        placed = printing_ops.create_order(actor, school, printer_id, [first.id])
        cards = printing_ops.submit_order(actor, placed) if submit else []
        db.session.commit()
        ids.update(pupil=pupils[0].id, application=first.id, submission=pending.id, roster=roster.id,
                   draft=draft.id, order=placed.id, card=cards[0].id if cards else None)
        relay_outbox()
        return ids


def school_urls(ids):
    return [
        ("get", f"/szkola/uczniowie/{ids['pupil']}"),
        ("get", f"/szkola/uczniowie/{ids['pupil']}/zdjecie.jpg"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/zdjecie"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/wnioski"),
        ("get", f"/szkola/uczniowie/{ids['pupil']}/edycja"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/edycja"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/link-dla-rodzica"),
        ("post", f"/szkola/wnioski/{ids['application']}/zwrot"),
        ("post", f"/szkola/wnioski/{ids['application']}/wplata"),
        ("get", f"/szkola/wnioski/{ids['application']}/wniosek.pdf"),
        ("get", f"/szkola/zdjecia/{ids['submission']}.jpg"),
        ("post", f"/szkola/zdjecia/{ids['submission']}/decyzja"),
        ("get", f"/szkola/import/{ids['roster']}"),
        ("post", f"/szkola/import/{ids['roster']}/kolumny"),
        ("post", f"/szkola/import/{ids['roster']}/importuj"),
        ("post", f"/szkola/import/{ids['roster']}/odrzuc"),
        ("get", f"/szkola/ewidencja/legitymacja/{ids['card']}"),
        ("post", f"/szkola/ewidencja/legitymacja/{ids['card']}/zepsuta"),
        ("post", f"/szkola/ewidencja/legitymacja/{ids['card']}/uniewaznij"),
        ("post", f"/szkola/ewidencja/legitymacja/{ids['card']}/karta"),
        ("post", f"/szkola/ewidencja/legitymacja/{ids['card']}/hologram"),
        ("get", f"/szkola/ewidencja/zamowienie/{ids['order']}/lista-odbioru.pdf"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/papierowa"),
        ("get", f"/szkola/uczniowie/{ids['pupil']}/przeniesienie"),
        ("post", f"/szkola/uczniowie/{ids['pupil']}/przeniesienie"),
        ("post", f"/szkola/mlegitymacja/sprzeciw/{ids['pupil']}"),
        ("get", f"/szkola/wnioski/{ids['application']}"),
        ("post", f"/szkola/wnioski/{ids['application']}/decyzja"),
        ("get", f"/szkola/zamowienia/{ids['order']}"),
        ("get", f"/szkola/zamowienia/{ids['draft']}"),
        ("get", f"/szkola/zamowienia/{ids['draft']}/podglad.pdf"),
        ("post", f"/szkola/zamowienia/{ids['draft']}/zloz"),
        ("post", f"/szkola/zamowienia/{ids['draft']}/usun"),
        ("post", f"/szkola/zamowienia/{ids['order']}/ponow"),
        ("post", f"/szkola/zamowienia/{ids['order']}/dostarczone"),
        ("post", f"/szkola/zamowienia/{ids['order']}/dodruk"),
        ("post", f"/szkola/zamowienia/{ids['order']}/przekieruj"),
        ("post", f"/szkola/zamowienia/{ids['order']}/plik-do-druku.pdf"),
        ("post", f"/szkola/zamowienia/{ids['order']}/wyniki"),
        ("post", f"/szkola/legitymacje/{ids['card']}/wydanie"),
    ]


@pytest.fixture
def school_b(app, two_schools):
    return school_objects(app, two_schools["b"], two_schools["director_b"], two_schools["p1"])


@pytest.mark.parametrize("email", ["dyrektor.a@test.pl", "sekretariat.a@test.pl"])
def test_staff_of_school_a_get_404_for_every_school_b_url(browser, school_b, email):
    user = browser(email)
    for method, url in school_urls(school_b):
        response = getattr(user, method)(url, data={"decision": "approve"}) if method == "post" else user.get(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Tajna" not in response.get_data(as_text=True)


def test_school_b_urls_work_for_school_b(browser, school_b):
    director = browser("dyrektor.b@test.pl")
    assert director.get(f"/szkola/uczniowie/{school_b['pupil']}").status_code == 200
    assert director.get(f"/szkola/zamowienia/{school_b['order']}").status_code == 200


@pytest.mark.parametrize("email", ["urzednik@test.pl", "drukarnia.1@test.pl"])
def test_city_officials_and_printers_never_open_pupils(browser, school_b, email):
    user = browser(email)
    for method, url in school_urls(school_b) + [("get", "/szkola/"), ("get", "/szkola/uczniowie"),
                                                ("get", "/szkola/ewidencja")]:
        response = getattr(user, method)(url)
        assert response.status_code == 404, (email, url)


def test_printer_sees_only_its_own_orders(browser, school_b):
    other = browser("drukarnia.2@test.pl")
    assert f"/drukarnia/zamowienia/{school_b['order']}" not in other.get("/drukarnia/").get_data(as_text=True)
    assert other.get(f"/drukarnia/zamowienia/{school_b['order']}").status_code == 404
    for action in ("karty.pdf", "manifest.json", "paczka.7z", "haslo", "przyjmij", "odrzuc", "wyniki", "wyslane",
                   "faktura"):
        assert other.post(f"/drukarnia/zamowienia/{school_b['order']}/{action}").status_code == 404
    mine = browser("drukarnia.1@test.pl")
    assert mine.get(f"/drukarnia/zamowienia/{school_b['order']}").status_code == 200
    # A school's draft is not the printer's business yet.
    assert mine.get(f"/drukarnia/zamowienia/{school_b['draft']}").status_code == 404


def test_a_school_id_sent_by_the_client_is_ignored(browser, school_b, two_schools):
    user = browser("dyrektor.a@test.pl")
    page = user.get(f"/szkola/uczniowie?school_id={two_schools['b']}").get_data(as_text=True)
    assert "Tajna" not in page
    response = user.get(f"/szkola/uczniowie/{school_b['pupil']}", headers={"X-Tenant-ID": str(two_schools["b"])})
    assert response.status_code == 404


def test_switching_to_a_membership_one_does_not_hold_is_refused(browser, two_schools):
    user = browser("dyrektor.a@test.pl")
    assert user.post("/przelacz", {"membership_id": 999999}).status_code == 404


def test_every_route_refuses_anonymous_users(app, database):
    """Walks the whole url_map: no page but sign-in is open, no form works without a CSRF token.

    The parents' photo pages are open by design: their token is the credential, and an unknown
    one is refused as gone."""
    client = app.test_client()
    public = {"auth.login", "static", "auth.home", "auth.language"}
    by_token = {"parent.upload"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        if rule.endpoint.startswith("api."):
            continue  # bearer-token API, no sign-in page and no CSRF: test_api_routes_refuse_anonymous_callers
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(_fill(rule.rule), method=method)
            if method == "GET" and rule.endpoint in by_token:
                assert response.status_code == 410, rule.rule
            elif method == "GET":
                assert response.status_code == 302 and "/logowanie" in response.headers["Location"], rule.rule
            else:
                assert response.status_code == 400, (method, rule.rule)  # CSRF first


def _fill(rule: str) -> str:
    import re

    return re.sub(r"<(?:int:)?\w+>", "1", rule)


# --- the printers' API (portal.api): bearer tokens instead of sign-in and CSRF ------------------


def test_api_routes_refuse_anonymous_callers(app, database):
    """Every /api/v1 route but the token endpoint, the public OpenAPI document and the signed
    download link answers 401 `invalid_token` without a bearer token, in JSON, setting no cookie."""
    client = app.test_client()
    special = {"api.token": 400, "api.openapi_document": 200, "api.download": 403}  # 400: no grant_type
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    assert len(rules) >= 11
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(_fill(rule.rule), method=method)
            assert response.status_code == special.get(rule.endpoint, 401), (method, rule.rule)
            assert response.is_json and "Set-Cookie" not in response.headers, (method, rule.rule)
            if rule.endpoint not in special:
                assert response.json["error"]["code"] == "invalid_token"


def test_ids_beyond_bigint_are_a_404_on_every_route(app, browser, two_schools):
    """Every `<int:...>` in the url_map is bounded by BIGINT (portal.converters): 40 nines or 5,000
    digits are an unknown id, never a database error (the converter refuses before any view runs,
    so one signed-in user stands for every audience)."""
    from portal.converters import IdConverter

    rules = [rule for rule in app.url_map.iter_rules()
             if any(isinstance(c, IdConverter) for c in rule._converters.values())]
    assert len(rules) >= 40
    for email in ("dyrektor.a@test.pl",):
        user = browser(email)
        for huge in ("9223372036854775808", "9" * 40, "9" * 5000):
            for rule in rules:
                url = "/".join(huge if "<int" in part else re.sub(r"<[^>]+>", "1", part)
                               for part in rule.rule.split("/"))
                for method in rule.methods - {"HEAD", "OPTIONS"}:
                    response = user.client.open(url, method=method)  # no CSRF token: routing refuses first
                    # 405 where werkzeug's matcher weighs the method before the converter refuses
                    assert response.status_code in (404, 405), (email, method, rule.rule)
