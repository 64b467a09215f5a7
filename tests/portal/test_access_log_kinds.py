"""Every kind of access writes its access-log row (docs/security.md T3.10, issue 18 "gaps in the
log"): the pupil list, a denied attempt on another school's object (404, however many routes are
probed, capped per minute), the writes (a pupil's edit, a card's invalidation, a transfer), and the
API client that acted. Rows are read as the PostgreSQL superuser, past every policy."""

from __future__ import annotations

from sqlalchemy import text

from tests.portal.test_api import TOKEN_URL
from tests.portal.test_api import basic
from tests.portal.test_api import bearer
from tests.portal.test_api import make_client
from tests.portal.test_api import ready  # noqa: F401 (the fixture)
from tests.portal.test_transfers import city  # noqa: F401 (the fixture)
from tests.portal.test_transfers import send
from tests.portal.test_transfers import superuser  # noqa: F401 (the fixture)

COLUMNS = "action, result, school_id, pupil_id, actor_organisation_id, detail, api_client, chain"


def rows(engine, where: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {COLUMNS} FROM access_log WHERE {where} ORDER BY id"),
                                               params)]


def test_the_pupil_list_names_the_pupils_shown(app, city, browser, superuser):  # noqa: F811
    staff_a = browser("sekretariat.a@test.pl")
    assert staff_a.get("/szkola/uczniowie").status_code == 200
    a = city["a"]
    # Zofia and Adam are listed (by surname: Bezzdjęcia, Przenoszona); the filter text is not kept.
    assert staff_a.get("/szkola/uczniowie?q=Przen").status_code == 200
    listed = rows(superuser, "action = 'pupil_list'")
    assert [r[:3] for r in listed] == [("pupil_list", "ok", a), ("pupil_list", "ok", a)]
    assert set(listed[0][5].removeprefix("pupils=").split(",")) == {str(city["zofia"]), str(city["adam"])}
    assert all("Przen" not in r[5] for r in listed)


def test_another_schools_pupil_leaves_a_denied_row_in_the_prober_s_own_chain(app, city, browser, superuser):  # noqa: F811
    staff_b = browser("sekretariat.b@test.pl")
    zofia, b = city["zofia"], city["b"]
    probes = [f"/szkola/uczniowie/{zofia}", f"/szkola/uczniowie/{zofia}/edycja",
              f"/szkola/ewidencja/legitymacja/{city['card']}", "/szkola/uczniowie/999999"]
    for url in probes:
        assert staff_b.get(url).status_code == 404
    # A write refused the same way: its transaction rolled back, the denied row still written.
    assert staff_b.post(f"/szkola/ewidencja/legitymacja/{city['card']}/uniewaznij",
                        {"reason": "lost"}).status_code == 404
    denied = rows(superuser, "result = 'denied'")
    assert [(r[0], r[2], r[4], r[7]) for r in denied] == [("denied", b, b, f"school:{b}")] * 5
    assert [r[5] for r in denied] == [
        f"status=404 route=/szkola/uczniowie/<int:pupil_id> pupil_id={zofia}",
        f"status=404 route=/szkola/uczniowie/<int:pupil_id>/edycja pupil_id={zofia}",
        f"status=404 route=/szkola/ewidencja/legitymacja/<int:card_id> card_id={city['card']}",
        "status=404 route=/szkola/uczniowie/<int:pupil_id> pupil_id=999999",
        f"status=404 route=/szkola/ewidencja/legitymacja/<int:card_id>/uniewaznij card_id={city['card']}"]
    # Nothing in school A's records: neither a row about its pupil nor the card's change.
    assert rows(superuser, "school_id = :a AND result = 'denied'", a=city["a"]) == []
    assert rows(superuser, "action = 'card_invalidated'") == []
    # A page of another audience (the city's) is refused and recorded too.
    assert staff_b.get("/miasto/").status_code == 404
    assert rows(superuser, "result = 'denied'")[-1][5].startswith("status=404 route=/miasto/")


def test_denied_rows_are_capped_per_minute(app, city, browser, superuser):  # noqa: F811
    app.config["DENIED_ROWS_PER_MINUTE"] = 3
    try:
        staff_b = browser("sekretariat.b@test.pl")
        for n in range(6):
            assert staff_b.get(f"/szkola/uczniowie/{900000 + n}").status_code == 404
    finally:
        app.config["DENIED_ROWS_PER_MINUTE"] = 30
    # Three rows, the fourth probe a single "denied_capped" row, the fifth and sixth nothing.
    assert [r[0] for r in rows(superuser, "result = 'denied'")] == ["denied"] * 3 + ["denied_capped"]


def test_writes_land_in_the_log(app, city, browser, superuser):  # noqa: F811
    director_a = browser("dyrektor.a@test.pl")
    zofia, a, b = city["zofia"], city["a"], city["b"]
    edit = {"first_names": "Zofia", "surname": "Przenoszona", "date_of_birth": "01.06.2018",
            "class_name": "4b", "learner_type": "pupil", "status": "active"}
    assert director_a.post(f"/szkola/uczniowie/{zofia}/edycja", edit).status_code == 302
    assert director_a.post(f"/szkola/ewidencja/legitymacja/{city['card']}/uniewaznij",
                           {"reason": "lost"}).status_code == 302
    assert send(director_a, city).status_code == 302
    written = [r[:4] for r in rows(superuser, "action IN ('pupil_updated', 'card_invalidated', 'transfer_sent')")]
    assert written == [("pupil_updated", "ok", a, zofia), ("card_invalidated", "ok", a, zofia),
                       ("transfer_sent", "ok", a, zofia)]
    assert rows(superuser, "school_id = :b", b=b) == []


def test_the_api_client_that_acted_is_named(app, ready, superuser):  # noqa: F811
    client_id, secret = make_client(app, ready["p1"])
    token = app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                   headers=basic(client_id, secret)).json["access_token"]
    api = app.test_client()
    assert api.post(f"/api/v1/orders/{ready['order']}/accept", headers=bearer(token)).status_code == 200
    assert api.post(f"/api/v1/orders/{ready['order']}/download-link", headers=bearer(token)).status_code == 200
    acted = rows(superuser, "action IN ('order_accepted', 'batch_link')")
    assert [(r[0], r[2], r[4], r[6], r[7]) for r in acted] == [
        ("order_accepted", ready["a"], ready["p1"], client_id, f"school:{ready['a']}"),
        ("batch_link", ready["a"], ready["p1"], client_id, f"school:{ready['a']}")]
    # Another printer's client probing the order: a denied row in that printer's own chain, no school.
    other_id, other_secret = make_client(app, ready["p2"])
    other = app.test_client().post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                   headers=basic(other_id, other_secret)).json["access_token"]
    assert api.get(f"/api/v1/orders/{ready['order']}", headers=bearer(other)).status_code == 404
    assert rows(superuser, "result = 'denied'") == [
        ("denied", "denied", None, None, ready["p2"],
         f"status=404 route=/api/v1/orders/<int:order_id> order_id={ready['order']}", other_id,
         f"printer:{ready['p2']}")]
