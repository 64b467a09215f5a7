"""Retention of print batches (docs/domain.md §12, docs/security.md T3.5): the files a printer could fetch
are deleted — every stored version — once the agreement's retention period (7 days) after the
school confirmed delivery has passed. A deletion receipt stays for the school and the city.

Run by the worker's periodic loop and by `flask legitka purge`. Idempotent: an order already
purged is skipped, and the receipt is unique per order.

The same sweep first removes the plain `cards.pdf` that batches built before docs/security.md
T3.19 stored next to their encrypted package (`drop_plain_print_files`): the PDF is in the package,
and downloads take it from there, so nothing is lost.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy import update

from infra import services
from infra.db import db
from infra.db import utcnow
from printing.models import DeletionReceipt
from printing.models import OrderStatus
from printing.models import PrintOrder
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind

log = logging.getLogger("legitka.retention")


@dataclasses.dataclass(frozen=True)
class _Due:
    order_id: int
    school_id: int


def due_orders(now: dt.datetime) -> list[_Due]:
    """Delivered orders past their retention, found city by city (each city sees its schools'
    orders; no tenant-less query is needed)."""
    due = []
    cities = db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.CITY.value)).all()
    for city_id in cities:
        with tenant_scope(Tenant(city_id=city_id)):
            rows = db.session.execute(select(PrintOrder.id, PrintOrder.school_id).where(
                PrintOrder.city_id == city_id, PrintOrder.status == OrderStatus.DELIVERED.value,
                PrintOrder.purged_at.is_(None), PrintOrder.purge_after <= now)).all()
            db.session.commit()
        due.extend(_Due(order_id, school_id) for order_id, school_id in rows)
    return due


def purge_order(order_id: int, school_id: int, now: dt.datetime | None = None) -> DeletionReceipt | None:
    """Delete the order's batch files and all their versions, forget the package password and
    complete the receipt. Returns the receipt (the existing one if already purged).

    In three steps, each durable before the next: the plan (every file and how many versions
    storage holds of it) is committed as an incomplete receipt before anything is deleted; then
    the files are deleted; then the receipt is completed and the order forgets its keys. A purge
    killed between the steps is continued by the next run (the order keeps its keys until the
    end), and a file that run finds already gone keeps the count of its plan: the receipt says
    what was really removed."""
    now = now or utcnow()
    with tenant_scope(Tenant(school_id=school_id)):
        order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == order_id,
                                                           PrintOrder.school_id == school_id))
        if order is None:
            return None
        receipt = db.session.scalar(select(DeletionReceipt).where(DeletionReceipt.order_id == order_id,
                                                                  DeletionReceipt.school_id == school_id))
        if receipt is not None and receipt.deleted_at is not None:
            db.session.commit()
            return receipt
        storage = services.storage()
        keys = {name: key for name, key in (("package.7z", order.package_key), ("cards.pdf", order.pdf_key),
                                            ("manifest.json", order.manifest_key)) if key}
        if receipt is None:
            hashes = {"package.7z": order.package_sha256, "cards.pdf": order.pdf_sha256}
            receipt = DeletionReceipt(school_id=school_id, city_id=order.city_id, order_id=order_id,
                                      printer_id=order.printer_id, delivered_at=order.delivered_at, deleted_at=None,
                                      files=[{"name": name, "sha256": hashes.get(name),
                                              "versions": storage.count_versions(key)} for name, key in keys.items()])
            db.session.add(receipt)
            db.session.commit()  # the plan, before anything is deleted
        else:
            log.info("continuing the interrupted purge of order %s", order_id)
        files = [{**entry, "versions": max(entry["versions"], storage.purge(keys[entry["name"]]))}
                 if entry["name"] in keys else entry for entry in receipt.files]
        receipt.files, receipt.deleted_at = files, now
        db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id).values(
            purged_at=now, package_key=None, pdf_key=None, manifest_key=None, package_password_cipher=None)
            .execution_options(synchronize_session=False))
        db.session.commit()
        log.info("purged the batch files of order %s (%s files)", order_id, len(files))
        return receipt


def drop_plain_print_files() -> int:
    """Delete (every version of) the plain card PDF that orders built before docs/security.md T3.19
    kept in storage, and forget its key; returns how many were dropped. Only orders that have their
    encrypted package (which holds the same PDF, checked against `pdf_sha256` on download) lose
    it; one without a package cannot be downloaded at all (`fulfilment.can_download`) and its PDF
    goes too. A storage error leaves the key for the next run."""
    rows = []
    cities = db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.CITY.value)).all()
    for city_id in cities:
        with tenant_scope(Tenant(city_id=city_id)):
            rows.extend(db.session.execute(select(PrintOrder.id, PrintOrder.school_id, PrintOrder.pdf_key).where(
                PrintOrder.city_id == city_id, PrintOrder.pdf_key.is_not(None))).all())
            db.session.commit()
    storage = services.storage()
    dropped = 0
    for order_id, school_id, key in rows:
        try:
            storage.purge(key)
        except Exception as exc:
            log.warning("could not remove the plain print file of order %s: %s", order_id, type(exc).__name__)
            continue
        with tenant_scope(Tenant(school_id=school_id)):
            db.session.execute(update(PrintOrder).where(PrintOrder.id == order_id, PrintOrder.pdf_key == key)
                               .values(pdf_key=None).execution_options(synchronize_session=False))
            db.session.commit()
        dropped += 1
    if dropped:
        log.info("removed %s plain print file(s) kept next to their encrypted packages", dropped)
    return dropped


def purge_due(now: dt.datetime | None = None) -> int:
    """Purge every order whose retention has run out; returns how many were purged. Plain print
    files left by earlier batches go first (`drop_plain_print_files`)."""
    now = now or utcnow()
    drop_plain_print_files()
    count = 0
    for due in due_orders(now):
        try:
            if purge_order(due.order_id, due.school_id, now) is not None:
                count += 1
        except Exception as exc:  # one order's storage error must not keep the others' data
            db.session.rollback()
            log.error("purging order %s failed: %s; retried on the next run", due.order_id, type(exc).__name__)
    return count
