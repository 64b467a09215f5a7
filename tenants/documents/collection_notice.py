"""A printable notice that cards can be collected, for parents the school cannot e-mail
(docs/domain.md §20): one A4 page per class, the pupils' names only (no PESEL, no card number),
to read out or hand out in class."""

from __future__ import annotations

import dataclasses
import datetime as dt

from infra import inputs
from tenants.documents import TEMPLATES


@dataclasses.dataclass(frozen=True)
class ClassNotice:
    class_name: str
    pupil_names: list[str]


def render_notice(school_name: str, school_address: str, classes: list[ClassNotice], printed_on: dt.date) -> bytes:
    """The notice as PDF; `classes` in the order to print, each on its own page."""
    return TEMPLATES.render("collection_notice.html", "collection_notice.css", school_name=school_name,
                            school_address=school_address, classes=classes, printed_on=inputs.format_day(printed_on))
