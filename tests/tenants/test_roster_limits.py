"""Reading pupil lists within a memory budget: hostile files refused early, every limit, and the
streaming XLSX reader giving what openpyxl gives.

The budget: parsing any file up to the upload limit takes less than 100 MB above what the process
held before (measured in a fresh subprocess with `resource`, see `tests.memory_budget`)."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl import load_workbook

from tenants.roster import file as rf
from tenants.roster.table import MAX_CELL_CHARS
from tenants.roster.table import MAX_COLUMNS
from tenants.roster.table import dump_table
from tenants.roster.table import load_table
from tests import hostile_rosters as hostile
from tests.memory_budget import BUDGET_BYTES
from tests.memory_budget import grown

BUDGET_MB = BUDGET_BYTES / 1024 / 1024


def measure(kind: str, data: bytes, tmp_path) -> dict:
    """Reading `data` as a pupil list ("roster") or a photo ZIP ("photos") in a new process: its outcome,
    message and how many MB its peak memory grew (`tests.memory_budget`)."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    result = grown("tests.hostile_rosters:" + ("read_roster" if kind == "roster" else "list_photo_zip"), path)
    result["used_mb"] = result["grown_kib"] / 1024
    return result


def refused(data: bytes, pattern: str) -> str:
    with pytest.raises(rf.RosterFileError, match=pattern) as info:
        rf.read_table(data)
    message = str(info.value)
    assert re.search(r"\d{5,}", message) is None  # positions and limits only, never a cell's digits
    return message


# The budget, in a subprocess ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(hostile.HOSTILE))
def test_a_hostile_list_is_refused_within_the_memory_budget(name, tmp_path):
    data = hostile.build(name)
    assert len(data) <= rf.MAX_BYTES  # each fits the upload limit: refused for what it holds, not its size
    result = measure("roster", data, tmp_path)
    assert result["outcome"] == "refused", result
    assert hostile.HOSTILE[name][1] in result["message"]  # a sentence in Polish, saying what to do
    assert re.search(r"\d{5,}", result["message"]) is None
    assert result["used_mb"] < BUDGET_MB, result


@pytest.mark.parametrize("name", ["heaviest_valid_csv", "heaviest_valid_xlsx"])
def test_the_heaviest_valid_lists_are_read_within_the_memory_budget(name, tmp_path):
    result = measure("roster", hostile.build(name), tmp_path)
    assert result["outcome"].startswith("read "), result
    assert int(result["outcome"].split()[1]) > 17_000
    assert result["used_mb"] < BUDGET_MB, result


def test_a_zip_listing_100000_files_is_refused_before_they_become_objects(tmp_path):
    result = measure("photos", hostile.build("photo_zip_many_entries"), tmp_path)
    assert result["outcome"] == "refused" and "za dużo plików" in result["message"], result
    assert result["used_mb"] < 20, result


# Each limit, and just under it -------------------------------------------------------------------


def xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


HEAD = ["Nazwisko", "Imię", "Klasa"]


def test_columns_up_to_the_limit_are_read_and_a_filled_cell_beyond_it_is_refused():
    wide = HEAD + [f"k{i}" for i in range(3, MAX_COLUMNS)]
    table = rf.read_table(xlsx([wide, ["Nowak", "Ola", "1a"] + ["x"] * (MAX_COLUMNS - 3)]))
    assert len(table.headers) == MAX_COLUMNS and table.rows[0][1][-1] == "x"
    csv_ok = (";".join(wide) + "\nNowak;Ola;1a\n").encode()
    assert len(rf.read_table(csv_ok).headers) == MAX_COLUMNS

    message = refused(xlsx([HEAD, ["Nowak", "Ola", "1a"] + [None] * (MAX_COLUMNS - 3) + ["x"]]),
                      "W wierszu 2 jest wypełniona komórka w kolumnie GS")
    assert f"najwyżej {MAX_COLUMNS} kolumn (do kolumny GR)" in message
    refused((";".join(HEAD) + "\nNowak;Ola;1a" + ";" * (MAX_COLUMNS - 2) + "x\n").encode(), "kolumnie GS")


def test_empty_trailing_columns_are_no_columns():
    # Excel writes ";" up to the widest used column for every line; a formatted empty cell far right
    # is no data either.
    data = ("Nazwisko;Imię;Klasa" + ";" * 16_000 + "\r\nNowak;Ola;1a" + ";" * 16_000 + "\r\n").encode()
    assert rf.read_table(data).rows == [(2, ["Nowak", "Ola", "1a"])]
    sheet = hostile.workbook([hostile.header_row(),
                              '<row r="2"><c r="A2" t="inlineStr"><is><t>Nowak</t></is></c>'
                              '<c r="B2" t="inlineStr"><is><t>Ola</t></is></c><c r="C2"><v>1</v></c>'
                              '<c r="XFD2" s="0"/></row>'])
    assert rf.read_table(sheet).rows == [(2, ["Nowak", "Ola", "1"])]


def test_a_cell_up_to_the_limit_is_read_and_a_longer_one_is_refused():
    long_ok = "a" * MAX_CELL_CHARS
    assert rf.read_table(xlsx([HEAD + ["Uwagi"], ["Nowak", "Ola", "1a", long_ok]])).rows[0][1][3] == long_ok
    assert rf.read_table(f"Nazwisko;Imię;Klasa;Uwagi\nNowak;Ola;1a;{long_ok}\n".encode()).rows[0][1][3] == long_ok
    message = refused(xlsx([HEAD + ["Uwagi"], ["Nowak", "Ola", "1a", long_ok + "a"]]),
                      "Komórka w wierszu 2, w kolumnie D, ma ponad 2\u00a0000 znaków")
    assert "Skróć ją albo usuń tę kolumnę" in message
    refused(f"Nazwisko;Imię;Klasa;Uwagi\nNowak;Ola;1a;{long_ok}a\n".encode(), "w kolumnie D, ma ponad 2\u00a0000")


def test_a_part_bigger_than_allowed_is_refused_before_it_is_read():
    from tenants.roster.xlsx import MAX_PART_BYTES

    filler = (" " * (1024 * 1024) for _ in range(MAX_PART_BYTES // (1024 * 1024) + 1))
    data = hostile.workbook([hostile.header_row()], shared_strings=filler)
    assert len(data) < 100_000
    refused(data, "po rozpakowaniu byłby zbyt duży")


def test_a_part_that_lies_about_its_size_is_stopped_at_its_declared_size():
    data = bytearray(xlsx([HEAD, ["Nowak", "Ola", "1a"]]))
    name = b"xl/worksheets/sheet1.xml"
    entry = data.find(b"PK\x01\x02")  # central directory entries
    while entry >= 0:
        if data[entry + 46:entry + 46 + int.from_bytes(data[entry + 28:entry + 30], "little")] == name:
            data[entry + 24:entry + 28] = (10).to_bytes(4, "little")  # "10 bytes uncompressed"
        entry = data.find(b"PK\x01\x02", entry + 4)
    refused(bytes(data), "nie jest poprawnym skoroszytem")  # reading stops at 10 bytes; the CRC then fails


def test_rows_after_thousands_of_empty_rows_are_not_the_list():
    sheet = hostile.workbook([hostile.header_row(),
                              '<row r="2"><c r="A2" t="inlineStr"><is><t>Nowak</t></is></c>'
                              '<c r="B2" t="inlineStr"><is><t>Ola</t></is></c><c r="C2"><v>1</v></c></row>',
                              '<row r="5002"><c r="A5002" t="inlineStr"><is><t>Lis</t></is></c>'
                              '<c r="B5002" t="inlineStr"><is><t>Ida</t></is></c><c r="C5002"><v>2</v></c></row>',
                              '<row r="10003"><c r="A10003" t="inlineStr"><is><t>Kot</t></is></c></row>'])
    assert [line for line, _ in rf.read_table(sheet).rows] == [2, 5002]


def test_a_table_of_many_long_cells_is_refused_by_its_total_size():
    refused(hostile.build("xlsx_amplified_table"), "ponad 16 MB tekstu")


def test_a_packed_table_round_trips_through_storage_bytes():
    data = ("Nazwisko;Imię;Klasa;Uwagi\r\nNowak;Ola;1a\r\n\"Lis\nLisowska\";Ida;1b;\"a;b\"\r\n;;;\r\n"
            "Żak;Łucja;2c;☃\r\n").encode()
    table = rf.read_table(data)
    again = load_table(dump_table(table))
    assert again.headers == table.headers == ["Nazwisko", "Imię", "Klasa", "Uwagi"]
    assert list(again.rows) == list(table.rows) == [(2, ["Nowak", "Ola", "1a", ""]),
                                                    (3, ["Lis\nLisowska", "Ida", "1b", "a;b"]),
                                                    (5, ["Żak", "Łucja", "2c", "☃"])]  # records, as before


# The streaming reader gives what openpyxl gives ------------------------------------------------------


def openpyxl_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """The reference: the first sheet through openpyxl (read-only, cached values), as the old reader
    turned cells into text; trailing empty cells and empty rows dropped."""
    from tenants.roster.xlsx import _cell_text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "marked as a date but outside the limits" (read as #VALUE!)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()
            rows = []
            for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    rows.append((line, cells))
            return rows
        finally:
            wb.close()


def streaming_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from tenants.roster.xlsx import xlsx_rows

    return list(xlsx_rows(data))


cell_values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=12),
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    st.sampled_from(["=1+2", "  spacja  ", "ŁÓDŹ", "Zoë", "a\nb", "_x0041_", "44051401458"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cell_values, max_size=8), min_size=1, max_size=12),
       date_format=st.sampled_from(["DD.MM.YYYY", "yyyy-mm-dd", "d/m/yy h:mm", "General", "0.00", "@"]),
       date1904=st.booleans())
def test_the_streaming_reader_reads_what_openpyxl_reads(rows, date_format, date1904):
    wb = Workbook()
    ws = wb.active
    wb.epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, dt.date | dt.datetime) or (isinstance(value, int | float)
                                                             and not isinstance(value, bool) and c % 2):
                cell.number_format = date_format
    ws.cell(row=len(rows) + 3, column=2, value="koniec")
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    try:
        expected = openpyxl_rows(data)
    except (OverflowError, ValueError):
        return  # a number openpyxl itself cannot show as a date; not a case to compare
    assert streaming_rows(data) == expected


def test_rich_text_inline_strings_booleans_errors_formulas_and_a_prefixed_namespace():
    sheet = ('<row r="1">'
             '<c r="A1" t="inlineStr"><is><r><t>Kowal</t></r><r><rPr><b/></rPr><t>ska</t></r>'
             '<rPh sb="0" eb="1"><t>カ</t></rPh></is></c>'
             '<c r="B1" t="b"><v>1</v></c><c r="C1" t="e"><v>#N/A</v></c>'
             '<c r="D1" t="str"><f>A1&amp;"x"</f><v>Kowalskax</v></c>'
             '<c r="E1" t="s"><v>0</v></c><c r="F1"><f>1+1</f></c></row>')
    data = hostile.workbook([sheet], shared_strings=['<si><r><t>Ala </t></r><r><t>Ma</t></r>'
                                                     '<rPh sb="0" eb="1"><t>x</t></rPh></si>'])
    expected = [(1, ["Kowalska", "tak", "#N/A", "Kowalskax", "Ala Ma"])]
    assert streaming_rows(data) == expected == openpyxl_rows(data)

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        xml = source.read("xl/worksheets/sheet1.xml").decode()
    xml = re.sub(r"<(/?)(?!\?)", r"<\1x:", xml).replace("xmlns=", "xmlns:x=")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info.filename, xml if info.filename.endswith("sheet1.xml") else source.read(info))
    prefixed = out.getvalue()
    assert streaming_rows(prefixed) == expected


def test_damaged_workbooks_are_refused_plainly():
    for sheet in ['<row r="0"><c r="A0"><v>1</v></c></row>',  # no row 0
                  '<row r="2"><c r="A2" t="s"><v>7</v></c></row>',  # no such shared string
                  '<row r="2"><c r="AAAA2"><v>1</v></c></row>',  # beyond column XFD
                  '<row r="2"><c r="A2"><v>1,5</v></c></row>',  # no number
                  '<row r="2"><c r="A2"><v>1</v></row>']:  # not well-formed
        refused(hostile.workbook([hostile.header_row(), sheet]), "nie jest poprawnym skoroszytem")
