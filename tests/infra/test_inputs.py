"""infra.inputs: every reader returns a value within its bounds or raises `Refused` — never
another exception — whatever text it gets (issue 13's 500s came from int(), Decimal() and
strptime() given 5,000 digits, 1e309, 40 nines or "²")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import inputs
from infra.inputs import Refused

HOSTILE = ["", "9" * 5000, "9" * 40, "1e309", "NaN", "inf", "-inf", "²", "٣", "1e3", "0x10", "1_000", "a\x00b",
           "\u202e12", "\u200b", " ", None, "12abc", "--1", "1.2.3", "+-1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_is_refused_not_crashed(value):
    for read in (lambda v: inputs.whole(v, low=-10**6, high=10**6),
                 lambda v: inputs.amount(v, low=Decimal("-1000000"), high=Decimal("1000000")),
                 lambda v: inputs.day(v) or (_ for _ in ()).throw(Refused("empty"))):
        with pytest.raises(Refused):
            read(value)
    assert inputs.whole_or_none(value, low=0, high=10) is None
    assert inputs.ident(value) is None


@given(st.text(max_size=60))
def test_any_text_is_a_value_within_bounds_or_refused(text):
    for read, check in ((lambda v: inputs.whole(v, low=0, high=2100), lambda n: 0 <= n <= 2100),
                        (lambda v: inputs.amount(v, low=Decimal(0), high=Decimal("9999.99")),
                         lambda a: Decimal(0) <= a <= Decimal("9999.99") and a.as_tuple().exponent == -2),
                        (inputs.day, lambda d: d is None or inputs.EARLIEST <= d <= inputs.LATEST)):
        try:
            value = read(text)
        except Refused:
            continue
        assert check(value), (text, value)


def test_whole_numbers_as_people_type_them():
    assert inputs.whole(" 2 026 ", low=2000, high=2100) == 2026
    assert inputs.whole("-1", low=-5, high=5) == -1
    with pytest.raises(Refused):
        inputs.whole("-1", low=0, high=5)
    with pytest.raises(Refused):
        inputs.whole("2101", low=2000, high=2100)


def test_ids_fit_a_bigint():
    assert inputs.ident(str(inputs.BIGINT_MAX)) == 2**63 - 1
    assert inputs.ident(str(2**63)) is None  # would overflow PostgreSQL's bigint and SQLite's INTEGER
    assert inputs.ident("0") is None and inputs.ident("-3") is None and inputs.ident("17") == 17


def test_amounts_as_people_type_them():
    assert inputs.amount("1 234,50", low=Decimal(0), high=Decimal(10**6)) == Decimal("1234.50")
    assert inputs.amount("9", low=Decimal(0), high=Decimal(10)) == Decimal("9.00")
    assert inputs.amount("0,005", low=Decimal(0), high=Decimal(1)) == Decimal("0.01")  # half up, as accountants do
    assert inputs.amount("-3,2", low=Decimal(-5), high=Decimal(5)) == Decimal("-3.20")
    assert inputs.amount("1.5", low=Decimal(0), high=Decimal(5), places=0) == Decimal("2")
    with pytest.raises(Refused):
        inputs.amount("10.01", low=Decimal(0), high=Decimal(10))
    # The widest amount it reads: 15 digits and 10 decimals, quantized within Decimal's precision.
    assert inputs.amount("9" * 15 + "," + "9" * 10, low=Decimal(0), high=inputs.MAX_AMOUNT + 1) == \
        Decimal("1" + "0" * 15)
    with pytest.raises(Refused):
        inputs.amount("9" * 16, low=Decimal(0), high=Decimal(10**20))


@pytest.mark.parametrize("text", ["31.02.2026", "2026-13-45", "99.99.99999", "01.01.0001", "31.12.9999",
                                  "29.02.2025", "2026-2-3", "1.1.26", "٣١.١٢.٢٠٢٠", "31.12.1899", "01.01.2100"])
def test_impossible_and_absurd_days_are_refused(text):
    with pytest.raises(Refused):
        inputs.day(text)


def test_days_as_people_type_them_and_date_inputs_send_them():
    assert inputs.day("1.2.2026") == dt.date(2026, 2, 1)
    assert inputs.day(" 29.02.2024 ") == dt.date(2024, 2, 29)
    assert inputs.day("2026-02-01") == dt.date(2026, 2, 1)
    assert inputs.day("") is None and inputs.day(None) is None
    assert inputs.day("01.06.2010", earliest=dt.date(2000, 1, 1), latest=dt.date(2010, 12, 31)) == dt.date(2010, 6, 1)
    with pytest.raises(Refused):
        inputs.day("01.06.1999", earliest=dt.date(2000, 1, 1))


# Polish input and output in one module (issue 15): amounts with their currency, the e-mail rule, formatting.

def test_an_amount_may_end_with_zl():
    for text in ("9", "9,00", "9,00 zł", "9.00 ZŁ", "9zł"):
        assert inputs.amount(text, low=Decimal(0), high=Decimal(10)) == Decimal("9.00"), text
    assert inputs.amount("1 234,50\u00a0zł", low=Decimal(0), high=Decimal(10**6)) == Decimal("1234.50")
    for text in ("zł", "zł 9", "9 zł zł", "9 PLN"):
        with pytest.raises(Refused):
            inputs.amount(text, low=Decimal(0), high=Decimal(10))


def test_days_as_spreadsheets_export_them():
    for text in ("09.04.2016", "9.4.2016", "09-04-2016", "09/04/2016", "2016-04-09", "2016-04-09 00:00:00",
                 "2016-04-09T00:00"):
        assert inputs.day(text) == dt.date(2016, 4, 9), text
    for text in ("09.04/2016", "2016/04/09", "2016-04-09 12:30"):
        with pytest.raises(Refused):
            inputs.day(text)
    with pytest.raises(Refused) as refused:
        inputs.day("31.02.2016")
    assert refused.value.no_such_day
    with pytest.raises(Refused) as refused:
        inputs.day("31.02.16")
    assert not refused.value.no_such_day


@pytest.mark.parametrize("text", ["mama@example.pl", "a.b+c@sub.example.com", "x@b.co"])
def test_good_email(text):
    assert inputs.is_email(text)


@pytest.mark.parametrize("text", ["a@b.c", "mama", "mama@", "mama@example", "a@b.pl; c@d.pl", "a@b.pl,c@d.pl",
                                  "Jan <jan@b.pl>", "mama @example.pl", "mama@@example.pl", "a@b.pl.",
                                  "j" * 250 + "@b.pl", "", None])
def test_bad_email(text):
    assert not inputs.is_email(text)


def test_polish_output():
    assert inputs.format_day(dt.date(2026, 3, 5)) == "05.03.2026"
    assert inputs.format_number(20000) == "20\u00a0000"
    assert inputs.format_number(2**60) == "1\u00a0152\u00a0921\u00a0504\u00a0606\u00a0846\u00a0976"  # exact
    assert inputs.format_number(1234.56, 1) == "1\u00a0234,6"
    assert inputs.format_amount(Decimal("1234.5")) == "1\u00a0234,50"
    assert inputs.format_money(Decimal("1234.5")) == "1\u00a0234,50\u00a0zł"
    assert inputs.format_money(9) == "9,00\u00a0zł"


# Worked by hand from the Polish rule: 1 → one; last digit 2–4 except 12–14 → few; else many.
PLURALS = {1: "karta", 2: "karty", 4: "karty", 5: "kart", 12: "kart", 14: "kart", 21: "kart", 22: "karty",
           25: "kart", 101: "kart", 112: "kart", 122: "karty", 0: "kart", 13: "kart", 24: "karty", 1000: "kart"}


@pytest.mark.parametrize(("n", "form"), sorted(PLURALS.items()))
def test_plural_follows_the_polish_rule(n, form):
    assert inputs.plural(n, "karta", "karty", "kart") == form
    assert inputs.plural(-n, "karta", "karty", "kart") == form  # the sign does not change the form


def test_counted_writes_the_number_and_its_form():
    assert inputs.counted(1, "zamówienie", "zamówienia", "zamówień") == "1 zamówienie"
    assert inputs.counted(2, "zamówienie", "zamówienia", "zamówień") == "2 zamówienia"
    assert inputs.counted(23, "karta", "karty", "kart") == "23 karty"
    assert inputs.counted(10000, "karta", "karty", "kart") == "10\u00a0000 kart"
    # English forms under the same rule: its singular is exactly Polish "one"
    assert [inputs.plural(n, "card", "cards", "cards") for n in (1, 2, 5, 21, 22)] == ["card"] + ["cards"] * 4


def test_percent_and_month_output():
    assert inputs.format_percent(92.8) == "92,8\u00a0%"
    assert inputs.format_percent(90, 0) == "90\u00a0%"
    assert inputs.format_month("2026-10") == "październik 2026"
    assert inputs.format_month("2026-01", short=True) == "sty 2026"
    assert inputs.format_month(inputs.Month("2026-05")) == "maj 2026"
    assert inputs.format_month("") == "" and inputs.format_month("2026-13") == "2026-13"
    assert sorted([inputs.Month("2026-10"), inputs.Month("2025-12")]) == ["2025-12", "2026-10"]  # sorts by time
