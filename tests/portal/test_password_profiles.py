"""Password hashing profiles: named argon2id parameters, all at or above ASVS's minimum, chosen by
`PASSWORD_HASH_PROFILE`; hashes from another profile are re-hashed at sign-in (T2.1)."""

from __future__ import annotations

import pytest
from argon2 import Type
from argon2 import extract_parameters
from sqlalchemy import select

from infra.db import db
from tenants.tenancy.models import User
from tests.conftest import PASSWORD


def _stored_hash(app, email):
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.email == email))


def _set_hash(app, email, value):
    with app.app_context():
        db.session.execute(User.__table__.update().where(User.email == email).values(password_hash=value))
        db.session.commit()


def test_every_profile_is_argon2id_at_or_above_asvs(app, monkeypatch):
    from tenants.tenancy.passwords import PROFILES
    from tenants.tenancy.passwords import hash_password

    assert set(PROFILES) == {"rfc9106-low-memory", "asvs-minimum"}
    for name, wanted in PROFILES.items():
        monkeypatch.setitem(app.config, "PASSWORD_HASH_PROFILE", name)
        with app.app_context():
            made = extract_parameters(hash_password("jakies-dlugie-haslo"))
        assert made == wanted, name
        assert made.type is Type.ID and made.version == 19
        assert made.memory_cost >= 19456 and made.time_cost >= 2 and made.parallelism >= 1, name


def test_the_default_profile_is_rfc9106_low_memory(tmp_path, monkeypatch):
    from portal import create_app
    from tenants.tenancy.passwords import hash_password

    monkeypatch.delenv("LEGITKA_PASSWORD_HASH_PROFILE", raising=False)  # no setting at all
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["PASSWORD_HASH_PROFILE"] == "rfc9106-low-memory"
    with app.app_context():
        made = extract_parameters(hash_password("jakies-dlugie-haslo"))
    assert (made.type, made.time_cost, made.memory_cost, made.parallelism) == (Type.ID, 3, 65536, 4)


@pytest.mark.parametrize("name", ["fast", "", "RFC9106-LOW-MEMORY"])
def test_an_unknown_profile_is_refused_at_start(tmp_path, name):
    from portal import create_app

    with pytest.raises(ValueError, match="PASSWORD_HASH_PROFILE must be one of rfc9106-low-memory, asvs-minimum"):
        create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "PASSWORD_HASH_PROFILE": name})


def test_the_unknown_user_hash_follows_the_active_profile(app, monkeypatch):
    """Unknown e-mails are verified against `dummy_hash()`: made with the active profile's
    parameters, it costs what a wrong password costs."""
    from tenants.tenancy.passwords import PROFILES
    from tenants.tenancy.passwords import dummy_hash

    for name, wanted in PROFILES.items():
        monkeypatch.setitem(app.config, "PASSWORD_HASH_PROFILE", name)
        with app.app_context():
            assert extract_parameters(dummy_hash()) == wanted, name


@pytest.mark.parametrize(("old", "new"), [("rfc9106-low-memory", "asvs-minimum"),
                                          ("asvs-minimum", "rfc9106-low-memory")])
def test_a_hash_from_another_profile_is_rehashed_at_sign_in(app, browser, two_schools, monkeypatch, old, new):
    from tenants.tenancy.passwords import PROFILES
    from tenants.tenancy.passwords import hash_password

    monkeypatch.setitem(app.config, "PASSWORD_HASH_PROFILE", old)
    with app.app_context():
        _set_hash(app, "dyrektor.a@test.pl", hash_password(PASSWORD))
    assert extract_parameters(_stored_hash(app, "dyrektor.a@test.pl")) == PROFILES[old]
    monkeypatch.setitem(app.config, "PASSWORD_HASH_PROFILE", new)
    browser("dyrektor.a@test.pl")  # signs in (asserts the redirect)
    assert extract_parameters(_stored_hash(app, "dyrektor.a@test.pl")) == PROFILES[new]
    # The re-hashed password still signs in, and is not re-hashed again.
    stored = _stored_hash(app, "dyrektor.a@test.pl")
    browser("dyrektor.a@test.pl")
    assert _stored_hash(app, "dyrektor.a@test.pl") == stored
