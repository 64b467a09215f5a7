"""The OpenAPI 3.0 description of the printers' API, written by hand next to the views it
describes (docs/security.md T2.17); tests/portal/test_api_schema.py fuzzes the API against it."""

from __future__ import annotations

from printing.api_clients import ACK
from printing.api_clients import MAX_TOKEN_SECONDS
from printing.api_clients import READ
from printing.models import OrderStatus

STATUSES = [s.value for s in OrderStatus if s is not OrderStatus.DRAFT]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "The body is not JSON (`bad_request`)."),
    "401": {**_json(_ref("Error"), "No, unknown, expired or revoked token (`invalid_token`)."),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "403": _json(_ref("Error"), "`insufficient_scope`, or `agreement_lapsed` where data is handed out."),
    "404": _json(_ref("Error"), "No such order for this printer (`not_found`)."),
    "409": _json(_ref("Error"), "The order's state does not allow this (`invalid_state`)."),
    "413": _json(_ref("Error"), "The body is larger than 1 MiB (`payload_too_large`)."),
    "422": _json(_ref("Error"), "`validation_error` (a field missing, of the wrong type, too long, or text holding a "
                                "control character or line break, a bidirectional control or only invisible "
                                "characters), or the code of the rule the order breaks."),
    "500": _json(_ref("Error"), "`server_error`; quote `request_id` when reporting it."),
    "503": _json(_ref("Error"), "`temporarily_unavailable`: the database was busy or unreachable; nothing changed. "
                                "Retry after the `Retry-After` seconds."),
}


def _errors(*codes: str) -> dict:
    return {code: _ERRORS[code] for code in codes}


_ORDER_ID = {"name": "order_id", "in": "path", "required": True,
             "schema": {"type": "integer", "format": "int64", "minimum": 1}}


def _order_operation(summary: str, scope: str, *, body: str | None = None, response: str = "Order",
                     extra_errors: tuple[str, ...] = ()) -> dict:
    operation = {
        "summary": summary,
        "security": [{"oauth2": [scope]}],
        "parameters": [_ORDER_ID],
        "responses": {"200": _json(_ref(response), "OK"),
                      **_errors("401", "403", "404", *extra_errors, "500", "503")},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return operation


_CHANGE_ERRORS = ("400", "409", "413", "422")


def _optional_body(operation: dict) -> dict:
    """An operation whose JSON body may be left out (every field of it is optional)."""
    operation["requestBody"]["required"] = False
    return operation


def _schemas() -> dict:
    string = {"type": "string"}
    money = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "example": "126.00"}
    date = {"type": "string", "format": "date"}
    moment = {"type": "string", "format": "date-time"}
    amount_in = {"oneOf": [{"type": "number"}, {"type": "string", "maxLength": 20}],
                 "description": "Złote; a number or a decimal string (\"123.45\" or \"123,45\")."}
    summary_props = {
        "id": {"type": "integer", "format": "int64"},
        "status": {"type": "string", "enum": STATUSES},
        "school": {"type": "object", "required": ["id", "name"],
                   "properties": {"id": {"type": "integer"}, "name": string}},
        "card_count": {"type": "integer", "minimum": 0},
        "first_number": _nullable({"type": "integer"}),
        "last_number": _nullable({"type": "integer"}),
        "total": _nullable({**money, "description": "The frozen quote's gross total, zł."}),
        "due_date": _nullable(date),
        "submitted_at": _nullable(moment),
        "reprint_of": _nullable({"type": "integer", "description": "The order whose rejected cards this reprints."}),
    }
    item = {"type": "object", "required": ["card_number", "template_code", "outcome"], "properties": {
        "card_number": {**string, "description": "The card's number as printed on it."},
        "template_code": {**string, "example": "MEiN-I/1"},
        "outcome": {"type": "string", "enum": ["pending", "printed", "rejected"]},
        "blank_serial": _nullable(string),
        "chip_uid": _nullable(string),
        "reason": _nullable(string),
        "reported_at": _nullable(moment),
    }}
    invoice = {"type": "object", "required": ["number", "net", "vat", "gross", "differs_from_quote"], "properties": {
        "number": string, "net": money, "vat": money, "gross": money, "recorded_at": _nullable(moment),
        "differs_from_quote": {"type": "boolean"},
    }}
    detail_props = {
        **summary_props,
        "quote": _nullable({"type": "object", "properties": {
            "quantity": _nullable({"type": "integer"}), "unit_price": _nullable(string),
            "surcharge_total": _nullable(string), "shipping": _nullable(string), "total": _nullable(string),
            "lead_time_days": _nullable({"type": "integer"}), "lead_time_working": {"type": "boolean"},
            "ordered_on": _nullable(date),
            "due_date": _nullable(date)}}),
        "package": {"type": "object", "required": ["sha256", "downloadable"], "properties": {
            "sha256": _nullable({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
            "downloadable": {"type": "boolean"}}},
        "accepted_at": _nullable(moment), "downloaded_at": _nullable(moment), "printed_at": _nullable(moment),
        "shipped_at": _nullable(moment), "delivered_at": _nullable(moment), "rejected_at": _nullable(moment),
        "rejection_reason": _nullable(string),
        "shipment": _nullable({"type": "object", "required": ["carrier", "tracking_number"],
                               "properties": {"carrier": string, "tracking_number": string}}),
        "invoice": _nullable(invoice),
        "deletion": _nullable({
            "type": "object", "required": ["due_on", "days_overdue", "confirmed_at"],
            "description": "Delivered orders only: confirm by `due_on` that every copy of the data was deleted.",
            "properties": {"due_on": date, "days_overdue": {"type": "integer", "minimum": 0},
                           "confirmed_at": _nullable(moment)}}),
        "items": {"type": "array", "items": _ref("Item")},
    }
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {**string, "description": "Stable, machine-readable; see the error table in docs/api.md."},
                "message": {**string, "description": "For people, in Polish."},
                "request_id": {**string, "description": "Quote it when reporting a problem."}}}}},
        "OAuthError": {"type": "object", "required": ["error"], "description": "RFC 6749 §5.2.", "properties": {
            "error": {"type": "string", "enum": ["invalid_request", "invalid_client", "invalid_grant",
                                                 "unauthorized_client", "unsupported_grant_type", "invalid_scope",
                                                 "too_many_requests"]},
            "error_description": string}},
        "TokenRequest": {"type": "object", "required": ["grant_type"], "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "scope": {**string, "description": "Space-separated; at most the client's own scopes (default: all)."},
            "client_id": {**string, "description": "Only with client_secret_post."},
            "client_secret": {**string, "description": "Only with client_secret_post."}}},
        "Token": {"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {
            "access_token": string,
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_TOKEN_SECONDS},
            "scope": string}},
        "OrderSummary": {"type": "object", "required": list(summary_props), "properties": summary_props},
        "OrderList": {"type": "object", "required": ["orders"],
                      "properties": {"orders": {"type": "array", "items": _ref("OrderSummary")}}},
        "Item": item,
        "Order": {"type": "object", "required": list(detail_props), "properties": detail_props},
        "Reject": {"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 300,
                       "description": "Shown to the school, which then sends the order to another printer."}}},
        "ItemResult": {"type": "object", "required": ["card_number", "outcome"], "properties": {
            "card_number": {"type": "string", "maxLength": 30},
            "outcome": {"type": "string", "enum": ["printed", "rejected"]},
            "blank_serial": {"type": "string", "maxLength": 40,
                             "description": "Required when printed: letters, digits, '-' or '/'."},
            "chip_uid": {"type": "string", "maxLength": 64,
                         "description": "Optional: 8, 14 or 20 hex digits (':' and spaces ignored)."},
            "reason": {"type": "string", "maxLength": 300, "description": "Required when rejected."}}},
        "Results": {"type": "object", "required": ["results"], "properties": {
            "results": {"type": "array", "minItems": 1, "maxItems": 2000, "items": _ref("ItemResult")}}},
        "Shipment": {"type": "object", "required": ["carrier"], "properties": {
            "carrier": {"type": "string", "minLength": 1, "maxLength": 60, "example": "InPost"},
            "tracking_number": {"type": "string", "maxLength": 80}}},
        "InvoiceIn": {"type": "object", "required": ["number", "net", "vat", "gross"], "properties": {
            "number": {"type": "string", "minLength": 1, "maxLength": 60},
            "net": amount_in, "vat": amount_in, "gross": amount_in}},
        "InvoiceOut": {"type": "object", "required": ["invoice", "differs_from_quote", "quote_total"], "properties": {
            "invoice": invoice,
            "differs_from_quote": {"type": "boolean", "description": "True when gross ≠ the frozen quote's total."},
            "quote_total": _nullable(money)}},
        "DownloadLink": {"type": "object",
                         "required": ["url", "expires_at", "expires_in", "filename", "sha256", "password_url"],
                         "properties": {
                             "url": {"type": "string", "format": "uri",
                                     "description": "GET it without the bearer token; works for expires_in seconds."},
                             "expires_at": moment,
                             "expires_in": {"type": "integer", "minimum": 1, "maximum": 300},
                             "filename": string,
                             "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                                        "description": "Of the package's bytes: check it after the download."},
                             "password_url": {"type": "string", "format": "uri"}}},
        "DeletionIn": {"type": "object", "properties": {
            "method": {"type": "string", "maxLength": 200,
                       "description": "How the copies were deleted (optional), e.g. \"usunięcie z serwera i stacji\"."},
            "statement": {"type": "string", "maxLength": 1000, "description": "Remarks (optional)."}}},
        "DeletionConfirmation": {"type": "object", "required": [
            "order_id", "confirmed_at", "confirmed_via", "method", "statement", "due_on", "already_confirmed"],
            "properties": {
                "order_id": {"type": "integer"},
                "confirmed_at": moment,
                "confirmed_via": {"type": "string", "enum": ["web", "api"]},
                "method": _nullable(string), "statement": _nullable(string),
                "due_on": _nullable(date),
                "already_confirmed": {"type": "boolean",
                                      "description": "True when the order had been confirmed before: nothing changed, "
                                                     "the first confirmation is returned."}}},
        "PackagePassword": {"type": "object", "required": ["order_id", "password"], "properties": {
            "order_id": {"type": "integer"}, "password": string}},
    }


def document(*, token_url: str) -> dict:
    """The whole document; `token_url` is the absolute URL of the token endpoint."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Legitka — API dla drukarni",
            "version": "1.0.0",
            "description": (
                "Print orders addressed to your printing house: the queue, accepting or rejecting, the encrypted "
                "batch package, per-card results, shipment, invoice and, after delivery, the confirmation that "
                "your copies were deleted. OAuth2 client credentials; tokens live "
                f"at most {MAX_TOKEN_SECONDS} s. No personal data travels outside the encrypted package."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"oauth2": [READ]}],
        "paths": {
            "/oauth/token": {"post": {
                "summary": "Get an access token (client credentials)",
                "security": [{"clientBasic": []}, {}],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")}}},
                "responses": {
                    "200": _json(_ref("Token"), "A bearer token."),
                    "400": _json(_ref("OAuthError"), "invalid_request (also for a control character in the form), "
                                                     "unsupported_grant_type, invalid_scope…"),
                    "401": _json(_ref("OAuthError"), "invalid_client: wrong or revoked credentials."),
                    "413": _ERRORS["413"],
                    "429": _json(_ref("OAuthError"),
                                 "too_many_requests: after 5 wrong credentials for a client id from one address (or "
                                 "100 from the address), that address waits Retry-After seconds, doubling with each "
                                 "further failure; the client is never refused at its own address for them."),
                    "500": _ERRORS["500"]}}},
            "/orders": {"get": {
                "summary": "The queue: this printer's orders, soonest due date first",
                "security": [{"oauth2": [READ]}],
                "parameters": [{"name": "status", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": STATUSES}}],
                "responses": {"200": _json(_ref("OrderList"), "OK"),
                              "400": _json(_ref("Error"), "A control character in a parameter (`invalid_characters`)."),
                              **_errors("401", "403", "422", "500", "503")}}},
            "/orders/{order_id}": {"get": _order_operation(
                "One order: metadata, quote, cards and their results", READ)},
            "/orders/{order_id}/accept": {"post": _order_operation(
                "Take the order on (ready → accepted)", ACK, extra_errors=("409",))},
            "/orders/{order_id}/reject": {"post": _order_operation(
                "Decline the order (from ready, accepted or downloaded)", ACK, body="Reject",
                extra_errors=_CHANGE_ERRORS)},
            "/orders/{order_id}/download-link": {"post": _order_operation(
                "A five-minute link to the encrypted package (first call: accepted → downloaded)", READ,
                response="DownloadLink", extra_errors=("409",))},
            "/orders/{order_id}/package-password": {"get": _order_operation(
                "The package's password (audited; fetch it separately from the link)", READ,
                response="PackagePassword", extra_errors=("409",))},
            "/orders/{order_id}/results": {"post": _order_operation(
                "Per-card results; when none is pending the order becomes printed", ACK, body="Results",
                extra_errors=_CHANGE_ERRORS)},
            "/orders/{order_id}/shipment": {"post": _order_operation(
                "The cards left for the school (printed → shipped)", ACK, body="Shipment",
                extra_errors=_CHANGE_ERRORS)},
            "/orders/{order_id}/invoice": {"post": _order_operation(
                "The printer's invoice; says whether it differs from the quote", ACK, body="InvoiceIn",
                response="InvoiceOut", extra_errors=_CHANGE_ERRORS)},
            "/orders/{order_id}/deletion-confirmation": {"post": _optional_body(_order_operation(
                "After delivery: confirm that every copy of the order's data was deleted (idempotent: a repeat "
                "returns the first confirmation with already_confirmed true; before delivery 409 invalid_state)",
                ACK, body="DeletionIn", response="DeletionConfirmation", extra_errors=_CHANGE_ERRORS))},
            "/downloads/{token}": {"get": {
                "summary": "The package behind a local download link (no bearer token: the link is the credential)",
                "security": [],
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The encrypted 7z package.",
                            "content": {"application/x-7z-compressed": {
                                "schema": {"type": "string", "format": "binary"}}}},
                    "403": _json(_ref("Error"), "`link_invalid`, `link_expired` or `agreement_lapsed`."),
                    "404": _ERRORS["404"], "500": _ERRORS["500"]}}},
        },
        "components": {
            "securitySchemes": {
                "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {
                    READ: "Read orders, fetch batch links and package passwords.",
                    ACK: "Accept or reject orders, report card results, shipment and invoice."}}}},
                "clientBasic": {"type": "http", "scheme": "basic",
                                "description": "client_secret_basic: client_id and client_secret."},
            },
            "schemas": _schemas(),
        },
    }
