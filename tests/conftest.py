"""Shared fixtures: a real PostgreSQL database (migrated once per run, emptied after each test),
real Redis (database 15), the app connected as the unprivileged role, and factories.

PostgreSQL and Redis must be running (`make test` starts them); nothing is mocked.
"""

from __future__ import annotations

import os
import re
import socket
import uuid

import pytest
import redis as redis_lib
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from infra.crypto import new_key
from infra.migrate import create_roles_and_database
from infra.migrate import upgrade

PG_HOST = os.environ.get("LEGITKA_TEST_PG", "127.0.0.1:5432")
ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}/postgres"
# Parallel runs (e.g. two worktrees) pick their own database and Redis index.
DB_NAME = os.environ.get("LEGITKA_TEST_DB", "legitka_test")
OWNER_URL = f"postgresql+psycopg://legitka_owner@{PG_HOST}/{DB_NAME}"
APP_URL = f"postgresql+psycopg://legitka_app@{PG_HOST}/{DB_NAME}"
SUPERUSER_URL = f"postgresql+psycopg://postgres@{PG_HOST}/{DB_NAME}"  # every tenant's rows, no policy
REDIS_URL = os.environ.get("LEGITKA_TEST_REDIS", "redis://127.0.0.1:6379/15")
PASSWORD = "poprawne-haslo-testowe"
TEST_KEYS = {"SECRET_KEY": "test-secret-key-" + "x" * 32, "PESEL_KEY": new_key(), "PESEL_INDEX_KEY": new_key()}


@pytest.fixture(scope="session")
def database():
    """A fresh test database (`legitka_test` unless LEGITKA_TEST_DB says otherwise), migrated by
    the owner role, used by the app role."""
    admin = create_engine(ADMIN_URL, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
    admin.dispose()
    create_roles_and_database(ADMIN_URL, DB_NAME, "legitka_owner", "legitka_app")
    upgrade(OWNER_URL, APP_URL)
    owner = create_engine(OWNER_URL, poolclass=pool.NullPool)
    with owner.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))
            if r[0] not in SEEDED_TABLES]
    yield owner, tables
    owner.dispose()
    _superuser.dispose()


@pytest.fixture(scope="session")
def storage_root(tmp_path_factory):
    return tmp_path_factory.mktemp("storage")


@pytest.fixture(scope="session")
def snapshots(database, storage_root):
    """Scenarios built once per run and laid back for each test that asks (tests.snapshots)."""
    from tests.snapshots import Snapshots

    _owner, tables = database
    yield Snapshots(_superuser, tables, storage_root)


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The messages the app sent over SMTP during this test."""
    sink, _port = smtp_server
    sink.messages.clear()
    return sink.messages


@pytest.fixture(scope="session")
def app(database, storage_root, tmp_path_factory, smtp_server):
    from portal import create_app

    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "DATABASE_URL": APP_URL,
        "MIGRATION_DATABASE_URL": OWNER_URL,
        "REDIS_URL": REDIS_URL,
        "LOCAL_STORAGE_PATH": str(storage_root),
        "SESSION_COOKIE_SECURE": False,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_server[1],
        "PUBLIC_URL": "https://legitka.test",
        "PASSWORD_HASH_PROFILE": "asvs-minimum",  # ASVS's minimum, ~5x cheaper per sign-in (docs/security.md T2.1)
        **TEST_KEYS,
    })
    yield app
    from infra.db import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request):
    """Empty every table and the Redis test database after each test that used them."""
    yield
    from tenants.tenancy import context

    context._current.set(context.NO_TENANT)
    context._unscoped.set(None)
    if "database" in request.fixturenames:
        _owner, tables = request.getfixturevalue("database")
        _empty(tables)
    if "app" in request.fixturenames:
        redis_lib.Redis.from_url(REDIS_URL).flushdb()


# One pooled superuser connection empties the tables after each test (pre-ping: a test may end it).
_superuser = create_engine(SUPERUSER_URL, pool_size=1, pool_pre_ping=True)


# Tables whose rows the migrations seed (the duplicate fee's first period, docs/domain.md §25): not in
# the tables emptied and laid back (`database`, tests.snapshots), but put back as migrated after each test.
SEEDED_TABLES = ("duplicate_fees",)


def _reseed(conn) -> None:
    from tenants.pupils import fees

    conn.exec_driver_sql("DELETE FROM duplicate_fees")
    conn.exec_driver_sql("INSERT INTO duplicate_fees (id, amount, valid_from, basis, created_at) "
                         "VALUES (1, %(amount)s, %(valid_from)s, %(basis)s, %(valid_from)s)",
                         {"amount": fees.SEED_AMOUNT, "valid_from": fees.SEED_FROM, "basis": fees.SEED_BASIS})
    conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('duplicate_fees', 'id'), 1)")


def _empty(tables: list[str]) -> None:
    """Every row deleted and every sequence back at its start, as `TRUNCATE … RESTART IDENTITY`
    would leave them, at a tenth of its cost on tables this small (TRUNCATE makes new files for
    each table and index). As the superuser: no policy hides a row from the DELETE, and with
    `session_replication_role = replica` neither foreign keys (any order will do) nor the
    tables' own triggers (access_log forbids deleting) fire."""
    with _superuser.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("; ".join(f"DELETE FROM {table}" for table in tables))
        conn.exec_driver_sql("SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), "
                             "start_value, false) FROM pg_sequences WHERE schemaname = 'public'")
        _reseed(conn)


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def redis():
    return redis_lib.Redis.from_url(REDIS_URL)


@pytest.fixture
def workers(app, tmp_path):
    """Real `flask legitka worker` subprocesses (tests.workers), killed at the end of the test.
    Batch files of earlier tests are removed first: ids restart with every test, and the worker
    tests compare storage to the order."""
    import pathlib
    import shutil

    from tests.workers import Workers

    for folder in pathlib.Path(app.config["LOCAL_STORAGE_PATH"]).glob("schools/*/orders"):
        shutil.rmtree(folder)
    started = Workers(app, tmp_path)
    yield started
    started.kill_all()


@pytest.fixture
def another_app(app, smtp_server, tmp_path):
    """Apps like the test app (same database, storage, keys, SMTP sink) with settings of their own;
    their connections are closed afterwards."""
    from portal import create_app

    made = []

    def make(**settings):
        made_app = create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path / f"instance-{len(made)}"), "DATABASE_URL": APP_URL,
            "MIGRATION_DATABASE_URL": OWNER_URL, "REDIS_URL": REDIS_URL, "SESSION_COOKIE_SECURE": False,
            "LOCAL_STORAGE_PATH": app.config["LOCAL_STORAGE_PATH"], "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_server[1], "PUBLIC_URL": "https://legitka.test",
            "PASSWORD_HASH_PROFILE": app.config["PASSWORD_HASH_PROFILE"], **TEST_KEYS, **settings})
        made.append(made_app)
        return made_app

    yield make
    from infra.db import db

    for made_app in made:
        with made_app.app_context():
            db.engine.dispose()


@pytest.fixture
def redis_later(tmp_path):
    """A port where no Redis runs yet, and a function that starts one there (stopped at the end)."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path)

    def start() -> redis_lib.Redis:
        server.start()
        return server.client()

    yield server.port, start
    server.stop()


@pytest.fixture
def app_on_redis_later(another_app, redis_later):
    """The test app's twin whose Redis (on `redis_later`'s port) is down until the test starts it."""
    port, _start = redis_later
    return another_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")


# --- factories ------------------------------------------------------------------------------


class World:
    """Builds organisations and users straight in the database (unscoped tables only)."""

    _hash = None

    def __init__(self, app):
        self.app = app

    @classmethod
    def password_hash(cls):
        from tenants.tenancy.passwords import hash_password

        if cls._hash is None:
            cls._hash = hash_password(PASSWORD)
        return cls._hash

    def org(self, kind, name, **fields):
        from infra.db import db
        from tenants.tenancy.models import Organisation

        with self.app.app_context():
            slug = fields.pop("slug", f"{kind}-{uuid.uuid4().hex[:8]}")
            org = Organisation(kind=kind, name=name, slug=slug, **fields)
            db.session.add(org)
            db.session.commit()
            return org.id

    def city(self, name="Miasto Testowe"):
        return self.org("city", name)

    def school(self, city_id, name="Szkoła Podstawowa nr 1", **fields):
        fields.setdefault("school_type", "primary")
        return self.org("school", name, city_id=city_id, street="ul. Długa 1", postal_code="70-001", town="Szczecin",
                        director_name="Anna Dyrektorska", **fields)

    def printer(self, city_ids, name="Drukarnia Testowa", tiers=((1, "12.00"), (10, "10.50")), agreements=True):
        """A printer serving the cities; by default every school already in them has signed a
        data-processing agreement with it (in force from a year ago to a year ahead)."""
        from decimal import Decimal

        from infra.db import db
        from printing.models import PriceTier
        from tenants.tenancy.models import CityPrinter

        printer_id = self.org("printer", name, lead_time_days=14)
        with self.app.app_context():
            for qty, price in tiers:
                db.session.add(PriceTier(printer_id=printer_id, min_quantity=qty, unit_price=Decimal(price)))
            for city_id in city_ids:
                db.session.add(CityPrinter(city_id=city_id, printer_id=printer_id))
            db.session.commit()
        if agreements:
            self.agreements(printer_id, city_ids)
        return printer_id

    def agreements(self, printer_id, city_ids, valid_until=None):
        import datetime as dt

        from sqlalchemy import select

        from infra import clock
        from infra.db import db
        from printing.models import ProcessingAgreement
        from tenants.tenancy.context import Tenant
        from tenants.tenancy.context import tenant_scope
        from tenants.tenancy.models import Organisation

        today = clock.today()
        with self.app.app_context():
            schools = db.session.scalars(select(Organisation.id).where(
                Organisation.kind == "school", Organisation.city_id.in_(city_ids))).all()
            for school_id in schools:
                with tenant_scope(Tenant(school_id=school_id)):
                    db.session.add(ProcessingAgreement(
                        school_id=school_id, printer_id=printer_id, reference=f"UP/{school_id}/{printer_id}",
                        signed_on=today - dt.timedelta(days=365), valid_from=today - dt.timedelta(days=365),
                        valid_until=valid_until or today + dt.timedelta(days=365)))
                    db.session.commit()

    def user(self, email, org_id=None, role=None, admin=False):
        from infra.db import db
        from tenants.tenancy.models import Membership
        from tenants.tenancy.models import User

        with self.app.app_context():
            user = User(email=email, full_name=email.split("@")[0].title(), password_hash=self.password_hash(),
                        is_platform_admin=admin)
            db.session.add(user)
            db.session.flush()
            if org_id:
                db.session.add(Membership(user_id=user.id, organisation_id=org_id, role=role))
            db.session.commit()
            return user.id


@pytest.fixture
def world(app):
    return World(app)


@pytest.fixture
def two_schools(world):
    """City C with schools A and B, printers P1 and P2 (both serving C), and staff for each."""
    city = world.city()
    a = world.school(city, "Szkoła Podstawowa nr 1")
    b = world.school(city, "Szkoła Podstawowa nr 2")
    p1 = world.printer([city], "Drukarnia Pierwsza")
    p2 = world.printer([city], "Drukarnia Druga")
    director_a = world.user("dyrektor.a@test.pl", a, "school_director")
    world.user("sekretariat.a@test.pl", a, "school_secretary")
    director_b = world.user("dyrektor.b@test.pl", b, "school_director")
    world.user("drukarnia.1@test.pl", p1, "printer_operator")
    world.user("drukarnia.2@test.pl", p2, "printer_operator")
    world.user("urzednik@test.pl", city, "city_official")
    return {"city": city, "a": a, "b": b, "p1": p1, "p2": p2, "director_a": director_a, "director_b": director_b}


# --- a browser-like client ------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """The Flask test client with sign-in and CSRF handled the way a browser would."""

    def __init__(self, client):
        self.client = client

    def csrf(self) -> str:
        page = self.client.get("/logowanie", follow_redirects=True).get_data(as_text=True)
        return _CSRF.search(page).group(1)

    def password(self, email, password=PASSWORD):
        """Only the first step: the password form (a user who needs a second factor is sent on to it)."""
        return self.client.post("/logowanie", data={"email": email, "password": password, "csrf_token": self.csrf()})

    def login(self, email, password=PASSWORD):
        """Sign in as a person would: the password, then the second factor if the app asks for it
        (`pass_second_factor`). The answer of the last step."""
        return pass_second_factor(self.client, email, self.password(email, password))

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=data, **kw)


FACTOR_PAGES = ("/logowanie/kod", "/logowanie/drugi-skladnik")


def enrol_second_factor(app, email: str) -> str:
    """Enrol the user's second factor with the domain functions, as if they had typed the code
    their app showed a moment ago (a step that is then used); their key (base32) is returned."""
    from sqlalchemy import select

    from infra import clock
    from infra.db import db
    from tenants.tenancy import second_factor
    from tenants.tenancy import totp
    from tenants.tenancy.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        factor = second_factor.factor_of(user)
        if factor is not None:
            secret = second_factor.secret_of(factor)
            db.session.rollback()
            return secret
        secret = totp.new_secret()
        now = clock.utcnow()
        second_factor.enrol(user, secret, totp.code_at(secret, totp.step_of(now) - 1), now=now)
        db.session.commit()
        return secret


def next_code(app, email: str) -> str:
    """The code the user's app shows that the app will still accept: the current step's (or the
    next one's, within the ±1 tolerance) when it is later than the last step used; otherwise it
    waits, as a person would, for the next code."""
    import time

    from sqlalchemy import select

    from infra import clock
    from infra.db import db
    from tenants.tenancy import second_factor
    from tenants.tenancy import totp
    from tenants.tenancy.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        factor = second_factor.factor_of(user)
        secret, last = second_factor.secret_of(factor), factor.last_step
        db.session.rollback()
    while True:
        now = totp.step_of(clock.utcnow())
        step = max(now, (last if last is not None else now - 1) + 1)
        if step <= now + 1:
            return totp.code_at(secret, step)
        assert clock._pinned is None, "the clock is pinned: no later code will come; sign in before pinning it"
        time.sleep(1)  # both of this step's codes were used: the next step comes within 30 s


def pass_second_factor(client, email: str, response):
    """After the right password: if the app asks to enrol, enrol (`enrol_second_factor`); then type
    the user's next code (`next_code`) on the code page. Any other answer is returned as it is."""
    if response.status_code != 302 or response.headers["Location"] not in FACTOR_PAGES:
        return response
    app = client.application
    if response.headers["Location"] == "/logowanie/drugi-skladnik":
        enrol_second_factor(app, email)
    page = client.get("/logowanie/kod").get_data(as_text=True)
    token = _CSRF.search(page).group(1)
    return client.post("/logowanie/kod", data={"code": next_code(app, email), "csrf_token": token})


@pytest.fixture
def browser(app):
    def make(email=None):
        b = Browser(app.test_client())
        if email:
            response = b.login(email)
            assert response.status_code == 302, response.get_data(as_text=True)
        return b

    return make
