"""One card PDF being written (`Document`): text fitted into its box (shrunk, then narrowed, or
wrapped and shrunk to its lines), photos embedded once, each template's design drawn once as a
form XObject (specimens only: a production document has no design and no background shading,
docs/domain.md §3), and the fonts subset and embedded at the end."""

from __future__ import annotations

import hashlib
import unicodedata

from printing.card_design import back_design
from printing.card_design import background_shading
from printing.card_design import front_design
from printing.card_fonts import Font
from printing.card_fonts import font_of
from printing.card_layout import CARD_HEIGHT_MM
from printing.card_layout import CARD_WIDTH_MM
from printing.card_layout import PT
from printing.card_layout import Text
from printing.card_layout import design_of
from printing.pdf_objects import Writer
from printing.pdf_objects import jpeg_image
from printing.pdf_objects import num
from printing.pdf_objects import rgb
from printing.pdf_objects import to_unicode


def _clean(value: str) -> str:
    """NFC (precomposed Polish letters) and HTML-like whitespace: one line, single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).split())


class Document:
    """One PDF being written: fonts, transparency states, the gradient, photos and designs.
    `design=False` (a production print file): `design()` refuses, and the file has no shading."""

    def __init__(self, bleed_mm: float = 0.0, *, design: bool = True, title: str):
        self.pdf = Writer()
        self.bleed = bleed_mm
        self.with_design = design
        self.title = title
        self.fonts = {bold: self.pdf.reserve() for bold in (False, True)}
        self.texts: dict[bool, set[str]] = {False: set(), True: set()}  # every line printed, per font
        self.gstates: dict[str, float] = {}
        self.gstate_ref = self.pdf.reserve()
        self.shading_ref = self.pdf.reserve() if design else None
        self.photos: dict[bytes, tuple[int, int, int]] = {}  # JPEG bytes → (object, width px, height px)
        self.designs: dict[tuple[str, str, str], int] = {}

    # text -------------------------------------------------------------------------------------------------------
    def run(self, text: str, style: Text, size: float, matrix: tuple[float, ...], scale: float = 100.0) -> str:
        """One line of text at the text matrix `matrix` (a b c d e f, points)."""
        self.texts[style.bold].add(text)
        state = f" {num(style.spacing * PT)} Tc" if style.spacing else ""
        state += f" {num(scale)} Tz" if scale != 100.0 else ""
        reset = (" 0 Tc" if style.spacing else "") + (" 100 Tz" if scale != 100.0 else "")
        return (f"BT /F{int(style.bold)} {num(size)} Tf{state} {rgb(style.color)} "
                f"{' '.join(map(num, matrix))} Tm {font_of(style.bold).shape(text)[1]} TJ{reset} ET")

    def text(self, value: str, style: Text) -> str:
        """Operators printing `value` in its box (page space: points, origin bottom-left)."""
        value = _clean(value)
        if not value:
            return ""
        font, spacing = font_of(style.bold), style.spacing * PT
        size, scale = style.size, 100.0
        width = font.width(value, size, spacing)
        if style.width is not None and width > style.width * PT:
            room = style.width * PT
            size = max(style.min_size or style.size, style.size * room / width)
            width = font.width(value, size, spacing)
            if width > room:
                scale, width = 100.0 * room / width, room
        x = style.x * PT - (width if style.align == "right" else 0)
        return self.run(value, style, size, (1, 0, 0, 1, x, (CARD_HEIGHT_MM - style.y) * PT), scale)

    def block(self, paragraphs: list[str], style: Text) -> str:
        """Wrapped text: each paragraph starts a new line; shrinks until it fits `style.lines`."""
        paragraphs = [p for p in (_clean(p) for p in paragraphs) if p]
        if not paragraphs:
            return ""
        font, room = font_of(style.bold), style.width * PT
        size = style.size
        while True:
            lines = [line for p in paragraphs for line in wrap(p, font, size, room)]
            if len(lines) <= style.lines:
                break
            if size <= (style.min_size or style.size):
                lines = balance(" ".join(paragraphs), font, size, style.lines)
                break
            size = max(style.min_size or style.size, size - 0.2)
        out = []
        for i, line in enumerate(lines):
            natural = font.width(line, size)
            scale = min(100.0, 100.0 * room / natural) if natural else 100.0
            y = (CARD_HEIGHT_MM - style.y - i * style.pitch * size / style.size) * PT
            out.append(self.run(line, style, size, (1, 0, 0, 1, style.x * PT, y), scale))
        return "\n".join(out)

    # graphics ---------------------------------------------------------------------------------------------------
    def alpha(self, value: float) -> str:
        name = f"A{round(value * 100)}"
        self.gstates[name] = value
        return f"/{name} gs"

    def photo(self, jpeg: bytes) -> tuple[int, int, int]:
        """(object number, width px, height px) of the photo's image, embedded once per document."""
        if jpeg not in self.photos:  # keyed by the bytes themselves: equal photos share one image
            data, width, height, space = jpeg_image(jpeg)
            number = self.pdf.add_stream(f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
                                         f"/ColorSpace /{space} /BitsPerComponent 8 /Filter /DCTDecode",
                                         data, compress=False)
            self.photos[jpeg] = (number, width, height)
        return self.photos[jpeg]

    def design(self, template: str, version: str, side: str) -> int:
        """The form XObject with the static design of one side of a template in one version
        (docs/domain.md §25), made once per document."""
        if not self.with_design:
            raise RuntimeError("a production print file carries no design (docs/domain.md §3)")
        key = (template, version, side)
        if key not in self.designs:
            b = self.bleed * PT
            content = (front_design if side == "front" else back_design)(self, template, design_of(template, version))
            bbox = f"{num(-b)} {num(-b)} {num(CARD_WIDTH_MM * PT + b)} {num(CARD_HEIGHT_MM * PT + b)}"
            self.designs[key] = self.pdf.add_stream(
                f"/Type /XObject /Subtype /Form /BBox [{bbox}] /Resources {self.resources()}", content.encode())
        return self.designs[key]

    def resources(self, xobjects: dict[str, int] | None = None) -> str:
        fonts = " ".join(f"/F{int(bold)} {ref} 0 R" for bold, ref in self.fonts.items())
        entries = f"/Font <<{fonts}>> /ExtGState {self.gstate_ref} 0 R"
        if self.shading_ref is not None:
            entries += f" /Shading <</Bg {self.shading_ref} 0 R>>"
        entries += " /ProcSet [/PDF /Text /ImageC /ImageB]"
        if xobjects:
            entries += " /XObject <<" + " ".join(f"/{name} {ref} 0 R" for name, ref in xobjects.items()) + ">>"
        return "<<" + entries + ">>"

    # finishing --------------------------------------------------------------------------------------------------
    def finish(self, pages: list[tuple[float, float, str, str]]) -> bytes:
        """Write the pages — (width pt, height pt, content, resources) — and everything they use."""
        pdf = self.pdf
        pages_ref = pdf.reserve()
        kids = []
        for width, height, content, resources in pages:
            contents = pdf.add_stream("", content.encode())
            kids.append(pdf.add(f"<</Type /Page /Parent {pages_ref} 0 R /MediaBox [0 0 {num(width)} {num(height)}] "
                                f"/Resources {resources} /Contents {contents} 0 R>>"))
        pdf.put(pages_ref, f"<</Type /Pages /Count {len(kids)} /Kids [{' '.join(f'{k} 0 R' for k in kids)}]>>"
                .encode())
        for bold, ref in self.fonts.items():
            self._embed_font(bold, ref)
        states = " ".join(f"/{name} <</Type /ExtGState /ca {num(v)} /CA {num(v)}>>" for name, v in self.gstates.items())
        pdf.put(self.gstate_ref, f"<<{states}>>".encode())
        if self.shading_ref is not None:
            pdf.put(self.shading_ref, background_shading().encode())
        catalog = pdf.add(f"<</Type /Catalog /Pages {pages_ref} 0 R>>")
        info = pdf.add(f"<</Producer (Legitka) /Title ({self.title})>>")  # an ASCII constant, no escaping
        return pdf.output(catalog, info)

    def _embed_font(self, bold: bool, ref: int) -> None:
        font, pdf = font_of(bold), self.pdf
        used: dict[int, str] = {}  # glyph id → the character it shows
        for text in self.texts[bold]:
            for gid, char in zip(font.glyphs(text), text, strict=True):
                used.setdefault(gid, char if gid else "\ufffd")
        extra = frozenset(g for g in used if g not in font.base_gids)
        data = font.subset(extra)
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(data).digest()[:6])
        name = f"{tag}+{font.name}"
        file_ref = pdf.add_stream(f"/Length1 {len(data)}", data)
        d = font.descriptor
        descriptor = pdf.add(
            f"<</Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{' '.join(map(str, d['bbox']))}] "
            f"/ItalicAngle 0 /Ascent {d['ascent']} /Descent {d['descent']} /CapHeight {d['cap_height']} "
            f"/StemV {140 if bold else 80} /FontFile2 {file_ref} 0 R>>")
        scale = 1000 / font.upm
        widths = " ".join(f"{g} [{num(font.advance[g] * scale)}]" for g in sorted(used))
        cid_font = pdf.add(
            f"<</Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
            f"/CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> "
            f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity>>")
        unicode_map = pdf.add_stream("", to_unicode(used).encode())
        pdf.put(ref, f"<</Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                     f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {unicode_map} 0 R>>".encode())


def wrap(text: str, font: Font, size: float, room: float) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if not line or font.width(candidate, size) <= room:
            line = candidate
        else:
            lines.append(line)
            line = word
    return lines + [line]


def balance(text: str, font: Font, size: float, count: int) -> list[str]:
    """Split `text` at spaces into at most `count` lines of about equal width."""
    words = text.split(" ")
    target = font.width(text, size) / count
    lines, line = [], ""
    for i, word in enumerate(words):
        candidate = f"{line} {word}" if line else word
        remaining = len(words) - i
        if line and len(lines) < count - 1 and (font.width(candidate, size) > target
                                                or remaining <= count - 1 - len(lines)):
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line]
