import datetime as dt

import pytest

from tenants.pupils import pesel


@pytest.mark.parametrize("value, born, sex", [
    ("44051401458", dt.date(1944, 5, 14), "M"),   # the brief's reference number
    ("02270803624", dt.date(2002, 7, 8), "K"),     # 2000s: month + 20
    ("85821512347", dt.date(1885, 2, 15), "K"),    # 1800s: month + 80 (12347 -> check 7)
])
def test_valid_numbers_decode_birth_date_and_sex(value, born, sex):
    assert pesel.validate(value, date_of_birth=born, sex_code=sex) == value
    assert pesel.birth_date(value) == born
    assert pesel.sex(value) == sex


@pytest.mark.parametrize("value, message", [
    ("87061302072", "cyfrę kontrolną"),      # the dziennik.pl example that fails the checksum
    ("11302845081", "cyfrę kontrolną"),
    ("4405140145", "11 cyfr"),
    ("4405140145a", "11 cyfr"),
    ("", "11 cyfr"),
    ("44053201452", "datę urodzenia"),        # 32 May: checksum right, date impossible
])
def test_invalid_numbers_are_refused_in_polish(value, message):
    with pytest.raises(pesel.PeselError, match=message):
        pesel.validate(value)


def test_number_must_match_entered_birth_date_and_sex():
    with pytest.raises(pesel.PeselError, match="Data urodzenia nie zgadza"):
        pesel.validate("44051401458", date_of_birth=dt.date(1944, 5, 15))
    with pytest.raises(pesel.PeselError, match="Płeć nie zgadza"):
        pesel.validate("44051401458", sex_code="K")


def test_error_messages_never_repeat_the_number():
    for bad in ("87061302072", "44053201452"):
        with pytest.raises(pesel.PeselError) as err:
            pesel.validate(bad)
        assert bad not in str(err.value)


@pytest.mark.parametrize("born", [dt.date(2019, 12, 31), dt.date(2008, 2, 29), dt.date(1999, 1, 1)])
@pytest.mark.parametrize("sex", ["K", "M"])
def test_made_numbers_are_valid(born, sex):
    value = pesel.make(born, 417, sex)
    assert pesel.validate(value, date_of_birth=born, sex_code=sex) == value
