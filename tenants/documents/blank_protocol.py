"""The destruction protocol of strictly accounted forms, as PDF (docs/domain.md §22): who held
it, when, the committee and the reason, and which cards (by number, with their blank serials) and
which blanks it destroyed. Card numbers only: no pupil's name or PESEL is printed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func
from sqlalchemy import select

from infra import inputs
from infra.db import db
from tenants.documents import TEMPLATES
from tenants.registry import blanks
from tenants.registry.models import BlankProtocol
from tenants.registry.models import Card
from tenants.tenancy.models import Organisation


@dataclasses.dataclass(frozen=True)
class CardRow:
    number: str
    blank_serial: str
    why: str  # the note the card was spoiled with (misprint, damaged, not collected)


@dataclasses.dataclass(frozen=True)
class BlankRow:
    serial: str
    card_number: str
    why: str


@dataclasses.dataclass(frozen=True)
class Protocol:
    number: str  # "2/2026": its place among the holder's protocols of that year
    held_on: dt.date
    committee: str
    reason: str
    cards: list[CardRow]
    spoiled: list[BlankRow]
    unused: list[str]  # ranges, "BL 0001 – BL 0040"
    unused_count: int


def render_protocol(holder_name: str, holder_address: str, protocol: Protocol, *, school: bool) -> bytes:
    return TEMPLATES.render("blank_protocol.html", "blank_protocol.css", holder_name=holder_name,
                            holder_address=holder_address, p=protocol, school=school,
                            held_on=inputs.format_day(protocol.held_on),
                            blank_total=len(protocol.spoiled) + protocol.unused_count)


def number_of(protocol: BlankProtocol) -> str:
    """"2/2026": the second protocol its holder held in 2026 (by date, then as recorded)."""
    year = protocol.held_on.year
    earlier = db.session.scalar(select(func.count()).select_from(BlankProtocol).where(
        BlankProtocol.holder_id == protocol.holder_id,
        BlankProtocol.held_on >= dt.date(year, 1, 1),
        (BlankProtocol.held_on < protocol.held_on)
        | ((BlankProtocol.held_on == protocol.held_on) & (BlankProtocol.id <= protocol.id))))
    return f"{earlier}/{year}"


def protocol_pdf(holder: Organisation, protocol: BlankProtocol) -> bytes:
    """The protocol as its holder (the current tenant) prints it to sign."""
    found = blanks.contents(protocol)
    school = holder.kind == "school"
    notes = {}
    if school and found.cards:
        notes = dict(db.session.execute(select(Card.id, Card.status_note)
                                        .where(Card.id.in_([d.card_id for d in found.cards]))).all())
    doc = Protocol(number=number_of(protocol), held_on=protocol.held_on, committee=protocol.committee,
                   reason=protocol.reason,
                   cards=[CardRow(d.card_label, d.blank_serial, notes.get(d.card_id, "")) for d in found.cards],
                   spoiled=[BlankRow(b.serial, b.card_label, b.spoil_reason) for b in found.spoiled],
                   unused=found.unused, unused_count=found.total_blanks - len(found.spoiled))
    return render_protocol(holder.name, holder.address_line, doc, school=school)
