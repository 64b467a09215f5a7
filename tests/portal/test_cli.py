"""Onboarding without demo data: the Flask CLI creates a city, a school, a printer and users."""

from __future__ import annotations

from sqlalchemy import select

from infra.db import db
from printing.models import PriceTier
from tenants.tenancy.models import Membership
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import User


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["legitka", *args], input=input)


def test_onboarding_a_city_end_to_end(app, database, browser):
    assert invoke(app, "create-city", "Miasto Nowe", "--slug", "nowe").exit_code == 0
    result = invoke(app, "create-school", "Szkoła Podstawowa nr 5", "--slug", "sp5-nowe", "--city", "nowe",
                    "--type", "primary", "--street", "ul. Polna 5", "--postal-code", "00-950", "--town", "Nowe",
                    "--director", "Jan Dyrektor")
    assert result.exit_code == 0, result.output
    result = invoke(app, "create-printer", "Drukarnia Nowa", "--slug", "dn", "--city", "nowe",
                    "--price", "1:14,50", "--price", "100:9.90", "--lead-time", "21")
    assert result.exit_code == 0, result.output
    result = invoke(app, "create-user", "dyr@nowe.pl", "Jan Dyrektor", "--org", "sp5-nowe", "--role",
                    "school_director", input="dlugie-haslo-1\ndlugie-haslo-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        school = db.session.scalar(select(Organisation).where(Organisation.slug == "sp5-nowe"))
        city = db.session.scalar(select(Organisation).where(Organisation.slug == "nowe"))
        assert school.city_id == city.id and school.director_name == "Jan Dyrektor"
        prices = [(t.min_quantity, str(t.unit_price)) for t in db.session.scalars(select(PriceTier))]
        assert prices == [(1, "14.50"), (100, "9.90")]
        user = db.session.scalar(select(User).where(User.email == "dyr@nowe.pl"))
        assert user.password_hash.startswith("$argon2id$")
        assert db.session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "school_director"
    director = browser()
    assert director.login("dyr@nowe.pl", "dlugie-haslo-1").status_code == 302
    assert "Szkoła Podstawowa nr 5" in director.get("/szkola/").get_data(as_text=True)


def test_cli_refuses_bad_input_clearly(app, database):
    assert invoke(app, "create-city", "A", "--slug", "a").exit_code == 0
    taken = invoke(app, "create-city", "B", "--slug", "a")
    assert taken.exit_code == 2 and "taken" in taken.output
    no_city = invoke(app, "create-school", "S", "--slug", "s", "--city", "brak", "--type", "primary")
    assert no_city.exit_code == 2 and "no city" in no_city.output
    bad_price = invoke(app, "create-printer", "P", "--slug", "p", "--price", "abc")
    assert bad_price.exit_code == 2 and "MIN_QUANTITY:PRICE" in bad_price.output
    no_first_tier = invoke(app, "create-printer", "P", "--slug", "p", "--price", "10:9.00")
    assert no_first_tier.exit_code == 2
    weak = invoke(app, "create-user", "x@y.pl", "X", input="krotkie\nkrotkie\n")
    assert weak.exit_code == 2 and "co najmniej 8" in weak.output
