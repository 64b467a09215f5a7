"""The printer's batch package: an AES-256 encrypted 7z (file names hidden too) holding

- `cards.pdf` — the print file: the personalisation only, never the card's design (`check_print_file`);
- `MEiN_I_1.xlsx` … `MEiN_I_5.xlsx` — one data sheet per template present (columns: `SHEET_COLUMNS`);
- `zdjecia/<card number>.jpg` — the photos, named by card number (never by PESEL or name);
- `manifest.json` — the sha256 and size of every other file, and per card its number, template,
  photo file and PDF pages; no personal data.

Only the fields printed on the card leave the school: every record is validated against
`CARD_SCHEMA` (no additional properties) before anything is written (docs/security.md T3.1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re

import jsonschema

from infra import inputs
from infra.spreadsheets import Sheet
from infra.spreadsheets import xlsx_document
from printing.card_layout import PRINT_FILE_TITLE
from printing.card_layout import CardData

FIELDS = ("card_number", "template_code", "first_names", "surname", "date_of_birth", "pesel", "school_name",
          "school_address", "director_name", "issue_date", "valid_until", "photo_ref")
SHEET_COLUMNS = {
    "card_number": "Numer legitymacji", "first_names": "Imię (imiona)", "surname": "Nazwisko",
    "date_of_birth": "Data urodzenia", "pesel": "PESEL lub dokument tożsamości", "school_name": "Nazwa szkoły",
    "school_address": "Adres szkoły", "director_name": "Dyrektor szkoły", "issue_date": "Data wydania",
    "valid_until": "Data ważności", "photo_ref": "Plik zdjęcia", "template_code": "Wzór",
}
TEMPLATES = ("MEiN-I/1", "MEiN-I/2", "MEiN-I/3-N", "MEiN-I/4-N", "MEiN-I/5")
DATE = r"^\d{2}\.\d{2}\.\d{4}$"
CARD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": list(FIELDS),
    "properties": {
        "card_number": {"type": "string", "minLength": 1, "maxLength": 30},
        "template_code": {"enum": list(TEMPLATES)},
        "first_names": {"type": "string", "minLength": 1, "maxLength": 100},
        "surname": {"type": "string", "minLength": 1, "maxLength": 100},
        "date_of_birth": {"type": "string", "pattern": DATE},
        "pesel": {"type": "string", "minLength": 1, "maxLength": 110},
        "school_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "school_address": {"type": "string", "maxLength": 300},
        "director_name": {"type": "string", "maxLength": 200},
        "issue_date": {"type": "string", "pattern": DATE},
        "valid_until": {"type": "string", "pattern": DATE},
        "photo_ref": {"type": "string", "pattern": r"^zdjecia/[0-9A-Za-z_-]+\.jpg$"},
    },
}


MAX_EXTRACT_BYTES = 1 << 30  # a print file of thousands of cards stays far below


class PackageError(ValueError):
    """A record would send more (or other) data than the card prints."""


def sheet_name(template: str) -> str:
    """"MEiN-I/3-N" → "MEiN_I_3" (ZEFO's file names: one sheet per template, docs/domain.md §10)."""
    return "MEiN_I_" + template.split("/")[1].split("-")[0] + ".xlsx"


def photo_name(card_number: str) -> str:
    return "zdjecia/" + re.sub(r"[^0-9A-Za-z_-]", "-", card_number) + ".jpg"


def record(card: CardData) -> dict:
    """What the printer gets about one card, as text, exactly as printed."""
    return {"card_number": card.card_number, "template_code": card.template_code, "first_names": card.first_names,
            "surname": card.surname, "date_of_birth": inputs.format_day(card.date_of_birth), "pesel": card.pesel,
            "school_name": card.school_name, "school_address": card.school_address,
            "director_name": card.director_name, "issue_date": inputs.format_day(card.issue_date),
            "valid_until": inputs.format_day(card.valid_until), "photo_ref": photo_name(card.card_number)}


def validate(records: list[dict]) -> None:
    validator = jsonschema.Draft202012Validator(CARD_SCHEMA)
    for i, rec in enumerate(records, start=1):
        errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
        if errors:
            # The message names the field, never its value (it may be a PESEL).
            where = ".".join(str(p) for p in errors[0].path) or errors[0].validator
            raise PackageError(f"Karta {i}: pole {where} nie spełnia schematu paczki ({errors[0].validator}).")


def sheet(records: list[dict]) -> bytes:
    """One template's data sheet: the header and a row per card, every value text (a name is
    never a formula, `infra.spreadsheets`); the PESEL column formatted as text, so Excel keeps
    leading zeros."""
    pesel_column = list(SHEET_COLUMNS).index("pesel")
    return xlsx_document([Sheet(title="Dane", rows=[list(SHEET_COLUMNS.values()),
                                                    *([rec[k] for k in SHEET_COLUMNS] for rec in records)],
                                column_formats={pesel_column: "@"})])


def check_print_file(pdf: bytes) -> None:
    """Raise `PackageError` unless `pdf` is a production print file (printing.render.render_print_file):
    its title says so, and it has no form XObject (where a specimen draws the design) and no shading
    (the background). A proof or specimen shows the whole card and must never reach a printer
    (docs/domain.md §3)."""
    title = b"/Title (" + PRINT_FILE_TITLE.encode() + b")"
    if title not in pdf or b"/Subtype /Form" in pdf or b"/ShadingType" in pdf:
        raise PackageError("Plik do druku musi zawierać wyłącznie personalizację karty, bez wzoru legitymacji.")


@dataclasses.dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    manifest: dict


def build(cards: list[CardData], pdf: bytes, password: str, *, order_id: int) -> Package:
    """Pack the order's files into an encrypted 7z. Raises `PackageError` before writing
    anything if a record carries a field the card does not print, or if `pdf` is not a production
    print file (a proof or specimen with the card's design)."""
    import py7zr

    check_print_file(pdf)
    records = [record(c) for c in cards]
    validate(records)
    files: dict[str, bytes] = {"cards.pdf": pdf}
    for template in TEMPLATES:
        chosen = [r for r in records if r["template_code"] == template]
        if chosen:
            files[sheet_name(template)] = sheet(chosen)
    for card, rec in zip(cards, records, strict=True):
        files[rec["photo_ref"]] = card.photo_jpeg
    manifest = {
        "order": order_id,
        "files": [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in files.items()],
        # the template's version says which blank the card goes on (docs/domain.md §25)
        "cards": [{"card_number": r["card_number"], "template_code": r["template_code"],
                   "template_version": card.version, "photo": r["photo_ref"],
                   "front_page": 2 * i + 1, "back_page": 2 * i + 2}
                  for i, (r, card) in enumerate(zip(records, cards, strict=True))],
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    out = io.BytesIO()
    # COPY + AES: JPEGs and PDFs do not compress, and LZMA2 costs ~50 s per 1,000 photos (docs/architecture.md).
    filters = [{"id": py7zr.FILTER_COPY}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
    with py7zr.SevenZipFile(out, "w", password=password, header_encryption=True, filters=filters) as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    data = out.getvalue()
    return Package(data, hashlib.sha256(data).hexdigest(), manifest)


def extract(source, password: str, name: str) -> bytes:
    """One file of a package built by `build` (`source`: a binary file object or the bytes),
    decrypted with the order's password. Storage keeps only the package, so the print file a
    printer or the school downloads is taken out of it (docs/security.md T3.19). Raises
    `PackageError` when the package has no such file or the password does not open it."""
    import py7zr
    from py7zr.io import BytesIOFactory

    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    factory = BytesIOFactory(limit=MAX_EXTRACT_BYTES)
    try:
        with py7zr.SevenZipFile(source, "r", password=password) as archive:
            archive.extract(targets=[name], factory=factory)
    except Exception as exc:  # py7zr reports a wrong password as whatever the noise fails to parse as
        raise PackageError("Paczki nie można otworzyć.") from exc
    if name not in factory.products:
        raise PackageError("W paczce nie ma takiego pliku.")
    product = factory.get(name)
    product.seek(0)
    return product.read()
