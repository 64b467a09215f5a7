"""Card PDFs from plain data, written directly (no HTML engine).

`render_print_file(cards, calibration)` takes a list of `CardData` (primitives only, no ORM
objects) and returns one PDF with two pages of exact ID-1 size per card: front, then back, in
the order given. `render_cards(cards)` is the same with the default calibration (full design on
plain stock); `render_proof(cards)` lays the same card pages out on A4, marked "WZÓR".

Why not WeasyPrint: a card is a fixed-position form, and the print file must put every field at
the same place whether the design is printed with it or already sits on a pre-printed blank.
WeasyPrint costs ≥35 ms per card even for bare absolutely-positioned text (styles of every box
and page), i.e. ≥17 s per 1,000 cards on two cores; writing the PDF directly costs ~1 ms.

How the file is made (this module places the pages; each step has a module of its own):
- The layout is the tables `FRONT_TEXT`, `FRONT_FIELDS`, `BACK_TEXT`, `BACK_FIELDS` and `PHOTO`, in
  millimetres from the card's top-left corner (text at its baseline), with `CardData` and
  `Calibration` (printing.card_layout). Fields that do not fit their box shrink (down to a minimum
  size), then narrow; they never move or overlap (printing.card_document).
- The design (background, globe, flask, titles, labels, hologram slots) is drawn once per
  template and side as a form XObject that every page reuses (printing.card_design); each photo
  is embedded once (JPEG bytes passed through unchanged, printing.pdf_objects).
- DejaVu Sans (regular and bold) is embedded as a subset with a ToUnicode map, so the text can
  be extracted and searched (printing.card_fonts).
- Nothing in a pupil's data is parsed as markup or can make the renderer read a file or the
  network: values are only ever turned into glyph ids (docs/security.md T2.14).
"""

from __future__ import annotations

import math

from infra import inputs
from printing.card_design import box
from printing.card_document import Document
from printing.card_fonts import font_of
from printing.card_layout import BACK_FIELDS
from printing.card_layout import BACK_FOOTER
from printing.card_layout import CARD_HEIGHT_MM
from printing.card_layout import CARD_WIDTH_MM
from printing.card_layout import FRONT_FIELDS
from printing.card_layout import PESEL_LABEL
from printing.card_layout import PHOTO
from printing.card_layout import PROOF_HEADER
from printing.card_layout import PT
from printing.card_layout import TITLES
from printing.card_layout import Calibration
from printing.card_layout import CardData
from printing.card_layout import Text
from printing.pdf_objects import num

_date = inputs.format_day


def _has_pesel(card: CardData) -> bool:
    return len(card.pesel) == 11 and card.pesel.isdigit()


def _front(doc: Document, card: CardData, blanks: bool) -> tuple[str, dict[str, int]]:
    """(content, XObjects) of a card's front, in card space (points, origin bottom-left)."""
    ops, xobjects = [], {}
    if not blanks:
        xobjects["D"] = doc.design(card.template_code, "front")
        ops.append("/D Do")
    # the photo fills its window (CSS object-fit: cover), grown by the bleed into a blank's window
    number, width, height = doc.photo(card.photo_jpeg)
    xobjects["P"] = number
    grow = doc.bleed if blanks else 0.0
    x, y, w, h = PHOTO[0] - grow, PHOTO[1] - grow, PHOTO[2] + 2 * grow, PHOTO[3] + 2 * grow
    scale = max(w / width, h / height)
    dw, dh = width * scale, height * scale
    left, bottom = x + (w - dw) / 2, CARD_HEIGHT_MM - y - h + (h - dh) / 2
    ops.append(f"q {box(x, y, w, h)} W n {num(dw * PT)} 0 0 {num(dh * PT)} {num(left * PT)} {num(bottom * PT)} cm "
               "/P Do Q")
    if not blanks:
        ops.append(f"q {doc.alpha(0.25)} 0 0 0 RG {num(0.15 * PT)} w "
                   f"{box(x + 0.075, y + 0.075, w - 0.15, h - 0.15)} S Q")
        ops.append(doc.text("PESEL" if _has_pesel(card) else "Dokument tożsamości", PESEL_LABEL))
    f = FRONT_FIELDS
    ops += [doc.text(card.first_names, f["first_names"]), doc.text(card.surname, f["surname"]),
            doc.text(_date(card.date_of_birth), f["date_of_birth"]), doc.text(card.pesel, f["pesel"]),
            doc.block([card.school_name, card.school_address], f["school"]),
            doc.text(card.director_name, f["director_name"]), doc.text(_date(card.issue_date), f["issue_date"]),
            doc.text(card.card_number, f["number"])]
    return "\n".join(op for op in ops if op), xobjects


def _back(doc: Document, card: CardData, blanks: bool) -> tuple[str, dict[str, int]]:
    ops, xobjects = [], {}
    if not blanks:
        xobjects["D"] = doc.design(card.template_code, "back")
        ops.append("/D Do")
        kind = TITLES.get(card.template_code, "LEGITYMACJA SZKOLNA").capitalize()
        ops.append(doc.text(f"{kind} nr {card.card_number}", BACK_FOOTER))
    ops.append(doc.text(_date(card.valid_until), BACK_FIELDS["valid_until"]))
    return "\n".join(op for op in ops if op), xobjects


def render_print_file(cards: list[CardData], calibration: Calibration = Calibration()) -> bytes:  # noqa: B008
    """The printer's file: per card a front and a back page of exact ID-1 size, in the order given.

    With `calibration.preprinted_blanks` only the variable data and the photo are printed, at the
    same places as in the full design; offsets move everything printed on both sides."""
    if not cards:
        raise ValueError("no cards to render")
    if not isinstance(calibration, Calibration):
        raise ValueError("calibration must be a Calibration")
    doc = Document(calibration.bleed_mm)
    blanks = calibration.preprinted_blanks
    shift = (f"q 1 0 0 1 {num(calibration.offset_x_mm * PT)} {num(-calibration.offset_y_mm * PT)} cm\n"
             if calibration.offset_x_mm or calibration.offset_y_mm else "q\n")
    width, height = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    pages = []
    for card in cards:
        for side in (_front, _back):
            content, xobjects = side(doc, card, blanks)
            pages.append((width, height, shift + content + "\nQ", doc.resources(xobjects)))
    return doc.finish(pages)


def render_cards(cards: list[CardData]) -> bytes:
    """One PDF, front and back page per card, in the order given: the full design on plain stock."""
    return render_print_file(cards, Calibration())


A4 = (210.0, 297.0)
PROOF_ROWS = 4
PROOF_LEFT = (A4[0] - 2 * CARD_WIDTH_MM - 8) / 2
PROOF_TOP, PROOF_PITCH = 22.0, CARD_HEIGHT_MM + 8
PROOF_MARK = Text(0, 0, 26, bold=True, color=(190, 0, 30))


def render_proof(cards: list[CardData]) -> bytes:
    """The school's proof: A4 sheets of the cards, front beside back, the same pages as the print
    file on plain stock, each card marked "WZÓR" so that it cannot pass for a real one."""
    if not cards:
        raise ValueError("no cards to render")
    doc = Document()
    card_w, card_h = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    header = Text(A4[0] / 2, 14, 8, color=(0x55, 0x55, 0x55), align="center")
    mark = _proof_mark(doc)
    pages = []
    for first in range(0, len(cards), PROOF_ROWS):
        ops, xobjects = [_centred(doc, PROOF_HEADER, header, A4[1])], {}
        for row, card in enumerate(cards[first:first + PROOF_ROWS]):
            for column, side in enumerate((_front, _back)):
                content, inner = side(doc, card, False)
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
    """"WZÓR" across the card, turned 18° and half transparent (operators in card space)."""
    font, text = font_of(True), "WZÓR"
    width = font.width(text, PROOF_MARK.size)
    cap = font.descriptor["cap_height"] / 1000 * PROOF_MARK.size
    angle = math.radians(18)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = CARD_WIDTH_MM * PT / 2, CARD_HEIGHT_MM * PT / 2
    x = cx - (cos * width / 2 - sin * cap / 2)
    y = cy - (sin * width / 2 + cos * cap / 2)
    return f"q {doc.alpha(0.35)} {doc.run(text, PROOF_MARK, PROOF_MARK.size, (cos, sin, -sin, cos, x, y))} Q"
