"""One card from school to printer to city, through the web UI, on PostgreSQL with RLS, with a
real rq worker on real Redis."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import shutil
import subprocess

from PIL import Image
from pypdf import PdfReader
from rq import SimpleWorker
from sqlalchemy import select

from infra import clock
from infra import services
from infra.db import db
from printing.batch import print_file
from printing.models import OrderItem
from printing.models import PrintOrder
from tenants.mail.models import MailMessage
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.models import Application
from tenants.registry import school_year
from tenants.registry.models import Card
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tests.helpers import id_from_location
from tests.helpers import ui_pupil_with_photo

DOB = dt.date(2019, 3, 14)
PESEL = pesel_rules.make(DOB, 123, "K")


def run_worker(app):
    queue = services.queue()
    worker = SimpleWorker([queue.rq], connection=queue.connection)
    worker.work(burst=True)


def load(app, school_id, model, **filters):
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        stmt = select(model).filter_by(**filters)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_one_card_end_to_end(app, two_schools, browser, redis, caplog, storage_root, tmp_path):
    caplog.set_level(logging.DEBUG)
    a = two_schools["a"]
    secretary = browser("sekretariat.a@test.pl")
    pupil_id = ui_pupil_with_photo(secretary, surname="Wróblewska-Żak")
    page = secretary.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
    assert "Wróblewska-Żak" in page and "*******" + PESEL[-4:] in page and PESEL not in page
    photo = secretary.get(f"/szkola/uczniowie/{pupil_id}/zdjecie.jpg")
    image = Image.open(io.BytesIO(photo.data))
    assert photo.mimetype == "image/jpeg" and image.size == (492, 633) and not image.getexif()
    assert secretary.post(f"/szkola/uczniowie/{pupil_id}/wnioski").status_code == 302
    [application] = load(app, a, Application, pupil_id=pupil_id)
    assert application.status == "submitted" and application.fee_amount == 0

    # A secretary cannot approve; the director can.
    decide = f"/szkola/wnioski/{application.id}/decyzja"
    assert secretary.post(decide, {"decision": "approve"}).status_code == 404
    director = browser("dyrektor.a@test.pl")
    page = director.get(f"/szkola/wnioski/{application.id}").get_data(as_text=True)
    assert PESEL in page  # the approval screen shows the full PESEL to check it
    assert director.post(decide, {"decision": "approve"}).status_code == 302

    response = director.post("/szkola/zamowienia/nowe", {"application_id": application.id,
                                                         "channel": two_schools["p1"]})
    assert response.status_code == 302
    order_id = id_from_location(response)
    assert director.post(f"/szkola/zamowienia/{order_id}/zloz").status_code == 302

    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.status == "submitted"
    assert (order.first_number, order.last_number, order.card_count) == (1, 1, 1)
    assert str(order.unit_price) == "12.00" and str(order.total_price) == "12.00"
    [card] = load(app, a, Card, order_id=order_id)
    assert card.number == 1 and card.template_code == "MEiN-I/1"
    # 30 September after the school year the card serves: the coming one from the summer cut-over
    # (docs/domain.md §4; the cut-over is never after 1 September, so it covers September–December).
    issued = card.issue_date
    assert card.valid_until == dt.date(issued.year + (issued >= school_year.cutover(issued.year)), 9, 30)

    # Redis holds only ids: the job's arguments are (order id, school id), no personal data.
    with app.app_context():
        jobs = services.queue().rq.get_jobs()
        # the batch, and the e-mail telling the printer an order has arrived (by its outbox row's id)
        assert sorted(job.func_name.rsplit(".", 1)[1] for job in jobs) == ["build_batch", "send_mail"]
    [mail] = load(app, a, MailMessage, subject_id=order_id)
    assert (mail.kind, mail.recipient_id) == ("order_arrived", order.printer_id)
    assert {job.args for job in jobs} == {(order_id, a), (mail.id, a)}
    dump = b"".join(redis.dump(k) or b"" for k in redis.keys("*"))
    assert PESEL.encode() not in dump and "Wróblewska".encode() not in dump

    with app.app_context():
        run_worker(app)
    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.status == "ready", order.error
    with app.app_context():
        assert order.pdf_key is None  # storage keeps no plain card PDF (docs/security.md T3.19)
        pdf = print_file(order)
        manifest = json.loads(services.storage().get(order.manifest_key))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    for page in reader.pages:
        width_mm = float(page.mediabox.width) / 72 * 25.4
        height_mm = float(page.mediabox.height) / 72 * 25.4
        assert abs(width_mm - 85.60) < 0.01 and abs(height_mm - 53.98) < 0.01
    front, back = (p.extract_text() for p in reader.pages)
    for expected in ("Zuzanna", "Wróblewska-Żak", "14.03.2019", PESEL, "Szkoła Podstawowa nr 1", "Anna Dyrektorska",
                     card.issue_date.strftime("%d.%m.%Y")):
        assert expected in front
    # the personalisation only: the blank carries the design and the transport statement (docs/domain.md §3)
    assert "ulgowych przejazdów" not in back and card.valid_until.strftime("%d.%m.%Y") in back
    assert "LEGITYMACJA SZKOLNA" not in front and "Imię (imiona)" not in front
    assert manifest["cards"] == [{"card_number": "1", "template_code": "MEiN-I/1", "template_version": "2023-2653",
                                  "front_page": 1, "back_page": 2}]
    assert PESEL not in json.dumps(manifest)

    # The printer sees the order in its queue and takes it on; only then can it download the batch.
    printer = browser("drukarnia.1@test.pl")
    assert f"/drukarnia/zamowienia/{order_id}" in printer.get("/drukarnia/").get_data(as_text=True)
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf").status_code == 404
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    download = printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == pdf
    # The encrypted package: its password on a page of its own, and the real 7z program opens it.
    order_page = printer.get(f"/drukarnia/zamowienia/{order_id}").get_data(as_text=True)
    assert "Pokaż hasło do paczki" in order_page
    packed = printer.post(f"/drukarnia/zamowienia/{order_id}/paczka.7z")
    assert packed.status_code == 200 and packed.data.startswith(b"7z\xbc\xaf\x27\x1c")
    password_page = printer.post(f"/drukarnia/zamowienia/{order_id}/haslo").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', password_page).group(1)
    assert password not in order_page
    archive = tmp_path / "paczka.7z"
    archive.write_bytes(packed.data)
    opened = subprocess.run([shutil.which("7z") or shutil.which("7zz"), "x", f"-p{password}",
                             f"-o{tmp_path / 'out'}", "-y", str(archive)], capture_output=True, text=True, check=False)
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out" / "cards.pdf").read_bytes() == pdf
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.jpg")) == ["1.jpg"]
    assert (tmp_path / "out" / "MEiN_I_1.xlsx").exists()
    # Per-card result: printed on blank AB-000123 with a chip; the order is then printed.
    [item] = load(app, a, OrderItem, order_id=order_id)
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/wyniki", {
        f"outcome-{item.id}": "printed", f"serial-{item.id}": "AB-000123", f"uid-{item.id}": "04:a1:b2:c3:d4:e5:f6",
    }).status_code == 302
    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.status == "printed"
    no_carrier = printer.post(f"/drukarnia/zamowienia/{order_id}/wyslane", {"carrier": " "})
    assert no_carrier.status_code == 422 and "przewoźnika" in no_carrier.get_data(as_text=True)
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/wyslane",
                        {"carrier": "InPost", "tracking_number": "6200 1234 5678"}).status_code == 302

    # The school confirms delivery (the parent is told) and records who collected the card.
    assert secretary.post(f"/szkola/zamowienia/{order_id}/dostarczone").status_code == 302
    [card] = load(app, a, Card, id=card.id)
    assert (card.status, card.blank_serial, card.chip_uid) == ("delivered", "AB-000123", "04A1B2C3D4E5F6")
    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.tracking_number == "620012345678" and order.purge_after is not None
    today = clock.today().strftime("%d.%m.%Y")
    response = secretary.post(f"/szkola/legitymacje/{card.id}/wydanie",
                              {"handed_over_on": today, "collected_by": "Małgorzata Wróblewska (matka)"})
    assert response.status_code == 302
    [card] = load(app, a, Card, id=card.id)
    assert card.status == "handed_over" and card.collected_by == "Małgorzata Wróblewska (matka)"
    [application] = load(app, a, Application, id=application.id)
    assert application.status == "issued"
    registry = secretary.get("/szkola/ewidencja").get_data(as_text=True)
    assert "Małgorzata Wróblewska (matka)" in registry

    # The city sees counts and money for the school, and nothing about the pupil.
    city = browser("urzednik@test.pl").get("/miasto/")
    text = city.get_data(as_text=True)
    assert city.status_code == 200 and "Szkoła Podstawowa nr 1" in text and "12,00" in text
    row = text.split("Szkoła Podstawowa nr 1", 1)[1].split("</tr>", 1)[0]
    assert [c for c in row.replace("<", ">").split(">") if c.strip().isdigit()][:3] == ["1", "1", "1"]
    assert "Wróblewska" not in text and PESEL not in text

    # The PESEL never reached a log line, a storage key or a URL.
    assert PESEL not in caplog.text
    assert not [p for p in storage_root.rglob("*") if PESEL in str(p) or "Wróblewska" in str(p)]

    # Every view of the pupil's data left an access-log entry, the printer's download too.
    actions = {row.action for row in load(app, a, AccessLog)}
    assert {"pupil_view", "photo_view", "pesel_view", "batch_render", "batch_download"} <= actions


def test_failed_batch_is_visible_and_can_be_retried(app, two_schools, browser):
    a = two_schools["a"]
    director = browser("dyrektor.a@test.pl")
    pupil_id = ui_pupil_with_photo(director)
    director.post(f"/szkola/uczniowie/{pupil_id}/wnioski")
    [application] = load(app, a, Application, pupil_id=pupil_id)
    director.post(f"/szkola/wnioski/{application.id}/decyzja", {"decision": "approve"})
    order_id = id_from_location(director.post("/szkola/zamowienia/nowe", {
        "application_id": application.id, "channel": two_schools["p1"]}))
    director.post(f"/szkola/zamowienia/{order_id}/zloz")

    # The photo vanishes from storage before the job runs.
    from tenants.pupils.models import Pupil

    [pupil] = load(app, a, Pupil, id=pupil_id)
    with app.app_context():
        photo = services.storage().get(pupil.photo_key)
        services.storage().delete(pupil.photo_key)
        run_worker(app)
    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.status == "failed" and order.error == "Brak zdjęcia u 1 ucznia w zamówieniu."
    assert order.package_key is None and order.manifest_key is None
    page = director.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "Brak zdjęcia u 1 ucznia" in page and "Przygotuj paczkę ponownie" in page
    # The printer cannot download anything from a failed order.
    assert browser("drukarnia.1@test.pl").post(f"/drukarnia/zamowienia/{order_id}/karty.pdf").status_code == 404

    with app.app_context():
        services.storage().put(pupil.photo_key, photo, "image/jpeg")
    assert director.post(f"/szkola/zamowienia/{order_id}/ponow").status_code == 302
    with app.app_context():
        run_worker(app)
    [order] = load(app, a, PrintOrder, id=order_id)
    assert order.status == "ready" and order.attempt == 2 and order.first_number == 1
    assert len(load(app, a, Card, order_id=order_id)) == 1  # the retry numbered nothing again
