"""Card PDFs from plain data, written directly (no HTML engine).

`render_print_file(cards, calibration)` takes a list of `CardData` (primitives only, no ORM
objects) and returns one PDF with two pages of exact ID-1 size per card: front, then back, in
the order given. `render_cards(cards)` is the same with the default calibration (full design on
plain stock); `render_proof(cards)` lays the same card pages out on A4, marked "WZÓR".

Why not WeasyPrint: a card is a fixed-position form, and the print file must put every field at
the same place whether the design is printed with it or already sits on a pre-printed blank.
WeasyPrint costs ≥35 ms per card even for bare absolutely-positioned text (styles of every box
and page), i.e. ≥17 s per 1,000 cards on two cores; writing the PDF directly costs ~1 ms.

How the file is made:
- The layout is the tables `FRONT_TEXT`, `FRONT_FIELDS`, `BACK_TEXT`, `BACK_FIELDS` and `PHOTO`, in
  millimetres from the card's top-left corner (text at its baseline). Fields that do not fit
  their box shrink (down to a minimum size), then narrow; they never move or overlap.
- The design (background, globe, flask, titles, labels, hologram slots) is drawn once per
  template and side as a form XObject that every page reuses; each photo is embedded once
  (JPEG bytes passed through unchanged).
- DejaVu Sans (regular and bold) is embedded as a subset with a ToUnicode map, so the text can
  be extracted and searched.
- Nothing in a pupil's data is parsed as markup or can make the renderer read a file or the
  network: values are only ever turned into glyph ids (docs/security.md T2.14).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
import hashlib
import io
import math
import pathlib
import shutil
import subprocess
import unicodedata
import zlib

from infra import inputs

CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
PT = 72 / 25.4  # points per millimetre

TITLES = {
    "MEiN-I/1": "LEGITYMACJA SZKOLNA",
    "MEiN-I/2": "LEGITYMACJA SZKOLNA",
    "MEiN-I/3-N": "LEGITYMACJA SZKOLNA",
    "MEiN-I/4-N": "LEGITYMACJA SZKOLNA",
    "MEiN-I/5": "LEGITYMACJA PRZEDSZKOLNA",
}
TRANSPORT_TEXT = ("Poświadcza uprawnienia do ulgowych przejazdów środkami publicznego transportu "
                  "zbiorowego kolejowego i autobusowego.")
PROOF_HEADER = "Podgląd legitymacji do sprawdzenia — WZÓR, nie jest dokumentem"

MAX_OFFSET_MM = 5.0
MAX_BLEED_MM = 3.0


@dataclasses.dataclass(frozen=True)
class CardData:
    """Exactly the fields printed on the card (docs/security.md T3.1)."""

    card_number: str
    template_code: str
    first_names: str
    surname: str
    date_of_birth: dt.date
    pesel: str
    school_name: str
    school_address: str
    director_name: str
    issue_date: dt.date
    valid_until: dt.date
    photo_jpeg: bytes


@dataclasses.dataclass(frozen=True)
class Calibration:
    """One card printer's correction, measured on a test print.

    Offsets move everything printed on both sides; bleed grows the background (full design) or
    the photo (pre-printed blanks) beyond its box, so that a slight misregistration leaves no
    white hairline at the card's edge or inside the blank's photo window.
    """

    offset_x_mm: float = 0.0   # moves everything printed right (+) / left (−)
    offset_y_mm: float = 0.0   # moves everything printed down (+) / up (−)
    bleed_mm: float = 0.0      # extends edge-touching/background elements (and photo window) beyond their box
    preprinted_blanks: bool = False  # True: print variable data only (the blank already carries the design)

    def __post_init__(self):
        for name, value, low, high in (("offset_x_mm", self.offset_x_mm, -MAX_OFFSET_MM, MAX_OFFSET_MM),
                                       ("offset_y_mm", self.offset_y_mm, -MAX_OFFSET_MM, MAX_OFFSET_MM),
                                       ("bleed_mm", self.bleed_mm, 0.0, MAX_BLEED_MM)):
            if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal) \
                    or not math.isfinite(value):
                raise ValueError(f"Kalibracja: {name} musi być liczbą milimetrów.")
            if not low <= value <= high:
                raise ValueError(f"Kalibracja: {name} musi mieścić się w zakresie {low:g}…{high:g} mm.")
            object.__setattr__(self, name, float(value))  # e.g. a Decimal from a NUMERIC column
        if not isinstance(self.preprinted_blanks, bool):
            raise ValueError("Kalibracja: preprinted_blanks musi być prawdą albo fałszem.")


# --- Layout --------------------------------------------------------------------------------------------------------

INK = (0x1d, 0x1d, 0x1f)
LABEL = (0x7a, 0x2d, 0x4d)
TITLE = (0x6a, 0x1f, 0x40)
DESIGN = (160, 60, 100)  # the line art's colour (globe, flask), used with transparency


@dataclasses.dataclass(frozen=True)
class Text:
    """Where and how a piece of text is printed. x, y in mm from the card's top-left corner, y at
    the (first) baseline; size in points. Text wider than `width` shrinks down to `min_size`,
    then is narrowed horizontally. `lines` > 1 wraps at spaces, `pitch` mm apart."""

    x: float
    y: float
    size: float
    bold: bool = False
    color: tuple[int, int, int] = INK
    width: float | None = None
    min_size: float | None = None
    lines: int = 1
    pitch: float = 0.0
    align: str = "left"
    spacing: float = 0.0  # letter spacing, mm


RIGHT_COLUMN = 56.3
COUNTRY_TEXT = Text(4, 4.11, 4.6, color=LABEL, spacing=0.25)
TITLE_TEXT = Text(4, 7.64, 8.4, bold=True, color=TITLE, spacing=0.15, width=64)
TEMPLATE_TEXT = Text(CARD_WIDTH_MM - 3.5, 4.51, 4.6, color=LABEL, align="right")
FRONT_TEXT = {  # static text of the front: part of the design, already on a pre-printed blank
    "first_names": ("Imię (imiona)", Text(27, 13.67, 3.9, color=LABEL)),
    "surname": ("Nazwisko", Text(27, 18.91, 3.9, color=LABEL)),
    "date_of_birth": ("Data urodzenia", Text(27, 24.16, 3.9, color=LABEL)),
    "school": ("Nazwa i adres szkoły", Text(27, 29.07, 3.9, color=LABEL)),
    "director_name": ("Dyrektor szkoły", Text(27, 38.45, 3.9, color=LABEL)),
    "issue_date": ("Data wydania", Text(RIGHT_COLUMN, 38.45, 3.9, color=LABEL)),
    "number": ("Nr", Text(4, 50.11, 5, color=LABEL)),
}
# The identity label says which document the number is from: a PESEL, or another one for a pupil
# without a PESEL (docs/domain.md §3). On a blank it is pre-printed; on plain stock it is drawn per card.
PESEL_LABEL = Text(RIGHT_COLUMN, 24.16, 3.9, color=LABEL)
FRONT_FIELDS = {  # the variable data of the front
    "first_names": Text(27, 16.32, 7, bold=True, width=55.6, min_size=4.5),
    "surname": Text(27, 21.56, 7, bold=True, width=55.6, min_size=4.5),
    "date_of_birth": Text(27, 26.54, 6.2, bold=True, width=RIGHT_COLUMN - 27 - 1, min_size=4.5),
    "pesel": Text(RIGHT_COLUMN, 26.54, 6.2, bold=True, width=CARD_WIDTH_MM - 3 - RIGHT_COLUMN, min_size=4.2),
    # the school's name, then its address on a new line, wrapped at spaces into three lines at most
    "school": Text(27, 31.18, 5.4, width=55.6, min_size=4.0, lines=3, pitch=2.29),
    "director_name": Text(27, 40.85, 6.2, bold=True, width=RIGHT_COLUMN - 27 - 1, min_size=4.2),
    "issue_date": Text(RIGHT_COLUMN, 40.85, 6.2, bold=True, width=CARD_WIDTH_MM - 3 - RIGHT_COLUMN, min_size=4.5),
    "number": Text(7.1, 50.11, 8, bold=True, width=26 - 7.1, min_size=5),
}
# x, y, width, height (mm): the 20 × 25 mm photo window; the 35:45 photo is cropped to fill it
PHOTO = (4.0, 13.0, 20.0, 25.0)

BACK_TEXT = {
    "transport": (TRANSPORT_TEXT, Text(4, 5.52, 5.6, width=77.6, lines=2, pitch=2.667)),
    "valid_until": ("Data ważności:", Text(4, 15.6, 6.4, color=LABEL)),
}
BACK_FIELDS = {
    "valid_until": Text(22.0, 15.6, 6.4, bold=True, width=30, min_size=5),
}
# Printed only on plain stock: which card this back belongs to, for sorting after duplex printing.
BACK_FOOTER = Text(4, 51.21, 4.4, color=LABEL, width=60, min_size=3.5)
BACK_TEMPLATE = Text(CARD_WIDTH_MM - 4, 51.21, 4.4, color=LABEL, align="right")
HOLOGRAM_SLOTS = [(4 + col * 19.6, 19 + row * 14.1, 18, 12.5) for row in range(2) for col in range(4)]


# --- Fonts ---------------------------------------------------------------------------------------------------------

FONT_FILES = {False: ("DejaVuSans.ttf", "DejaVu Sans:style=Book"),
              True: ("DejaVuSans-Bold.ttf", "DejaVu Sans:style=Bold")}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts", "/opt/homebrew/share/fonts", "/Library/Fonts")
# Embedded for every document: all of Latin-1 and Latin Extended-A plus typographic punctuation,
# so that the subset is made once per process; rarer letters (Cyrillic, …) are added per document.
BASE_CHARS = ("".join(chr(c) for c in range(0x20, 0x7f)) + "".join(chr(c) for c in range(0xa0, 0x180))
              + "–—‘’‚“”„…•€™")


def _font_path(bold: bool) -> str:
    filename, pattern = FONT_FILES[bold]
    for folder in FONT_DIRS:
        candidate = pathlib.Path(folder) / filename
        if candidate.is_file():
            return str(candidate)
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True, text=True,  # noqa: S603
                               check=False, timeout=10).stdout.strip()
        if found.endswith(filename):
            return found
    raise RuntimeError(f"Brak czcionki {filename} (pakiet fonts-dejavu-core).")


class _Font:
    """Metrics of one TrueType font, and its embedded subsets."""

    def __init__(self, bold: bool):
        from fontTools.ttLib import TTFont

        self.bold = bold
        self.path = _font_path(bold)
        tt = TTFont(self.path, lazy=True)
        self.upm = tt["head"].unitsPerEm
        order = tt.getGlyphOrder()
        gid = {name: i for i, name in enumerate(order)}
        self.cmap = {cp: gid[name] for cp, name in tt.getBestCmap().items()}
        metrics = tt["hmtx"].metrics
        self.advance = [metrics[name][0] for name in order]
        self.kerning: dict[tuple[int, int], int] = {}
        if "kern" in tt:  # pair kerning, as HarfBuzz applies it to DejaVu
            for table in tt["kern"].kernTables:
                for (left, right), value in getattr(table, "kernTable", {}).items():
                    if left in gid and right in gid:
                        self.kerning[gid[left], gid[right]] = value
        head, os2, hhea = tt["head"], tt["OS/2"], tt["hhea"]
        scale = 1000 / self.upm
        self.descriptor = {
            "bbox": [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)],
            "ascent": round(hhea.ascent * scale), "descent": round(hhea.descent * scale),
            "cap_height": round(getattr(os2, "sCapHeight", 0) * scale) or round(hhea.ascent * scale),
        }
        self.name = tt["name"].getDebugName(6) or ("DejaVuSans-Bold" if bold else "DejaVuSans")
        tt.close()
        self.base_gids = frozenset(self.cmap[ord(c)] for c in BASE_CHARS if ord(c) in self.cmap)

    def glyphs(self, text: str) -> list[int]:
        return [self.cmap.get(ord(c), 0) for c in text]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one instance per font for the process' life)
    def shape(self, text: str) -> tuple[int, str]:
        """(advance width in font units, TJ operand with pair kerning) of one line of text. Cached:
        most values (school, director, dates) repeat on every card of a batch."""
        gids = self.glyphs(text)
        kerning, units = self.kerning, sum(self.advance[g] for g in gids)
        parts, start = [], 0
        for i in range(len(gids) - 1):
            kern = kerning.get((gids[i], gids[i + 1]))
            if kern:
                units += kern
                parts.append("<" + "".join(f"{g:04x}" for g in gids[start:i + 1]) + f"> {_n(-kern * 1000 / self.upm)}")
                start = i + 1
        parts.append("<" + "".join(f"{g:04x}" for g in gids[start:]) + ">")
        return units, "[" + " ".join(parts) + "]"

    def width(self, text: str, size: float, spacing_pt: float = 0.0) -> float:
        """Advance width in points."""
        return self.shape(text)[0] * size / self.upm + spacing_pt * len(text)

    @functools.lru_cache(maxsize=16)  # noqa: B019 (one instance per font for the process' life)
    def subset(self, extra: frozenset[int]) -> bytes:
        """The font file cut down to the base glyphs and `extra`, glyph ids unchanged."""
        from fontTools import subset
        from fontTools.ttLib import TTFont

        options = subset.Options()
        options.retain_gids = True
        options.notdef_outline = True
        options.hinting = False
        options.layout_features = []
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
        options.drop_tables = [*options.drop_tables, "GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM", "BASE", "JSTF"]
        out = io.BytesIO()
        with TTFont(self.path) as font:
            for tag in options.drop_tables:  # never read them (GPOS/GSUB alone take 0.3 s to parse)
                if tag in font:
                    del font[tag]
            subsetter = subset.Subsetter(options)
            subsetter.populate(gids=sorted(self.base_gids | extra | {0}))
            subsetter.subset(font)
            font.save(out)
        return out.getvalue()


@functools.cache
def _font(bold: bool) -> _Font:
    return _Font(bold)


def preload() -> None:
    """Load the fonts and make their base subsets now (~0.4 s), e.g. in a worker before it forks."""
    for bold in (False, True):
        _font(bold).subset(frozenset())


# --- PDF writing ---------------------------------------------------------------------------------------------------

def _n(value: float) -> str:
    """A number for a content stream: at most 3 decimals (1/1000 pt), no exponent."""
    if value == int(value):
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@functools.cache
def _rgb(color: tuple[int, int, int], stroke: bool = False) -> str:
    r, g, b = (_n(c / 255) for c in color)
    return f"{r} {g} {b} {'RG' if stroke else 'rg'}"


class _Writer:
    """A minimal PDF 1.7 writer: numbered objects, one cross-reference table. An object is kept as
    its pieces, so that a photo's JPEG bytes are copied once, into the finished file."""

    def __init__(self):
        self.objects: list[tuple[bytes, ...] | None] = [None]

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects) - 1

    def put(self, number: int, *pieces: bytes) -> int:
        self.objects[number] = pieces
        return number

    def add(self, data: bytes | str) -> int:
        return self.put(self.reserve(), data.encode() if isinstance(data, str) else data)

    def add_stream(self, entries: str, data: bytes, *, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            entries += " /Filter /FlateDecode"
        return self.put(self.reserve(), b"<<%s /Length %d>>\nstream\n" % (entries.encode(), len(data)), data,
                        b"\nendstream")

    def output(self, root: int, info: int) -> bytes:
        parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
        offsets = []
        position = len(parts[0])
        for number, pieces in enumerate(self.objects[1:], start=1):
            head, tail = b"%d 0 obj\n" % number, b"\nendobj\n"
            offsets.append(position)
            parts += (head, *pieces, tail)
            position += len(head) + sum(len(piece) for piece in pieces) + len(tail)
        parts.append(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.objects))
        parts += [b"%010d 00000 n \n" % offset for offset in offsets]
        parts.append(b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R>>\nstartxref\n%d\n%%%%EOF\n"
                     % (len(self.objects), root, info, position))
        return b"".join(parts)


def _clean(value: str) -> str:
    """NFC (precomposed Polish letters) and HTML-like whitespace: one line, single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).split())


class _Document:
    """One PDF being written: fonts, transparency states, the gradient, photos and designs."""

    def __init__(self, bleed_mm: float = 0.0):
        self.pdf = _Writer()
        self.bleed = bleed_mm
        self.fonts = {bold: self.pdf.reserve() for bold in (False, True)}
        self.texts: dict[bool, set[str]] = {False: set(), True: set()}  # every line printed, per font
        self.gstates: dict[str, float] = {}
        self.gstate_ref = self.pdf.reserve()
        self.shading_ref = self.pdf.reserve()
        self.photos: dict[bytes, tuple[int, int, int]] = {}  # JPEG bytes → (object, width px, height px)
        self.designs: dict[tuple[str, str], int] = {}

    # text -------------------------------------------------------------------------------------------------------
    def _run(self, text: str, style: Text, size: float, matrix: tuple[float, ...], scale: float = 100.0) -> str:
        """One line of text at the text matrix `matrix` (a b c d e f, points)."""
        self.texts[style.bold].add(text)
        state = f" {_n(style.spacing * PT)} Tc" if style.spacing else ""
        state += f" {_n(scale)} Tz" if scale != 100.0 else ""
        reset = (" 0 Tc" if style.spacing else "") + (" 100 Tz" if scale != 100.0 else "")
        return (f"BT /F{int(style.bold)} {_n(size)} Tf{state} {_rgb(style.color)} "
                f"{' '.join(map(_n, matrix))} Tm {_font(style.bold).shape(text)[1]} TJ{reset} ET")

    def text(self, value: str, style: Text) -> str:
        """Operators printing `value` in its box (page space: points, origin bottom-left)."""
        value = _clean(value)
        if not value:
            return ""
        font, spacing = _font(style.bold), style.spacing * PT
        size, scale = style.size, 100.0
        width = font.width(value, size, spacing)
        if style.width is not None and width > style.width * PT:
            room = style.width * PT
            size = max(style.min_size or style.size, style.size * room / width)
            width = font.width(value, size, spacing)
            if width > room:
                scale, width = 100.0 * room / width, room
        x = style.x * PT - (width if style.align == "right" else 0)
        return self._run(value, style, size, (1, 0, 0, 1, x, (CARD_HEIGHT_MM - style.y) * PT), scale)

    def block(self, paragraphs: list[str], style: Text) -> str:
        """Wrapped text: each paragraph starts a new line; shrinks until it fits `style.lines`."""
        paragraphs = [p for p in (_clean(p) for p in paragraphs) if p]
        if not paragraphs:
            return ""
        font, room = _font(style.bold), style.width * PT
        size = style.size
        while True:
            lines = [line for p in paragraphs for line in _wrap(p, font, size, room)]
            if len(lines) <= style.lines:
                break
            if size <= (style.min_size or style.size):
                lines = _balance(" ".join(paragraphs), font, size, style.lines)
                break
            size = max(style.min_size or style.size, size - 0.2)
        out = []
        for i, line in enumerate(lines):
            natural = font.width(line, size)
            scale = min(100.0, 100.0 * room / natural) if natural else 100.0
            y = (CARD_HEIGHT_MM - style.y - i * style.pitch * size / style.size) * PT
            out.append(self._run(line, style, size, (1, 0, 0, 1, style.x * PT, y), scale))
        return "\n".join(out)

    # graphics ---------------------------------------------------------------------------------------------------
    def alpha(self, value: float) -> str:
        name = f"A{round(value * 100)}"
        self.gstates[name] = value
        return f"/{name} gs"

    def photo(self, jpeg: bytes) -> tuple[int, int, int]:
        """(object number, width px, height px) of the photo's image, embedded once per document."""
        if jpeg not in self.photos:  # keyed by the bytes themselves: equal photos share one image
            data, width, height, space = _jpeg(jpeg)
            number = self.pdf.add_stream(f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
                                         f"/ColorSpace /{space} /BitsPerComponent 8 /Filter /DCTDecode",
                                         data, compress=False)
            self.photos[jpeg] = (number, width, height)
        return self.photos[jpeg]

    def design(self, template: str, side: str) -> int:
        """The form XObject with the static design of one template's side, made once per document."""
        key = (template, side)
        if key not in self.designs:
            b = self.bleed * PT
            content = (_front_design if side == "front" else _back_design)(self, template)
            bbox = f"{_n(-b)} {_n(-b)} {_n(CARD_WIDTH_MM * PT + b)} {_n(CARD_HEIGHT_MM * PT + b)}"
            self.designs[key] = self.pdf.add_stream(
                f"/Type /XObject /Subtype /Form /BBox [{bbox}] /Resources {self.resources()}", content.encode())
        return self.designs[key]

    def resources(self, xobjects: dict[str, int] | None = None) -> str:
        fonts = " ".join(f"/F{int(bold)} {ref} 0 R" for bold, ref in self.fonts.items())
        entries = (f"/Font <<{fonts}>> /ExtGState {self.gstate_ref} 0 R /Shading <</Bg {self.shading_ref} 0 R>>"
                   " /ProcSet [/PDF /Text /ImageC /ImageB]")
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
            kids.append(pdf.add(f"<</Type /Page /Parent {pages_ref} 0 R /MediaBox [0 0 {_n(width)} {_n(height)}] "
                                f"/Resources {resources} /Contents {contents} 0 R>>"))
        pdf.put(pages_ref, f"<</Type /Pages /Count {len(kids)} /Kids [{' '.join(f'{k} 0 R' for k in kids)}]>>"
                .encode())
        for bold, ref in self.fonts.items():
            self._embed_font(bold, ref)
        states = " ".join(f"/{name} <</Type /ExtGState /ca {_n(v)} /CA {_n(v)}>>" for name, v in self.gstates.items())
        pdf.put(self.gstate_ref, f"<<{states}>>".encode())
        pdf.put(self.shading_ref, _background_shading().encode())
        catalog = pdf.add(f"<</Type /Catalog /Pages {pages_ref} 0 R>>")
        info = pdf.add("<</Producer (Legitka) /Title (Legitymacje)>>")
        return pdf.output(catalog, info)

    def _embed_font(self, bold: bool, ref: int) -> None:
        font, pdf = _font(bold), self.pdf
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
        widths = " ".join(f"{g} [{_n(font.advance[g] * scale)}]" for g in sorted(used))
        cid_font = pdf.add(
            f"<</Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
            f"/CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> "
            f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity>>")
        to_unicode = pdf.add_stream("", _to_unicode(used).encode())
        pdf.put(ref, f"<</Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                     f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R>>".encode())


def _wrap(text: str, font: _Font, size: float, room: float) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if not line or font.width(candidate, size) <= room:
            line = candidate
        else:
            lines.append(line)
            line = word
    return lines + [line]


def _balance(text: str, font: _Font, size: float, count: int) -> list[str]:
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


def _to_unicode(used: dict[int, str]) -> str:
    entries = sorted(used.items())
    body = []
    for start in range(0, len(entries), 100):
        chunk = entries[start:start + 100]
        body.append(f"{len(chunk)} beginbfchar")
        body += [f"<{g:04x}> <{''.join(f'{u:04x}' for u in _utf16(char))}>" for g, char in chunk]
        body.append("endbfchar")
    return ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <ffff> endcodespacerange\n" + "\n".join(body) +
            "\nendcmap CMapName currentdict /CMap defineresource pop end end")


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def _jpeg(data: bytes) -> tuple[bytes, int, int, str]:
    """(JPEG bytes, width, height, colour space). Stored photos are bare RGB JPEGs made from pixels alone
    (tenants.photos.encode_jpeg) and pass through unchanged; anything else (another format, CMYK, an EXIF
    rotation, or a JPEG carrying any metadata at all: a comment, EXIF, ICC, XMP) is re-encoded once from its
    pixels, so nothing but the picture reaches a print file."""
    from PIL import Image
    from PIL import ImageOps

    from tenants.photo_format import is_bare_jpeg
    from tenants.photos import encode_jpeg

    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as img:
        if img.format == "JPEG" and img.mode in ("RGB", "L") and is_bare_jpeg(data):
            return data, img.width, img.height, "DeviceRGB" if img.mode == "RGB" else "DeviceGray"
        fixed = ImageOps.exif_transpose(img).convert("RGB")
    return encode_jpeg(fixed, quality=92), fixed.width, fixed.height, "DeviceRGB"


# --- The design (what a pre-printed blank already carries) ---------------------------------------------------------

GRADIENT = ((0.0, (0xfb, 0xe3, 0xec)), (0.55, (0xf6, 0xca, 0xdb)), (1.0, (0xf2, 0xb8, 0xcf)))


def _background_shading() -> str:
    """The pink background: a 135° linear gradient across the card (CSS semantics), extended past
    the card's edges so that a bleed keeps the edge colour."""
    w, h = CARD_WIDTH_MM * PT, CARD_HEIGHT_MM * PT
    half = (w + h) * math.sqrt(0.5) / 2  # CSS gradient line length / 2 at 135°
    cx, cy = w / 2, h / 2
    d = half * math.sqrt(0.5)
    coords = f"{_n(cx - d)} {_n(cy + d)} {_n(cx + d)} {_n(cy - d)}"  # top-left → bottom-right
    functions = []
    for (_, c0), (_, c1) in zip(GRADIENT, GRADIENT[1:], strict=False):
        functions.append(f"<</FunctionType 2 /Domain [0 1] /N 1 /C0 [{' '.join(_n(c / 255) for c in c0)}] "
                         f"/C1 [{' '.join(_n(c / 255) for c in c1)}]>>")
    bounds = " ".join(_n(stop) for stop, _ in GRADIENT[1:-1])
    return (f"<</ShadingType 2 /ColorSpace /DeviceRGB /Coords [{coords}] /Extend [true true] "
            f"/Function <</FunctionType 3 /Domain [0 1] /Functions [{' '.join(functions)}] /Bounds [{bounds}] "
            f"/Encode [{' '.join('0 1' for _ in functions)}]>>>>")


def _box(x: float, y: float, w: float, h: float) -> str:
    """A rectangle path from mm (top-left origin) to page points."""
    return f"{_n(x * PT)} {_n((CARD_HEIGHT_MM - y - h) * PT)} {_n(w * PT)} {_n(h * PT)} re"


def _rounded(x: float, y: float, w: float, h: float, radii: tuple[float, float, float, float]) -> str:
    """A rounded rectangle path; radii top-left, top-right, bottom-right, bottom-left (mm)."""
    k = 0.5523
    left, right = x * PT, (x + w) * PT
    top, bottom = (CARD_HEIGHT_MM - y) * PT, (CARD_HEIGHT_MM - y - h) * PT
    tl, tr, br, bl = (r * PT for r in radii)
    return " ".join([
        f"{_n(left + tl)} {_n(top)} m", f"{_n(right - tr)} {_n(top)} l",
        f"{_n(right - tr + k * tr)} {_n(top)} {_n(right)} {_n(top - tr + k * tr)} {_n(right)} {_n(top - tr)} c",
        f"{_n(right)} {_n(bottom + br)} l",
        f"{_n(right)} {_n(bottom + br - k * br)} {_n(right - br + k * br)} {_n(bottom)} "
        f"{_n(right - br)} {_n(bottom)} c",
        f"{_n(left + bl)} {_n(bottom)} l",
        f"{_n(left + bl - k * bl)} {_n(bottom)} {_n(left)} {_n(bottom + bl - k * bl)} {_n(left)} {_n(bottom + bl)} c",
        f"{_n(left)} {_n(top - tl)} l",
        f"{_n(left)} {_n(top - tl + k * tl)} {_n(left + tl - k * tl)} {_n(top)} {_n(left + tl)} {_n(top)} c h",
    ])


def _front_design(doc: _Document, template: str) -> str:
    b = doc.bleed
    ops = [f"q {_box(-b, -b, CARD_WIDTH_MM + 2 * b, CARD_HEIGHT_MM + 2 * b)} W n /Bg sh"]
    # the globe (right, running off the edge): a circle with faint latitude lines
    gx, gy, r = CARD_WIDTH_MM + 9 - 17, 8 + 17, 17.0
    circle = _rounded(gx - r, gy - r, 2 * r, 2 * r, (r, r, r, r))
    ops.append(f"q {circle} W n {doc.alpha(0.10)} {_rgb(DESIGN)}")
    stripe = gy + r - 2.6 - 0.2  # CSS: repeating from the bottom, 2.6 mm clear then 0.2 mm line
    while stripe > gy - r:
        ops.append(_box(gx - r, stripe, 2 * r, 0.2) + " f")
        stripe -= 2.8
    ops.append("Q")
    inset = 0.125
    ops.append(f"q {doc.alpha(0.18)} {_rgb(DESIGN, stroke=True)} {_n(0.25 * PT)} w "
               f"{_rounded(gx - r + inset, gy - r + inset, 2 * (r - inset), 2 * (r - inset), (r,) * 4)} S Q")
    # the conical flask, outlined
    fx, fy = CARD_WIDTH_MM - 24 - 8, CARD_HEIGHT_MM - 2 - 10
    ops.append(f"q {doc.alpha(0.15)} {_rgb(DESIGN, stroke=True)} {_n(0.25 * PT)} w "
               f"{_rounded(fx + inset, fy + inset, 8 - 2 * inset, 10 - 2 * inset, (1, 1, 4, 4))} S Q")
    ops.append("Q")
    ops.append(doc.text("RZECZPOSPOLITA POLSKA", COUNTRY_TEXT))
    ops.append(doc.text(TITLES.get(template, "LEGITYMACJA SZKOLNA"), TITLE_TEXT))
    ops.append(doc.text(template, TEMPLATE_TEXT))
    ops += [doc.text(text, style) for text, style in FRONT_TEXT.values()]
    return "\n".join(op for op in ops if op)


def _back_design(doc: _Document, template: str) -> str:
    b = doc.bleed
    ops = [f"q {_box(-b, -b, CARD_WIDTH_MM + 2 * b, CARD_HEIGHT_MM + 2 * b)} W n /Bg sh Q"]
    text, style = BACK_TEXT["transport"]
    ops.append(doc.block([text], style))
    text, style = BACK_TEXT["valid_until"]
    ops.append(doc.text(text, style))
    dash = f"[{_n(0.6 * PT)} {_n(0.45 * PT)}] 0 d"
    ops.append(f"q {doc.alpha(0.55)} {_rgb(LABEL, stroke=True)} {_n(0.2 * PT)} w {dash}")
    for x, y, w, h in HOLOGRAM_SLOTS:
        ops.append(_rounded(x + 0.1, y + 0.1, w - 0.2, h - 0.2, (1, 1, 1, 1)) + " S")
    ops.append("Q")
    ops.append(doc.text(template, BACK_TEMPLATE))
    return "\n".join(op for op in ops if op)


# --- Cards ---------------------------------------------------------------------------------------------------------

_date = inputs.format_day


def _has_pesel(card: CardData) -> bool:
    return len(card.pesel) == 11 and card.pesel.isdigit()


def _front(doc: _Document, card: CardData, blanks: bool) -> tuple[str, dict[str, int]]:
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
    ops.append(f"q {_box(x, y, w, h)} W n {_n(dw * PT)} 0 0 {_n(dh * PT)} {_n(left * PT)} {_n(bottom * PT)} cm /P Do Q")
    if not blanks:
        ops.append(f"q {doc.alpha(0.25)} 0 0 0 RG {_n(0.15 * PT)} w "
                   f"{_box(x + 0.075, y + 0.075, w - 0.15, h - 0.15)} S Q")
        ops.append(doc.text("PESEL" if _has_pesel(card) else "Dokument tożsamości", PESEL_LABEL))
    f = FRONT_FIELDS
    ops += [doc.text(card.first_names, f["first_names"]), doc.text(card.surname, f["surname"]),
            doc.text(_date(card.date_of_birth), f["date_of_birth"]), doc.text(card.pesel, f["pesel"]),
            doc.block([card.school_name, card.school_address], f["school"]),
            doc.text(card.director_name, f["director_name"]), doc.text(_date(card.issue_date), f["issue_date"]),
            doc.text(card.card_number, f["number"])]
    return "\n".join(op for op in ops if op), xobjects


def _back(doc: _Document, card: CardData, blanks: bool) -> tuple[str, dict[str, int]]:
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
    doc = _Document(calibration.bleed_mm)
    blanks = calibration.preprinted_blanks
    shift = (f"q 1 0 0 1 {_n(calibration.offset_x_mm * PT)} {_n(-calibration.offset_y_mm * PT)} cm\n"
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
    doc = _Document()
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
                    f"/Type /XObject /Subtype /Form /BBox [0 0 {_n(card_w)} {_n(card_h)}] "
                    f"/Resources {doc.resources(inner)}", content.encode())
                x = (PROOF_LEFT + column * (CARD_WIDTH_MM + 8)) * PT
                y = (A4[1] - PROOF_TOP - row * PROOF_PITCH - CARD_HEIGHT_MM) * PT
                ops.append(f"q 1 0 0 1 {_n(x)} {_n(y)} cm /{name} Do "
                           f"0.6 0.6 0.6 RG {_n(0.2 * PT)} w -0.28 -0.28 {_n(card_w + 0.57)} {_n(card_h + 0.57)} re S "
                           f"{mark} Q")
        pages.append((A4[0] * PT, A4[1] * PT, "\n".join(ops), doc.resources(xobjects)))
    return doc.finish(pages)


def _centred(doc: _Document, text: str, style: Text, page_height_mm: float) -> str:
    """Centred text on a page of any height (the card helpers assume the card's height)."""
    font = _font(style.bold)
    width = font.width(text, style.size)
    return doc._run(text, style, style.size, (1, 0, 0, 1, style.x * PT - width / 2, (page_height_mm - style.y) * PT))


def _proof_mark(doc: _Document) -> str:
    """"WZÓR" across the card, turned 18° and half transparent (operators in card space)."""
    font, text = _font(True), "WZÓR"
    width = font.width(text, PROOF_MARK.size)
    cap = font.descriptor["cap_height"] / 1000 * PROOF_MARK.size
    angle = math.radians(18)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = CARD_WIDTH_MM * PT / 2, CARD_HEIGHT_MM * PT / 2
    x = cx - (cos * width / 2 - sin * cap / 2)
    y = cy - (sin * width / 2 + cos * cap / 2)
    return f"q {doc.alpha(0.35)} {doc._run(text, PROOF_MARK, PROOF_MARK.size, (cos, sin, -sin, cos, x, y))} Q"
