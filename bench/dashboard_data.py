"""Data for the city dashboard benchmark (`bench.dashboard`): synthetic cities in PostgreSQL.

Two databases, each migrated like production (owner `legitka_owner`, app role `legitka_app`):

* `legitka_bench_city`: one city, 150 schools, 45,000 pupils;
* `legitka_bench_national`: 24,000 schools in 380 cities and gminas (Zipf-sized, the largest
  ~1,400 schools), 5,000,000 pupils; one city in it has exactly 150 schools (the one measured).

Each holds three school years of history up to today: pupils, applications, cards, print orders
(mostly delivered; the latest ones still on their way) with their frozen quotes, invoices and
deletion receipts, the anonymous statistics the city reads (`school_stats`, `card_facts`, `order_facts`,
consistent with the registry), this school year's holograms, printers with price lists (a city
print centre, printing houses, a few schools' own printers), cost profiles, the city's budget,
and a city official per measured city who can sign in (`PASSWORD`).

Everything is made by a few `INSERT … SELECT generate_series` statements run by the superuser
(who is not subject to row-level security) with foreign-key triggers off for the session
(`session_replication_role = replica`; the rows are consistent by construction). Randomness is a
hash of each row's id, so a run is deterministic for a given day. Rows go in as production writes
them: orders, cards and applications in time order (a city's rows are spread over the whole
table), pupils and the statistics in per-school blocks, schools in random order. Then VACUUM
ANALYZE. A finished database carries a marker (a comment on the database); one without it (an
interrupted run) is made again.

The organisations are planned and loaded in `bench.dashboard_plan`, the bulk SQL is in
`bench.dashboard_sql`; this module makes the database and runs them.

Run `python -m bench.dashboard_data [--national] [--regenerate]`; `bench.dashboard` calls `ensure`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import time

from bench import dashboard_plan as orgs
from bench import dashboard_sql as bulk
from bench.dashboard_plan import Spec
from infra import clock
from tenants.registry import template_versions

PG = os.environ.get("LEGITKA_BENCH_PG", "127.0.0.1:5432")
ADMIN = "postgres"
OWNER = "legitka_owner"
APP = "legitka_app"
PASSWORD = "bench-haslo-urzednika"  # noqa: S105 (synthetic data on a local benchmark database)
# v2: order_facts, hologram counts; v3: consultations; v4: who needs a card; v5: card template versions;
# v6: the schema of issue 18 (second factor, identity links, privacy registers)
MARKER = "legitka-bench-dashboard v6"
# LEGITKA_BENCH_DB_SUFFIX: databases of their own (e.g. "_mine": legitka_bench_city_mine), so that two
# working copies with different data sets do not regenerate each other's.
SUFFIX = os.environ.get("LEGITKA_BENCH_DB_SUFFIX", "")

CITY = Spec(f"legitka_bench_city{SUFFIX}", 1, 150, 45_000)
NATIONAL = Spec(f"legitka_bench_national{SUFFIX}", 380, 24_000, 5_000_000)


def url(database: str, role: str, driver: str = "postgresql+psycopg") -> str:
    return f"{driver}://{role}@{PG}/{database}"


def _conninfo(database: str, role: str = ADMIN) -> str:
    host, _, port = PG.partition(":")
    return f"host={host} port={port or 5432} user={role} dbname={database}"


def generate(spec: Spec, today: dt.date | None = None, log=print) -> dict:
    """Make the database from scratch; returns its description (also kept as the marker)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy import pool
    from sqlalchemy import text

    from infra.migrate import create_roles_and_database
    from infra.migrate import upgrade
    from tenants.tenancy.passwords import hash_password

    started = time.perf_counter()
    today = today or clock.today()
    now = clock.utcnow()
    admin = create_engine(url("postgres", ADMIN), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{spec.database}" WITH (FORCE)'))
    admin.dispose()
    create_roles_and_database(url("postgres", ADMIN), spec.database, OWNER, APP)
    upgrade(url(spec.database, OWNER), url(spec.database, APP))
    p = orgs.plan(spec)
    y0, waves = bulk.waves(today)
    cutover_from, cutover_days = bulk.cutovers(today)
    params = {"y0": y0, "today": today, "cutover_from": cutover_from, "cutovers": cutover_days, "now": now,
              "max_gi": len(waves) - 1, "own_unit": bulk.OWN_UNIT_COST,
              "girls": bulk.GIRLS, "boys": bulk.BOYS, "surnames": bulk.SURNAMES,
              "amended": template_versions.versions_of(template_versions.TEMPLATE_CODES[0])[-1].effective_from}
    timings = {}

    def step(label: str, sql: str, **extra) -> None:
        t0 = time.perf_counter()
        cur.execute(sql, {**params, **extra} if ("%(" in sql) else None)
        timings[label] = time.perf_counter() - t0
        rows = f"{cur.rowcount:>10,} rows" if cur.rowcount and cur.rowcount > 0 else " " * 15
        log(f"  {label:<28} {rows} {timings[label]:7.1f} s")

    with psycopg.connect(_conninfo(spec.database), autocommit=True) as conn, psycopg.ClientCursor(conn) as cur:
        for sql in bulk.SETUP:
            cur.execute(sql)
        t0 = time.perf_counter()
        staff = orgs.load_organisations(cur, p, now, today, y0, hash_password(PASSWORD))
        params["staff"] = staff
        orgs.copy_rows(cur, "bench_school",
                       ["school_id", "city_id", "school_type", "grades", "sections", "n_pupils", "pupil_base", "own",
                        "centre_id", "ext1", "ext2", "refresh_rank", "learner_type", "disabled_share"],
                       [(s["id"], s["city_id"], s["type"], s["grades"], s["sections"], s["pupils"], s["pupil_base"],
                         s["own"], s["centre_id"], s["ext1"], s["ext2"], s["rank"],
                         {"adult": "adult", "preschool": "preschool"}.get(s["type"], "pupil"),
                         1.0 if s["type"] == "special" else 0.03) for s in p.schools])
        orgs.copy_rows(cur, "bench_wave", ["gi", "year", "w", "day"], waves)
        log(f"  {'organisations, users':<28} {len(p.schools) + len(p.cities) + len(p.printers):>10,} rows "
            f"{time.perf_counter() - t0:7.1f} s")
        step("plan: pupils", bulk.PUPIL_PLAN)
        step("pupils", bulk.PUPILS)
        step("plan: cards", bulk.CARD_PLAN)
        step("plan: orders", bulk.ORDER_PLAN)
        step("plan: card lives", bulk.CARD_LIFE)
        step("print_orders", bulk.ORDERS)
        step("cards", bulk.CARDS)
        cur.execute("SELECT coalesce(max(id), 0) FROM bench_cardx")
        step("applications", bulk.APPLICATIONS, card_max=cur.fetchone()[0])
        step("card_facts", bulk.CARD_FACTS)
        step("order_facts", bulk.ORDER_FACTS)
        step("school_stats", bulk.SCHOOL_STATS)
        t0 = time.perf_counter()
        cur.execute(bulk.FORECAST_INPUTS)
        rows = bulk.forecasts(cur.fetchall(), today)
        cur.execute("CREATE TEMP TABLE bench_forecast (school_id bigint, history text, forecast text)")
        orgs.copy_rows(cur, "bench_forecast", ["school_id", "history", "forecast"], rows)
        timings["forecast"] = time.perf_counter() - t0
        step("school_stats: forecast", bulk.FORECAST_UPDATE)
        step("deletion_receipts", bulk.RECEIPTS)
        step("school_counters", bulk.COUNTERS)
        for i, sql in enumerate(bulk.HOLOGRAMS):
            step(["plan: holograms", "hologram_deliveries", "holograms"][i], sql)
        step("school_stats: holograms", bulk.HOLOGRAM_COUNTS)
        step("consultations", bulk.CONSULTATIONS[0])
        step("consultation_answers", bulk.CONSULTATIONS[1])
        for table in bulk.SEQUENCED:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                        f"FROM {table}")
        t0 = time.perf_counter()
        bulk.check_references(cur)
        log(f"  {'foreign keys checked':<28} {'':>15} {time.perf_counter() - t0:7.1f} s")
        loaded = time.perf_counter() - started
        t0 = time.perf_counter()
        cur.execute("VACUUM (ANALYZE)")
        log(f"  {'VACUUM ANALYZE':<28} {'':>15} {time.perf_counter() - t0:7.1f} s")
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
        counts = {}
        for table in ("pupils", "applications", "cards", "print_orders", "card_facts", "order_facts", "school_stats",
                      "holograms", "consultation_answers"):
            cur.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            counts[table] = cur.fetchone()[0]
        info = {"marker": MARKER, "database": spec.database, "generated_on": today.isoformat(),
                "seconds": round(time.perf_counter() - started, 1), "load_seconds": round(loaded, 1),
                "size_mb": round(size / 2**20), "counts": counts, "measured": p.measured,
                "cities": len(p.cities), "schools": len(p.schools), "pupils": spec.pupils}
        cur.execute(f"COMMENT ON DATABASE \"{spec.database}\" IS {_literal(json.dumps(info))}")
    return info


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def describe(spec: Spec) -> dict | None:
    """The marker of a finished database, or None (missing, or an interrupted run)."""
    import psycopg

    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (spec.database,)).fetchone()
    if not row or not row[0]:
        return None
    try:
        info = json.loads(row[0])
    except ValueError:
        return None
    return info if info.get("marker") == MARKER else None


def ensure(spec: Spec, regenerate: bool = False, log=print) -> tuple[dict, bool]:
    """The database's description, generating it first if missing (or asked to); (info, generated?)."""
    info = None if regenerate else describe(spec)
    if info is not None:
        return info, False
    log(f"Generating {spec.database}: {spec.cities} cit{'y' if spec.cities == 1 else 'ies'}, "
        f"{spec.schools:,} schools, {spec.pupils:,} pupils …")
    info = generate(spec, log=log)
    log(f"{spec.database}: generated in {info['seconds']:.0f} s ({info['size_mb']:,} MB): "
        + ", ".join(f"{k} {v:,}" for k, v in info["counts"].items()))
    return info, True


def main(argv: list[str]) -> None:
    specs = [CITY] + ([NATIONAL] if "--national" in argv else [])
    for spec in specs:
        info, generated = ensure(spec, regenerate="--regenerate" in argv)
        if not generated:
            print(f"{spec.database}: present (generated {info['generated_on']} in {info['seconds']:.0f} s, "
                  f"{info['size_mb']:,} MB); --regenerate to make it again")


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    main(sys.argv[1:])
