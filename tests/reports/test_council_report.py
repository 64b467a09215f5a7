"""The council's PDF: the period, the source and the generation date on the page, tables with
Polish number formats, markup in names printed as text."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from pypdf import PdfReader

from reports.council_report import Section
from reports.council_report import render
from reports.tables import Table


def test_the_council_report_renders_tables_with_period_source_and_date():
    table = Table("rollout", "Postęp wdrożenia", ("Szkoła", "Zamówione", "Koszt"),
                  (("Szkoła <b>nr 1</b>", 1200, Decimal("15340.50")), ("XIII LO", 80, None)), note="Stan na dziś")
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="2" y="20">Wykres</text></svg>'
    pdf = render(city="Miasto Testowe", period="01.09.2026–31.08.2027", generated_at=dt.datetime(2026, 11, 22, 9, 5),
                 sections=[Section("Wdrożenie", (table,), (svg,), text="Zdanie wstępne.")])
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in ("Miasto Testowe", "01.09.2026–31.08.2027", "22.11.2026 09:05", "Źródło", "Postęp wdrożenia",
                     "Szkoła <b>nr 1</b>", "1 200", "15 340,50", "Wykres", "Zdanie wstępne", "strona 1 z 1"):
        assert expected.replace(" ", "") in text.replace(" ", "").replace("\u00a0", ""), expected


def test_the_city_official_downloads_the_council_report_for_the_period(app, two_schools, browser):
    official = browser("urzednik@test.pl")
    assert "Raport dla Rady Miasta (PDF)" in official.get("/miasto/").get_data(as_text=True)
    response = official.get("/miasto/raport.pdf?od=2026-09-01&do=2027-08-31")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = " ".join(text.split())
    for expected in ("Podstawowa nr 1", "Podstawowa nr 2", "01.09.2026", "31.08.2027",
                     "Wdrożenie", "Czas oczekiwania", "Wydatki", "Co by było", "Hologramy", "Źródło"):
        assert expected in flat, expected
    assert official.get("/miasto/raport.pdf?od=nie-data").status_code == 422
    assert browser("dyrektor.a@test.pl").get("/miasto/raport.pdf").status_code == 404
