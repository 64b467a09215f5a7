"""Photos in a ZIP, matched to pupils by the names schools give their files.

Recognised: a PESEL anywhere in the name (BRIEF.md source 003 suggests it), or the pupil's
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
    name: str
    data: bytes  # empty when the file is no photo, too big or damaged
    problem: str = ""  # why `data` is empty, in Polish, when it is not simply "no photo"


class PhotoArchive:
    """The files of a checked ZIP; iterating reads them one at a time, so a job holds one photo in
    memory, not the whole unpacked archive. A damaged member becomes an entry with a `problem`."""

    def __init__(self, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        self._archive = archive
        self._infos = infos

    def __len__(self) -> int:
        return len(self._infos)

    def close(self) -> None:
        self._archive.close()

    def __iter__(self) -> Iterator[Entry]:
        try:
            for info in self._infos:
                yield _entry(self._archive, info)
        finally:
            self._archive.close()


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Entry:
    name = _decoded_name(info)
    if not name.lower().endswith(IMAGE_SUFFIXES) or info.file_size > MAX_ENTRY_BYTES:
        return Entry(name, b"")  # reported as "not a photo" / "too big" by the caller
    try:
        with archive.open(info) as fh:
            content = fh.read(MAX_ENTRY_BYTES + 1)
    except (*zips.BAD_ZIP, zlib.error, NotImplementedError, RuntimeError):
        return Entry(name, b"", "Plik w archiwum jest uszkodzony — spakuj zdjęcia jeszcze raz.")
    return Entry(name, content if len(content) <= MAX_ENTRY_BYTES else b"")


def photo_entries(data: bytes) -> PhotoArchive:
    """The files in a ZIP, refusing archives too big to unpack safely.

    Checked before anything is unpacked: the central directory's size (`infra.zips`), the number of
    files, their declared sizes and encryption. Reading stops at the limit, so an archive that lies
    about its sizes cannot exhaust memory either, and the files are read one at a time."""
    try:
        archive = zips.open_bounded(data, max_directory_bytes=MAX_DIRECTORY_BYTES)
    except zips.DirectoryTooLarge:
        raise ZipError(f"Archiwum ma za dużo plików; najwyżej {MAX_FILES} naraz.") from None
    except zips.BAD_ZIP:
        raise ZipError("Plik nie jest archiwum ZIP.") from None
    infos = [i for i in archive.infolist() if not i.is_dir()
             and not i.filename.startswith("__MACOSX/") and not i.filename.rsplit("/", 1)[-1].startswith(".")]
    if len(infos) > MAX_FILES:
        raise ZipError(f"Archiwum ma za dużo plików ({len(infos)}); najwyżej {MAX_FILES} naraz.")
    if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise ZipError("Po rozpakowaniu archiwum byłoby za duże (najwyżej 600 MB).")
    if any(i.flag_bits & 0x1 and i.filename.lower().endswith(IMAGE_SUFFIXES) for i in infos):
        raise ZipError("Archiwum jest zaszyfrowane — spakuj zdjęcia bez hasła.")
    return PhotoArchive(archive, infos)


def _decoded_name(info: zipfile.ZipInfo) -> str:
    # Windows' built-in ZIP writes names in CP852 without the UTF-8 flag; Python reads them as CP437.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp852")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename
