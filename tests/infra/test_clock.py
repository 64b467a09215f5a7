"""One clock in the configured zone (infra.clock, docs/domain.md §16): Warsaw's day whatever the
host's zone, a time tests can pin, and no `date.today()` anywhere else in the code."""

from __future__ import annotations

import ast
import datetime as dt
import os
import pathlib
import subprocess
import sys
from zoneinfo import ZoneInfo

import flask
import pytest

from infra import clock

ROOT = pathlib.Path(__file__).resolve().parents[2]
WARSAW = ZoneInfo("Europe/Warsaw")
# 22:30 UTC on 31 August is 00:30 on 1 September in Warsaw (CEST, UTC+2): a new school year there.
NEW_YEAR_IN_WARSAW = dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC)


def test_today_is_warsaws_day_not_utcs():
    with clock.pinned(NEW_YEAR_IN_WARSAW):
        assert clock.today() == dt.date(2026, 9, 1)
        assert clock.now() == NEW_YEAR_IN_WARSAW and clock.now().tzinfo == WARSAW
        assert (clock.now().hour, clock.now().minute) == (0, 30)
        assert clock.utcnow() == NEW_YEAR_IN_WARSAW and clock.utcnow().tzinfo == dt.UTC
    with clock.pinned(dt.datetime(2026, 8, 31, 21, 59, tzinfo=dt.UTC)):  # 23:59 in Warsaw
        assert clock.today() == dt.date(2026, 8, 31)
    with clock.pinned(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)):  # CET, UTC+1: New Year's Day
        assert clock.today() == dt.date(2027, 1, 1)


def test_a_stored_timestamps_day_is_warsaws():
    assert NEW_YEAR_IN_WARSAW.date() == dt.date(2026, 8, 31)  # what `.date()` on a UTC timestamp says
    assert clock.day_of(NEW_YEAR_IN_WARSAW) == dt.date(2026, 9, 1)
    assert clock.day_of(NEW_YEAR_IN_WARSAW.replace(tzinfo=None)) == dt.date(2026, 9, 1)  # SQLite: naive UTC


def test_the_zone_is_the_apps_setting():
    app = flask.Flask(__name__)
    with clock.pinned(NEW_YEAR_IN_WARSAW):
        assert clock.zone() == WARSAW  # no app: the default
        with app.app_context():
            assert clock.zone() == WARSAW  # an app without the setting: the default
            app.config["TIMEZONE"] = "UTC"
            assert clock.today() == dt.date(2026, 8, 31)
            app.config["TIMEZONE"] = "Asia/Tokyo"
            assert clock.now().hour == 7


def test_a_pin_holds_until_its_block_ends_and_nests():
    inner = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    with clock.pinned(NEW_YEAR_IN_WARSAW.astimezone(ZoneInfo("America/New_York"))) as outer:
        assert outer == NEW_YEAR_IN_WARSAW and outer.tzinfo == dt.UTC  # any zone names the same moment
        with clock.pinned(inner):
            assert clock.utcnow() == inner
        assert clock.utcnow() == NEW_YEAR_IN_WARSAW
    assert clock._pinned is None
    before = dt.datetime.now(dt.UTC)
    assert before <= clock.utcnow() <= dt.datetime.now(dt.UTC)  # unpinned: the real time again
    with pytest.raises(ValueError), clock.pinned(dt.datetime(2026, 9, 1)):  # naive: no moment
        pass


def test_the_database_timestamps_read_the_same_clock():
    from infra.db import utcnow

    with clock.pinned(NEW_YEAR_IN_WARSAW):
        assert utcnow() == NEW_YEAR_IN_WARSAW


_PROBE = """
import datetime as dt, time
from infra import clock
time.tzset()
instant = dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC)
with clock.pinned(instant):
    pinned = clock.today()
host = dt.datetime.fromtimestamp(instant.timestamp()).date()  # what the host's zone calls that moment
print(pinned, host, clock.today())
"""


@pytest.mark.parametrize("host_zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_the_hosts_zone_does_not_move_the_day(host_zone):
    """A fresh process in each host zone (TZ, as on a server set to UTC): the clock gives Warsaw's
    day where the host's own day (what `date.today()` read) differs."""
    env = {**os.environ, "TZ": host_zone, "PYTHONPATH": str(ROOT)}
    before = dt.datetime.now(WARSAW).date()
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    after = dt.datetime.now(WARSAW).date()
    pinned, host, today = (dt.date.fromisoformat(v) for v in out.stdout.split())
    assert pinned == dt.date(2026, 9, 1)
    assert host == {"UTC": dt.date(2026, 8, 31), "Pacific/Kiritimati": dt.date(2026, 9, 1),
                    "America/Los_Angeles": dt.date(2026, 8, 31)}[host_zone]
    assert today in (before, after)  # unpinned: Warsaw's day now, not the host's


# --- no `date.today()` outside infra.clock --------------------------------------------------------

_TODAY_OWNERS = {"date", "datetime"}


def _offences(source: str, name: str) -> list[str]:
    """`date.today` / `datetime.today` (called or passed as a default), a naive `datetime.now()`,
    `datetime.utcnow`, `time.localtime`: each reads the host's zone or gives a naive time."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Attribute):
            owner = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            if ((node.attr == "today" and owner in _TODAY_OWNERS) or (node.attr == "utcnow" and owner == "datetime")
                    or (node.attr == "localtime" and owner == "time")):
                found.append(f"{name}:{node.lineno} {owner}.{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "now"
              and not node.args and not node.keywords):
            receiver = node.func.value
            owner = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
            if owner == "datetime":
                found.append(f"{name}:{node.lineno} naive datetime.now()")
    return found


def test_no_code_reads_the_hosts_day():
    sources = [p for package in ("infra", "tenants", "printing", "reports", "portal", "bench", "tests")
               for p in sorted((ROOT / package).rglob("*.py"))
               if ".venv" not in p.parts and p != ROOT / "infra" / "clock.py"]
    assert len(sources) > 100
    offences = [o for path in sources for o in _offences(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert offences == [], "use infra.clock.today() / now() / utcnow() (Europe/Warsaw, docs/domain.md §16)"
    # The check sees each form when there is one (ruff's banned-api list, pyproject.toml, refuses them too).
    sample = ("import datetime as dt\nfrom datetime import date, datetime\nimport time\n"
              "a = dt.date.today()\nb = date.today\nc = datetime.now()\nd = dt.datetime.today()\n"
              "e = dt.datetime.utcnow()\nf = time.localtime()\nok = dt.datetime.now(dt.UTC)\n")
    assert sorted(o.split(" ", 1)[0] for o in _offences(sample, "s")) == [f"s:{n}" for n in range(4, 10)]
    assert _offences(pathlib.Path(clock.__file__).read_text(encoding="utf-8"), "clock") == []  # it reads aware UTC
