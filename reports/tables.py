"""A report table as plain data, and its exports: every table on the city's dashboard can be
downloaded as CSV and XLSX with the same numbers it shows (and rendered into the council PDF).
Both are written by `infra.spreadsheets`, which keeps every text cell data, never a formula."""

from __future__ import annotations

import dataclasses

from infra.spreadsheets import Cell
from infra.spreadsheets import Sheet
from infra.spreadsheets import csv_document
from infra.spreadsheets import xlsx_document


@dataclasses.dataclass(frozen=True)
class Table:
    """`title` names the table (and the file), `columns` head it, `rows` hold raw values (numbers
    stay numbers, so exports can be summed); `note` says where the numbers come from; `hints`,
    when given, explain each column (one per column, "" for none: the page shows them on hover and
    under the table)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    hints: tuple[str, ...] = ()


def to_csv(table: Table) -> bytes:
    """UTF-8 with BOM and `;` (what Polish Excel opens without a wizard); decimal commas; text that
    would start a formula neutralised. Built column by column: a card list has 155,000 cells."""
    return csv_document(table.columns, table.rows)


def to_xlsx(table: Table, *, generated: str = "") -> bytes:
    """One sheet: the title, the note (with `generated`), the header and the rows as typed cells
    (numbers, dates, amounts with two decimals); text cells are strings, never formulas."""
    note = " ".join(p for p in (table.note, generated) if p)
    head = [(table.title,), (note,)] if note else [(table.title,)]
    return xlsx_document([Sheet(title=table.key, rows=[*head, table.columns, *table.rows],
                                bold_rows=frozenset({0, len(head)}))])
