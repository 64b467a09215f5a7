"""A pupil list as read from its file: the limits every reader obeys and the compact form of its rows.

Pure, no Flask and no database. The memory budget of reading a list is the point of this module: a
reader (`tenants.roster.csv_reader`, `tenants.roster.xlsx`) streams its file and hands over one row at a
time as a list of cells, refusing with `RosterFileError` as soon as the file breaks a limit below;
`TableBuilder` keeps each row only as UTF-8 bytes (cells cut to the header's width and joined by a
separator no cell can contain), never as millions of separate Python strings. So what a list costs
is bounded by `MAX_TABLE_BYTES` plus each reader's own bounded state, whatever the file holds.

The same bytes are what the import keeps in storage (`dump_table` / `load_table`): the uploaded file
is read once, and the column mapping and the import job read this form back, not the file again.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterator
from collections.abc import Sequence

from infra import inputs

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# A class list has a few dozen columns; an export of a whole pupil register ~100. A filled cell beyond
# this one (column GR) means junk far to the right, e.g. a stray value in column XFD.
MAX_COLUMNS = 200
# No field of a pupil is longer than 300 characters; a longer cell than this is no list's data.
MAX_CELL_CHARS = 2_000
# The text of every kept cell (UTF-8). A city's list of 20,000 pupils in 30 columns takes ~10 MB.
MAX_TABLE_BYTES = 16 * 1024 * 1024
# How many non-empty rows at the top may precede the header row (title lines of an export).
HEADER_SEARCH_ROWS = 10

# Cells never contain C0 control characters: the CSV reader refuses them and XML cannot carry them.
CELL_SEPARATOR = "\x1f"
_CELL_SEPARATOR_BYTES = CELL_SEPARATOR.encode()
_RECORD_SEPARATOR = b"\x1e"
_MAGIC = b"legitka-roster-table/1\n"


class RosterFileError(ValueError):
    """The file cannot be used; the message is Polish, says what to do, and contains no pupil data."""


def number(value: int) -> str:
    """A count as Polish text writes it: "20 000" (`infra.inputs.format_number`, a no-break space)."""
    return inputs.format_number(value)


def column_letters(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 -> "A", 26 -> "AA", 16383 -> "XFD"."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


# Limits shared by the readers: each message names a place in the sheet, never a cell's content.


def too_many_rows() -> RosterFileError:
    return RosterFileError(f"Plik ma więcej niż {number(MAX_ROWS)} wierszy z danymi. Podziel listę na mniejsze pliki, "
                           "np. po jednym na klasę.")


def cell_beyond_columns(line: int, index: int) -> RosterFileError:
    return RosterFileError(
        f"W wierszu {number(line)} jest wypełniona komórka w kolumnie {column_letters(index)} — lista uczniów może "
        f"mieć najwyżej {MAX_COLUMNS} kolumn (do kolumny {column_letters(MAX_COLUMNS - 1)}). Usuń dane z dalszych "
        "kolumn albo skopiuj kolumny z danymi uczniów do nowego arkusza i wyślij plik ponownie.")


def cell_too_long(line: int, index: int) -> RosterFileError:
    return RosterFileError(
        f"Komórka w wierszu {number(line)}, w kolumnie {column_letters(index)}, ma ponad {number(MAX_CELL_CHARS)} "
        "znaków — tak długich wartości nie ma na liście uczniów. Skróć ją albo usuń tę kolumnę i wyślij plik ponownie.")


def table_too_big() -> RosterFileError:
    return RosterFileError(
        f"Dane w pliku zajmują po odczytaniu ponad {MAX_TABLE_BYTES // (1024 * 1024)} MB tekstu — wielokrotnie więcej "
        "niż lista uczniów. Usuń zbędne kolumny i arkusze (zostaw dane uczniów) albo podziel listę na mniejsze pliki, "
        "np. po jednym na klasę.")


def check_cells(line: int, cells: list[str]) -> None:
    """The limits on one row as a reader hands it over (trailing empty cells already removed)."""
    if len(cells) > MAX_COLUMNS:
        first = next(i for i in range(MAX_COLUMNS, len(cells)) if cells[i])
        raise cell_beyond_columns(line, first)
    if max(map(len, cells)) > MAX_CELL_CHARS:
        raise cell_too_long(line, next(i for i, cell in enumerate(cells) if len(cell) > MAX_CELL_CHARS))


# --------------------------------------------------------------------------------------------------


class PackedRows(Sequence):
    """The data rows of a list: (line number, cells padded to the header's width) on access, each row
    stored as one bytes object. A row handed out is a fresh list; changing it changes nothing here."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._lines = array("I")
        self._blobs: list[bytes] = []
        self.size = 0  # bytes of cell text held

    def append(self, line: int, cells: Sequence[str]) -> None:
        blob = CELL_SEPARATOR.join(cells).encode()
        self._lines.append(line)
        self._blobs.append(blob)
        self.size += len(blob)

    def __len__(self) -> int:
        return len(self._blobs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        cells = self._blobs[index].decode().split(CELL_SEPARATOR)
        return self._lines[index], cells + [""] * (self.width - len(cells))

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        for i in range(len(self._blobs)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        return f"PackedRows({len(self)} rows x {self.width})"


@dataclasses.dataclass(frozen=True)
class Table:
    headers: list[str]
    # (line number in the spreadsheet, 1-based; the cells as stripped strings, padded to the headers' width)
    rows: Sequence[tuple[int, list[str]]]


class TableBuilder:
    """Collects the data rows under a known header: cells beyond the header are dropped, a row with
    nothing under a named column is skipped, and the limits on rows and on text are enforced."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.rows = PackedRows(len(header))
        self.offered = 0  # rows with any cell at all, also ones with nothing under the header

    def add(self, line: int, cells: list[str]) -> None:
        self.offered += 1
        if self.offered > MAX_ROWS:
            raise too_many_rows()
        rows = self.rows
        if len(cells) > rows.width:
            cells = cells[: rows.width]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                return
        rows.append(line, cells)
        if rows.size > MAX_TABLE_BYTES:
            raise table_too_big()

    def table(self) -> Table:
        return Table(headers=list(self.header), rows=self.rows)


def dump_table(table: Table) -> bytes:
    """The table as bytes for storage: a marker line, then the header and each row as records."""
    rows = table.rows
    if isinstance(rows, PackedRows):
        records = [b"%d%s%s" % (line, _CELL_SEPARATOR_BYTES, blob) for line, blob in zip(rows._lines, rows._blobs,
                                                                                         strict=True)]
    else:
        records = [f"{line}{CELL_SEPARATOR}{CELL_SEPARATOR.join(cells)}".encode() for line, cells in rows]
    header = CELL_SEPARATOR.join(table.headers).encode()
    return _MAGIC + _RECORD_SEPARATOR.join([header, *records])


def is_dumped_table(data: bytes) -> bool:
    return data.startswith(_MAGIC)


def load_table(data: bytes) -> Table:
    """A table written by `dump_table` (our own file in our storage, so trusted as to its format)."""
    records = data[len(_MAGIC):].split(_RECORD_SEPARATOR)
    headers = records[0].decode().split(CELL_SEPARATOR)
    rows = PackedRows(len(headers))
    for record in records[1:]:
        line, _, blob = record.partition(_CELL_SEPARATOR_BYTES)
        rows._lines.append(int(line))
        rows._blobs.append(blob)
        rows.size += len(blob)
    return Table(headers=headers, rows=rows)
