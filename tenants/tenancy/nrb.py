"""Polish bank account numbers (NRB, 26 digits; IBAN = "PL" + NRB), docs/domain.md §14."""

from __future__ import annotations

import re


class NrbError(ValueError):
    """Not a valid account number; the message is Polish."""


def validate(value: str) -> str:
    """Return the 26 digits of a valid NRB (spaces, dashes and a leading "PL" allowed)."""
    digits = re.sub(r"[\s-]", "", value or "").upper()
    if digits.startswith("PL"):
        digits = digits[2:]
    if len(digits) != 26 or not (digits.isascii() and digits.isdigit()):  # "²".isdigit() is True too
        raise NrbError("Numer rachunku (NRB) musi mieć 26 cyfr.")
    # ISO 13616: move "PL" + check digits to the end, letters as numbers (P=25, L=21), mod 97 == 1.
    if int(digits[2:] + "2521" + digits[:2]) % 97 != 1:
        raise NrbError("Numer rachunku ma błędne cyfry kontrolne — sprawdź, czy nie ma literówki.")
    return digits


def formatted(digits: str) -> str:
    """"07 1020 5011 0000 9902 0207 5919": how Polish documents print an NRB."""
    return digits[:2] + " " + " ".join(digits[i:i + 4] for i in range(2, 26, 4)) if digits else ""


def make(sort_code: str, account: str) -> str:
    """An NRB from an 8-digit sort code and a 16-digit account number, check digits computed
    (demo data and tests)."""
    bban = sort_code + account
    return f"{98 - int(bban + '252100') % 97:02d}{bban}"
