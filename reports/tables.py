"""A report table as plain data, and its exports: every table on the city's dashboard can be
downloaded as CSV and XLSX with the same numbers it shows (and rendered into the council PDF)."""

from __future__ import annotations

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


_SPECIAL = frozenset(';"\r\n')  # a field holding any of these is quoted (csv.QUOTE_MINIMAL with `;`)


def _field(text: str) -> str:
    """A text as one CSV field, quoted (quotes doubled) only when it has to be."""
    if _SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _column_fields(values: tuple) -> list:
    """One column as CSV fields: `_text`, quoted where needed; each distinct value done once
    (dates, amounts, names and states repeat down a column)."""
    if len(set(map(type, values)) - {type(None)}) <= 1:  # one type (and None): the values themselves are keys
        done = {v: _field(_text(v)) for v in set(values)}
        return list(map(done.__getitem__, values))
    seen: dict = {}  # mixed types are keyed with the type: True == 1 == Decimal("1"), yet each prints differently
    return [seen[k] if (k := (type(v), v)) in seen else seen.setdefault(k, _field(_text(v))) for v in values]


def to_csv(table: Table) -> bytes:
    """UTF-8 with BOM and `;` (what Polish Excel opens without a wizard); decimal commas. The
    same bytes as the csv module writes (QUOTE_MINIMAL, CRLF), built column by column: a card
    list has 155,000 cells."""
    columns = [_column_fields(column) for column in zip(*table.rows, strict=True)] if table.rows else []
    lines = ["\ufeff" + ";".join(map(_field, table.columns)), *map(";".join, zip(*columns, strict=True)), ""]
    if len(table.columns) == 1:  # the csv module quotes a lone empty field, or the line would read as blank
        lines[:-1] = [line if line not in ("", "\ufeff") else line + '""' for line in lines[:-1]]
    return "\r\n".join(lines).encode("utf-8")


def to_xlsx(table: Table, *, generated: str = "") -> bytes:
    """One sheet: the title, the header and the rows as typed cells (numbers, dates, amounts
    with two decimals). Written in openpyxl's streaming mode: a capital's table of 1,400 schools
    took half a second cell by cell."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.key[:31])
    bold = Font(bold=True)

    def cell(value: Cell, *, font: Font | None = None) -> WriteOnlyCell:
        if isinstance(value, Decimal):
            out = WriteOnlyCell(sheet, value=float(value))
            out.number_format = "#,##0.00"
        else:
            out = WriteOnlyCell(sheet, value=value)
            if isinstance(value, dt.date):
                out.number_format = "DD.MM.YYYY"
        if font is not None:
            out.font = font
        return out

    sheet.append([cell(table.title, font=bold)])
    if table.note or generated:
        sheet.append([" ".join(p for p in (table.note, generated) if p)])
    sheet.append([cell(name, font=bold) for name in table.columns])
    styled = (Decimal, dt.date)
    for row in table.rows:  # plain values as they are; a styled cell per value costs twice the time
        sheet.append([cell(value) if isinstance(value, styled) else value for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
