"""Orders for the real worker tests (the processes are in tests/workers.py): placed as the
school's page places them, read back, and the check that an order ended with exactly one
complete package."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pathlib
import shutil
import subprocess

from sqlalchemy import func
from sqlalchemy import select

from infra import services
from infra.db import db
from printing import operations as printing_ops
from printing.models import OutboxEvent
from printing.models import PrintOrder
from printing.tasks import relay_outbox
from tenants.pupils import applications
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import letters
from tests.helpers import store_photo

SEVEN_ZIP = shutil.which("7z") or shutil.which("7zz")  # Debian's `7zip` package installs 7zz
BORN = dt.date(2018, 6, 1)
FIRST_NAME, SURNAME = "Bożenna", "Niewidzialska"  # must never reach Redis


# --- orders and what became of them -----------------------------------------------------------


def submit(app, school_id: int, user_id: int, printer_id: int, cards: int, first_serial: int = 100,
           born: dt.date = BORN) -> int:
    """An order of `cards` pupils placed the way the school's page places it: numbers and the
    outbox row in one transaction, then the relay enqueues the job. Returns the order id.
    Several orders of one school need pupils of distinct PESELs (`first_serial`, `born`)."""
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        first = add_pupil(actor, first=FIRST_NAME, surname=SURNAME, born=born, serial=first_serial)
        store_photo(actor, school, first)
        pupils = [first] + [add_pupil(actor, first=FIRST_NAME, surname=f"{SURNAME}-{letters(first_serial + i)}",
                                      born=born, serial=first_serial + i) for i in range(1, cards)]
        ids = []
        for pupil in pupils:
            pupil.photo_key, pupil.photo_status = first.photo_key, first.photo_status  # one picture, stored once
            application = applications.create_application(actor, pupil)
            applications.decide_application(actor, application, approve=True)
            ids.append(application.id)
        order = printing_ops.create_order(actor, school, printer_id, ids)
        printing_ops.submit_order(actor, order)
        db.session.commit()
        relay_outbox()
        return order.id


def order_row(app, school_id: int, order_id: int) -> PrintOrder:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        order = db.session.get(PrintOrder, order_id)
        db.session.expunge(order)
        return order


def status_of(app, school_id: int, order_id: int) -> str:
    return order_row(app, school_id, order_id).status


def outbox_of(app, order_id: int) -> list[OutboxEvent]:
    with app.app_context(), unscoped("test: the outbox of one order"):
        events = list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.order_id == order_id)))
        db.session.expunge_all()
        return events


def assert_one_complete_package(app, school_id: int, order_id: int, cards: int, tmp_path) -> PrintOrder:
    """`ready`, with exactly one set of batch files in storage (the recorded keys: no file of
    another attempt; no plain card PDF), a package whose checksum is the recorded one and which the 7z program
    opens with the stored password, its manifest matching its files and the stored manifest;
    numbers unique and contiguous; one access-log row per card."""
    order = order_row(app, school_id, order_id)
    assert order.status == "ready" and order.error == ""
    root = pathlib.Path(app.config["LOCAL_STORAGE_PATH"])
    folder = root / "schools" / str(school_id) / "orders" / str(order_id)
    stored = sorted(str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file())
    # the card PDF is not stored plain: it is in the package (docs/security.md T3.19)
    assert order.pdf_key is None and stored == sorted([order.manifest_key, order.package_key])
    assert [pathlib.PurePath(k).name for k in (order.manifest_key, order.package_key)] == [
        "manifest.json", "package.7z"]
    assert not list(root.rglob("*.part"))  # no half-written file left behind
    package_path = root / order.package_key
    assert hashlib.sha256(package_path.read_bytes()).hexdigest() == order.package_sha256
    with app.app_context():  # encrypted at rest (docs/security.md T3.20), unlike the package
        outer = json.loads(services.storage().get(order.manifest_key))
    assert outer["order_id"] == order_id and outer["card_count"] == cards
    assert SEVEN_ZIP, "make test installs Debian's 7zip"
    with app.app_context():
        password = services.pesel_cipher().decrypt(order.package_password_cipher)
    tested = subprocess.run([SEVEN_ZIP, "t", f"-p{password}", str(package_path)],
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    out = tmp_path / f"unpacked-{order_id}"
    opened = subprocess.run([SEVEN_ZIP, "x", f"-p{password}", f"-o{out}", "-y", str(package_path)],
                            capture_output=True, text=True, check=False)
    assert opened.returncode == 0, opened.stderr
    inner = json.loads((out / "manifest.json").read_text())
    assert inner["order"] == order_id
    for entry in inner["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    pdf = (out / "cards.pdf").read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == order.pdf_sha256
    assert outer["files"] == [{"name": "cards.pdf", "sha256": order.pdf_sha256, "bytes": len(pdf)}]
    assert [c["card_number"] for c in outer["cards"]] == [c["card_number"] for c in inner["cards"]]
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        numbers = db.session.scalars(select(Card.number).where(Card.order_id == order_id)
                                     .order_by(Card.number)).all()
        assert numbers == list(range(order.first_number, order.last_number + 1)) and len(numbers) == cards
        assert db.session.scalar(select(func.count()).select_from(Card).where(
            Card.school_id == school_id)) == db.session.scalar(select(func.count(func.distinct(Card.number))).where(
                Card.school_id == school_id))
        rendered = db.session.execute(
            select(AccessLog.pupil_id, func.count()).where(AccessLog.action == "batch_render",
                                                          AccessLog.order_id == order_id)
            .group_by(AccessLog.pupil_id)).all()
        assert len(rendered) == cards and {n for _, n in rendered} == {1}
    assert all(e.done_at is not None for e in outbox_of(app, order_id))
    return order
