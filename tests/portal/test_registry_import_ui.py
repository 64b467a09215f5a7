"""The register of cards issued before Legitka through the web (docs/domain.md §24): the template,
the preview with Polish errors and nothing written, the confirmation, the registry showing the
imported entries."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from infra.db import db
from tenants.pupils import pesel as pesel_rules
from tenants.registry.models import Card
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import id_from_location
from tests.helpers import registry_csv

PIOTR = pesel_rules.make(dt.date(2008, 1, 20), 333, "M")


def _upload(staff, data: bytes, name="ewidencja.csv"):
    return staff.post("/szkola/ewidencja/import", {"file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def _cards(app, school_id):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        return [(c.number, c.number_label, c.source) for c in db.session.scalars(select(Card).order_by(Card.number))]


def test_template_preview_and_confirm(app, two_schools, browser):
    staff = browser("sekretariat.a@test.pl")
    page = staff.get("/szkola/ewidencja").get_data(as_text=True)
    assert "/szkola/ewidencja/import" in page
    assert staff.get("/szkola/ewidencja/import").status_code == 200
    book = load_workbook(io.BytesIO(staff.get("/szkola/ewidencja/import/szablon.xlsx").data))
    assert [c.value for c in book["Ewidencja"][1]][:3] == ["Nr legitymacji", "Nazwisko", "Imię"]
    assert staff.get("/szkola/ewidencja/import/szablon.csv").data.startswith("\ufeffNr legitymacji".encode())

    # A file with an error: the preview says why in Polish, offers no saving, writes nothing.
    bad = registry_csv([f"3;Dawny;Piotr;;{PIOTR[:10]}0;8a;01.09.2022;papierowa;ważna;",
                        f"4;Dawny;Paweł;;{PIOTR};8a;13.07.2024;papierowa;ważna;"])
    if PIOTR[10] == "0":
        bad = bad.replace(f"{PIOTR[:10]}0".encode(), f"{PIOTR[:10]}1".encode(), 1)
    response = _upload(staff, bad)
    assert response.status_code == 302
    preview = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "PESEL ma błędną cyfrę kontrolną" in preview and "papierowe legitymacje wydawano do 12.07.2024" in preview
    assert "Zapisz" not in preview and PIOTR not in preview
    refused = staff.post(response.headers["Location"] + "/zapisz")
    assert refused.status_code == 422 and "całą ewidencję albo nic" in refused.get_data(as_text=True)
    assert _cards(app, two_schools["a"]) == []

    # A good file: saved on confirmation, the next number announced.
    response = _upload(staff, registry_csv())
    import_id = id_from_location(response)
    preview = staff.get(f"/szkola/ewidencja/import/{import_id}").get_data(as_text=True)
    assert "następna legitymacja zamówiona w Legitce dostanie numer 2" in preview
    assert _cards(app, two_schools["a"]) == []
    done = staff.post(f"/szkola/ewidencja/import/{import_id}/zapisz")
    assert done.status_code == 302
    assert "Następna legitymacja zamówiona w Legitce dostanie numer 2." in staff.get(
        done.headers["Location"]).get_data(as_text=True)
    assert _cards(app, two_schools["a"]) == [(1, "1/2022", "import")]
    registry = staff.get("/szkola/ewidencja").get_data(as_text=True)
    assert "Dawny Piotr" in registry and "z importu" in registry and "papierowa" in registry
    # Once saved it cannot be saved again.
    assert staff.post(f"/szkola/ewidencja/import/{import_id}/zapisz").status_code == 422
    assert _cards(app, two_schools["b"]) == []


def test_an_unreadable_or_empty_upload_is_a_422_in_polish(two_schools, browser):
    staff = browser("sekretariat.a@test.pl")
    response = _upload(staff, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "stary.xls")
    assert response.status_code == 422 and "starym formacie Excela" in response.get_data(as_text=True)
    response = staff.post("/szkola/ewidencja/import", {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Wybierz plik CSV lub XLSX." in response.get_data(as_text=True)
