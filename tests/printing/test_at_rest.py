"""Personal data at rest (docs/security.md T3.19): after a batch, storage holds the encrypted
package, the manifest (no personal data) and the pupils' photos, and no plain copy of the card
PDF. Every stored object (every version, on moto's S3 server) is scanned for the seeded pupil's
PESEL and surname, inside ZIP members (xlsx, XML character references decoded) and in a PDF's
extracted text too (the card PDF draws its text with CID fonts in compressed streams, so a byte
search alone would miss it); the printer still gets the PDF, and the 7z program opens the
package with its password."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import shutil
import subprocess
import uuid
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from infra import services
from infra.db import db
from infra.storage import S3Storage
from printing import batch
from printing import operations as printing_ops
from printing import package
from printing import queries as printing_queries
from printing import retention
from printing.models import PrintOrder
from printing.tasks import relay_outbox
from tenants.pupils import applications
from tenants.pupils import pesel as pesel_rules
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import run_jobs
from tests.helpers import store_photo
from tests.infra.test_storage import s3_endpoint  # noqa: F401 (the moto server fixture)
from tests.printing.test_fulfilment import director
from tests.printing.test_retention import versions


@pytest.fixture
def s3_app(app, s3_endpoint):  # noqa: F811
    """The test app storing files in a versioned bucket of its own on moto's S3 server, encrypted
    at rest as the app stores them (T3.20): every object in it is this test's. Yields the bucket
    itself (its raw objects)."""
    from infra.storage_crypto import EncryptedStorage

    storage = S3Storage(f"legitka-at-rest-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint,
                        region="eu-central-1", access_key="testing", secret_key="testing")
    storage.ensure_bucket(versioned=True)
    registered = app.extensions["legitka"]
    local, registered.storage = registered.storage, EncryptedStorage(storage, registered.storage.keys)
    yield app, storage
    registered.storage = local


BORN = dt.date(2017, 2, 9)
PESEL = pesel_rules.make(BORN, 417, "K")
SURNAME = "Wróblewska-Żak"


def texts(data: bytes, depth: int = 0) -> list[str]:
    """Everything readable in `data`: its bytes as text, each ZIP member's (an xlsx too), and a
    PDF's extracted page text. An encrypted 7z gives nothing but noise."""
    plain = data.decode("utf-8", "replace")
    found = [plain, html.unescape(plain), data.decode("utf-16-le", "replace")]  # XML writes "&#243;" for "ó"
    if depth < 3 and data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                found += [name, *texts(archive.read(name), depth + 1)]
    if data.startswith(b"%PDF"):
        found += [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    return found


def personal(data: bytes) -> set[str]:
    """Which of the seeded pupil's PESEL and surname `data` shows."""
    readable = "\n".join(texts(data))
    return {value for value in (PESEL, SURNAME) if value in readable}


def every_object(storage) -> dict[str, bytes]:
    """Every stored version of every object in the bucket, by "key@version"."""
    listing = storage.client.list_object_versions(Bucket=storage.bucket)
    assert not listing.get("IsTruncated")
    return {f"{v['Key']}@{v['VersionId']}": storage.client.get_object(
        Bucket=storage.bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        for v in listing.get("Versions", [])}


def order_for_the_seeded_pupil(app, ids) -> int:
    """One pupil (PESEL, surname with diacritics), a photo, an approved application, the order
    submitted to printer P1 and its batch built by the worker."""
    actor = director(ids)
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        pupil = add_pupil(actor, first="Zuzanna", surname=SURNAME, born=BORN, serial=417, sex="K")
        store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil)
        applications.decide_application(actor, application, approve=True)
        order = printing_ops.create_order(actor, school, ids["p1"], [application.id])
        printing_ops.submit_order(actor, order)
        db.session.commit()
        order_id = order.id
        relay_outbox()
    run_jobs(app)
    return order_id


def test_the_scanner_finds_the_pupil_in_a_plain_card_pdf_and_not_in_the_encrypted_package(app, two_schools):
    # The check below is only worth something if it sees the PESEL where it is: in the card PDF
    # (text in compressed CID-font streams) and in a data sheet inside a ZIP, but not in the 7z.
    order_id = order_for_the_seeded_pupil(app, two_schools)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        order = printing_queries.get_school_order(order_id)
        assert order.status == "ready", order.error
        pdf = batch.print_file(order)
        password = services.pesel_cipher().decrypt(order.package_password_cipher)
        packed = services.storage().get(order.package_key)
    assert PESEL.encode() not in pdf  # a byte search alone would pass the plain PDF
    assert personal(pdf) == {PESEL, SURNAME}
    sheet = package.extract(packed, password, "MEiN_I_1.xlsx")
    assert personal(sheet) == {PESEL, SURNAME}
    assert personal(packed) == set()


def test_no_plain_personal_data_in_storage_after_a_batch(s3_app, two_schools, browser, tmp_path):
    app, storage = s3_app
    order_id = order_for_the_seeded_pupil(app, two_schools)
    a = two_schools["a"]
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = printing_queries.get_school_order(order_id)
        assert order.status == "ready", order.error
        assert order.pdf_key is None and order.package_key and order.manifest_key
        package_key, pdf_sha = order.package_key, order.pdf_sha256

    stored = every_object(storage)
    # the pupil's photo, the order's manifest and its package: nothing else, and no plain PDF
    assert len(stored) == 3, sorted(stored)
    assert not [k for k in stored if "cards.pdf" in k]
    leaks = {key: personal(data) for key, data in stored.items() if personal(data)}
    assert leaks == {}

    # The printer takes the order on and still gets everything it needs.
    printer = browser("drukarnia.1@test.pl")
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    download = printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert personal(download.data) == {PESEL, SURNAME}  # out of the package, on the fly
    from infra.crypto import sha256_hex

    assert sha256_hex(download.data) == pdf_sha
    manifest = printer.post(f"/drukarnia/zamowienia/{order_id}/manifest.json")
    assert manifest.status_code == 200 and personal(manifest.data) == set()
    packed = printer.post(f"/drukarnia/zamowienia/{order_id}/paczka.7z")
    assert packed.status_code == 200 and packed.data == stored[next(k for k in stored if k.startswith(package_key))]
    password_page = printer.post(f"/drukarnia/zamowienia/{order_id}/haslo").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', password_page).group(1)
    archive = tmp_path / "paczka.7z"
    archive.write_bytes(packed.data)
    opened = subprocess.run([shutil.which("7z") or shutil.which("7zz"), "x", f"-p{password}",
                             f"-o{tmp_path / 'out'}", "-y", str(archive)], capture_output=True, text=True, check=False)
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out" / "cards.pdf").read_bytes() == download.data

    # Downloads wrote nothing; storage is as clean as before.
    assert {key: personal(data) for key, data in every_object(storage).items() if personal(data)} == {}


def test_the_purge_sweep_removes_the_plain_pdf_older_batches_stored(s3_app, two_schools, browser):
    # An order built before T3.19 kept cards.pdf in storage and its key on the order.
    app, storage = s3_app
    order_id = order_for_the_seeded_pupil(app, two_schools)
    a = two_schools["a"]
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = printing_queries.get_school_order(order_id)
        pdf = batch.print_file(order)
        legacy_key = order.package_key.rsplit("/", 1)[0] + "/cards.pdf"
        storage.put(legacy_key, pdf, "application/pdf")
        storage.put(legacy_key, pdf, "application/pdf")  # a second version: a retry's overwrite
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id).values(pdf_key=legacy_key))
        db.session.commit()
    assert len(versions(storage, legacy_key)) == 2
    assert any(personal(data) for data in every_object(storage).values())
    printer = browser("drukarnia.1@test.pl")
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf").data == pdf  # the stored copy

    with app.app_context():
        assert retention.purge_due() == 0  # nothing delivered yet: no order purged …
    assert versions(storage, legacy_key) == []  # … but the plain PDF is gone, every version
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = printing_queries.get_school_order(order_id)
        assert order.pdf_key is None and order.package_key and order.purged_at is None
    assert {key: personal(data) for key, data in every_object(storage).items() if personal(data)} == {}
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf").data == pdf  # now out of the package
    with app.app_context():
        assert retention.drop_plain_print_files() == 0  # idempotent


def test_a_package_gives_back_only_its_files_and_only_with_its_password(app, two_schools):
    order_id = order_for_the_seeded_pupil(app, two_schools)
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        order = printing_queries.get_school_order(order_id)
        password = services.pesel_cipher().decrypt(order.package_password_cipher)
        packed = services.storage().get(order.package_key)
        with pytest.raises(package.PackageError):
            package.extract(packed, password + "x", "cards.pdf")
        with pytest.raises(package.PackageError):
            package.extract(packed, password, "nie-ma.pdf")
        # a package that no longer matches the checksum recorded for its PDF is refused
        order.pdf_sha256 = "0" * 64
        with pytest.raises(batch.BatchError):
            batch.print_file(order)
        db.session.rollback()
