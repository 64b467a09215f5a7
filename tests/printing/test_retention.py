"""Retention: seven days after the school confirmed delivery the batch files and every stored
version of them are gone from S3 (moto's server over HTTP, versioned bucket), the printer has no
access, and a deletion receipt stays for the school and the city. Purging twice is harmless."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from infra.db import db
from infra.storage import S3Storage
from printing import fulfilment
from printing import queries as printing_queries
from printing import retention
from printing.fulfilment import ItemResult
from printing.models import DeletionReceipt
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.infra.test_storage import s3_endpoint  # noqa: F401 (the moto server fixture)
from tests.printing.test_fulfilment import director
from tests.printing.test_fulfilment import operator
from tests.printing.test_fulfilment import place_order


@pytest.fixture
def s3_app(app, s3_endpoint):  # noqa: F811
    """The test app storing files in a versioned bucket on moto's S3 server."""
    storage = S3Storage("legitka-retention", endpoint_url=s3_endpoint, region="eu-central-1",
                        access_key="testing", secret_key="testing")
    storage.ensure_bucket(versioned=True)
    services = app.extensions["legitka"]
    local, services.storage = services.storage, storage
    yield app, storage
    services.storage = local


def delivered_order(app, ids) -> int:
    order_id = place_order(app, ids, count=2)
    p1 = ids["p1"]
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.accept(operator(p1), order)
        fulfilment.mark_downloaded(operator(p1), order)
        fulfilment.record_results(operator(p1), order, [ItemResult("1", "printed", blank_serial="B1"),
                                                        ItemResult("2", "printed", blank_serial="B2")])
        fulfilment.ship(operator(p1), order, carrier="InPost", tracking_number="1")
        db.session.commit()
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        fulfilment.confirm_delivery(director(ids), printing_queries.get_school_order(order_id))
        db.session.commit()
    return order_id


def versions(storage, prefix):
    listing = storage.client.list_object_versions(Bucket=storage.bucket, Prefix=prefix)
    return listing.get("Versions", []) + listing.get("DeleteMarkers", [])


def test_purge_after_seven_days_removes_every_version_and_leaves_a_receipt(s3_app, two_schools):
    app, storage = s3_app
    order_id = delivered_order(app, two_schools)
    a = two_schools["a"]
    prefix = f"schools/{a}/orders/{order_id}/"
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = printing_queries.get_school_order(order_id)
        package_key, package_sha = order.package_key, order.package_sha256
        delivered_at = order.delivered_at
        storage.put(package_key, storage.get(package_key), "application/x-7z-compressed")  # a retry's overwrite
    assert len(versions(storage, prefix)) == 3  # manifest, package ×2 (no plain PDF: docs/security.md T3.19)

    with app.app_context():
        assert retention.purge_due(delivered_at + dt.timedelta(days=6, hours=23)) == 0
        assert len(versions(storage, prefix)) == 3
        assert retention.purge_due(delivered_at + dt.timedelta(days=7, hours=1)) == 1
    assert versions(storage, prefix) == []

    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        order = printing_queries.get_school_order(order_id)
        assert order.purged_at is not None and order.package_key is None and order.package_password_cipher is None
        [receipt] = db.session.scalars(select(DeletionReceipt)).all()
        files = {f["name"]: f for f in receipt.files}
        assert files["package.7z"] == {"name": "package.7z", "sha256": package_sha, "versions": 2}
        assert set(files) == {"package.7z", "manifest.json"} and files["manifest.json"]["versions"] == 1
    with app.app_context(), tenant_scope(Tenant(city_id=two_schools["city"])):
        assert [r.order_id for r in db.session.scalars(select(DeletionReceipt))] == [order_id]
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["b"])):
        assert db.session.scalars(select(DeletionReceipt)).all() == []
    with app.app_context(), tenant_scope(Tenant(printer_id=two_schools["p1"])):
        assert not fulfilment.can_download(printing_queries.get_printer_order(order_id))

    with app.app_context():  # twice: nothing more happens, still one receipt
        assert retention.purge_due(delivered_at + dt.timedelta(days=30)) == 0
        assert retention.purge_order(order_id, a) is not None
    with app.app_context(), tenant_scope(Tenant(school_id=a)):
        assert len(db.session.scalars(select(DeletionReceipt)).all()) == 1


def test_the_school_and_the_city_see_the_receipt(app, two_schools, browser):
    order_id = delivered_order(app, two_schools)
    with app.app_context():
        assert retention.purge_due(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)) == 1
    page = browser("dyrektor.a@test.pl").get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "Potwierdzenie usunięcia danych" in page and "package.7z" in page
    city = browser("urzednik@test.pl").get("/miasto/").get_data(as_text=True)
    assert f"nr {order_id}" in city and "usunięto" in city
    cli = app.test_cli_runner().invoke(args=["legitka", "purge"])
    assert cli.exit_code == 0 and "0" in cli.output
