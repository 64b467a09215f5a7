"""Prefilled application forms (A4 PDF) for parents to sign, modelled on the schools' own
forms (sources 001, 002): a new card (first or replacement) and a duplicate."""

from __future__ import annotations

import dataclasses
import datetime as dt

from infra import inputs
from tenants.documents import TEMPLATES


@dataclasses.dataclass(frozen=True)
class FormData:
    kind: str  # "first" | "replacement" | "duplicate"
    town: str
    today: dt.date
    school_name: str
    school_address: str
    director_name: str
    pupil_name: str
    class_name: str
    date_of_birth: dt.date
    identity_label: str  # "PESEL" or "Dokument tożsamości"
    identity_value: str
    reason: str
    fee: str  # "9,00 zł" for a duplicate: the application's own fee (docs/domain.md §25)
    bank_account: str  # formatted NRB, for a duplicate
    fee_basis: str = ""  # the fee's legal basis, kept with the application
    card_spec: str = "JPG, co najmniej 492×633 px, jasne jednolite tło"


def render_form(data: FormData) -> bytes:
    return TEMPLATES.render("application_form.html", "application_form.css", f=data, date=inputs.format_day)
