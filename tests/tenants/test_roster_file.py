"""Reading pupil lists (tenants.roster.file): Vulcan exports, our template, other layouts, refused files."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl import load_workbook

from tenants.pupils import pesel as pesel_rules
from tenants.roster import file as rf
from tenants.roster.rows import validate_rows

TODAY = dt.date(2025, 9, 1)
VULCAN_HEADER = ["Nazwisko", "Imię", "Drugie imię", "Data urodzenia", "PESEL", "Numer w księdze uczniów",
                 "Dane oddziału"]


def xlsx(rows, *, sheet_setup=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if sheet_setup:
        sheet_setup(wb, ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def no_long_digit_runs(text: str) -> bool:
    return re.search(r"\d{5,}", text) is None


# Vulcan ----------------------------------------------------------------------------------------------


def test_vulcan_csv_in_cp1250_with_semicolons_and_a_title_line():
    zofia = pesel_rules.make(dt.date(2016, 3, 14), 101, "K")
    lukasz = pesel_rules.make(dt.date(2015, 11, 2), 202, "M")
    text = (
        "Lista uczniów – Szkoła Podstawowa nr 7 w Grójcu;;;;;;\r\n"
        ";;;;;;\r\n"
        + ";".join(VULCAN_HEADER) + "\r\n"
        + f"KOWALSKA-NOWAK;Zofia;;14.03.2016;{zofia};12/2022;2a\r\n"
        + "\r\n"
        + f"Wiśniewski;ŁUKASZ;Paweł;02.11.2015;{lukasz};7/2021;3b\r\n"
    )
    data = text.encode("cp1250")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really a Polish-Excel file, not UTF-8

    table = rf.read_table(data)

    assert table.headers == VULCAN_HEADER
    assert [line for line, _ in table.rows] == [4, 6]  # the spreadsheet's own line numbers; empty line skipped
    assert table.rows[1][1] == ["Wiśniewski", "ŁUKASZ", "Paweł", "02.11.2015", lukasz, "7/2021", "3b"]
    layout, mapping = rf.detect_layout(table.headers)
    assert layout == "vulcan"
    assert mapping == {"surname": 0, "first_name": 1, "second_name": 2, "date_of_birth": 3, "pesel": 4,
                       "book_number": 5, "class_name": 6}

    results = validate_rows(table, rf.check_mapping(mapping, table.headers), today=TODAY)
    assert [r.errors for r in results] == [(), ()]
    first, second = (r.row for r in results)
    assert (first.surname, first.first_names, first.sex, first.pesel) == ("Kowalska-Nowak", "Zofia", "K", zofia)
    assert (first.class_name, first.book_number, first.line) == ("2a", "12/2022", 4)
    assert (second.surname, second.first_names, second.date_of_birth) == ("Wiśniewski", "Łukasz Paweł",
                                                                          dt.date(2015, 11, 2))
    assert results[0].label == "Kowalska-Nowak Zofia (2a)"


def test_vulcan_xlsx_with_numeric_pesel_cells_and_real_dates():
    born_2005 = dt.date(2005, 6, 30)
    born_2000 = dt.date(2000, 1, 2)
    p2005 = pesel_rules.make(born_2005, 45, "M")
    p2000 = pesel_rules.make(born_2000, 7, "K")
    assert p2005.startswith("0") and p2000.startswith("00")

    def merge_title(wb, ws):
        ws.merge_cells("A1:G1")

    data = xlsx([
        ["Wykaz uczniów — stan na 01.09.2025"],
        [],
        VULCAN_HEADER + ["Płeć"],
        ["NOWAK", "Jan", None, dt.datetime(2005, 6, 30), int(p2005), 15, "4 TE"],   # leading zero lost: 10 digits
        ["Zielińska", "Ewa", "Maria", dt.date(2000, 1, 2), float(int(p2000)), 16.0, "4 TE", "K"],  # 9 digits
        [None, None, None, None, None, None, None],
    ], sheet_setup=merge_title)

    table = rf.read_table(data)

    assert table.headers == VULCAN_HEADER + ["Płeć"]
    assert table.rows[0] == (4, ["NOWAK", "Jan", "", "30.06.2005", p2005.lstrip("0"), "15", "4 TE", ""])
    assert table.rows[1][1][3:6] == ["02.01.2000", p2000.lstrip("0"), "16"]
    assert len(table.rows) == 2
    layout, mapping = rf.detect_layout(table.headers)
    assert layout == "vulcan"
    assert mapping["sex"] == 7  # an exactly named extra column of the export is taken too

    results = validate_rows(table, mapping, today=TODAY)
    assert [r.errors for r in results] == [(), ()]
    jan, ewa = results[0].row, results[1].row
    assert (jan.pesel, jan.date_of_birth, jan.surname, jan.sex) == (p2005, born_2005, "Nowak", "M")
    assert (ewa.pesel, ewa.date_of_birth, ewa.first_names, ewa.book_number) == (p2000, born_2000, "Ewa Maria", "16")


def test_vulcan_headers_are_matched_loosely():
    headers = ["  NAZWISKO: ", "imie*", "Drugie  imie", "data urodzenia", "Pesel", "numer w ksiedze uczniow",
               "DANE ODDZIAŁU"]
    layout, mapping = rf.detect_layout(headers)
    assert layout == "vulcan"
    assert mapping["class_name"] == 6 and mapping["first_name"] == 1


# Our template ----------------------------------------------------------------------------------------


def test_template_csv_round_trip():
    data = rf.template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    header_line = data[3:].split(b"\r\n")[0].decode("utf-8")
    assert header_line == ";".join(rf.FIELDS.values())

    table = rf.read_table(data)
    layout, mapping = rf.detect_layout(table.headers)
    assert layout == "legitka"
    assert mapping == {field: i for i, field in enumerate(rf.FIELDS)}
    (result,) = validate_rows(table, rf.check_mapping(mapping, table.headers), today=TODAY)
    assert result.errors == ()
    row = result.row
    assert (row.surname, row.first_names, row.date_of_birth) == ("Kowalska", "Anna Maria", dt.date(2017, 3, 15))
    assert pesel_rules.validate(row.pesel, date_of_birth=dt.date(2017, 3, 15), sex_code="K") == row.pesel
    assert (row.learner_type, row.disabled, row.status, row.sex) == ("pupil", False, "active", "K")
    assert row.parent_email == "rodzic@example.com" and row.class_name == "2a"


def test_template_xlsx_round_trip_with_pesel_as_text():
    data = rf.template_xlsx()
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    pesel_col = list(rf.FIELDS).index("pesel") + 1
    assert ws.cell(row=1, column=pesel_col).value == "PESEL"
    assert ws.cell(row=2, column=pesel_col).number_format == "@"
    assert isinstance(ws.cell(row=2, column=pesel_col).value, str)
    assert ws.column_dimensions["E"].number_format == "@"

    table = rf.read_table(data)
    assert table.headers == list(rf.FIELDS.values())
    layout, mapping = rf.detect_layout(table.headers)
    assert layout == "legitka"
    (result,) = validate_rows(table, mapping, today=TODAY)
    assert result.errors == ()
    assert result.row.date_of_birth == dt.date(2017, 3, 15)
    assert result.row.pesel == rf.read_table(rf.template_csv()).rows[0][1][4]


def test_template_with_short_klasa_header_is_still_ours():
    headers = list(rf.FIELDS.values())
    headers[list(rf.FIELDS).index("class_name")] = "Klasa"
    assert rf.detect_layout(headers)[0] == "legitka"
    assert rf.detect_layout(headers[:-1])[0] == "legitka"  # optional columns may be left out
    without_class = [h for h in headers if h != "Klasa"]
    assert rf.detect_layout(without_class)[0] is None  # a required one may not
    assert rf.detect_layout(headers + ["Uwagi wychowawcy"])[0] is None  # nor may a column of another kind


# Other layouts and the column mapping -----------------------------------------------------------------


def other_layout_csv() -> bytes:
    ania = pesel_rules.make(dt.date(2014, 5, 20), 311, "K")
    return (
        "Eksport z systemu;;;;;;\n"
        "Lp.;Uczeń - nazwisko;Imiona;Oddział;PESEL ucznia;Urodzony;Nazwisko rodzica\n"
        f"1;Maj;Anna  Zofia;5c;{ania};20.05.2014;Maj\n"
    ).encode()


def test_other_layout_is_guessed_and_mapping_applied():
    table = rf.read_table(other_layout_csv())
    assert table.headers[1] == "Uczeń - nazwisko"
    layout, guess = rf.detect_layout(table.headers)
    assert layout is None
    assert guess == {"surname": 1, "first_name": 2, "date_of_birth": 5, "pesel": 4, "class_name": 3}

    form = {field: None for field in rf.FIELDS} | guess
    mapping = rf.check_mapping(form, table.headers)
    assert mapping == guess
    (result,) = validate_rows(table, mapping, today=TODAY)
    assert result.errors == ()
    assert (result.row.surname, result.row.first_names, result.row.class_name) == ("Maj", "Anna Zofia", "5c")


@pytest.mark.parametrize("header, field", [
    ("Imiona", "first_name"), ("Oddział", "class_name"), ("Klasa", "class_name"), ("Nr w księdze", "book_number"),
    ("PESEL ucznia", "pesel"), ("Data ur.", "date_of_birth"), ("E-mail", "parent_email"),
    ("Adres e-mail rodzica", "parent_email"), ("Płeć:", "sex"), ("Miejsce zamieszkania", "address"),
    ("Seria i numer dokumentu", "id_document_number"), ("Typ dokumentu", "id_document_type"),
])
def test_header_synonyms(header, field):
    assert rf.detect_layout(["Nazwisko", header])[1].get(field) == 1


def test_guess_ignores_parent_and_combined_columns():
    _, guess = rf.detect_layout(["Imię i nazwisko", "Imię matki", "Data urodzenia ojca", "Miejsce urodzenia"])
    assert guess == {}


@pytest.mark.parametrize("mapping, message", [
    ({"surname": 1, "first_name": 2, "pesel": 4}, "Wskaż kolumnę dla pola „Klasa (oddział)” — to pole jest wymagane"),
    ({"surname": 1, "first_name": None, "class_name": 3, "pesel": 4}, "pola „Imię”"),
    ({"surname": 1, "first_name": 2, "class_name": 3, "pesel": 4, "shoe_size": 5}, "Nieznane pole „shoe_size”"),
    ({"surname": 1, "first_name": 2, "class_name": 3, "pesel": 7}, "Kolumna wybrana dla pola „PESEL” nie istnieje"),
    ({"surname": 1, "first_name": 2, "class_name": 3, "pesel": -1}, "nie istnieje w pliku"),
    ({"surname": 1, "first_name": 1, "class_name": 3, "pesel": 4},
     "Kolumna B („Uczeń - nazwisko”) jest przypisana jednocześnie do pól „Nazwisko” i „Imię”"),
    ({"surname": 1, "first_name": 2, "class_name": 3}, "Wskaż kolumnę „PESEL” lub „Data urodzenia”"),
])
def test_check_mapping_refuses_bad_mappings(mapping, message):
    headers = rf.read_table(other_layout_csv()).headers
    with pytest.raises(rf.RosterFileError, match=re.escape(message)):
        rf.check_mapping(mapping, headers)


def test_check_mapping_reports_every_problem_at_once():
    headers = rf.read_table(other_layout_csv()).headers
    with pytest.raises(rf.RosterFileError) as info:
        rf.check_mapping({"surname": 9, "pesel": 4}, headers)
    message = str(info.value)
    assert "„Nazwisko” nie istnieje" in message and "pola „Imię”" in message and "pola „Klasa (oddział)”" in message


# CSV details -------------------------------------------------------------------------------------------


def test_comma_delimited_utf8_with_quoted_addresses():
    data = (
        "Nazwisko,Imię,Klasa,Data urodzenia,Adres\n"
        '"Nowak","Ola",1a,01.02.2018,"ul. Polna 3, 05-600 Grójec"\n'
        '"Lis","Ida",1a,03.04.2018,"ul. Leśna 1, 05-600 Grójec"\n'
    ).encode()
    table = rf.read_table(data)
    assert table.headers == ["Nazwisko", "Imię", "Klasa", "Data urodzenia", "Adres"]
    assert table.rows[0] == (2, ["Nowak", "Ola", "1a", "01.02.2018", "ul. Polna 3, 05-600 Grójec"])


def test_semicolon_file_with_commas_in_cells_is_split_on_semicolons():
    data = ("Nazwisko;Imię;Klasa;Adres\nNowak;Ola;1a;ul. Polna 3, 05-600 Grójec\n"
            "Lis;Ida;1b;ul. Leśna 1, m. 2, 05-600 Grójec\n").encode("cp1250")
    table = rf.read_table(data)
    assert table.headers == ["Nazwisko", "Imię", "Klasa", "Adres"]
    assert table.rows[1][1][3] == "ul. Leśna 1, m. 2, 05-600 Grójec"


def test_tab_delimited_and_header_found_without_nazwisko():
    data = "Uczeń\tKlasa\tUwagi\nNowak Ola\t1a\t\n\nLis Ida\t1b\tx\n".encode()
    table = rf.read_table(data)
    assert table.headers == ["Uczeń", "Klasa", "Uwagi"]  # no "Nazwisko": the first non-empty row
    assert table.rows == [(2, ["Nowak Ola", "1a", ""]), (4, ["Lis Ida", "1b", "x"])]


def test_short_rows_are_padded_and_long_ones_cut_to_the_header():
    table = rf.read_table(b"Nazwisko;Imi\xea;Klasa\nNowak;Ola\nLis;Ida;1b;nadmiar\n")
    assert table.headers == ["Nazwisko", "Imię", "Klasa"]
    assert table.rows == [(2, ["Nowak", "Ola", ""]), (3, ["Lis", "Ida", "1b"])]


def test_xlsx_cells_are_turned_into_text():
    data = xlsx([
        ["Nazwisko", "Imię", "Klasa", "Data urodzenia", "Numer", "Niepełnosprawność", "Ułamek"],
        ["  Nowak ", "Ola", 1, dt.datetime(2018, 2, 1, 0, 0), 7.0, True, 2.5],
    ])
    table = rf.read_table(data)
    assert table.rows == [(2, ["Nowak", "Ola", "1", "01.02.2018", "7", "tak", "2.5"])]


# Refused files ------------------------------------------------------------------------------------------


def refused(data: bytes, message: str):
    with pytest.raises(rf.RosterFileError, match=message) as info:
        rf.read_table(data)
    assert no_long_digit_runs(str(info.value))
    return str(info.value)


def test_random_binary_garbage_is_refused():
    noise = random.Random(7).randbytes(4000)
    refused(noise, "nie jest arkusz XLSX ani tekstowy plik CSV")
    high_bytes = bytes(range(0x80, 0x100)) * 10  # no NUL, but not text in UTF-8 or cp1250
    refused(high_bytes, "nie jest arkusz XLSX ani tekstowy plik CSV")
    refused(b"Nazwisko;Imi\x01;Klasa\nA;B;C\n", "nie jest arkusz XLSX ani tekstowy plik CSV")


def test_pdf_is_refused():
    refused(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "plik PDF")


def test_legacy_xls_is_refused_with_advice():
    message = refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000, r"starym formacie Excela \(\.xls\)")
    assert ".xlsx" in message and "CSV" in message


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", "\ufeff".encode(), b";;;\n;;;\n"])
def test_empty_files_are_refused(data):
    refused(data, "pusty|nie zawiera żadnych danych")


def test_header_only_is_refused():
    refused(rf.template_csv().split(b"\r\n")[0] + b"\r\n", "tylko wiersz nagłówka")
    refused(xlsx([VULCAN_HEADER, [None] * 7]), "tylko wiersz nagłówka")


def test_single_column_text_is_refused():
    refused(b"Nazwisko\nNowak\nLis\n", "podzielić pliku na kolumny")


def test_too_many_rows_csv_and_xlsx():
    header = b"Nazwisko;Imi\xea;Klasa\n"
    ok = header + b"Nowak;Ola;1a\n" * rf.MAX_ROWS
    assert len(rf.read_table(ok).rows) == rf.MAX_ROWS
    refused(ok + b"Lis;Ida;1b\n", "więcej niż 20\u00a0000 wierszy")
    refused(xlsx([["Nazwisko", "Imię", "Klasa"]] + [["Nowak", "Ola", "1a"]] * (rf.MAX_ROWS + 1)),
            "więcej niż 20\u00a0000 wierszy")


def test_too_big_file_is_refused():
    refused(b"Nazwisko;Imi\xea;Klasa\n" + b"Nowak;Ola;1a;" + b"x" * rf.MAX_BYTES, "za duży")


def test_zip_bomb_like_xlsx_is_refused_before_opening():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(101):
                member.write(chunk)
    data = out.getvalue()
    assert len(data) < rf.MAX_BYTES
    refused(data, "po rozpakowaniu byłby zbyt duży")


def test_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    refused(out.getvalue(), "nie jest poprawnym skoroszytem")
    refused(xlsx([["Nazwisko", "Imię"]])[:600], "nie jest poprawnym skoroszytem")  # truncated
    # Looks like an xlsx from outside, but the workbook inside is broken.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not really")
    refused(out.getvalue(), "nie jest poprawnym skoroszytem")


def test_opendocument_spreadsheet_is_refused_with_advice():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    refused(out.getvalue(), r"OpenDocument \(\.ods\)")


def test_excel_unicode_text_export_utf16_is_read():
    data = "Nazwisko\tImię\tKlasa\r\nŻak\tŁucja\t2c\r\n".encode("utf-16")
    assert data.startswith(b"\xff\xfe") and b"\x00" in data
    assert rf.read_table(data).rows == [(2, ["Żak", "Łucja", "2c"])]


def test_mapping_messages_mask_a_header_that_is_really_data():
    child = pesel_rules.make(dt.date(2016, 1, 1), 5, "M")
    table = rf.read_table(f"Nowak;Jan;1a;{child}\nLis;Ida;1b;{child}\n".encode())
    assert table.headers[3] == child  # no header row: the first row is taken as one
    with pytest.raises(rf.RosterFileError) as info:
        rf.check_mapping({"surname": 0, "first_name": 1, "class_name": 3, "pesel": 3}, table.headers)
    assert "Kolumna D („…”) jest przypisana jednocześnie" in str(info.value)
    assert no_long_digit_runs(str(info.value))
