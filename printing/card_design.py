"""The design, i.e. what the blank already carries: the background (pink, or orange and blue for
the pre-school card), the globe and the flask, the titles and labels, the hologram slots. Drawn only
on specimens (the proof), once per template, version and side into a form XObject that every page
reuses (printing.card_document.Document.design); never in a print file (docs/domain.md §3). Colours
and wording come from the card's `Design`, the entry of its template and version in
printing.card_layout `DESIGNS` (docs/domain.md §2, §25)."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from printing.card_layout import BACK_TEMPLATE
from printing.card_layout import BACK_TEXT
from printing.card_layout import CARD_HEIGHT_MM
from printing.card_layout import CARD_WIDTH_MM
from printing.card_layout import COUNTRY_TEXT
from printing.card_layout import FRONT_TEXT
from printing.card_layout import HOLOGRAM_SLOTS
from printing.card_layout import PINK
from printing.card_layout import PT
from printing.card_layout import TEMPLATE_TEXT
from printing.card_layout import TITLE_TEXT
from printing.card_layout import Design
from printing.card_layout import Palette
from printing.card_layout import Text
from printing.pdf_objects import num
from printing.pdf_objects import rgb

if TYPE_CHECKING:  # the document calls the design, the design writes into the document
    from printing.card_document import Document

GRADIENT = PINK.gradient  # the document's one shading (/Bg); other palettes are painted in bands
BANDS = 120  # bands of a banded gradient: 0.9 mm each across the card, no visible steps


def _coloured(style: Text, colour: tuple[int, int, int]) -> Text:
    return style if style.color == colour else dataclasses.replace(style, color=colour)


def _colour_at(gradient: tuple[tuple[float, tuple[int, int, int]], ...], t: float) -> tuple[int, int, int]:
    for (s0, c0), (s1, c1) in zip(gradient, gradient[1:], strict=False):
        if t <= s1:
            k = (t - s0) / (s1 - s0) if s1 > s0 else 1.0
            return tuple(round(a + (b - a) * k) for a, b in zip(c0, c1, strict=True))
    return gradient[-1][1]


def background(palette: Palette) -> str:
    """Operators painting the background over the clipped area: the shared /Bg shading for the pink
    palette, else the same 135° gradient as narrow bands (the document has one shading resource)."""
    if palette.gradient == GRADIENT:
        return "/Bg sh"
    w, h = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    half, far = (w + h) * math.sqrt(0.5) / 2, w + h
    step = 2 * half / BANDS
    # x runs along the gradient line, from the top-left corner (−half) to the bottom-right (+half)
    ops = [f"q {num(math.sqrt(0.5))} {num(-math.sqrt(0.5))} {num(math.sqrt(0.5))} {num(math.sqrt(0.5))} "
           f"{num(w / 2)} {num(h / 2)} cm"]
    for i in range(BANDS):
        left = -far if i == 0 else -half + i * step
        right = far if i == BANDS - 1 else -half + (i + 1) * step + 0.3  # overlap: no hairline between bands
        colour = _colour_at(palette.gradient, (i + 0.5) / BANDS)
        ops.append(f"{rgb(colour)} {num(left)} {num(-far)} {num(right - left)} {num(2 * far)} re f")
    ops.append("Q")
    return "\n".join(ops)


def background_shading() -> str:
    """The pink background: a 135° linear gradient across the card (CSS semantics), extended past
    the card's edges so that a bleed keeps the edge colour."""
    w, h = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    half = (w + h) * math.sqrt(0.5) / 2  # CSS gradient line length / 2 at 135°
    cx, cy = w / 2, h / 2
    d = half * math.sqrt(0.5)
    coords = f"{num(cx - d)} {num(cy + d)} {num(cx + d)} {num(cy - d)}"  # top-left → bottom-right
    functions = []
    for (_, c0), (_, c1) in zip(GRADIENT, GRADIENT[1:], strict=False):
        functions.append(f"<</FunctionType 2 /Domain [0 1] /N 1 /C0 [{' '.join(num(c / 255) for c in c0)}] "
                         f"/C1 [{' '.join(num(c / 255) for c in c1)}]>>")
    bounds = " ".join(num(stop) for stop, _ in GRADIENT[1:-1])
    return (f"<</ShadingType 2 /ColorSpace /DeviceRGB /Coords [{coords}] /Extend [true true] "
            f"/Function <</FunctionType 3 /Domain [0 1] /Functions [{' '.join(functions)}] /Bounds [{bounds}] "
            f"/Encode [{' '.join('0 1' for _ in functions)}]>>>>")


def box(x: float, y: float, w: float, h: float) -> str:
    """A rectangle path from mm (top-left origin) to page points."""
    return f"{num(x * PT)} {num((CARD_HEIGHT_MM - y - h) * PT)} {num(w * PT)} {num(h * PT)} re"


def rounded(x: float, y: float, w: float, h: float, radii: tuple[float, float, float, float]) -> str:
    """A rounded rectangle path; radii top-left, top-right, bottom-right, bottom-left (mm)."""
    k = 0.5523
    left, right = x * PT, (x + w) * PT
    top, bottom = (CARD_HEIGHT_MM - y) * PT, (CARD_HEIGHT_MM - y - h) * PT
    tl, tr, br, bl = (r * PT for r in radii)
    return " ".join([
        f"{num(left + tl)} {num(top)} m", f"{num(right - tr)} {num(top)} l",
        f"{num(right - tr + k * tr)} {num(top)} {num(right)} {num(top - tr + k * tr)} {num(right)} {num(top - tr)} c",
        f"{num(right)} {num(bottom + br)} l",
        f"{num(right)} {num(bottom + br - k * br)} {num(right - br + k * br)} {num(bottom)} "
        f"{num(right - br)} {num(bottom)} c",
        f"{num(left + bl)} {num(bottom)} l",
        f"{num(left + bl - k * bl)} {num(bottom)} {num(left)} {num(bottom + bl - k * bl)} "
        f"{num(left)} {num(bottom + bl)} c",
        f"{num(left)} {num(top - tl)} l",
        f"{num(left)} {num(top - tl + k * tl)} {num(left + tl - k * tl)} {num(top)} {num(left + tl)} {num(top)} c h",
    ])


def front_design(doc: Document, template: str, design: Design) -> str:
    b, palette = doc.bleed, design.palette
    ops = [f"q {box(-b, -b, CARD_WIDTH_MM + 2 * b, CARD_HEIGHT_MM + 2 * b)} W n {background(palette)}"]
    # the globe (right, running off the edge): a circle with faint latitude lines
    gx, gy, r = CARD_WIDTH_MM + 9 - 17, 8 + 17, 17.0
    circle = rounded(gx - r, gy - r, 2 * r, 2 * r, (r, r, r, r))
    ops.append(f"q {circle} W n {doc.alpha(0.10)} {rgb(palette.design)}")
    stripe = gy + r - 2.6 - 0.2  # CSS: repeating from the bottom, 2.6 mm clear then 0.2 mm line
    while stripe > gy - r:
        ops.append(box(gx - r, stripe, 2 * r, 0.2) + " f")
        stripe -= 2.8
    ops.append("Q")
    inset = 0.125
    ops.append(f"q {doc.alpha(0.18)} {rgb(palette.design, stroke=True)} {num(0.25 * PT)} w "
               f"{rounded(gx - r + inset, gy - r + inset, 2 * (r - inset), 2 * (r - inset), (r,) * 4)} S Q")
    # the conical flask, outlined
    fx, fy = CARD_WIDTH_MM - 24 - 8, CARD_HEIGHT_MM - 2 - 10
    ops.append(f"q {doc.alpha(0.15)} {rgb(palette.design, stroke=True)} {num(0.25 * PT)} w "
               f"{rounded(fx + inset, fy + inset, 8 - 2 * inset, 10 - 2 * inset, (1, 1, 4, 4))} S Q")
    ops.append("Q")
    ops.append(doc.text("RZECZPOSPOLITA POLSKA", _coloured(COUNTRY_TEXT, palette.label)))
    ops.append(doc.text(design.title, _coloured(TITLE_TEXT, palette.title)))
    ops.append(doc.text(template, _coloured(TEMPLATE_TEXT, palette.label)))
    labels = design.labels
    ops += [doc.text(labels.get(field, text), _coloured(style, palette.label))
            for field, (text, style) in FRONT_TEXT.items()]
    return "\n".join(op for op in ops if op)


def back_design(doc: Document, template: str, design: Design) -> str:
    b, palette = doc.bleed, design.palette
    ops = [f"q {box(-b, -b, CARD_WIDTH_MM + 2 * b, CARD_HEIGHT_MM + 2 * b)} W n {background(palette)} Q"]
    text, style = BACK_TEXT["transport"]
    ops.append(doc.block([text], style))
    text, style = BACK_TEXT["valid_until"]
    ops.append(doc.text(text, _coloured(style, palette.label)))
    dash = f"[{num(0.6 * PT)} {num(0.45 * PT)}] 0 d"
    ops.append(f"q {doc.alpha(0.55)} {rgb(palette.label, stroke=True)} {num(0.2 * PT)} w {dash}")
    for x, y, w, h in HOLOGRAM_SLOTS:
        ops.append(rounded(x + 0.1, y + 0.1, w - 0.2, h - 0.2, (1, 1, 1, 1)) + " S")
    ops.append("Q")
    ops.append(doc.text(template, _coloured(BACK_TEMPLATE, palette.label)))
    return "\n".join(op for op in ops if op)
