"""No control character in a request's query string, nor in the printers' API token form (issue
13). Ids in addresses are bounded by `portal.converters`; the variables of a path are matched by
its rule and compared, hashed or looked up as text (a made-up photo-link token is a 404/410).

A query string holding NUL, ESC, a line break or another control character (`infra.text`'s rule
for a one-line value) never comes from a link or a form a browser filled in: PostgreSQL refused
the NUL of `?klasa=%00` with a 500. Such a request is answered 400 before CSRF and before any
view (the Polish page, or JSON with the code `invalid_characters` on the printers' API), so
nothing reads the value and nothing is written. Refused, not stripped: a silently edited filter
would show something else than was asked for. Values of submitted forms are checked after sign-in
by `portal.form_input` (422 with the form's own explanation, textareas allowed line breaks); the
API's form — the OAuth2 token request — is checked here, and its JSON bodies in
`portal.api.payloads`.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from infra import text as text_rules


class ControlCharacters(BadRequest):
    """A control character in the address (portal.errors and portal.api.errors answer it)."""

    def __init__(self, finding: text_rules.Finding) -> None:
        super().__init__()
        self.code_point = finding.code_point


# Where to go back to after signing in or switching language: checked where it is followed, as a
# same-origin path (portal.redirects), and never read otherwise; a bad one is ignored, not refused.
NAVIGATION = frozenset({"next"})


def _control(value: str) -> text_rules.Finding | None:
    finding = text_rules.check(value)
    return finding if finding is not None and finding.problem is text_rules.Problem.CONTROL else None


def _refuse(values) -> None:
    for value in values:
        if finding := _control(value):
            raise ControlCharacters(finding)


def _check() -> None:
    """before_request of the app: the query string (the body is not touched here: reading it would
    fix its size limit before a blueprint sets its own)."""
    _refuse([v for name, value in request.args.items(multi=True) for v in (name, value) if name not in NAVIGATION])


def check_form() -> None:
    """The form's names and values, for the printers' API (its token request), called by the API's
    own before_request once it has set its body limit."""
    _refuse([v for pair in request.form.items(multi=True) for v in pair])


def install_check(app) -> None:
    """After the upload-size hook and before CSRFProtect's (which reads the form)."""
    app.before_request(_check)
