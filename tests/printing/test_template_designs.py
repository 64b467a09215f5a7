"""Each template's design follows docs/domain.md §2: the school cards pink and alike (the "-N" ones
differ from MEiN-I/1 and I/2 only by their code), the pre-school card orange and blue, titled
"Legitymacja przedszkolna" and saying "przedszkola" where the school cards say "szkoły"."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from printing.card_layout import CardData
from printing.render import render_proof
from tests.helpers import jpeg

SCHOOL_CARDS = ["MEiN-I/1", "MEiN-I/2", "MEiN-I/3-N", "MEiN-I/4-N"]
COLOUR = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) (?:rg|RG)\b")


def card(template: str) -> CardData:
    return CardData(card_number="17", template_code=template, first_names="Zuzanna", surname="Nowak",
                    date_of_birth=dt.date(2020, 5, 3), pesel="20250312345", school_name="Zespół nr 5",
                    school_address="ul. Żółwia 12, 71-123 Szczecin", director_name="Grażyna Kowalczyk",
                    issue_date=dt.date(2026, 11, 21), valid_until=dt.date(2027, 9, 30), photo_jpeg=jpeg(492, 633))


def sides(template: str) -> tuple[str, str, bytes, bytes]:
    """(front text, back text, front design stream, back design stream) of the template's proof."""
    page = PdfReader(io.BytesIO(render_proof([card(template)]))).pages[0]
    designs = []
    for name in ("/C00", "/C01"):  # the card's front and back on the proof sheet
        form = page["/Resources"]["/XObject"][name].get_object()
        designs.append(form["/Resources"]["/XObject"]["/D"].get_object().get_data())
    text = page.extract_text()
    front, _, back = text.partition("Poświadcza")
    return front, "Poświadcza" + back, designs[0], designs[1]


def colours(stream: bytes) -> list[tuple[int, int, int]]:
    return [tuple(round(float(c) * 255) for c in m.groups()) for m in COLOUR.finditer(stream)]


def test_the_pre_school_card_speaks_of_the_pre_school_not_of_a_school():
    front, back, _, _ = sides("MEiN-I/5")
    for label in ("LEGITYMACJA PRZEDSZKOLNA", "Nazwa i adres przedszkola", "Dyrektor przedszkola", "MEiN-I/5"):
        assert label in front, label
    assert "Legitymacja przedszkolna nr 17" in back
    assert not re.search(r"\bszko[łl]", front + back, re.IGNORECASE)  # "przedszkolna" is fine, "szkoły" is not


@pytest.mark.parametrize("template", SCHOOL_CARDS)
def test_the_school_cards_keep_the_school_labels(template):
    front, back, _, _ = sides(template)
    for label in ("LEGITYMACJA SZKOLNA", "Nazwa i adres szkoły", "Dyrektor szkoły", template):
        assert label in front, label
    assert "przedszkol" not in (front + back).lower() and "Legitymacja szkolna nr 17" in back


@pytest.mark.parametrize("n, plain", [("MEiN-I/3-N", "MEiN-I/1"), ("MEiN-I/4-N", "MEiN-I/2")])
def test_the_n_templates_differ_from_i_1_and_i_2_only_by_their_code(n, plain):
    n_front, n_back, n_front_design, n_back_design = sides(n)
    front, back, front_design, back_design = sides(plain)
    assert n_front.replace(n, plain) == front and n_back.replace(n, plain) == back
    assert colours(n_front_design) == colours(front_design) and colours(n_back_design) == colours(back_design)
    assert b"/Bg sh" in n_front_design and b"/Bg sh" in front_design  # the same pink background


def test_the_pre_school_card_is_orange_and_blue_the_school_cards_pink():
    _, _, front, back = sides("MEiN-I/5")
    for design in (front, back):
        painted = colours(design)
        assert b"/Bg sh" not in design  # not the school cards' pink gradient
        assert any(r > g > b and r - b > 60 for r, g, b in painted)  # orange, at the top-left
        assert any(b > g > r and b - r > 40 for r, g, b in painted)  # blue, at the bottom-right
    _, _, school_front, _ = sides("MEiN-I/1")
    assert b"/Bg sh" in school_front
    assert not set(colours(front)) & set(colours(school_front)) - {(0x1d, 0x1d, 0x1f)}  # no colour shared but ink
