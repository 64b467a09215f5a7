"""Benchmark: a pupil list of 1,000 and 5,000 rows through read, dry run and import.

Runs on the embedded default (a fresh SQLite file) unless `LEGITKA_BENCH_DATABASE_URL` names a
PostgreSQL database migrated for Legitka. Prints seconds per stage and rows per second. Run with
`python -m bench.roster_import 1000 5000`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time


def _csv(n: int) -> bytes:
    from tenants.pupils.pesel import make

    lines = ["Nazwisko;Imię;Drugie imię;Data urodzenia;PESEL;Numer w księdze uczniów;Dane oddziału"]
    for i in range(n):
        born = dt.date(2010, 1, 1) + dt.timedelta(days=i % 3000)
        sex = "KM"[i % 2]
        surname = "Uczeń" + "".join("ABCDEFGHIJ"[int(d)] for d in f"{i:05d}")  # unique, and a name has no digits
        lines.append(f"{surname};{'Anna' if sex == 'K' else 'Jan'};;{born:%d.%m.%Y};{make(born, i // 3000, sex)};"
                     f"{i}/2024;{1 + i % 8}{'abcd'[i % 4]}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def run(n: int) -> dict:
    from portal import create_app

    instance = tempfile.mkdtemp(prefix="legitka-bench-")
    config = {"INSTANCE_PATH": instance}
    if os.environ.get("LEGITKA_BENCH_DATABASE_URL"):
        config["DATABASE_URL"] = os.environ["LEGITKA_BENCH_DATABASE_URL"]
    app = create_app(config)
    from infra.db import db
    from infra.migrate import upgrade
    from tenants.roster import operations as roster_import
    from tenants.roster.file import read_table
    from tenants.tenancy.actors import Actor
    from tenants.tenancy.context import Tenant
    from tenants.tenancy.context import tenant_scope
    from tenants.tenancy.models import Organisation
    from tenants.tenancy.models import User

    data = _csv(n)
    with app.app_context():
        upgrade(app.config["MIGRATION_DATABASE_URL"])
        city = Organisation(kind="city", name="Bench", slug=f"bench-{n}")
        db.session.add(city)
        db.session.flush()
        school = Organisation(kind="school", name="SP Bench", slug=f"sp-bench-{n}", city_id=city.id)
        user = User(email=f"bench-{n}@example.pl", full_name="Bench", password_hash="!")  # noqa: S106 (no sign-in)
        db.session.add_all([school, user])
        db.session.commit()
        actor = Actor(user_id=user.id, role="school_secretary", organisation_id=school.id)
        times = {}
        with tenant_scope(Tenant(school_id=school.id)):
            start = time.perf_counter()
            table = read_table(data)
            times["read"] = time.perf_counter() - start
            start = time.perf_counter()
            batch = roster_import.start(actor, data)  # reads again, stores the file, dry-runs
            db.session.commit()
            times["upload + dry run"] = time.perf_counter() - start
            start = time.perf_counter()
            roster_import.confirm(actor, batch)
            roster_import.apply(actor, batch)
            db.session.commit()
            times["import"] = time.perf_counter() - start
            start = time.perf_counter()
            again = roster_import.start(actor, data)
            db.session.commit()
            times["re-import dry run"] = time.perf_counter() - start
            assert again.summary["unchanged"] == n and len(table.rows) == n
    return times


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 5000]
    print("| rows | stage | seconds | rows/s |")
    print("|---|---|---|---|")
    for n in sizes:
        for stage, seconds in run(n).items():
            print(f"| {n:,} | {stage} | {seconds:.2f} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
