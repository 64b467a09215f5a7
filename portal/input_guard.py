"""Request-wide refusal of control characters, and the bounded `int` URL converter (issue 13).

**Control characters.** No keyboard types NUL, ESC or the other C0/C1 control characters, and a
browser never sends a line break from a one-line input. PostgreSQL refuses NUL in text (a 500
wherever a value reached a query), the others corrupt exports and mails (a CR LF in an address
is a header injection) and only ever come from a broken client or a probe. So every query
parameter, form field (names and values) and text URL variable is checked before CSRF and
before any view: one holding such a character is refused with 400, the Polish page saying why
(JSON with the code `invalid_characters` on the printers' API), and nothing is written.
Refusing rather than stripping: a silently edited serial, PESEL or name would be stored as
something the person did not send. A tab is allowed (a pasted spreadsheet cell carries one).
Multi-line fields (a textarea) keep their line breaks: their view is marked with
`@multiline("field", ...)`; tests/portal/test_fuzz_forms.py fails when a rendered textarea's
view is not marked.

**Ids in URLs.** werkzeug's `int` converter takes any run of digits, so `/uczniowie/<40 nines>`
reached the view and overflowed the database's integer (a 500 on SQLite and in PostgreSQL's
bigint comparisons). `IdConverter` replaces it for every rule: ASCII digits only, 1 to 19 of
them, at most bigint's maximum; anything else is the 404 of a URL that names nothing.
"""

from __future__ import annotations

from flask import current_app
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from infra.inputs import BIGINT_MAX
from infra.inputs import has_control_characters


class ControlCharacters(BadRequest):
    """A request carried a control character where none can be meant (portal.errors renders it)."""


def multiline(*fields: str):
    """Mark a view whose form fields `fields` may hold line breaks (textareas)."""

    def decorator(view):
        view.multiline_fields = frozenset(fields)
        return view

    return decorator


def multiline_fields(view) -> frozenset[str]:
    """The fields `view` accepts line breaks in."""
    return getattr(view, "multiline_fields", frozenset())


def _check() -> None:
    multi = multiline_fields(current_app.view_functions.get(request.endpoint))
    for name, value in request.args.items(multi=True):
        if has_control_characters(name) or has_control_characters(value):
            raise ControlCharacters()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        for name, value in request.form.items(multi=True):
            if has_control_characters(name) or has_control_characters(value, multiline=name in multi):
                raise ControlCharacters()
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and has_control_characters(value):
            raise ControlCharacters()


class IdConverter(IntegerConverter):
    """`<int:...>` for row ids: 1 to 19 ASCII digits, 1 … 2**63 − 1."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(map, *args, **kwargs)


def install_converter(app) -> None:
    """Before any blueprint is registered (rules take their converter when added)."""
    app.url_map.converters["int"] = IdConverter


def install_check(app) -> None:
    """After the upload-size hook (the body is read here) and before CSRFProtect's hook."""
    app.before_request(_check)
