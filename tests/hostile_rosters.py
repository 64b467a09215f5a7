"""Hostile pupil lists, built at run time (small on the wire, huge once unpacked or parsed).

Each builder returns the bytes of one upload. They write raw SpreadsheetML (the parts a real
workbook has, so openpyxl opens them too) and stream big parts into the zip in chunks, so
building a file never needs the memory that parsing it naively would. `HOSTILE` lists every file
that must be refused; `budget_script` is the code a subprocess runs to measure peak memory.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path

from tenants.photos import zips as photo_zip  # imported before the measurement starts (tests.memory_budget)
from tenants.roster import file as roster_file

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
HEADER = ("Nazwisko", "Imię", "Klasa")


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, cells: str) -> str:
    return f'<row r="{number}">{cells}</row>'


def header_row(cells: Iterable[str] = HEADER) -> str:
    return '<row r="1">' + "".join(_inline(f"{col}1", text) for col, text in zip("ABCDEFGHIJ", cells,
                                                                                     strict=False)) + "</row>"


def workbook(sheet_rows: Iterable[str], *, shared_strings: Iterable[str] | None = None, prolog: str = "",
             shared_prolog: str = "") -> bytes:
    """A one-sheet XLSX whose sheetData holds `sheet_rows` (XML text chunks) and, if given, a shared
    string table of `shared_strings` (XML chunks of `<si>` elements), both streamed into the zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        overrides = [('/xl/workbook.xml', "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
                     ('/xl/worksheets/sheet1.xml', SHEET_CT)]
        rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
        if shared_strings is not None:
            overrides.append(("/xl/sharedStrings.xml",
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"))
            rels.append(f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
        archive.writestr("[Content_Types].xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides) + "</Types>"))
        archive.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="Uczniowie" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">' + "".join(rels)
            + "</Relationships>"))
        _stream(archive, "xl/worksheets/sheet1.xml",
                [f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}"><sheetData>'],
                sheet_rows, ["</sheetData></worksheet>"])
        if shared_strings is not None:
            _stream(archive, "xl/sharedStrings.xml",
                    [f'<?xml version="1.0" encoding="UTF-8"?>{shared_prolog}<sst xmlns="{MAIN}">'],
                    shared_strings, ["</sst>"])
    return out.getvalue()


def _stream(archive: zipfile.ZipFile, name: str, *parts: Iterable[str]) -> None:
    with archive.open(name, "w", force_zip64=True) as member:
        buffer: list[str] = []
        size = 0
        for part in parts:
            for chunk in part:
                buffer.append(chunk)
                size += len(chunk)
                if size > 1 << 20:
                    member.write("".join(buffer).encode())
                    buffer, size = [], 0
        member.write("".join(buffer).encode())


# The attacker's three files ---------------------------------------------------------------------


def xlsx_cell_in_column_xfd(rows: int = 20_000) -> bytes:
    """One cell per row in column XFD (16 384): read naively, every row becomes 16 384 cells wide."""
    return workbook([header_row()] + [f'<row r="{i}"><c r="XFD{i}"><v>{i}</v></c></row>'
                                      for i in range(2, rows + 2)])


def xlsx_shared_strings_bomb(strings: int = 1_000_000, length: int = 80) -> bytes:
    """A shared-string table of ~95 MB (a million 80-character strings) in a file of a few hundred KB."""
    body = "a" * length
    return workbook([header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'],
                    shared_strings=(f"<si><t>{body}</t></si>" for _ in range(strings)))


def csv_with_5000_columns(columns: int = 5_000, rows: int = 20_000) -> bytes:
    """A header naming 5,000 columns over 20,000 short rows: padded to the header, 100 million cells."""
    header = ";".join(list(HEADER) + [f"k{i}" for i in range(len(HEADER), columns)])
    return (header + "\n" + "N;O;1\n" * rows).encode()


# More of the same class ---------------------------------------------------------------------------


def xlsx_5000_named_columns(rows: int = 20_000) -> bytes:
    """A header naming 5,000 columns (no column beyond XFD needed), over short rows."""
    from openpyxl.utils import get_column_letter

    header = '<row r="1">' + "".join(_inline(f"{get_column_letter(i)}1", f"k{i}") for i in range(1, 5001)) + "</row>"
    return workbook([header] + [f'<row r="{i}"><c r="A{i}"><v>1</v></c></row>' for i in range(2, rows + 2)])


def xlsx_long_shared_string_everywhere(rows: int = 20_000, columns: int = 10, length: int = 30_000) -> bytes:
    """One 30,000-character shared string referenced by every cell: one string, 6 GB of text if copied."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i) for i in range(1, columns + 1)]
    return workbook([header_row()] + [row(i, "".join(f'<c r="{col}{i}" t="s"><v>0</v></c>' for col in letters))
                                      for i in range(2, rows + 2)],
                    shared_strings=[f"<si><t>{'x' * length}</t></si>"])


def xlsx_amplified_table(rows: int = 2_000, columns: int = 10, length: int = 1_500) -> bytes:
    """Cells under every per-cell limit that still add up: 10 columns x 2,000 rows of one
    1,500-character shared string (30 MB of text when every row is kept; 20,000 rows would be 300 MB)."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i) for i in range(1, columns + 1)]
    return workbook([header_row([f"k{i}" for i in range(10)])]
                    + [row(i, "".join(f'<c r="{col}{i}" t="s"><v>0</v></c>' for col in letters))
                       for i in range(2, rows + 2)],
                    shared_strings=[f"<si><t>{'Kowalska' * (length // 8)}</t></si>"])


def xlsx_empty_cells_sheet(cells: int = 6_000_000) -> bytes:
    """A sheet of millions of empty cells (only a style): nothing to read, a lot to parse."""
    per_row = 5_000
    return workbook([header_row()] + [row(2 + i, '<c s="0"/>' * per_row) for i in range(cells // per_row)])


def xlsx_billion_laughs() -> bytes:
    """Entity expansion in the shared strings (an XML bomb); XLSX parts never carry a DTD."""
    entities = '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    return workbook([header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'],
                    shared_strings=["<si><t>&a9;</t></si>"], shared_prolog=f"<!DOCTYPE sst [{entities}]>")


def xlsx_many_zip_entries(entries: int = 100_000) -> bytes:
    """A zip whose central directory lists 100,000 (empty) members: each becomes an object on opening."""
    base = workbook([header_row(), '<row r="2"><c r="A2"><v>1</v></c></row>'])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info.filename))
        for i in range(entries):
            archive.writestr(f"{i:x}", b"")
    return out.getvalue()


def xlsx_deep_nesting(depth: int = 7_000_000) -> bytes:
    """Seven million nested elements in 21 KB: expat keeps a stack entry for each open one."""
    return workbook([header_row()] + ["<x>" * 100_000 for _ in range(depth // 100_000)])


def xlsx_attribute_flood(attributes: int = 10_000_000) -> bytes:
    """One cell tag with ten million attributes (72 KB zipped): expat builds them all before it can say
    that they repeat."""
    return workbook([header_row(), '<row r="2"><c r="A2"'] + [' b=""' * 100_000 for _ in range(attributes // 100_000)]
                    + ["><v>1</v></c></row>"])


def xlsx_giant_comment(size: int = 90_000_000) -> bytes:
    """An XML comment of 90 MB (with "<" in it, as comments may have): held whole until it ends."""
    piece = "<" + "c" * 99_999
    return workbook([header_row(), "<!--"] + [piece * 10 for _ in range(size // 1_000_000)] + ["-->"])


def csv_one_line_of_delimiters(size: int = 9_900_000) -> bytes:
    """One line of ten million semicolons under a header: one record of ten million fields."""
    return b"Nazwisko;Imi\xea;Klasa\n" + b";" * size + b"x\n"


# name -> (builder, a phrase of the Polish message that refuses it)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "xlsx_cell_in_column_xfd": (xlsx_cell_in_column_xfd, "wypełniona komórka w kolumnie XFD"),
    "xlsx_shared_strings_bomb": (xlsx_shared_strings_bomb, "po rozpakowaniu byłby zbyt duży"),
    "csv_with_5000_columns": (csv_with_5000_columns, "wypełniona komórka w kolumnie GS"),
    "xlsx_5000_named_columns": (xlsx_5000_named_columns, "wypełniona komórka w kolumnie GS"),
    "xlsx_long_shared_string_everywhere": (xlsx_long_shared_string_everywhere, "ma ponad 2\u00a0000 znaków"),
    "xlsx_amplified_table": (xlsx_amplified_table, "ponad 16 MB tekstu"),
    "xlsx_empty_cells_sheet": (xlsx_empty_cells_sheet, "ponad 2\u00a0000\u00a0000 komórek"),
    "xlsx_billion_laughs": (xlsx_billion_laughs, "definicje DTD"),
    "xlsx_many_zip_entries": (xlsx_many_zip_entries, "tysiące wewnętrznych plików"),
    "csv_one_line_of_delimiters": (csv_one_line_of_delimiters, "Wiersz 2 pliku ma ponad 801\u00a0200 znaków"),
    "xlsx_deep_nesting": (xlsx_deep_nesting, "budowę, jakiej Excel nie tworzy"),
    "xlsx_attribute_flood": (xlsx_attribute_flood, "budowę, jakiej Excel nie tworzy"),
    "xlsx_giant_comment": (xlsx_giant_comment, "budowę, jakiej Excel nie tworzy"),
}


def heaviest_valid_csv(limit: int) -> bytes:
    """A list as heavy as a valid upload can be: 200 short cells a row up to the size limit."""
    row = ";".join(["Ab"] * 200) + "\n"
    header = ";".join(list(HEADER) + [f"k{i}" for i in range(3, 200)]) + "\n"
    return (header + row * ((limit - len(header)) // len(row))).encode()


def heaviest_valid_xlsx(rows: int = 20_000, columns: int = 30) -> bytes:
    """A list of 20,000 rows x 30 columns of distinct short strings (a whole city's list)."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i) for i in range(1, columns + 1)]
    header = '<row r="1">' + "".join(_inline(f"{col}1", f"k{i}") for i, col in enumerate(letters)) + "</row>"
    return workbook([header] + [row(i, "".join(f'<c r="{col}{i}" t="s"><v>{(i * columns + j) % 400_000}</v></c>'
                                               for j, col in enumerate(letters)))
                                for i in range(2, rows + 2)],
                    shared_strings=(f"<si><t>Wartość {i}</t></si>" for i in range(400_000)))


def photo_zip_many_entries(entries: int = 100_000) -> bytes:
    """A photo ZIP whose central directory lists 100,000 empty files."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for i in range(entries):
            archive.writestr(f"{i:x}.jpg", b"")
    return out.getvalue()


@functools.cache
def build(name: str) -> bytes:
    """The named file, built once per test run."""
    if name == "heaviest_valid_csv":
        from tenants.roster.file import MAX_BYTES

        return heaviest_valid_csv(MAX_BYTES)
    if name in HOSTILE:
        return HOSTILE[name][0]()
    return globals()[name]()


# Targets of `tests.memory_budget.grown`: each reads its file in the measured process.


def read_roster(path: str) -> dict:
    """A pupil list read as an upload is: the rows it holds, or the Polish message refusing it."""
    try:
        return {"outcome": f"read {len(roster_file.read_table(Path(path).read_bytes()).rows)} rows", "message": ""}
    except roster_file.RosterFileError as err:
        return {"outcome": "refused", "message": str(err)}


def list_photo_zip(path: str) -> dict:
    """A photo ZIP's files unpacked one by one as the job does: how many, or the message refusing it."""
    try:
        with open(path, "rb") as archive:
            files = sum(1 for entry in photo_zip.PhotoArchive(archive).entries() if entry.data)
        return {"outcome": f"read {files} files", "message": ""}
    except photo_zip.ZipError as err:
        return {"outcome": "refused", "message": str(err)}
