"""People's names as they may be stored: the one rule for every name that enters Legitka (a
pupil's first names and surname on the forms and in a roster import, the person collecting a card,
a user's full name, the director printed on the card).

A name is letters of any script (Unicode categories L*) with their combining marks (M*), spaces,
the hyphen, the apostrophe (' or ’) and the dot: "Łukasz", "Zofia-Maria", "O'Brien", "Nguyễn",
"Ян", "St. John". It starts with a letter or an apostrophe ("'t Hooft") and holds at least one
letter. Digits, other symbols, control characters and bidirectional controls are refused;
invisible characters (zero-width space and joiners, BOM …) are dropped, and a name that is
blank without them is missing. The stored form is NFC with single spaces, U+2010/U+2011 hyphens
written as "-".

Names that pass can never start a spreadsheet formula (=, +, -, @, tab, CR); exports neutralise
cells anyway (`infra.spreadsheets`), because names stored before this rule still exist.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from infra import text as text_rules

PUNCTUATION = frozenset(" -'’.")
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-"})
_ALLOWED = "litery, spacje, łącznik, apostrof i kropkę"


@dataclasses.dataclass(frozen=True)
class Subject:
    """Which name a message is about, in the forms Polish needs ("Imię może…", "Podaj imię…")."""

    nominative: str  # "Imię" — starts a sentence
    may: str  # "może" / "mogą": agrees with the nominative
    missing: str  # the whole message for a blank name
    hint: str = ""  # added to the message about a character that is not allowed


FIRST_NAMES = Subject("Imię", "może", "Podaj imię.")
SURNAME = Subject("Nazwisko", "może", "Podaj nazwisko.")
SECOND_NAME = Subject("Drugie imię", "może", "Podaj drugie imię.")
FULL_NAME = Subject("Imię i nazwisko", "mogą", "Podaj imię i nazwisko.")
COLLECTOR = Subject("Imię i nazwisko osoby odbierającej", "mogą",
                    "Podaj imię i nazwisko osoby odbierającej legitymację.",
                    " Kim jest ta osoba, można dopisać w nawiasie, np. „Anna Nowak (matka)”.")
RELATION = Subject("Dopisek w nawiasie", "może", "Dopisek w nawiasie jest pusty — wpisz np. (matka) albo usuń nawias.")
DIRECTOR = Subject("Imię i nazwisko dyrektora", "mogą", "Podaj imię i nazwisko dyrektora.")


class InvalidName(ValueError):
    """A name that may not be stored; the message is Polish and quotes no more than the one
    offending character."""


def _shown(char: str) -> str:
    """A character as a message may quote it: itself when it is visible, else its code point."""
    if unicodedata.category(char)[0] in "LMNPS" and not char.isspace():
        return f"„{char}”"
    return f"U+{ord(char):04X}"


def person_name(value: str, subject: Subject = FULL_NAME, *, required: bool = True,
                max_length: int | None = None) -> str:
    """`value` as a stored name (NFC, single spaces), or `InvalidName` with a Polish message.
    With `required=False` a blank name comes back as ""."""
    value = value if isinstance(value, str) else ""
    finding = text_rules.check(value)
    if finding is not None and finding.problem is text_rules.Problem.CONTROL:
        raise InvalidName(f"{subject.nominative} zawiera znak sterujący ({finding.code_point}) — wpisz je ponownie, "
                          f"bez wklejania. {subject.nominative} {subject.may} zawierać tylko {_ALLOWED}.")
    if finding is not None and finding.problem is text_rules.Problem.BIDI:
        raise InvalidName(f"{subject.nominative} zawiera niewidoczny znak zmiany kierunku tekstu "
                          f"({finding.code_point}) — wpisz je ponownie, bez wklejania.")
    name = " ".join(unicodedata.normalize("NFC", text_rules.strip_invisible(value)).translate(_HYPHENS).split())
    if not name:
        if required:
            raise InvalidName(subject.missing)
        return ""
    if max_length is not None and len(name) > max_length:
        raise InvalidName(f"{subject.nominative} {subject.may} mieć najwyżej {max_length} znaków.")
    for char in name:
        if char not in PUNCTUATION and unicodedata.category(char)[0] not in "LM":
            raise InvalidName(f"{subject.nominative} {subject.may} zawierać tylko {_ALLOWED} "
                              f"(niedozwolony znak: {_shown(char)}).{subject.hint}")
    if not any(unicodedata.category(char)[0] == "L" for char in name):
        raise InvalidName(f"{subject.nominative} musi zawierać litery.")
    if not (unicodedata.category(name[0])[0] == "L" or name[0] in "'’"):
        raise InvalidName(f"{subject.nominative} musi zaczynać się literą.")
    return name


_WITH_RELATION = re.compile(r"(?s)(.*?)\s*\(([^()]*)\)\s*")


def collector(value: str) -> str:
    """Who collected a card, as the register writes it: a name by the rule above, optionally with
    who the person is in parentheses ("Anna Nowak (matka)"), the note itself letters only."""
    match = _WITH_RELATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return person_name(value, COLLECTOR, max_length=200)
    written = f"{person_name(match[1], COLLECTOR)} ({person_name(match[2], RELATION)})"
    if len(written) > 200:
        raise InvalidName(f"{COLLECTOR.nominative} {COLLECTOR.may} mieć najwyżej 200 znaków.")
    return written
