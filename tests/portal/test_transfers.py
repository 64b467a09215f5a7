"""A pupil's transfer between two schools of one city, through the web (issue 13).

School A sends; A's rows change, B's do not (compared as the superuser, who sees past RLS). B
sees the request, compares it with its own record and decides; A sees the outcome and may
withdraw while it is pending. Both sides are in the access log. Hostile values answer 4xx.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import select
from sqlalchemy import text

from infra import services
from infra.db import db
from tenants.photos.models import PhotoSubmission
from tenants.pupils.models import Application
from tenants.pupils.models import Pupil
from tenants.pupils.pesel import make as make_pesel
from tenants.registry.models import Card
from tenants.tenancy import context
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import Organisation
from tenants.transfers.models import PupilTransfer
from tests.conftest import ADMIN_URL
from tests.conftest import DB_NAME
from tests.helpers import add_pupil
from tests.helpers import handed_over_cards
from tests.helpers import jpeg
from tests.helpers import store_photo

BORN = dt.date(2018, 6, 1)


@pytest.fixture
def superuser():
    """The PostgreSQL superuser: bypasses row-level security, so it sees every school's rows."""
    engine = create_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def city(app, two_schools, world):
    """Schools A, B and C of one city, D of another; A's pupil Zofia (card handed over, photo) and
    Adam (no card, no photo); B's secretary; C's secretary."""
    ids = dict(two_schools)
    ids["c"] = world.school(two_schools["city"], "Szkoła Podstawowa nr 3")
    ids["d"] = world.school(world.city("Inne Miasto"), "Szkoła w Innym Mieście")
    world.user("sekretariat.b@test.pl", ids["b"], "school_secretary")
    world.user("sekretariat.c@test.pl", ids["c"], "school_secretary")
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=ids["a"])
    with app.app_context(), tenant_scope(Tenant(school_id=ids["a"])):
        school = db.session.get(Organisation, ids["a"])
        zofia = add_pupil(actor, first="Zofia", surname="Przenoszona", born=BORN, serial=301, class_name="3b",
                          address="ul. Stara 1, 70-001 Szczecin", parent_email="rodzic.zofii@example.pl")
        adam = add_pupil(actor, first="Adam", surname="Bezzdjęcia", born=BORN, serial=302, sex="M")
        cards = handed_over_cards(actor, school, two_schools["p1"], [zofia])
        db.session.commit()
        ids.update(zofia=zofia.id, adam=adam.id, card=cards[0].id, card_label=cards[0].label)
    return ids


def b_knows_zofia(app, city, *, status="left"):
    """School B's own record of the same pupil (same PESEL): another surname and address, its own photo."""
    actor = Actor(user_id=city["director_b"], role="school_director", organisation_id=city["b"])
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        school = db.session.get(Organisation, city["b"])
        known = add_pupil(actor, first="Zofia", surname="Przenoszona-Nowak", born=BORN, serial=301, class_name="1a",
                          address="ul. Dawna 9, 70-002 Szczecin")
        store_photo(actor, school, known, jpeg(color=(200, 220, 240)))
        known.status = status
        db.session.commit()
        return known.id, known.photo_key


def send(staff, city, pupil="zofia", target="b"):
    return staff.post(f"/szkola/uczniowie/{city[pupil]}/przeniesienie",
                      {"target_id": str(city[target]), "confirm": "1"})


def transfer_row(app, school_id) -> PupilTransfer:
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        found = db.session.scalar(select(PupilTransfer).order_by(PupilTransfer.id.desc()))
        db.session.expunge_all()
        return found


def school_rows(superuser, school_id: int) -> dict[str, list]:
    """Every row that belongs to a school, in every table, read past RLS."""
    rows = {}
    with superuser.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'school_id' ORDER BY table_name")).scalars().all()
        for table in tables:
            rows[table] = sorted(map(repr, conn.execute(text(f"SELECT * FROM {table} WHERE school_id = :s"),
                                                        {"s": school_id}).all()))
        rows["organisations"] = [repr(r) for r in conn.execute(text("SELECT * FROM organisations WHERE id = :s"),
                                                               {"s": school_id})]
        rows["memberships"] = sorted(map(repr, conn.execute(text(
            "SELECT * FROM memberships WHERE organisation_id = :s"), {"s": school_id})))
    return rows


def stored_files(storage_root, school_id: int) -> set[str]:
    folder = pathlib.Path(storage_root) / "schools" / str(school_id)
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def log_rows(superuser, school_id: int) -> list[tuple]:
    with superuser.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT action, pupil_id, actor_organisation_id, detail FROM access_log WHERE school_id = :s"
            " AND action LIKE 'transfer%' ORDER BY id"), {"s": school_id})]


# --- the sending school ---------------------------------------------------------------------


def test_sending_changes_no_row_of_the_receiving_school_and_needs_no_other_scope(app, city, browser, superuser,
                                                                                 storage_root):
    b_knows_zofia(app, city)  # the old code overwrote exactly this pupil's photo and status
    staff_a = browser("sekretariat.a@test.pl")
    before, files_before = school_rows(superuser, city["b"]), stored_files(storage_root, city["b"])
    seen: list[Tenant] = []
    context._listeners.append(seen.append)  # every tenant the code sets while the request runs
    try:
        response = send(staff_a, city)
    finally:
        context._listeners.remove(seen.append)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert school_rows(superuser, city["b"]) == before
    assert stored_files(storage_root, city["b"]) == files_before
    assert {t.school_id for t in seen} == {city["a"], None} and not any(
        t.printer_id or t.city_id or t.system or t.link_hash for t in seen)
    # What changed is A's own: the pupil left, the card is invalid; and the request row.
    with app.app_context(), tenant_scope(Tenant(school_id=city["a"])):
        assert db.session.get(Pupil, city["zofia"]).status == "transferred"
        card = db.session.get(Card, city["card"])
        assert (card.status, card.invalidation_reason) == ("invalidated", "left")
    sent = transfer_row(app, city["a"])
    assert (sent.from_school_id, sent.to_school_id, sent.status) == (city["a"], city["b"], "pending")
    assert sent.surname == "Przenoszona" and sent.with_photo
    # The photo's copy: a random key, no name or PESEL in it.
    assert re.fullmatch(rf"schools/{city['a']}/transfers/[A-Za-z0-9_-]{{20,}}\.jpg", sent.photo_key)
    with app.app_context():
        assert services.pesel_cipher().decrypt(sent.pesel_cipher) == make_pesel(BORN, 301, "K")
        with tenant_scope(Tenant(school_id=city["a"])):
            zofia = db.session.get(Pupil, city["zofia"])
            assert sent.pesel_index == zofia.pesel_index and sent.pesel_cipher == zofia.pesel_cipher
            assert sent.photo_key != zofia.photo_key
            assert services.storage().get(sent.photo_key) == services.storage().get(zofia.photo_key)
    page = staff_a.get(f"/szkola/uczniowie/{city['zofia']}").get_data(as_text=True)
    assert "czeka na decyzję szkoły przyjmującej" in page and "Wycofaj prośbę" in page


def test_the_confirmation_step_shows_what_will_happen_and_preselects_nothing(app, city, browser):
    staff_a = browser("sekretariat.a@test.pl")
    page = staff_a.get(f"/szkola/uczniowie/{city['zofia']}").get_data(as_text=True)
    assert "Przenieś do innej szkoły…" in page and 'name="target_id"' not in page
    choose = staff_a.get(f"/szkola/uczniowie/{city['zofia']}/przeniesienie").get_data(as_text=True)
    assert '<option value="" selected>' in choose and choose.count(" selected") == 1
    assert "Szkoła Podstawowa nr 2" in choose and "Szkoła Podstawowa nr 3" in choose
    assert "Szkoła w Innym Mieście" not in choose and "Wyślij prośbę" not in choose
    confirm = staff_a.get(f"/szkola/uczniowie/{city['zofia']}/przeniesienie?target_id={city['b']}")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert f"nr {city['card_label']}" in body and "zostaną unieważnione" in body
    assert "„przeniesiony”" in body and "Musi ją przyjąć" in body and "kopią jego zdjęcia" in body
    assert 'name="confirm" value="1"' in body
    # Posting without the confirmation changes nothing.
    response = staff_a.post(f"/szkola/uczniowie/{city['zofia']}/przeniesienie", {"target_id": str(city["b"])})
    assert response.status_code == 422 and "Potwierdź przeniesienie" in response.get_data(as_text=True)
    assert transfer_row(app, city["a"]) is None
    with app.app_context(), tenant_scope(Tenant(school_id=city["a"])):
        assert db.session.get(Pupil, city["zofia"]).status == "active"


HOSTILE_TARGETS = {
    "missing": None, "empty": "", "letters": "abc", "zero": "0", "negative": "-1", "forty nines": "9" * 40,
    "5000 digits": "7" * 5000, "exponent": "1e309", "nan": "NaN", "nul": "1\x00", "rtl": "\u202e12",
    "arabic digits": "١٢", "unknown": "999999",
}


@pytest.mark.parametrize("value", HOSTILE_TARGETS.values(), ids=HOSTILE_TARGETS.keys())
def test_hostile_target_ids_are_refused_plainly_and_write_nothing(app, city, browser, superuser, value):
    staff_a = browser("sekretariat.a@test.pl")
    before = school_rows(superuser, city["a"])
    data = {"confirm": "1"} if value is None else {"confirm": "1", "target_id": value}
    response = staff_a.post(f"/szkola/uczniowie/{city['zofia']}/przeniesienie", data)
    assert response.status_code == 422
    # A control or bidi character is refused at the door for every form (portal.input_guard).
    refused_at_door = value in ("1\x00", "\u202e12")
    expected = "Niedozwolone znaki" if refused_at_door else "Wybierz inną szkołę tego samego miasta z listy."
    assert expected in response.get_data(as_text=True)
    assert school_rows(superuser, city["a"]) == before and transfer_row(app, city["a"]) is None
    if value is not None:
        shown = staff_a.get(f"/szkola/uczniowie/{city['zofia']}/przeniesienie", query_string={"target_id": value})
        # A control character in a query string is refused before any view (portal.input_guard): 400.
        assert shown.status_code == (400 if value == "1\x00" else 422)
        assert "Wyślij prośbę" not in shown.get_data(as_text=True)


@pytest.mark.parametrize("target", ["a", "d", "city", "p1"])
def test_the_own_school_another_citys_school_or_no_school_is_refused(app, city, browser, superuser, target):
    staff_a = browser("sekretariat.a@test.pl")
    before = school_rows(superuser, city["a"])
    response = send(staff_a, city, target=target)
    assert response.status_code == 422
    assert "Wybierz inną szkołę tego samego miasta z listy." in response.get_data(as_text=True)
    assert school_rows(superuser, city["a"]) == before and transfer_row(app, city["a"]) is None


def test_a_pupil_who_left_or_has_a_pending_request_cannot_be_sent(app, city, browser):
    staff_a = browser("sekretariat.a@test.pl")
    assert send(staff_a, city).status_code == 302
    again = send(staff_a, city, target="c")
    assert again.status_code == 422 and "czeka już na decyzję" in again.get_data(as_text=True)
    # Once B has taken the pupil in, A cannot send them anywhere else.
    accepted = transfer_row(app, city["a"])
    assert browser("sekretariat.b@test.pl").post(f"/szkola/przeniesienia/{accepted.id}/przyjmij").status_code == 302
    moved = send(staff_a, city, target="c")
    assert moved.status_code == 422 and "tylko ucznia, który uczy się w szkole" in moved.get_data(as_text=True)
    assert "Przenieś do innej szkoły…" not in staff_a.get(f"/szkola/uczniowie/{city['zofia']}").get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(school_id=city["a"])):
        db.session.get(Pupil, city["adam"]).status = "left"
        db.session.commit()
    left = send(staff_a, city, pupil="adam")
    assert left.status_code == 422 and "tylko ucznia, który uczy się w szkole" in left.get_data(as_text=True)


# --- the receiving school -------------------------------------------------------------------


def test_b_accepts_a_new_pupil_with_the_photo_and_a_prefilled_application(app, city, browser, superuser):
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    assert "1</span>próśb o przeniesienie" in staff_b.get("/szkola/").get_data(as_text=True)
    assert "1 do decyzji" in staff_b.get("/szkola/uczniowie").get_data(as_text=True)
    listing = staff_b.get("/szkola/przeniesienia").get_data(as_text=True)
    assert "Przenoszona Zofia" in listing and "Szkoła Podstawowa nr 1" in listing and "nowa" in listing
    page = staff_b.get(f"/szkola/przeniesienia/{sent.id}").get_data(as_text=True)
    assert "Przenoszona" in page and "01.06.2018" in page and "*******" in page and "rodzic.zofii@example.pl" in page
    assert "nie ma w ewidencji naszej szkoły" in page and 'name="take_photo"' in page
    photo = staff_b.get(f"/szkola/przeniesienia/{sent.id}/zdjecie.jpg")
    assert photo.status_code == 200 and photo.data[:3] == b"\xff\xd8\xff"
    a_before = school_rows(superuser, city["a"])
    response = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij",
                            {"take_photo": "1", "class_name": " 2c ", "application": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert school_rows(superuser, city["a"]) == a_before  # accepting writes none of the sender's rows
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        pupil = db.session.scalar(select(Pupil).where(Pupil.surname == "Przenoszona"))
        assert (pupil.status, pupil.class_name, pupil.photo_status) == ("active", "2c", "accepted")
        assert pupil.pesel_index == sent.pesel_index and pupil.address == "ul. Stara 1, 70-001 Szczecin"
        assert pupil.photo_key.startswith(f"schools/{city['b']}/photos/")
        assert services.storage().get(pupil.photo_key) == photo.data
        submission = db.session.scalar(select(PhotoSubmission).where(PhotoSubmission.pupil_id == pupil.id))
        assert (submission.source, submission.status) == ("transfer", "accepted")
        application = db.session.scalar(select(Application).where(Application.pupil_id == pupil.id))
        assert (application.kind, application.status) == ("first", "submitted")
        assert application.reason == "przeniesienie z: Szkoła Podstawowa nr 1"
        pupil_id, application_id = pupil.id, application.id
    decided = transfer_row(app, city["b"])
    assert (decided.status, decided.to_pupil_id, decided.to_application_id, decided.took_photo) == (
        "accepted", pupil_id, application_id, True)
    assert decided.photo_key is None and not services_has(app, sent.photo_key)  # the copy went after the commit
    assert staff_b.get(f"/szkola/przeniesienia/{sent.id}/zdjecie.jpg").status_code == 404
    # A sees the outcome on the pupil's page; the request is closed for both.
    assert "przyjęta" in staff_a.get(f"/szkola/uczniowie/{city['zofia']}").get_data(as_text=True)
    again = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij", {"application": "1"})
    assert again.status_code == 422 and "została już przyjęta" in again.get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        assert len(db.session.scalars(select(Pupil)).all()) == 1
        assert len(db.session.scalars(select(Application)).all()) == 1


def services_has(app, key) -> bool:
    with app.app_context():
        return services.storage().exists(key)


def test_b_knows_the_pupil_sees_both_records_and_takes_only_what_it_chooses(app, city, browser):
    known_id, known_photo = b_knows_zofia(app, city, status="left")
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    page = staff_b.get(f"/szkola/przeniesienia/{sent.id}").get_data(as_text=True)
    assert "jest już w ewidencji naszej szkoły" in page
    assert "Przenoszona-Nowak" in page and "ul. Dawna 9" in page and "ul. Stara 1" in page  # side by side
    assert 'name="take" value="surname"' in page and 'name="take" value="address"' in page
    assert 'name="take" value="date_of_birth"' not in page  # no difference, nothing to choose
    assert 'name="reactivate"' in page and "(zastąpi obecne zdjęcie)" in page
    response = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij",
                            {"take": ["address", "parent_email"], "reactivate": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        pupils = db.session.scalars(select(Pupil)).all()
        assert [p.id for p in pupils] == [known_id]  # no second record
        known = pupils[0]
        assert known.surname == "Przenoszona-Nowak" and known.class_name == "1a"  # not chosen: kept
        assert known.address == "ul. Stara 1, 70-001 Szczecin" and known.parent_email == "rodzic.zofii@example.pl"
        assert known.status == "active" and known.photo_key == known_photo  # the photo not taken
        assert db.session.scalar(select(Application.id)) is None
    decided = transfer_row(app, city["b"])
    assert (decided.status, decided.to_pupil_id, decided.took_photo) == ("accepted", known_id, False)
    assert not services_has(app, sent.photo_key)


def test_an_unknown_field_or_a_long_class_is_refused_and_nothing_is_written(app, city, browser, superuser):
    b_knows_zofia(app, city)
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    before = school_rows(superuser, city["b"])
    for form, message in (({"take": "school_id"}, "Nieznane pole"), ({"class_name": "x" * 21}, "najwyżej 20"),
                          ({"take": "pesel_index"}, "Nieznane pole")):
        response = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij", form)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    after = school_rows(superuser, city["b"])
    after["access_log"] = before["access_log"]  # re-showing the page logs the views, nothing else changed
    assert after == before and transfer_row(app, city["b"]).status == "pending"


def test_a_failed_acceptance_leaves_no_half_written_pupil_or_photo(app, city, browser, storage_root):
    """The application refused (the pupil already had a first card at B) rolls back the new
    photo file and every change to B's pupil."""
    known_id, known_photo = b_knows_zofia(app, city, status="active")
    actor = Actor(user_id=city["director_b"], role="school_director", organisation_id=city["b"])
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        school = db.session.get(Organisation, city["b"])
        handed_over_cards(actor, school, city["p1"], [db.session.get(Pupil, known_id)])
        db.session.commit()
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    files_before = stored_files(storage_root, city["b"])
    response = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij",
                            {"take_photo": "1", "take": "address", "application": "1"})
    assert response.status_code == 422 and "otrzymał już pierwszą legitymację" in response.get_data(as_text=True)
    assert stored_files(storage_root, city["b"]) == files_before
    with app.app_context(), tenant_scope(Tenant(school_id=city["b"])):
        known = db.session.get(Pupil, known_id)
        assert known.photo_key == known_photo and known.address == "ul. Dawna 9, 70-002 Szczecin"
    assert transfer_row(app, city["b"]).status == "pending" and services_has(app, sent.photo_key)


def test_b_declines_with_a_reason_a_sees_it_and_sends_elsewhere(app, city, browser, superuser):
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    before = school_rows(superuser, city["b"])
    empty = staff_b.post(f"/szkola/przeniesienia/{sent.id}/odrzuc", {"reason": "   "})
    assert empty.status_code == 422 and "Podaj powód odrzucenia" in empty.get_data(as_text=True)
    invisible = staff_b.post(f"/szkola/przeniesienia/{sent.id}/odrzuc", {"reason": " \u200b "})
    assert invisible.status_code == 422 and "niewidoczne znaki" in invisible.get_data(as_text=True)
    assert transfer_row(app, city["b"]).status == "pending"
    a_before = school_rows(superuser, city["a"])
    response = staff_b.post(f"/szkola/przeniesienia/{sent.id}/odrzuc", {"reason": "Brak miejsc w klasie 3."})
    assert response.status_code == 302
    after = school_rows(superuser, city["b"])
    assert after["pupils"] == before["pupils"] and after["applications"] == before["applications"]
    assert school_rows(superuser, city["a"]) == a_before
    assert log_rows(superuser, city["b"])[-1] == (
        "transfer_declined", None, city["b"], f"transfer={sent.id} from_school={city['a']}")
    declined = transfer_row(app, city["a"])
    assert (declined.status, declined.decline_reason, declined.photo_key) == (
        "declined", "Brak miejsc w klasie 3.", None)
    assert not services_has(app, sent.photo_key)
    page = staff_a.get(f"/szkola/uczniowie/{city['zofia']}").get_data(as_text=True)
    assert "odrzucona" in page and "Brak miejsc w klasie 3." in page
    # The pupil, still marked transferred, may be sent to another school.
    assert send(staff_a, city, target="c").status_code == 302
    assert transfer_row(app, city["c"]).to_school_id == city["c"]


def test_a_withdraws_and_b_can_then_neither_accept_nor_decline(app, city, browser, superuser):
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    assert staff_b.post(f"/szkola/przeniesienia/{sent.id}/wycofaj").status_code == 404  # the sender's only
    assert staff_a.post(f"/szkola/przeniesienia/{sent.id}/przyjmij", {}).status_code == 404  # the receiver's only
    assert staff_a.post(f"/szkola/przeniesienia/{sent.id}/odrzuc", {"reason": "x"}).status_code == 404
    assert staff_a.post(f"/szkola/przeniesienia/{sent.id}/wycofaj").status_code == 302
    assert transfer_row(app, city["a"]).status == "withdrawn" and not services_has(app, sent.photo_key)
    before = school_rows(superuser, city["b"])
    late = staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij", {"application": "1"})
    assert late.status_code == 422 and "wycofała tę prośbę" in late.get_data(as_text=True)
    refused = staff_b.post(f"/szkola/przeniesienia/{sent.id}/odrzuc", {"reason": "za późno"})
    assert refused.status_code == 422
    after = school_rows(superuser, city["b"])
    assert after["pupils"] == before["pupils"] == [] and after["applications"] == before["applications"]
    twice = staff_a.post(f"/szkola/przeniesienia/{sent.id}/wycofaj")
    assert twice.status_code == 422 and "wycofała" in twice.get_data(as_text=True)
    assert "wycofana" in staff_b.get("/szkola/przeniesienia").get_data(as_text=True)


def test_both_sides_write_their_own_access_log_rows(app, city, browser, superuser):
    staff_a, staff_b = browser("sekretariat.a@test.pl"), browser("sekretariat.b@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    staff_b.get(f"/szkola/przeniesienia/{sent.id}")
    staff_b.get(f"/szkola/przeniesienia/{sent.id}")
    staff_b.get(f"/szkola/przeniesienia/{sent.id}/zdjecie.jpg")
    assert staff_b.post(f"/szkola/przeniesienia/{sent.id}/przyjmij", {}).status_code == 302
    pupil_b = transfer_row(app, city["b"]).to_pupil_id
    a, b, ref = city["a"], city["b"], f"transfer={sent.id}"
    assert log_rows(superuser, a) == [("transfer_sent", city["zofia"], a, f"{ref} to_school={b}")]
    assert log_rows(superuser, b) == [
        ("transfer_received", None, b, f"{ref} from_school={a}"), ("transfer_view", None, b, ref),
        ("transfer_view", None, b, ref), ("transfer_photo_view", None, b, ref),
        ("transfer_accepted", pupil_b, b, f"{ref} from_school={a}")]
    # Each school reads its own rows only (the app's role, under RLS).
    with app.app_context():
        for school_id, other in ((a, b), (b, a)):
            with tenant_scope(Tenant(school_id=school_id)):
                schools = set(db.session.scalars(select(AccessLog.school_id)))
                db.session.commit()
            assert school_id in schools and other not in schools
    # The sender's withdrawal is logged as the sender.
    assert send(staff_a, city, pupil="adam").status_code == 302
    second = transfer_row(app, city["a"])
    assert staff_a.post(f"/szkola/przeniesienia/{second.id}/wycofaj").status_code == 302
    assert log_rows(superuser, a)[-1] == ("transfer_withdrawn", city["adam"], a,
                                          f"transfer={second.id} to_school={b}")
    received = transfer_row(app, city["a"])
    assert received.received_at is None  # B never opened the withdrawn one


def test_a_request_between_other_schools_is_a_404_for_everyone_else(app, city, browser):
    staff_a = browser("sekretariat.a@test.pl")
    assert send(staff_a, city).status_code == 302
    sent = transfer_row(app, city["a"])
    urls = [("get", f"/szkola/przeniesienia/{sent.id}"), ("get", f"/szkola/przeniesienia/{sent.id}/zdjecie.jpg"),
            ("post", f"/szkola/przeniesienia/{sent.id}/przyjmij"), ("post", f"/szkola/przeniesienia/{sent.id}/odrzuc"),
            ("post", f"/szkola/przeniesienia/{sent.id}/wycofaj")]
    for email in ("sekretariat.c@test.pl", "urzednik@test.pl", "drukarnia.1@test.pl"):
        user = browser(email)
        for method, url in urls:
            response = user.get(url) if method == "get" else user.post(url, {"reason": "x", "take_photo": "1"})
            assert response.status_code == 404, (email, url)
            assert "Przenoszona" not in response.get_data(as_text=True)
        assert "Przenoszona" not in user.get("/szkola/przeniesienia").get_data(as_text=True)
    assert transfer_row(app, city["a"]).status == "pending"
    for huge in ("9" * 40, "9" * 5000, "0"):
        assert staff_a.get(f"/szkola/przeniesienia/{huge}").status_code == 404
        assert staff_a.post(f"/szkola/przeniesienia/{huge}/wycofaj").status_code == 404
        assert staff_a.get(f"/szkola/uczniowie/{huge}/przeniesienie").status_code == 404
