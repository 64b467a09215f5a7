"""The school's proof: before ordering, every card of a draft order on A4, marked WZÓR."""

from __future__ import annotations

import io

from pypdf import PdfReader

from infra.db import db
from printing import operations as printing_ops
from tenants.pupils import applications
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import store_photo


def draft(app, two_schools, *, with_photo=True) -> int:
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        pupil = add_pupil(actor, first="Ignacy", surname="Podglądowy", serial=321, sex="M")
        store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil)
        applications.decide_application(actor, application, approve=True)
        order = printing_ops.create_order(actor, school, two_schools["p1"], [application.id])
        if not with_photo:
            pupil.photo_key = "schools/missing/photo.jpg"
        db.session.commit()
        return order.id


def test_a_draft_orders_proof_shows_its_cards_as_specimens(app, two_schools, browser):
    order_id = draft(app, two_schools)
    director = browser("dyrektor.a@test.pl")
    assert "podglad.pdf" in director.get(f"/szkola/zamowienia/{order_id}").get_data(as_text=True)
    response = director.get(f"/szkola/zamowienia/{order_id}/podglad.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert round(float(reader.pages[0].mediabox.width) / 72 * 25.4) == 210
    text = reader.pages[0].extract_text()
    assert "Podglądowy" in text and "WZÓR" in text and "———" in text  # no number before submitting


def test_a_missing_photo_is_named_instead_of_a_proof(app, two_schools, browser):
    order_id = draft(app, two_schools, with_photo=False)
    response = browser("dyrektor.a@test.pl").get(f"/szkola/zamowienia/{order_id}/podglad.pdf")
    assert response.status_code == 422 and "Brak zdjęcia: Ignacy Podglądowy" in response.get_data(as_text=True)
