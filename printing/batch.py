"""Assemble a print order's batch from the school's records: the card PDF, its manifest and the
encrypted package for the printer.

Storage keeps only the encrypted package and the manifest (no personal data): the plain card PDF
is never stored; a download takes it out of the package (`print_file`, docs/security.md T3.19)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile

from sqlalchemy import select

from infra import services
from infra.crypto import sha256_hex
from infra.db import db
from infra.db import utcnow
from infra.storage import NotFound
from printing import package
from printing.card_layout import Calibration
from printing.card_layout import CardData
from printing.models import PrintOrder
from printing.operations import valid_until
from printing.render import render_print_file
from tenants.pupils.identity import reveal_identity
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.registry.models import Card
from tenants.registry.models import registry_order
from tenants.tenancy.actors import Actor
from tenants.tenancy.models import Organisation


class BatchError(Exception):
    """The batch cannot be built; the message is Polish, shown to the school, free of personal data."""


def card_data(order: PrintOrder, actor: Actor, purpose: str) -> tuple[list[Card], list[CardData]]:
    """The printed fields of every card in the order, in registry-number order; each pupil's
    identity is revealed to `actor` for `purpose` (one access-log row per card, with the order)."""
    school = db.session.get(Organisation, order.school_id)
    rows = db.session.execute(
        select(Card, Pupil).join(Pupil, (Pupil.id == Card.pupil_id) & (Pupil.school_id == Card.school_id))
        .where(Card.school_id == order.school_id, Card.order_id == order.id).order_by(*registry_order())).all()
    storage = services.storage()
    cards, data, missing = [], [], 0
    for card, pupil in rows:
        try:
            photo = storage.get(pupil.photo_key) if pupil.photo_key else None
        except NotFound:
            photo = None
        if photo is None:
            missing += 1
            continue
        cards.append(card)
        data.append(CardData(
            card_number=card.label, template_code=card.template_code, first_names=pupil.first_names,
            surname=pupil.surname, date_of_birth=pupil.date_of_birth,
            pesel=reveal_identity(actor, pupil, purpose, order_id=order.id),
            school_name=school.name, school_address=school.address_line, director_name=school.director_name,
            issue_date=card.issue_date, valid_until=card.valid_until, photo_jpeg=photo,
            template_version=card.template_version))  # its own, whatever is in force today (docs/domain.md §25)
    if missing:
        raise BatchError(f"Brak zdjęcia u {missing} uczn{'ia' if missing == 1 else 'iów'} w zamówieniu.")
    if not data:
        raise BatchError("Zamówienie nie zawiera żadnej karty.")
    return cards, data


def preview_data(order: PrintOrder, actor: Actor, *, today: dt.date) -> list[CardData]:
    """The cards an order will print, for the school's proof shown to `actor` (a "proof_view"
    access-log row per pupil). A draft has no registry numbers yet: its cards show a placeholder,
    and the dates they would get if submitted today."""
    if order.card_count and order.status != "draft":
        return card_data(order, actor, "proof_view")[1]
    school = db.session.get(Organisation, order.school_id)
    rows = db.session.execute(
        select(Application, Pupil).join(Pupil, (Pupil.id == Application.pupil_id)
                                        & (Pupil.school_id == Application.school_id))
        .where(Application.school_id == order.school_id, Application.order_id == order.id)
        .order_by(Pupil.class_name, Pupil.surname, Pupil.first_names)).all()
    storage = services.storage()
    data = []
    for _application, pupil in rows:
        try:
            photo = storage.get(pupil.photo_key) if pupil.photo_key else None
        except NotFound:
            photo = None
        if photo is None:
            raise BatchError(f"Brak zdjęcia: {pupil.full_name}.")
        data.append(CardData(
            card_number="———", template_code=pupil.template_code, first_names=pupil.first_names,
            surname=pupil.surname, date_of_birth=pupil.date_of_birth,
            pesel=reveal_identity(actor, pupil, "proof_view", order_id=order.id),
            school_name=school.name, school_address=school.address_line, director_name=school.director_name,
            issue_date=today, valid_until=valid_until(today), photo_jpeg=photo))
    if not data:
        raise BatchError("Zamówienie nie zawiera żadnej karty.")
    return data


def manifest(order: PrintOrder, cards: list[Card], pdf: bytes) -> bytes:
    """What the printer needs to check the batch, without personal data: numbers, templates,
    page positions and the PDF's checksum."""
    document = {
        "order_id": order.id,
        "school": db.session.get(Organisation, order.school_id).name,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "card_count": len(cards),
        "page_size_mm": [85.60, 53.98],
        "files": [{"name": "cards.pdf", "sha256": sha256_hex(pdf), "bytes": len(pdf)}],
        "cards": [{"card_number": c.label, "template_code": c.template_code, "template_version": c.template_version,
                   "front_page": 2 * i + 1, "back_page": 2 * i + 2} for i, c in enumerate(cards)],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def calibration_for(order: PrintOrder) -> Calibration:
    """The print file's set-up for the printer the order goes to (none for the school's own printer).
    The printer's `preprinted_blanks` column is not read: every print file carries the
    personalisation only (docs/domain.md §3)."""
    printer = db.session.get(Organisation, order.printer_id) if order.printer_id else None
    if printer is None:
        return Calibration()
    try:
        return Calibration(offset_x_mm=float(printer.offset_x_mm or 0), offset_y_mm=float(printer.offset_y_mm or 0),
                           bleed_mm=float(printer.bleed_mm or 0))
    except ValueError as err:
        raise BatchError(f"Nieprawidłowa kalibracja drukarni: {err}") from None


def build(order: PrintOrder, password: str, actor: Actor) -> tuple[bytes, bytes, list[Card], package.Package]:
    """(pdf, manifest, cards, encrypted package) for the order; `BatchError` when data is missing.
    The PDF is the personalisation only, laid out for the order's printer (its calibration). Each
    card's identity is revealed to `actor` for "batch_render" (one access-log row per card)."""
    cards, data = card_data(order, actor, "batch_render")
    pdf = render_print_file(data, calibration_for(order))
    try:
        packed = package.build(data, pdf, password, order_id=order.id)
    except package.PackageError as err:
        raise BatchError(str(err)) from None
    return pdf, manifest(order, cards, pdf), cards, packed



def print_file(order: PrintOrder) -> bytes:
    """The order's card PDF for a download, taken out of its encrypted package with the order's
    password and checked against the checksum recorded when the batch was built. An order built
    before the PDF stopped being stored keeps reading its stored copy until the purge sweep
    (`printing.retention.drop_plain_print_files`) removes it. Raises `NotFound` when there is
    nothing to read, `BatchError` when the package does not give back the recorded PDF."""
    storage = services.storage()
    if order.pdf_key:
        with contextlib.suppress(NotFound):  # the sweep removed it meanwhile: the package has it
            return storage.get(order.pdf_key)
    if not order.package_key or order.package_password_cipher is None:
        raise NotFound("no package")
    password = services.pesel_cipher().decrypt(order.package_password_cipher)
    # A package of a thousand photos is tens of MB: spooled to disk past 16 MB, not held in memory.
    with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
        storage.get_file(order.package_key, spool)
        spool.seek(0)
        try:
            pdf = package.extract(spool, password, "cards.pdf")
        except package.PackageError as err:
            raise BatchError(str(err)) from None
    if order.pdf_sha256 and sha256_hex(pdf) != order.pdf_sha256:
        raise BatchError("Plik do druku w paczce nie zgadza się z sumą kontrolną zamówienia.")
    return pdf
