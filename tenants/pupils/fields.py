"""The rules of a pupil's fields, in one table that every way into the pupil register uses: the
school's form and the command line (`tenants.pupils.operations`), the roster import (`tenants.roster.rows`).
The same defect gets the same Polish message, whichever way the value came (docs/architecture.md,
"Polish input and output; the pupil field rules").

For each text field: its label (as the form's field and the import's column are called), the
maximum length after normalising, the normaliser, an extra validator where there is one, and the
message for a value that is too long. People's names are read by `tenants.pupils.names` first (letters
and the like only); the birth date has its own rule below. Messages name no PESEL or document
number, so an import report may store them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable

from infra import inputs
from tenants.pupils import text_entry


def collapse(text: str) -> str:
    """Single spaces, none at the ends (non-breaking ones too)."""
    return " ".join((text or "").split())


def document_number(text: str) -> str:
    """Identity document numbers compare without spaces and case ("abc 123" = "ABC123")."""
    return re.sub(r"\s+", "", text or "").upper()


EMAIL_MESSAGE = ("Adres e-mail rodzica jest nieprawidłowy — wpisz jeden adres w postaci nazwa@domena.pl "
                 "albo zostaw pole „E-mail rodzica” puste.")


def _email(value: str) -> str | None:
    return None if not value or inputs.is_email(value) else EMAIL_MESSAGE


@dataclasses.dataclass(frozen=True)
class FieldRule:
    """One field of a pupil's record (`tenants.pupils.operations.PupilDetails` attribute `name`)."""

    name: str
    label: str  # Polish, as the form's field and the import's column are called
    max_length: int
    too_long: str  # the message for a value longer than `max_length` (after `normalise`)
    normalise: Callable[[str], str] = collapse
    validate: Callable[[str], str | None] | None = None  # a further rule: its message, or None
    text_rule: bool = True  # `tenants.pupils.text_entry`: no control, bidi or invisible-only text

    def problems(self, value: str) -> list[str]:
        """Every reason the normalised `value` may not be stored (empty list: it may)."""
        found = []
        if len(value) > self.max_length:
            found.append(self.too_long)
        if self.validate is not None and (message := self.validate(value)):
            found.append(message)
        if self.text_rule and (message := text_entry.problem(value, self.label)):
            found.append(message)
        return found


RULES: dict[str, FieldRule] = {rule.name: rule for rule in (
    FieldRule("surname", "Nazwisko", 100, "Nazwisko jest za długie (najwyżej 100 znaków).", text_rule=False),
    FieldRule("first_names", "Imiona", 100, "Imiona są za długie (razem najwyżej 100 znaków).", text_rule=False),
    FieldRule("class_name", "Klasa (oddział)", 20,
              "Nazwa klasy (oddziału) jest za długa (najwyżej 20 znaków), np. 2a."),
    FieldRule("book_number", "Numer w księdze uczniów", 20,
              "Numer w księdze uczniów jest za długi (najwyżej 20 znaków).", normalise=str.strip),
    FieldRule("address", "Adres zamieszkania", 300, "Adres zamieszkania jest za długi (najwyżej 300 znaków)."),
    FieldRule("id_document_type", "Rodzaj dokumentu tożsamości", 50,
              "Rodzaj dokumentu tożsamości jest za długi (najwyżej 50 znaków)."),
    FieldRule("id_document_number", "Numer dokumentu tożsamości", 30,
              "Numer dokumentu tożsamości jest za długi (najwyżej 30 znaków).", normalise=document_number),
    FieldRule("parent_email", "E-mail rodzica", inputs.MAX_EMAIL, EMAIL_MESSAGE, normalise=str.strip,
              validate=_email, text_rule=False),
)}
# Names are checked for their characters by `tenants.pupils.names`; the text rule above is for the rest.
TEXT_FIELDS = ("class_name", "book_number", "address", "id_document_type", "id_document_number", "parent_email")


def check(name: str, value: str) -> tuple[str, list[str]]:
    """The field's value normalised, and every reason it may not be stored."""
    rule = RULES[name]
    text = rule.normalise(value or "")
    problems = rule.problems(text)
    return text, list(dict.fromkeys(problems))  # e-mail: too long and malformed is one message


# --- Birth date -----------------------------------------------------------------------------------

MIN_AGE = 2
MAX_AGE = 100
BIRTH_DATE_FORMAT = ("Data urodzenia ma nieprawidłowy format — wpisz ją jako dd.mm.rrrr (z czterocyfrowym rokiem), "
                     "np. 15.03.2017.")
BIRTH_DATE_NO_SUCH_DAY = ("Data urodzenia nie istnieje w kalendarzu (np. 31.02) — popraw dzień lub miesiąc "
                          "(dd.mm.rrrr).")


class BadBirthDate(ValueError):
    """The text is no birth date; the message is Polish."""


def parse_birth_date(text: str) -> dt.date | None:
    """A birth date as typed or as a spreadsheet writes it (`infra.inputs.day`, any year); None
    for empty text; `BadBirthDate` otherwise. Whether the pupil's age is plausible: `birth_date_problem`."""
    try:
        return inputs.day(text, earliest=dt.date.min, latest=dt.date.max)
    except inputs.Refused as refused:
        raise BadBirthDate(BIRTH_DATE_NO_SUCH_DAY if refused.no_such_day else BIRTH_DATE_FORMAT) from None


def age_on(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def birth_date_problem(born: dt.date, today: dt.date) -> str | None:
    """Why `born` cannot be a pupil's birth date on `today`, or None."""
    if born > today:
        return "Data urodzenia jest w przyszłości — popraw ją."
    if age_on(born, today) < MIN_AGE:
        return f"Według daty urodzenia uczeń ma mniej niż {MIN_AGE} lata — sprawdź datę (zwłaszcza rok)."
    if age_on(born, today) > MAX_AGE:
        return f"Według daty urodzenia uczeń ma ponad {MAX_AGE} lat — sprawdź datę (zwłaszcza rok)."
    return None
