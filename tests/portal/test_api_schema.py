"""The printers' API against its own OpenAPI document (docs/security.md T2.17, T6.2): the document is
well-formed and names every endpoint, and schemathesis, with a valid bearer token, finds no
server error, no undocumented status, header or body and no cookie anywhere in it; with another
printer's token, nothing on the order succeeds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis.errors import Unsatisfiable

from tests.helpers import run_jobs
from tests.portal.test_api import placed_order
from tests.portal.test_api import token_for

# Operations that change the order last, so the ones before them see it in a useful state.
LAST = ("/orders/{order_id}/invoice", "/orders/{order_id}/reject")


def _no_cookie_no_cache(ctx, response, case):
    """T2.8: a bearer-token API sets no cookie and lets nothing be cached."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert "set-cookie" not in headers, "the API set a cookie"
    cache = headers.get("cache-control", [""])
    assert (cache[0] if isinstance(cache, list) else cache).startswith("no-store"), "an API response may be cached"


def test_the_document_describes_every_api_endpoint(app):
    import schemathesis

    document = app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert all(result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations())
    flow = document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"].endswith("/api/v1/oauth/token") and set(flow["scopes"]) == {"batches:read", "batches:ack"}
    assert document["components"]["schemas"]["Token"]["properties"]["expires_in"]["maximum"] == 900
    documented = {(method.upper(), "/api/v1" + path) for path, ops in document["paths"].items() for method in ops}
    routes = {(method, rule.rule.replace("<int:order_id>", "{order_id}").replace("<token>", "{token}"))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              and rule.endpoint != "api.openapi_document" for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes


def _never_2xx(ctx, response, case):
    """T6.2: another printer's token never succeeds on this printer's order."""
    assert not 200 <= response.status_code < 300, "another printer's token was answered"


@pytest.fixture
def fuzz_target(app, two_schools):
    order_id = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"])
    run_jobs(app)
    return order_id, token_for(app, two_schools["p1"]), token_for(app, two_schools["p2"])


def test_schemathesis_finds_no_server_error(app, fuzz_target):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import content_type_conformance
    from schemathesis.specs.openapi.checks import response_headers_conformance
    from schemathesis.specs.openapi.checks import response_schema_conformance
    from schemathesis.specs.openapi.checks import status_code_conformance

    order_id, token, other_printers_token = fuzz_target
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (op.path in LAST, LAST.index(op.path) if op.path in LAST else 0))
    assert len(operations) == 12
    auth = {"Authorization": f"Bearer {token}"}
    intruder = {"Authorization": f"Bearer {other_printers_token}"}
    conformance = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance, response_headers_conformance, _no_cookie_no_cache]
    quick = settings(deadline=None, database=None, derandomize=True,
                     phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    for operation in operations:
        passes = [(GenerationMode.POSITIVE, {}, auth, conformance),
                  (GenerationMode.NEGATIVE, {}, auth, [not_a_server_error, _no_cookie_no_cache])]
        if "{order_id}" in operation.path:  # the real order too, not only ids that match nothing
            passes.insert(0, (GenerationMode.POSITIVE, {"order_id": order_id}, intruder,
                              [not_a_server_error, _never_2xx, _no_cookie_no_cache]))
            passes.insert(1, (GenerationMode.POSITIVE, {"order_id": order_id}, auth, conformance))
        for mode, path_parameters, headers, checks in passes:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
            examples = settings(quick, max_examples=25 if mode is GenerationMode.POSITIVE else 12)
            try:
                examples(given(case=strategy)(_exchange(headers, checks)))()
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (a free-text path segment).
                if mode is GenerationMode.POSITIVE:
                    raise


def _exchange(headers, checks):
    def exchange(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks)

    return exchange
