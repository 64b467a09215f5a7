"""Tenant isolation over HTTP: another tenant's object is a 404 on every URL (T1.11–T1.13)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from infra.db import db
from printing import operations as printing_ops
from printing.tasks import relay_outbox
from tenants.pupils import applications
from tenants.registry import imports as registry_imports
from tenants.roster import operations as roster_import
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import blank_protocol
from tests.helpers import letters
from tests.helpers import registry_csv
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
        register = registry_imports.start(actor, registry_csv())  # a register's import (docs/domain.md §24)
        draft = printing_ops.create_order(actor, school, printer_id, [second.id])
        placed = printing_ops.create_order(actor, school, printer_id, [first.id])
        cards = printing_ops.submit_order(actor, placed) if submit else []
        db.session.commit()
        ids.update(pupil=pupils[0].id, application=first.id, submission=pending.id, roster=roster.id,
                   registry_import=register.id, draft=draft.id, order=placed.id, card=cards[0].id if cards else None)
        relay_outbox()
        return ids


# --- the walk over app.url_map ---------------------------------------------------------------

# Who asks, by the blueprint's guard (portal.access.guard_blueprint); the printers' API by its prefix.
AUDIENCES = {"school_director, school_secretary": "school", "printer_operator": "printer",
             "city_official": "city", "data_protection_officer": "dpo"}

# Each path argument, per audience: the names (keys of the `others` fixture) of another tenant's
# objects put into it, one request each.
FILL = {
    "school": {"pupil_id": ("pupil",), "application_id": ("application",), "submission_id": ("submission",),
               "import_id": ("roster", "registry_import"), "card_id": ("card",), "order_id": ("order", "draft"),
               "transfer_id": ("transfer",), "protocol_id": ("blank_protocol", "printer_blank_protocol"),
               "consultation_id": ("consultation",), "staff_id": ("director_b",)},
    "printer": {"order_id": ("order", "draft"), "client_pk": ("api_client",),
                "protocol_id": ("printer_blank_protocol", "blank_protocol")},
    "city": {"school_id": ("other_city_school",), "report_id": ("report",), "consultation_id": ("consultation",),
             "key": ("table_key",), "fmt": ("csv", "xlsx")},
    "api": {"order_id": ("order", "draft")},
    "dpo": {"school_id": ("other_city_school",), "pupil_id": ("pupil",)},  # tests/portal/test_dpo.py walks these
}

# Rules whose path arguments name no tenant's object, each with its reason.
NOT_WALKED = {
    "static": "<filename> is a file of the app's own, the same for everyone",
    "parent.upload": "<token> is the parent's credential, not an id (tests/portal/test_parent_photos.py)",
    "parent.send": "<token> is the parent's credential, not an id (tests/portal/test_parent_photos.py)",
    "api.download": "<token> is a signed link, the credential itself (tests/portal/test_api.py)",
    "city.export": "<key>.<fmt> name a table and a format; the rows are the official's own city's",
    "city_costs.export": "<key>.<fmt> name a table and a format; the rows are the official's own city's",
    "imports.template": "<ext> is a blank template's format",
    "registry.import_template": "<ext> is a blank template's format",
    "admin.close_duplicate_fee": "<fee_id> is a period of the platform's duplicate fee, no tenant's (platform "
                                 "admins only; tests/portal/test_duplicate_fee_admin.py)",
    **{endpoint: "<user_id> is any account: platform admins only, who manage every one "
                 "(tests/portal/test_second_factor.py)"
       for endpoint in ("admin.reset_factor", "admin.disable_user", "admin.enable_user")},
}


def audience_of(app, rule) -> str | None:
    if rule.endpoint.startswith("api."):
        return "api"
    blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
    return AUDIENCES.get(getattr(blueprint, "legitka_guard", None))


def walk(app, audience: str, others: dict):
    """(endpoint, method, url) for every method of every rule of `audience` with path arguments,
    once for each combination of another tenant's objects `FILL` names for its arguments."""
    import itertools

    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint in NOT_WALKED or audience_of(app, rule) != audience:
            continue
        names = sorted(rule.arguments)
        for chosen in itertools.product(*(FILL[audience][name] for name in names)):
            url = rule.build({name: others[key] for name, key in zip(names, chosen, strict=True)},
                             append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url


def test_every_rule_with_path_arguments_is_walked_or_listed(app):
    """A new rule with a path argument fails here until `FILL` can fill it for its audience or
    `NOT_WALKED` says why it names no tenant's object."""
    unknown = []
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint in NOT_WALKED:
            continue
        audience = audience_of(app, rule)
        if audience is None or not rule.arguments <= FILL[audience].keys():
            unknown.append((rule.endpoint, rule.rule, audience))
    assert unknown == []
    assert set(NOT_WALKED) <= {rule.endpoint for rule in app.url_map.iter_rules()}  # no stale entry


def rows(truth) -> dict:
    """Every table's rows as the superuser sees them (no policy), to prove that nothing changed.
    `access_log` and its chain heads are left out: refusals and sign-ins are logged by design."""
    from sqlalchemy import text

    with truth.connect() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'access_log', 'access_log_heads')")).scalars().all()
        return {t: sorted(map(str, conn.execute(text(f"SELECT * FROM {t}")).all())) for t in tables}  # noqa: S608


@pytest.fixture
def truth(database):
    from sqlalchemy import create_engine
    from sqlalchemy import pool

    from tests.conftest import SUPERUSER_URL

    engine = create_engine(SUPERUSER_URL, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def school_b(app, two_schools):
    return school_objects(app, two_schools["b"], two_schools["director_b"], two_schools["p1"])


@pytest.fixture
def others(app, world, two_schools, school_b):
    """School B's objects (`school_b`), a transfer of one of its pupils to a third school of the
    city, printer P1's API client, and a school, a council report and an open consultation (with its
    school's answer) of another city: nothing here belongs to school A, printer P2 or city C's official."""
    from infra import clock
    from infra import inputs
    from printing import api_clients
    from reports import council_report
    from reports.filters import Filters
    from tenants.consultations import operations as consultations
    from tenants.transfers import operations as transfer

    c = world.school(two_schools["city"], "Szkoła Podstawowa nr 3")
    other_city = world.city("Miasto Drugie")
    other_school = world.school(other_city, "Szkoła Podstawowa nr 9 w Drugim")
    b = two_schools["b"]
    actor = Actor(user_id=two_schools["director_b"], role="school_director", organisation_id=b)
    with app.app_context():
        with tenant_scope(Tenant(school_id=b)):
            school = db.session.get(Organisation, b)
            pupil = add_pupil(actor, surname="Tajna-Przenoszona", serial=103)
            store_photo(actor, school, pupil)
            moved = transfer.send(actor, school, pupil, c)
            protocol = blank_protocol(actor, "B", committee="Tajna komisja")
            db.session.commit()
            ids = dict(school_b, transfer=moved.id, other_city_school=other_school, p2=two_schools["p2"],
                       blank_protocol=protocol.id, director_b=two_schools["director_b"])
        p1 = two_schools["p1"]
        with tenant_scope(Tenant(printer_id=p1)):
            operator = Actor(user_id=None, role="printer_operator", organisation_id=p1)
            made = api_clients.create_client(operator, name="System produkcji", scopes=("batches:read",))
            printer_protocol = blank_protocol(operator, "P", committee="Tajna komisja drukarni")
            db.session.commit()
            ids["api_client"], ids["printer_blank_protocol"] = made.client.id, printer_protocol.id
        with tenant_scope(Tenant(city_id=other_city)):
            report = council_report.request_report(other_city, None, Filters())
            deadline = inputs.format_day(clock.today() + dt.timedelta(days=30))
            consultation = consultations.open_(consultations.save(
                other_city, Actor(user_id=None, role="city_official", organisation_id=other_city),
                {"title": "Konsultacja w Drugim", "deadline": deadline}))
            db.session.commit()
            ids.update(report=report.id, consultation=consultation.id, table_key="answers", csv="csv", xlsx="xlsx")
        with tenant_scope(Tenant(school_id=other_school)):
            director = Actor(user_id=None, role="school_director", organisation_id=other_school)
            consultations.answer(director, db.session.get(Organisation, other_school), consultation, {
                "satisfaction": "4", "staff_hours": "3", "preference": "no_opinion", "comments": "Tajna-uwaga"})
            db.session.commit()
    return ids


@pytest.mark.parametrize("email", ["dyrektor.a@test.pl", "sekretariat.a@test.pl"])
def test_staff_of_school_a_get_404_for_every_school_b_url(app, browser, others, truth, email):
    """Every school route with a path argument, filled with each of school B's objects (and a
    transfer between B and a third school): 404, nothing of B's shown, and nothing changed."""
    user = browser(email)
    before = rows(truth)
    requests = list(walk(app, "school", others))
    assert len(requests) >= 45
    for endpoint, method, url in requests:
        response = user.post(url, data={"decision": "approve"}) if method == "POST" else user.get(url)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert "Tajna" not in response.get_data(as_text=True)
    assert rows(truth) == before


def test_school_b_urls_work_for_school_b(browser, school_b):
    director = browser("dyrektor.b@test.pl")
    assert director.get(f"/szkola/uczniowie/{school_b['pupil']}").status_code == 200
    assert director.get(f"/szkola/zamowienia/{school_b['order']}").status_code == 200


@pytest.mark.parametrize("email", ["urzednik@test.pl", "drukarnia.1@test.pl"])
def test_city_officials_and_printers_never_open_pupils(app, browser, others, email):
    user = browser(email)
    requests = [(method, url) for _endpoint, method, url in walk(app, "school", others)]
    for method, url in requests + [("GET", "/szkola/"), ("GET", "/szkola/uczniowie"), ("GET", "/szkola/ewidencja")]:
        response = user.post(url) if method == "POST" else user.get(url)
        assert response.status_code == 404, (email, url)


def test_printer_sees_only_its_own_orders(app, browser, others, truth):
    other = browser("drukarnia.2@test.pl")
    assert f"/drukarnia/zamowienia/{others['order']}" not in other.get("/drukarnia/").get_data(as_text=True)
    before = rows(truth)
    requests = list(walk(app, "printer", others))
    assert len(requests) >= 20
    for endpoint, method, url in requests:  # P1's orders and P1's API client, asked for by P2
        response = other.post(url) if method == "POST" else other.get(url)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert "Tajna" not in response.get_data(as_text=True)
    assert rows(truth) == before
    mine = browser("drukarnia.1@test.pl")
    assert mine.get(f"/drukarnia/zamowienia/{others['order']}").status_code == 200
    # A school's draft is not the printer's business yet.
    assert mine.get(f"/drukarnia/zamowienia/{others['draft']}").status_code == 404


def test_a_city_official_gets_404_for_another_citys_objects(app, browser, others, truth):
    official = browser("urzednik@test.pl")
    before = rows(truth)
    requests = list(walk(app, "city", others))
    assert len(requests) >= 3
    for endpoint, method, url in requests:
        response = official.post(url) if method == "POST" else official.get(url)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert "Drugim" not in response.get_data(as_text=True)
    assert rows(truth) == before


def test_another_printers_api_token_gets_404_for_every_order_route(app, others, truth):
    from tests.portal.test_api import ORDER_ENDPOINTS
    from tests.portal.test_api import bearer
    from tests.portal.test_api import token_for

    # A valid body for each action: a malformed one is refused (422) before the order is looked up.
    bodies = {suffix.strip("/"): body for _method, suffix, body in ORDER_ENDPOINTS if body}

    client = app.test_client()
    other = token_for(app, others["p2"])
    before = rows(truth)
    requests = list(walk(app, "api", others))
    assert len(requests) >= 16
    for endpoint, method, url in requests:
        response = client.open(url, method=method, json=bodies.get(url.rpartition("/")[2], {}),
                               headers=bearer(other))
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert response.json["error"]["code"] == "not_found" and "Tajna" not in response.get_data(as_text=True)
    assert rows(truth) == before


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
    public = {"auth.login", "static", "auth.home", "auth.language",
              "city_sign_in.callback"}  # without the state it started: 400 (tests/portal/test_city_sign_in.py)
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


def test_the_centralisation_scenarios_are_the_city_officials_own(app, browser, others):
    """/miasto/koszty/scenariusze/ (no path argument, so not walked above): city officials only, and
    only their own city's schools and orders; school staff and printers get 404."""
    official = browser("urzednik@test.pl")
    page = official.get("/miasto/koszty/scenariusze/?rok=2000")
    assert page.status_code == 200
    page = official.get("/miasto/koszty/scenariusze/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Drugim" not in text and "Tajna" not in text
    assert "Szkoła Podstawowa nr 2" in text  # school B's placed order is this city's
    for email in ("dyrektor.a@test.pl", "sekretariat.a@test.pl", "drukarnia.1@test.pl"):
        assert browser(email).get("/miasto/koszty/scenariusze/").status_code == 404, email
