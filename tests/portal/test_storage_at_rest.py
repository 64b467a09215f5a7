"""Nothing with personal data unencrypted in file storage (docs/security.md T3.20), on the local
folder and on a versioned bucket of moto's S3 server: after a pupil's photo, a batch, a pupil list
and a register awaiting confirmation and a photo ZIP waiting for its job, every stored object
(every version) is scanned raw for the seeded PESEL, the pupil's surname and a JPEG; only the
printer's 7z package is stored as it is (encrypted for the printer); a pending transfer's photo
copy likewise encrypted. The app still reads it all:
the photo page, the printer's PDF and package, the list's import. The `encrypt-storage` command
encrypts what was stored plain before."""

from __future__ import annotations

import io
import pathlib
import re
import uuid

import pytest

from infra import services
from infra.db import db
from infra.envelope import MAGIC
from infra.storage import S3Storage
from infra.storage_crypto import EncryptedStorage
from printing import queries as printing_queries
from tenants.pupils.models import Pupil
from tenants.registry import imports as registry_imports
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.helpers import jpeg
from tests.helpers import make_zip
from tests.helpers import registry_csv
from tests.helpers import roster_csv
from tests.helpers import run_jobs
from tests.helpers import vulcan_row
from tests.infra.test_storage import s3_endpoint  # noqa: F401 (the moto server fixture)
from tests.portal.test_transfers import city  # noqa: F401 (schools A, B; A's Zofia with a photo)
from tests.portal.test_transfers import send
from tests.portal.test_transfers import transfer_row
from tests.printing.test_at_rest import BORN
from tests.printing.test_at_rest import PESEL
from tests.printing.test_at_rest import SURNAME
from tests.printing.test_at_rest import every_object
from tests.printing.test_at_rest import order_for_the_seeded_pupil
from tests.printing.test_at_rest import personal
from tests.printing.test_fulfilment import director

SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c"


@pytest.fixture(params=["local", "s3"])
def stored(request, app, two_schools, storage_root):
    """A function giving the raw bytes of every object the app stored during the test, by key
    (on S3 every version, by "key@version"), as the folder or the bucket holds them."""
    if request.param == "local":
        root = pathlib.Path(storage_root)
        before = {p for p in root.rglob("*") if p.is_file()}
        yield lambda: {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                       if p.is_file() and p not in before}
        return
    s3 = S3Storage(f"legitka-envelope-{uuid.uuid4().hex[:12]}", endpoint_url=request.getfixturevalue("s3_endpoint"),
                   region="eu-central-1", access_key="testing", secret_key="testing")
    s3.ensure_bucket(versioned=True)
    registered = app.extensions["legitka"]
    local, registered.storage = registered.storage, EncryptedStorage(s3, registered.storage.keys)
    yield lambda: every_object(s3)
    registered.storage = local


def assert_nothing_plain(objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        if key.split("@")[0].endswith("package.7z"):  # encrypted for the printer (T3.19), linked as is
            assert data.startswith(SEVEN_ZIP) and personal(data) == set(), key
            continue
        assert data.startswith(MAGIC), key
        assert PESEL.encode() not in data and SURNAME.encode() not in data and personal(data) == set(), key
        assert b"\xff\xd8\xff" not in data[:64] and b"JFIF\x00" not in data and b"Exif\x00\x00" not in data, key


def test_no_plain_personal_data_in_storage_and_the_app_still_reads_it(app, two_schools, browser, stored):
    a = two_schools["a"]
    order_id = order_for_the_seeded_pupil(app, two_schools)  # the pupil's photo, the order's batch
    staff = browser("sekretariat.a@test.pl")
    roster = staff.post("/szkola/import/", {"file": (io.BytesIO(roster_csv([vulcan_row(
        SURNAME, "Zuzanna", BORN, 417, "K", "1a"), vulcan_row(SURNAME, "Ala", BORN, 418, "K", "1a")])), "lista.csv")},
        content_type="multipart/form-data")
    assert roster.status_code == 302  # checked, waiting for "Importuj"
    roster_id = int(re.search(r"/szkola/import/(\d+)$", roster.headers["Location"]).group(1))
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        registry_imports.start(director(two_schools), registry_csv(
            [f"1/2022;{SURNAME};Zuzanna;;{PESEL};1a;01.09.2022;papierowa;unieważniona;02.09.2022"]))
        db.session.commit()
    archive = make_zip({f"{PESEL}.jpg": jpeg()})
    uploaded = staff.post("/szkola/zdjecia/zip", {"archive": (io.BytesIO(archive), "zdjecia.zip")},
                          content_type="multipart/form-data")
    assert uploaded.status_code == 302  # stored, its job not run yet

    objects = stored()
    kinds = {part for key in objects for part in ("photos", "imports", "orders") if f"/{part}/" in key}
    assert kinds == {"photos", "imports", "orders"} and len(objects) >= 6, sorted(objects)
    assert_nothing_plain(objects)

    # Callers read plain bytes as before: the photo page, the printer's files, the list's import.
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        pupil_id = db.session.query(Pupil.id).filter(Pupil.surname == SURNAME).scalar()
        package_key = printing_queries.get_school_order(order_id).package_key
    photo = staff.get(f"/szkola/uczniowie/{pupil_id}/zdjecie.jpg")
    assert photo.status_code == 200 and photo.data.startswith(b"\xff\xd8\xff")
    printer = browser("drukarnia.1@test.pl")
    assert printer.post(f"/drukarnia/zamowienia/{order_id}/przyjmij").status_code == 302
    assert personal(printer.post(f"/drukarnia/zamowienia/{order_id}/karty.pdf").data) == {PESEL, SURNAME}
    packed = printer.post(f"/drukarnia/zamowienia/{order_id}/paczka.7z").data
    with app.app_context():
        assert packed == services.storage().get(package_key) and packed.startswith(SEVEN_ZIP)
    assert staff.post(f"/szkola/import/{roster_id}/importuj").status_code == 302
    run_jobs(app)  # the list's import and the ZIP's job read their stored files
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        assert db.session.query(Pupil).filter(Pupil.surname == SURNAME).count() == 2
    assert_nothing_plain(stored())


def test_the_command_encrypts_what_was_stored_plain_before(app, two_schools, stored):
    with app.app_context():
        storage = services.storage()
        inner = storage.inner
        prefix = f"schools/{two_schools['a']}/photos/legacy{uuid.uuid4().hex}"  # this test's objects only
        photo, roster = f"{prefix}.jpg", f"{prefix}.bin"
        inner.put(photo, jpeg(), "image/jpeg")  # as stored before T3.20
        inner.put(roster, f"{SURNAME};{PESEL}".encode(), "text/csv")
        assert storage.get(photo).startswith(b"\xff\xd8\xff")  # read as it is meanwhile
    assert any(not data.startswith(MAGIC) for data in stored().values())

    result = app.test_cli_runner().invoke(args=["legitka", "encrypt-storage", "--prefix", prefix])
    assert result.exit_code == 0, result.output
    assert result.output == "2 object(s): 2 encrypted, 0 rekeyed, 0 current, 0 recipient, 0 gone, 0 failed.\n"
    assert_nothing_plain(stored())
    with app.app_context():
        assert services.storage().get(photo).startswith(b"\xff\xd8\xff")
        assert services.storage().get(roster) == f"{SURNAME};{PESEL}".encode()
    again = app.test_cli_runner().invoke(args=["legitka", "encrypt-storage", "--prefix", prefix])
    assert again.exit_code == 0 and again.output.startswith("2 object(s): 0 encrypted, 0 rekeyed, 2 current")


def test_a_pending_transfers_photo_copy_is_stored_encrypted(app, stored, city, browser):  # noqa: F811 (city: set up after the bucket)
    assert send(browser("sekretariat.a@test.pl"), city).status_code == 302
    transfer = transfer_row(app, city["a"])
    assert transfer.status == "pending" and transfer.photo_key
    objects = stored()
    assert any(key.split("@")[0] == transfer.photo_key for key in objects), sorted(objects)
    for key, data in objects.items():
        if not key.split("@")[0].endswith("package.7z"):
            assert data.startswith(MAGIC) and b"JFIF\x00" not in data and b"Przenoszona" not in data, key
    with app.app_context():
        assert services.storage().get(transfer.photo_key).startswith(b"\xff\xd8\xff")


def test_a_storage_key_that_is_no_key_stops_the_app_at_start(tmp_path):
    from portal import config as settings
    from tests.conftest import TEST_KEYS

    for bad in ({"STORAGE_KEY": "c2hvcnQ="}, {"STORAGE_RETIRED_KEYS": "not base64!"}):
        config = {**settings.defaults(str(tmp_path)), **TEST_KEYS, **bad}
        with pytest.raises(ValueError, match="STORAGE_KEY and each of STORAGE_RETIRED_KEYS must be 32 random bytes"):
            settings.finalise(config, str(tmp_path))
