"""A card is drawn in its own template version's design (docs/domain.md §25): an amendment — a new
version added here with a different title, colours and surname position — changes the cards issued
from its day, never one already issued: that card's proof and its reprint keep their version.

Hand-worked: a MEiN-I/1 card issued on 21.11.2026 records poz. 2653's version (in force since
22.12.2023). A test amendment from 1.01.2027 retitles the card "LEGITYMACJA SZKOLNA (WZÓR 2027)".
On 1.02.2027 the printer rejects one card, the school reprints it under its number: the reprint's
data, manifest and proof still say poz. 2653 and the old title; a card dated 1.01.2027 gets the new."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from infra import clock
from infra import services
from infra.db import db
from printing import batch
from printing import fulfilment
from printing import queries as printing_queries
from printing.card_layout import DESIGNS
from printing.card_layout import PINK
from printing.card_layout import CardData
from printing.card_layout import Palette
from printing.fulfilment import ItemResult
from printing.models import PrintOrder
from printing.render import render_print_file
from printing.render import render_proof
from tenants.registry import template_versions as versions
from tenants.registry.models import Card
from tests.helpers import jpeg
from tests.helpers import run_jobs
from tests.printing.test_fulfilment import director
from tests.printing.test_fulfilment import operator
from tests.printing.test_fulfilment import place_order
from tests.printing.test_fulfilment import printer_session  # noqa: F401  (fixture)
from tests.printing.test_fulfilment import school_session  # noqa: F401  (fixture)
from tests.printing.test_fulfilment import take_on

AMENDMENT = "2027-test"
NEW_TITLE = "LEGITYMACJA SZKOLNA (WZÓR 2027)"
GREEN = Palette(gradient=((0.0, (0xd8, 0xf3, 0xdc)), (1.0, (0x95, 0xd5, 0xb2))), label=(0x1b, 0x43, 0x32),
                title=(0x08, 0x1c, 0x15), design=(0x2d, 0x6a, 0x4f))


@pytest.fixture
def amendment(monkeypatch):
    """MEiN-I/1 amended from 1.01.2027: another title, green, and the surname 2 mm lower."""
    version = versions.Version("MEiN-I/1", AMENDMENT, dt.date(2027, 1, 1), "zmiana testowa załącznika nr 4")
    monkeypatch.setitem(versions.VERSIONS, "MEiN-I/1", versions.VERSIONS["MEiN-I/1"] + (version,))
    old = DESIGNS[("MEiN-I/1", versions.AMENDED_2653)]
    fields = dict(old.front_fields)
    fields["surname"] = dataclasses.replace(fields["surname"], y=fields["surname"].y + 2)
    monkeypatch.setitem(DESIGNS, ("MEiN-I/1", AMENDMENT),
                        dataclasses.replace(old, title=NEW_TITLE, palette=GREEN, front_fields=fields))
    return version


def card(issued: dt.date, version: str = "") -> CardData:
    return CardData(card_number="7", template_code="MEiN-I/1", first_names="Zuzanna", surname="Nowak",
                    date_of_birth=dt.date(2015, 5, 3), pesel="15250312345", school_name="Szkoła Podstawowa nr 1",
                    school_address="ul. Żółwia 12, 71-123 Szczecin", director_name="Grażyna Kowalczyk",
                    issue_date=issued, valid_until=dt.date(2027, 9, 30), photo_jpeg=jpeg(492, 633),
                    template_version=version)


def front_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_an_amendment_does_not_change_an_issued_card_and_changes_the_new_ones(amendment):
    issued = card(dt.date(2026, 11, 21), versions.AMENDED_2653)
    proof_before, print_before = render_proof([issued]), render_print_file([issued])
    assert "LEGITYMACJA SZKOLNA" in front_text(proof_before)
    # the amendment is in force now; the issued card names its version and is drawn exactly as before
    assert PINK != GREEN and DESIGNS[("MEiN-I/1", AMENDMENT)].title == NEW_TITLE
    with clock.pinned(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC)):
        assert render_print_file([issued]) == print_before
        assert NEW_TITLE not in front_text(render_proof([issued]))
    # a card of the amendment's day is drawn in the amendment's design, the day before in the old one
    assert card(dt.date(2027, 1, 1)).version == AMENDMENT and card(dt.date(2026, 12, 31)).version == "2023-2653"
    assert NEW_TITLE in front_text(render_proof([card(dt.date(2027, 1, 1))]))
    assert NEW_TITLE not in front_text(render_proof([card(dt.date(2026, 12, 31))]))
    # the version reaches the print file too: the surname moved 2 mm on the amendment's cards only
    assert render_print_file([card(dt.date(2026, 11, 21), AMENDMENT)]) != print_before
    assert render_print_file([card(dt.date(2026, 11, 21), "")]) != render_print_file([card(dt.date(2027, 1, 1))])


def test_a_version_without_a_design_is_not_drawn_in_another_one():
    with pytest.raises(ValueError, match="no design"):
        render_proof([card(dt.date(2026, 11, 21), "1999-old")])


def test_an_old_cards_reprint_keeps_its_version(app, two_schools, printer_session, school_session,  # noqa: F811
                                                amendment):
    with clock.pinned(dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)):
        order_id = place_order(app, two_schools, count=2)
    p1 = two_schools["p1"]
    with clock.pinned(dt.datetime(2027, 2, 1, 10, tzinfo=dt.UTC)):
        take_on(printer_session, p1, order_id)
        with printer_session(p1):
            order = printing_queries.get_printer_order(order_id)
            fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="S1"),
                                                            ItemResult("2", "rejected", reason="Zła folia")])
            fulfilment.ship(operator(p1), order, carrier="DPD", tracking_number="")
            db.session.commit()
        with school_session():
            reprint = fulfilment.reprint(director(two_schools), printing_queries.get_school_order(order_id))
            db.session.commit()
            reprint_id = reprint.id
            from printing.tasks import relay_outbox

            relay_outbox()
        run_jobs(app)
        with school_session():
            row = db.session.execute(select(Card.order_id, Card.issue_date, Card.template_version)
                                     .where(Card.number == 2)).one()
            assert tuple(row) == (reprint_id, dt.date(2026, 11, 21), versions.AMENDED_2653)
            reprint = db.session.get(PrintOrder, reprint_id)
            assert reprint.status == "ready"
            manifest = json.loads(services.storage().get(reprint.manifest_key))
            assert manifest["cards"][0]["template_version"] == versions.AMENDED_2653
            [data] = batch.preview_data(reprint, director(two_schools), today=clock.today())
            assert data.template_version == versions.AMENDED_2653  # the card's own, not today's
            proof = front_text(render_proof([data]))
            assert "LEGITYMACJA SZKOLNA" in proof and NEW_TITLE not in proof
            db.session.commit()
