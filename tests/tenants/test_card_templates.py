"""Template choice for every learner type and disability (docs/domain.md §2), against cases
worked out by hand: who gets MEiN-I/1, I/2, I/3-N, I/4-N, I/5, and which pre-school child gets no card."""

from __future__ import annotations

import datetime as dt

import pytest

from tenants.pupils import card_templates
from tenants.pupils.card_templates import NO_CARD_NOT_COMPULSORY_YEAR
from tenants.pupils.card_templates import NO_CARD_NOT_DISABLED
from tenants.pupils.card_templates import choose
from tenants.pupils.models import LearnerType

D = dt.date
ON = D(2026, 11, 21)  # school year 2026/27: the compulsory pre-school year of children born in 2020

# (learner type, disabled, date of birth, day asked, expected template or None, why no card)
CASES = [
    # a pupil of a primary school (born 2018, class 2) and of a secondary school (born 2009)
    ("pupil", False, D(2018, 6, 1), ON, "MEiN-I/1", ""),
    ("pupil", True, D(2018, 6, 1), ON, "MEiN-I/3-N", ""),
    ("pupil", False, D(2009, 2, 14), ON, "MEiN-I/1", ""),
    ("pupil", True, D(2009, 2, 14), ON, "MEiN-I/3-N", ""),
    # a six-year-old pupil in class 1 (sent to school a year early) is a pupil, not a pre-school child
    ("pupil", True, D(2020, 3, 1), ON, "MEiN-I/3-N", ""),
    # an adult learner (słuchacz) of a policealna or adult school
    ("adult", False, D(1990, 1, 31), ON, "MEiN-I/2", ""),
    ("adult", True, D(1990, 1, 31), ON, "MEiN-I/4-N", ""),
    ("adult", False, D(2007, 10, 2), ON, "MEiN-I/2", ""),
    ("adult", True, D(2007, 10, 2), ON, "MEiN-I/4-N", ""),
    # a pre-school child: a card only when disabled AND in the year they turn 6 (2026 → 2026/27)
    ("preschool", True, D(2020, 3, 10), ON, "MEiN-I/5", ""),
    ("preschool", True, D(2020, 1, 1), ON, "MEiN-I/5", ""),
    ("preschool", True, D(2020, 12, 31), ON, "MEiN-I/5", ""),    # turns 6 on the last day of 2026
    ("preschool", False, D(2020, 3, 10), ON, None, NO_CARD_NOT_DISABLED),
    ("preschool", False, D(2022, 5, 5), ON, None, NO_CARD_NOT_DISABLED),  # not disabled comes first
    ("preschool", True, D(2021, 1, 1), ON, None, NO_CARD_NOT_COMPULSORY_YEAR),   # turns 6 in 2027: 2027/28
    ("preschool", True, D(2022, 9, 15), ON, None, NO_CARD_NOT_COMPULSORY_YEAR),  # a four-year-old
    ("preschool", True, D(2019, 12, 31), ON, None, NO_CARD_NOT_COMPULSORY_YEAR),  # its year was 2025/26
    # the edges: a card serves the school year its issue day gives (docs/domain.md §4) — from the
    # day after classes end (26.06.2026 and 25.06.2027 are the last Fridays of classes), the coming one
    ("preschool", True, D(2020, 6, 1), D(2026, 6, 26), None, NO_CARD_NOT_COMPULSORY_YEAR),  # serves 2025/26
    ("preschool", True, D(2020, 6, 1), D(2026, 6, 27), "MEiN-I/5", ""),  # serves 2026/27, valid to 30.09.2027
    ("preschool", True, D(2020, 6, 1), D(2026, 8, 31), "MEiN-I/5", ""),
    ("preschool", True, D(2020, 6, 1), D(2026, 9, 1), "MEiN-I/5", ""),
    ("preschool", True, D(2020, 6, 1), D(2027, 6, 25), "MEiN-I/5", ""),  # still 2026/27
    ("preschool", True, D(2020, 6, 1), D(2027, 6, 26), None, NO_CARD_NOT_COMPULSORY_YEAR),  # 2027/28: in school
    ("preschool", True, D(2020, 6, 1), D(2027, 8, 31), None, NO_CARD_NOT_COMPULSORY_YEAR),
    ("preschool", True, D(2020, 6, 1), D(2027, 9, 1), None, NO_CARD_NOT_COMPULSORY_YEAR),
    # an unknown or empty type is the data's default: a pupil
    ("", False, D(2015, 4, 4), ON, "MEiN-I/1", ""),
    ("", True, D(2015, 4, 4), ON, "MEiN-I/3-N", ""),
]


@pytest.mark.parametrize("learner_type, disabled, born, on, template, refusal", CASES)
def test_template_choice_for_every_learner_type_and_disability(learner_type, disabled, born, on, template, refusal):
    assert choose(learner_type, disabled, born, on, setting="") == (template, refusal)


def test_every_learner_type_and_disability_is_covered_by_the_table():
    covered = {(t or "pupil", d) for t, d, *_ in CASES}
    assert covered == {(t.value, d) for t in LearnerType for d in (False, True)}
    assert {card_templates.PUPIL, card_templates.ADULT, card_templates.PRESCHOOL} == {t.value for t in LearnerType}


def test_the_refusals_say_why_in_polish():
    assert "tylko dziecku niepełnosprawnemu" in NO_CARD_NOT_DISABLED
    assert "kończy 6 lat" in NO_CARD_NOT_COMPULSORY_YEAR


def test_a_citys_own_cutover_moves_the_pre_school_edge():
    """With the city's cut-over on 15 August, 14.08.2026 still serves 2025/26 and 15.08.2026 serves
    2026/27, the compulsory year of a child born in 2020."""
    born = D(2020, 6, 1)
    assert choose("preschool", True, born, D(2026, 8, 14), setting="08-15") == (None, NO_CARD_NOT_COMPULSORY_YEAR)
    assert choose("preschool", True, born, D(2026, 8, 15), setting="08-15") == ("MEiN-I/5", "")
