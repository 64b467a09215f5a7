"""Reading a pupil list from CSV, streamed and bounded (see `tenants.roster.table` for the limits).

Pure, no Flask and no database. The text is UTF-8 (with or without a BOM), Polish Excel's cp1250 or
Excel's "Tekst Unicode" (UTF-16); the delimiter is ';', ',' or tab. The file is decoded chunk by
chunk and read line by line: no copy of the whole text is made, a physical line is cut off at
`MAX_LINE_CHARS` and may not hold more than `MAX_LINE_DELIMITERS` delimiters (csv would otherwise
build a list of millions of empty fields for one line), and each record is checked against the
column and cell limits before the next one is read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator

from tenants.roster.table import HEADER_SEARCH_ROWS
from tenants.roster.table import MAX_CELL_CHARS
from tenants.roster.table import MAX_COLUMNS
from tenants.roster.table import MAX_ROWS
from tenants.roster.table import RosterFileError
from tenants.roster.table import check_cells
from tenants.roster.table import number
from tenants.roster.table import too_many_rows

SAVE_AS = ("Zapisz listę w Excelu jako „Skoroszyt programu Excel (.xlsx)” albo „CSV (rozdzielany średnikami)” "
           "i wyślij ponownie.")
# Excel writes at most 16 384 columns, so even its emptiest trailing ";;;" stays below this.
MAX_LINE_DELIMITERS = 20_000
# The longest line a list within the limits can have (every cell full, quoted), with room to spare.
MAX_LINE_CHARS = 2 * MAX_COLUMNS * (MAX_CELL_CHARS + 3)
_CHUNK = 1 << 16

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _garbage() -> RosterFileError:
    return RosterFileError("Pliku nie da się odczytać jako listy uczniów — to nie jest arkusz XLSX ani tekstowy plik "
                           "CSV. " + SAVE_AS)


def csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) for every non-empty record; trailing empty cells removed, cells stripped."""
    encoding = _encoding(data)
    delimiter = _sniff_delimiter(_text(data, encoding).read(_CHUNK))
    reader = csv.reader(_lines(_text(data, encoding), delimiter), delimiter=delimiter)
    nonempty = 0
    widest = 0
    try:
        for line, record in enumerate(reader, start=1):
            cells = [cell.strip() for cell in record]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            check_cells(line, cells)
            nonempty += 1
            if nonempty > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
                raise too_many_rows()
            if len(cells) > widest:
                widest = len(cells)
            yield line, cells
    except csv.Error as exc:
        raise RosterFileError("Plik CSV jest uszkodzony (np. niezamknięty cudzysłów albo bardzo długa komórka). "
                              + SAVE_AS) from exc
    except UnicodeDecodeError as exc:
        raise _garbage() from exc
    if nonempty and widest < 2:
        raise RosterFileError("Nie udało się podzielić pliku na kolumny — w pliku CSV kolumny rozdziela się średnikiem "
                              "„;”, przecinkiem albo tabulatorem. " + SAVE_AS)


def _encoding(data: bytes) -> str:
    """The file's encoding, once the whole file is known to decode in it and to hold no control
    characters (a binary file is no list)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)  # Excel's "Tekst Unicode" export; the codec reads the BOM
    elif b"\x00" in data:
        raise _garbage()
    else:
        candidates = ("utf-8-sig", "cp1250")
    for encoding in candidates:
        if _decodes(data, encoding):
            return encoding
    raise _garbage()


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether the whole file is text in `encoding`, checked chunk by chunk (the text is not kept)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            if _CONTROL.search(decoder.decode(view[start:start + _CHUNK])):
                raise _garbage()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text(data: bytes, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _lines(text: io.TextIOWrapper, delimiter: str) -> Iterator[str]:
    """The physical lines for csv, each checked for its length and delimiters before it is parsed."""
    physical = 0
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS)
        except UnicodeDecodeError as exc:
            raise _garbage() from exc
        if not line:
            return
        physical += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise RosterFileError(f"Wiersz {number(physical)} pliku ma ponad {number(MAX_LINE_CHARS)} znaków — to nie "
                                  "jest lista uczniów albo plik jest uszkodzony. " + SAVE_AS)
        if line.count(delimiter) > MAX_LINE_DELIMITERS:
            raise RosterFileError(f"Wiersz {number(physical)} pliku ma ponad {number(MAX_LINE_DELIMITERS)} kolumn — "
                                  f"lista uczniów może mieć najwyżej {MAX_COLUMNS}. Usuń puste i zbędne kolumny po "
                                  "prawej stronie arkusza i wyślij plik ponownie.")
        yield line


def _sniff_delimiter(text: str) -> str:
    """The delimiter among ';', ',' and tab that splits the first lines most consistently into columns."""
    sample_lines = [line for line in text.splitlines() if line.strip()][:30]
    sample = "\n".join(sample_lines)
    best, best_score = ";", (-1, -1)
    for delimiter in (";", "\t", ","):
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda c: (multi.count(c), c))
        score = (multi.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best
