"""Row-level security at the SQL level, as the application's own database role (T1.1–T1.8)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc
from sqlalchemy import pool
from sqlalchemy import text

from tests.conftest import ADMIN_URL
from tests.conftest import APP_URL
from tests.conftest import DB_NAME

INSERT_PUPIL = text(
    "INSERT INTO pupils (school_id, first_names, surname, date_of_birth, sex, pesel_index, class_name, learner_type,"
    " disabled, status, created_at) VALUES (:school, 'Jan', 'Kowalski', :dob, 'M', :idx, '1a', 'pupil', false,"
    " 'active', now()) RETURNING id")


@pytest.fixture
def app_engine(database):
    engine = create_engine(APP_URL, poolclass=pool.QueuePool, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def as_tenant(conn, school="", printer="", city=""):
    conn.execute(text("SELECT set_config('app.school_id', :s, true), set_config('app.printer_id', :p, true),"
                      " set_config('app.city_id', :c, true)"), {"s": str(school), "p": str(printer), "c": str(city)})


def add_pupil(engine, school, idx="idx-1"):
    with engine.begin() as conn:
        as_tenant(conn, school=school)
        return conn.execute(INSERT_PUPIL, {"school": school, "dob": dt.date(2019, 1, 1), "idx": idx}).scalar_one()


def test_app_role_is_neither_superuser_nor_bypassrls_nor_owner(app_engine):
    with app_engine.connect() as conn:
        row = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(row) == (False, False)
        owned = conn.execute(text("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
                                  " WHERE r.rolname = current_user")).scalar_one()
        assert owned == 0


# A column naming a school: `school_id`, or one side of a row two schools share (`to_school_id`),
# or the holder of blank stock, a school or a printer (`holder_id`, docs/domain.md §22).
SCHOOL_COLUMN = "(a.attname IN ('school_id', 'holder_id') OR a.attname LIKE '%\\_school\\_id')"


def test_every_table_with_a_tenant_column_has_forced_rls_and_a_policy(app_engine):
    with app_engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND {SCHOOL_COLUMN}
                          AND NOT a.attisdropped)
        """)).all()
    assert {r[0] for r in rows} >= {"pupils", "applications", "cards", "school_counters", "print_orders", "outbox",
                                    "access_log", "pupil_transfers"}
    for name, enabled, forced, policies in rows:
        assert enabled and forced and policies >= 1, name


def test_unique_constraints_and_tenant_foreign_keys_include_school_id(app_engine):
    """Every unique index of a table with a school column includes one; every foreign key into a
    tenant table pairs a school column of its own with the target's `school_id` (so a reference
    can only point at a row of the school the column names)."""
    with app_engine.connect() as conn:
        uniques = conn.execute(text(f"""
            SELECT t.relname, i.relname,
                   EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND {SCHOOL_COLUMN}
                           AND a.attnum = ANY (x.indkey))
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND x.indisunique AND NOT x.indisprimary
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND {SCHOOL_COLUMN})
        """)).all()
        foreign = conn.execute(text(f"""
            SELECT src.relname, con.conname,
                   EXISTS (SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(src_col, dst_col)
                           JOIN pg_attribute a ON a.attrelid = src.oid AND a.attnum = k.src_col
                           JOIN pg_attribute d ON d.attrelid = dst.oid AND d.attnum = k.dst_col
                           WHERE {SCHOOL_COLUMN} AND d.attname = 'school_id')
            FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
            WHERE con.contype = 'f'
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = dst.oid AND a.attname = 'school_id')
        """)).all()
    assert uniques and foreign
    # The one global key: a parent's link is found by the SHA-256 of a random 192-bit token that no
    # tenant chooses, so a collision cannot be provoked to learn about another school.
    by_design = {("photo_links", "uq_photo_links_token_hash")}
    for table, name, has_school in uniques + foreign:
        assert has_school or (table, name) in by_design, f"{table}.{name} leaks across schools"


def test_without_a_tenant_no_rows_are_visible_and_writes_fail(app_engine, two_schools):
    add_pupil(app_engine, two_schools["a"])
    with app_engine.connect() as conn:  # fresh connection, nothing set
        assert conn.execute(text("SELECT count(*) FROM pupils")).scalar_one() == 0
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            conn.execute(INSERT_PUPIL, {"school": two_schools["a"], "dob": dt.date(2019, 1, 1), "idx": "x"})
    with app_engine.begin() as conn:
        as_tenant(conn)  # reset to '' (what a pooled connection carries after SET LOCAL)
        assert conn.execute(text("SELECT count(*) FROM pupils")).scalar_one() == 0


def test_school_b_cannot_read_or_write_school_a(app_engine, two_schools):
    a, b = two_schools["a"], two_schools["b"]
    pupil_a = add_pupil(app_engine, a)
    with app_engine.begin() as conn:
        as_tenant(conn, school=b)
        assert conn.execute(text("SELECT count(*) FROM pupils WHERE school_id = :a"), {"a": a}).scalar_one() == 0
        assert conn.execute(text("SELECT id FROM pupils WHERE id = :id"), {"id": pupil_a}).first() is None
        updated = conn.execute(text("UPDATE pupils SET surname = 'X' WHERE id = :id"), {"id": pupil_a})
        assert updated.rowcount == 0
    with app_engine.begin() as conn:
        as_tenant(conn, school=b)
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            conn.execute(INSERT_PUPIL, {"school": a, "dob": dt.date(2019, 1, 1), "idx": "y"})
    pupil_b = add_pupil(app_engine, b, idx="idx-b")
    with app_engine.begin() as conn:
        as_tenant(conn, school=b)
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            conn.execute(text("UPDATE pupils SET school_id = :a WHERE id = :id"), {"a": a, "id": pupil_b})


def test_same_pesel_in_two_schools_is_allowed_and_reveals_nothing(app_engine, two_schools):
    add_pupil(app_engine, two_schools["a"], idx="same-blind-index")
    add_pupil(app_engine, two_schools["b"], idx="same-blind-index")  # no unique violation across schools


def test_tenant_settings_do_not_outlive_the_transaction(app_engine, two_schools):
    add_pupil(app_engine, two_schools["a"])
    with app_engine.begin() as conn:
        as_tenant(conn, school=two_schools["a"])
        assert conn.execute(text("SELECT count(*) FROM pupils")).scalar_one() == 1
    with app_engine.connect() as conn:  # the same pooled connection (pool_size=1)
        assert conn.execute(text("SELECT current_setting('app.school_id', true)")).scalar_one() in ("", None)
        assert conn.execute(text("SELECT count(*) FROM pupils")).scalar_one() == 0


def test_printer_and_city_see_only_orders_addressed_to_them(app_engine, two_schools):
    a = two_schools["a"]
    with app_engine.begin() as conn:
        as_tenant(conn, school=a)
        conn.execute(text("INSERT INTO print_orders (school_id, city_id, printer_id, status, card_count,"
                          " handed_over_count, attempt, error, created_by_id, created_at)"
                          " VALUES (:s, :c, :p, 'submitted', 1, 0, 0, '', (SELECT min(id) FROM users), now())"),
                     {"s": a, "c": two_schools["city"], "p": two_schools["p1"]})
    counts = {}
    for label, settings in {"p1": {"printer": two_schools["p1"]}, "p2": {"printer": two_schools["p2"]},
                            "city": {"city": two_schools["city"]}, "b": {"school": two_schools["b"]}}.items():
        with app_engine.begin() as conn:
            as_tenant(conn, **settings)
            counts[label] = conn.execute(text("SELECT count(*) FROM print_orders")).scalar_one()
    assert counts == {"p1": 1, "p2": 0, "city": 1, "b": 0}
    with app_engine.begin() as conn:  # the city reads order metadata, never pupils or cards
        as_tenant(conn, city=two_schools["city"])
        assert conn.execute(text("SELECT count(*) FROM cards")).scalar_one() == 0


def test_blank_stock_is_its_holders_alone(app_engine, two_schools):
    """Blank deliveries and serials belong to their holder, a printer or a school (docs/domain.md
    §22): the holder reads them, nobody else does, and nobody writes rows for another holder."""
    insert = text("INSERT INTO blank_deliveries (holder_id, supplier, received_on, first_serial, last_serial, count,"
                  " created_at) VALUES (:h, 'PWPW', '2026-09-01', 'B1', 'B1', 1, now())")
    for holder, settings in ((two_schools["p1"], {"printer": two_schools["p1"]}),
                             (two_schools["a"], {"school": two_schools["a"]})):
        with app_engine.begin() as conn:
            as_tenant(conn, **settings)
            conn.execute(insert, {"h": holder})
    counts = {}
    for label, settings in {"p1": {"printer": two_schools["p1"]}, "p2": {"printer": two_schools["p2"]},
                            "a": {"school": two_schools["a"]}, "b": {"school": two_schools["b"]},
                            "city": {"city": two_schools["city"]}}.items():
        with app_engine.begin() as conn:
            as_tenant(conn, **settings)
            counts[label] = conn.execute(text("SELECT count(*) FROM blank_deliveries")).scalar_one()
    assert counts == {"p1": 1, "p2": 0, "a": 1, "b": 0, "city": 0}
    with app_engine.connect() as conn, conn.begin():
        as_tenant(conn, printer=two_schools["p2"])
        with pytest.raises(exc.ProgrammingError, match="row-level security"):
            conn.execute(insert, {"h": two_schools["p1"]})


def test_access_log_is_append_only(app_engine, database, two_schools):
    a = two_schools["a"]
    with app_engine.begin() as conn:
        as_tenant(conn, school=a)
        conn.execute(text("INSERT INTO access_log (ts, actor_role, school_id, action, endpoint, request_id, ip, result,"
                          " detail) VALUES (now(), 'test', :s, 'pupil_view', '', '', '', 'ok', '')"), {"s": a})
    with app_engine.begin() as conn, pytest.raises(exc.ProgrammingError, match="permission denied"):
        as_tenant(conn, school=a)
        conn.execute(text("UPDATE access_log SET action = 'x'"))
    owner, _tables = database
    with owner.begin() as conn:  # the owner is under FORCE RLS, with no DELETE policy at all
        conn.execute(text("SELECT set_config('app.school_id', :s, true)"), {"s": str(a)})
        assert conn.execute(text("DELETE FROM access_log")).rowcount == 0
    superuser = create_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, poolclass=pool.NullPool)
    try:  # even a superuser, who bypasses RLS, meets the trigger
        with superuser.begin() as conn, pytest.raises(exc.ProgrammingError, match="append-only"):
            conn.execute(text("DELETE FROM access_log"))
    finally:
        superuser.dispose()
