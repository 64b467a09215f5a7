"""The isolation matrix (docs/security.md T1.11, T6.1): every endpoint of `app.url_map` × every
role × the owner of the object its URL names, each cell with the answer it must get.

`MATRIX` below is the one table of expectations: for each endpoint, who may use it and how its
path arguments are filled from the seeded world. An endpoint of url_map that is not in it fails
`test_every_endpoint_is_placed_in_the_matrix` until it is placed there, with one line.

The world: two cities, each built by tests/portal/fuzz_world.py (schools A and B, an external
printer P1 and the city's print centre, staff for every role, pupils, applications, orders in most
states, cards, imports, transfers, consultations), plus a blank protocol of school A and of P1 and
a finished council report. Everyone signs in to the first city (school A's director and
secretary, P1's operator, the city's official and data protection officer; the platform admin;
a parent holding a photo link of one of A's pupils; P1's system with an API bearer token).
*Own* objects are the first city's; *another owner's* are the same objects in the second city:
another school, another printer, another city. Built once per run and laid back for each test (tests/snapshots.py).

What each cell must answer, as the app answers consistently (portal/access.py, portal/api/,
portal/parent/):
- a role that may use the endpoint, its own object (or none named): 2xx or 3xx, and a signed-in
  user is not sent to the sign-in page;
- the same role, another owner's object: 404 (on the API the JSON error `not_found`);
- a role that may not use it: a signed-in member or platform admin gets 404, never 403 (another
  audience's page must not confirm it exists); a visitor who is not signed in (anonymous, a
  parent with a link, a printer's system with a bearer token) is sent to the sign-in page (302
  to /logowanie); on the printers' API anyone without a bearer token gets 401 `invalid_token` (a
  session cookie is no API credential);
- a path argument that is itself the credential (a parent's link, a signed download link): for
  every other role it is filled with a forged one, and the entry says what that answers.

Every GET cell is sent. A POST cell is sent where a refusal is expected, with the client's valid
CSRF token (so the guard, not the CSRF check, answers) and an empty form (on the API a valid JSON
body, which is checked before the order is looked up); no table may change (every table's digest
as the superuser reads it, minus what refusals write by design: `fuzzing.IGNORED`). Allowed POSTs
would change the world under the other cells: they are counted as not sent and left to each
feature's own tests.
"""

from __future__ import annotations

import collections
import dataclasses
import time

import pytest

from tests.conftest import Browser
from tests.portal import fuzz_world
from tests.portal import fuzzing

# --- who asks ------------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
PARENT = "parent"  # not signed in; holds a photo link of a pupil of school A
SECRETARY = "school_secretary"
DIRECTOR = "school_director"
OFFICIAL = "city_official"
OPERATOR = "printer_operator"
DPO = "data_protection_officer"  # the city's, for every school of the city (docs/dpo.md)
ADMIN = "platform_admin"
PRINTER_API = "printer_api"  # P1's system: an API bearer token, no session
ROLES = (ANONYMOUS, PARENT, SECRETARY, DIRECTOR, OFFICIAL, OPERATOR, DPO, ADMIN, PRINTER_API)
SIGNED_OUT = (ANONYMOUS, PARENT, PRINTER_API)
STAFF = (DIRECTOR, SECRETARY)
SIGNED_IN = (DIRECTOR, SECRETARY, OFFICIAL, OPERATOR, DPO, ADMIN)
EVERYONE = ROLES

SIGN_IN = "sign-in page"  # 302 to /logowanie
TAG = "drugie"  # the second city's world (fuzz_world.build's tag)


@dataclasses.dataclass(frozen=True)
class Entry:
    roles: frozenset[str]
    args: dict[str, str]  # path argument → a world object's name, or "=value" (the same for every owner)
    forged: int | None = None  # the argument is a credential: forged, every other role gets this status
    signed_out: int | str = SIGN_IN  # what a visitor who is not signed in gets when refused
    unowned: bool = False  # the object named is no tenant's to the roles allowed (the platform admin's users)
    status: int | str | None = None  # every cell answers this (it depends on the protocol's state, not the role)


def may(*roles: str, forged: int | None = None, signed_out: int | str = SIGN_IN, unowned: bool = False,
        status: int | str | None = None, **args: str) -> Entry:
    return Entry(frozenset(roles), args, forged, signed_out, unowned, status)


# --- the matrix -----------------------------------------------------------------------------------
# endpoint: may(who may use it, path argument=world object or "=value").
# World objects (see `objects`): pupil, application, submission (a photo waiting), roster_import,
# registry_import, card, order (placed with P1, accepted and downloaded), delivered (an order), school, transfer (into
# school A), consultation (the city's, open), report (a finished council report), api_client (P1's),
# school_protocol, printer_protocol (blank destruction), parent_link, download_link (credentials).
#
# Placing a new endpoint is one line here, e.g. `"auth.totp_setup": may(*SIGNED_IN),` or, for a page
# of a role the matrix has no user for yet, `"dpo.index": may(),` (every role here is then refused).
# A path argument naming a new kind of object also needs that object found in `objects` (one query);
# a new role needs its user in tests/portal/fuzz_world.py (EMAILS, `build`) and its name in ROLES
# (and SIGNED_IN).

MATRIX: dict[str, Entry] = {
    # sign-in and the shell: open to everyone; the switch needs a signed-in user
    "static": may(*EVERYONE, filename="=app.css"),
    "auth.home": may(*EVERYONE),
    "auth.login": may(*EVERYONE),
    "auth.logout": may(*EVERYONE),
    "auth.language": may(*EVERYONE),
    "auth.switch": may(*SIGNED_IN, signed_out=404),
    # the second factor (docs/security.md T2.3): a signed-in user may enrol (a secretary, by choice)
    "auth.enrol": may(*SIGNED_IN),
    "auth.second_factor": may(status=SIGN_IN),  # only for a sign-in waiting for its code: none here
    # the city's own sign-in (T2.18): no city named, no sign-in waiting: refused alike for everyone
    "city_sign_in.start": may(status=404),
    "city_sign_in.callback": may(status=400),
    # a parent's photo link: the token is the credential
    "parent.upload": may(PARENT, token="parent_link", forged=410),
    "parent.send": may(PARENT, token="parent_link", forged=410),
    # the platform admin
    "admin.organisations": may(ADMIN),
    "admin.duplicate_fees": may(ADMIN),
    "admin.add_duplicate_fee": may(ADMIN),
    "admin.close_duplicate_fee": may(ADMIN, fee_id="=1"),  # a period of the platform's fee, no tenant's
    "admin.users": may(ADMIN),
    "admin.reset_factor": may(ADMIN, user_id="staff_user", unowned=True),  # any organisation's user
    "admin.disable_user": may(ADMIN, user_id="staff_user", unowned=True),
    "admin.enable_user": may(ADMIN, user_id="staff_user", unowned=True),
    # the director's staff page (second factor reset, switch-off)
    "school_staff.index": may(DIRECTOR),
    "school_staff.reset_factor": may(DIRECTOR, staff_id="staff_user"),
    "school_staff.disable": may(DIRECTOR, staff_id="staff_user"),
    "school_staff.enable": may(DIRECTOR, staff_id="staff_user"),
    # the school's staff; a few decisions the director's alone
    "school.dashboard": may(*STAFF),
    "school.pupils": may(*STAFF),
    "school.new_pupil": may(*STAFF),
    "school.pupil": may(*STAFF, pupil_id="pupil"),
    "school.edit_pupil": may(*STAFF, pupil_id="pupil"),
    "school.photo": may(*STAFF, pupil_id="pupil"),
    "school.upload_photo": may(*STAFF, pupil_id="pupil"),
    "school.parent_link": may(*STAFF, pupil_id="pupil"),
    "school.paper_card": may(*STAFF, pupil_id="pupil"),
    "school.create_application": may(*STAFF, pupil_id="pupil"),
    "school.applications": may(*STAFF),
    "school.application": may(*STAFF, application_id="application"),
    "school.application_pdf": may(*STAFF, application_id="application"),
    "school.decide": may(DIRECTOR, application_id="application"),
    "school.record_payment": may(*STAFF, application_id="application"),
    "school.record_return": may(*STAFF, application_id="application"),
    "school.submitted_photo": may(*STAFF, submission_id="submission"),
    "school.orders": may(*STAFF),
    "school.new_order": may(*STAFF),
    "school.order": may(*STAFF, order_id="order"),
    "school.order_proof": may(*STAFF, order_id="order"),
    "school.submit_order": may(DIRECTOR, order_id="order"),
    "school.reprint": may(DIRECTOR, order_id="order"),
    "school.redirect_order": may(DIRECTOR, order_id="order"),
    "school.discard_order": may(*STAFF, order_id="order"),
    "school.retry_order": may(*STAFF, order_id="order"),
    "school.delivered": may(*STAFF, order_id="order"),
    "school.own_print_file": may(*STAFF, order_id="order"),
    "school.own_results": may(*STAFF, order_id="order"),
    "school.hand_over": may(*STAFF, card_id="card"),
    "school_settings.show": may(*STAFF),
    "school_settings.save": may(DIRECTOR),
    "school_settings.add_agreement": may(DIRECTOR),
    "school_settings.save_procedure": may(DIRECTOR),
    "school_settings.save_own_printer": may(DIRECTOR),
    "photos.queue": may(*STAFF),
    "photos.decide": may(*STAFF, submission_id="submission"),
    "photos.accept_clean": may(*STAFF),
    "photos.links": may(*STAFF),
    "photos.links_sheet": may(*STAFF),
    "photos.zip_upload": may(*STAFF),
    "imports.new_roster": may(*STAFF),
    "imports.upload": may(*STAFF),
    "imports.template": may(*STAFF, ext="=csv"),
    "imports.show": may(*STAFF, import_id="roster_import"),
    "imports.set_mapping": may(*STAFF, import_id="roster_import"),
    "imports.confirm": may(*STAFF, import_id="roster_import"),
    "imports.discard": may(*STAFF, import_id="roster_import"),
    "registry.index": may(*STAFF),
    "registry.book_pdf": may(*STAFF),
    "registry.book_xlsx": may(*STAFF),
    "registry.collection_notice": may(*STAFF),
    "registry.card": may(*STAFF, card_id="card"),
    "registry.blank": may(*STAFF, card_id="card"),
    "registry.hologram": may(*STAFF, card_id="card"),
    "registry.invalidate": may(*STAFF, card_id="card"),
    "registry.spoil": may(*STAFF, card_id="card"),
    "registry.handover_list": may(*STAFF, order_id="delivered"),
    "registry.import_new": may(*STAFF),
    "registry.import_upload": may(*STAFF),
    "registry.import_template": may(*STAFF, ext="=csv"),
    "registry.import_show": may(*STAFF, import_id="registry_import"),
    "registry.import_confirm": may(*STAFF, import_id="registry_import"),
    "registry.import_discard": may(*STAFF, import_id="registry_import"),
    "holograms.index": may(*STAFF),
    "holograms.receive": may(*STAFF),
    "holograms.protocol": may(*STAFF),
    "holograms.confirmation": may(*STAFF),
    "holograms.confirm": may(*STAFF),
    "blanks.index": may(*STAFF),
    "blanks.receive": may(*STAFF),
    "blanks.spoil": may(*STAFF),
    "blanks.destroy": may(*STAFF),
    "blanks.protocol": may(*STAFF, protocol_id="school_protocol"),
    "mleg.index": may(*STAFF),
    "mleg.export": may(*STAFF),
    "mleg.done": may(*STAFF),
    "mleg.objection": may(*STAFF, pupil_id="pupil"),
    "transfers.index": may(*STAFF),
    "transfers.confirm": may(*STAFF, pupil_id="pupil"),
    "transfers.send": may(*STAFF, pupil_id="pupil"),
    "transfers.show": may(*STAFF, transfer_id="transfer"),
    "transfers.photo": may(*STAFF, transfer_id="transfer"),
    "transfers.accept": may(*STAFF, transfer_id="transfer"),
    "transfers.decline": may(*STAFF, transfer_id="transfer"),
    "transfers.withdraw": may(*STAFF, transfer_id="transfer"),
    "consultations.index": may(*STAFF),
    "consultations.show": may(*STAFF, consultation_id="consultation"),
    "consultations.answer": may(DIRECTOR, consultation_id="consultation"),
    # the printer's operator
    "printer.orders": may(OPERATOR),
    "printer.settings": may(OPERATOR),
    "printer.order": may(OPERATOR, order_id="order"),
    "printer.accept": may(OPERATOR, order_id="order"),
    "printer.reject": may(OPERATOR, order_id="order"),
    "printer.download_manifest": may(OPERATOR, order_id="order"),
    "printer.download_package": may(OPERATOR, order_id="order"),
    "printer.download_pdf": may(OPERATOR, order_id="order"),
    "printer.package_password": may(OPERATOR, order_id="order"),
    "printer.results": may(OPERATOR, order_id="order"),
    "printer.shipped": may(OPERATOR, order_id="order"),
    "printer.invoice": may(OPERATOR, order_id="order"),
    "printer.confirm_deletion": may(OPERATOR, order_id="order"),
    "printer_api.clients": may(OPERATOR),
    "printer_api.create": may(OPERATOR),
    "printer_api.revoke": may(OPERATOR, client_pk="api_client"),
    "printer_blanks.index": may(OPERATOR),
    "printer_blanks.receive": may(OPERATOR),
    "printer_blanks.spoil": may(OPERATOR),
    "printer_blanks.destroy": may(OPERATOR),
    "printer_blanks.protocol": may(OPERATOR, protocol_id="printer_protocol"),
    # the city's official
    "city.overview": may(OFFICIAL),
    "city.rollout": may(OFFICIAL),
    "city.facts": may(OFFICIAL),
    "city.holograms": may(OFFICIAL),
    "city.lead_times": may(OFFICIAL),
    "city.money": may(OFFICIAL),
    "city.orders": may(OFFICIAL),
    "city.budget": may(OFFICIAL),
    "city.settings": may(OFFICIAL),
    "city.school": may(OFFICIAL, school_id="school"),
    "city.export": may(OFFICIAL, key="=rollout", fmt="=csv"),  # the rows are the official's own city's
    "city.council_reports": may(OFFICIAL),
    "city.council_report_file": may(OFFICIAL, report_id="report"),
    "city.council_report_again": may(OFFICIAL, report_id="report"),
    "city_costs.index": may(OFFICIAL),
    "city_costs.channels": may(OFFICIAL),
    "city_costs.what_if": may(OFFICIAL),
    "city_costs.reference": may(OFFICIAL),
    "city_costs.centre": may(OFFICIAL),
    "city_costs.export": may(OFFICIAL, key="=kanaly", fmt="=csv"),
    "city_scenarios.index": may(OFFICIAL),
    "city_scenarios.export": may(OFFICIAL, key="=porownanie", fmt="=csv"),
    "city_consultations.index": may(OFFICIAL),
    "city_consultations.show": may(OFFICIAL, consultation_id="consultation"),
    "city_consultations.open_": may(OFFICIAL, consultation_id="consultation"),
    "city_consultations.close": may(OFFICIAL, consultation_id="consultation"),
    "city_consultations.delete": may(OFFICIAL, consultation_id="consultation"),
    "city_consultations.export": may(OFFICIAL, consultation_id="consultation", key="=answers", fmt="=csv"),
    # the data protection officer: reads only
    "dpo.index": may(DPO),
    "dpo.find_pupil": may(DPO),
    "dpo.who_saw": may(DPO, school_id="school", pupil_id="pupil"),
    "dpo.printer_data": may(DPO),
    "dpo.agreements": may(DPO),
    "dpo.retention": may(DPO),
    "dpo.chain_check": may(DPO),
    # the printers' API: bearer tokens
    "api.openapi_document": may(*EVERYONE),
    "api.token": may(*EVERYONE),  # the client's credentials are in the request
    "api.download": may(PRINTER_API, token="download_link", forged=403),
    "api.orders": may(PRINTER_API),
    "api.order": may(PRINTER_API, order_id="order"),
    "api.package_password": may(PRINTER_API, order_id="order"),
    "api.accept": may(PRINTER_API, order_id="order"),
    "api.reject": may(PRINTER_API, order_id="order"),
    "api.download_link": may(PRINTER_API, order_id="order"),
    "api.results": may(PRINTER_API, order_id="order"),
    "api.shipment": may(PRINTER_API, order_id="order"),
    "api.invoice": may(PRINTER_API, order_id="order"),
    "api.deletion_confirmation": may(PRINTER_API, order_id="order"),
}


def test_every_endpoint_is_placed_in_the_matrix(app):
    """A new endpoint fails here until MATRIX says who may use it and how its arguments are filled."""
    rules = collections.defaultdict(set)
    for rule in app.url_map.iter_rules():
        rules[rule.endpoint] |= set(rule.arguments)
    problems = [f"new endpoint {endpoint} ({sorted(arguments)}): place it in MATRIX "
                f"(tests/portal/test_isolation_matrix.py), one line: who may use it, how its path arguments "
                f"are filled" for endpoint, arguments in sorted(rules.items()) if endpoint not in MATRIX]
    problems += [f"MATRIX names {endpoint}, which url_map no longer has" for endpoint in sorted(MATRIX.keys() - rules)]
    problems += [f"{endpoint}: MATRIX fills {sorted(entry.args)}, the route has {sorted(rules[endpoint])}"
                 for endpoint, entry in sorted(MATRIX.items())
                 if endpoint in rules and set(entry.args) != rules[endpoint]]
    problems += [f"{endpoint}: unknown role in MATRIX"
                 for endpoint, entry in MATRIX.items() if entry.roles - set(ROLES)]
    assert not problems, "\n".join(problems)


# --- the world ------------------------------------------------------------------------------------


def _extras(app, ids: fuzz_world.Ids) -> None:
    """What the fuzzer's world lacks for the matrix: a blank protocol of school A and of P1, and a
    council report asked for (its job, run with the world's others, finishes it)."""
    from infra.db import db
    from reports import council_report
    from reports.filters import Filters
    from tenants.tenancy.actors import Actor
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope
    from tests.helpers import blank_protocol

    with app.app_context():
        with tenant_scope(Tenant(school_id=ids.a)):
            blank_protocol(Actor(user_id=ids.users[DIRECTOR], role=DIRECTOR, organisation_id=ids.a), "S")
            db.session.commit()
        with tenant_scope(Tenant(printer_id=ids.p1)):
            blank_protocol(Actor(user_id=ids.users[OPERATOR], role=OPERATOR, organisation_id=ids.p1), "P")
            db.session.commit()
        with tenant_scope(Tenant(city_id=ids.city)):
            report = council_report.request_report(ids.city, ids.users[OFFICIAL], Filters.default())
            db.session.commit()
            council_report.send(report)


def objects(truth, ids: fuzz_world.Ids) -> dict[str, int]:
    """One world's object of each kind MATRIX names, read as the superuser."""
    a, p1, city = ids.a, ids.p1, ids.city
    queries = {
        "pupil": f"SELECT min(pupil_id) FROM cards WHERE school_id = {a}",  # photo, card, handed over
        "application": f"SELECT min(id) FROM applications WHERE school_id = {a}",
        "submission": f"SELECT min(id) FROM photo_submissions WHERE school_id = {a} AND status = 'pending'",
        "roster_import": f"SELECT min(id) FROM imports WHERE school_id = {a} AND kind = 'roster'",
        "registry_import": f"SELECT min(id) FROM imports WHERE school_id = {a} AND kind = 'registry'",
        "card": f"SELECT min(id) FROM cards WHERE school_id = {a}",
        # accepted and downloaded by P1: its package, password and links are P1's to fetch
        "order": f"SELECT min(id) FROM print_orders WHERE school_id = {a} AND printer_id = {p1} "
                 "AND status = 'downloaded'",
        "delivered": f"SELECT min(id) FROM print_orders WHERE school_id = {a} AND status = 'delivered'",
        "school": f"SELECT {a}",
        # school A's secretary: a user the director manages (and the platform admin)
        "staff_user": f"SELECT min(user_id) FROM memberships WHERE organisation_id = {a} AND role = 'school_secretary'",
        "transfer": f"SELECT min(id) FROM pupil_transfers WHERE to_school_id = {a}",
        "consultation": f"SELECT min(id) FROM consultations WHERE city_id = {city} AND status = 'open'",
        "report": f"SELECT min(id) FROM council_reports WHERE city_id = {city} AND status = 'ready'",
        "api_client": f"SELECT min(id) FROM api_clients WHERE printer_id = {p1}",
        "school_protocol": f"SELECT min(id) FROM blank_protocols WHERE holder_id = {a}",
        "printer_protocol": f"SELECT min(id) FROM blank_protocols WHERE holder_id = {p1}",
    }
    from sqlalchemy import text

    with truth.connect() as conn:
        found = {name: conn.execute(text(query)).scalar() for name, query in queries.items()}
    assert None not in found.values(), found
    return found


def _build(app, truth) -> dict:
    from tests.helpers import run_jobs

    worlds = {}
    for owner, tag in (("own", ""), ("other", TAG)):
        ids = fuzz_world.build(app, in_process_jobs=False, tag=tag)
        _extras(app, ids)
        run_jobs(app)  # the council reports
        worlds[owner] = dict(objects(truth, ids), parent_link=fuzz_world.parent_link(app, ids))
        worlds[f"{owner} ids"] = ids
    return worlds


@pytest.fixture
def matrix_world(app, snapshots):
    return snapshots.lay("isolation matrix", lambda: _build(app, snapshots.engine))


@dataclasses.dataclass
class Caller:
    client: object
    csrf: str
    headers: dict


@pytest.fixture
def callers(app, matrix_world) -> dict[str, Caller]:
    """A client for each role, signed in (or holding its credential) once for the whole test."""
    from tests.portal.test_api import token_for

    made = {}
    own = matrix_world["own ids"]
    for role in ROLES:
        browser = Browser(app.test_client())
        headers = {}
        if role in SIGNED_IN:
            response = browser.login(fuzz_world.EMAILS[role])
            assert response.status_code == 302, role
        elif role == PARENT:
            assert browser.get(f"/zdjecie/{matrix_world['own']['parent_link']}").status_code == 200
        elif role == PRINTER_API:
            headers = {"Authorization": f"Bearer {token_for(app, own.p1)}"}
        made[role] = Caller(browser.client, browser.csrf(), headers)
    # A signed download link of P1's ready order, issued by the API as the printer's system asks.
    response = made[PRINTER_API].client.post(f"/api/v1/orders/{matrix_world['own']['order']}/download-link",
                                             headers=made[PRINTER_API].headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    matrix_world["own"]["download_link"] = response.json["url"].rpartition("/")[2]
    return made


# --- the cells ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cell:
    endpoint: str
    method: str
    role: str
    owner: str  # "own", "other", or "-" when the URL names no tenant's object
    url: str
    expected: int | str  # a status, SIGN_IN, or "allowed"

    def __str__(self) -> str:
        return f"{self.endpoint} {self.method} as {self.role} ({self.owner}) {self.url}: expected {self.expected}"


def _refusal(endpoint: str, entry: Entry, role: str) -> int | str:
    if entry.forged is not None:
        return entry.forged
    if endpoint.startswith("api."):
        return 401
    return entry.signed_out if role in SIGNED_OUT else 404


def cells(app, worlds: dict, method: str) -> list[Cell]:
    """Every cell of the matrix for `method`, in url_map's order."""
    made = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        if method not in rule.methods:
            continue
        entry = MATRIX[rule.endpoint]
        owned = entry.forged is None and not entry.unowned and any(
            not value.startswith("=") for value in entry.args.values())
        for role in ROLES:
            for owner in ("own", "other") if owned else ("-",):
                world = worlds["other" if owner == "other" else "own"]
                allowed = role in entry.roles
                values = {}
                for name, value in entry.args.items():
                    if value.startswith("="):
                        values[name] = value[1:]
                    elif entry.forged is not None and not allowed:
                        values[name] = "Zm9yZ2Vk.sfa1szywy-token"  # forged
                    else:
                        values[name] = world[value]
                url = rule.build(values, append_unknown=False)[1]
                if entry.status is not None:
                    expected = entry.status
                elif not allowed:
                    expected = _refusal(rule.endpoint, entry, role)
                elif owner == "other":
                    expected = 404
                else:
                    expected = "allowed"
                made.append(Cell(rule.endpoint, method, role, owner, url, expected))
    return made


def _api_body(endpoint: str) -> dict:
    """A valid body for each API action: a malformed one is refused (422) before the order is looked up."""
    from tests.portal.test_api import ORDER_ENDPOINTS

    bodies = {suffix.strip("/").replace("-", "_"): body for _method, suffix, body in ORDER_ENDPOINTS if body}
    return bodies.get(endpoint.partition(".")[2], {})


def send(callers: dict[str, Caller], cell: Cell):
    """The response, or None and the crash (the app lets exceptions through in tests) in a few words."""
    caller = callers[cell.role]
    if cell.method == "GET":
        return fuzzing.call(caller.client, "GET", cell.url, headers=caller.headers)
    if cell.endpoint.startswith("api."):
        return fuzzing.call(caller.client, "POST", cell.url, json=_api_body(cell.endpoint), headers=caller.headers)
    return fuzzing.call(caller.client, "POST", cell.url, data={"csrf_token": caller.csrf}, headers=caller.headers)


def verdict(cell: Cell, response) -> str | None:
    """What is wrong with the answer to `cell`, or None."""
    status, location = response.status_code, response.headers.get("Location", "")
    if cell.expected == "allowed":
        if not 200 <= status < 400:
            return f"{cell}, got {status}"
        if cell.role not in SIGNED_OUT and "/logowanie" in location:
            return f"{cell}, got sent to sign in"
        return None
    if cell.expected == SIGN_IN:
        if status != 302 or "/logowanie" not in location:
            return f"{cell}, got {status} {location}"
        return None
    if status != cell.expected:
        return f"{cell}, got {status}"
    if cell.endpoint.startswith("api.") and status in (401, 404):
        code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
        if code != {401: "invalid_token", 404: "not_found"}[status]:
            return f"{cell}, got {status} with error code {code}"
    return None


def check(callers, cell: Cell) -> str | None:
    response, crash = send(callers, cell)
    if response is None:
        return f"{cell}, crashed: {crash}"
    try:
        return verdict(cell, response)
    finally:
        response.close()  # a file's answer (static, downloads) holds it open until closed


def walk(callers, snapshots, cell_list: list[Cell], *, send_allowed: bool) -> tuple[list[str], collections.Counter]:
    """Each endpoint's refusal cells first, then a digest of every table (nothing may have changed),
    then its allowed cells (when `send_allowed`)."""
    problems, counts = [], collections.Counter()
    by_endpoint = collections.defaultdict(list)
    for cell in cell_list:
        by_endpoint[cell.endpoint].append(cell)
    baseline = snapshots.take()
    for endpoint, endpoint_cells in by_endpoint.items():
        refusals = [c for c in endpoint_cells if c.expected != "allowed"]
        for cell in refusals:
            problems.append(check(callers, cell))
            counts["refusals sent"] += 1
        after = snapshots.take()
        if changed := fuzzing.changed(baseline, after):
            problems.append(f"{endpoint}: refused requests changed {changed}")
        for cell in endpoint_cells:
            if cell.expected != "allowed":
                continue
            if send_allowed:
                problems.append(check(callers, cell))
                counts["allowed sent"] += 1
            else:
                counts["allowed not sent"] += 1
        baseline = snapshots.take() if send_allowed else after
    return [p for p in problems if p], counts


@pytest.fixture
def table_digests(database):
    taken = fuzzing.postgresql_snapshots()
    yield taken
    taken.connection.close()


def test_every_get_cell(app, matrix_world, callers, table_digests):
    """Every GET endpoint × every role × own or another owner's object answers as MATRIX says,
    and the refused ones change no row."""
    began = time.perf_counter()
    cell_list = cells(app, matrix_world, "GET")
    assert len(cell_list) > 800
    problems, counts = walk(callers, table_digests, cell_list, send_allowed=True)
    print(f"\n{len(cell_list)} GET cells in {time.perf_counter() - began:.1f} s: {dict(counts)}")
    assert not problems, "\n".join(problems)


def test_every_post_refusal_cell(app, matrix_world, callers, table_digests):
    """Every POST endpoint × every role that may not use it, and every allowed role × another
    owner's object, is refused as MATRIX says, and changes no row."""
    began = time.perf_counter()
    cell_list = cells(app, matrix_world, "POST")
    assert len(cell_list) > 600
    problems, counts = walk(callers, table_digests, cell_list, send_allowed=False)
    print(f"\n{len(cell_list)} POST cells in {time.perf_counter() - began:.1f} s: {dict(counts)}")
    assert not problems, "\n".join(problems)
