"""The city's settings page (docs/domain.md §4): from which day cards are issued for the coming
school year. Garbage is refused with 422 and nothing is saved; a saved day is what the city's
schools then print (hand-worked: default in 2026 is Saturday 27.06.2026, the day after classes end
on Friday 26.06)."""

from __future__ import annotations

import datetime as dt

from infra import clock
from infra.db import db
from printing import operations as printing_ops
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import approved_applications

SPRING = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _setting(app, city_id) -> str:
    with app.app_context():
        return db.session.get(Organisation, city_id).school_year_cutover


def test_the_page_shows_this_years_cutover_and_refuses_garbage(app, browser, two_schools):
    official = browser("urzednik@test.pl")
    with clock.pinned(SPRING):
        page = official.get("/miasto/ustawienia")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "W 2026 r. legitymacje na następny rok szkolny są wydawane od 27.06.2026." in text
        for typed in ("jutro", "31.02", "01.09", "30.04", "15.06.20266", "<b>15.06</b>", "1e3"):
            response = official.post("/miasto/ustawienia", {"school_year_cutover": typed})
            assert response.status_code == 422, typed
            body = response.get_data(as_text=True)
            assert "podaj dzień i miesiąc od 01.05 do 31.08" in body, typed
            assert "<b>15.06</b>" not in body
        assert _setting(app, two_schools["city"]) == ""  # nothing saved

        response = official.post("/miasto/ustawienia", {"school_year_cutover": "15.08"})
        assert response.status_code == 302
        assert _setting(app, two_schools["city"]) == "08-15"
        text = official.get("/miasto/ustawienia").get_data(as_text=True)
        assert 'value="15.08"' in text
        assert "W 2026 r. legitymacje na następny rok szkolny są wydawane od 15.08.2026." in text

        assert official.post("/miasto/ustawienia", {"school_year_cutover": ""}).status_code == 302
        assert _setting(app, two_schools["city"]) == ""


def test_the_saved_day_is_what_the_citys_schools_print(app, browser, two_schools):
    """Saved 21.08 on the page: an order on 20.08.2026 still serves 2025/26 (30.09.2026); with the
    default it would serve 2026/27 (30.09.2027)."""
    official = browser("urzednik@test.pl")
    assert official.post("/miasto/ustawienia", {"school_year_cutover": "21.08"}).status_code == 302
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)), \
            clock.pinned(dt.datetime(2026, 8, 20, 8, 0, tzinfo=dt.UTC)):
        school = db.session.get(Organisation, school_id)
        school.bank_account = "07102050110000990202075919"
        ids = approved_applications(actor, school, [add_pupil(actor)])
        order = printing_ops.create_order(actor, school, two_schools["p1"], ids)
        (card,) = printing_ops.submit_order(actor, order)
        assert card.valid_until == dt.date(2026, 9, 30)


def test_another_audience_cannot_open_the_city_settings(browser, two_schools):
    assert browser("dyrektor.a@test.pl").get("/miasto/ustawienia").status_code == 404
    assert browser("dyrektor.a@test.pl").post("/miasto/ustawienia", {"school_year_cutover": "15.08"}).status_code == 404
