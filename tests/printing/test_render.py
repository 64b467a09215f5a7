"""Card PDFs: exact ID-1 pages, the printed fields, every template, no markup injection (T2.14)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from printing.operations import valid_until
from printing.render import CardData
from printing.render import render_cards
from printing.render import render_proof
from tests.helpers import jpeg


def card(**overrides) -> CardData:
    values = dict(card_number="17", template_code="MEiN-I/1", first_names="Zuzanna Łucja", surname="Żółkiewska",
                  date_of_birth=dt.date(2014, 5, 3), pesel="14250312345", school_name="Szkoła Podstawowa nr 18",
                  school_address="ul. Żółwia 12, 71-123 Szczecin", director_name="Grażyna Kowalczyk",
                  issue_date=dt.date(2026, 11, 21), valid_until=dt.date(2027, 9, 30), photo_jpeg=jpeg(492, 633))
    values.update(overrides)
    return CardData(**values)


def pages(pdf: bytes):
    return PdfReader(io.BytesIO(pdf)).pages


@pytest.mark.parametrize("template, title", [
    ("MEiN-I/1", "LEGITYMACJA SZKOLNA"), ("MEiN-I/2", "LEGITYMACJA SZKOLNA"), ("MEiN-I/3-N", "LEGITYMACJA SZKOLNA"),
    ("MEiN-I/4-N", "LEGITYMACJA SZKOLNA"), ("MEiN-I/5", "LEGITYMACJA PRZEDSZKOLNA"),
])
def test_each_template_gives_front_and_back_of_id1_size(template, title):
    front, back = pages(render_cards([card(template_code=template)]))
    for page in (front, back):
        assert round(float(page.mediabox.width) / 72 * 25.4, 2) == 85.60
        assert round(float(page.mediabox.height) / 72 * 25.4, 2) == 53.98
    text = front.extract_text()
    for field in (title, template, "Zuzanna Łucja", "Żółkiewska", "03.05.2014", "14250312345",
                  "Szkoła Podstawowa nr 18", "ul. Żółwia 12, 71-123 Szczecin", "Grażyna Kowalczyk", "21.11.2026", "17"):
        assert field in text, field
    assert "30.09.2027" in back.extract_text() and "transportu" in back.extract_text()


def test_a_batch_keeps_card_order_across_render_chunks():
    cards = [card(card_number=str(n), surname=f"Nazwisko{n}") for n in range(1, 54)]  # 2 chunks of ≤50
    result = pages(render_cards(cards))
    assert len(result) == 106
    assert "Nazwisko1" in result[0].extract_text() and "Nazwisko53" in result[104].extract_text()


def test_markup_in_data_is_printed_as_text_and_fetches_nothing():
    evil = '<img src="file:///etc/passwd"><b>X</b>'
    front, _ = pages(render_cards([card(surname=evil)]))
    assert "file:///etc/passwd" in front.extract_text()  # shown literally, never loaded
    assert "root:" not in front.extract_text()


@pytest.mark.parametrize("issued, expected", [
    (dt.date(2026, 9, 1), dt.date(2027, 9, 30)),
    (dt.date(2026, 11, 21), dt.date(2027, 9, 30)),
    (dt.date(2027, 3, 2), dt.date(2027, 9, 30)),
    (dt.date(2027, 8, 31), dt.date(2027, 9, 30)),
])
def test_validity_ends_30_september_of_the_school_year(issued, expected):
    assert valid_until(issued) == expected


def test_the_proof_is_a4_with_every_card_front_and_back_marked_as_a_specimen():
    reader = PdfReader(io.BytesIO(render_proof([card(card_number=str(i)) for i in range(1, 7)])))
    for page in reader.pages:
        assert abs(float(page.mediabox.width) / 72 * 25.4 - 210) < 0.5
        assert abs(float(page.mediabox.height) / 72 * 25.4 - 297) < 0.5
    text = " ".join(p.extract_text() for p in reader.pages)
    assert text.count("WZÓR") >= 12  # each front and back, plus the page header
    assert text.count("ulgowych przejazdów") == 6 and len(reader.pages) == 2  # 6 cards: 5 rows fit a page
