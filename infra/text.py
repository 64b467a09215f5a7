"""Unicode hygiene for text that people type, paste or upload: what may never be stored, and what
looks blank although it is not empty.

- **Control characters** (C0 and C1, DEL, the Unicode line and paragraph separators, lone
  surrogates) never belong in a value that ends up on a card, in a PDF or in a spreadsheet; a
  multi-line field may hold tab, LF and CR.
- **Bidirectional controls** (U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates,
  U+200E/U+200F marks, U+061C) reorder what a reader sees: "Anna\u202egpj.exe" shows as
  "Annaexe.jpg". Refused everywhere, not removed, so nobody stores text that reads differently
  from what it is.
- **Invisible characters** (Unicode's Default_Ignorable_Code_Point minus the bidi controls: zero-
  width space and joiners, BOM, soft hyphen, variation selectors, Hangul fillers, tags …, plus the
  blank braille pattern) show nothing. A value made only of them and whitespace is blank.

Pure functions on `str`, nothing of the domain: each layer words its own message from the
`Finding` (the domain in Polish, the portal through babel, the API with a `code`).
"""

from __future__ import annotations

import dataclasses
import enum
import re

_C0_C1 = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SINGLE_LINE_ONLY = "\t\n\r"  # allowed in a multi-line field, control characters in any other
_LINE_SEPARATORS = "\u2028\u2029\ud800-\udfff"  # and lone surrogates (no UTF-8 for them)
_CONTROL_MULTILINE = re.compile(f"[{_C0_C1}{_LINE_SEPARATORS}]")
_CONTROL_SINGLE_LINE = re.compile(f"[{_C0_C1}{_SINGLE_LINE_ONLY}{_LINE_SEPARATORS}]")
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# DerivedCoreProperties.txt, Default_Ignorable_Code_Point (Unicode 15), without the bidi controls above.
_INVISIBLE_CLASS = ("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2065\u206a-\u206f"
                    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                    "\U000e0000-\U000e0fff"
                    "\u2800")  # braille pattern blank: a "visible" symbol that shows nothing
_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]+")


class Problem(enum.Enum):
    CONTROL = "control"
    BIDI = "bidi"
    INVISIBLE = "invisible"  # not empty, yet nothing but invisible characters and whitespace


@dataclasses.dataclass(frozen=True)
class Finding:
    """What is wrong with a text: the problem and the first offending character ("" for INVISIBLE)."""

    problem: Problem
    char: str = ""

    @property
    def code_point(self) -> str:
        """"U+202E": how a message names a character that cannot be shown."""
        return f"U+{ord(self.char):04X}" if self.char else ""


def strip_invisible(text: str) -> str:
    """`text` without its invisible characters (bidi controls are not removed: they are refused)."""
    return _INVISIBLE.sub("", text)


def is_blank(text: str) -> bool:
    """True for "", whitespace, and text that shows nothing at all (e.g. a zero-width space)."""
    return not strip_invisible(text).strip()


def check(text: str, *, multiline: bool = False) -> Finding | None:
    """The first reason `text` may not be stored as user text, or None when it may.

    An empty value is fine here (whether a field may be empty is the caller's business); a value
    that is not empty but shows nothing is not."""
    control = (_CONTROL_MULTILINE if multiline else _CONTROL_SINGLE_LINE).search(text)
    if control:
        return Finding(Problem.CONTROL, control.group())
    bidi = _BIDI.search(text)
    if bidi:
        return Finding(Problem.BIDI, bidi.group())
    if text and is_blank(text) and not text.isspace():
        return Finding(Problem.INVISIBLE)
    return None
