"""Versions of the card templates (wzory): each template code has versions, each taking effect on a
day, because an amendment of annex 4 changes the templates of cards issued from then on and not of
cards already issued (docs/domain.md §25).

A card records the version it was printed with (`Card.template_version`, chosen by its issue date
when the card enters the registry); every later rendering of that card — its reprint under the same
number, a proof of the order — uses the card's own version, never the one in force on the day of
the rendering. What a version looks like is printing's business (printing.card_layout `DESIGNS`,
one entry per template and version); this module only says which versions exist and from when.

To add an amendment: one `Version` per template it changes in `VERSIONS` (its key, the day it takes
effect, its legal basis), the matching designs in printing.card_layout `DESIGNS`, and the rule in
docs/domain.md §25. Cards already in the registry keep theirs."""

from __future__ import annotations

import dataclasses
import datetime as dt

TEMPLATE_CODES = ("MEiN-I/1", "MEiN-I/2", "MEiN-I/3-N", "MEiN-I/4-N", "MEiN-I/5")

ORIGINAL = "2023-1120"  # annex 4 as first published (Dz.U. 2023 poz. 1120)
AMENDED_2653 = "2023-2653"  # annex 4 as amended by Dz.U. 2023 poz. 2653
KEY_LENGTH = 20  # Card.template_version's column


@dataclasses.dataclass(frozen=True)
class Version:
    """One version of one template: `key` is stored on each card printed with it."""

    template: str
    key: str
    effective_from: dt.date
    basis: str  # the legal text the version comes from, as shown to the school

    def __post_init__(self):
        if not self.key or len(self.key) > KEY_LENGTH:
            raise ValueError(f"a version key has 1–{KEY_LENGTH} characters: {self.key!r}")


# docs/domain.md §25: the day each version takes effect. The original text's day is the day the
# regulation was signed (its in-force day is to confirm; no card in Legitka is older), poz. 2653's
# is the version date sip.lex.pl shows for § 67 (inferred; to confirm).
_ORIGINAL_FROM = dt.date(2023, 6, 7)
_AMENDED_2653_FROM = dt.date(2023, 12, 22)
_BASES = {
    ORIGINAL: "załącznik nr 4 do rozporządzenia MEiN z 7.06.2023 r. (Dz.U. 2023 poz. 1120)",
    AMENDED_2653: "załącznik nr 4 w brzmieniu rozporządzenia zmieniającego (Dz.U. 2023 poz. 2653)",
}

VERSIONS: dict[str, tuple[Version, ...]] = {
    code: (Version(code, ORIGINAL, _ORIGINAL_FROM, _BASES[ORIGINAL]),
           Version(code, AMENDED_2653, _AMENDED_2653_FROM, _BASES[AMENDED_2653]))
    for code in TEMPLATE_CODES
}


def versions_of(template: str) -> tuple[Version, ...]:
    """The template's versions, oldest first; ValueError for an unknown template."""
    try:
        versions = VERSIONS[template]
    except KeyError:
        raise ValueError(f"unknown card template: {template!r}") from None
    return tuple(sorted(versions, key=lambda v: v.effective_from))


def in_force(template: str, on: dt.date) -> Version:
    """The version of `template` in force on day `on`: the latest one whose day has come (it takes
    effect on its own day: the day before, the previous one is in force). A day before the first
    version gets the first one — no card Legitka issues is older than the templates themselves."""
    versions = versions_of(template)
    chosen = versions[0]
    for version in versions:
        if version.effective_from <= on:
            chosen = version
    return chosen


def find(template: str, key: str) -> Version:
    """The version `key` of `template`; ValueError when the template has no such version."""
    for version in versions_of(template):
        if version.key == key:
            return version
    raise ValueError(f"{template!r} has no version {key!r}")
