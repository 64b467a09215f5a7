"""Free text entered into the school's records (a class, an address, a document type, a reason, an
organisation's name …): the domain's wording of `infra.text`'s rule.

Such text may hold any printable character, but no control character (a multi-line field: tab and
line breaks only), no bidirectional control, and it may not consist of invisible characters
alone. People's names have a stricter rule of their own (`tenants.pupils.names`). The web forms and the
printers' API check every field at the edge with the same rule; the domain checks again for what
does not come through a form (a roster import, the command line).
"""

from __future__ import annotations

from infra import text as text_rules


class TextRefused(ValueError):
    """Text that may not be stored; the Polish message names the field and, for a character that
    cannot be seen, its code point (never the value)."""


def message(finding: text_rules.Finding, label: str) -> str:
    """A Polish sentence about what is wrong with the field called `label` ("Klasa", "Adres" …)."""
    if finding.problem is text_rules.Problem.CONTROL:
        return (f"Pole „{label}” zawiera znak sterujący ({finding.code_point}), np. tabulator lub znak nowego "
                "wiersza — wpisz wartość ponownie, bez wklejania.")
    if finding.problem is text_rules.Problem.BIDI:
        return (f"Pole „{label}” zawiera niewidoczny znak zmiany kierunku tekstu ({finding.code_point}) — wpisz "
                "wartość ponownie, bez wklejania.")
    return f"Pole „{label}” zawiera same niewidoczne znaki — wpisz wartość albo zostaw pole puste."


def problem(value: str, label: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value` as a Polish message, or None when it may be stored."""
    finding = text_rules.check(value, multiline=multiline)
    return message(finding, label) if finding is not None else None


def check_text(value: str, label: str, *, multiline: bool = False) -> str:
    """`value` unchanged when it may be stored, else `TextRefused`."""
    refused = problem(value, label, multiline=multiline)
    if refused is not None:
        raise TextRefused(refused)
    return value
