"""The printer's deletion confirmation (docs/domain.md §23; docs/security.md T3.8): after delivery
the printer confirms it deleted every copy of the order's data; a confirmation missing after the
retention days (7) from the Warsaw day of delivery is flagged "brak potwierdzenia usunięcia" for
the school and the city. Confirming is refused before delivery, is idempotent, and row-level
security lets only the order's own printer write it, only once the order is delivered."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete
from sqlalchemy import exc
from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra.db import db
from printing import deletions
from printing import fulfilment
from printing import queries as printing_queries
from printing.fulfilment import ItemResult
from printing.models import PrinterDeletion
from printing.models import PrintOrder
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import AccessLog
from tests.printing.test_fulfilment import director
from tests.printing.test_fulfilment import operator
from tests.printing.test_fulfilment import place_order

WARSAW = ZoneInfo("Europe/Warsaw")


def shipped_order(app, ids, count=1) -> int:
    """School A's order to printer P1, printed and shipped (not yet delivered)."""
    order_id = place_order(app, ids, count=count)
    p1 = ids["p1"]
    with app.app_context(), tenant_scope(Tenant(printer_id=p1)):
        order = printing_queries.get_printer_order(order_id)
        fulfilment.accept(operator(p1), order)
        fulfilment.mark_downloaded(operator(p1), order)
        fulfilment.record_results(operator(p1), order, [ItemResult(str(n), "printed", blank_serial=f"B{n}")
                                                        for n in range(order.first_number, order.last_number + 1)])
        fulfilment.ship(operator(p1), order, carrier="InPost", tracking_number="1")
        db.session.commit()
    return order_id


def deliver(app, ids, order_id, at: dt.datetime) -> None:
    """The school confirms delivery at the instant `at` (the clock pinned to it)."""
    with clock.pinned(at), app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        fulfilment.confirm_delivery(director(ids), printing_queries.get_school_order(order_id))
        db.session.commit()


def delivered_order(app, ids, at: dt.datetime) -> int:
    order_id = shipped_order(app, ids)
    deliver(app, ids, order_id, at)
    return order_id


def confirm_as(app, printer_id, order_id, **kw):
    with app.app_context(), tenant_scope(Tenant(printer_id=printer_id)):
        result = deletions.confirm(operator(printer_id), printing_queries.get_printer_order(order_id), **kw)
        db.session.commit()
        return result[0].id, result[1]


def missing_for(app, tenant: Tenant, today: dt.date) -> list[deletions.Missing]:
    with app.app_context(), tenant_scope(tenant):
        return deletions.missing(today)


# --- the overdue flag, worked by hand --------------------------------------------------------------


def test_the_flag_comes_on_the_eighth_day_after_delivery_not_the_seventh(app, two_schools):
    """Delivered Tuesday 10.11.2026 at 12:00 in Warsaw (11:00 UTC, CET = UTC+1). Retention 7 days:
    the printer may keep its copy through 10.11 + 7 = 17.11.2026 (due_on). On 17.11 — exactly 7
    days after delivery — nothing is flagged; on 18.11 — 8 days after — the order is flagged, 1 day
    overdue; on 20.11, 3 days. A confirmation then clears the flag."""
    ids = two_schools
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 10, 12, 0, tzinfo=WARSAW))
    city, school = Tenant(city_id=ids["city"]), Tenant(school_id=ids["a"])
    with app.app_context(), tenant_scope(school):
        order = printing_queries.get_school_order(order_id)
        assert clock.day_of(order.delivered_at) == dt.date(2026, 11, 10)
        assert deletions.retention_days(order) == 7
        assert deletions.due_on(order) == dt.date(2026, 11, 17)
        assert deletions.standing(order, dt.date(2026, 11, 17)).days_overdue == 0
        assert not deletions.standing(order, dt.date(2026, 11, 17)).overdue
        assert deletions.standing(order, dt.date(2026, 11, 18)).days_overdue == 1
        assert deletions.standing(order, dt.date(2026, 11, 20)).days_overdue == 3

    assert missing_for(app, city, dt.date(2026, 11, 10)) == []
    assert missing_for(app, city, dt.date(2026, 11, 17)) == []  # 7 days: in time
    [late] = missing_for(app, city, dt.date(2026, 11, 18))  # 8 days: flagged
    assert (late.order_id, late.printer_name, late.school_name) == (order_id, "Drukarnia Pierwsza",
                                                                     "Szkoła Podstawowa nr 1")
    assert (late.delivered_on, late.due_on, late.days_overdue) == (dt.date(2026, 11, 10), dt.date(2026, 11, 17), 1)
    assert [m.order_id for m in missing_for(app, school, dt.date(2026, 11, 18))] == [order_id]
    assert missing_for(app, Tenant(school_id=ids["b"]), dt.date(2026, 11, 18)) == []  # another school: nothing
    assert missing_for(app, city, dt.date(2026, 11, 20))[0].days_overdue == 3

    with clock.pinned(dt.datetime(2026, 11, 20, 9, 0, tzinfo=WARSAW)):  # 3 days late
        confirm_as(app, ids["p1"], order_id)
    assert missing_for(app, city, dt.date(2026, 11, 20)) == []
    with app.app_context(), tenant_scope(school):
        done = deletions.standing(printing_queries.get_school_order(order_id), dt.date(2026, 11, 20))
        assert done.days_overdue == 0 and done.confirmed_late


def test_the_days_are_warsaws_a_delivery_after_midnight_counts_from_that_day(app, two_schools):
    """Delivered Wednesday 11.11.2026 at 00:30 in Warsaw = 10.11.2026 23:30 UTC. The Warsaw day is
    11.11, so the copy may be kept through 18.11 (a UTC count would say 17.11): on 18.11 nothing is
    flagged, on 19.11 the order is 1 day overdue."""
    ids = two_schools
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 11, 0, 30, tzinfo=WARSAW))
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        order = printing_queries.get_school_order(order_id)
        delivered_utc = order.delivered_at.replace(tzinfo=order.delivered_at.tzinfo or dt.UTC).astimezone(dt.UTC)
        assert delivered_utc.date() == dt.date(2026, 11, 10)
        assert deletions.due_on(order) == dt.date(2026, 11, 18)
    city = Tenant(city_id=ids["city"])
    assert missing_for(app, city, dt.date(2026, 11, 18)) == []
    assert [m.days_overdue for m in missing_for(app, city, dt.date(2026, 11, 19))] == [1]
    # Confirmed at 23:50 on 18.11 in Warsaw: in time. (Confirmed at 00:30 on 19.11 in Warsaw — still
    # 18.11 in UTC — it would be late.)
    with clock.pinned(dt.datetime(2026, 11, 18, 23, 50, tzinfo=WARSAW)):
        confirm_as(app, ids["p1"], order_id)
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        order = printing_queries.get_school_order(order_id)
        assert not deletions.standing(order, dt.date(2026, 11, 19)).confirmed_late
        row = deletions.confirmation_of(order)
        row.confirmed_at = dt.datetime(2026, 11, 18, 23, 30, tzinfo=dt.UTC)  # 19.11 00:30 in Warsaw (not stored)
        assert deletions.standing(order, dt.date(2026, 11, 19), row).confirmed_late
        db.session.rollback()


def test_the_agreements_retention_days_set_the_deadline(app, two_schools):
    """An agreement with a 3-day retention: delivered 10.11.2026 → due 13.11, flagged on 14.11."""
    from printing.models import ProcessingAgreement

    ids = two_schools
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        db.session.execute(update(ProcessingAgreement).values(retention_days=3))
        db.session.commit()
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 10, 9, 0, tzinfo=WARSAW))
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        order = printing_queries.get_school_order(order_id)
        assert deletions.due_on(order) == dt.date(2026, 11, 13)
    assert missing_for(app, Tenant(city_id=ids["city"]), dt.date(2026, 11, 13)) == []
    assert [m.days_overdue for m in missing_for(app, Tenant(city_id=ids["city"]), dt.date(2026, 11, 14))] == [1]


# --- confirming -----------------------------------------------------------------------------------


def test_confirming_is_refused_before_delivery_and_writes_nothing(app, two_schools):
    ids = two_schools
    order_id = shipped_order(app, ids)
    with app.app_context(), tenant_scope(Tenant(printer_id=ids["p1"])):
        order = printing_queries.get_printer_order(order_id)
        with pytest.raises(OperationError) as refused:
            deletions.confirm(operator(ids["p1"]), order)
        assert refused.value.code == "invalid_state" and "po dostarczeniu" in str(refused.value)
        assert deletions.standing(order) is None  # no duty yet: nothing to flag
        db.session.rollback()
    with app.app_context(), tenant_scope(Tenant(city_id=ids["city"])):
        assert db.session.scalars(select(PrinterDeletion)).all() == []


def test_confirming_twice_keeps_the_first_confirmation_and_records_one_change(app, two_schools):
    ids = two_schools
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 10, 12, 0, tzinfo=WARSAW))
    first, made = confirm_as(app, ids["p1"], order_id, method="Usunięcie z serwera, wydruki zniszczone")
    assert made is True
    again, made_again = confirm_as(app, ids["p1"], order_id, method="Inny opis")
    assert (again, made_again) == (first, False)
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        [row] = db.session.scalars(select(PrinterDeletion)).all()
        assert row.method == "Usunięcie z serwera, wydruki zniszczone" and row.via == "web"
        assert row.printer_id == ids["p1"] and row.city_id == ids["city"]
        changes = db.session.scalars(select(AccessLog).where(AccessLog.action == "printer_deletion_confirmed")).all()
        assert [(c.order_id, c.actor_organisation_id, c.detail) for c in changes] == [(order_id, ids["p1"], "via=web")]


def test_a_too_long_method_is_refused(app, two_schools):
    ids = two_schools
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 10, 12, 0, tzinfo=WARSAW))
    with app.app_context(), tenant_scope(Tenant(printer_id=ids["p1"])):
        with pytest.raises(OperationError) as refused:
            deletions.confirm(operator(ids["p1"]), printing_queries.get_printer_order(order_id), method="x" * 201)
        assert refused.value.code == "too_long"


# --- row-level security ---------------------------------------------------------------------------


def _row(ids, order_id, printer_id) -> PrinterDeletion:
    return PrinterDeletion(school_id=ids["a"], city_id=ids["city"], order_id=order_id, printer_id=printer_id,
                           confirmed_at=dt.datetime.now(dt.UTC), via="web", api_client="", method="", statement="")


def test_only_the_orders_printer_may_write_it_only_after_delivery_and_nobody_changes_it(app, two_schools):
    """Past the domain's checks, PostgreSQL refuses: another printer's row for P1's order, P1's row
    before delivery, the school writing it (row-level security); and no tenant updates or deletes a
    confirmation (the app role has no UPDATE or DELETE on the table, and RLS no policy for them)."""
    ids = two_schools
    not_yet = shipped_order(app, ids)
    order_id = delivered_order(app, ids, dt.datetime(2026, 11, 10, 12, 0, tzinfo=WARSAW))
    attempts = [(Tenant(printer_id=ids["p2"]), order_id, ids["p2"]),  # another printer, naming itself
                (Tenant(printer_id=ids["p2"]), order_id, ids["p1"]),  # another printer, naming P1
                (Tenant(printer_id=ids["p1"]), not_yet, ids["p1"]),  # the printer, before delivery
                (Tenant(school_id=ids["a"]), order_id, ids["p1"])]  # the school in the printer's name
    for tenant, target, printer_id in attempts:
        with app.app_context(), tenant_scope(tenant):
            db.session.add(_row(ids, target, printer_id))
            with pytest.raises(exc.DBAPIError) as refused:
                db.session.flush()
            assert "row-level security" in str(refused.value), tenant
            db.session.rollback()

    confirm_as(app, ids["p1"], order_id)
    for tenant in (Tenant(printer_id=ids["p1"]), Tenant(school_id=ids["a"]), Tenant(city_id=ids["city"])):
        with app.app_context(), tenant_scope(tenant):
            assert len(db.session.scalars(select(PrinterDeletion)).all()) == 1  # each of them reads it
            db.session.commit()
            for change in (update(PrinterDeletion).values(method="zmienione"), delete(PrinterDeletion)):
                with pytest.raises(exc.DBAPIError) as refused:  # the app role may only insert and read
                    db.session.execute(change.execution_options(synchronize_session=False))
                assert "permission denied" in str(refused.value)
                db.session.rollback()
    for tenant in (Tenant(printer_id=ids["p2"]), Tenant(school_id=ids["b"])):
        with app.app_context(), tenant_scope(tenant):
            assert db.session.scalars(select(PrinterDeletion)).all() == []


def test_the_schools_own_printer_has_no_duty(app):
    """No one outside the school held an own-printer order's data: nothing to confirm or flag."""
    order = PrintOrder(printer_id=None, status="delivered",
                       delivered_at=dt.datetime(2026, 11, 10, 11, 0, tzinfo=dt.UTC))
    with app.app_context():
        assert not deletions.applies(order) and deletions.due_on(order) is None
        assert deletions.standing(order, dt.date(2026, 12, 1)) is None
