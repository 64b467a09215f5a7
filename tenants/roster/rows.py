"""Validating and normalising the rows of a pupil list read by `tenants.roster.file`.

Pure functions, no Flask and no database. `validate_rows` returns one `RowResult` per data row: a
normalised `PupilRow` when the row is usable, else the Polish reasons why not (a row may have
several). Messages and labels are shown in the import report and may be stored, so they never
contain a PESEL or a document number: cell values are quoted only for short coded columns (rodzaj
ucznia, płeć, …), and even then any run of five or more digits is masked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping

from tenants.pupils import names
from tenants.pupils import pesel as pesel_rules
from tenants.pupils import text_entry
from tenants.roster.file import FIELDS
from tenants.roster.file import Table
from tenants.roster.file import mask_digits
from tenants.roster.file import normalise_header

MAX_NAME = 100
MAX_CLASS = 20
MAX_BOOK_NUMBER = 20
MAX_ADDRESS = 300
MAX_EMAIL = 254
MAX_DOCUMENT_TYPE = 50
MAX_DOCUMENT_NUMBER = 30
MIN_AGE = 2
MAX_AGE = 100


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

_DATE_FORMATS = (
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
)
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")
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


def parse_date(text: str) -> dt.date:
    """A date in dd.mm.yyyy, d.m.yyyy, yyyy-mm-dd, dd-mm-yyyy or dd/mm/yyyy; ValueError with a Polish reason."""
    value = clean(text)
    for pattern, order in _DATE_FORMATS:
        match = pattern.fullmatch(value)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            try:
                return dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError as exc:
                raise ValueError("Data urodzenia nie istnieje w kalendarzu (np. 31.02) — popraw dzień lub miesiąc."
                                 ) from exc
    raise ValueError("Data urodzenia ma nieprawidłowy format — wpisz ją jako dd.mm.rrrr (z czterocyfrowym rokiem), "
                     "np. 15.03.2017.")


def age_on(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


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


def _validate_row(line, get, today, seen_pesel, seen_document, seen_person) -> RowResult:
    errors: list[str] = []

    # Names and class ---------------------------------------------------------------------------
    surname = _name(fix_caps(get("surname")), names.SURNAME, errors)
    first = _name(fix_caps(get("first_name")), names.FIRST_NAMES, errors)
    second = _name(fix_caps(get("second_name")), names.SECOND_NAME, errors)
    first_names = " ".join(part for part in (first, second) if part)
    class_name = get("class_name")
    if not surname:
        errors.append(f"Brak nazwiska — uzupełnij kolumnę {_col('surname')}.")
    elif len(surname) > MAX_NAME:
        errors.append(f"Nazwisko jest za długie (najwyżej {MAX_NAME} znaków).")
    if not first:
        errors.append(f"Brak imienia — uzupełnij kolumnę {_col('first_name')}.")
    elif len(first_names) > MAX_NAME:
        errors.append(f"Imiona są za długie (razem najwyżej {MAX_NAME} znaków).")
    if not class_name:
        errors.append(f"Brak klasy (oddziału) — uzupełnij kolumnę {_col('class_name')}, np. 2a.")
    elif len(class_name) > MAX_CLASS:
        errors.append(f"Nazwa klasy (oddziału) jest za długa (najwyżej {MAX_CLASS} znaków), np. 2a.")
    label = _label(line, surname, first_names, class_name)

    # Date of birth, sex, PESEL ------------------------------------------------------------------
    dob_column: dt.date | None = None
    dob_text = get("date_of_birth")
    dob_ok = True
    if dob_text:
        try:
            dob_column = parse_date(dob_text)
        except ValueError as exc:
            errors.append(str(exc))
            dob_ok = False

    sex_column: str | None = None
    sex_text = get("sex")
    if sex_text:
        sex_column = SEXES.get(normalise_header(sex_text).rstrip("."))
        if sex_column is None:
            errors.append(f"Płeć „{shown(sex_text)}” nie jest rozpoznana — wpisz K (kobieta) lub M (mężczyzna) "
                          "albo zostaw puste.")

    pesel: str | None = None
    pesel_text = get("pesel").lstrip("'").replace(" ", "")
    if pesel_text:
        if re.fullmatch(r"\d+([.,]\d+)?[eE]\+?\d+", pesel_text):
            errors.append("PESEL zapisano w arkuszu jako liczbę w notacji naukowej (np. 4,4E+10), więc jego cyfry "
                          "przepadły — sformatuj kolumnę PESEL jako tekst i wpisz numer ponownie.")
        else:
            if pesel_text.isdigit() and 9 <= len(pesel_text) <= 10:
                pesel_text = pesel_text.zfill(11)  # a numeric cell lost the leading zeros
            try:
                pesel = pesel_rules.validate(pesel_text)
            except pesel_rules.PeselError as exc:
                errors.append(str(exc))
    if pesel is not None:
        if dob_column is not None:
            try:
                pesel_rules.validate(pesel, date_of_birth=dob_column)
            except pesel_rules.PeselError as exc:
                errors.append(f"{exc} Sprawdź kolumny {_col('date_of_birth')} i {_col('pesel')}.")
        if sex_column is not None:
            try:
                pesel_rules.validate(pesel, sex_code=sex_column)
            except pesel_rules.PeselError as exc:
                errors.append(str(exc))

    date_of_birth = dob_column
    if date_of_birth is None and pesel is not None:
        date_of_birth = pesel_rules.birth_date(pesel)
    if date_of_birth is None and dob_ok and not (pesel_text and pesel is None):
        errors.append(f"Brak daty urodzenia — uzupełnij kolumnę {_col('date_of_birth')} (dd.mm.rrrr) "
                      f"albo podaj PESEL.")
    if date_of_birth is not None:
        if date_of_birth > today:
            errors.append("Data urodzenia jest w przyszłości — popraw ją.")
        elif age_on(date_of_birth, today) < MIN_AGE:
            errors.append(f"Według daty urodzenia uczeń ma mniej niż {MIN_AGE} lata — sprawdź datę (zwłaszcza rok).")
        elif age_on(date_of_birth, today) > MAX_AGE:
            errors.append(f"Według daty urodzenia uczeń ma ponad {MAX_AGE} lat — sprawdź datę (zwłaszcza rok).")
    sex = pesel_rules.sex(pesel) if pesel is not None else sex_column

    # Other identity document --------------------------------------------------------------------
    document_type = get("id_document_type")
    document_number = get("id_document_number").upper().replace(" ", "")
    if not pesel_text:
        if not document_type and not document_number:
            errors.append("Brak numeru PESEL — podaj rodzaj i numer innego dokumentu tożsamości (kolumny "
                          f"{_col('id_document_type')} i {_col('id_document_number')}).")
        elif not document_type:
            errors.append(f"Podano numer dokumentu tożsamości, ale brak jego rodzaju — uzupełnij kolumnę "
                          f"{_col('id_document_type')}, np. paszport.")
        elif not document_number:
            errors.append(f"Podano rodzaj dokumentu tożsamości, ale brak jego numeru — uzupełnij kolumnę "
                          f"{_col('id_document_number')}.")
    if len(document_type) > MAX_DOCUMENT_TYPE:
        errors.append(f"Rodzaj dokumentu tożsamości jest za długi (najwyżej {MAX_DOCUMENT_TYPE} znaków).")
    if len(document_number) > MAX_DOCUMENT_NUMBER:
        errors.append(f"Numer dokumentu tożsamości jest za długi (najwyżej {MAX_DOCUMENT_NUMBER} znaków).")

    # Other columns ------------------------------------------------------------------------------
    book_number = get("book_number")
    if len(book_number) > MAX_BOOK_NUMBER:
        errors.append(f"Numer w księdze uczniów jest za długi (najwyżej {MAX_BOOK_NUMBER} znaków).")
    address = get("address")
    if len(address) > MAX_ADDRESS:
        errors.append(f"Adres zamieszkania jest za długi (najwyżej {MAX_ADDRESS} znaków).")
    parent_email = get("parent_email")
    if parent_email and (len(parent_email) > MAX_EMAIL or not _EMAIL.fullmatch(parent_email)):
        errors.append(f"Adres e-mail rodzica jest nieprawidłowy — wpisz jeden adres w postaci nazwa@domena.pl "
                      f"albo zostaw kolumnę {_col('parent_email')} pustą.")

    for field, value in (("id_document_type", document_type), ("id_document_number", document_number),
                         ("book_number", book_number), ("class_name", class_name), ("address", address)):
        refused = text_entry.problem(value, FIELDS[field])  # what tenants.pupils.operations would refuse at the import
        if refused:
            errors.append(refused)

    learner_type = _coded(get("learner_type"), LEARNER_TYPES, errors,
                          "Rodzaj ucznia „{}” nie jest rozpoznany — wpisz: uczeń, słuchacz (szkoła dla dorosłych) "
                          "albo przedszkole (lub zostaw puste).")
    disabled = _coded(get("disabled"), YES_NO, errors,
                      "Niepełnosprawność: wartość „{}” nie jest rozpoznana — wpisz „tak” albo „nie” "
                      "(lub zostaw puste).")
    status = _coded(get("status"), STATUSES, errors,
                    "Status „{}” nie jest rozpoznany — wpisz: aktywny, odszedł albo przeniesiony (lub zostaw puste).")

    # Duplicates within the file -----------------------------------------------------------------
    if pesel is not None:
        earlier = seen_pesel.setdefault(pesel, line)
        if earlier != line:
            errors.append(f"Ten sam PESEL powtarza się w wierszu {earlier} — każdy uczeń może wystąpić w pliku "
                          "tylko raz; usuń lub popraw jeden z tych wierszy.")
    if not pesel_text and document_type and document_number:
        # The school's register keeps a document number once, whatever its type (the unique blind index
        # of `tenants.pupils.operations.document_index`), so the file may not hold it twice either.
        earlier = seen_document.setdefault(document_number, line)
        if earlier != line:
            errors.append(f"Ten sam numer dokumentu tożsamości powtarza się w wierszu {earlier} (także gdy rodzaj "
                          "dokumentu jest inny) — każdy uczeń może wystąpić w pliku tylko raz; usuń lub popraw jeden "
                          "z tych wierszy.")
    if surname and first and date_of_birth is not None:
        key_person = (surname.casefold(), first_names.casefold(), date_of_birth)
        earlier_person = seen_person.get(key_person)
        if earlier_person is None:
            seen_person[key_person] = (line, pesel is not None)
        elif not (earlier_person[1] and pesel is not None):
            # Two different PESELs tell namesakes apart; without them the rows look like one pupil twice.
            errors.append(f"Uczeń o tym samym nazwisku, imionach i dacie urodzenia powtarza się w wierszu "
                          f"{earlier_person[0]} — jeśli to ta sama osoba, usuń jeden z wierszy; jeśli nie, podaj "
                          "obu uczniom PESEL.")

    if errors:
        return RowResult(line=line, row=None, errors=tuple(errors), label=label)
    row = PupilRow(
        line=line, surname=surname, first_names=first_names, date_of_birth=date_of_birth, sex=sex, pesel=pesel,
        id_document_type=document_type, id_document_number=document_number, book_number=book_number,
        class_name=class_name, learner_type=learner_type, disabled=disabled, address=address,
        parent_email=parent_email, status=status)
    return RowResult(line=line, row=row, errors=(), label=label)


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
