"""The printers' API (docs/security.md T2.8, T2.15, T2.16): authlib's own OAuth2 client against the
app served over real HTTP, tokens and secrets, tenant isolation, errors, the operator's page,
and S3 presigned links against moto's S3 server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import socket
import threading
import time
from urllib.parse import parse_qs
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from infra import clock
from infra.db import db
from printing import api_clients
from printing import operations as printing_ops
from printing.models import ApiToken
from printing.models import PrintOrder
from printing.models import ProcessingAgreement
from printing.tasks import relay_outbox
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import approved_applications
from tests.helpers import letters
from tests.helpers import run_jobs

BOTH = ("batches:read", "batches:ack")
TOKEN_URL = "/api/v1/oauth/token"


# --- builders -----------------------------------------------------------------------------------


def placed_order(app, school_id, user_id, printer_id, *, cards=2, serial=201) -> int:
    """A submitted order of `cards` cards for one school (pupils with photos, approved
    applications); run the jobs to make it ready."""
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupils = [add_pupil(actor, surname=f"Tajna-{letters(i)}", serial=serial + i) for i in range(cards)]
        order = printing_ops.create_order(actor, school, printer_id, approved_applications(actor, school, pupils))
        printing_ops.submit_order(actor, order)
        db.session.commit()
        order_id = order.id
        relay_outbox()
    return order_id


def make_client(app, printer_id, scopes=BOTH) -> tuple[str, str]:
    with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
        made = api_clients.create_client(Actor(user_id=None, role="printer_operator", organisation_id=printer_id),
                                         name="System produkcji", scopes=scopes)
        db.session.commit()
        return made.client.client_id, made.secret


def basic(client_id, secret) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token_for(app, printer_id, scopes=BOTH, scope=None) -> str:
    client_id, secret = make_client(app, printer_id, scopes)
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = app.test_client().post(TOKEN_URL, data=form, headers=basic(client_id, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def bearer(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def order_row(app, printer_id, order_id) -> PrintOrder:
    with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
        order = db.session.get(PrintOrder, order_id)
        db.session.expunge(order)
        return order


@pytest.fixture
def ready(app, two_schools):
    """School A's two-card order to printer P1, built and ready."""
    order_id = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"])
    run_jobs(app)
    return {**two_schools, "order": order_id}


@pytest.fixture(scope="module")
def live_server(app):
    """The app on a real port, as a printer's system reaches it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


# --- the whole exchange -------------------------------------------------------------------------


def test_whole_flow_with_authlibs_oauth2_client_over_http(app, ready, live_server, database, monkeypatch):
    import py7zr
    from authlib.integrations.requests_client import OAuth2Session

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback, tests only
    client_id, secret = make_client(app, ready["p1"])
    session = OAuth2Session(client_id, secret, scope="batches:read batches:ack",
                            token_endpoint_auth_method="client_secret_basic")
    seen = []
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    token = session.fetch_token(live_server + TOKEN_URL, grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and 0 < token["expires_in"] <= 900
    assert set(token["scope"].split()) == set(BOTH)
    api = live_server + "/api/v1"
    order_id = ready["order"]

    queue = session.get(f"{api}/orders")
    assert queue.status_code == 200
    listed = queue.json()["orders"]
    assert [o["id"] for o in listed] == [order_id]
    assert listed[0]["status"] == "ready" and listed[0]["school"]["name"] == "Szkoła Podstawowa nr 1"
    assert session.get(f"{api}/orders", params={"status": "shipped"}).json() == {"orders": []}

    detail = session.get(f"{api}/orders/{order_id}").json()
    assert detail["card_count"] == 2 and detail["quote"]["total"] == detail["total"] == "24.00"
    assert detail["due_date"] and detail["package"]["downloadable"] is False
    labels = [item["card_number"] for item in detail["items"]]
    assert len(labels) == 2 and {item["outcome"] for item in detail["items"]} == {"pending"}
    assert "Tajna" not in queue.text + session.get(f"{api}/orders/{order_id}").text  # no pupil's name

    early = session.post(f"{api}/orders/{order_id}/download-link")
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_state"
    accepted = session.post(f"{api}/orders/{order_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    link = session.post(f"{api}/orders/{order_id}/download-link").json()
    assert 0 < link["expires_in"] <= 300 and "password" not in link
    package = requests.get(link["url"], timeout=10)  # the link is the credential: no bearer token
    assert package.status_code == 200
    recorded = order_row(app, ready["p1"], order_id)
    assert hashlib.sha256(package.content).hexdigest() == link["sha256"] == recorded.package_sha256
    assert recorded.status == "downloaded"

    password = session.get(link["password_url"])
    assert password.status_code == 200 and password.headers["Cache-Control"] == "no-store"
    with py7zr.SevenZipFile(io.BytesIO(package.content), password=password.json()["password"]) as archive:
        assert archive.getnames()

    results = session.post(f"{api}/orders/{order_id}/results", json={"results": [
        {"card_number": labels[0], "outcome": "printed", "blank_serial": "BL-000123",
         "chip_uid": "04:A2:24:B1:C3:5E:80"},
        {"card_number": labels[1], "outcome": "rejected", "reason": "Zdjęcie nieostre"},
    ]})
    assert results.status_code == 200, results.text
    body = results.json()
    assert body["status"] == "printed"
    by_number = {item["card_number"]: item for item in body["items"]}
    printed, rejected = by_number[labels[0]], by_number[labels[1]]
    assert (printed["outcome"], printed["blank_serial"], printed["chip_uid"]) == ("printed", "BL-000123",
                                                                                  "04A224B1C35E80")
    assert (rejected["outcome"], rejected["reason"], rejected["blank_serial"]) == ("rejected", "Zdjęcie nieostre",
                                                                                   None)

    shipped = session.post(f"{api}/orders/{order_id}/shipment", json={"carrier": "InPost",
                                                                      "tracking_number": "620000111222333"})
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    assert shipped.json()["shipment"] == {"carrier": "InPost", "tracking_number": "620000111222333"}

    wrong = session.post(f"{api}/orders/{order_id}/invoice", json={"number": "FV/7/2026", "net": "100.00",
                                                                   "vat": "23.00", "gross": "123.00"})
    assert wrong.status_code == 200 and wrong.json()["differs_from_quote"] is True
    assert wrong.json()["quote_total"] == "24.00" and wrong.json()["invoice"]["gross"] == "123.00"
    right = session.post(f"{api}/orders/{order_id}/invoice", json={"number": "FV/7/2026/K", "net": 19.51,
                                                                   "vat": 4.49, "gross": "24,00"})
    assert right.json()["differs_from_quote"] is False

    for response in seen:  # T2.8: a bearer-token API sets no cookie and nothing is cached
        assert "Set-Cookie" not in response.headers, response.url
        assert response.headers["Cache-Control"].startswith("no-store"), response.url
    with app.app_context(), tenant_scope(Tenant(school_id=ready["a"])):  # what the school's DPO sees
        rows = db.session.scalars(select(AccessLog).where(AccessLog.actor_role == "printer_api")
                                  .order_by(AccessLog.id)).all()
        # what the API read (T3.10), among who changed the order and when (T3.17)
        assert [r.action for r in rows] == ["order_accepted", "order_downloaded", "batch_link", "batch_download",
                                            "package_password_view", "order_printed", "order_shipped",
                                            "order_invoiced", "order_invoiced"]
        assert {(r.actor_organisation_id, r.order_id, r.actor_user_id) for r in rows} == {(ready["p1"], order_id, None)}
    owner, _tables = database
    with owner.connect() as conn:
        used = conn.execute(text("SELECT last_used_at FROM api_clients WHERE client_id = :c"),
                            {"c": client_id}).scalar()
    assert used is not None


# --- tokens and secrets -------------------------------------------------------------------------


def test_token_lifetime_is_at_most_900_seconds_and_expired_tokens_are_refused(app, ready, monkeypatch):
    client = app.test_client()
    client_id, secret = make_client(app, ready["p1"])
    issued = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(client_id, secret))
    assert issued.status_code == 200 and issued.json["expires_in"] == 900
    assert issued.headers["Cache-Control"].startswith("no-store") and "Set-Cookie" not in issued.headers
    monkeypatch.setitem(app.config, "API_TOKEN_SECONDS", 86400)  # asking for more gets the cap
    assert client.post(TOKEN_URL, data={"grant_type": "client_credentials"},
                       headers=basic(client_id, secret)).json["expires_in"] == 900
    monkeypatch.setitem(app.config, "API_TOKEN_SECONDS", 60)
    short = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": client_id,
                                         "client_secret": secret})  # client_secret_post works too
    assert short.status_code == 200 and short.json["expires_in"] == 60

    token = issued.json["access_token"]
    assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.token_hash == api_clients.token_hash(token))
                           .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        db.session.commit()
    expired = client.get("/api/v1/orders", headers=bearer(token))
    assert expired.status_code == 401 and expired.json["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    garbage = client.get("/api/v1/orders", headers=bearer("x" * 43))
    assert garbage.status_code == 401 and garbage.json["error"]["code"] == "invalid_token"


def test_secrets_and_tokens_are_stored_only_as_hashes(app, ready, database):
    client_id, secret = make_client(app, ready["p1"])
    token = app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                   headers=basic(client_id, secret)).json["access_token"]
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32  # 256 random bits
    owner, _tables = database
    with owner.connect() as conn:
        clients = conn.execute(text("SELECT * FROM api_clients")).all()
        tokens = conn.execute(text("SELECT * FROM api_tokens")).all()
    assert secret not in repr(clients) and token not in repr(tokens)
    assert repr(clients).count(api_clients.hash_secret(secret)) == 1
    assert repr(tokens).count(hashlib.sha256(token.encode()).hexdigest()) == 1


def test_only_client_credentials_and_only_the_two_scopes(app, ready):
    client = app.test_client()
    client_id, secret = make_client(app, ready["p1"], scopes=("batches:read",))
    auth = basic(client_id, secret)
    for scope in ("batches:write", "batches:read admin", "openid"):
        refused = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": scope}, headers=auth)
        assert refused.status_code == 400 and refused.json["error"] == "invalid_scope", scope
    beyond = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": "batches:ack"}, headers=auth)
    assert beyond.status_code == 400 and beyond.json["error"] == "invalid_scope"  # not granted to this client
    for form in ({"grant_type": "password", "username": "drukarnia.1@test.pl", "password": "poprawne-haslo-testowe"},
                 {"grant_type": "authorization_code", "code": "x"}, {"grant_type": "refresh_token"}, {}):
        refused = client.post(TOKEN_URL, data=form, headers=auth)
        assert refused.status_code == 400 and refused.json["error"] == "unsupported_grant_type", form
    for headers, form in ((basic(client_id, "wrong"), {}), ({}, {"client_id": client_id, "client_secret": "wrong"}),
                          ({}, {"client_id": "lgk-000000000000000000000000", "client_secret": secret})):
        refused = client.post(TOKEN_URL, data={"grant_type": "client_credentials", **form}, headers=headers)
        assert refused.status_code == 401 and refused.json["error"] == "invalid_client"
    granted = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=auth)
    assert granted.json["scope"] == "batches:read"


def test_a_read_only_token_cannot_change_an_order(app, ready):
    token = token_for(app, ready["p1"], scopes=("batches:read",))
    client = app.test_client()
    assert client.get(f"/api/v1/orders/{ready['order']}", headers=bearer(token)).status_code == 200
    for action, body in (("accept", None), ("reject", {"reason": "x"}), ("results", {"results": []}),
                         ("shipment", {"carrier": "InPost"}),
                         ("invoice", {"number": "1", "net": 1, "vat": 0, "gross": 1})):
        refused = client.post(f"/api/v1/orders/{ready['order']}/{action}", json=body, headers=bearer(token))
        assert refused.status_code == 403 and refused.json["error"]["code"] == "insufficient_scope", action
    assert order_row(app, ready["p1"], ready["order"]).status == "ready"


def test_a_revoked_clients_tokens_stop_working_at_once(app, ready, browser):
    client = app.test_client()
    client_id, secret = make_client(app, ready["p1"])
    token = client.post(TOKEN_URL, data={"grant_type": "client_credentials"},
                        headers=basic(client_id, secret)).json["access_token"]
    assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
    operator = browser("drukarnia.1@test.pl")
    page = operator.get("/drukarnia/api/").get_data(as_text=True)
    client_pk = re.search(r'/drukarnia/api/(\d+)/uniewaznij', page).group(1)
    assert operator.post(f"/drukarnia/api/{client_pk}/uniewaznij").status_code == 302
    refused = client.get("/api/v1/orders", headers=bearer(token))
    assert refused.status_code == 401 and refused.json["error"]["code"] == "invalid_token"
    again = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(client_id, secret))
    assert again.status_code == 401 and again.json["error"] == "invalid_client"
    assert "unieważniony" in operator.get("/drukarnia/api/").get_data(as_text=True)


# --- isolation ----------------------------------------------------------------------------------

ORDER_ENDPOINTS = [
    ("get", "", None), ("post", "/accept", None), ("post", "/reject", {"reason": "Brak blankietów"}),
    ("post", "/download-link", None), ("get", "/package-password", None),
    ("post", "/results", {"results": [{"card_number": "1", "outcome": "rejected", "reason": "x"}]}),
    ("post", "/shipment", {"carrier": "InPost"}),
    ("post", "/invoice", {"number": "FV/1", "net": "1.00", "vat": "0.00", "gross": "1.00"}),
    ("post", "/deletion-confirmation", {"method": "Usunięcie z serwera"}),
]


def test_another_printers_token_gets_404_on_every_order_endpoint(app, ready):
    """T1.11/T2.15: P2 never learns that P1's order exists; nothing changes."""
    client = app.test_client()
    other = token_for(app, ready["p2"])
    mine = token_for(app, ready["p1"])
    assert client.post(f"/api/v1/orders/{ready['order']}/accept", headers=bearer(mine)).status_code == 200
    for method, suffix, body in ORDER_ENDPOINTS:
        response = getattr(client, method)(f"/api/v1/orders/{ready['order']}{suffix}", json=body,
                                           headers=bearer(other))
        assert response.status_code == 404, (suffix, response.status_code)
        assert response.json["error"]["code"] == "not_found" and "Tajna" not in response.get_data(as_text=True)
    assert client.get("/api/v1/orders", headers=bearer(other)).json == {"orders": []}
    assert order_row(app, ready["p1"], ready["order"]).status == "accepted"
    # A school's draft is nobody's business at the printer, with the right token too.
    with app.app_context(), tenant_scope(Tenant(school_id=ready["a"])):
        db.session.execute(update(PrintOrder).where(PrintOrder.id == ready["order"]).values(status="draft"))
        db.session.commit()
    assert client.get(f"/api/v1/orders/{ready['order']}", headers=bearer(mine)).status_code == 404


def test_the_cookie_of_a_signed_in_operator_is_no_api_credential(app, ready, browser):
    operator = browser("drukarnia.1@test.pl")
    for method, suffix, body in ORDER_ENDPOINTS[:2]:
        response = getattr(operator.client, method)(f"/api/v1/orders/{ready['order']}{suffix}", json=body)
        assert response.status_code == 401 and "Set-Cookie" not in response.headers
    # With a token of P2 and P1's operator cookie, the request is P2's: still 404.
    other = token_for(app, ready["p2"])
    response = operator.client.get(f"/api/v1/orders/{ready['order']}", headers=bearer(other))
    assert response.status_code == 404 and "Set-Cookie" not in response.headers


def test_a_lapsed_agreement_closes_the_batch_to_the_api(app, ready):
    client = app.test_client()
    token = token_for(app, ready["p1"])
    assert client.post(f"/api/v1/orders/{ready['order']}/accept", headers=bearer(token)).status_code == 200
    link = client.post(f"/api/v1/orders/{ready['order']}/download-link", headers=bearer(token)).json["url"]
    with app.app_context(), tenant_scope(Tenant(school_id=ready["a"])):
        yesterday = clock.today() - dt.timedelta(days=1)
        db.session.execute(update(ProcessingAgreement).where(ProcessingAgreement.printer_id == ready["p1"])
                           .values(valid_from=yesterday - dt.timedelta(days=30), valid_until=yesterday))
        db.session.commit()
    for method, suffix in (("post", "/download-link"), ("get", "/package-password")):
        refused = getattr(client, method)(f"/api/v1/orders/{ready['order']}{suffix}", headers=bearer(token))
        assert refused.status_code == 403 and refused.json["error"]["code"] == "agreement_lapsed"
    refused = client.get(urlsplit(link).path)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "agreement_lapsed"


def test_local_download_links_are_signed_and_short_lived(app, ready):
    from itsdangerous import TimestampSigner
    from itsdangerous import URLSafeTimedSerializer

    client = app.test_client()
    token = token_for(app, ready["p1"])
    client.post(f"/api/v1/orders/{ready['order']}/accept", headers=bearer(token))
    link = client.post(f"/api/v1/orders/{ready['order']}/download-link", headers=bearer(token)).json
    path = urlsplit(link["url"]).path
    assert client.get(path).status_code == 200
    signed = path.rsplit("/", 1)[1]
    tampered = client.get(path[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB"))
    assert tampered.status_code == 403 and tampered.json["error"]["code"] == "link_invalid"

    class FiveMinutesAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 301

    payload = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="legitka.api.download").loads(signed)
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="legitka.api.download",
                                 signer=FiveMinutesAgo).dumps(payload)
    expired = client.get(f"/api/v1/downloads/{old}")
    assert expired.status_code == 403 and expired.json["error"]["code"] == "link_expired"
    # The link names one order of one printer: another order's id in a forged payload is refused.
    forged = URLSafeTimedSerializer("not-our-key-" + "x" * 32, salt="legitka.api.download").dumps(payload)
    assert client.get(f"/api/v1/downloads/{forged}").status_code == 403


# --- errors -------------------------------------------------------------------------------------


def test_errors_are_json_with_stable_codes(app, ready, monkeypatch):
    client = app.test_client()
    token = token_for(app, ready["p1"])
    auth = bearer(token)
    order = f"/api/v1/orders/{ready['order']}"

    def code(response, status):
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.is_json and set(response.json["error"]) == {"code", "message", "request_id"}
        assert response.json["error"]["request_id"] == response.headers["X-Request-ID"]
        assert "Set-Cookie" not in response.headers
        return response.json["error"]["code"]

    assert code(client.post(f"{order}/reject", data="{nie json", headers=auth, content_type="application/json"),
                400) == "bad_request"
    assert code(client.post(f"{order}/reject", json=[], headers=auth), 422) == "validation_error"
    assert code(client.post(f"{order}/reject", json={"reason": 5}, headers=auth), 422) == "validation_error"
    assert code(client.post(f"{order}/reject", json={"reason": "a\x00b"}, headers=auth), 422) == "validation_error"
    assert code(client.post(f"{order}/reject", json={"reason": "   "}, headers=auth), 422) == "reason_required"
    assert code(client.post(f"{order}/shipment", json={"carrier": "InPost"}, headers=auth), 409) == "invalid_state"
    assert code(client.get("/api/v1/orders?status=zgubione", headers=auth), 422) == "validation_error"
    assert code(client.get(f"/api/v1/orders/{2**64}", headers=auth), 404) == "not_found"
    assert code(client.get("/api/v1/nie-ma-takiego", headers=auth), 404) == "not_found"
    not_allowed = client.get(f"{order}/accept", headers=auth)
    assert code(not_allowed, 405) == "method_not_allowed" and "POST" in not_allowed.headers["Allow"]
    assert code(client.post(f"{order}/reject", data=b"x" * (2 * 1024 * 1024), headers=auth,
                            content_type="application/json"), 413) == "payload_too_large"
    assert client.post(f"{order}/accept", headers=auth).status_code == 200
    assert code(client.post(f"{order}/accept", headers=auth), 409) == "invalid_state"
    assert code(client.post(f"{order}/results", json={"results": [{"card_number": "nie-ma", "outcome": "printed",
                                                                    "blank_serial": "B1"}]}, headers=auth),
                409) == "invalid_state"  # not downloaded yet
    client.post(f"{order}/download-link", headers=auth)
    assert code(client.post(f"{order}/results", json={"results": [{"card_number": "nie-ma", "outcome": "printed",
                                                                    "blank_serial": "B1"}]}, headers=auth),
                422) == "unknown_card"
    assert code(client.post(f"{order}/invoice", json={"number": "F/1", "net": "1", "vat": "1", "gross": "3"},
                            headers=auth), 422) == "invoice_sum_mismatch"

    from portal.api import payloads

    pesel = "4405" + "1401458"

    def broken(order):
        raise RuntimeError(f"secret detail {pesel}")

    monkeypatch.setattr(payloads, "order_detail", broken)
    failed = client.get(order, headers=auth)
    assert code(failed, 500) == "server_error"
    assert "secret detail" not in failed.get_data(as_text=True) and pesel not in failed.get_data(as_text=True)


# --- the operator's page ------------------------------------------------------------------------


def test_operator_creates_a_client_and_sees_its_secret_once(app, ready, browser, database):
    operator = browser("drukarnia.1@test.pl")
    assert 'href="/drukarnia/api/"' in operator.get("/drukarnia/").get_data(as_text=True)
    refused = operator.post("/drukarnia/api/", {"name": "", "scope": ["batches:read"]})
    assert refused.status_code == 422
    refused = operator.post("/drukarnia/api/", {"name": "System", "scope": ["batches:admin"]})
    assert refused.status_code == 422
    created = operator.post("/drukarnia/api/", {"name": "System produkcji", "scope": ["batches:read"]})
    page = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"].startswith("no-store")
    client_id = re.search(r"lgk-[0-9a-f]{24}", page).group(0)
    secret = re.search(r'<code class="password">([A-Za-z0-9_-]{43})</code>', page).group(1)
    listing = operator.get("/drukarnia/api/").get_data(as_text=True)
    assert client_id in listing and secret not in listing
    issued = app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                    headers=basic(client_id, secret))
    assert issued.status_code == 200 and issued.json["scope"] == "batches:read"
    # Another printer's operator sees none of it and cannot revoke it; school staff get no page.
    other = browser("drukarnia.2@test.pl")
    assert client_id not in other.get("/drukarnia/api/").get_data(as_text=True)
    owner, _tables = database
    with owner.connect() as conn:
        client_pk = conn.execute(text("SELECT id FROM api_clients WHERE client_id = :c"), {"c": client_id}).scalar()
    assert other.post(f"/drukarnia/api/{client_pk}/uniewaznij").status_code == 404
    assert other.post(f"/drukarnia/api/{2**64}/uniewaznij").status_code == 404
    assert browser("dyrektor.a@test.pl").get("/drukarnia/api/").status_code == 404
    assert app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                  headers=basic(client_id, secret)).status_code == 200


# --- S3 presigned links against moto's S3 server ------------------------------------------------


class PresignChecker:
    """What S3 checks on a presigned link and moto's server does not: the SigV4 query signature
    over this method, host, path and query, and the expiry (X-Amz-Date + X-Amz-Expires). Requests
    signed in the Authorization header (boto3's own calls) pass through; unsigned ones get 403,
    as on a private bucket. `offset` moves this S3's clock."""

    def __init__(self, app, secret_key: str) -> None:
        self.app = app
        self.secret_key = secret_key
        self.offset = 0

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        params = parse_qs(query, keep_blank_values=True)
        if "X-Amz-Signature" not in params:
            if "HTTP_AUTHORIZATION" not in environ:
                return self._deny(start_response, "AccessDenied")
            return self.app(environ, start_response)
        if not self._signature_matches(environ, params):
            return self._deny(start_response, "SignatureDoesNotMatch")
        signed_at = dt.datetime.strptime(params["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expires = signed_at + dt.timedelta(seconds=int(params["X-Amz-Expires"][0]))
        if dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset) > expires:
            return self._deny(start_response, "AccessDenied")
        return self.app(environ, start_response)

    def _signature_matches(self, environ, params) -> bool:
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        path, _sep, raw_query = environ["RAW_URI"].partition("?")
        kept = "&".join(pair for pair in raw_query.split("&")
                        if not pair.startswith(("X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-Date=",
                                                "X-Amz-Expires=", "X-Amz-SignedHeaders=", "X-Amz-Signature=")))
        access_key, _date, region, _service, _end = params["X-Amz-Credential"][0].split("/")
        auth = S3SigV4QueryAuth(Credentials(access_key, self.secret_key), "s3", region,
                                expires=int(params["X-Amz-Expires"][0]))
        request = AWSRequest(method=environ["REQUEST_METHOD"],
                             url=f"http://{environ['HTTP_HOST']}{path}" + (f"?{kept}" if kept else ""))
        request.context["timestamp"] = params["X-Amz-Date"][0]
        auth._modify_request_before_signing(request)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        return expected == params["X-Amz-Signature"][0]

    @staticmethod
    def _deny(start_response, code: str):
        body = f"<Error><Code>{code}</Code></Error>".encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def strict_s3():
    """moto's S3 server on loopback behind `PresignChecker`; yields (endpoint, checker)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.moto_server.werkzeug_app import create_backend_app
    from werkzeug.serving import make_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    checker = PresignChecker(DomainDispatcherApplication(create_backend_app), "testing")
    server = make_server("127.0.0.1", port, checker, True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", checker
    server.shutdown()
    thread.join()


def test_s3_presigned_links_open_one_package_for_five_minutes(app, two_schools, strict_s3, monkeypatch):
    from infra.storage import S3Storage

    endpoint, checker = strict_s3
    from infra.storage_crypto import EncryptedStorage

    s3 = S3Storage("legitka-api-test", endpoint_url=endpoint, region="eu-central-1", access_key="testing",
                   secret_key="testing")
    s3.ensure_bucket()
    # as the app stores: every object encrypted at rest but the package, linked as is (T3.20)
    keys = app.extensions["legitka"].storage.keys
    monkeypatch.setattr(app.extensions["legitka"], "storage", EncryptedStorage(s3, keys))
    first = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"], cards=1, serial=301)
    second = placed_order(app, two_schools["a"], two_schools["director_a"], two_schools["p1"], cards=1, serial=401)
    run_jobs(app)
    client = app.test_client()
    token = token_for(app, two_schools["p1"])
    links = {}
    for order_id in (first, second):
        assert client.post(f"/api/v1/orders/{order_id}/accept", headers=bearer(token)).status_code == 200
        links[order_id] = client.post(f"/api/v1/orders/{order_id}/download-link", headers=bearer(token)).json
    link = links[first]
    query = dict(parse_qsl(urlsplit(link["url"]).query))
    assert link["url"].startswith(endpoint) and link["expires_in"] <= 300 and int(query["X-Amz-Expires"]) <= 300
    fetched = requests.get(link["url"], timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == link["sha256"] == order_row(
        app, two_schools["p1"], first).package_sha256
    assert 'filename="zamowienie-' in fetched.headers.get("Content-Disposition", "")
    # Order 1's link does not open order 2's package: the signature covers the key.
    second_key = order_row(app, two_schools["p1"], second).package_key
    first_key = order_row(app, two_schools["p1"], first).package_key
    assert requests.get(link["url"].replace(first_key, second_key), timeout=10).status_code == 403
    assert requests.get(f"{endpoint}/legitka-api-test/{second_key}", timeout=10).status_code == 403  # unsigned
    assert requests.get(links[second]["url"], timeout=10).status_code == 200
    # After five minutes S3 refuses it (this S3's clock moved on).
    checker.offset = 301
    try:
        assert requests.get(link["url"], timeout=10).status_code == 403
    finally:
        checker.offset = 0
