"""Issue 16 through the web (docs/domain.md §21): a paper-card holder's e-card handed over only with
the paper card returned, which then reads as invalidated; a change of address refused with the
reason; the paper card on the mLegitymacja to-do."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from infra import clock
from infra.db import db
from infra.db import utcnow
from printing import operations as printing_ops
from printing.models import PrintOrder
from tenants.pupils import applications
from tenants.pupils.models import Application
from tenants.registry import operations as registry
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo

TODAY = clock.today().strftime("%d.%m.%Y")


def test_a_paper_card_exchanged_through_the_web(app, two_schools, browser):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        pupil = add_pupil(actor, surname="Papierowa", serial=701, class_name="3b")
        store_photo(actor, org, pupil)
        registry.record_paper_card(actor, pupil, "P/77/2022", dt.date(2022, 9, 1))
        pupil_id = pupil.id
        db.session.commit()
    staff = browser("sekretariat.a@test.pl")
    page = staff.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
    assert "Uczeń ma ważną legitymację papierową nr P/77/2022" in page and 'value="address_change"' not in page
    assert "zarejestruj w SIO" in staff.get("/szkola/mlegitymacja/").get_data(as_text=True)
    assert "P/77/2022 (papierowa)" in staff.get("/szkola/mlegitymacja/").get_data(as_text=True)

    refused = staff.post(f"/szkola/uczniowie/{pupil_id}/wnioski",
                         {"kind": "replacement", "reason_code": "address_change"})
    assert refused.status_code == 422
    assert "adres nie jest drukowany na karcie. Popraw adres" in refused.get_data(as_text=True)
    assert staff.post(f"/szkola/uczniowie/{pupil_id}/wnioski", {"kind": "first"}).status_code == 302

    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        org = db.session.get(Organisation, school_id)
        (application,) = db.session.scalars(select(Application).where(Application.pupil_id == pupil_id)).all()
        assert application.paper_card_number == "P/77/2022"
        applications.decide_application(actor, application, approve=True)
        order = printing_ops.create_order(actor, org, two_schools["p1"], [application.id])
        (card,) = printing_ops.submit_order(actor, order)
        card.status = "delivered"  # printing is not under test
        db.session.get(PrintOrder, card.order_id).delivered_at = utcnow()
        card_id, order_id = card.id, card.order_id
        db.session.commit()

    order_page = staff.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    assert "zwrócono legitymację papierową nr P/77/2022" in order_page
    form = {"handed_over_on": TODAY, "collected_by": "Anna Papierowa"}
    kept = staff.post(f"/szkola/legitymacje/{card_id}/wydanie", form)
    assert kept.status_code == 422 and "odbierz ją przy wydaniu" in kept.get_data(as_text=True)
    assert "ważna do opuszczenia szkoły" in staff.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
    done = staff.post(f"/szkola/legitymacje/{card_id}/wydanie", {**form, "paper_card_returned": "1"},
                      follow_redirects=True)
    assert "Legitymacja papierowa nr P/77/2022 została unieważniona." in done.get_data(as_text=True)
    page = staff.get(f"/szkola/uczniowie/{pupil_id}").get_data(as_text=True)
    assert f"unieważniona {TODAY}: zwrócona przy wydaniu e-legitymacji" in page
