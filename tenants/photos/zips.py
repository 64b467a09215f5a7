"""Photos in a ZIP, read one at a time, matched to pupils by the names schools give their files.

Recognised: a PESEL anywhere in the name (docs/domain.md, source 003 suggests it), or the pupil's
surname and first name in any order with an optional class — "nazwisko-imię-klasa",
"imię nazwisko-klasa", "Nazwisko Imię Oddział.jpg" — compared without case or diacritics.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from infra import zips

MAX_FILES = 2000
MAX_ENTRY_BYTES = 15 * 1024 * 1024
MAX_TOTAL_BYTES = 600 * 1024 * 1024
# 2,000 files with long names (and macOS's "._" twins) take ~1 MB of central directory; every entry
# listed there becomes an object when the archive is opened, so a bigger directory is refused first.
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class ZipError(ValueError):
    """The upload is not a usable ZIP of photos; the message is Polish."""


def fold(text: str) -> str:
    """Lower case, no diacritics ("Łukasz Żółć" -> "lukasz zolc")."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", fold(text)) if t]


@dataclasses.dataclass(frozen=True)
class Candidate:
    """What matching needs to know of a pupil (no PESEL: that goes through the blind index)."""

    pupil_id: int
    surname: str
    first_names: str
    class_name: str


@dataclasses.dataclass(frozen=True)
class Match:
    outcome: str  # "matched" | "unmatched" | "ambiguous"
    pupil_ids: tuple[int, ...] = ()


PESEL_IN_NAME = re.compile(r"(?<!\d)(\d{11})(?!\d)")


def pesel_in_name(filename: str) -> str | None:
    found = PESEL_IN_NAME.search(filename.rsplit("/", 1)[-1])
    return found.group(1) if found else None


def match_by_name(filename: str, candidates: list[Candidate]) -> Match:
    """Pupils whose every surname part and first given name are in the file name, narrowed by
    class when the name holds one of theirs."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = tokens(stem)
    hits = []
    for c in candidates:
        surname = tokens(c.surname)
        first = tokens(c.first_names)[:1]
        if surname and first and all(w in words for w in surname + first):
            hits.append(c)
    classes_in_name = set(words) | _class_pairs(words)
    with_class = [c for c in hits if c.class_name and "".join(tokens(c.class_name)) in classes_in_name]
    if with_class:
        hits = with_class
    if not hits:
        return Match("unmatched")
    if len(hits) > 1:
        return Match("ambiguous", tuple(c.pupil_id for c in hits))
    return Match("matched", (hits[0].pupil_id,))


def _class_pairs(words: list[str]) -> set[str]:
    """"1 a" written with a space is class "1a" too."""
    return {a + b for a, b in zip(words, words[1:], strict=False)}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file of the archive: its photo's bytes, or empty with `refused` saying why it cannot be used."""

    name: str
    data: bytes
    refused: str = ""


NOT_A_PHOTO = "To nie jest plik JPEG ani PNG."
TOO_BIG = f"Plik jest większy niż {MAX_ENTRY_BYTES // (1024 * 1024)} MB."
BROKEN = "Nie udało się rozpakować tego pliku — archiwum jest w tym miejscu uszkodzone."


class PhotoArchive:
    """A ZIP of photos, checked before anything is unpacked; its files are read one at a time.

    The archive is read from `source` (a file, or bytes), so a 200 MB upload is never held in
    memory: at most one photo of at most MAX_ENTRY_BYTES is. Declared sizes are checked first,
    and reading stops at the limit, so an archive that lies about its sizes cannot exhaust
    memory either. Raises `ZipError` for what makes the whole archive unusable.
    """

    def __init__(self, source: BinaryIO | bytes) -> None:
        try:
            self._zip = zips.open_bounded(source, max_directory_bytes=MAX_DIRECTORY_BYTES)
        except zips.DirectoryTooLarge:
            raise ZipError(f"Archiwum ma za dużo plików; najwyżej {MAX_FILES} naraz.") from None
        except (*zips.BAD_ZIP, ValueError):
            raise ZipError("Plik nie jest archiwum ZIP.") from None
        self.infos = [i for i in self._zip.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                      and not i.filename.rsplit("/", 1)[-1].startswith(".")]
        if len(self.infos) > MAX_FILES:
            raise ZipError(f"Archiwum ma za dużo plików ({len(self.infos)}); najwyżej {MAX_FILES} naraz.")
        if sum(i.file_size for i in self.infos) > MAX_TOTAL_BYTES:
            raise ZipError("Po rozpakowaniu archiwum byłoby za duże (najwyżej 600 MB).")
        if any(i.flag_bits & 0x1 for i in self.infos):
            raise ZipError("Archiwum jest zaszyfrowane — spakuj zdjęcia bez hasła.")

    def __len__(self) -> int:
        return len(self.infos)

    def close(self) -> None:
        """Done with the archive (a file passed in stays open)."""
        self._zip.close()

    def entries(self, start: int = 0) -> Iterator[Entry]:
        """Each file in turn from the `start`th (always the same order); a file that is not a photo,
        too big or damaged comes with its reason. Files before `start` are not read at all."""
        for info in self.infos[start:]:
            name = _decoded_name(info)
            if not name.lower().endswith(IMAGE_SUFFIXES):
                yield Entry(name, b"", NOT_A_PHOTO)
            elif info.file_size > MAX_ENTRY_BYTES:
                yield Entry(name, b"", TOO_BIG)
            else:
                yield self._read(name, info)

    def _read(self, name: str, info: zipfile.ZipInfo) -> Entry:
        try:
            with self._zip.open(info) as fh:
                content = fh.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, zlib.error):
            return Entry(name, b"", BROKEN)
        if len(content) > MAX_ENTRY_BYTES:  # it said it was smaller
            return Entry(name, b"", TOO_BIG)
        return Entry(name, content)


def photo_entries(data: bytes) -> list[Entry]:
    """Every file of a ZIP held in memory (small archives, tests); `PhotoArchive` reads a file lazily."""
    return list(PhotoArchive(data).entries())


def _decoded_name(info: zipfile.ZipInfo) -> str:
    # Windows' built-in ZIP writes names in CP852 without the UTF-8 flag; Python reads them as CP437.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp852")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename
