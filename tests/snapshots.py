"""Test data built once per run and laid back for every test that asks for it.

Some scenarios (the reports' two seeded cities: pupils, photos, orders, deliveries through the
real operations) take seconds to build; dozens of tests read them. `Snapshots.lay(name, build)`
runs `build()` the first time a test asks for `name` (on an empty database) and copies what it
made: every table's rows (COPY, as the superuser, who sees every tenant's rows), the sequences'
positions and the storage files it wrote. Each later test that asks gets those rows copied back
into the emptied tables (conftest's `_clean` empties them after every test), the sequences where
the build left them and any missing file written again, and a copy of `build()`'s value. A test
may therefore write freely: the next one gets the snapshot, never the previous test's changes.

The rows go back with triggers and foreign-key checks off (`session_replication_role =
replica`): they are the rows the build committed, checked then. A build is done again when the
day changes (scenarios are dated from today).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pathlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import text

from infra import clock


@dataclasses.dataclass
class _Taken:
    day: dt.date
    value: Any
    rows: dict[str, bytes]
    sequences: dict[str, int | None]
    files: dict[pathlib.Path, bytes]


class Snapshots:
    """Built scenarios of one test run, by name (see the module's docstring)."""

    def __init__(self, superuser: Engine, tables: list[str], storage_root: pathlib.Path):
        self.engine = superuser
        self.tables = tables
        self.storage_root = pathlib.Path(storage_root)
        self._taken: dict[str, _Taken] = {}

    def lay(self, name: str, build: Callable[[], Any]) -> Any:
        """The scenario `name` in the (empty) database, built by `build()` if this run has not
        built it today; returns a copy of what `build()` returned."""
        self._assert_empty(name)
        taken = self._taken.get(name)
        if taken is None or taken.day != clock.today():
            day, before = clock.today(), self._files()
            value = build()
            taken = self._taken[name] = _Taken(day, value, self._copy_rows(), self._sequences(),
                                               {p: p.read_bytes() for p in self._files() - before})
        else:
            self._restore(taken)
        return copy.deepcopy(taken.value)

    def _assert_empty(self, name: str) -> None:
        counts = " + ".join(f"(SELECT count(*) FROM {t})" for t in self.tables)
        with self.engine.connect() as conn:
            assert conn.execute(text(f"SELECT {counts}")).scalar() == 0, f"{name}: the database is not empty"

    def _files(self) -> set[pathlib.Path]:
        return {p for p in self.storage_root.rglob("*") if p.is_file()}

    def _copy_rows(self) -> dict[str, bytes]:
        rows = {}
        raw = self.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur:
                for table in self.tables:
                    with cur.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as out:
                        data = b"".join(bytes(chunk) for chunk in out)
                    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608 (our table names)
                    if cur.fetchone()[0]:
                        rows[table] = data
        finally:
            raw.close()
        return rows

    def _sequences(self) -> dict[str, int | None]:
        with self.engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all())

    def _restore(self, taken: _Taken) -> None:
        raw = self.engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = replica")
                for table, data in taken.rows.items():
                    with cur.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as into:
                        into.write(data)
                for sequence, last in taken.sequences.items():
                    cur.execute("SELECT setval(%s, %s, %s)", (sequence, last or 1, last is not None))
        finally:
            raw.close()
        for path, data in taken.files.items():
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
