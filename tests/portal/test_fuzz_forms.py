"""The form fuzzer (issue 13). For every role, every page's forms and query parameters — found by
crawling what that role can reach and parsing the HTML it gets (tests/portal/fuzzing.py), so a
new page, form or field is covered without editing this file — get hostile values field by
field, the other fields valid, on PostgreSQL and on the embedded SQLite default. No response may
be a server error; a refused request (4xx) may change no row; a GET may change no row at all.

Roles: the school's director and secretary, a printer's operator, a city official, a platform
admin, a parent with a photo link, an anonymous visitor, and a printer's system on the API
(its forms are the request bodies and parameters of the OpenAPI document; errors must be JSON
with a code). The world they act in: tests/portal/fuzz_world.py.

What is sent (deterministic; the same every run):
- each page as linked, then each of its query parameters hostile (a parameter once per area of
  the site), then every parameter the role uses anywhere, all at once, on every page;
- each URL variable as an id no row can have (40 nines) and as NUL;
- each field of each POST form with its values from `fuzzing.values_for` (what breaks numbers,
  dates or text, shared out among fields of the same shape), file fields with hostile files,
  then the form as rendered. A form another role already fuzzed is not fuzzed again.

The run fails when a POST route of url_map was exercised by no role (unless listed in
NOT_FUZZED with its reason) or when fewer forms than MIN_FORMS were found.
"""

from __future__ import annotations

import collections
import json
import re
import time

import pytest

from tests.conftest import PASSWORD
from tests.conftest import pass_second_factor
from tests.portal import fuzz_world
from tests.portal import fuzzing
from tests.portal.fuzzing import FILES
from tests.portal.fuzzing import HOSTILE
from tests.portal.fuzzing import Field
from tests.portal.fuzzing import Finding

ROLES = ("school_director", "school_secretary", "printer_operator", "city_official", "data_protection_officer",
         "platform_admin", "parent", "anonymous")
STARTS = {"school_director": "/szkola/", "school_secretary": "/szkola/", "printer_operator": "/drukarnia/",
          "city_official": "/miasto/", "data_protection_officer": "/iod/", "platform_admin": "/admin/",
          "anonymous": "/logowanie"}
MAX_URLS_PER_ENDPOINT = 30  # pages of one kind crawled per role (each order's page has other forms)
MAX_FILES_PER_ENDPOINT = 2  # PDFs, spreadsheets, photos: the same code whatever the object
SATURATED = 3  # pages of one endpoint in a row that showed nothing new: its other objects are skipped
SAME_TENANT_CAP = 4  # a second role of a tenant already crawled (the secretary after the director)
MIN_FORMS = 55  # distinct forms found on this world (61 when written): far fewer means discovery broke
URL_VALUES = {"40 nines": "9" * 40, "NUL": "%00"}

# POST routes no role's page offers, or whose forms are not sent, each with its reason; every other
# POST route of url_map must be exercised (the test also fails when an entry is no longer needed).
_ACCOUNT_SWITCH = ("sent as rendered it switches off or resets another fuzzing role's account, whose sessions "
                   "end (docs/security.md T2.5): no field to fuzz; tests/portal/test_second_factor.py")
NOT_FUZZED: dict[str, str] = {
    "auth.second_factor": "offered only between the password and the code, never to a signed-in role; "
                          "tests.conftest.pass_second_factor and tests/portal/test_second_factor.py send it",
    "school_staff.reset_factor": _ACCOUNT_SWITCH, "school_staff.disable": _ACCOUNT_SWITCH,
    "school_staff.enable": _ACCOUNT_SWITCH, "admin.reset_factor": _ACCOUNT_SWITCH,
    "admin.disable_user": _ACCOUNT_SWITCH, "admin.enable_user": _ACCOUNT_SWITCH,
    "city_sign_in.start": "its button shows only where a city's OpenID Connect provider is configured, and "
                          "starting needs the provider; its refusals: tests/portal/test_city_sign_in.py",
}

# Findings inside another engineer's part of issue 13 that the global fixes do not cover, left
# to its owner: (endpoint, field, hostile value) → owner. None at the moment.
OWNED_ELSEWHERE: dict[tuple[str, str, str], str] = {}


class Fuzzer:
    def __init__(self, app, snapshots, label: str):
        self.app, self.snapshots, self.label = app, snapshots, label
        self.adapter = app.url_map.bind("localhost")
        self.findings: list[Finding] = []
        self.exercised: set[tuple[str, str]] = set()  # (endpoint, method)
        self.forms: set[str] = set()  # form keys fuzzed
        self.rendered_accepted = 0  # forms whose as-rendered submission was accepted
        self.done: set = set()  # what a role already fuzzed: query parameters, URL variables
        self.baseline: dict | None = None  # the tables' digests since the last change
        self.unsettled = ""  # the first GET sent since the last snapshot
        self.requests = 0
        self.phase = "crawl"
        self.phases: collections.Counter = collections.Counter()
        self.statuses: collections.Counter = collections.Counter()

    def match(self, path: str, method: str = "GET") -> tuple[str, dict] | None:
        try:
            return self.adapter.match(path, method=method)
        except Exception:  # noqa: BLE001 (404, 405, redirects: no route of this method)
            return None

    # --- one request, checked ------------------------------------------------------------------

    def send(self, role: str, client, method: str, url: str, *, field: str = "", value: str = "", **kw):
        """No 5xx; a refused request (4xx) changes no row. GETs are checked in batches
        (`settle`): none may change a row, refused or not."""
        if method != "GET":
            self.settle(role)
        if self.baseline is None:
            self.baseline = self.snapshots.take()
        response, crash = fuzzing.call(client, method, url, **kw)
        self.requests += 1
        self.phases[self.phase] += 1
        status = response.status_code if response is not None else 500
        self.statuses[f"{status // 100}xx"] += 1
        matched = self.match(url.split("?")[0], method)
        endpoint = matched[0] if matched else "?"
        if (endpoint, field, value) in OWNED_ELSEWHERE:
            self.baseline = None
            return response
        if status >= 500:
            detail = crash or (response.get_data(as_text=True)[:200] if response is not None else "")
            self.findings.append(Finding(role, method, url, field, value, status, detail))
            self.baseline = None
        elif method == "GET":
            self.unsettled = self.unsettled or f"GET {endpoint}"
        elif status >= 400:
            after = self.snapshots.take()
            if diff := fuzzing.changed(self.baseline, after):
                self.findings.append(Finding(role, method, url, field, value, status, f"changed rows in {diff}"))
            self.baseline = after
        else:
            self.baseline = None  # accepted: it may change rows
        return response

    def settle(self, role: str) -> None:
        """The GETs sent since the last snapshot changed no row."""
        if self.unsettled and self.baseline is not None:
            after = self.snapshots.take()
            if diff := fuzzing.changed(self.baseline, after):
                self.findings.append(Finding(role, "GET", self.unsettled, "(query)", "GETs since the last check",
                                             200, f"changed rows in {diff}"))
            self.baseline = after
        self.unsettled = ""

    # --- discovery -----------------------------------------------------------------------------

    def crawl(self, role: str, client, start: str, cap: int = MAX_URLS_PER_ENDPOINT):
        """Visit what the role can reach from `start`: links and GET forms of its pages, then
        the GET routes of its part of the site that no link reached (variables from the URLs it
        saw, else the world's). Returns the URLs per endpoint, the query parameters per endpoint
        (with the values linked) and the POST forms by key."""
        self.phase = "crawl"
        per_endpoint: dict[str, list[str]] = collections.defaultdict(list)
        params: dict[str, dict[str, list[str]]] = collections.defaultdict(dict)
        forms: dict[str, fuzzing.Form] = {}
        arg_values: dict[str, list] = collections.defaultdict(list)
        linked: set[str] = set()
        fruitless: collections.Counter = collections.Counter()
        seen: set[str] = set()
        queue = collections.deque([start])

        def known() -> int:
            return len(forms) + sum(len(p) for p in params.values()) + len(linked)

        def visit(url: str) -> None:
            path, query = url.split("?", 1) if "?" in url else (url, "")
            matched = self.match(path)
            if url in seen or matched is None or matched[0] == "static":
                return
            endpoint, args = matched
            for name, value in args.items():
                if value not in arg_values[name]:
                    arg_values[name].append(value)
            for name, values in fuzzing.query_params(query).items():
                params[endpoint].setdefault(name, values)
            limit = min(cap, MAX_FILES_PER_ENDPOINT) if fuzzing.is_file(path) else cap
            # Saturation per page kind: the same endpoint with other parameters set is another kind.
            kind = (endpoint, tuple(sorted(n for n, v in fuzzing.query_params(query).items() if any(v))))
            if len(per_endpoint[endpoint]) >= limit or fruitless[kind] >= SATURATED:
                return
            seen.add(url)
            before = known()
            per_endpoint[endpoint].append(url)
            self.exercised.add((endpoint, "GET"))
            response = self.send(role, client, "GET", url, field="(page)", value="as linked")
            if response is None or response.status_code != 200 or response.mimetype != "text/html":
                return
            links, page_forms = fuzzing.parse_page(path, response.get_data(as_text=True))
            for link in links:
                if target := fuzzing.local(link):
                    queue.append(target[0] + (f"?{target[1]}" if target[1] else ""))
                    if found := self.match(target[0]):
                        linked.add(found[0])
            for form in page_forms:
                target = fuzzing.local(form.action)
                found = self.match(target[0], form.method) if target else None
                if found is None:
                    continue
                form.endpoint, form.action = found[0], target[0] + (f"?{target[1]}" if target[1] else "")
                if form.method == "GET":
                    for name, field in form.fields.items():
                        params[form.endpoint].setdefault(name, field.valid() or [""])
                    queue.append(fuzzing.with_query(target[0], form.data()))
                    for name, field in form.fields.items():  # a list left at "— choose —": choose, as a person would
                        if field.kind == "select" and not any(field.values) and any(field.options):
                            chosen = next(o for o in field.options if o)
                            queue.append(fuzzing.with_query(target[0], {**form.data(), name: [chosen]}))
                else:
                    forms.setdefault(form.key, form)
            fruitless[kind] = 0 if known() > before else fruitless[kind] + 1

        def drain() -> None:
            while queue:
                visit(queue.popleft())

        drain()
        # (Other parts of the site answer 404 or ask to sign in: tests/portal/test_isolation.py.)
        areas = {url.split("/")[1] for urls in per_endpoint.values() for url in urls}
        for rule in sorted(self.app.url_map.iter_rules(), key=lambda r: r.rule):
            ours = rule.rule.split("/")[1] in areas and not rule.endpoint.startswith(("api.", "static"))
            if "GET" in rule.methods and rule.endpoint not in per_endpoint and ours and \
                    (url := self.fill(rule, arg_values)):
                queue.append(url)
                drain()
        self.settle(role)
        return per_endpoint, params, forms

    def fill(self, rule, arg_values) -> str | None:
        fallback = {"key": "rollout", "fmt": "csv", "ext": "csv"}  # a city table, a download format
        values = {name: (arg_values.get(name) or [fallback.get(name, 1)])[0] for name in rule.arguments}
        try:
            return self.adapter.build(rule.endpoint, values)
        except Exception:  # noqa: BLE001 (a value the rule's converter refuses)
            return None

    # --- fuzzing -------------------------------------------------------------------------------

    def fuzz_queries(self, role: str, client, per_endpoint, params) -> None:
        """Each page's own query parameters (those its links and filter forms carry), one at a time
        with the others as linked — a parameter once per area of the site (`od` on every city page
        goes through one filter parser); then every parameter the role's pages use anywhere, all at
        once, on every page (a view may read a parameter no link of its own shows)."""
        self.phase = "query parameters"
        every = sorted({name for names in params.values() for name in names})
        for endpoint in sorted(per_endpoint):
            if ("query", endpoint) in self.done:
                continue  # another role fuzzed this page
            self.done.add(("query", endpoint))
            path = per_endpoint[endpoint][0].split("?")[0]
            own = params.get(endpoint, {})
            base = {name: list(values) for name, values in own.items()}
            fields = [Field(name, "query", values=[v for v in own[name] if v]) for name in sorted(own)]
            places = fuzzing.shapes(fields)
            for field in fields:
                if ("parameter", endpoint.split(".")[0], field.name) in self.done:
                    continue
                self.done.add(("parameter", endpoint.split(".")[0], field.name))
                place, group = places[field.name]
                labels = fuzzing.DOWNLOADS if fuzzing.is_file(path) else \
                    fuzzing.values_for(f"GET {endpoint}", field, place=place, group=group)
                for label in labels:
                    url = fuzzing.with_query(path, {**base, field.name: [HOSTILE[label]]})
                    self.send(role, client, "GET", url, field=field.name, value=label)
            for label in ("5,000 digits", "NUL"):
                url = fuzzing.with_query(path, {**base, **{name: [HOSTILE[label]] for name in every}})
                self.send(role, client, "GET", url, field="(every parameter)", value=label)
            self.settle(role)

    def fuzz_url_variables(self, role: str, client, per_endpoint, forms) -> None:
        """Every URL variable of the role's pages and forms as an id no row can have, and as NUL."""
        self.phase = "URL variables"
        csrf = next((f.fields["csrf_token"].values[0] for f in forms.values() if "csrf_token" in f.fields), "")
        targets = [(e, "GET", urls[0]) for e, urls in per_endpoint.items()]
        targets += [(f.endpoint, f.method, f.action) for f in forms.values()]
        for endpoint, method, url in sorted(targets):
            matched = self.match(url.split("?")[0], method)
            if matched is None or not matched[1] or ("url", endpoint, method) in self.done:
                continue
            self.done.add(("url", endpoint, method))
            rule = next(r for r in self.app.url_map.iter_rules(endpoint) if method in r.methods)
            for name in matched[1]:
                for label, raw in URL_VALUES.items():
                    built = rule.rule
                    for other, value in matched[1].items():
                        built = re.sub(rf"<(?:[a-z]+:)?{other}>", raw if other == name else str(value), built)
                    data = {"csrf_token": csrf} if method == "POST" else None
                    self.send(role, client, method, built, field=f"<{name}>", value=label, data=data)
        self.settle(role)

    def fuzz_form(self, role: str, client, form: fuzzing.Form, *, action=None) -> None:
        """Every field of one form, one at a time, hostile while the others stay valid; then the
        form as rendered (a person sending it). `action` gives a fresh URL per request."""
        self.phase = "forms"
        if form.endpoint in NOT_FUZZED:
            return
        self.exercised.add((form.endpoint, form.method))
        if form.key in self.forms:
            return  # another role has this form (the director and the secretary share most)
        self.forms.add(form.key)
        multipart = "multipart" in form.enctype
        files = [name for name, field in form.fields.items() if field.kind == "file"]

        def post(field: str, label: str, overrides: dict, hostile_files: dict | None = None):
            data = {**form.data(), **overrides}
            if multipart:
                chosen = {name: (hostile_files or {}).get(name) or fuzzing.valid_file(name) for name in files}
                kw = fuzzing.multipart(data, chosen)
            else:
                kw = {"data": data}
            return self.send(role, client, "POST", action() if action else form.action, field=field, value=label,
                             **kw)

        fields = {name: f for name, f in form.fields.items() if name != "csrf_token" and f.kind != "file"}
        places = fuzzing.shapes(list(fields.values()))
        for name, field in fields.items():
            place, group = places[name]
            for label in fuzzing.values_for(form.key, field, place=place, group=group):
                post(name, label, {name: [HOSTILE[label]]})
        for name in files:
            for label, make in FILES.items():
                post(name, label, {}, {name: make(name)})
        response = post("(form)", "as rendered", {})
        self.rendered_accepted += response is not None and response.status_code < 400


def sign_in(app, email: str):
    client = app.test_client()
    page = client.get("/logowanie").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/logowanie", data={"email": email, "password": PASSWORD, "csrf_token": token})
    response = pass_second_factor(client, email, response)
    assert response.status_code == 302, (email, response.status_code)
    return client


def run(app, snapshots, *, in_process_jobs: bool, label: str) -> Fuzzer:
    started = time.perf_counter()
    ids = fuzz_world.build(app, in_process_jobs=in_process_jobs)
    built = time.perf_counter()
    fuzzer = Fuzzer(app, snapshots, label)
    clients = {role: sign_in(app, email) for role, email in fuzz_world.EMAILS.items()}  # before any sign-in fuzzing
    for role in ROLES:
        if role == "parent":
            fuzz_parent(fuzzer, app, ids)
            continue
        client = clients.get(role) or app.test_client()
        cap = SAME_TENANT_CAP if role == "school_secretary" else MAX_URLS_PER_ENDPOINT  # the director's school
        per_endpoint, params, forms = fuzzer.crawl(role, client, STARTS[role], cap)
        fuzzer.fuzz_queries(role, client, per_endpoint, params)
        fuzzer.fuzz_url_variables(role, client, per_endpoint, forms)
        # Signing out ends the role's session: after everything else.
        for form in sorted(forms.values(), key=lambda f: (f.endpoint == "auth.logout", f.key)):
            fuzzer.fuzz_form(role, client, form)
    fuzz_api(fuzzer, app, ids)
    fuzzer.settle("printer API")
    fuzzer.elapsed = (built - started, time.perf_counter() - built)
    return fuzzer


def fuzz_parent(fuzzer: Fuzzer, app, ids) -> None:
    """The parent's page behind a link; a link an accepted photo may have spent is replaced
    before the next request (a newer link supersedes the older one, as when staff send again)."""
    client = app.test_client()
    state = {"token": fuzz_world.parent_link(app, ids)}
    fuzzer.baseline = None  # the test itself wrote the link

    def action() -> str:
        if fuzzer.baseline is None:  # the last request was accepted (or the link is new)
            state["token"] = fuzz_world.parent_link(app, ids)
            fuzzer.baseline = None
        return f"/zdjecie/{state['token']}"

    per_endpoint, params, forms = fuzzer.crawl("parent", client, f"/zdjecie/{state['token']}")
    assert forms, "the parent's page offers no form"
    fuzzer.fuzz_queries("parent", client, per_endpoint, params)
    fuzzer.fuzz_url_variables("parent", client, per_endpoint, forms)
    for form in forms.values():
        fuzzer.fuzz_form("parent", client, form, action=action)


# --- the printers' API ---------------------------------------------------------------------------


def fuzz_api(fuzzer: Fuzzer, app, ids) -> None:
    """The printers' API as a printer's system uses it: the token endpoint's form, then every
    operation of the OpenAPI document, each on one of the printer's orders, with each query
    parameter and body property hostile (as JSON strings, and as raw JSON numbers)."""
    from infra.db import db
    from printing import api_clients
    from tenants.tenancy.actors import Actor
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    with app.app_context(), tenant_scope(Tenant(printer_id=ids.p1)):
        actor = Actor(user_id=ids.users["printer_operator"], role="printer_operator", organisation_id=ids.p1)
        made = api_clients.create_client(actor, name="Fuzzer", scopes=["batches:read", "batches:ack"])
        credentials = {"grant_type": "client_credentials", "client_id": made.client.client_id,
                       "client_secret": made.secret}
        db.session.commit()
    fuzzer.baseline = None  # the test itself wrote a row
    fuzzer.phase = "API"
    client, role = app.test_client(), "printer API"
    for name in credentials:
        for label in fuzzing.values_for("POST api.token", Field(name, "text", values=[credentials[name]])):
            fuzzer.send(role, client, "POST", "/api/v1/oauth/token", data={**credentials, name: HOSTILE[label]},
                        field=name, value=label)
    fuzzer.exercised.add(("api.token", "POST"))
    response = fuzzer.send(role, client, "POST", "/api/v1/oauth/token", data=credentials)
    assert response.status_code == 200, response.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {response.json['access_token']}"}
    document = fuzzer.send(role, client, "GET", "/api/v1/openapi.json").json
    order_ids = [o["id"] for o in fuzzer.send(role, client, "GET", "/api/v1/orders", headers=headers).json["orders"]]
    assert order_ids, "the printer's API shows no orders"
    operations = [(path, method.upper(), operation) for path, ops in sorted(document["paths"].items())
                  for method, operation in sorted(ops.items())]
    for number, (path, method, operation) in enumerate(operations):
        url = path.replace("{order_id}", str(order_ids[number % len(order_ids)]))  # orders in other states
        url = url if url.startswith("/api/") else "/api/v1" + url
        if matched := fuzzer.match(url, method):
            fuzzer.exercised.add((matched[0], method))
            fuzz_operation(fuzzer, client, role, method, url, headers, operation, document)


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _example(schema: dict, document: dict):
    """A valid value for a schema (the first of an enum, 1 for numbers, text otherwise)."""
    schema = _resolve(schema, document)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items", {}), document)]
    if kind == "object":
        return {name: _example(prop, document) for name, prop in schema.get("properties", {}).items()}
    return 1 if kind in ("number", "integer") else "Test 1"


def fuzz_operation(fuzzer: Fuzzer, client, role, method: str, url: str, headers, operation, document) -> None:
    def send(field: str, label: str, **kw) -> None:
        response = fuzzer.send(role, client, method, url, field=field, value=label, headers=headers, **kw)
        if response is not None and response.status_code >= 400:
            error = (response.get_json(silent=True) or {}).get("error")  # ours: {code, message}; OAuth2's: a code
            if not (error.get("code") if isinstance(error, dict) else isinstance(error, str) and error):
                fuzzer.findings.append(Finding(role, method, url, field, label, response.status_code,
                                               "an error answer without a JSON code"))

    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query":
            for label in fuzzing.values_for(f"{method} {url}", Field(parameter["name"], "query")):
                send(parameter["name"], label, query_string={parameter["name"]: HOSTILE[label]})
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if not content:
        send("(request)", "as documented")
        return
    schema = _resolve(content.get("schema", {}), document)
    valid = _example(schema, document)
    for name in schema.get("properties") or {}:
        for label in fuzzing.values_for(f"{method} {url}", Field(name, "json")):
            send(name, label, json={**valid, name: HOSTILE[label]})
        for raw in ("1e309", "-1", "9" * 40):  # as a raw JSON number: 1e309 reads as infinity
            text = json.dumps({**valid, name: 0}).replace(f'"{name}": 0', f'"{name}": {raw}')
            send(name, f"raw {raw[:10]}", data=text, content_type="application/json")
    send("(body)", "a 5,000-digit number", data='{"x": ' + "9" * 5000 + "}", content_type="application/json")
    send("(body)", "as documented", json=valid)


# --- the verdict -----------------------------------------------------------------------------------


def verdict(fuzzer: Fuzzer, app) -> None:
    post_routes = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    exercised = {endpoint for endpoint, method in fuzzer.exercised if method == "POST"}
    print(f"\n[{fuzzer.label}] world built in {fuzzer.elapsed[0]:.1f} s, fuzzed in {fuzzer.elapsed[1]:.1f} s: "
          f"{fuzzer.requests} requests ({dict(fuzzer.phases)}), {len(fuzzer.forms)} forms "
          f"({fuzzer.rendered_accepted} accepted as rendered), {len({e for e, _m in fuzzer.exercised})} endpoints, "
          f"{len(post_routes & exercised)} of {len(post_routes)} POST routes; {dict(sorted(fuzzer.statuses.items()))}; "
          f"{fuzzer.snapshots.taken} snapshots in {fuzzer.snapshots.seconds:.1f} s; not exercised: "
          f"{sorted(post_routes - exercised) or 'none'}")
    assert not fuzzer.findings, "\n".join(str(f) for f in fuzzer.findings[:100]) + f"\n({len(fuzzer.findings)})"
    assert post_routes - exercised <= set(NOT_FUZZED), \
        f"POST routes no role's pages offered (add a world object or a reasoned exclusion): {post_routes - exercised}"
    assert not set(NOT_FUZZED) & exercised, "exclusions no longer needed"
    assert len(fuzzer.forms) >= MIN_FORMS, sorted(fuzzer.forms)


# --- the two databases -----------------------------------------------------------------------------


@pytest.fixture
def pg_snapshots(database):
    """Digests of every table, read as the superuser (row-level security does not hide rows)."""
    taken = fuzzing.postgresql_snapshots()
    yield taken
    taken.connection.close()


def test_no_hostile_value_crashes_a_form_on_postgresql(app, database, pg_snapshots):
    verdict(run(app, pg_snapshots, in_process_jobs=False, label="PostgreSQL"), app)


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The embedded default, as tests/portal/test_embedded.py builds it; exceptions propagate to
    the test client, so a crash shows where it happened."""
    import os

    for name in list(os.environ):
        if name.startswith("LEGITKA_"):
            monkeypatch.delenv(name)
    from portal import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "PROPAGATE_EXCEPTIONS": True})
    assert app.test_cli_runner().invoke(args=["legitka", "migrate"]).exit_code == 0
    yield app
    from infra.db import db

    with app.app_context():
        db.engine.dispose()


def test_no_hostile_value_crashes_a_form_on_the_embedded_sqlite_default(embedded, tmp_path):
    import sqlite3

    connection = sqlite3.connect(tmp_path / "instance" / "legitka.sqlite3", isolation_level=None)
    tables = {table: [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
              for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                                                 "NOT LIKE 'sqlite_%' AND name <> 'alembic_version'").fetchall()}
    try:
        fuzzer = run(embedded, fuzzing.Snapshots(connection, tables, postgresql=False), in_process_jobs=True,
                     label="SQLite")
    finally:
        connection.close()
    verdict(fuzzer, embedded)
