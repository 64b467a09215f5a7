"""The registry book (PDF, XLSX) and a delivered batch's handover list (PDF), from plain rows.

`tenants.registry.queries.RegistryRow` carries exactly what the school's register shows; the PDF and XLSX are built
from the same rows, so they list the same cards.
"""

from __future__ import annotations

import datetime as dt

from infra import inputs
from infra.spreadsheets import Sheet
from infra.spreadsheets import xlsx_document
from tenants.documents import TEMPLATES
from tenants.registry.queries import RegistryRow

HEADERS = ["Nr legitymacji", "Nazwisko i imiona", "PESEL / dokument", "Data urodzenia", "Klasa", "Wzór",
           "Data wydania", "Ważna do", "Hologramy", "Stan", "Data odbioru", "Odebrał(a)", "Uwagi"]


def _d(value: dt.date | None) -> str:
    return inputs.format_day(value) if value else ""


def cells(row: RegistryRow) -> list[str]:
    return [row.label, row.name, row.identity, _d(row.date_of_birth), row.class_name, row.template,
            _d(row.issue_date), _d(row.valid_until), row.holograms, row.status, _d(row.handed_over_on),
            row.collected_by, row.note]


def registry_pdf(school_name: str, school_address: str, scope: str, rows: list[RegistryRow],
                 printed_on: dt.date) -> bytes:
    return TEMPLATES.render("registry_book.html", "registry_book.css", school_name=school_name,
                            school_address=school_address, scope=scope, headers=HEADERS,
                            rows=[cells(r) for r in rows], printed_on=_d(printed_on))


def registry_xlsx(school_name: str, scope: str, rows: list[RegistryRow]) -> bytes:
    """The register as one sheet: a title, the scope, the header and a row per card, all text
    (as the book prints it); names and notes stay text, never formulas (`infra.spreadsheets`)."""
    return xlsx_document([Sheet(
        title="Ewidencja",
        rows=[(f"Ewidencja wydanych legitymacji szkolnych — {school_name}",), (scope,), HEADERS,
              *(cells(row) for row in rows)],
        bold_rows=frozenset({2}), widths=(14, 30, 18, 13, 8, 11, 13, 13, 22, 22, 13, 28, 30), freeze="A4")])


def handover_pdf(school_name: str, order_label: str, rows: list[tuple[str, str, str]], printed_on: dt.date) -> bytes:
    """A list to sign when the cards of one delivered order are handed out: (number, name, class)."""
    return TEMPLATES.render("handover_list.html", "registry_book.css", school_name=school_name, order_label=order_label,
                            rows=rows, printed_on=_d(printed_on))
