"""The value names (reports.labels) in the reader's language: translated once per request, never
carried over to a request in the other language; in Polish outside a request (a worker's report)."""

from __future__ import annotations

from flask import session

from reports.labels import CARD_STATES
from reports.labels import CHANNELS


def test_names_follow_each_requests_language_and_stay_polish_outside_a_request(app):
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert CARD_STATES["handed_over"] == "handed over"
        assert CARD_STATES.current()["handed_over"] == "handed over"
        assert CARD_STATES.get("nieznany", "?") == "?" and "handed_over" in CARD_STATES
    with app.test_request_context("/"):  # a new request in Polish: nothing kept from the English one
        assert CARD_STATES["handed_over"] == "wydana"
        assert dict(CHANNELS)["own"] == "drukarka szkoły"
    with app.app_context():
        assert CARD_STATES["handed_over"] == "wydana" and CARD_STATES.label("x") == "x"


def test_access_log_actions_have_polish_names_and_unknown_codes_stay_codes(app):
    from reports.labels import ACCESS_RESULTS
    from reports.labels import access_action

    with app.app_context():
        assert access_action("pupil_view") == "dane ucznia (podgląd)"
        assert access_action("order_submitted") == "zamówienie: złożone"  # printing.operations' order moves
        assert access_action("order_nonsense") == "order_nonsense" and access_action("xyz") == "xyz"
        assert ACCESS_RESULTS.label("denied") == "odmowa" and ACCESS_RESULTS.label("other") == "other"
