"""What a card carries and where: the card's size, the fields printed (`CardData`), a printer's
correction (`Calibration`), and the layout tables — `FRONT_TEXT`, `FRONT_FIELDS`, `BACK_TEXT`,
`BACK_FIELDS`, `PHOTO`, `HOLOGRAM_SLOTS` — in millimetres from the card's top-left corner (text
at its baseline). Fields that do not fit their box shrink (down to a minimum size), then narrow;
they never move or overlap (printing.card_document)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
import types
import typing

from tenants.registry import template_versions

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
# The document title (PDF Info) of each kind of card file: printing.package packs only a production
# print file, i.e. one with PRINT_FILE_TITLE, no form XObject and no shading (docs/domain.md §3).
PRINT_FILE_TITLE = "Legitymacje - plik do druku: tylko personalizacja"
SPECIMEN_TITLE = "WZOR - nie jest dokumentem"

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
    # the template's version the card is printed with (docs/domain.md §25): a card from the registry
    # always names its own; "" (a draft's proof, a sample) takes the version in force on `issue_date`
    template_version: str = ""

    @property
    def version(self) -> str:
        return self.template_version or template_versions.in_force(self.template_code, self.issue_date).key


@dataclasses.dataclass(frozen=True)
class Calibration:
    """One card printer's correction, measured on a test print.

    Offsets move everything printed on both sides; bleed grows the photo beyond its box, so that
    a slight misregistration leaves no white hairline inside the blank's photo window. A print file
    always carries the personalisation only (docs/domain.md §3), so there is no setting for
    printing the design: the printers' `preprinted_blanks` column is no longer read.
    """

    offset_x_mm: float = 0.0   # moves everything printed right (+) / left (−)
    offset_y_mm: float = 0.0   # moves everything printed down (+) / up (−)
    bleed_mm: float = 0.0      # extends the photo beyond its window

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


# --- Layout --------------------------------------------------------------------------------------------------------

INK = (0x1d, 0x1d, 0x1f)
LABEL = (0x7a, 0x2d, 0x4d)
TITLE = (0x6a, 0x1f, 0x40)
DESIGN = (160, 60, 100)  # the line art's colour (globe, flask), used with transparency


@dataclasses.dataclass(frozen=True)
class Palette:
    """A template's colours: the background gradient's stops (offset 0–1 from the top-left corner
    to the bottom-right one, RGB), the labels, the title and the line art."""

    gradient: tuple[tuple[float, tuple[int, int, int]], ...]
    label: tuple[int, int, int]
    title: tuple[int, int, int]
    design: tuple[int, int, int]


# Colours and wording per template (docs/domain.md §2): the school cards (MEiN-I/1 to I/4-N) share
# the pink design, the "-N" ones included — no source names a difference but the template code; the
# pre-school card (MEiN-I/5) is orange and blue and speaks of the pre-school, not of a school.
PINK = Palette(gradient=((0.0, (0xfb, 0xe3, 0xec)), (0.55, (0xf6, 0xca, 0xdb)), (1.0, (0xf2, 0xb8, 0xcf))),
               label=LABEL, title=TITLE, design=DESIGN)
ORANGE_BLUE = Palette(gradient=((0.0, (0xfd, 0xd5, 0xa8)), (0.5, (0xf4, 0xe6, 0xd8)), (1.0, (0xb9, 0xd8, 0xf3))),
                      label=(0x1f, 0x4e, 0x8c), title=(0xb8, 0x4a, 0x00), design=(40, 90, 160))
PALETTES = {"MEiN-I/5": ORANGE_BLUE}  # any other template: PINK
FRONT_LABELS = {  # labels that differ from FRONT_TEXT's, per template
    "MEiN-I/5": {"school": "Nazwa i adres przedszkola", "director_name": "Dyrektor przedszkola"},
}


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
FRONT_TEXT = {  # static text of the front: part of the design, already on the blank (specimens only)
    "first_names": ("Imię (imiona)", Text(27, 13.67, 3.9, color=LABEL)),
    "surname": ("Nazwisko", Text(27, 18.91, 3.9, color=LABEL)),
    "date_of_birth": ("Data urodzenia", Text(27, 24.16, 3.9, color=LABEL)),
    "school": ("Nazwa i adres szkoły", Text(27, 29.07, 3.9, color=LABEL)),
    "director_name": ("Dyrektor szkoły", Text(27, 38.45, 3.9, color=LABEL)),
    "issue_date": ("Data wydania", Text(RIGHT_COLUMN, 38.45, 3.9, color=LABEL)),
    "number": ("Nr", Text(4, 50.11, 5, color=LABEL)),
}
# The identity label says which document the number is from: a PESEL, or another one for a pupil
# without a PESEL (docs/domain.md §3). On a blank it is pre-printed; on a specimen it is drawn per card.
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
# Printed only on specimens: which card this back belongs to (the print file's pages follow the manifest).
BACK_FOOTER = Text(4, 51.21, 4.4, color=LABEL, width=60, min_size=3.5)
BACK_TEMPLATE = Text(CARD_WIDTH_MM - 4, 51.21, 4.4, color=LABEL, align="right")
HOLOGRAM_SLOTS = [(4 + col * 19.6, 19 + row * 14.1, 18, 12.5) for row in range(2) for col in range(4)]


# --- Designs per template version (docs/domain.md §25) ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Design:
    """What one version of one template looks like: its title, colours, the front's labels that
    differ from `FRONT_TEXT`'s, and where the front's variable data goes (the print file follows it
    too, so that a version moving a field moves it on the cards printed with that version only)."""

    title: str
    palette: Palette
    labels: typing.Mapping[str, str]
    front_fields: typing.Mapping[str, Text]


def _today_s(template: str) -> Design:
    """The design the code has drawn since the start, for `template` (docs/domain.md §2)."""
    return Design(title=TITLES[template], palette=PALETTES.get(template, PINK),
                  labels=types.MappingProxyType(FRONT_LABELS.get(template, {})),
                  front_fields=types.MappingProxyType(FRONT_FIELDS))


# One entry per template and version. Both versions of annex 4 known today (the original text and
# poz. 2653) are drawn alike: the annex was not available, and nothing we have says the amendment
# changed what the card looks like (docs/domain.md §25). A future amendment adds its own entries.
DESIGNS: dict[tuple[str, str], Design] = {
    (template, version): _today_s(template)
    for template in template_versions.TEMPLATE_CODES
    for version in (template_versions.ORIGINAL, template_versions.AMENDED_2653)
}


def design_of(template: str, version: str) -> Design:
    """The design of `template` in `version`; ValueError when there is none (a card is never drawn
    in another version's design)."""
    try:
        return DESIGNS[(template, version)]
    except KeyError:
        raise ValueError(f"no design for template {template!r} version {version!r}") from None
