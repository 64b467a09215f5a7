"""The duplicate fee as dated periods (docs/domain.md §25): the fee of an application is the one in
force on the day it is made and stays with it; periods never overlap, never start in the past.

Hand-worked: the seed is 9,00 zł from 13.07.2024, open-ended. On 5.12.2026 the platform admin
learns that the stamp duty becomes 12,00 zł from 1.01.2027: the seed is closed on 31.12.2026 and
12,00 zł added from 1.01.2027. An application made on 31.12.2026 (the day before the change) is
charged 9,00 zł under § 67; one made on 1.01.2027 (the day of the change) 12,00 zł under the new
basis — and the first keeps its 9,00 zł after the change, for its payment and approval too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from infra import clock
from infra.db import db
from tenants.pupils import applications
from tenants.pupils import fees
from tenants.pupils.models import DuplicateFee
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo

ACCOUNT = "07102050110000990202075919"  # Toruń's account (docs/domain.md, source 001)
NEW_BASIS = "ustawa o opłacie skarbowej, załącznik cz. II pkt 5, w brzmieniu od 1.01.2027 (przykład testowy)"


def at(day: dt.date):
    return clock.pinned(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))  # 13:00 in Warsaw


@pytest.fixture
def admin(app, two_schools):
    with app.app_context():
        yield Actor(user_id=two_schools["director_a"], role="platform_admin", organisation_id=None)


@pytest.fixture
def school(app, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        org.bank_account = ACCOUNT
        db.session.commit()
        yield actor, org


def seed() -> DuplicateFee:
    return db.session.get(DuplicateFee, 1)


def test_the_seed_is_9_zl_from_13_july_2024_and_nothing_before(admin):
    assert (seed().amount, seed().valid_from, seed().valid_to) == (Decimal("9.00"), dt.date(2024, 7, 13), None)
    assert "§ 67" in seed().basis and "poz. 1120" in seed().basis
    assert fees.in_force(dt.date(2024, 7, 13)).id == 1
    assert fees.in_force(dt.date(2030, 1, 1)).id == 1  # open-ended
    assert fees.in_force(dt.date(2024, 7, 12)) is None


def change_to_12_zl_from_2027(admin):
    with at(dt.date(2026, 12, 5)):
        fees.close_period(admin, seed(), dt.date(2026, 12, 31))
        new = fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2027, 1, 1), valid_to=None,
                              basis=NEW_BASIS)
        db.session.commit()
    return new


def test_the_fee_of_the_day_before_and_the_day_of_a_change(admin, school):
    actor, org = school
    new = change_to_12_zl_from_2027(admin)
    assert fees.in_force(dt.date(2026, 12, 31)).id == 1 and fees.in_force(dt.date(2027, 1, 1)).id == new.id
    before_pupil, after_pupil = add_pupil(actor, serial=1), add_pupil(actor, serial=2)
    with at(dt.date(2026, 12, 31)):
        before = applications.create_application(actor, before_pupil, "duplicate", reason_code="lost", school=org)
    with at(dt.date(2027, 1, 1)):
        after = applications.create_application(actor, after_pupil, "duplicate", reason_code="lost", school=org)
    db.session.commit()
    assert (before.fee_amount, before.fee_basis) == (Decimal("9.00"), fees.SEED_BASIS)
    assert (after.fee_amount, after.fee_basis) == (Decimal("12.00"), NEW_BASIS)

    # The application made on 31.12.2026 keeps its 9,00 zł in 2027: 12,00 zł is refused as its payment.
    with at(dt.date(2027, 1, 4)):
        with pytest.raises(OperationError, match="9,00 zł"):
            applications.record_payment(actor, before, amount=Decimal("12.00"), paid_on=dt.date(2027, 1, 2),
                                        reference="duplikat")
        applications.record_payment(actor, before, amount=Decimal("9.00"), paid_on=dt.date(2027, 1, 2),
                                    reference="duplikat")
        store_photo(actor, org, before_pupil)
        applications.decide_application(actor, before, approve=True)
    db.session.commit()
    db.session.expire_all()
    assert (before.fee_amount, before.status) == (Decimal("9.00"), "approved")


def test_free_applications_stay_free_whatever_the_fee(admin, school):
    actor, org = school
    change_to_12_zl_from_2027(admin)
    with at(dt.date(2027, 1, 1)):
        first = applications.create_application(actor, add_pupil(actor, serial=3), "first")
    assert (first.fee_amount, first.fee_basis) == (Decimal("0.00"), "")


def test_overlapping_periods_are_refused(admin):
    with at(dt.date(2026, 12, 5)):
        # the seed is open-ended: anything from today on overlaps it until it is closed
        with pytest.raises(OperationError, match="nakłada się na stawkę 9,00 zł od 13.07.2024 bezterminowo"):
            fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2027, 1, 1), valid_to=None,
                            basis=NEW_BASIS)
        fees.close_period(admin, seed(), dt.date(2026, 12, 31))
        fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2027, 1, 1),
                        valid_to=dt.date(2027, 6, 30), basis=NEW_BASIS)
        with pytest.raises(OperationError, match="nakłada się na stawkę 12,00 zł od 01.01.2027 do 30.06.2027"):
            fees.add_period(admin, amount=Decimal("13.00"), valid_from=dt.date(2027, 6, 30), valid_to=None,
                            basis=NEW_BASIS)  # one shared day is an overlap
        fees.add_period(admin, amount=Decimal("13.00"), valid_from=dt.date(2027, 7, 1), valid_to=None,
                        basis=NEW_BASIS)  # the day after: fine
        with pytest.raises(OperationError, match="nakładałby się"):  # reopening the seed would cover 2027
            fees.close_period(admin, seed(), dt.date(2027, 1, 1))
    assert [(f.amount, f.valid_from, f.valid_to) for f in fees.periods()] == [
        (Decimal("13.00"), dt.date(2027, 7, 1), None),
        (Decimal("12.00"), dt.date(2027, 1, 1), dt.date(2027, 6, 30)),
        (Decimal("9.00"), dt.date(2024, 7, 13), dt.date(2026, 12, 31))]


def test_no_period_starts_or_ends_in_the_past_and_each_needs_its_basis(admin):
    with at(dt.date(2026, 12, 5)):
        fees.close_period(admin, seed(), dt.date(2026, 12, 31))
        with pytest.raises(OperationError, match="wstecz"):  # 4.12 has passed: its applications keep 9,00 zł
            fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2026, 12, 4), valid_to=None,
                            basis=NEW_BASIS)
        with pytest.raises(OperationError, match="wstecz"):  # the earliest end is yesterday, 4.12
            fees.close_period(admin, seed(), dt.date(2026, 12, 3))
        with pytest.raises(OperationError, match="podstawę prawną"):
            fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2027, 1, 1), valid_to=None,
                            basis="  ")
        with pytest.raises(OperationError, match="wcześniej niż jego początek"):
            fees.add_period(admin, amount=Decimal("12.00"), valid_from=dt.date(2027, 1, 2),
                            valid_to=dt.date(2027, 1, 1), basis=NEW_BASIS)
        fees.close_period(admin, seed(), dt.date(2026, 12, 4))  # from today on no fee is in force
    assert seed().closed_by_id == admin.user_id


def test_a_duplicate_is_refused_on_a_day_without_a_fee(admin, school):
    actor, org = school
    with at(dt.date(2026, 12, 5)):
        fees.close_period(admin, seed(), dt.date(2026, 12, 31))
        db.session.commit()
    refusal = "Brak stawki opłaty za duplikat na dzień 01.01.2027"
    with at(dt.date(2027, 1, 1)), pytest.raises(OperationError, match=refusal):
        applications.create_application(actor, add_pupil(actor, serial=4), "duplicate", reason_code="lost",
                                        school=org)
