"""PESEL validation (docs/domain.md §14): checksum, encoded birth date, sex digit."""

from __future__ import annotations

import datetime as dt

WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
# Month offset -> century.
CENTURIES = {80: 1800, 0: 1900, 20: 2000, 40: 2100, 60: 2200}


class PeselError(ValueError):
    """The number is not a valid PESEL, or does not match the person; the message is Polish
    and contains no digits of the number."""


def check_digit(first_ten: str) -> int:
    return (10 - sum(int(d) * w for d, w in zip(first_ten, WEIGHTS, strict=True)) % 10) % 10


def birth_date(pesel: str) -> dt.date:
    """The date of birth encoded in a (well-formed) PESEL; `PeselError` if it is no real date."""
    yy, mm, dd = int(pesel[0:2]), int(pesel[2:4]), int(pesel[4:6])
    offset = (mm // 20) * 20
    century = CENTURIES.get(offset)
    try:
        return dt.date(century + yy, mm - offset, dd)
    except (TypeError, ValueError) as exc:
        raise PeselError("PESEL zawiera nieprawidłową datę urodzenia.") from exc


def sex(pesel: str) -> str:
    """'K' (kobieta) for an even tenth digit, 'M' (mężczyzna) for an odd one."""
    return "M" if int(pesel[9]) % 2 else "K"


def validate(pesel: str, *, date_of_birth: dt.date | None = None, sex_code: str | None = None) -> str:
    """Return the normalised PESEL or raise `PeselError` saying in Polish what is wrong."""
    value = (pesel or "").strip().replace(" ", "")
    # ASCII only: str.isdigit() also accepts "²" (which int() refuses) and other scripts' digits.
    if len(value) != 11 or not (value.isascii() and value.isdigit()):
        raise PeselError("PESEL musi składać się z 11 cyfr.")
    if check_digit(value[:10]) != int(value[10]):
        raise PeselError("PESEL ma błędną cyfrę kontrolną — sprawdź, czy nie ma literówki.")
    encoded = birth_date(value)
    if date_of_birth is not None and encoded != date_of_birth:
        raise PeselError("Data urodzenia nie zgadza się z datą zapisaną w numerze PESEL.")
    if sex_code is not None and sex(value) != sex_code:
        raise PeselError("Płeć nie zgadza się z numerem PESEL (dziesiąta cyfra: parzysta — kobieta, "
                         "nieparzysta — mężczyzna).")
    return value


def make(date_of_birth: dt.date, serial: int, sex_code: str) -> str:
    """Build a valid PESEL for a birth date, a 3-digit serial and a sex (demo data, tests)."""
    offset = {v: k for k, v in CENTURIES.items()}[date_of_birth.year // 100 * 100]
    sex_digit = (serial % 5) * 2 + (1 if sex_code == "M" else 0)
    head = (f"{date_of_birth.year % 100:02d}{date_of_birth.month + offset:02d}{date_of_birth.day:02d}"
            f"{serial % 1000:03d}{sex_digit}")
    return head + str(check_digit(head))
