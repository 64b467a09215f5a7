"""Validating and normalising the rows of a pupil list read by `tenants.roster.file`.

Pure functions, no Flask and no database. `validate_rows` returns one `RowResult` per data row: a
normalised `PupilRow` when the row is usable, else the Polish reasons why not (a row may have
several). Messages and labels are shown in the import report and may be stored, so they never
contain a PESEL or a document number: cell values are quoted only for short coded columns (rodzaj
ucznia, płeć, …), and even then any run of five or more digits is masked. The fields that the
school's form takes too are checked by the same rules and messages (`tenants.pupils.fields`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from collections.abc import Mapping

from tenants.pupils import fields
from tenants.pupils import names
from tenants.pupils import pesel as pesel_rules
from tenants.roster.file import FIELDS
from tenants.roster.file import Table
from tenants.roster.file import mask_digits
from tenants.roster.file import normalise_header


@dataclasses.dataclass(frozen=True)
class PupilRow:
    line: int
    surname: str
    first_names: str  # first and second name joined by a space
    date_of_birth: dt.date
    sex: str | None  # 'K'/'M' from the PESEL, else from the Płeć column, else None
    pesel: str | None
    id_document_type: str
    id_document_number: str  # upper case, no spaces
    book_number: str
    class_name: str
    learner_type: str | None  # "pupil" | "adult" | "preschool"; None when the cell is empty
    disabled: bool | None
    address: str
    parent_email: str
    status: str | None  # "active" | "left" | "transferred"; None when the cell is empty


@dataclasses.dataclass(frozen=True)
class RowResult:
    line: int
    row: PupilRow | None
    errors: tuple[str, ...]
    label: str  # "Nazwisko Imię (klasa)" as far as known, for the report


# --------------------------------------------------------------------------------------------------
# Coded values (matched on `normalise_header`: case- and diacritics-insensitive)

LEARNER_TYPES = {
    "uczen": "pupil", "uczennica": "pupil", "pupil": "pupil",
    "sluchacz": "adult", "sluchaczka": "adult", "dorosly": "adult", "dorosla": "adult", "adult": "adult",
    "przedszkole": "preschool", "dziecko": "preschool", "przedszkolak": "preschool",
    "oddzial przedszkolny": "preschool", "preschool": "preschool",
}
YES_NO = {
    "tak": True, "t": True, "1": True, "x": True, "yes": True, "y": True, "true": True,
    "nie": False, "n": False, "0": False, "no": False, "false": False,
}
STATUSES = {
    "aktywny": "active", "aktywna": "active", "uczy sie": "active", "active": "active",
    "odszedl": "left", "odeszla": "left", "skreslony": "left", "skreslona": "left", "left": "left",
    "przeniesiony": "transferred", "przeniesiona": "transferred", "transferred": "transferred",
}
SEXES = {
    "k": "K", "kobieta": "K", "dziewczynka": "K", "dziewczyna": "K", "zenska": "K",
    "m": "M", "mezczyzna": "M", "chlopiec": "M", "chlopak": "M", "meska": "M",
}

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


def clean(text: str) -> str:
    """Collapse surplus (also non-breaking) whitespace and drop invisible characters."""
    return " ".join((text or "").translate(_INVISIBLE).split())


def shown(text: str, limit: int = 30) -> str:
    """A cell value as it may appear in a message: digit runs masked, shortened."""
    text = mask_digits(clean(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fix_caps(name: str) -> str:
    """ALL-CAPS names (as some exports write surnames) in title case, Polish letters and hyphens respected:
    "KOWALSKA-NOWAK" -> "Kowalska-Nowak", "ŁUKASZ" -> "Łukasz". Other names keep the case as given."""
    letters = [ch for ch in name if ch.isalpha()]
    if len(letters) < 2 or any(not ch.isupper() for ch in letters if ch.lower() != ch.upper()):
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), name)


def _col(field: str) -> str:
    return f"„{FIELDS[field]}”"


# --------------------------------------------------------------------------------------------------


def validate_rows(table: Table, mapping: Mapping[str, int], *, today: dt.date) -> list[RowResult]:
    """Check every data row of `table` read through `mapping` (field -> column index, see `check_mapping`)."""
    seen_pesel: dict[str, int] = {}
    seen_document: dict[str, int] = {}
    seen_person: dict[tuple[str, str, dt.date], tuple[int, bool]] = {}
    results = []
    for line, cells in table.rows:
        def get(field: str, cells: list[str] = cells) -> str:
            index = mapping.get(field)
            if index is None or not 0 <= index < len(cells):
                return ""
            return clean(cells[index])

        results.append(_validate_row(line, get, today, seen_pesel, seen_document, seen_person))
    return results


@dataclasses.dataclass
class _Row:
    """What one row says so far, and what is wrong with it."""

    line: int
    get: Callable[[str], str]
    errors: list[str] = dataclasses.field(default_factory=list)
    values: dict[str, object] = dataclasses.field(default_factory=dict)

    def text(self, name: str, cell: str | None = None) -> str:
        """The cell of column `cell` (default: `name`) checked by the pupil field rules."""
        value, problems = fields.check(name, self.get(cell or name))
        self.errors.extend(problems)
        self.values[name] = value
        return value


def _validate_row(line, get, today, seen_pesel, seen_document, seen_person) -> RowResult:
    row = _Row(line, get)
    surname, first, first_names, class_name = _names_and_class(row)
    label = _label(line, surname, first_names, class_name)
    pesel, pesel_text, date_of_birth, sex = _identity(row, today)
    document_type, document_number = _document(row, pesel_text)
    for name in ("book_number", "address", "parent_email"):
        row.text(name)
    learner_type = _coded(get("learner_type"), LEARNER_TYPES, row.errors,
                          "Rodzaj ucznia „{}” nie jest rozpoznany — wpisz: uczeń, słuchacz (szkoła dla dorosłych) "
                          "albo przedszkole (lub zostaw puste).")
    disabled = _coded(get("disabled"), YES_NO, row.errors,
                      "Niepełnosprawność: wartość „{}” nie jest rozpoznana — wpisz „tak” albo „nie” "
                      "(lub zostaw puste).")
    status = _coded(get("status"), STATUSES, row.errors,
                    "Status „{}” nie jest rozpoznany — wpisz: aktywny, odszedł albo przeniesiony (lub zostaw puste).")
    _duplicates(row, pesel, pesel_text, (document_type, document_number), seen_pesel, seen_document)
    if surname and first and date_of_birth is not None:
        _same_person(row, (surname.casefold(), first_names.casefold(), date_of_birth), pesel is not None,
                     seen_person)

    if row.errors:
        return RowResult(line=line, row=None, errors=tuple(row.errors), label=label)
    pupil = PupilRow(
        line=line, surname=surname, first_names=first_names, date_of_birth=date_of_birth, sex=sex, pesel=pesel,
        id_document_type=document_type, id_document_number=document_number, book_number=row.values["book_number"],
        class_name=class_name, learner_type=learner_type, disabled=disabled, address=row.values["address"],
        parent_email=row.values["parent_email"], status=status)
    return RowResult(line=line, row=pupil, errors=(), label=label)


def _names_and_class(row: _Row) -> tuple[str, str, str, str]:
    """(surname, first name, first names, class) as they will be stored; reasons in `row.errors`."""
    surname = _name(fix_caps(row.get("surname")), names.SURNAME, row.errors)
    first = _name(fix_caps(row.get("first_name")), names.FIRST_NAMES, row.errors)
    second = _name(fix_caps(row.get("second_name")), names.SECOND_NAME, row.errors)
    first_names = " ".join(part for part in (first, second) if part)
    if not surname:
        row.errors.append(f"Brak nazwiska — uzupełnij kolumnę {_col('surname')}.")
    else:
        row.errors.extend(fields.check("surname", surname)[1])
    if not first:
        row.errors.append(f"Brak imienia — uzupełnij kolumnę {_col('first_name')}.")
    else:
        row.errors.extend(fields.check("first_names", first_names)[1])
    if not row.get("class_name"):
        row.errors.append(f"Brak klasy (oddziału) — uzupełnij kolumnę {_col('class_name')}, np. 2a.")
    class_name = row.text("class_name")
    return surname, first, first_names, class_name


def _identity(row: _Row, today: dt.date) -> tuple[str | None, str, dt.date | None, str | None]:
    """(PESEL, the PESEL cell as typed, date of birth, sex) from the PESEL, Data urodzenia and Płeć columns."""
    dob_column, dob_ok = None, True
    try:
        dob_column = fields.parse_birth_date(row.get("date_of_birth"))
    except fields.BadBirthDate as exc:
        row.errors.append(str(exc))
        dob_ok = False
    sex_column = _sex(row)
    pesel_text = row.get("pesel").lstrip("'").replace(" ", "")
    pesel = _pesel(row, pesel_text, dob_column, sex_column) if pesel_text else None
    date_of_birth = dob_column
    if date_of_birth is None and pesel is not None:
        date_of_birth = pesel_rules.birth_date(pesel)
    if date_of_birth is None and dob_ok and not (pesel_text and pesel is None):
        row.errors.append(f"Brak daty urodzenia — uzupełnij kolumnę {_col('date_of_birth')} (dd.mm.rrrr) "
                          f"albo podaj PESEL.")
    if date_of_birth is not None and (problem := fields.birth_date_problem(date_of_birth, today)):
        row.errors.append(problem)
    sex = pesel_rules.sex(pesel) if pesel is not None else sex_column
    return pesel, pesel_text, date_of_birth, sex


def _sex(row: _Row) -> str | None:
    sex_text = row.get("sex")
    if not sex_text:
        return None
    sex = SEXES.get(normalise_header(sex_text).rstrip("."))
    if sex is None:
        row.errors.append(f"Płeć „{shown(sex_text)}” nie jest rozpoznana — wpisz K (kobieta) lub M (mężczyzna) "
                          "albo zostaw puste.")
    return sex


def _pesel(row: _Row, text: str, dob_column: dt.date | None, sex_column: str | None) -> str | None:
    """The PESEL cell validated, and checked against the birth date and sex columns."""
    if re.fullmatch(r"\d+([.,]\d+)?[eE]\+?\d+", text):
        row.errors.append("PESEL zapisano w arkuszu jako liczbę w notacji naukowej (np. 4,4E+10), więc jego cyfry "
                          "przepadły — sformatuj kolumnę PESEL jako tekst i wpisz numer ponownie.")
        return None
    if text.isdigit() and 9 <= len(text) <= 10:
        text = text.zfill(11)  # a numeric cell lost the leading zeros
    try:
        pesel = pesel_rules.validate(text)
    except pesel_rules.PeselError as exc:
        row.errors.append(str(exc))
        return None
    if dob_column is not None:
        try:
            pesel_rules.validate(pesel, date_of_birth=dob_column)
        except pesel_rules.PeselError as exc:
            row.errors.append(f"{exc} Sprawdź kolumny {_col('date_of_birth')} i {_col('pesel')}.")
    if sex_column is not None:
        try:
            pesel_rules.validate(pesel, sex_code=sex_column)
        except pesel_rules.PeselError as exc:
            row.errors.append(str(exc))
    return pesel


def _document(row: _Row, pesel_text: str) -> tuple[str, str]:
    """(type, number) of the other identity document; both are needed when there is no PESEL."""
    document_type = row.text("id_document_type")
    document_number = row.text("id_document_number")
    if pesel_text:
        return document_type, document_number
    if not document_type and not document_number:
        row.errors.append("Brak numeru PESEL — podaj rodzaj i numer innego dokumentu tożsamości (kolumny "
                          f"{_col('id_document_type')} i {_col('id_document_number')}).")
    elif not document_type:
        row.errors.append(f"Podano numer dokumentu tożsamości, ale brak jego rodzaju — uzupełnij kolumnę "
                          f"{_col('id_document_type')}, np. paszport.")
    elif not document_number:
        row.errors.append(f"Podano rodzaj dokumentu tożsamości, ale brak jego numeru — uzupełnij kolumnę "
                          f"{_col('id_document_number')}.")
    return document_type, document_number


def _duplicates(row: _Row, pesel: str | None, pesel_text: str, document: tuple[str, str],
                seen_pesel: dict[str, int], seen_document: dict[str, int]) -> None:
    """The same PESEL, or without one the same document number, earlier in the file."""
    if pesel is not None:
        earlier = seen_pesel.setdefault(pesel, row.line)
        if earlier != row.line:
            row.errors.append(f"Ten sam PESEL powtarza się w wierszu {earlier} — każdy uczeń może wystąpić w pliku "
                              "tylko raz; usuń lub popraw jeden z tych wierszy.")
    if not pesel_text and all(document):
        # The school's register keeps a document number once, whatever its type (the unique blind index
        # of `tenants.pupils.operations.document_index`), so the file may not hold it twice either.
        earlier = seen_document.setdefault(document[1], row.line)
        if earlier != row.line:
            row.errors.append(f"Ten sam numer dokumentu tożsamości powtarza się w wierszu {earlier} (także gdy "
                              "rodzaj dokumentu jest inny) — każdy uczeń może wystąpić w pliku tylko raz; usuń lub "
                              "popraw jeden z tych wierszy.")


def _same_person(row: _Row, key: tuple[str, str, dt.date], has_pesel: bool,
                 seen_person: dict[tuple[str, str, dt.date], tuple[int, bool]]) -> None:
    earlier = seen_person.get(key)
    if earlier is None:
        seen_person[key] = (row.line, has_pesel)
    elif not (earlier[1] and has_pesel):
        # Two different PESELs tell namesakes apart; without them the rows look like one pupil twice.
        row.errors.append(f"Uczeń o tym samym nazwisku, imionach i dacie urodzenia powtarza się w wierszu "
                          f"{earlier[0]} — jeśli to ta sama osoba, usuń jeden z wierszy; jeśli nie, podaj "
                          "obu uczniom PESEL.")


def _name(text: str, subject: names.Subject, errors: list[str]) -> str:
    """The name as it will be stored (`tenants.pupils.names`), or as given with the reason in `errors`."""
    try:
        return names.person_name(text, subject, required=False)
    except names.InvalidName as exc:
        errors.append(str(exc))
        return text


def _coded(text: str, values: Mapping[str, object], errors: list[str], message: str):
    if not text:
        return None
    key = normalise_header(text).rstrip(".").strip()
    if key in values:
        return values[key]
    errors.append(message.format(shown(text)))
    return None


def _label(line: int, surname: str, first_names: str, class_name: str) -> str:
    name = " ".join(part for part in (shown(surname, 60), shown(first_names, 60)) if part)
    if class_name:
        name = f"{name} ({shown(class_name, 20)})" if name else f"wiersz {line} ({shown(class_name, 20)})"
    return name or f"wiersz {line}"
