"""Reading a pupil list (CSV or XLSX) and recognising its columns.

Pure functions, no Flask and no database. The file's format is decided by its content, never by its
name: an XLSX (zip) is streamed by `tenants.roster.xlsx`, legacy ``.xls`` and other formats are
refused, anything else is streamed as CSV by `tenants.roster.csv_reader` (UTF-8 or Polish Excel's cp1250;
``;``, ``,`` or tab). Both obey the limits of `tenants.roster.table`, which keeps the rows packed:
reading any file up to `MAX_BYTES` stays within a memory budget of 100 MB above the process's
baseline, and a file that would need more is refused early with a Polish message saying why.

Layouts recognised by `detect_layout`: a Vulcan pupil-list export (docs/domain.md §10: ``Nazwisko``,
``Imię``, ``Drugie imię``, ``Data urodzenia``, ``PESEL``, ``Numer w księdze uczniów``,
``Dane oddziału``) and our own template (`template_csv`, `template_xlsx`); for any other file a best
guess from header synonyms prefills the column-mapping form and `check_mapping` checks the answer.

Every `RosterFileError` message is plain Polish, safe to show and to store: it quotes column headers
and field labels, never a cell of pupil data.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

from infra import inputs
from infra.spreadsheets import Sheet
from infra.spreadsheets import csv_document
from infra.spreadsheets import xlsx_document
from tenants.pupils import pesel as pesel_rules
from tenants.roster.csv_reader import csv_rows
from tenants.roster.table import HEADER_SEARCH_ROWS
from tenants.roster.table import MAX_BYTES
from tenants.roster.table import MAX_ROWS
from tenants.roster.table import RosterFileError
from tenants.roster.table import Table
from tenants.roster.table import TableBuilder
from tenants.roster.table import column_letters
from tenants.roster.xlsx import xlsx_rows
from tenants.roster.xlsx_archive import MAX_UNZIPPED_BYTES

# Re-exported: callers and tests know the limits and the types by this module.
__all__ = ["HEADER_SEARCH_ROWS", "MAX_BYTES", "MAX_ROWS", "MAX_UNZIPPED_BYTES", "RosterFileError", "Table"]

FIELDS: dict[str, str] = {
    "surname": "Nazwisko",
    "first_name": "Imię",
    "second_name": "Drugie imię",
    "date_of_birth": "Data urodzenia",
    "pesel": "PESEL",
    "id_document_type": "Rodzaj dokumentu tożsamości",
    "id_document_number": "Numer dokumentu tożsamości",
    "book_number": "Numer w księdze uczniów",
    "class_name": "Klasa (oddział)",
    "learner_type": "Rodzaj ucznia",
    "disabled": "Niepełnosprawność",
    "sex": "Płeć",
    "address": "Adres zamieszkania",
    "parent_email": "E-mail rodzica",
    "status": "Status",
}
REQUIRED_FIELDS = ("surname", "first_name", "class_name")

VULCAN_COLUMNS = {
    "surname": "Nazwisko",
    "first_name": "Imię",
    "second_name": "Drugie imię",
    "date_of_birth": "Data urodzenia",
    "pesel": "PESEL",
    "book_number": "Numer w księdze uczniów",
    "class_name": "Dane oddziału",
}

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAVE_AS = ("Zapisz listę w Excelu jako „Skoroszyt programu Excel (.xlsx)” albo „CSV (rozdzielany średnikami)” "
            "i wyślij ponownie.")


# --------------------------------------------------------------------------------------------------
# Header matching


def normalise_header(text: str) -> str:
    """Case-, diacritics- and whitespace-insensitive form of a header; trailing ':' and '*' dropped."""
    text = (text or "").replace("ł", "l").replace("Ł", "L")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = " ".join(text.split())
    return text.rstrip(":* ").strip()


_SYNONYMS: dict[str, tuple[str, ...]] = {
    "surname": ("nazwisko", "nazwisko ucznia", "uczen - nazwisko", "uczen nazwisko", "nazwiska", "surname",
                "last name"),
    "first_name": ("imie", "imiona", "pierwsze imie", "imie ucznia", "imiona ucznia", "uczen - imie",
                   "uczen - imiona", "first name"),
    "second_name": ("drugie imie", "drugie imiona", "imie drugie", "second name", "middle name"),
    "date_of_birth": ("data urodzenia", "data ur.", "data ur", "dt. urodzenia", "urodzony", "urodzona",
                      "urodzony(a)", "urodzony/a", "data urodzenia ucznia", "date of birth"),
    "pesel": ("pesel", "pesel ucznia", "nr pesel", "numer pesel", "uczen - pesel"),
    "id_document_type": ("rodzaj dokumentu tozsamosci", "rodzaj dokumentu", "typ dokumentu",
                         "typ dokumentu tozsamosci", "dokument tozsamosci", "dokument"),
    "id_document_number": ("numer dokumentu tozsamosci", "numer dokumentu", "nr dokumentu",
                           "nr dokumentu tozsamosci", "seria i numer dokumentu", "seria i numer"),
    "book_number": ("numer w ksiedze uczniow", "nr w ksiedze uczniow", "numer w ksiedze", "nr w ksiedze",
                    "nr w ksiedze ucz.", "numer ewidencyjny", "nr ewidencyjny", "numer w ksiedze ewidencji"),
    "class_name": ("klasa (oddzial)", "klasa", "oddzial", "dane oddzialu", "klasa/oddzial", "klasa / oddzial",
                   "oddzial (klasa)", "nazwa oddzialu"),
    "learner_type": ("rodzaj ucznia", "typ ucznia", "kategoria ucznia"),
    "disabled": ("niepelnosprawnosc", "niepelnosprawny", "niepelnosprawna", "uczen niepelnosprawny",
                 "orzeczenie o niepelnosprawnosci"),
    "sex": ("plec", "plec ucznia"),
    "address": ("adres zamieszkania", "adres", "adres ucznia", "miejsce zamieszkania", "adres zamieszkania ucznia"),
    "parent_email": ("e-mail rodzica", "email rodzica", "e-mail", "email", "adres e-mail", "adres email",
                     "e-mail opiekuna", "adres e-mail rodzica", "e-mail rodzica/opiekuna", "mail"),
    "status": ("status", "status ucznia"),
}
_EXACT: dict[str, str] = {syn: field for field, syns in _SYNONYMS.items() for syn in syns}

# Looser rules for headers no synonym names exactly, tried in this order: (field, required substrings, any of).
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parent_email", ("mail",)),
    ("pesel", ("pesel",)),
    ("second_name", ("drugie imi", "imie drugie")),
    ("first_name", ("imie", "imiona")),
    ("surname", ("nazwisk",)),
    ("date_of_birth", ("data ur", "urodz")),
    ("id_document_number", ("numer dokument", "nr dokument", "seria")),
    ("id_document_type", ("rodzaj dokument", "typ dokument")),
    ("book_number", ("ksieg", "ewidenc")),
    ("class_name", ("oddzial", "klasa")),
    ("learner_type", ("rodzaj ucz", "typ ucz", "kategori")),
    ("disabled", ("niepelnospr",)),
    ("sex", ("plec",)),
    ("address", ("adres",)),
    ("status", ("status",)),
)
# A header about a parent, or one combining first name and surname, names no field of the pupil.
_NOT_PUPIL = ("rodzic", "opiekun", "matk", "ojc", "miejsce ur")


def guess_field(header: str) -> str | None:
    """The field a header most likely names, or None."""
    norm = normalise_header(header)
    if not norm:
        return None
    if norm in _EXACT:
        return _EXACT[norm]
    if ("imie" in norm or "imiona" in norm) and "nazwisk" in norm:
        return None
    for field, keys in _KEYWORDS:
        if field != "parent_email" and any(k in norm for k in _NOT_PUPIL):
            continue
        if any(k in norm for k in keys):
            return field
    return None


def detect_layout(headers: list[str]) -> tuple[str | None, dict[str, int]]:
    """Recognise the file's layout: ("vulcan", mapping), ("legitka", mapping) or (None, best guess)."""
    norms = [normalise_header(h) for h in headers]
    position: dict[str, int] = {}
    for i, norm in enumerate(norms):
        position.setdefault(norm, i)

    vulcan = {field: normalise_header(label) for field, label in VULCAN_COLUMNS.items()}
    if all(norm in position for norm in vulcan.values()):
        mapping = {field: position[norm] for field, norm in vulcan.items()}
        # Other columns of the export that name a field exactly (e.g. "Płeć", "Adres") are taken too.
        used = set(mapping.values())
        for i, norm in enumerate(norms):
            field = _EXACT.get(norm)
            if field and field not in mapping and i not in used:
                mapping[field] = i
                used.add(i)
        return "vulcan", mapping

    # Our template: every named column is one of our labels (in any order, unused ones may be
    # left out), and the required ones are there.
    labels = {normalise_header(label): field for field, label in FIELDS.items()} | {"klasa": "class_name"}
    named = [(i, norm) for i, norm in enumerate(norms) if norm]
    if named and all(norm in labels for _, norm in named):
        mapping = {}
        for i, norm in named:
            mapping.setdefault(labels[norm], i)
        if all(field in mapping for field in REQUIRED_FIELDS):
            return "legitka", mapping

    return None, _guess_mapping(headers)


def _guess_mapping(headers: Sequence[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    used: set[int] = set()
    # Exact synonyms first, so that e.g. "Imię" wins over a looser "Imię matki"-like header further left.
    for i, header in enumerate(headers):
        field = _EXACT.get(normalise_header(header))
        if field and field not in mapping:
            mapping[field] = i
            used.add(i)
    for i, header in enumerate(headers):
        if i in used:
            continue
        field = guess_field(header)
        if field and field not in mapping:
            mapping[field] = i
            used.add(i)
    return {field: mapping[field] for field in FIELDS if field in mapping}


_DIGIT_RUN = re.compile(r"\d(?:[\s-]*\d){4,}")


def mask_digits(text: str) -> str:
    """Text with every run of five or more digits (spaces and dashes allowed between them) replaced by '…', so
    that a PESEL or document number never reaches a message."""
    return _DIGIT_RUN.sub("…", text)


def column_name(index: int, headers: Sequence[str] | None = None) -> str:
    """'kolumna C („Oddział”)' — how messages refer to a column (a header that is really data is masked)."""
    letters = column_letters(index)
    header = headers[index] if headers is not None and 0 <= index < len(headers) else ""
    header = mask_digits(" ".join(str(header).split()))
    if len(header) > 40:
        header = header[:39] + "…"
    return f"kolumna {letters} („{header}”)" if header else f"kolumna {letters}"


def check_mapping(mapping: Mapping[str, int | None], headers: Sequence[str]) -> dict[str, int]:
    """The column mapping the user chose, checked: unassigned fields (None) dropped; a missing required
    field, an unknown field, a column outside the file or one column given to two fields refused."""
    problems: list[str] = []
    result: dict[str, int] = {}
    taken: dict[int, str] = {}
    for field, index in mapping.items():
        if index is None:
            continue
        if field not in FIELDS:
            problems.append(f"Nieznane pole „{str(field)[:40]}” — wybierz jedno z pól listy.")
            continue
        label = FIELDS[field]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(headers):
            problems.append(f"Kolumna wybrana dla pola „{label}” nie istnieje w pliku — wybierz ją ponownie.")
            continue
        if index in taken:
            column = column_name(index, headers)
            problems.append(
                f"K{column[1:]} jest przypisana jednocześnie do pól „{FIELDS[taken[index]]}” i „{label}” — "
                "każda kolumna może odpowiadać tylko jednemu polu.")
            continue
        taken[index] = field
        result[field] = index
    for field in REQUIRED_FIELDS:
        if mapping.get(field) is None:
            problems.append(f"Wskaż kolumnę dla pola „{FIELDS[field]}” — to pole jest wymagane.")
    if "pesel" not in result and "date_of_birth" not in result:
        problems.append(f"Wskaż kolumnę „{FIELDS['pesel']}” lub „{FIELDS['date_of_birth']}” — bez nich nie da się "
                        "ustalić daty urodzenia ucznia.")
    if problems:
        raise RosterFileError(" ".join(problems))
    return {field: result[field] for field in FIELDS if field in result}


# --------------------------------------------------------------------------------------------------
# Reading


def read_table(data: bytes) -> Table:
    """Read a pupil list (XLSX or CSV, recognised by content) into a `Table`; `RosterFileError` if impossible.

    Memory: the file is streamed and the rows kept packed (`tenants.roster.table`), so reading any file
    within `MAX_BYTES` stays well within 100 MB above what the process held before; a file that would
    need more breaks one of the limits and is refused as soon as it does."""
    if len(data) > MAX_BYTES:
        raise RosterFileError(f"Plik jest za duży (ponad {MAX_BYTES // (1024 * 1024)} MB). Podziel listę na "
                              "mniejsze pliki, np. po jednym na klasę, albo usuń zbędne kolumny i arkusze.")
    if not data or data.isspace():
        raise RosterFileError("Plik jest pusty. Wybierz plik z listą uczniów (XLSX lub CSV).")
    if data.startswith(_XLSX_MAGIC):
        return _build_table(xlsx_rows(data))
    if data.startswith(_OLE_MAGIC):
        raise RosterFileError("To jest plik w starym formacie Excela (.xls), którego nie obsługujemy. " + _SAVE_AS)
    if data.startswith(b"%PDF"):
        raise RosterFileError("To jest plik PDF, a potrzebny jest arkusz z listą uczniów. "
                              "Wyeksportuj listę z dziennika jako XLSX lub CSV.")
    return _build_table(csv_rows(data))


def _build_table(raw_rows: Iterable[tuple[int, list[str]]]) -> Table:
    """The header row (the first row that looks like one among the first `HEADER_SEARCH_ROWS` non-empty
    rows, else the first non-empty row) and the data rows under it, as they stream in."""
    builder: TableBuilder | None = None
    first_nonempty: tuple[int, list[str]] | None = None
    pending: list[tuple[int, list[str]]] = []  # non-empty rows seen while looking for the header

    for line, cells in raw_rows:
        if not any(cells):
            continue
        if builder is not None:
            builder.add(line, cells)
            continue
        if first_nonempty is None:
            first_nonempty = (line, cells)
        pending.append((line, cells))
        if _looks_like_header(cells):
            builder = _builder(cells)
            pending = []
        elif len(pending) >= HEADER_SEARCH_ROWS:
            builder = _builder(first_nonempty[1])
            for row in pending[1:]:
                builder.add(*row)
            pending = []

    if builder is None:
        if first_nonempty is None:
            raise RosterFileError("Plik nie zawiera żadnych danych. Wybierz plik z listą uczniów (XLSX lub CSV).")
        builder = _builder(first_nonempty[1])
        for row in pending[1:]:
            builder.add(*row)
    if not builder.offered:
        raise RosterFileError("Plik zawiera tylko wiersz nagłówka — brak uczniów. Dopisz uczniów pod nagłówkiem, "
                              "po jednym w wierszu.")
    if not builder.rows:
        raise RosterFileError("Pod nagłówkiem nie ma danych w kolumnach, które mają nazwy. Sprawdź, czy wiersz "
                              "nagłówka opisuje wszystkie kolumny.")
    return builder.table()


def _builder(header: list[str]) -> TableBuilder:
    header = list(header)
    while header and not header[-1]:
        header.pop()
    if not header:
        raise RosterFileError("Nie znaleziono wiersza nagłówka z nazwami kolumn.")
    return TableBuilder(header)


def _looks_like_header(cells: Sequence[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) >= 2 and any(guess_field(c) == "surname" for c in filled)


# --------------------------------------------------------------------------------------------------
# Our template

TEMPLATE_EXAMPLE_BIRTH = dt.date(2017, 3, 15)


def _template_example() -> list[str]:
    return [
        "Kowalska",
        "Anna",
        "Maria",
        inputs.format_day(TEMPLATE_EXAMPLE_BIRTH),
        pesel_rules.make(TEMPLATE_EXAMPLE_BIRTH, 123, "K"),
        "",
        "",
        "45/2023",
        "2a",
        "uczeń",
        "nie",
        "K",
        "ul. Przykładowa 1 m. 2, 00-001 Warszawa",
        "rodzic@example.com",
        "aktywny",
    ]


TEMPLATE_NOTES = (
    ("Nazwisko", "wymagane"),
    ("Imię", "wymagane"),
    ("Drugie imię", "opcjonalne"),
    ("Data urodzenia", "dd.mm.rrrr, np. 15.03.2017; można pominąć, gdy podano PESEL"),
    ("PESEL", "11 cyfr; kolumnę sformatuj jako tekst, żeby nie zniknęły zera na początku"),
    ("Rodzaj dokumentu tożsamości", "tylko gdy uczeń nie ma numeru PESEL, np. paszport"),
    ("Numer dokumentu tożsamości", "tylko gdy uczeń nie ma numeru PESEL"),
    ("Numer w księdze uczniów", "opcjonalne, do 20 znaków"),
    ("Klasa (oddział)", "wymagane, do 20 znaków, np. 2a"),
    ("Rodzaj ucznia", "uczeń, słuchacz (szkoła dla dorosłych) albo przedszkole; puste = uczeń"),
    ("Niepełnosprawność", "tak albo nie; puste = nie"),
    ("Płeć", "K albo M; można pominąć, gdy podano PESEL"),
    ("Adres zamieszkania", "opcjonalne"),
    ("E-mail rodzica", "opcjonalne"),
    ("Status", "aktywny, odszedł albo przeniesiony; puste = aktywny"),
)


def template_csv() -> bytes:
    """Our documented template as CSV: UTF-8 with BOM (Excel opens it with Polish letters), ';' delimiter."""
    return csv_document(list(FIELDS.values()), [_template_example()])


def template_xlsx() -> bytes:
    """Our documented template as XLSX: header, one example row (the date of birth a date), the PESEL,
    document and number columns formatted as text, and a sheet explaining each column."""
    fields = list(FIELDS)
    example: list = _template_example()
    example[fields.index("date_of_birth")] = TEMPLATE_EXAMPLE_BIRTH
    formats = {fields.index(f): "@" for f in ("pesel", "id_document_number", "book_number", "class_name")}
    formats[fields.index("date_of_birth")] = "DD.MM.YYYY"
    return xlsx_document([
        Sheet(title="Uczniowie", rows=[list(FIELDS.values()), example], bold_rows=frozenset({0}),
              widths=[max(12, len(FIELDS[f]) + 2) for f in fields], column_formats=formats, freeze="A2"),
        Sheet(title="Objaśnienia", rows=[("Kolumna", "Co wpisać"), *TEMPLATE_NOTES], bold_rows=frozenset({0}),
              widths=(30, 80)),
    ])
