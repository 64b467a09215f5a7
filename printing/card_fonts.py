"""The card's fonts: DejaVu Sans regular and bold, their metrics (advances, pair kerning) and the
subsets embedded in each PDF, so that the text can be extracted and searched."""

from __future__ import annotations

import functools
import io
import pathlib
import shutil
import subprocess

from printing.pdf_objects import num

FONT_FILES = {False: ("DejaVuSans.ttf", "DejaVu Sans:style=Book"),
              True: ("DejaVuSans-Bold.ttf", "DejaVu Sans:style=Bold")}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts", "/opt/homebrew/share/fonts", "/Library/Fonts")
# Embedded for every document: all of Latin-1 and Latin Extended-A plus typographic punctuation,
# so that the subset is made once per process; rarer letters (Cyrillic, …) are added per document.
BASE_CHARS = ("".join(chr(c) for c in range(0x20, 0x7f)) + "".join(chr(c) for c in range(0xa0, 0x180))
              + "–—‘’‚“”„…•€™")


def font_path(bold: bool) -> str:
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


class Font:
    """Metrics of one TrueType font, and its embedded subsets."""

    def __init__(self, bold: bool):
        from fontTools.ttLib import TTFont

        self.bold = bold
        self.path = font_path(bold)
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
                parts.append("<" + "".join(f"{g:04x}" for g in gids[start:i + 1]) + f"> {num(-kern * 1000 / self.upm)}")
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
def font_of(bold: bool) -> Font:
    return Font(bold)


def preload() -> None:
    """Load the fonts and make their base subsets now (~0.4 s), e.g. in a worker before it forks."""
    for bold in (False, True):
        font_of(bold).subset(frozenset())
