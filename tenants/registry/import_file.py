"""Reading a school's register of cards issued before Legitka (docs/domain.md §24): columns and rows.

Pure functions, no Flask and no database. The file is read by the pupil-list import's reader
(`tenants.roster.file.read_table`: format by content, CSV or XLSX streamed within its limits, the
hostile-file guards); this module only recognises the register's columns and checks each row.
Messages are Polish and may be stored and shown: they quote column headings, card numbers and
dates, never a PESEL (a digit run of five or more in a quoted cell is masked).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable

from infra import inputs
from infra.spreadsheets import Sheet
from infra.spreadsheets import csv_document
from infra.spreadsheets import xlsx_document
from tenants.pupils import fields
from tenants.pupils import pesel as pesel_rules
from tenants.roster.file import Table
from tenants.roster.file import normalise_header
from tenants.roster.rows import clean
from tenants.roster.rows import fix_caps
from tenants.roster.rows import shown

PAPER_CARDS_UNTIL = dt.date(2024, 7, 12)  # the last day a paper card could be issued (docs/domain.md §7)
EARLIEST_ISSUE = dt.date(1990, 1, 1)
MAX_NUMBER = 9_999_999

# Our template's headings, in its order.
FIELDS: dict[str, str] = {
    "number": "Nr legitymacji",
    "surname": "Nazwisko",
    "first_name": "Imię",
    "second_name": "Drugie imię",
    "pesel": "PESEL",
    "class_name": "Klasa (oddział)",
    "issue_date": "Data wydania",
    "medium": "Rodzaj legitymacji",
    "status": "Stan",
    "collected_on": "Data odbioru",
}
REQUIRED = ("number", "surname", "first_name", "pesel", "issue_date", "medium", "status")

# Headings other registers use (normalised: no case, diacritics or trailing ':'). The pupil columns
# follow the Vulcan pupil list (docs/domain.md §10); the card columns are what a register's fields
# are called in the sources (§5, source 002 §3.5) and in common spreadsheets — inferred, since
# neither Librus nor Vulcan publishes its card-register export (docs/domain.md §24).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": ("nr legitymacji", "numer legitymacji", "nr legitymacji szkolnej", "numer legitymacji szkolnej",
               "nr", "numer", "nr w ewidencji", "numer w ewidencji", "nr ewidencyjny legitymacji",
               "numer ewidencyjny legitymacji", "nr karty", "numer karty", "nr e-legitymacji",
               "numer e-legitymacji"),
    "surname": ("nazwisko", "nazwisko ucznia", "uczen - nazwisko"),
    "first_name": ("imie", "imiona", "pierwsze imie", "imie ucznia", "imiona ucznia", "uczen - imie"),
    "second_name": ("drugie imie", "drugie imiona", "imie drugie"),
    "pesel": ("pesel", "pesel ucznia", "nr pesel", "numer pesel", "uczen - pesel"),
    "class_name": ("klasa (oddzial)", "klasa", "oddzial", "dane oddzialu", "klasa/oddzial", "klasa / oddzial",
                   "nazwa oddzialu"),
    "issue_date": ("data wydania", "data wydania legitymacji", "data wystawienia", "data wystawienia legitymacji",
                   "wydano", "data wyd.", "data wyd"),
    "medium": ("rodzaj legitymacji", "rodzaj", "typ legitymacji", "forma legitymacji", "forma", "typ"),
    "status": ("stan", "status", "stan legitymacji", "status legitymacji", "waznosc"),
    "collected_on": ("data odbioru", "data odbioru legitymacji", "odebrano", "data wreczenia", "data odebrania"),
}
_EXACT = {syn: field for field, syns in _SYNONYMS.items() for syn in syns}

PAPER, ID1 = "paper", "id1"
MEDIA = {
    "papierowa": PAPER, "papier": PAPER, "paper": PAPER, "tradycyjna": PAPER, "ksiazeczka": PAPER,
    "e-legitymacja": ID1, "elegitymacja": ID1, "e-legitymacja szkolna": ID1, "plastikowa": ID1, "karta": ID1,
    "id-1": ID1, "id1": ID1, "karta id-1": ID1, "e": ID1, "e-karta": ID1,
}
VALID, INVALIDATED = "valid", "invalidated"
STATUSES = {
    "wazna": VALID, "wydana": VALID, "aktywna": VALID, "valid": VALID, "tak": VALID,
    "uniewazniona": INVALIDATED, "niewazna": INVALIDATED, "anulowana": INVALIDATED, "invalidated": INVALIDATED,
    "nie": INVALIDATED,
}
_NUMBER = re.compile(r"(\d{1,9})(?:\s*/\s*(\d{4}|\d{2}))?")


class ColumnsError(ValueError):
    """The file's columns are not a register's; the message (Polish) names the headings missing."""


def detect_columns(headers: list[str]) -> dict[str, int]:
    """The column of each field, from the headings (first match wins); `ColumnsError` when a
    required one is missing."""
    mapping: dict[str, int] = {}
    for i, header in enumerate(headers):
        field = _EXACT.get(normalise_header(header))
        if field and field not in mapping:
            mapping[field] = i
    missing = [FIELDS[f] for f in REQUIRED if f not in mapping]
    if missing:
        raise ColumnsError(
            "W pliku brakuje kolumn: " + ", ".join(f"„{m}”" for m in missing) + ". Pobierz szablon ewidencji, "
            "przenieś do niego dane (albo nazwij kolumny jak w szablonie) i prześlij plik ponownie.")
    return mapping


@dataclasses.dataclass(frozen=True)
class EntryRow:
    """One card of the register, as the file says it, checked."""

    line: int
    number: int
    label: str  # the number as written, e.g. "123/2023"
    surname: str
    first_names: str
    pesel: str
    date_of_birth: dt.date
    class_name: str
    issue_date: dt.date
    medium: str  # PAPER | ID1
    status: str  # VALID | INVALIDATED
    collected_on: dt.date | None


@dataclasses.dataclass
class RowCheck:
    line: int
    label: str  # "nr 12 — Kowalska Anna (2a)", for the report (no PESEL)
    row: EntryRow | None
    errors: list[str]


def parse_number(text: str) -> tuple[int, str] | None:
    """("123", "123/2023", "123/23") -> (123, as written); None for anything else."""
    match = _NUMBER.fullmatch(text)
    if not match:
        return None
    number = int(match.group(1))
    label = match.group(1).lstrip("0") or "0"
    if match.group(2):
        label += "/" + match.group(2)
    return number, label


def _date(text: str, what: str, errors: list[str], *, today: dt.date) -> dt.date | None:
    try:
        return inputs.day(text, earliest=EARLIEST_ISSUE, latest=today)
    except inputs.Refused as err:
        if getattr(err, "no_such_day", False):
            errors.append(f"{what}: taki dzień nie istnieje — popraw datę (dd.mm.rrrr).")
        else:
            errors.append(f"{what}: „{shown(text, 12)}” nie jest datą od {inputs.format_day(EARLIEST_ISSUE)} "
                          "do dziś — wpisz ją jako dd.mm.rrrr.")
        return None


def _pesel(text: str, errors: list[str]) -> str | None:
    if not text:
        errors.append("Brak numeru PESEL — bez niego wpisu nie da się przypisać osobie.")
        return None
    if re.fullmatch(r"\d+([.,]\d+)?[eE]\+?\d+", text):
        errors.append("PESEL zapisano w arkuszu jako liczbę w notacji naukowej (np. 4,4E+10), więc jego cyfry "
                      "przepadły — sformatuj kolumnę PESEL jako tekst i wpisz numer ponownie.")
        return None
    if text.isdigit() and 9 <= len(text) <= 10:
        text = text.zfill(11)  # a numeric cell lost the leading zeros
    try:
        return pesel_rules.validate(text)
    except pesel_rules.PeselError as exc:
        errors.append(str(exc))
        return None


def check_row(line: int, get: Callable[[str], str], *, today: dt.date) -> RowCheck:
    """One row of the register: every defect, in Polish; the row when there is none."""
    errors: list[str] = []
    number_text = get("number")
    parsed = parse_number(number_text)
    if not number_text:
        errors.append("Brak numeru legitymacji.")
    elif parsed is None:
        errors.append(f"Numer legitymacji „{shown(number_text, 20)}” ma nieznaną postać — wpisz numer z ewidencji, "
                      "np. 123 albo 123/2023.")
    elif not 1 <= parsed[0] <= MAX_NUMBER:
        errors.append(f"Numer legitymacji musi być liczbą od 1 do {inputs.format_number(MAX_NUMBER)}.")
        parsed = None
    surname, surname_problems = fields.check("surname", fix_caps(get("surname")))
    first = " ".join(p for p in (fix_caps(get("first_name")), fix_caps(get("second_name"))) if p)
    first_names, first_problems = fields.check("first_names", first)
    if not surname:
        errors.append("Brak nazwiska.")
    else:
        errors.extend(surname_problems)
    if not first_names:
        errors.append("Brak imienia.")
    else:
        errors.extend(first_problems)
    class_name, class_problems = fields.check("class_name", get("class_name"))
    errors.extend(class_problems)
    label = f"nr {parsed[1] if parsed else shown(number_text, 20) or '?'} — {surname} {first_names}".strip()
    if class_name:
        label += f" ({class_name})"
    pesel = _pesel(get("pesel"), errors)

    medium_text = get("medium")
    medium = MEDIA.get(normalise_header(medium_text))
    if medium is None:
        errors.append(f"Rodzaj legitymacji „{shown(medium_text, 20)}” nie jest rozpoznany — wpisz „papierowa” "
                      "albo „e-legitymacja”." if medium_text else
                      "Brak rodzaju legitymacji — wpisz „papierowa” albo „e-legitymacja”.")
    status_text = get("status")
    status = STATUSES.get(normalise_header(status_text))
    if status is None:
        errors.append(f"Stan „{shown(status_text, 20)}” nie jest rozpoznany — wpisz „ważna” albo „unieważniona”."
                      if status_text else "Brak stanu legitymacji — wpisz „ważna” albo „unieważniona”.")
    issue_text = get("issue_date")
    issue_date = _date(issue_text, "Data wydania", errors, today=today) if issue_text else None
    if not issue_text:
        errors.append("Brak daty wydania.")
    if medium == PAPER and issue_date is not None and issue_date > PAPER_CARDS_UNTIL:
        errors.append(f"Legitymacja papierowa z datą wydania {inputs.format_day(issue_date)}: papierowe legitymacje "
                      "wydawano do 12.07.2024 — późniejsza może być tylko e-legitymacją. Popraw datę albo rodzaj.")
    collected_text = get("collected_on")
    collected_on = _date(collected_text, "Data odbioru", errors, today=today) if collected_text else None
    if collected_on is not None and issue_date is not None and collected_on < issue_date:
        errors.append("Data odbioru jest wcześniejsza niż data wydania.")
    if errors:
        return RowCheck(line, label, None, errors)
    return RowCheck(line, label, EntryRow(
        line=line, number=parsed[0], label=parsed[1], surname=surname, first_names=first_names, pesel=pesel,
        date_of_birth=pesel_rules.birth_date(pesel), class_name=class_name, issue_date=issue_date, medium=medium,
        status=status, collected_on=collected_on), errors)


def label_year(label: str) -> int | None:
    """The year a label writes after "/": "12/2023" -> 2023, "12/23" -> 2023, "12" -> None."""
    _number, _, year = label.partition("/")
    return (2000 + int(year) if len(year) == 2 else int(year)) if year else None


def check_rows(table: Table, mapping: dict[str, int], *, today: dt.date,
               sequence: Callable[[EntryRow], int] = lambda row: 0) -> list[RowCheck]:
    """Every data row checked, then numbers repeated within the file marked on each repeat: the
    same number in the same sequence (`sequence(row)`: 0 for a school's continuous numbering, the
    year of issue for one numbered per year, docs/domain.md §5)."""
    checks = []
    for line, cells in table.rows:
        def get(field: str, cells: list[str] = cells) -> str:
            index = mapping.get(field)
            return clean(cells[index]) if index is not None and index < len(cells) else ""
        checks.append(check_row(line, get, today=today))
    first_line: dict[tuple[int, int], int] = {}
    for check in checks:
        row = check.row
        if row is None:
            continue
        year = sequence(row)
        if year and label_year(row.label) not in (None, year):
            check.errors.append(f"Numer {row.label} ma w sobie inny rok niż rok wydania ({year}) — przy numeracji "
                                "rocznej rok w numerze to rok wydania legitymacji. Popraw numer albo datę.")
            check.row = None
            continue
        seen = first_line.setdefault((year, row.number), check.line)
        if seen != check.line:
            where = f" w roku {year}" if year else ""
            hint = "" if year else (" (Numeracja szkoły w roku wydania jest ciągła — w Ustawieniach. Jeśli wtedy "
                                    "numerowano od nowa co rok, tych lat nie da się zaimportować bez zmiany numerów.)")
            check.errors.append(f"Numer {row.label} występuje w pliku{where} już w wierszu {seen} — numer legitymacji "
                                "nie może się powtarzać." + hint)
            check.row = None
    return checks


def gaps(numbers: set[int], upto: int) -> list[tuple[int, int]]:
    """The runs of 1..upto missing from `numbers`: [(5, 7), (12, 12)]. Walks the numbers, not the
    range, so a file numbered up to 9 999 999 costs no more than its rows."""
    runs: list[tuple[int, int]] = []
    expected = 1
    for n in sorted(n for n in numbers if 1 <= n <= upto):
        if n > expected:
            runs.append((expected, n - 1))
        expected = n + 1
    if expected <= upto:
        runs.append((expected, upto))
    return runs


def runs_text(runs: list[tuple[int, int]], limit: int = 12) -> str:
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"i {len(runs) - limit} dalszych")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------------
# The template a school downloads

_EXAMPLE_BIRTH = dt.date(2012, 5, 4)
NOTES = (
    ("Nr legitymacji", "wymagane; numer z ewidencji szkoły, np. 123 albo 123/2023 (liczy się liczba przed „/”)"),
    ("Nazwisko", "wymagane"),
    ("Imię", "wymagane"),
    ("Drugie imię", "opcjonalne"),
    ("PESEL", "wymagane, 11 cyfr; kolumnę sformatuj jako tekst, żeby nie zniknęły zera na początku"),
    ("Klasa (oddział)", "klasa ucznia w chwili importu; dla absolwentów można zostawić ostatnią albo puste"),
    ("Data wydania", "wymagane, dd.mm.rrrr; papierowe legitymacje — najpóźniej 12.07.2024"),
    ("Rodzaj legitymacji", "wymagane: papierowa albo e-legitymacja"),
    ("Stan", "wymagane: ważna albo unieważniona"),
    ("Data odbioru", "opcjonalne, dd.mm.rrrr"),
)


def _example() -> list[list[str]]:
    return [
        ["41/2023", "Nowak", "Jan", "", pesel_rules.make(_EXAMPLE_BIRTH, 321, "M"), "7b", "01.09.2023", "papierowa",
         "ważna", "04.09.2023"],
        ["42/2024", "Wiśniewska", "Ola", "Maria", pesel_rules.make(dt.date(2013, 2, 11), 654, "K"), "6a", "02.09.2024",
         "e-legitymacja", "ważna", "20.09.2024"],
    ]


def template_csv() -> bytes:
    return csv_document(list(FIELDS.values()), _example())


def template_xlsx() -> bytes:
    keys = list(FIELDS)
    text_columns = {keys.index(f): "@" for f in ("number", "pesel", "class_name", "issue_date", "collected_on")}
    return xlsx_document([
        Sheet(title="Ewidencja", rows=[list(FIELDS.values()), *_example()], bold_rows=frozenset({0}),
              widths=[max(12, len(label) + 2) for label in FIELDS.values()], column_formats=text_columns,
              freeze="A2"),
        Sheet(title="Objaśnienia", rows=[("Kolumna", "Co wpisać"), *NOTES], bold_rows=frozenset({0}), widths=(24, 90)),
    ])
