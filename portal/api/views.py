"""The printers' API, /api/v1 (docs/api.md; OpenAPI at /api/v1/openapi.json).

Each resource request carries a bearer token from `POST /api/v1/oauth/token`; the token names
the printer, and the printer is the request's tenant for the whole request, exactly as a
signed-in operator's membership is on the web. Cookies play no part: a session a browser might
send along is dropped, so the blueprint is CSRF-exempt and answers set no cookie.

Views are thin: they check the body, call `printing.fulfilment` and answer with
`portal.api.payloads`. Reads need `batches:read`, changes `batches:ack`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

from authlib.integrations.flask_oauth2 import current_token
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import url_for
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer

from infra import services
from infra.db import db
from infra.db import utcnow
from infra.storage import MAX_LINK_SECONDS
from infra.storage import NotFound
from portal import actions
from portal import input_guard
from portal.api import errors
from portal.api import openapi
from portal.api import payloads
from portal.api.errors import ApiError
from portal.api.oauth import require_oauth
from portal.api.oauth import server
from portal.auth import throttle
from portal.extensions import csrf
from printing import agreements
from printing import api_clients
from printing import deletions
from printing import fulfilment
from printing import queries as printing_queries
from printing.models import OrderStatus
from printing.models import PrintOrder
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import reset_tenant
from tenants.tenancy.context import set_tenant
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.operations import log_access

log = logging.getLogger("legitka.api")
bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)

MAX_BODY = 1024 * 1024  # a 2,000-card result list is ~300 KB
LINK_SECONDS = MAX_LINK_SECONDS  # docs/security.md T2.16: five minutes
_LINK_SALT = "legitka.api.download"
STATUSES = tuple(s.value for s in OrderStatus if s is not OrderStatus.DRAFT)


@bp.record_once
def _exempt_from_csrf(state) -> None:
    csrf.exempt(bp)


@bp.before_request
def _no_cookie_identity() -> None:
    """The API acts only for the printer named by the bearer token: a signed-in browser's
    membership (bound by `portal.security` from the cookie) is dropped before anything runs."""
    request.max_content_length = MAX_BODY
    if request.method == "POST":
        input_guard.check_form()  # the token request's form: no control characters (400 invalid_characters)
    tok = g.pop("tenant_token", None)
    if tok is not None:
        db.session.remove()
        reset_tenant(tok)
    g.membership = None


def _bind(token) -> None:
    """The token's printer becomes the tenant until the request ends (`portal.security`'s
    teardown resets `g.tenant_token` and closes the session)."""
    printer_id, g.api_client_id = token.client.printer_id, token.client.client_id
    api_clients.touch(token.client)
    db.session.commit()  # the credential lookup ran without a tenant; the request's work runs with one
    g.tenant_token = set_tenant(Tenant(printer_id=printer_id))
    g.api_actor = Actor(user_id=None, role="printer_api", organisation_id=printer_id,
                        request_id=g.get("request_id", ""), ip=request.remote_addr or "",
                        endpoint=request.endpoint or "", client=token.client.client_id)


def protected(scope: str):
    """A resource view: a valid bearer token with `scope`, then the printer tenant bound."""

    def decorator(view):
        @require_oauth(scope)
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _bind(current_token._get_current_object())
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _actor() -> Actor:
    return g.api_actor


def _order(order_id: int) -> PrintOrder:
    return printing_queries.get_printer_order(order_id)


def _require_agreement(order: PrintOrder) -> None:
    if agreements.in_force(order.school_id, order.printer_id) is None:
        raise ApiError(403, "agreement_lapsed", "Umowa powierzenia przetwarzania danych ze szkołą nie obowiązuje — "
                                                "dane zamówienia są niedostępne do czasu jej odnowienia.")


def _change(order_id: int, action):
    """Run a domain operation on the order (`portal.actions.attempt`): the order and the
    operation's result, committed. A refusal is rolled back and answered by the blueprint's
    handler as the JSON error (`portal.api.errors`: 409 invalid_state, else 422 with the rule's code)."""
    order = _order(order_id)
    return order, actions.attempt(lambda: action(_actor(), order))


# --- OAuth2 -----------------------------------------------------------------------------------


@bp.post("/oauth/token")
def token():
    """RFC 6749 §4.4 client credentials: Basic auth or client_id/client_secret in the form. Wrong
    credentials slow down this address (portal.auth.throttle: the client id from this address,
    and the address across clients), never the client itself: past the free failures, 429
    `too_many_requests` with Retry-After for this address only."""
    auth = request.authorization
    client_id = (auth.username if auth is not None and auth.type == "basic" else None) or request.form.get(
        "client_id", "")
    guard = throttle.api_token(client_id or "")
    wait = guard.wait()
    if wait:
        return jsonify({"error": "too_many_requests",
                        "error_description": "Zbyt wiele nieudanych prób uwierzytelnienia klienta z tego adresu; "
                                             f"spróbuj ponownie za {wait} s."}), 429, {
            "Retry-After": str(wait), "Cache-Control": "no-store"}
    response = server.create_token_response()
    if response.status_code == 401:  # invalid_client: a wrong id or secret, or a revoked client
        wait = guard.failed()
        if wait:  # this address's next attempt is refused until then
            response.headers["Retry-After"] = str(wait)
    elif response.status_code == 200:
        guard.succeeded()
    return response


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(token_url=url_for("api.token", _external=True)))


# --- orders -----------------------------------------------------------------------------------


@bp.get("/orders")
@protected(api_clients.READ)
def orders():
    """The printer's queue, soonest due date first; `?status=` narrows it to one state."""
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(422, "validation_error", "Nieznany stan zamówienia w parametrze „status”.")
    rows = [o for o in printing_queries.printer_orders() if status is None or o.status == status]
    return jsonify({"orders": [payloads.order_summary(o) for o in rows]})


@bp.get("/orders/<int:order_id>")
@protected(api_clients.READ)
def order(order_id: int):
    return jsonify(payloads.order_detail(_order(order_id)))


@bp.post("/orders/<int:order_id>/accept")
@protected(api_clients.ACK)
def accept(order_id: int):
    order, _ = _change(order_id, fulfilment.accept)
    return jsonify(payloads.order_detail(order))


@bp.post("/orders/<int:order_id>/reject")
@protected(api_clients.ACK)
def reject(order_id: int):
    reason = payloads.text(payloads.body(), "reason", max_length=300)
    order, _ = _change(order_id, lambda actor, o: fulfilment.reject(actor, o, reason))
    return jsonify(payloads.order_detail(order))


@bp.post("/orders/<int:order_id>/results")
@protected(api_clients.ACK)
def results(order_id: int):
    submitted = payloads.results(payloads.body())
    order, _ = _change(order_id, lambda actor, o: fulfilment.record_results(actor, o, submitted))
    return jsonify(payloads.order_detail(order))


@bp.post("/orders/<int:order_id>/shipment")
@protected(api_clients.ACK)
def shipment(order_id: int):
    data = payloads.body()
    carrier = payloads.text(data, "carrier", max_length=60)
    tracking = payloads.text(data, "tracking_number", max_length=80, required=False)
    order, _ = _change(order_id, lambda actor, o: fulfilment.ship(actor, o, carrier=carrier, tracking_number=tracking))
    return jsonify(payloads.order_detail(order))


@bp.post("/orders/<int:order_id>/invoice")
@protected(api_clients.ACK)
def invoice(order_id: int):
    data = payloads.body()
    number = payloads.text(data, "number", max_length=60)
    net, vat, gross = (payloads.amount(data, name) for name in ("net", "vat", "gross"))
    order, mismatch = _change(order_id, lambda actor, o: fulfilment.record_invoice(
        actor, o, number=number, net=net, vat=vat, gross=gross))
    detail = payloads.order_detail(order)
    return jsonify({"invoice": detail["invoice"], "differs_from_quote": bool(mismatch),
                    "quote_total": detail["total"]})


@bp.post("/orders/<int:order_id>/deletion-confirmation")
@protected(api_clients.ACK)
def deletion_confirmation(order_id: int):
    """After delivery the printer confirms it deleted every copy of the order's data (docs/domain.md
    §23). Idempotent: a repeat answers 200 with the first confirmation, unchanged, and
    `already_confirmed: true`. Before delivery: 409 `invalid_state`."""
    data = payloads.body()
    method = payloads.text(data, "method", max_length=deletions.MAX_METHOD, required=False)
    statement = payloads.text(data, "statement", max_length=deletions.MAX_STATEMENT, required=False)
    client = g.get("api_client_id", "")
    order, (confirmation, made) = _change(order_id, lambda actor, o: deletions.confirm(
        actor, o, method=method, statement=statement, via=deletions.VIA_API, api_client=client))
    return jsonify(payloads.deletion(order, confirmation, already_confirmed=not made))


# --- the batch --------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


@bp.post("/orders/<int:order_id>/download-link")
@protected(api_clients.READ)
def download_link(order_id: int):
    """A link to the encrypted package, valid five minutes. The first one moves the order to
    `downloaded`; each is audited. S3 storage signs the link itself; the local folder gets a
    signed link to `GET /api/v1/downloads/<token>`. The password is fetched separately."""
    order = _order(order_id)
    _require_agreement(order)
    actor = _actor()
    filename = f"zamowienie-{order.id}.7z"

    def link() -> str:
        fulfilment.mark_downloaded(actor, order)
        url = services.storage().presigned_get(order.package_key, expires_in=LINK_SECONDS, filename=filename)
        if url is None:
            signed = _serializer().dumps([order.id, order.printer_id, order.package_key])
            url = url_for("api.download", token=signed, _external=True)
        log_access(actor, "batch_link", school_id=order.school_id, order_id=order.id)
        return url

    expires_at = utcnow() + dt.timedelta(seconds=LINK_SECONDS)
    url = actions.attempt(link)
    # T2.16: who got a link to which batch until when; never the link itself (it is the credential).
    log.info("batch link: order %s, printer %s, client %s, expires %s", order.id, order.printer_id,
             g.get("api_client_id"), expires_at.isoformat(timespec="seconds"))
    return jsonify({"url": url, "expires_at": expires_at.isoformat(timespec="seconds"), "expires_in": LINK_SECONDS,
                    "filename": filename, "sha256": order.package_sha256,
                    "password_url": url_for("api.package_password", order_id=order.id, _external=True)})


@bp.get("/downloads/<token>")
def download(token: str):
    """The package behind a link from `download_link` (local-folder storage only). The signed
    token is the credential, like an S3 presigned URL; the order is checked again under its
    printer, so a purged, rejected or reassigned order's link stops working."""
    try:
        order_id, printer_id, key = _serializer().loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise ApiError(403, "link_expired", "Link wygasł — poproś o nowy.") from None
    except (BadSignature, ValueError, TypeError):
        raise ApiError(403, "link_invalid", "Nieprawidłowy link.") from None
    g.tenant_token = set_tenant(Tenant(printer_id=printer_id))
    order = _order(order_id)
    if order.package_key != key or not fulfilment.can_download(order):
        raise NotFoundError("order")
    _require_agreement(order)
    try:
        data = services.storage().get(key)
    except NotFound:
        raise NotFoundError("order") from None
    actor = Actor(user_id=None, role="printer_api", organisation_id=printer_id, request_id=g.get("request_id", ""),
                  ip=request.remote_addr or "", endpoint=request.endpoint or "")
    log_access(actor, "batch_download", school_id=order.school_id, order_id=order.id)
    actions.commit()
    response = Response(data, mimetype="application/x-7z-compressed")
    response.headers["Content-Disposition"] = f'attachment; filename="zamowienie-{order.id}.7z"'
    return response


@bp.get("/orders/<int:order_id>/package-password")
@protected(api_clients.READ)
def package_password(order_id: int):
    """The package's password, on its own request, never next to the link (audited)."""
    order = _order(order_id)
    _require_agreement(order)
    if not fulfilment.can_download(order) or order.package_password_cipher is None:
        raise ApiError(409, "invalid_state", "Hasło jest dostępne po przyjęciu zamówienia, dopóki dane są do pobrania.")
    password = services.pesel_cipher().decrypt(order.package_password_cipher)
    log_access(_actor(), "package_password_view", school_id=order.school_id, order_id=order.id)
    actions.commit()
    response = jsonify({"order_id": order.id, "password": password})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
