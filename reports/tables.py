"""A report table as plain data, and its exports: every table on the city's dashboard can be
downloaded as CSV and XLSX with the same numbers it shows (and rendered into the council PDF)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal

Cell = str | int | float | Decimal | dt.date | None


@dataclasses.dataclass(frozen=True)
class Table:
    """`title` names the table (and the file), `columns` head it, `rows` hold raw values (numbers
    stay numbers, so exports can be summed); `note` says where the numbers come from."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


_FORMATS = {
    type(None): lambda v: "",
    str: str,
    int: str,
    dt.date: lambda v: f"{v.day:02d}.{v.month:02d}.{v.year}",
    Decimal: lambda v: f"{v:.2f}".replace(".", ","),
    float: lambda v: f"{v:.1f}".replace(".", ","),
}


def _text(value: Cell) -> str:
    """A value as a Polish spreadsheet reads it: dd.mm.rrrr, decimal commas, nothing for None."""
    format_ = _FORMATS.get(type(value))
    if format_ is None:  # subclasses (bool, datetime) and anything else
        if isinstance(value, dt.datetime):
            return _FORMATS[dt.date](value)
        return str(value)
    return format_(value)


_PLAIN = {str, int, type(None)}  # what the csv module writes as `_text` would (None as an empty field)


def _column_texts(values: tuple) -> tuple | list:
    """One column as `_text` gives it; each distinct value formatted once (dates and amounts repeat)."""
    if set(map(type, values)) <= _PLAIN:
        return values
    seen: dict = {}  # keyed with the type too: True == 1 == Decimal("1"), yet each prints differently
    return [seen[k] if (k := (type(v), v)) in seen else seen.setdefault(k, _text(v)) for v in values]


def to_csv(table: Table) -> bytes:
    """UTF-8 with BOM and `;` (what Polish Excel opens without a wizard); decimal commas."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.columns)
    if table.rows:  # column by column: a card list has 155,000 cells, a third of them to format
        writer.writerows(zip(*(_column_texts(column) for column in zip(*table.rows, strict=True)), strict=True))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, *, generated: str = "") -> bytes:
    """One sheet: the title, the header and the rows as typed cells (numbers, dates)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = table.key[:31]
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True)
    if table.note or generated:
        sheet.append([" ".join(p for p in (table.note, generated) if p)])
    sheet.append(list(table.columns))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for cell, value in zip(sheet[sheet.max_row], row, strict=False):
            if isinstance(value, dt.date):
                cell.number_format = "DD.MM.YYYY"
            elif isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
