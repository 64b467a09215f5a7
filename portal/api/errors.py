"""JSON errors for the API: `{"error": {"code", "message", "request_id"}}` with stable codes.

| code                | status | when                                                          |
|---------------------|--------|---------------------------------------------------------------|
| bad_request         | 400    | the body is not JSON                                          |
| invalid_characters  | 400    | a control character (NUL, ESC, …) in a parameter or the form   |
| invalid_token       | 401    | no, unknown, expired or revoked bearer token                  |
| insufficient_scope  | 403    | the token lacks the scope the endpoint needs                  |
| agreement_lapsed    | 403    | no data-processing agreement in force with the school         |
| link_invalid        | 403    | a download link that was not made here                        |
| link_expired        | 403    | a download link older than five minutes                       |
| not_found           | 404    | no such order for this printer (also another printer's order) |
| method_not_allowed  | 405    |                                                               |
| invalid_state       | 409    | the order is not in a state that allows this                  |
| payload_too_large   | 413    |                                                               |
| validation_error    | 422    | a field is missing, of the wrong type or too long             |
| (a rule's own code) | 422    | `tenants.tenancy.errors.OperationError.code`, e.g. reason_required |
| server_error        | 500    | nothing else is said; quote the request id                    |
| temporarily_unavailable | 503 | database busy (a lock or statement timeout) or unreachable: nothing      |
|                     |        | changed; retry after `Retry-After` seconds                    |

The token endpoint answers in OAuth2's own format (RFC 6749 §5.2) instead, because OAuth2
client libraries read that.
"""

from __future__ import annotations

from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions

from infra import db_errors
from infra.db import db
from portal import denied
from portal.errors import DATABASE_ERRORS
from portal.errors import RETRY_AFTER_SECONDS
from portal.errors import log_database_busy
from portal.input_guard import ControlCharacters
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError

PREFIX = "/api/"

_HTTP_CODES = {
    400: "bad_request", 401: "invalid_token", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "invalid_state", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 500: "server_error",
}
_HTTP_MESSAGES = {
    400: "Nieprawidłowe żądanie.",
    404: "Nie ma takiego zasobu.",
    405: "Ta metoda HTTP nie jest tu dozwolona.",
    413: "Treść żądania jest za duża.",
    500: "Błąd serwera. Podaj administratorowi numer zgłoszenia (request_id).",
}


class ApiError(Exception):
    """An error answer of the API; raised anywhere inside a request of the blueprint."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "request_id": g.get("request_id", "")}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_operation(err: OperationError) -> ApiError:
    """A rule the domain refused: 409 when the order's state forbids it, else 422."""
    code = getattr(err, "code", "rule_violation")
    return ApiError(409 if code == "invalid_state" else 422, code, str(err))


def _http_error(err: HTTPException):
    status = err.code or 500
    headers = {}
    if status == 405 and getattr(err, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(err.valid_methods))
    if status >= 500:
        db.session.rollback()
    if status in (403, 404):
        denied.record(status)
    return error_response(status, _HTTP_CODES.get(status, "http_error"),
                          _HTTP_MESSAGES.get(status, err.name), headers)


def _api_error(err: ApiError):
    if err.status in (403, 404):
        denied.record(err.status)
    return error_response(err.status, err.code, err.message, err.headers)


def _control_characters(err: ControlCharacters):
    message = f"Parametr zawiera znak sterujący ({err.code_point})."
    if request.endpoint == "api.token":  # the token endpoint answers in OAuth2's format (RFC 6749 §5.2)
        return jsonify({"error": "invalid_request", "error_description": message}), 400, {"Cache-Control": "no-store"}
    return error_response(400, "invalid_characters", message)


def _not_found(err: NotFoundError):
    denied.record(404)
    return error_response(404, "not_found", "Nie ma takiego zamówienia.")


def _operation_error(err: OperationError):
    db.session.rollback()
    return _api_error(from_operation(err))


def _database_error(err: Exception):
    """A passing database error answers 503 with `Retry-After` (rolled back: nothing changed);
    a lasting one is a 500 like any other surprise."""
    if not db_errors.is_transient(err):
        return _unexpected(err)
    db.session.rollback()
    log_database_busy(err)
    return error_response(503, "temporarily_unavailable",
                          "Baza danych jest chwilowo zajęta; niczego nie zmieniono. Spróbuj ponownie za chwilę.",
                          {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _unexpected(err: Exception):
    """Anything else: logged (where, not what), rolled back, a bare 500 with the request id."""
    current_app.log_exception((type(err), err, err.__traceback__))
    db.session.rollback()
    return error_response(500, "server_error", _HTTP_MESSAGES[500])


def routing_errors():
    """Unknown URLs and wrong methods under /api/ answer in JSON too. They match no endpoint,
    so the blueprint's handlers never see them; this runs before every request of the app."""
    if not request.path.startswith(PREFIX):
        return None
    exc = request.routing_exception
    if isinstance(exc, HTTPException) and exc.code in (404, 405):
        return _http_error(exc)
    return None


def register(bp) -> None:
    for status in default_exceptions:
        bp.register_error_handler(status, _http_error)
    bp.register_error_handler(ControlCharacters, _control_characters)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(NotFoundError, _not_found)
    bp.register_error_handler(OperationError, _operation_error)
    for error_class in DATABASE_ERRORS:
        bp.register_error_handler(error_class, _database_error)
    bp.register_error_handler(Exception, _unexpected)
    bp.before_app_request(routing_errors)
