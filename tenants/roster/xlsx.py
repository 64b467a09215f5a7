"""Reading the first worksheet of an XLSX pupil list, streamed and bounded.

Pure, no Flask and no database. A workbook is a zip of XML parts; this reader opens only the parts it
needs (workbook, its relationships, styles for date cells, the shared strings and the first
worksheet) with expat, chunk by chunk, and keeps only what the list needs:

* the zip and every XML part pass the guard of `tenants.roster.xlsx_archive`: the central directory,
  the member count and unpacked size bounded, each part's uncompressed size checked before it is
  opened and counted again while it is read, no DTD, the XML structure bounded;
* shared strings live in one bytes buffer with offsets, at most `MAX_SHARED_STRINGS` of them;
* the sheet is read cell by cell: a filled cell beyond column `MAX_COLUMNS`, a cell longer than
  `MAX_CELL_CHARS`, more than `MAX_SHEET_CELLS` cells or `MAX_PART_ELEMENTS` elements stop it;
  a row is handed over when it ends, and reading ends with the sheet's data (merges, validation
  lists, … after it are never parsed).

Values are turned into text as openpyxl with ``data_only=True`` would give them and the old reader
wrote them: cached formula results, dates in number-formatted cells as dd.mm.rrrr, numbers without a
trailing ".0" (so a PESEL kept as a number keeps its digits), booleans as "tak"/"nie".
"""

from __future__ import annotations

import datetime as dt
import pyexpat
import zlib
from array import array
from collections.abc import Iterator

from openpyxl.styles.numbers import builtin_format_code
from openpyxl.styles.numbers import is_date_format
from openpyxl.styles.numbers import is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.datetime import from_ISO8601

from infra import inputs
from infra import zips
from tenants.roster.table import HEADER_SEARCH_ROWS
from tenants.roster.table import MAX_CELL_CHARS
from tenants.roster.table import MAX_COLUMNS
from tenants.roster.table import MAX_ROWS
from tenants.roster.table import RosterFileError
from tenants.roster.table import cell_beyond_columns
from tenants.roster.table import cell_too_long
from tenants.roster.table import number
from tenants.roster.table import too_many_rows
from tenants.roster.xlsx_archive import MAX_ATTRIBUTES
from tenants.roster.xlsx_archive import MAX_DEPTH
from tenants.roster.xlsx_archive import MAX_MEMBERS
from tenants.roster.xlsx_archive import MAX_NAMES
from tenants.roster.xlsx_archive import MAX_PART_ELEMENTS
from tenants.roster.xlsx_archive import MAX_UNZIPPED_BYTES
from tenants.roster.xlsx_archive import Damaged
from tenants.roster.xlsx_archive import Done
from tenants.roster.xlsx_archive import copy_to_new_sheet
from tenants.roster.xlsx_archive import feed_part
from tenants.roster.xlsx_archive import local_name
from tenants.roster.xlsx_archive import new_parser
from tenants.roster.xlsx_archive import not_xlsx
from tenants.roster.xlsx_archive import open_workbook
from tenants.roster.xlsx_archive import parse_part
from tenants.roster.xlsx_archive import rels_path
from tenants.roster.xlsx_archive import resolve
from tenants.roster.xlsx_archive import unusual

# Parts other than the sheet: the shared strings of a 20,000-pupil list take ~25 MB of XML.
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_SHEET_BYTES = MAX_UNZIPPED_BYTES
MAX_SHARED_STRINGS = 1_000_000
MAX_STYLES = 65_536  # Excel's own limit on cell formats is 64,000
MAX_SHEET_CELLS = 2_000_000  # 20,000 rows x 100 columns, empty and formatted cells included
# An XLSX may carry formatting down to row 1 048 576; this many empty rows in a row end the sheet.
MAX_EMPTY_RUN = 5_000
MAX_SHEET_ROW = 1_048_576
MAX_SHEET_COLUMN = 16_384


def xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every row of the first worksheet with a filled cell; trailing empty
    cells removed, text stripped. `RosterFileError` for a damaged, hostile or oversized workbook."""
    archive = open_workbook(data)
    with archive:
        try:
            names = {info.filename for info in archive.infolist()}
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    if b"opendocument" in member.read(100):
                        raise RosterFileError("To jest arkusz OpenDocument (.ods), którego nie obsługujemy. W "
                                              "LibreOffice wybierz „Zapisz jako” i format „Excel 2007-365 (.xlsx)” "
                                              "albo „CSV”.")
            yield from _Workbook(archive, names).rows()
        except RosterFileError:
            raise
        except (Damaged, pyexpat.ExpatError, ValueError, KeyError, IndexError, OverflowError, EOFError, OSError,
                zlib.error, NotImplementedError, RuntimeError, *zips.BAD_ZIP) as exc:
            raise not_xlsx() from exc


class _Workbook:
    def __init__(self, archive, names: set[str]) -> None:
        self.archive = archive
        self.names = names

    def _relationships(self, part: str) -> list[tuple[str, str, str]]:
        """(id, type's last segment, target path) of a part's relationships."""
        found: list[tuple[str, str, str]] = []
        path = rels_path(part)
        if path not in self.names:
            return found

        def start(tag, attrs):
            if tag == "Relationship" and attrs.get("TargetMode") != "External":
                if len(found) >= MAX_MEMBERS:
                    raise Damaged()
                kind = attrs.get("Type", "").rsplit("/", 1)[-1]
                found.append((attrs.get("Id", ""), kind, resolve(part, attrs.get("Target", ""))))

        parse_part(self.archive, path, MAX_PART_BYTES, start)
        return found

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        package = {kind: target for _id, kind, target in self._relationships("")}
        workbook = package.get("officeDocument", "xl/workbook.xml")
        if workbook not in self.names or "[Content_Types].xml" not in self.names:
            raise not_xlsx()
        sheet_ids, epoch = self._sheets(workbook)
        relationships = self._relationships(workbook)
        if not relationships:
            raise not_xlsx()
        by_id = {rid: (kind, target) for rid, kind, target in relationships}
        sheet = next((by_id[rid][1] for rid in sheet_ids
                      if rid in by_id and by_id[rid][0] == "worksheet" and by_id[rid][1] in self.names), None)
        if sheet is None:
            raise RosterFileError("Skoroszyt nie zawiera żadnego arkusza z danymi.")
        kinds = {kind: target for _rid, kind, target in relationships if target in self.names}
        styles = kinds.get("styles", "xl/styles.xml")
        date_styles, duration_styles = self._styles(styles) if styles in self.names else (set(), set())
        # openpyxl finds the shared strings by content type; a workbook without the relationship
        # but with the usual part is read the same here.
        shared = kinds.get("sharedStrings", "xl/sharedStrings.xml")
        strings = self._shared_strings(shared) if shared in self.names else SharedStrings()
        yield from _sheet_rows(self.archive, sheet, strings, date_styles, duration_styles, epoch)

    def _sheets(self, workbook: str) -> tuple[list[str], dt.datetime]:
        sheet_ids: list[str] = []
        epoch = CALENDAR_WINDOWS_1900

        def start(tag, attrs):
            nonlocal epoch
            if tag == "workbookPr" and attrs.get("date1904", "").lower() in ("1", "true"):
                epoch = CALENDAR_MAC_1904
            elif tag == "sheet":
                if len(sheet_ids) >= MAX_MEMBERS:
                    raise Damaged()
                sheet_ids.append(next((v for k, v in attrs.items() if k.endswith(":id")), ""))

        def end(tag):
            if tag == "sheets":
                raise Done()

        parse_part(self.archive, workbook, MAX_PART_BYTES, start, end)
        return sheet_ids, epoch

    def _styles(self, path: str) -> tuple[set[int], set[int]]:
        """Which cell formats (the `s` of a cell) show dates and which durations, as openpyxl decides."""
        custom: dict[int, str] = {}
        formats = array("l")
        inside: list[str] = []

        def start(tag, attrs):
            if tag == "numFmt" and inside[-1:] == ["numFmts"]:
                if len(custom) >= MAX_STYLES:
                    raise Damaged()
                custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")[:1000]
            elif tag == "xf" and inside[-1:] == ["cellXfs"]:
                if len(formats) >= MAX_STYLES:
                    raise copy_to_new_sheet(f"Skoroszyt ma ponad {number(MAX_STYLES)} formatów komórek")
                formats.append(int(attrs.get("numFmtId", "0")))
            inside.append(tag)

        def end(tag):
            inside.pop()
            if tag == "cellXfs":
                raise Done()

        parse_part(self.archive, path, MAX_PART_BYTES, start, end)
        dates, durations = set(), set()
        for index, format_id in enumerate(formats):
            code = custom[format_id] if format_id in custom else builtin_format_code(format_id)
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def _shared_strings(self, path: str) -> SharedStrings:
        strings = SharedStrings()
        parts: list[str] = []
        size = 0
        in_string = collecting = in_phonetic = False

        def start(tag, attrs):
            nonlocal size, in_string, collecting, in_phonetic
            if tag == "si":
                in_string = True
                parts.clear()
                size = 0
            elif tag == "t":
                collecting = in_string and not in_phonetic
            elif tag == "rPh":
                in_phonetic = True

        def end(tag):
            nonlocal in_string, collecting, in_phonetic
            if tag == "t":
                collecting = False
            elif tag == "si":
                in_string = False
                if len(strings) >= MAX_SHARED_STRINGS:
                    raise copy_to_new_sheet(f"Skoroszyt zawiera ponad {number(MAX_SHARED_STRINGS)} różnych tekstów")
                strings.append("".join(parts), too_long=size > MAX_CELL_CHARS)
            elif tag == "rPh":
                in_phonetic = False

        def text(chunk):
            nonlocal size
            if collecting:
                if size <= MAX_CELL_CHARS:
                    parts.append(chunk)
                size += len(chunk)

        parse_part(self.archive, path, MAX_PART_BYTES, start, end, text)
        return strings


class SharedStrings:
    """The shared-string table in one buffer of UTF-8 with offsets (not a million Python strings).
    A string longer than `MAX_CELL_CHARS` is kept shortened and flagged, so a cell using it is refused."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offsets = array("Q", [0])
        self.too_long: set[int] = set()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def append(self, text: str, *, too_long: bool = False) -> None:
        if too_long:
            self.too_long.add(len(self))
            text = text[:MAX_CELL_CHARS + 1]
        self._buffer += text.replace("x005F_", "").encode()  # as openpyxl reads Excel's escaped "_x"
        self._offsets.append(len(self._buffer))

    def __getitem__(self, index: int) -> str:
        return self._buffer[self._offsets[index]:self._offsets[index + 1]].decode()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "tak" if value else "nie"
    if isinstance(value, dt.datetime | dt.date):
        return inputs.format_day(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return str(value).strip()


_COLUMNS: dict[str, int] = {}


def _column(reference: str) -> int:
    """1-based column of a cell reference like "XFD12" (or "$b$3")."""
    letters = reference.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is not None:
        return column
    column = 0
    for ch in letters.replace("$", "").upper():
        if not "A" <= ch <= "Z":
            raise Damaged()
        column = column * 26 + ord(ch) - 64
        if column > MAX_SHEET_COLUMN:
            raise Damaged()
    if column == 0:
        raise Damaged()
    _COLUMNS[letters] = column  # at most the 16,384 valid spellings times "$" and case
    return column


# Element codes of the worksheet, by local name; a prefixed name ("x:c") is looked up once and cached.
_CELL, _VALUE, _INLINE, _TEXT, _PHONETIC, _ROW, _DATA = range(1, 8)
_SHEET_TAGS = {"c": _CELL, "v": _VALUE, "is": _INLINE, "t": _TEXT, "rPh": _PHONETIC, "row": _ROW,
               "sheetData": _DATA}


def _sheet_rows(archive, name: str, strings: SharedStrings, date_styles: set[int], duration_styles: set[int],
                epoch: dt.datetime) -> Iterator[tuple[int, list[str]]]:
    """The worksheet's filled rows as they are parsed. The handlers are closures over local state
    (this is the loop every cell of the file goes through, so it is kept lean)."""
    codes = dict(_SHEET_TAGS)
    attribute_names: set[str] = set()
    depth = 0
    ready: list[tuple[int, list[str]]] = []
    in_data = False
    row: dict[int, str] | None = None
    row_number = 0
    next_row = 1  # rows before this one were read already (openpyxl skips a row that goes back)
    last_filled = 0
    nonempty = 0
    cells = 0
    elements = 0
    column = 0
    cell_type = "n"
    cell_style = 0
    collecting = False
    in_inline = False
    in_phonetic = False
    value: list[str] = []
    size = 0

    def code_of(tag: str) -> int:
        code = codes.get(tag)
        if code is None:
            if len(codes) >= MAX_NAMES:
                raise unusual()
            code = codes[tag] = _SHEET_TAGS.get(local_name(tag), 0)
        return code

    def start(tag, attrs):
        nonlocal elements, in_data, cells, column, cell_type, cell_style, value, size, collecting, in_inline
        nonlocal in_phonetic, row, row_number, depth
        elements += 1
        depth += 1
        if elements > MAX_PART_ELEMENTS:
            raise copy_to_new_sheet(f"Arkusz ma ponad {number(MAX_PART_ELEMENTS)} elementów XML")
        if depth > MAX_DEPTH or len(attrs) > MAX_ATTRIBUTES:
            raise unusual()
        attribute_names.update(attrs)
        if len(attribute_names) > MAX_NAMES:
            raise unusual()
        code = codes.get(tag)
        if code is None:
            code = code_of(tag)
        if not in_data:
            in_data = code == _DATA
            return
        if code == _CELL:
            cells += 1
            if cells > MAX_SHEET_CELLS:
                raise copy_to_new_sheet(f"Arkusz ma ponad {number(MAX_SHEET_CELLS)} komórek (także pustych albo "
                                        "tylko sformatowanych)")
            reference = attrs.get("r")
            column = _column(reference) if reference else column + 1
            if column > MAX_SHEET_COLUMN:
                raise Damaged()
            cell_type = attrs.get("t", "n")
            style = attrs.get("s")
            cell_style = int(style) if style else 0
            value = []
            size = 0
        elif code == _VALUE:
            collecting = not in_inline
        elif code == _TEXT:
            collecting = in_inline and not in_phonetic
        elif code == _INLINE:
            in_inline = True
        elif code == _PHONETIC:
            in_phonetic = True
        elif code == _ROW:
            reference = attrs.get("r")
            row_number = int(reference) if reference else row_number + 1
            if not 1 <= row_number <= MAX_SHEET_ROW:
                raise Damaged()
            row = {}
            column = 0

    def end(tag):
        nonlocal collecting, in_inline, in_phonetic, depth
        depth -= 1
        if not in_data:
            return
        code = codes.get(tag)
        if code is None:
            code = code_of(tag)
        if code in (_VALUE, _TEXT):
            collecting = False
        elif code == _CELL:
            end_cell()
        elif code == _INLINE:
            in_inline = False
        elif code == _PHONETIC:
            in_phonetic = False
        elif code == _ROW:
            end_row()
        elif code == _DATA:
            raise Done()

    def text(chunk):
        nonlocal size
        if collecting:
            if size <= MAX_CELL_CHARS:
                value.append(chunk)
            size += len(chunk)

    def end_cell():
        if row is None or not value:
            return
        raw = "".join(value)
        too_long = size > MAX_CELL_CHARS
        if cell_type == "s":
            if not (raw.isascii() and raw.isdigit()):
                raise Damaged()
            index = int(raw)
            text = strings[index].strip()
            too_long = too_long or index in strings.too_long
        elif cell_type == "n":
            text = _number_text(raw, cell_style, date_styles, duration_styles, epoch)
        elif cell_type == "b":
            text = "tak" if int(raw) else "nie"
        elif cell_type == "d":
            text = _cell_text(from_ISO8601(raw))
        else:  # "str" (a formula's text), "inlineStr", "e" (an error such as #N/A)
            text = raw.strip()
        if not text:
            return
        if column > MAX_COLUMNS:
            raise cell_beyond_columns(row_number, column - 1)
        if too_long or len(text) > MAX_CELL_CHARS:
            raise cell_too_long(row_number, column - 1)
        row[column] = text

    def end_row():
        nonlocal row, next_row, last_filled, nonempty
        filled, row = row, None
        if filled is None or row_number < next_row:
            return
        next_row = row_number + 1
        if not filled:
            return
        if row_number - last_filled > MAX_EMPTY_RUN:
            raise Done()  # thousands of empty rows: what follows is no part of the list
        last_filled = row_number
        nonempty += 1
        if nonempty > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
            raise too_many_rows()
        line = [""] * max(filled)
        for position, cell in filled.items():
            line[position - 1] = cell
        ready.append((row_number, line))

    parser = new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        for _ in feed_part(archive, name, MAX_SHEET_BYTES, parser):
            if ready:
                yield from ready
                ready.clear()
    except Done:
        pass
    yield from ready


def _number_text(raw: str, style: int, date_styles: set[int], duration_styles: set[int], epoch: dt.datetime) -> str:
    value: float | int = float(raw) if ("." in raw or "e" in raw or "E" in raw) else int(raw)
    if style in date_styles:
        try:
            return _cell_text(from_excel(value, epoch, timedelta=style in duration_styles))
        except (OverflowError, ValueError):
            return "#VALUE!"  # what openpyxl gives for a date serial outside the calendar
    if type(value) is int:
        return str(value)
    return str(int(value)) if value.is_integer() else repr(value)
