"""Small builders shared by tests: images, pupils, orders through the real UI and operations."""

from __future__ import annotations

import datetime as dt
import io
import re

from PIL import Image
from PIL import ImageDraw

from infra import clock
from tenants.pupils import pesel as pesel_rules


def jpeg(width=800, height=1000, *, gps=False, color=(230, 230, 235)) -> bytes:
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.6), fill=(220, 180, 150))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    if gps:
        exif[0x8825] = {1: "N", 2: (53.0, 25.0, 0.0), 3: "E", 4: (14.0, 33.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(width=600, height=800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (240, 240, 240)).save(out, "PNG")
    return out.getvalue()


def letters(n: int) -> str:
    """A number spelt in capital letters, digit by digit ("A" for 0 … "J" for 9): names made unique by a
    number stay valid names (`tenants.pupils.names` allows no digits), e.g. f"Uczeń{letters(12)}" == "UczeńBC"."""
    return "".join("ABCDEFGHIJ"[int(d)] for d in str(n))


def pupil_form(first="Zuzanna", surname="Wróblewska", dob=dt.date(2019, 3, 14), sex="K", serial=123, **extra):
    data = {"first_names": first, "surname": surname, "date_of_birth": dob.strftime("%d.%m.%Y"), "sex": sex,
            "pesel": pesel_rules.make(dob, serial, sex), "class_name": "1a", "learner_type": "pupil"}
    data.update(extra)
    return data


def id_from_location(response) -> int:
    return int(re.search(r"/(\d+)(?:/[^/]*)?$", response.headers["Location"]).group(1))


def face_jpeg() -> bytes:
    """A real face as an ID photo (tests/faces.py): passes every automatic check."""
    from tests.faces import good_jpeg

    return good_jpeg()


def ui_pupil_with_photo(browser, **form) -> int:
    """Add a pupil and a real face photo through the school UI; returns the pupil id."""
    response = browser.post("/szkola/uczniowie/nowy", pupil_form(**form))
    assert response.status_code == 302, response.get_data(as_text=True)
    pupil_id = id_from_location(response)
    # "Send anyway": the painted-over background may draw a warning; errors would still refuse it.
    response = browser.post(f"/szkola/uczniowie/{pupil_id}/zdjecie",
                            {"photo": (io.BytesIO(face_jpeg()), "zdjecie.jpg"), "force": "1"},
                            content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return pupil_id


ALL_CHECKS_OFF = {code: "off" for code in (
    "file_size", "min_pixels", "face", "face_size", "centred", "background", "sharpness", "brightness")}


def store_photo(actor, school, pupil, data: bytes | None = None):
    """Give a pupil an accepted photo through the real intake, checks off (the picture is drawn)."""
    from tenants.photos import operations as photo_intake

    return photo_intake.submit_photo(actor, school, pupil, data or jpeg(), source="staff", policy=ALL_CHECKS_OFF)


def add_pupil(actor, first="Ola", surname="Nowak", born=dt.date(2018, 6, 1), serial=101, sex="K", **extra):
    from tenants.pupils.operations import PupilDetails
    from tenants.pupils.operations import add_pupil as add

    return add(actor, PupilDetails(first_names=first, surname=surname, date_of_birth=born,
                                   pesel=pesel_rules.make(born, serial, sex), **extra))


VULCAN_HEADER = ["Nazwisko", "Imię", "Drugie imię", "Data urodzenia", "PESEL", "Numer w księdze uczniów",
                 "Dane oddziału"]


def vulcan_row(surname, first, born: dt.date, serial: int, sex: str, class_name: str, second="", book="") -> list:
    return [surname, first, second, born.strftime("%d.%m.%Y"), pesel_rules.make(born, serial, sex), book, class_name]


def roster_csv(rows: list[list] | None = None, header: list[str] | None = None, encoding="utf-8-sig") -> bytes:
    """A pupil list as Vulcan exports it (CSV with ';'), by default two pupils of class 1a."""
    if rows is None:
        rows = [vulcan_row("Kowalska", "Anna", dt.date(2018, 3, 4), 11, "K", "1a", book="12/2024"),
                vulcan_row("Nowak", "Jan", dt.date(2018, 7, 9), 12, "M", "1a", second="Paweł", book="13/2024")]
    lines = [";".join(header or VULCAN_HEADER)] + [";".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def registry_csv(rows: list[str] | None = None) -> bytes:
    """A register of cards issued before Legitka in our template's columns (docs/domain.md §24), by
    default one paper card of a former pupil, number 1/2022."""
    header = ("Nr legitymacji;Nazwisko;Imię;Drugie imię;PESEL;Klasa (oddział);Data wydania;Rodzaj legitymacji;Stan;"
              "Data odbioru")
    if rows is None:
        rows = [f"1/2022;Dawny;Piotr;;{pesel_rules.make(dt.date(2008, 1, 20), 333, 'M')};8a;01.09.2022;papierowa;"
                "unieważniona;02.09.2022"]
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8-sig")


def upload_roster(staff, rows: list[list]) -> int:
    """A Vulcan list of `rows` uploaded (and dry-run) as the import page does it; the import's id."""
    response = staff.post("/szkola/import/", {"file": (io.BytesIO(roster_csv(rows)), "lista.csv")},
                          content_type="multipart/form-data")
    return id_from_location(response)


def import_row(app, school_id: int, import_id: int):
    """An import's row as its school sees it, detached (readable after the app context ends)."""
    from infra.db import db
    from tenants.roster.models import RosterImport
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope

    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        batch = db.session.get(RosterImport, import_id)
        db.session.expunge(batch)
        return batch


def stored(app, key: str) -> bool:
    """Whether the test app's (local) storage holds `key`."""
    import pathlib

    return (pathlib.Path(app.config["LOCAL_STORAGE_PATH"]) / key).exists()


def run_jobs(app) -> None:
    """Work off every queued job with rq's in-process worker, as the worker process would."""
    from rq import SimpleWorker

    from infra import services

    with app.app_context():
        queue = services.queue()
        SimpleWorker([queue.rq], connection=queue.connection).work(burst=True)


def approved_applications(actor, school, pupils: list) -> list[int]:
    """An application approved by `actor` (a director), with a stored photo, for each of `pupils`:
    ready to be ordered. Returns the applications' ids."""
    from tenants.pupils import applications

    made = []
    for pupil in pupils:
        store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil)
        applications.decide_application(actor, application, approve=True)
        made.append(application.id)
    return made


def handed_over_cards(actor, school, printer_id: int, pupils: list, kind: str = "first", *, reason_code: str = "",
                      today: dt.date | None = None, hand_over: bool = True) -> list:
    """Cards for `pupils` the real way: application, approval, order, numbers, delivery (set
    directly: printing is not under test) and handover (unless `hand_over` is False: the cards
    then wait at the school to be collected). Returns the cards."""
    from infra.db import db
    from infra.db import utcnow
    from printing import operations as printing_ops
    from tenants.pupils import applications

    school.bank_account = school.bank_account or "07102050110000990202075919"
    ids = []
    for pupil in pupils:
        if not pupil.photo_key:
            store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil, kind, reason_code=reason_code, school=school)
        if kind == "replacement":
            applications.record_old_card_return(actor, application, clock.today())
        if kind == "duplicate":
            applications.record_payment(actor, application, amount=application.fee_amount, paid_on=clock.today(),
                                        reference="test")
        applications.decide_application(actor, application, approve=True)
        ids.append(application.id)
    order = printing_ops.create_order(actor, school, printer_id, ids)
    cards = printing_ops.submit_order(actor, order, today=today)
    order.status, order.delivered_at = "delivered", utcnow()
    for card in cards:
        card.status = "delivered"
    db.session.flush()
    for card in cards if hand_over else ():
        printing_ops.record_handover(actor, card, handed_over_on=clock.today(), collected_by="rodzic")
    return cards


def blank_protocol(actor, prefix: str, committee: str = "Komisja"):
    """Blanks `<prefix>-01` and `-02` received into the stock of the actor's organisation (a school
    or a printer, inside its tenant scope) and the first destroyed by a protocol, which is returned
    (flushed; the caller commits)."""
    from tenants.registry import blanks

    blanks.receive(actor, supplier="PWPW", received_on=clock.today(), first=f"{prefix}-01", last=f"{prefix}-02")
    return blanks.destroy(actor, held_on=clock.today(), committee=committee, reason="wada", serials=[f"{prefix}-01"])


def make_zip(files: dict[str, bytes], **kw) -> bytes:
    """A ZIP archive of `files` (name → bytes); `kw` goes to `zipfile.ZipFile` (e.g. compression)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", **kw) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
