"""A replaced photo's file goes only once the replacement is committed; a rolled-back photo
leaves no file behind (infra.file_lifecycle), with the real intake and storage."""

from __future__ import annotations

import pytest

from infra import services
from infra.db import db
from infra.storage import NotFound
from tenants.pupils.models import Pupil
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import jpeg
from tests.helpers import store_photo


@pytest.fixture
def pupil_with_photo(app, two_schools):
    school_id = two_schools["a"]
    actor = Actor(user_id=two_schools["director_a"], role="school_director", organisation_id=school_id)
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        pupil = add_pupil(actor)
        store_photo(actor, db.session.get(Organisation, school_id), pupil)
        db.session.commit()
        yield actor, school_id, pupil.id, pupil.photo_key


def _exists(key: str) -> bool:
    try:
        services.storage().get(key)
    except NotFound:
        return False
    return True


def test_the_old_photo_stays_until_the_new_one_is_committed(pupil_with_photo):
    actor, school_id, pupil_id, old_key = pupil_with_photo
    store_photo(actor, db.session.get(Organisation, school_id), db.session.get(Pupil, pupil_id),
                jpeg(color=(200, 210, 220)))
    new_key = db.session.get(Pupil, pupil_id).photo_key
    assert new_key != old_key and _exists(old_key) and _exists(new_key)  # flushed, not committed
    db.session.commit()
    assert not _exists(old_key) and _exists(new_key)
    assert db.session.get(Pupil, pupil_id).photo_key == new_key


def test_a_rolled_back_replacement_keeps_the_old_photo_and_leaves_no_new_file(pupil_with_photo):
    actor, school_id, pupil_id, old_key = pupil_with_photo
    store_photo(actor, db.session.get(Organisation, school_id), db.session.get(Pupil, pupil_id),
                jpeg(color=(200, 210, 220)))
    new_key = db.session.get(Pupil, pupil_id).photo_key
    db.session.rollback()  # e.g. a later step of the same request failed
    assert _exists(old_key) and not _exists(new_key)
    assert db.session.get(Pupil, pupil_id).photo_key == old_key
    db.session.commit()  # nothing is left over to delete by a later commit
    assert _exists(old_key)
