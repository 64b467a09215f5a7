"""Matching photo file names to pupils, and unpacking ZIPs safely."""

from __future__ import annotations

import io
import zipfile

import pytest

from tenants.photos.zips import Candidate
from tenants.photos.zips import ZipError
from tenants.photos.zips import match_by_name
from tenants.photos.zips import pesel_in_name
from tenants.photos.zips import photo_entries
from tests.helpers import make_zip

PUPILS = [
    Candidate(1, "Kowalska", "Anna", "1a"),
    Candidate(2, "Kowalska", "Anna Maria", "2b"),
    Candidate(3, "Żółć-Nowak", "Łukasz", "1a"),
    Candidate(4, "Wiśniewski", "Jan Paweł", "3c"),
]


@pytest.mark.parametrize(("name", "pupil_id"), [
    ("kowalska-anna-1a.jpg", 1),  # nazwisko-imię-klasa (Rybnik)
    ("Anna Kowalska-2b.JPG", 2),  # imię nazwisko-klasa (Toruń)
    ("Kowalska Anna 1a.jpeg", 1),  # "Nazwisko Imię Oddział.jpg" (Vulcan script)
    ("zolc-nowak-lukasz-1a.png", 3),  # no diacritics, double-barrelled surname
    ("ŻÓŁĆ-NOWAK ŁUKASZ.jpg", 3),  # capitals, no class
    ("klasa 3c/Jan Wiśniewski.jpg", 4),  # folders are ignored; first given name is enough
    ("kowalska-anna-1 a.jpg", 1),  # "1 a" with a space
])
def test_school_file_name_schemes_match_one_pupil(name, pupil_id):
    match = match_by_name(name, PUPILS)
    assert match.outcome == "matched" and match.pupil_ids == (pupil_id,)


def test_a_name_two_pupils_share_without_a_class_is_ambiguous():
    match = match_by_name("Kowalska Anna.jpg", PUPILS)
    assert match.outcome == "ambiguous" and set(match.pupil_ids) == {1, 2}


@pytest.mark.parametrize("name", ["IMG_2024.jpg", "kowalski-anna-1a.jpg", "anna-1a.jpg", "nowak.jpg"])
def test_names_of_nobody_are_unmatched(name):
    assert match_by_name(name, PUPILS).outcome == "unmatched"


def test_a_pesel_in_the_name_is_found():
    assert pesel_in_name("zdjecia/18230412345.jpg") == "18230412345"
    assert pesel_in_name("kowalska-anna-1a.jpg") is None
    assert pesel_in_name("123456789012.jpg") is None  # 12 digits is no PESEL


def test_entries_skip_folders_and_system_files_and_flag_non_images():
    data = make_zip({"a/anna.jpg": b"jpeg", "__MACOSX/a/._anna.jpg": b"junk", ".DS_Store": b"x", "notes.txt": b"t"})
    entries = {e.name: e.data for e in photo_entries(data)}
    assert entries == {"a/anna.jpg": b"jpeg", "notes.txt": b""}


def test_windows_zip_names_in_cp852_are_read_as_polish():
    # Windows' "Send to > Compressed folder" stores CP852 bytes without the UTF-8 flag; Python's
    # writer cannot, so the bytes of an ASCII name of the same length are swapped in afterwards.
    data = make_zip({"Zaneta Loj.jpg": b"jpeg"})
    data = data.replace(b"Zaneta Loj.jpg", "Żaneta Łój.jpg".encode("cp852"))
    assert [e.name for e in photo_entries(data)] == ["Żaneta Łój.jpg"]


def test_not_a_zip_is_refused():
    with pytest.raises(ZipError, match="nie jest archiwum ZIP"):
        photo_entries(b"%PDF-1.4 not a zip")


def test_a_zip_bomb_is_refused_before_unpacking():
    # 700 MB of zeros compresses to well under 1 MB: refused by its declared size.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("bomb.jpg", "w", force_zip64=True) as fh:
        chunk = b"\0" * (1024 * 1024)
        for _ in range(700):
            fh.write(chunk)
    assert len(out.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(ZipError, match="za duże"):
        photo_entries(out.getvalue())


def test_too_many_files_are_refused():
    with pytest.raises(ZipError, match="za dużo plików"):
        photo_entries(make_zip({f"{i}.jpg": b"x" for i in range(2001)}))
