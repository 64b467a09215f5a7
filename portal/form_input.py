"""Every value of every submitted form is checked before any view sees it (`infra.text`): no control
character (a multi-line field may hold tab and line breaks), no bidirectional control, not
invisible characters alone. Such a value answers 422 with a Polish page and nothing is written.

Free text from forms ends up on cards, in PDFs, in the printers' sheets and the city's exports;
checking it here, at the one door every form comes through, covers every field of every form,
including forms added later, instead of each view remembering it. Fields with rules of their own
are checked again where they are used (people's names: `tenants.names`). The printers' JSON API
applies the same rule in `portal.api.payloads.text`.
"""

from __future__ import annotations

from flask import g
from flask import render_template
from flask import request
from flask_babel import gettext as _

from infra import text as text_rules

# <textarea> fields, where tab and line breaks are text (tests/portal/test_form_input.py checks the
# templates: a new textarea must be listed here).
MULTILINE_FIELDS = frozenset({"serials"})
# Never stored as text: a password may hold any character it held when it was set; `next` is a
# place to go back to, checked as a same-origin path where it is followed (portal.auth).
UNCHECKED_FIELDS = frozenset({"password", "csrf_token", "next"})
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


def init_app(app) -> None:
    app.before_request(refuse_unstorable_text)
