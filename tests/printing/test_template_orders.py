"""An order freezes each card's template from the one choice (docs/domain.md §2), on the order's
day: a pre-school child's MEiN-I/5 only while the child is in the compulsory pre-school year."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation


def draft(school_id, printer_id, user_id, learner_type, disabled, born) -> int:
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    pupil = Pupil(school_id=school_id, first_names="Staś", surname=f"Mały {learner_type} {disabled} {born}",
                  date_of_birth=born, sex="M", class_name="0a", learner_type=learner_type, disabled=disabled,
                  photo_key="schools/x/p.jpg", pesel_index=f"index-{learner_type}-{disabled}-{born}")
    db.session.add(pupil)
    db.session.flush()
    application = Application(school_id=school_id, pupil_id=pupil.id, kind="first", status="approved",
                              created_by_id=user_id)
    db.session.add(application)
    db.session.flush()
    return printing_ops.create_order(actor, db.session.get(Organisation, school_id), printer_id, [application.id]).id


def test_an_order_takes_the_template_of_its_day(app, two_schools):
    school_id, user_id = two_schools["a"], two_schools["director_a"]
    actor = Actor(user_id=user_id, role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        late = draft(school_id, two_schools["p1"], user_id, "preschool", True, dt.date(2020, 4, 2))
        in_time = draft(school_id, two_schools["p1"], user_id, "preschool", True, dt.date(2020, 4, 3))
        adult = draft(school_id, two_schools["p1"], user_id, "adult", True, dt.date(1999, 4, 3))
        db.session.commit()
        with clock.pinned(dt.datetime(2027, 9, 2, 12, tzinfo=dt.UTC)), \
                pytest.raises(OperationError, match="Staś Mały .*roku obowiązkowego przygotowania przedszkolnego"):
            printing_ops.submit_order(actor, db.session.get(PrintOrder, late))  # 2027/28: the child's year is over
        db.session.rollback()
        with clock.pinned(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)):
            printing_ops.submit_order(actor, db.session.get(PrintOrder, in_time))
            printing_ops.submit_order(actor, db.session.get(PrintOrder, adult))
        db.session.commit()
        templates = dict(db.session.execute(select(Card.order_id, Card.template_code)).all())
        assert templates == {in_time: "MEiN-I/5", adult: "MEiN-I/4-N"}
