"""The guard around an XLSX pupil list's zip and XML parts (`tenants.roster.xlsx` reads the list).

Pure, no Flask and no database. The zip's central directory is refused when it is bigger than a
workbook's (`infra.zips`), and so is a zip with too many members or too many bytes unpacked. Each
part is parsed with expat chunk by chunk: its declared and its real size are checked against a limit,
no part may carry a DTD (entity expansion is how XML bombs work, and Excel never writes one), and
the structure is bounded (elements, depth, attributes, distinct names, an unfinished token). Every
refusal is a `RosterFileError` with a Polish message that says what to do instead.
"""

from __future__ import annotations

import posixpath
import pyexpat
import zipfile
from collections.abc import Callable
from collections.abc import Iterator

from infra import zips
from tenants.roster.table import RosterFileError
from tenants.roster.table import number

SAVE_AS = ("Zapisz listę w Excelu jako „Skoroszyt programu Excel (.xlsx)” albo „CSV (rozdzielany średnikami)” "
           "i wyślij ponownie.")
# Summed uncompressed size of all members of an XLSX we agree to open (a 10 MB zip of XML rarely exceeds
# ~100 MB; a zip bomb does).
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 10_000
# A workbook's central directory lists a few dozen parts; 1 MB of it is ~20,000 (each one an object).
MAX_DIRECTORY_BYTES = 1024 * 1024
MAX_PART_ELEMENTS = 8_000_000
# Expat holds a start tag whole, keeps every open element on a stack and every distinct element and
# attribute name for the life of the parser: a 20 KB zip can nest millions of elements or list millions
# of attributes in one tag. SpreadsheetML needs ~10 levels, ~15 attributes a tag, dozens of names.
MAX_DEPTH = 64
MAX_ATTRIBUTES = 64
MAX_NAMES = 1_000
# Expat buffers a token (a tag with its attributes, a comment, a processing instruction) until it is
# complete; the bytes read since the last event it reported may not exceed this.
MAX_PENDING_BYTES = 512 * 1024
_CHUNK = 1 << 16


def not_xlsx() -> RosterFileError:
    return RosterFileError("Plik nie jest poprawnym skoroszytem Excela (.xlsx) — może być uszkodzony. " + SAVE_AS)


def too_big() -> RosterFileError:
    return RosterFileError("Plik XLSX po rozpakowaniu byłby zbyt duży — nie otworzymy go. Zapisz listę ponownie w "
                           "Excelu (tylko arkusz z uczniami) albo jako CSV.")


def unusual() -> RosterFileError:
    return copy_to_new_sheet("Skoroszyt ma budowę, jakiej Excel nie tworzy (zbyt głęboko zagnieżdżone, zbyt długie "
                             "albo zbyt różnorodne elementy XML)")


def copy_to_new_sheet(what: str) -> RosterFileError:
    return RosterFileError(f"{what} — tak nie wygląda lista uczniów. Skopiuj dane uczniów do nowego, pustego "
                           "skoroszytu (zaznacz je, skopiuj i wklej) i zapisz go ponownie albo zapisz listę jako CSV.")


class Done(Exception):
    """Raised by a handler when the part holds nothing more that we need."""


class Damaged(Exception):
    """The part's content is not what SpreadsheetML allows."""


def open_workbook(data: bytes) -> zipfile.ZipFile:
    """The workbook's zip, opened with its central directory bounded (`infra.zips`) and refused when it
    has more than `MAX_MEMBERS` members or would unpack to more than `MAX_UNZIPPED_BYTES`
    (`RosterFileError`). The caller closes it."""
    try:
        archive = zips.open_bounded(data, max_directory_bytes=MAX_DIRECTORY_BYTES)
    except zips.DirectoryTooLarge:
        raise RosterFileError("Plik XLSX zawiera tysiące wewnętrznych plików — to nie jest zwykły skoroszyt. Zapisz "
                              "listę ponownie w Excelu albo jako CSV.") from None
    except zips.BAD_ZIP as exc:
        raise not_xlsx() from exc
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS or sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        archive.close()
        raise too_big()
    return archive


def local_name(name: str) -> str:
    """The local name of an element: parts are parsed without namespace processing (faster), and a
    writer may put a prefix on SpreadsheetML's names ("x:c")."""
    return name.rpartition(":")[2]


def refuse_dtd(*_args) -> None:
    raise RosterFileError("Plik XLSX zawiera definicje DTD, których skoroszyty Excela nie mają — nie otworzymy go. "
                          "Zapisz listę ponownie w Excelu albo jako CSV.")


def new_parser():
    parser = pyexpat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    return parser


def feed_part(archive, name: str, limit: int, parser) -> Iterator[None]:
    """Feed one part to `parser` in chunks, yielding after each: its declared and its real size are
    checked against `limit`, and expat may not sit on more than `MAX_PENDING_BYTES` of an unfinished
    token (a giant tag or comment). A handler's exception (`Done`, a refusal) comes out of this loop."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise too_big()
    read = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            read += len(chunk)
            if read > limit:
                raise too_big()
            parser.Parse(chunk, False)
            # Outside a handler, CurrentByteIndex is where expat's last reported event began.
            if read - max(parser.CurrentByteIndex, 0) > MAX_PENDING_BYTES:
                raise unusual()
            yield
        parser.Parse(b"", True)


def parse_part(archive, name: str, limit: int, start: Callable, end: Callable | None = None,
           text: Callable | None = None) -> None:
    """Parse one part with expat; `start(local_name, attrs)` and `end(local_name)` get names without a
    prefix. The structure is bounded (elements, depth, attributes, names); a handler may raise `Done`
    to stop early."""
    parser = new_parser()
    names: dict[str, str] = {}
    attribute_names: set[str] = set()
    elements = depth = 0

    def local(tag: str) -> str:
        found = names.get(tag)
        if found is None:
            if len(names) >= MAX_NAMES:
                raise unusual()
            found = names[tag] = local_name(tag)
        return found

    def counted_start(tag, attrs):
        nonlocal elements, depth
        elements += 1
        depth += 1
        if elements > MAX_PART_ELEMENTS:
            raise copy_to_new_sheet(f"Część skoroszytu ma ponad {number(MAX_PART_ELEMENTS)} elementów XML")
        if depth > MAX_DEPTH or len(attrs) > MAX_ATTRIBUTES:
            raise unusual()
        attribute_names.update(attrs)
        if len(attribute_names) > MAX_NAMES:
            raise unusual()
        start(local(tag), attrs)

    def counted_end(tag):
        nonlocal depth
        depth -= 1
        if end is not None:
            end(local(tag))

    parser.StartElementHandler = counted_start
    parser.EndElementHandler = counted_end
    if text is not None:
        parser.CharacterDataHandler = text
    try:
        for _ in feed_part(archive, name, limit, parser):
            pass
    except Done:
        pass


def resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def rels_path(part: str) -> str:
    folder, file = posixpath.split(part)
    return posixpath.join(folder, "_rels", file + ".rels")
