"""What characters a request may carry, checked at the door for every route (`infra.text`'s rule).

- **Query strings** (every request, before CSRF, sign-in and any view): no control character.
  A query string holding NUL, ESC or a line break never comes from a link or a form a browser
  filled in (PostgreSQL refused the NUL of `?klasa=%00` with a 500). Answered 400 — the request
  itself is malformed — with the Polish page, or JSON with the code `invalid_characters` on the
  printers' API, so nothing reads the value and nothing is written.
- **Submitted forms** (after sign-in, so the page names the user and request): every value of
  every field — no control character (a textarea listed in `MULTILINE_FIELDS` may hold tab and
  line breaks), no bidirectional control, not invisible characters alone. Answered 422 — the
  content is refused, like any other validation — with a page that says what to retype. Free text
  from forms ends up on cards, in PDFs, in the printers' sheets and the city's exports; checking it
  at the one door every form comes through covers every field of every form, including forms
  added later. Fields with rules of their own are checked again where they are used (people's
  names: `tenants.pupils.names`).
- **The printers' API**: its token request's form is checked by the API's own before_request once
  it has set its body limit (`check_form`, 400 `invalid_characters`); its JSON bodies by
  `portal.api.payloads.text`.

Refused, not stripped: a silently edited filter, serial or PESEL would not be what was sent.
Path variables are matched by their rule (ids bounded by `portal.converters`; a made-up photo-link
token is a 404/410). `next` is navigation, checked as a same-origin path where it is followed
(`portal.redirects`) and ignored when bad.
"""

from __future__ import annotations

from flask import g
from flask import render_template
from flask import request
from flask_babel import gettext as _
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
    """The query-string check: after the upload-size hook and before CSRFProtect's (which reads the form)."""
    app.before_request(_check)


def install_form_check(app) -> None:
    """The form check: after `portal.security`'s hooks, so the refusal page has the request id and the user."""
    app.before_request(refuse_unstorable_text)


# <textarea> fields, where tab and line breaks are text (tests/portal/test_name_entry.py checks the
# templates: a new textarea must be listed here).
MULTILINE_FIELDS = frozenset({
    "serials",  # holograms' and blanks' protocols
    "intro", "problems_text", "extra_answer", "comments",  # a consultation and a director's answer
    "statement",  # a printer's deletion confirmation
    "description", "data_categories", "consequences", "measures", "delay_reason",  # a breach (tenants.privacy)
    "not_reportable_reason", "other_recipients", "school_measures",  # ... and the records of processing
})
# Never stored as text: a password may hold any character it held when it was set.
UNCHECKED_FIELDS = frozenset({"password", "csrf_token"}) | NAVIGATION
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _message(finding: text_rules.Finding) -> str:
    if finding.problem is text_rules.Problem.CONTROL:
        return _("Jedno z pól zawiera znak sterujący (%(code)s), np. tabulator albo znak nowego wiersza. Wróć do "
                 "formularza (przyciskiem „Wstecz” przeglądarki), wpisz tę wartość ponownie, bez wklejania, i wyślij "
                 "formularz jeszcze raz.", code=finding.code_point)
    if finding.problem is text_rules.Problem.BIDI:
        return _("Jedno z pól zawiera niewidoczny znak zmiany kierunku tekstu (%(code)s), który sprawia, że tekst "
                 "wygląda inaczej, niż jest zapisany. Wróć do formularza (przyciskiem „Wstecz” przeglądarki), wpisz "
                 "tę wartość ponownie, bez wklejania, i wyślij formularz jeszcze raz.", code=finding.code_point)
    return _("Jedno z pól zawiera same niewidoczne znaki (np. spację o zerowej szerokości). Wróć do formularza "
             "(przyciskiem „Wstecz” przeglądarki), wpisz wartość albo zostaw pole puste i wyślij formularz "
             "jeszcze raz.")


def refuse_unstorable_text():
    """before_request: the 422 page for the first form value that may not be stored, else None."""
    if request.method not in _WRITES or request.blueprint == "api":
        return None
    for name, value in request.form.items(multi=True):
        if name in UNCHECKED_FIELDS:
            continue
        finding = text_rules.check(name, multiline=False) or text_rules.check(value, multiline=name in MULTILINE_FIELDS)
        if finding is not None:
            return render_template("errors/error.html", status=422, title=_("Niedozwolone znaki w formularzu"),
                                   message=_message(finding), request_id=g.get("request_id", "")), 422
    return None
