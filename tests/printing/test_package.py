"""The encrypted batch package: opened by the real `7z` program with the password, checksums
match the manifest, only printed fields inside, the schema refuses anything more."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from printing import package
from printing.card_layout import CardData
from printing.render import render_print_file
from tests.helpers import jpeg

SEVEN_ZIP = shutil.which("7z") or shutil.which("7zz")  # Debian's `7zip` package installs 7zz
PASSWORD = "tajne-haslo-zamowienia-123"


def card(number: str, template: str = "MEiN-I/1", pesel: str = "18230412345") -> CardData:
    return CardData(number, template, "Zuzanna Łucja", "Wróblewska", dt.date(2018, 3, 4), pesel,
                    "Szkoła Podstawowa nr 1", "ul. Długa 1, 70-001 Szczecin", "Anna Dyrektorska",
                    dt.date(2026, 11, 21), dt.date(2027, 9, 30), jpeg(492, 633))


def unpack(data: bytes, tmp_path, password=PASSWORD) -> subprocess.CompletedProcess:
    archive = tmp_path / "paczka.7z"
    archive.write_bytes(data)
    return subprocess.run([SEVEN_ZIP, "x", f"-p{password}", f"-o{tmp_path / 'out'}", "-y", str(archive)],
                          capture_output=True, text=True, check=False)


def test_the_7z_program_opens_the_package_and_the_manifest_checksums_match(tmp_path):
    assert SEVEN_ZIP, "make test installs Debian's 7zip"
    cards = [card("1/2026"), card("2/2026", "MEiN-I/3-N"), card("3/2026", pesel="paszport FA1234567")]
    built = package.build(cards, render_print_file(cards), PASSWORD, order_id=7)
    assert built.sha256 == hashlib.sha256(built.data).hexdigest()
    result = unpack(built.data, tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["MEiN_I_1.xlsx", "MEiN_I_3.xlsx", "cards.pdf", "manifest.json",
                     "zdjecia/1-2026.jpg", "zdjecia/2-2026.jpg", "zdjecia/3-2026.jpg"]
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert len(manifest["files"]) == 6 and manifest["order"] == 7
    manifest_text = (out / "manifest.json").read_text()
    assert "Wróblewska" not in manifest_text and "18230412345" not in manifest_text  # no personal data
    sheet = load_workbook(out / "MEiN_I_1.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Numer legitymacji" and len(rows) == 3  # header + cards 1 and 3
    assert {r[4] for r in rows[1:]} == {"18230412345", "paszport FA1234567"}


def test_the_wrong_password_opens_nothing_and_names_stay_hidden(tmp_path):
    built = package.build([card("1")], render_print_file([card("1")]), PASSWORD, order_id=1)
    result = unpack(built.data, tmp_path, password="zle-haslo")
    assert result.returncode != 0
    assert not (tmp_path / "out" / "cards.pdf").exists()
    assert b"cards.pdf" not in built.data and b"Wr\xc3\xb3blewska" not in built.data  # header encrypted too
    listing = subprocess.run([SEVEN_ZIP, "l", "-p", str(tmp_path / "paczka.7z")], capture_output=True, text=True,
                             check=False, input="")
    assert "manifest.json" not in listing.stdout


def test_a_record_with_a_field_the_card_does_not_print_is_refused():
    rec = package.record(card("1"))
    package.validate([rec])
    for extra in ({"address": "ul. Domowa 5"}, {"class_name": "1a"}, {"parent_email": "m@example.pl"}):
        with pytest.raises(package.PackageError, match="nie spełnia schematu"):
            package.validate([rec | extra])
    with pytest.raises(package.PackageError):
        package.validate([rec | {"template_code": "MEiN-I/9"}])
    with pytest.raises(package.PackageError) as refused:
        package.validate([rec | {"date_of_birth": "2018-03-04"}])
    assert "2018" not in str(refused.value)  # the message names the field, not its value


def test_sheet_names_follow_the_templates():
    assert [package.sheet_name(t) for t in package.TEMPLATES] == [
        "MEiN_I_1.xlsx", "MEiN_I_2.xlsx", "MEiN_I_3.xlsx", "MEiN_I_4.xlsx", "MEiN_I_5.xlsx"]
    assert package.photo_name("12/2026") == "zdjecia/12-2026.jpg"


def test_the_packed_print_file_has_each_card_on_the_pages_the_manifest_names(tmp_path):
    import io

    from pypdf import PdfReader

    from printing.card_layout import Calibration

    cards = [card("1/2026"), card("2/2026", "MEiN-I/5", pesel="paszport FA1234567"), card("3/2026", "MEiN-I/4-N")]
    pdf = render_print_file(cards, Calibration(offset_x_mm=0.4, bleed_mm=1))
    result = unpack(package.build(cards, pdf, PASSWORD, order_id=3).data, tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert (out / "cards.pdf").read_bytes() == pdf
    reader = PdfReader(io.BytesIO(pdf))
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(reader.pages) == 2 * len(cards) == 2 * len(manifest["cards"])
    for entry, source in zip(manifest["cards"], cards, strict=True):
        assert entry["card_number"] in reader.pages[entry["front_page"] - 1].extract_text()
        assert source.pesel in reader.pages[entry["front_page"] - 1].extract_text()
        assert reader.pages[entry["back_page"] - 1].extract_text().strip() == "30.09.2027"
        front = reader.pages[entry["front_page"] - 1].extract_text()
        assert "LEGITYMACJA" not in front and "Imię (imiona)" not in front  # the personalisation only
        assert (out / entry["photo"]).read_bytes() == source.photo_jpeg
