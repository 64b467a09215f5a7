"""Card PDFs from plain data, written directly (no HTML engine).

`render_print_file(cards, calibration)` takes a list of `CardData` (primitives only, no ORM
objects) and returns the printer's production file: two pages of exact ID-1 size per card, front
then back, in the order given, carrying the personalisation only — the variable data and the photo,
nothing of the blank's design (docs/domain.md §3). The full design is drawn only on specimens, each
card marked "WZÓR" across it: `render_proof(cards)` lays them out on A4 for the school;
`render_specimen(cards)` gives them one card per page (tests, samples). A specimen cannot be packed
for a printer (printing.package refuses any file that is not a production print file).

Why not WeasyPrint: a card is a fixed-position form, and the print file must put every field at
the same place as the design on the blank (and on the proof) has it.
WeasyPrint costs ≥35 ms per card even for bare absolutely-positioned text (styles of every box
and page), i.e. ≥17 s per 1,000 cards on two cores; writing the PDF directly costs ~1 ms.

How the file is made (this module places the pages; each step has a module of its own):
- The layout is the tables `FRONT_TEXT`, `FRONT_FIELDS`, `BACK_TEXT`, `BACK_FIELDS` and `PHOTO`, in
  millimetres from the card's top-left corner (text at its baseline), with `CardData` and
  `Calibration` (printing.card_layout); what differs between template versions — title, colours,
  labels, the front's field positions — is the `Design` of the card's own version (`DESIGNS`,
  docs/domain.md §25), never the one in force on the day of rendering. Fields that do not fit their
  box shrink (down to a minimum size), then narrow; they never move or overlap
  (printing.card_document).
- On specimens, the design (background, globe, flask, titles, labels, hologram slots) is drawn
  once per template and side as a form XObject that every page reuses (printing.card_design); a
  production document cannot draw it (printing.card_document). Each photo is embedded once (JPEG
  bytes passed through unchanged, printing.pdf_objects).
- DejaVu Sans (regular and bold) is embedded as a subset with a ToUnicode map, so the text can
  be extracted and searched (printing.card_fonts).
- Nothing in a pupil's data is parsed as markup or can make the renderer read a file or the
  network: values are only ever turned into glyph ids (docs/security.md T2.14).
"""

from __future__ import annotations

import dataclasses
import math

from infra import inputs
from printing.card_design import box
from printing.card_document import Document
from printing.card_fonts import font_of
from printing.card_layout import BACK_FIELDS
from printing.card_layout import BACK_FOOTER
from printing.card_layout import CARD_HEIGHT_MM
from printing.card_layout import CARD_WIDTH_MM
from printing.card_layout import PESEL_LABEL
from printing.card_layout import PHOTO
from printing.card_layout import PRINT_FILE_TITLE
from printing.card_layout import PROOF_HEADER
from printing.card_layout import PT
from printing.card_layout import SPECIMEN_TITLE
from printing.card_layout import Calibration
from printing.card_layout import CardData
from printing.card_layout import Text
from printing.card_layout import design_of
from printing.pdf_objects import num

_date = inputs.format_day


def _has_pesel(card: CardData) -> bool:
    return len(card.pesel) == 11 and card.pesel.isdigit()


def _front(doc: Document, card: CardData, design: bool) -> tuple[str, dict[str, int]]:
    """(content, XObjects) of a card's front, in card space (points, origin bottom-left): with
    `design` the whole card (a specimen), without it the personalisation only (the print file)."""
    ops, xobjects = [], {}
    look = design_of(card.template_code, card.version)  # the card's own version's (docs/domain.md §25)
    if design:
        xobjects["D"] = doc.design(card.template_code, card.version, "front")
        ops.append("/D Do")
    # the photo fills its window (CSS object-fit: cover), grown by the bleed into the blank's window
    number, width, height = doc.photo(card.photo_jpeg)
    xobjects["P"] = number
    grow = 0.0 if design else doc.bleed
    x, y, w, h = PHOTO[0] - grow, PHOTO[1] - grow, PHOTO[2] + 2 * grow, PHOTO[3] + 2 * grow
    scale = max(w / width, h / height)
    dw, dh = width * scale, height * scale
    left, bottom = x + (w - dw) / 2, CARD_HEIGHT_MM - y - h + (h - dh) / 2
    ops.append(f"q {box(x, y, w, h)} W n {num(dw * PT)} 0 0 {num(dh * PT)} {num(left * PT)} {num(bottom * PT)} cm "
               "/P Do Q")
    if design:
        ops.append(f"q {doc.alpha(0.25)} 0 0 0 RG {num(0.15 * PT)} w "
                   f"{box(x + 0.075, y + 0.075, w - 0.15, h - 0.15)} S Q")
        label = look.palette.label  # the template's label colour (docs/domain.md §2)
        ops.append(doc.text("PESEL" if _has_pesel(card) else "Dokument tożsamości",
                            dataclasses.replace(PESEL_LABEL, color=label)))
    f = look.front_fields
    ops += [doc.text(card.first_names, f["first_names"]), doc.text(card.surname, f["surname"]),
            doc.text(_date(card.date_of_birth), f["date_of_birth"]), doc.text(card.pesel, f["pesel"]),
            doc.block([card.school_name, card.school_address], f["school"]),
            doc.text(card.director_name, f["director_name"]), doc.text(_date(card.issue_date), f["issue_date"]),
            doc.text(card.card_number, f["number"])]
    return "\n".join(op for op in ops if op), xobjects


def _back(doc: Document, card: CardData, design: bool) -> tuple[str, dict[str, int]]:
    ops, xobjects = [], {}
    if design:
        look = design_of(card.template_code, card.version)  # the card's own version's (docs/domain.md §25)
        xobjects["D"] = doc.design(card.template_code, card.version, "back")
        ops.append("/D Do")
        ops.append(doc.text(f"{look.title.capitalize()} nr {card.card_number}",
                            dataclasses.replace(BACK_FOOTER, color=look.palette.label)))
    ops.append(doc.text(_date(card.valid_until), BACK_FIELDS["valid_until"]))
    return "\n".join(op for op in ops if op), xobjects


def render_print_file(cards: list[CardData], calibration: Calibration = Calibration()) -> bytes:  # noqa: B008
    """The printer's production file: per card a front and a back page of exact ID-1 size, in the
    order given, carrying the personalisation only — the variable data and the photo, at the places
    the design on the blank has them, and nothing of the design itself, whatever the printer
    (docs/domain.md §3). The calibration's offsets move everything printed on both sides; its bleed
    grows the photo into the blank's window."""
    if not cards:
        raise ValueError("no cards to render")
    if not isinstance(calibration, Calibration):
        raise ValueError("calibration must be a Calibration")
    doc = Document(calibration.bleed_mm, design=False, title=PRINT_FILE_TITLE)
    shift = (f"q 1 0 0 1 {num(calibration.offset_x_mm * PT)} {num(-calibration.offset_y_mm * PT)} cm\n"
             if calibration.offset_x_mm or calibration.offset_y_mm else "q\n")
    width, height = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    pages = []
    for card in cards:
        for side in (_front, _back):
            content, xobjects = side(doc, card, False)
            pages.append((width, height, shift + content + "\nQ", doc.resources(xobjects)))
    return doc.finish(pages)


def render_specimen(cards: list[CardData]) -> bytes:
    """Specimens, not cards: per card a front and a back page of ID-1 size with the full design,
    each marked "WZÓR" across it (the proof's card pages one per page: tests and samples). Never a
    print file: printing.package refuses it."""
    if not cards:
        raise ValueError("no cards to render")
    doc = Document(title=SPECIMEN_TITLE)
    mark = _proof_mark(doc)
    width, height = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    pages = []
    for card in cards:
        for side in (_front, _back):
            content, xobjects = side(doc, card, True)
            pages.append((width, height, content + "\n" + mark, doc.resources(xobjects)))
    return doc.finish(pages)


A4 = (210.0, 297.0)
PROOF_ROWS = 4
PROOF_LEFT = (A4[0] - 2 * CARD_WIDTH_MM - 8) / 2
PROOF_TOP, PROOF_PITCH = 22.0, CARD_HEIGHT_MM + 8
# big enough to run across most of the card: a proof must never be mistakable for a card (docs/domain.md §3)
PROOF_MARK = Text(0, 0, 46, bold=True, color=(190, 0, 30))


def render_proof(cards: list[CardData]) -> bytes:
    """The school's proof: A4 sheets of the cards, front beside back, with the full design (the
    print file's personalisation on the blank's design), each card marked "WZÓR" across it so that
    it cannot pass for a real one, under a header saying it is not a document."""
    if not cards:
        raise ValueError("no cards to render")
    doc = Document(title=SPECIMEN_TITLE)
    card_w, card_h = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    header = Text(A4[0] / 2, 14, 8, color=(0x55, 0x55, 0x55), align="center")
    mark = _proof_mark(doc)
    pages = []
    for first in range(0, len(cards), PROOF_ROWS):
        ops, xobjects = [_centred(doc, PROOF_HEADER, header, A4[1])], {}
        for row, card in enumerate(cards[first:first + PROOF_ROWS]):
            for column, side in enumerate((_front, _back)):
                content, inner = side(doc, card, True)
                name = f"C{row}{column}"
                xobjects[name] = doc.pdf.add_stream(
                    f"/Type /XObject /Subtype /Form /BBox [0 0 {num(card_w)} {num(card_h)}] "
                    f"/Resources {doc.resources(inner)}", content.encode())
                x = (PROOF_LEFT + column * (CARD_WIDTH_MM + 8)) * PT
                y = (A4[1] - PROOF_TOP - row * PROOF_PITCH - CARD_HEIGHT_MM) * PT
                ops.append(f"q 1 0 0 1 {num(x)} {num(y)} cm /{name} Do "
                           f"0.6 0.6 0.6 RG {num(0.2 * PT)} w "
                           f"-0.28 -0.28 {num(card_w + 0.57)} {num(card_h + 0.57)} re S "
                           f"{mark} Q")
        pages.append((A4[0] * PT, A4[1] * PT, "\n".join(ops), doc.resources(xobjects)))
    return doc.finish(pages)


def _centred(doc: Document, text: str, style: Text, page_height_mm: float) -> str:
    """Centred text on a page of any height (the card helpers assume the card's height)."""
    font = font_of(style.bold)
    width = font.width(text, style.size)
    return doc.run(text, style, style.size, (1, 0, 0, 1, style.x * PT - width / 2, (page_height_mm - style.y) * PT))


def _proof_mark(doc: Document) -> str:
    """"WZÓR" across the card, turned 18° and transparent enough to read the fields through it
    (operators in card space)."""
    font, text = font_of(True), "WZÓR"
    width = font.width(text, PROOF_MARK.size)
    cap = font.descriptor["cap_height"] / 1000 * PROOF_MARK.size
    angle = math.radians(18)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = CARD_WIDTH_MM * PT / 2, CARD_HEIGHT_MM * PT / 2
    x = cx - (cos * width / 2 - sin * cap / 2)
    y = cy - (sin * width / 2 + cos * cap / 2)
    return f"q {doc.alpha(0.3)} {doc.run(text, PROOF_MARK, PROOF_MARK.size, (cos, sin, -sin, cos, x, y))} Q"
