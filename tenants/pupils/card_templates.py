"""Which card template (wzór) a learner gets, or that the learner gets no card: docs/domain.md §2.

`choose(learner_type, disabled, date_of_birth, on)` is the one place the choice is made; the
pupil's `template_code`, the application checks and the pupil page all read it."""

from __future__ import annotations

import datetime as dt
import typing

from tenants.registry import school_year

PUPIL, ADULT, PRESCHOOL = "pupil", "adult", "preschool"  # tenants.pupils.models.LearnerType's values

NO_CARD_NOT_DISABLED = ("Dziecko w wieku przedszkolnym nie otrzymuje legitymacji: legitymację przedszkolną "
                        "(wzór MEiN-I/5) wydaje się tylko dziecku niepełnosprawnemu w roku obowiązkowego "
                        "przygotowania przedszkolnego.")
NO_CARD_NOT_COMPULSORY_YEAR = ("Dziecko nie jest w roku obowiązkowego przygotowania przedszkolnego (rok szkolny, "
                               "który zaczyna się w roku kalendarzowym, w którym dziecko kończy 6 lat) — "
                               "legitymację przedszkolną (wzór MEiN-I/5) wydaje się tylko w tym roku.")


class Choice(typing.NamedTuple):
    """`template` is the template code, or None when the learner gets no card; `refusal` then says
    why, in Polish, for the school's staff and the parent."""

    template: str | None
    refusal: str = ""


def compulsory_preschool_year(date_of_birth: dt.date) -> int:
    """The school year (by its first calendar year) of the child's compulsory pre-school preparation:
    the one starting in the calendar year the child turns 6 (docs/domain.md §2)."""
    return date_of_birth.year + 6


def choose(learner_type: str, disabled: bool, date_of_birth: dt.date, on: dt.date,
           setting: str | None = None) -> Choice:
    """The template for a learner on day `on` (docs/domain.md §2): a pupil of a school for children
    and youth MEiN-I/1, or MEiN-I/3-N when disabled; an adult learner (słuchacz) MEiN-I/2, or
    MEiN-I/4-N when disabled; a pre-school child MEiN-I/5 only when disabled and when the school
    year a card issued on `on` serves (docs/domain.md §4: from the city's cut-over in summer, the
    coming one) is the compulsory pre-school year, otherwise no card. `setting` is the city's
    cut-over ("MM-DD", "" for the default rule; None: the current tenant's city). An unknown
    learner type is treated as a pupil (the data's default)."""
    if learner_type == PRESCHOOL:
        if not disabled:
            return Choice(None, NO_CARD_NOT_DISABLED)
        served = school_year.school_year_served(on, school_year.current_setting() if setting is None else setting)
        if served != compulsory_preschool_year(date_of_birth):
            return Choice(None, NO_CARD_NOT_COMPULSORY_YEAR)
        return Choice("MEiN-I/5")
    if learner_type == ADULT:
        return Choice("MEiN-I/4-N" if disabled else "MEiN-I/2")
    return Choice("MEiN-I/3-N" if disabled else "MEiN-I/1")
