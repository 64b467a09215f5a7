"""The one rule for people's names (`tenants.pupils.names`) and the rule for other entered text
(`tenants.pupils.text_entry` on `infra.text`), on tables of good and bad values."""

from __future__ import annotations

import pytest

from infra import text as text_rules
from tenants.pupils import names
from tenants.pupils.text_entry import TextRefused
from tenants.pupils.text_entry import check_text

ONLY = "Imię może zawierać tylko litery, spacje, łącznik, apostrof i kropkę"

GOOD = [  # as typed → as stored (NFC, single spaces)
    ("Łukasz", "Łukasz"),
    ("Zofia-Maria", "Zofia-Maria"),
    ("O'Brien", "O'Brien"),
    ("O’Brien", "O’Brien"),
    ("Anna Maria", "Anna Maria"),
    ("Nguyễn", "Nguyễn"),
    ("Müller", "Müller"),
    ("Ян", "Ян"),
    ("St. John", "St. John"),
    ("'t Hooft", "'t Hooft"),
    ("  Anna \u00a0  Maria ", "Anna Maria"),  # surplus and no-break spaces collapse
    ("Mu\u0308ller", "Müller"),  # decomposed (as macOS types it) → NFC
    ("Zo\u200bfia\ufeff", "Zofia"),  # invisible characters dropped
    ("Kowalska\u2010Nowak", "Kowalska-Nowak"),  # the Unicode hyphen written as "-"
    ("Ngũgĩ", "Ngũgĩ"),
    ("محمد", "محمد"),  # a right-to-left script is letters; only the bidi *controls* are refused
    ("李小龍", "李小龍"),
]

BAD = [  # value → a fragment of the Polish message
    ("Anna2", ONLY + " (niedozwolony znak: „2”)."),
    ("2", ONLY),
    ('=HYPERLINK("http://x/?p="&C4,"Anna")', "(niedozwolony znak: „=”)"),
    ("+1", "(niedozwolony znak: „+”)"),
    ("-2+3", "(niedozwolony znak: „2”)"),
    ("@SUM(A1)", "(niedozwolony znak: „@”)"),
    ("<b>Anna</b>", "(niedozwolony znak: „<”)"),
    ("Anna_Maria", "(niedozwolony znak: „_”)"),
    ("Anna\tMaria", "Imię zawiera znak sterujący (U+0009)"),
    ("\t=1", "znak sterujący (U+0009)"),
    ("\r=1", "znak sterujący (U+000D)"),
    ("Anna\nMaria", "znak sterujący (U+000A)"),
    ("An\x00na", "znak sterujący (U+0000)"),
    ("An\x07na", "znak sterujący (U+0007)"),
    ("Anna\x85", "znak sterujący (U+0085)"),
    ("Anna\u2028", "znak sterujący (U+2028)"),
    ("Anna\u202egpj.exe", "znak zmiany kierunku tekstu (U+202E)"),
    ("\u202dAnna", "znak zmiany kierunku tekstu (U+202D)"),
    ("Anna\u2067", "znak zmiany kierunku tekstu (U+2067)"),
    ("Anna\u200f", "znak zmiany kierunku tekstu (U+200F)"),
    ("Anna\u061c", "znak zmiany kierunku tekstu (U+061C)"),
    ("\u200b\u200c\u200d\ufeff", "Podaj imię."),  # zero-width only
    ("\u3164", "Podaj imię."),  # a Hangul filler: a "letter" that shows nothing
    ("", "Podaj imię."),
    ("   ", "Podaj imię."),
    ("-Anna", "Imię musi zaczynać się literą."),
    ("\u0301Anna", "Imię musi zaczynać się literą."),
    (".-'", "Imię musi zawierać litery."),
    ("Anna\u00a9", "(niedozwolony znak: „©”)"),
    ("Anna\u2013Maria", "(niedozwolony znak: „–”)"),  # a dash is not a hyphen
    ("Anna\ue000", "(niedozwolony znak: U+E000)"),  # private use: quoted by its code point
]


@pytest.mark.parametrize(("typed", "stored"), GOOD)
def test_good_names_are_accepted_and_normalised(typed, stored):
    assert names.person_name(typed, names.FIRST_NAMES) == stored


@pytest.mark.parametrize(("value", "message"), BAD)
def test_bad_names_are_refused_with_a_polish_message(value, message):
    with pytest.raises(names.InvalidName) as refused:
        names.person_name(value, names.FIRST_NAMES)
    assert message in str(refused.value)


def test_the_message_names_the_field_and_a_blank_optional_name_is_empty():
    with pytest.raises(names.InvalidName, match="^Nazwisko może zawierać tylko litery"):
        names.person_name("Nowak3", names.SURNAME)
    with pytest.raises(names.InvalidName, match="^Imię i nazwisko osoby odbierającej mogą zawierać tylko"):
        names.person_name("Jan Nowak (ojciec)", names.COLLECTOR)
    with pytest.raises(names.InvalidName, match="^Podaj imię i nazwisko osoby odbierającej legitymację.$"):
        names.person_name("\u200b", names.COLLECTOR)
    assert names.person_name("\u200b ", names.SECOND_NAME, required=False) == ""
    with pytest.raises(names.InvalidName, match="najwyżej 5 znaków"):
        names.person_name("Bartłomiej", names.FIRST_NAMES, max_length=5)


def test_the_person_collecting_a_card_may_be_described_in_parentheses():
    assert names.collector(" Małgorzata  Wróblewska ( matka ) ") == "Małgorzata Wróblewska (matka)"
    assert names.collector("rodzic") == "rodzic"
    for value, message in [("ojciec: Jan Nowak", "(niedozwolony znak: „:”). Kim jest ta osoba, można dopisać w "
                                                 "nawiasie, np. „Anna Nowak (matka)”."),
                           ("Jan Nowak ()", "Dopisek w nawiasie jest pusty"),
                           ("Jan Nowak (=1)", "Dopisek w nawiasie może zawierać tylko litery"),
                           ("Jan (a) (b)", "(niedozwolony znak: „(”)"),
                           ("(matka)", "Podaj imię i nazwisko osoby odbierającej legitymację."),
                           ("Jan\u202e (matka)", "znak zmiany kierunku tekstu (U+202E)"),
                           ("Jan " + "a" * 200 + " (matka)", "najwyżej 200 znaków")]:
        with pytest.raises(names.InvalidName) as refused:
            names.collector(value)
        assert message in str(refused.value), value


def test_a_valid_name_never_starts_a_spreadsheet_formula():
    from infra.spreadsheets import FORMULA_LEADS

    for typed, _stored in GOOD:
        assert names.person_name(typed)[:1] not in FORMULA_LEADS


TEXT_GOOD = ["Evolis Primacy 2", "=HYPERLINK(1)", "2a", "ul. Długa 1 m. 2", "", "   ", "Zo\u200bfia", "@firma"]
TEXT_BAD = [("Evolis\x00", "znak sterujący (U+0000)"), ("a\tb", "znak sterujący (U+0009)"),
            ("a\r\nb", "znak sterujący (U+000D)"), ("\x1b[31m", "znak sterujący (U+001B)"),
            ("Model\u202e2", "zmiany kierunku tekstu (U+202E)"), ("\u2066x\u2069", "zmiany kierunku tekstu (U+2066)"),
            ("\u200b", "same niewidoczne znaki"), ("\u200b \ufeff\u2060", "same niewidoczne znaki"),
            ("\u2800", "same niewidoczne znaki")]


@pytest.mark.parametrize("value", TEXT_GOOD)
def test_other_text_may_hold_any_printable_character(value):
    assert check_text(value, "Model") == value


@pytest.mark.parametrize(("value", "message"), TEXT_BAD)
def test_other_text_refuses_control_bidi_and_invisible_only(value, message):
    with pytest.raises(TextRefused) as refused:
        check_text(value, "Model")
    assert str(refused.value).startswith("Pole „Model” zawiera") and message in str(refused.value)


def test_a_multiline_field_may_hold_tabs_and_line_breaks_only():
    assert text_rules.check("HS 1\r\nHS 2\tx", multiline=True) is None
    assert text_rules.check("HS 1\x0bHS 2", multiline=True).problem is text_rules.Problem.CONTROL
    assert text_rules.check("HS 1\u2029", multiline=True).problem is text_rules.Problem.CONTROL
    assert text_rules.check("\u202eHS 1", multiline=True).problem is text_rules.Problem.BIDI
    assert text_rules.check("\n\u200b", multiline=True).problem is text_rules.Problem.INVISIBLE
