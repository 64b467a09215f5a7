"""Card PDFs from plain data, with WeasyPrint.

`render_cards(cards)` takes a list of `CardData` (primitives only, no ORM objects) and returns
one PDF with two pages of exact ID-1 size per card: front, then back. Templates are the
server's own, rendered with autoescape in a sandbox; the URL fetcher allows only `data:` URLs
(the photos), so nothing in a pupil's data can make the renderer read a file or the network
(SECURITY.md T2.14).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io

from printing.pdf import env as _env
from printing.pdf import html_to_pdf

CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
CHUNK = 50  # one WeasyPrint document grows superlinearly with size (STACK-NOTES.md)


TITLES = {
    "MEiN-I/1": "LEGITYMACJA SZKOLNA",
    "MEiN-I/2": "LEGITYMACJA SZKOLNA",
    "MEiN-I/3-N": "LEGITYMACJA SZKOLNA",
    "MEiN-I/4-N": "LEGITYMACJA SZKOLNA",
    "MEiN-I/5": "LEGITYMACJA PRZEDSZKOLNA",
}
TRANSPORT_TEXT = ("Poświadcza uprawnienia do ulgowych przejazdów środkami publicznego transportu "
                  "zbiorowego kolejowego i autobusowego.")


@dataclasses.dataclass(frozen=True)
class CardData:
    """Exactly the fields printed on the card (SECURITY.md T3.1)."""

    card_number: str
    template_code: str
    first_names: str
    surname: str
    date_of_birth: dt.date
    pesel: str
    school_name: str
    school_address: str
    director_name: str
    issue_date: dt.date
    valid_until: dt.date
    photo_jpeg: bytes


def _date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def card_html(cards: list[CardData]) -> str:
    items = [{
        "number": c.card_number,
        "template": c.template_code,
        "title": TITLES.get(c.template_code, "LEGITYMACJA SZKOLNA"),
        "first_names": c.first_names,
        "surname": c.surname,
        "date_of_birth": _date(c.date_of_birth),
        "pesel": c.pesel,
        # A pupil without a PESEL shows the name and number of another identity document.
        "pesel_label": "PESEL" if len(c.pesel) == 11 and c.pesel.isdigit() else "Dokument tożsamości",
        "school_name": c.school_name,
        "school_address": c.school_address,
        "director_name": c.director_name,
        "issue_date": _date(c.issue_date),
        "valid_until": _date(c.valid_until),
        "photo": "data:image/jpeg;base64," + base64.b64encode(c.photo_jpeg).decode(),
    } for c in cards]
    return _env.get_template("cards.html").render(cards=items, transport_text=TRANSPORT_TEXT,
                                                  width=CARD_WIDTH_MM, height=CARD_HEIGHT_MM)


def _render_chunk(cards: list[CardData]) -> bytes:
    return html_to_pdf(card_html(cards), "cards.css")


def render_proof(cards: list[CardData]) -> bytes:
    """The school's proof: A4 sheets of the cards, front beside back, full design, each card
    marked "WZÓR" so that it cannot pass for a real one."""
    if not cards:
        raise ValueError("no cards to render")
    return html_to_pdf(card_html(cards), ("cards.css", "proof.css"))


def render_cards(cards: list[CardData]) -> bytes:
    """One PDF, front and back page per card, in the order given."""
    if not cards:
        raise ValueError("no cards to render")
    if len(cards) <= CHUNK:
        return _render_chunk(cards)
    from pypdf import PdfWriter

    writer = PdfWriter()
    for start in range(0, len(cards), CHUNK):
        writer.append(io.BytesIO(_render_chunk(cards[start:start + CHUNK])))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
