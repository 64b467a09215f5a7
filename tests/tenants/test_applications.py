"""Every application kind through approval; the 9 zł fee for duplicates only; NRB accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from infra import clock
from infra.db import db
from tenants.pupils import applications
from tenants.tenancy import nrb
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo

ACCOUNT = "07102050110000990202075919"  # Toruń's account from docs/domain.md, source 001: valid
TODAY = clock.today()


@pytest.fixture
def school(app, two_schools):
    """School A acting as its director, with a pupil who has a photo, and the fee account set."""
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        org.bank_account = ACCOUNT
        pupil = add_pupil(actor)
        store_photo(actor, org, pupil)
        db.session.commit()
        yield actor, org, pupil


def test_first_card_is_free_and_approved_with_a_photo(school):
    actor, org, pupil = school
    application = applications.create_application(actor, pupil, "first", school=org)
    assert application.fee_amount == Decimal("0.00")
    with pytest.raises(OperationError, match="bezpłatny"):
        applications.record_payment(actor, application, amount=Decimal("9.00"), paid_on=TODAY, reference="x")
    applications.decide_application(actor, application, approve=True)
    assert application.status == "approved" and application.decided_by_id == actor.user_id


def test_first_card_needs_an_accepted_photo(app, two_schools):
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=two_schools["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=two_schools["a"])):
        application = applications.create_application(actor, add_pupil(actor))
        with pytest.raises(OperationError, match="zdjęcia"):
            applications.decide_application(actor, application, approve=True)
        assert application.status == "submitted"


def test_replacement_is_free_needs_a_reason_and_the_old_card_back(school):
    actor, org, pupil = school
    with pytest.raises(OperationError, match="powód wymiany"):
        applications.create_application(actor, pupil, "replacement", school=org)
    application = applications.create_application(actor, pupil, "replacement", reason_code="name_change", school=org)
    assert application.fee_amount == Decimal("0.00") and application.reason_label == "zmiana imienia lub nazwiska"
    with pytest.raises(OperationError, match="nie została zwrócona"):
        applications.decide_application(actor, application, approve=True)
    with pytest.raises(OperationError, match="przyszłości"):
        tomorrow = clock.today() + dt.timedelta(days=1)  # today at the call, not at import (runs over midnight)
        applications.record_old_card_return(actor, application, tomorrow)
    applications.record_old_card_return(actor, application, TODAY)
    applications.decide_application(actor, application, approve=True)
    assert application.status == "approved" and application.old_card_returned_on == TODAY


def test_duplicate_costs_nine_zloty_and_needs_the_payment_checked(school):
    actor, org, pupil = school
    with pytest.raises(OperationError, match="utrata, kradzież, zniszczenie"):
        applications.create_application(actor, pupil, "duplicate", reason_code="name_change", school=org)
    application = applications.create_application(actor, pupil, "duplicate", reason_code="stolen", school=org)
    assert application.fee_amount == Decimal("9.00")
    with pytest.raises(OperationError, match="nie zapisano wpłaty"):
        applications.decide_application(actor, application, approve=True)
    with pytest.raises(OperationError, match="9,00 zł"):
        applications.record_payment(actor, application, amount=Decimal("8.50"), paid_on=TODAY, reference="przelew")
    with pytest.raises(OperationError, match="tytuł przelewu"):
        applications.record_payment(actor, application, amount=Decimal("9.00"), paid_on=TODAY, reference="  ")
    applications.record_payment(actor, application, amount=applications.parse_amount("9,00 zł"),
                                paid_on=TODAY - dt.timedelta(days=2), reference="duplikat Ola Nowak 1a")
    assert application.payment_checked_by_id == actor.user_id and application.payment_checked_at is not None
    applications.decide_application(actor, application, approve=True)
    assert application.status == "approved"


def test_duplicate_needs_the_schools_fee_account(school):
    actor, org, pupil = school
    org.bank_account = ""
    with pytest.raises(OperationError, match="numer rachunku"):
        applications.create_application(actor, pupil, "duplicate", reason_code="lost", school=org)


def test_one_open_application_per_pupil_and_a_reason_to_reject(school):
    actor, org, pupil = school
    application = applications.create_application(actor, pupil, "first", school=org)
    with pytest.raises(OperationError, match="otwarty wniosek"):
        applications.create_application(actor, pupil, "duplicate", reason_code="lost", school=org)
    with pytest.raises(OperationError, match="powód odrzucenia"):
        applications.decide_application(actor, application, approve=False)
    applications.decide_application(actor, application, approve=False, reason="Błędne dane")
    assert application.status == "rejected"
    with pytest.raises(OperationError, match="już rozpatrzony"):
        applications.decide_application(actor, application, approve=True)


@pytest.mark.parametrize("text", ["9", "9,00", "9.00 zł", " 9,0 "])
def test_amounts_are_read_the_polish_way(text):
    assert applications.parse_amount(text) == Decimal("9.00")


@pytest.mark.parametrize("text", ["", "dziewięć", "-9", "0", "NaN", "Infinity"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(OperationError):
        applications.parse_amount(text)


@pytest.mark.parametrize("value", ["07 1020 5011 0000 9902 0207 5919", "PL21124057031111000048982357",
                                   "47-1020-2528-0000-0902-0437-3569", "33 8591 0007 0030 0155 5732 0002"])
def test_real_school_accounts_are_valid_nrbs(value):
    assert len(nrb.validate(value)) == 26


@pytest.mark.parametrize(("value", "message"), [
    ("07 1020 5011 0000 9902 0207 5918", "kontrolne"),  # last digit changed
    ("17 1020 5011 0000 9902 0207 5919", "kontrolne"),  # check digits changed
    ("07 1020 5011 0000 9902 0207 591", "26 cyfr"),
    ("DE89370400440532013000", "26 cyfr"),
])
def test_wrong_account_numbers_are_refused(value, message):
    with pytest.raises(nrb.NrbError, match=message):
        nrb.validate(value)


def test_nrb_is_printed_in_groups_of_four():
    assert nrb.formatted(ACCOUNT) == "07 1020 5011 0000 9902 0207 5919"


def test_check_digits_are_computed_like_the_banks_do():
    assert nrb.make("10205011", "0000990202075919") == ACCOUNT  # Toruń's real account, docs/domain.md source 001


# --- Pre-school children: MEiN-I/5 only when disabled and in the compulsory year (docs/domain.md §2) ----------------

NOV_2026 = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)  # school year 2026/27: the year of children born in 2020


@pytest.mark.parametrize("born, disabled, refusal", [
    (dt.date(2020, 4, 2), False, "tylko dziecku niepełnosprawnemu"),
    (dt.date(2021, 4, 2), True, "nie jest w roku obowiązkowego przygotowania przedszkolnego"),
])
def test_a_pre_school_child_without_a_card_cannot_apply(school, born, disabled, refusal):
    actor, org, _ = school
    with clock.pinned(NOV_2026):
        child = add_pupil(actor, first="Staś", born=born, serial=202, sex="M", learner_type="preschool",
                          disabled=disabled)
        assert child.template_code is None and refusal in child.card_choice.refusal
        for kind, reason in (("first", ""), ("replacement", "data_error"), ("duplicate", "lost")):
            with pytest.raises(OperationError, match=refusal):
                applications.create_application(actor, child, kind, reason_code=reason, school=org)


def test_a_disabled_child_in_the_compulsory_year_gets_mein_i_5(school):
    actor, org, _ = school
    with clock.pinned(NOV_2026):
        child = add_pupil(actor, first="Staś", born=dt.date(2020, 12, 31), serial=202, sex="M",
                          learner_type="preschool", disabled=True)
        assert child.template_code == "MEiN-I/5"
        store_photo(actor, org, child)
        application = applications.create_application(actor, child, "first", school=org)
        child.disabled = False  # the school corrects the record before the director decides
        with pytest.raises(OperationError, match="Nie można zatwierdzić wniosku. .*niepełnosprawnemu"):
            applications.decide_application(actor, application, approve=True)
        child.disabled = True
        applications.decide_application(actor, application, approve=True)
        assert application.status == "approved"
