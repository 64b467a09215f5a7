"""Validating pupil-list rows (tenants.roster.rows): every rule, its Polish message, duplicates, normalisation."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tenants.pupils import pesel as pesel_rules
from tenants.roster.file import FIELDS
from tenants.roster.file import Table
from tenants.roster.rows import fix_caps
from tenants.roster.rows import validate_rows

TODAY = dt.date(2025, 9, 1)
BORN = dt.date(2016, 4, 9)
PESEL = pesel_rules.make(BORN, 321, "K")
MAPPING = {field: i for i, field in enumerate(FIELDS)}  # our template's layout


def cells(**values) -> list[str]:
    base = {"surname": "Kowalska", "first_name": "Anna", "second_name": "", "date_of_birth": BORN.strftime("%d.%m.%Y"),
            "pesel": PESEL, "id_document_type": "", "id_document_number": "", "book_number": "17/2022",
            "class_name": "3b", "learner_type": "", "disabled": "", "sex": "", "address": "", "parent_email": "",
            "status": ""}
    unknown = set(values) - set(base)
    assert not unknown, unknown
    base.update(values)
    return [base[field] for field in FIELDS]


def check(*rows: list[str]):
    table = Table(headers=list(FIELDS.values()), rows=[(line, row) for line, row in enumerate(rows, start=2)])
    results = validate_rows(table, MAPPING, today=TODAY)
    for result in results:
        for text in (*result.errors, result.label):
            assert re.search(r"\d{5,}", text) is None, text  # never a PESEL or document number
    return results


def one(**values):
    (result,) = check(cells(**values))
    return result


def errors_of(**values) -> str:
    result = one(**values)
    assert result.row is None and result.errors
    return " | ".join(result.errors)


def test_a_valid_row_is_normalised():
    result = one(surname="  Kowalska   ", first_name="Anna\u00a0", second_name=" Maria ", class_name=" 3 b ",
                 learner_type="Uczennica", disabled="NIE", status="uczy się", sex="k", address="ul.  Polna 3 ",
                 parent_email="mama@example.pl", id_document_type="paszport", id_document_number="ab 123")
    assert result.errors == ()
    row = result.row
    assert (row.line, row.surname, row.first_names, row.class_name) == (2, "Kowalska", "Anna Maria", "3 b")
    assert (row.date_of_birth, row.pesel, row.sex) == (BORN, PESEL, "K")
    assert (row.learner_type, row.disabled, row.status) == ("pupil", False, "active")
    assert (row.address, row.parent_email, row.book_number) == ("ul. Polna 3", "mama@example.pl", "17/2022")
    assert (row.id_document_type, row.id_document_number) == ("paszport", "AB123")
    assert result.label == "Kowalska Anna Maria (3 b)"


def test_empty_coded_cells_stay_none():
    row = one().row
    assert (row.learner_type, row.disabled, row.status) == (None, None, None)


# Names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ("KOWALSKA-NOWAK", "Kowalska-Nowak"),
    ("ŻÓŁTOWSKA", "Żółtowska"),
    ("ŁUKASZ", "Łukasz"),
    ("O'BRIEN", "O'Brien"),
    ("de la Cruz", "de la Cruz"),   # mixed case is kept as given
    ("McDonald", "McDonald"),
    ("kowalski", "kowalski"),
])
def test_all_caps_names_become_title_case(given, expected):
    assert fix_caps(given) == expected


def test_caps_names_in_rows():
    row = one(surname="ŚLIWIŃSKA-ĆWIK", first_name="ŹDZISŁAWA", second_name="ANNA").row
    assert (row.surname, row.first_names) == ("Śliwińska-Ćwik", "Ździsława Anna")


def test_required_names_and_class():
    assert "Brak nazwiska — uzupełnij kolumnę „Nazwisko”." in errors_of(surname=" ")
    assert "Brak imienia — uzupełnij kolumnę „Imię”." in errors_of(first_name="", second_name="Maria")
    assert "Brak klasy (oddziału) — uzupełnij kolumnę „Klasa (oddział)”" in errors_of(class_name="")


def test_lengths():
    assert "Nazwisko jest za długie (najwyżej 100 znaków)" in errors_of(surname="K" + "a" * 100)
    assert "Imiona są za długie (razem najwyżej 100 znaków)" in errors_of(first_name="A" * 60, second_name="B" * 40)
    assert one(first_name="A" * 59, second_name="B" * 40).errors == ()
    assert "Nazwa klasy (oddziału) jest za długa (najwyżej 20 znaków)" in errors_of(class_name="x" * 21)
    assert one(class_name="x" * 20).errors == ()
    assert "Numer w księdze uczniów jest za długi (najwyżej 20 znaków)" in errors_of(book_number="1" * 21)
    assert "Adres zamieszkania jest za długi (najwyżej 300 znaków)" in errors_of(address="a" * 301)
    assert one(address="a" * 300).errors == ()
    assert "Numer dokumentu tożsamości jest za długi (najwyżej 30 znaków)" in errors_of(
        pesel="", id_document_type="paszport", id_document_number="A" * 31)
    assert "Rodzaj dokumentu tożsamości jest za długi (najwyżej 50 znaków)" in errors_of(
        pesel="", id_document_type="d" * 51, id_document_number="AB123")


# Identity ---------------------------------------------------------------------------------------------


def test_identity_needs_pesel_or_a_whole_document():
    assert ("Brak numeru PESEL — podaj rodzaj i numer innego dokumentu tożsamości"
            in errors_of(pesel=""))
    assert "Podano numer dokumentu tożsamości, ale brak jego rodzaju" in errors_of(
        pesel="", id_document_number="XY 987")
    assert "Podano rodzaj dokumentu tożsamości, ale brak jego numeru" in errors_of(
        pesel="", id_document_type="paszport")
    row = one(pesel="", id_document_type="paszport", id_document_number=" xy 98 7").row
    assert (row.pesel, row.id_document_type, row.id_document_number, row.sex) == (None, "paszport", "XY987", None)


@pytest.mark.parametrize("value, message", [
    ("1234567", "PESEL musi składać się z 11 cyfr."),
    ("123456789012", "PESEL musi składać się z 11 cyfr."),
    (PESEL[:10] + "x", "PESEL musi składać się z 11 cyfr."),
    (PESEL[:10] + str((int(PESEL[10]) + 1) % 10), "PESEL ma błędną cyfrę kontrolną"),
    ("4,40514E+10", "notacji naukowej"),
    # str.isdigit() digits that are no ASCII digits: "²" made int() fail (a 500 in the dry run), and
    # Arabic-Indic digits were taken as a valid PESEL, stored under another blind index than its twin.
    (PESEL[:10] + "²", "PESEL musi składać się z 11 cyfr."),
    (PESEL.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), "PESEL musi składać się z 11 cyfr."),
])
def test_bad_pesel(value, message):
    assert message in errors_of(pesel=value)


def test_pesel_that_lost_leading_zeros_is_padded():
    for born, lost in ((dt.date(2004, 12, 1), 1), (dt.date(2000, 2, 29), 2)):
        full = pesel_rules.make(born, 55, "M")
        assert full[:lost] == "0" * lost
        row = one(pesel=full[lost:], date_of_birth="").row
        assert (row.pesel, row.date_of_birth, row.sex) == (full, born, "M")


def test_pesel_with_spaces_or_apostrophe_is_accepted():
    spaced = f"{PESEL[:4]} {PESEL[4:8]} {PESEL[8:]}"
    assert one(pesel=spaced).row.pesel == PESEL
    assert one(pesel="'" + PESEL).row.pesel == PESEL


def test_date_of_birth_is_derived_from_pesel():
    row = one(date_of_birth="").row
    assert row.date_of_birth == BORN and row.sex == "K"


def test_date_of_birth_is_required_without_pesel():
    message = errors_of(date_of_birth="", pesel="", id_document_type="paszport", id_document_number="AB1")
    assert "Brak daty urodzenia — uzupełnij kolumnę „Data urodzenia” (dd.mm.rrrr) albo podaj PESEL." in message


def test_pesel_must_match_date_and_sex():
    message = errors_of(date_of_birth="10.04.2016")
    assert "Data urodzenia nie zgadza się z datą zapisaną w numerze PESEL." in message
    assert "Płeć nie zgadza się z numerem PESEL" in errors_of(sex="M")


@pytest.mark.parametrize("value, sex", [
    ("K", "K"), ("k", "K"), ("kobieta", "K"), ("Dziewczynka", "K"),
    ("M", "M"), ("m", "M"), ("Mężczyzna", "M"), ("mezczyzna", "M"), ("chłopiec", "M"),
])
def test_sex_column(value, sex):
    with_pesel = one(pesel=pesel_rules.make(BORN, 321, sex), sex=value)
    assert with_pesel.errors == () and with_pesel.row.sex == sex
    without = one(pesel="", id_document_type="paszport", id_document_number="AB1", sex=value)
    assert without.errors == () and without.row.sex == sex


def test_unknown_sex_is_refused():
    assert "Płeć „x” nie jest rozpoznana — wpisz K (kobieta) lub M (mężczyzna)" in errors_of(sex="x")


# Dates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["09.04.2016", "9.4.2016", "2016-04-09", "09-04-2016", "09/04/2016",
                                  "2016-04-09 00:00:00", " 9.04.2016 "])
def test_date_formats(text):
    row = one(date_of_birth=text, pesel="", id_document_type="paszport", id_document_number="AB1").row
    assert row.date_of_birth == BORN


@pytest.mark.parametrize("text", ["2016.04.09", "09.04.16", "9 kwietnia 2016", "jutro", "09042016"])
def test_bad_date_format(text):
    assert "Data urodzenia ma nieprawidłowy format — wpisz ją jako dd.mm.rrrr" in errors_of(date_of_birth=text)


def test_impossible_date():
    assert "Data urodzenia nie istnieje w kalendarzu" in errors_of(date_of_birth="31.02.2016")


def test_date_range():
    doc = {"pesel": "", "id_document_type": "paszport", "id_document_number": "AB1"}
    assert "Data urodzenia jest w przyszłości" in errors_of(date_of_birth="02.09.2025", **doc)
    assert "uczeń ma mniej niż 2 lata" in errors_of(date_of_birth="02.09.2023", **doc)
    assert one(date_of_birth="01.09.2023", **doc).errors == ()      # exactly 2 today
    assert "uczeń ma ponad 100 lat" in errors_of(date_of_birth="01.09.1924", **doc)
    assert one(date_of_birth="01.09.1925", **doc).errors == ()      # exactly 100 today
    assert one(date_of_birth="02.09.1924", **doc).errors == ()      # 101 only tomorrow
    # A date taken from a PESEL is checked too.
    assert "Data urodzenia jest w przyszłości" in errors_of(
        date_of_birth="", pesel=pesel_rules.make(dt.date(2026, 1, 1), 1, "K"))


# Coded columns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, code", [
    ("uczeń", "pupil"), ("Uczennica", "pupil"), ("pupil", "pupil"),
    ("słuchacz", "adult"), ("Słuchaczka", "adult"), ("dorosły", "adult"), ("adult", "adult"),
    ("przedszkole", "preschool"), ("dziecko", "preschool"), ("przedszkolak", "preschool"),
    ("Oddział przedszkolny", "preschool"), ("preschool", "preschool"),
])
def test_learner_type(text, code):
    assert one(learner_type=text).row.learner_type == code


@pytest.mark.parametrize("text, value", [
    ("tak", True), ("T", True), ("1", True), ("x", True), ("yes", True), ("TRUE", True),
    ("nie", False), ("n", False), ("0", False), ("No", False), ("false", False),
])
def test_disabled(text, value):
    assert one(disabled=text).row.disabled is value


@pytest.mark.parametrize("text, code", [
    ("aktywny", "active"), ("uczy się", "active"), ("active", "active"),
    ("odszedł", "left"), ("skreślony", "left"), ("left", "left"),
    ("przeniesiony", "transferred"), ("transferred", "transferred"),
])
def test_status(text, code):
    assert one(status=text).row.status == code


def test_unknown_coded_values_name_the_accepted_ones():
    assert ("Rodzaj ucznia „student” nie jest rozpoznany — wpisz: uczeń, słuchacz (szkoła dla dorosłych) albo "
            "przedszkole") in errors_of(learner_type="student")
    assert "Niepełnosprawność: wartość „może” nie jest rozpoznana — wpisz „tak” albo „nie”" in errors_of(
        disabled="może")
    assert "Status „zawieszony” nie jest rozpoznany — wpisz: aktywny, odszedł albo przeniesiony" in errors_of(
        status="zawieszony")


def test_a_pesel_in_the_wrong_column_is_not_repeated_in_the_message():
    message = errors_of(learner_type=PESEL)
    assert "Rodzaj ucznia „…” nie jest rozpoznany" in message


@pytest.mark.parametrize("email", ["mama", "mama@", "mama@example", "a@b.pl; c@d.pl", "mama @example.pl",
                                   "mama@@example.pl"])
def test_bad_parent_email(email):
    assert "Adres e-mail rodzica jest nieprawidłowy" in errors_of(parent_email=email)


def test_several_errors_in_one_row():
    result = one(surname="", class_name="", learner_type="?", date_of_birth="x")
    assert len(result.errors) == 4
    assert result.label == "Anna"


def test_label_for_a_row_without_names():
    assert one(surname="", first_name="", class_name="1a").label == "wiersz 2 (1a)"
    assert one(surname="", first_name="", class_name="").label == "wiersz 2"


# Duplicates within the file ---------------------------------------------------------------------------


def test_repeated_pesel():
    other = pesel_rules.make(dt.date(2016, 5, 5), 1, "M")
    results = check(cells(), cells(surname="Nowak", first_name="Jan", pesel=other, date_of_birth=""),
                    cells(surname="Kowalska", first_name="Ania", date_of_birth=""))
    assert [r.errors for r in results[:2]] == [(), ()]
    assert results[2].row is None
    assert results[2].errors == ("Ten sam PESEL powtarza się w wierszu 2 — każdy uczeń może wystąpić w pliku tylko "
                                 "raz; usuń lub popraw jeden z tych wierszy.",)


def test_repeated_pesel_is_found_even_when_padded_or_the_first_row_has_other_errors():
    full = pesel_rules.make(dt.date(2005, 1, 1), 9, "M")
    results = check(cells(pesel=full, date_of_birth="", class_name=""), cells(pesel=full[1:], date_of_birth=""))
    assert "Brak klasy" in results[0].errors[0]
    assert "powtarza się w wierszu 2" in results[1].errors[0]


def test_repeated_document():
    doc = {"pesel": "", "date_of_birth": "01.01.2015"}
    results = check(cells(id_document_type="Paszport", id_document_number="ab123", **doc),
                    cells(surname="Nowak", id_document_type="paszport", id_document_number="AB 123", **doc),
                    cells(surname="Lis", id_document_type="dowód", id_document_number="AB123", **doc),
                    cells(surname="Wilk", id_document_type="dowód", id_document_number="AB124", **doc))
    assert results[0].errors == () and results[3].errors == ()
    message = ("Ten sam numer dokumentu tożsamości powtarza się w wierszu 2 (także gdy rodzaj dokumentu jest inny) — "
               "każdy uczeń może wystąpić w pliku tylko raz; usuń lub popraw jeden z tych wierszy.")
    assert results[1].errors == (message,)
    # The register keeps a document number once whatever its type (pupils' unique document index), so
    # another type with the same number is the same identity: the import could not write both rows.
    assert results[2].errors == (message,)


def test_same_person_twice_without_telling_identifiers():
    results = check(cells(),
                    cells(pesel="", id_document_type="paszport", id_document_number="ZZ1", surname="KOWALSKA"))
    assert results[0].errors == ()
    assert results[1].errors == ("Uczeń o tym samym nazwisku, imionach i dacie urodzenia powtarza się w wierszu 2 — "
                                 "jeśli to ta sama osoba, usuń jeden z wierszy; jeśli nie, podaj obu uczniom PESEL.",)
    both_documents = check(cells(pesel="", id_document_type="paszport", id_document_number="ZZ1"),
                           cells(pesel="", id_document_type="paszport", id_document_number="ZZ2"))
    assert "powtarza się w wierszu 2" in both_documents[1].errors[0]


def test_namesakes_with_different_pesels_are_not_duplicates():
    twin = pesel_rules.make(BORN, 322, "K")
    results = check(cells(), cells(pesel=twin))
    assert [r.errors for r in results] == [(), ()]


def test_mapping_without_optional_columns():
    table = Table(headers=["Nazwisko", "Imię", "Klasa", "PESEL"], rows=[(5, ["Nowak", "Jan", "1a", PESEL])])
    (result,) = validate_rows(table, {"surname": 0, "first_name": 1, "class_name": 2, "pesel": 3}, today=TODAY)
    assert result.errors == ()
    assert (result.row.line, result.row.first_names, result.row.address, result.row.id_document_type) == (
        5, "Jan", "", "")
