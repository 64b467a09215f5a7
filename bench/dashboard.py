"""Benchmark: the city officials' pages (/miasto/…) on a generated city and inside a national data set.

The data comes from `bench.dashboard_data` (made once, kept between runs: `legitka_bench_city`,
and with `--national` also `legitka_bench_national`). The app is created with
LEGITKA_DATABASE_URL naming the bench database as the unprivileged app role, so row-level security
applies as in production; a city official signs in through the login form (CSRF included) with
the Flask test client, in-process (no network, no WSGI server: the figure is the app and the
database).

Every GET route under /miasto without URL parameters is measured, and for each route with
parameters (exports, a school's page …) or a page with a query string, the first link or GET form
the pages themselves render for it (at most one variant per page, exports separately). Each URL is
requested a few times to warm up (a download once), then `--runs` times (default 30; a download
too, since the nearest-rank p95 of 10 runs would be the slowest one) in rounds over all URLs, so
background load hits every page alike; p50 and p95 are printed with the number of SQL statements
and the time spent in them. A URL that needs more than ~60 s for its runs stops early (noted).

Next to each page, its **floor** (`bench.dashboard_floors`): plain SQL that answers the same
question (the aggregates the page shows), run on the same database in the same run as the same
role with the city's RLS setting, timed the same way. A page whose p95 misses the goal (100 ms for
the city, 300 ms in the national set) gets its slowest statements listed, and with `--explain`
their EXPLAIN (ANALYZE, BUFFERS).

Run `make bench` (city only) or `python -m bench.dashboard [--national] [--regenerate] [--runs N]
[--explain] [--only URL-SUBSTRING[,…]] [--cities LABEL-SUBSTRING] [--national-only] [--no-freeze]`. The app is
built as `portal.wsgi` builds it, heap frozen and the collector tuned (`portal.tune_garbage_collector`);
`--no-freeze` leaves the garbage collector as Python sets it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import html.parser
import io
import os
import statistics
import sys
import tempfile
import time
import urllib.parse

from bench import dashboard_data as data
from bench.dashboard_floors import FLOORS
from bench.dashboard_floors import Q
from bench.dashboard_floors import floor_key
from bench.dashboard_floors import floor_params
from bench.dashboard_floors import school_year
from infra import clock

GOALS_MS = {data.CITY.database: 100.0, data.NATIONAL.database: 300.0}
TIME_CAP_S = 60.0
WARMUP = 3
# Questions beyond each page's defaults (the current school year, all schools), where the page is there.
EXTRA = ("/miasto/?od=&do=",  # the overview over the whole history (three school years)
         "/miasto/karty?szkola={school}",  # one school's cards
         "/miasto/zamowienia?szkola={school}")


# --- measuring ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))] if ordered else float("nan")


@dataclasses.dataclass
class Target:
    endpoint: str
    url: str
    export: bool = False
    times: list[float] = dataclasses.field(default_factory=list)
    db_times: list[float] = dataclasses.field(default_factory=list)
    queries: list[int] = dataclasses.field(default_factory=list)
    status: int = 0
    size: int = 0
    stopped: bool = False
    slowest: dict = dataclasses.field(default_factory=dict)  # statement → (max seconds, params, total seconds)
    floor: str = ""
    params: dict = dataclasses.field(default_factory=dict)
    floor_result: Floor | None = None


class StatementClock:
    """Counts and times the SQL statements the app sends (SQLAlchemy engine events)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.calls: list[tuple[str, object, float]] = []
        self._start: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._start.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.calls.append((statement, parameters, time.perf_counter() - self._start.pop()))

    def take(self) -> list[tuple[str, object, float]]:
        calls, self.calls = self.calls, []
        return calls


class _Links(html.parser.HTMLParser):
    """Links and GET forms of a page (the form filled with its selected or first non-empty values)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.urls.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "get":
            self._form = {"action": a.get("action") or "", "fields": {}}
        elif self._form is not None and tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._form["fields"].setdefault(a["name"], a.get("value") or "")
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = a["name"]
        elif self._form is not None and tag == "option" and self._select:
            fields = self._form["fields"]
            value = a.get("value") or ""
            if "selected" in a or (value and not fields.get(self._select)):
                fields[self._select] = value

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            fields = {k: v for k, v in self._form["fields"].items() if k != "csrf_token"}
            if self._form["action"]:
                self.urls.append(self._form["action"] + ("?" + urllib.parse.urlencode(fields) if fields else ""))
            self._form = None


def discover(app, client, school_id: int, log) -> tuple[list[Target], list[str]]:
    """The /miasto GET pages without URL parameters, the EXTRA questions, and from the links and GET
    forms those pages render: the first URL of each route with parameters (a school's page …) and
    of each export (one CSV per table, and one XLSX). Returns (targets, notes on what was skipped)."""
    adapter = app.url_map.bind("localhost")
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/miasto") and "GET" in r.methods]
    is_export = {r.endpoint: "export" in r.endpoint or "eksport" in r.rule or r.rule.endswith(".pdf") for r in rules}
    targets = [Target(r.endpoint, r.rule, export=is_export[r.endpoint])
               for r in sorted(rules, key=lambda r: r.rule) if not r.arguments]
    for template in EXTRA:
        url = template.format(school=school_id)
        try:
            endpoint, _args = adapter.match(urllib.parse.urlsplit(url).path, method="GET")
        except Exception:  # noqa: S112 (the page is not there (yet))
            continue
        targets.append(Target(endpoint, url))
    seen = {t.url for t in targets}
    taken: set = {t.endpoint for t in targets if "?" not in t.url}
    taken |= {(t.endpoint, t.url) for t in targets if t.export}
    for target in targets:  # pages found here are read too (a consultation's page links its downloads)
        response = client.get(target.url)
        if response.status_code != 200 or "html" not in (response.content_type or ""):
            continue
        parser = _Links()
        parser.feed(response.get_data(as_text=True))
        for href in parser.urls:
            parts = urllib.parse.urlsplit(urllib.parse.urljoin(target.url, href))
            if not parts.path.startswith("/miasto") or parts.netloc not in ("", "localhost"):
                continue
            try:
                endpoint, args = adapter.match(parts.path, method="GET")
            except Exception:  # noqa: S112 (a link the app does not route: not ours to measure)
                continue
            if is_export.get(endpoint):
                fmt = args.get("fmt", parts.path.rsplit(".", 1)[-1])
                kind = (endpoint, "xlsx") if fmt == "xlsx" else (endpoint, args.get("key", parts.path))
                if fmt == "pdf":
                    kind = (endpoint, "pdf")  # one report file: the newest (listed first)
            elif args:
                kind = endpoint
            else:
                continue  # a page measured bare, here with its filters spelled out
            if kind in taken:
                continue
            taken.add(kind)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
            if url not in seen:
                seen.add(url)
                targets.append(Target(endpoint, url, export=bool(is_export.get(endpoint))))
    found = {t.endpoint for t in targets}
    notes = [f"{r.rule} ({r.endpoint}): no link on the pages fills {', '.join(sorted(r.arguments))}"
             for r in rules if r.arguments and r.endpoint not in found]
    log(f"  {len(targets)} URLs: {sum(not t.export for t in targets)} pages, {sum(t.export for t in targets)} exports")
    return targets, notes


def measure(client, clock: StatementClock, targets: list[Target], runs: int, log, cap: float = TIME_CAP_S,
            warmup: int = WARMUP) -> None:
    for target in targets:  # warm up
        for _ in range(1 if target.export else warmup):
            response = client.get(target.url)
            clock.take()
        target.status, target.size = response.status_code, len(response.get_data())
    spent: dict[str, float] = collections.Counter()
    for round_no in range(runs):
        for target in targets:
            if target.stopped:
                continue
            start = time.perf_counter()
            response = client.get(target.url)
            response.get_data()
            elapsed = time.perf_counter() - start
            calls = clock.take()
            target.times.append(elapsed)
            target.queries.append(len(calls))
            target.db_times.append(sum(c[2] for c in calls))
            target.status = response.status_code
            for statement, params, seconds in calls:
                worst, _p, total = target.slowest.get(statement, (0.0, None, 0.0))
                target.slowest[statement] = (max(worst, seconds), params if seconds >= worst else _p, total + seconds)
            spent[target.url] += elapsed
            if spent[target.url] > cap and len(target.times) >= (3 if target.export else 5):
                target.stopped = True
        if round_no % 10 == 9:
            log(f"  … {round_no + 1} rounds")


@dataclasses.dataclass
class Floor:
    label: str
    times: list[float]
    rows: int


def time_floor(conn, city_id: int, queries: list[str], params: dict, runs: int) -> Floor:
    """Plain SQL as the app role, in one transaction that sets the city (as the app does)."""
    times, rows = [], 0
    for i in range(WARMUP + runs):
        start = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT set_config('app.city_id', %s, true)", (str(city_id),))
            rows = sum(len(conn.execute(q, params).fetchall()) for q in queries)
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return Floor("", times, rows)


def explain(conn, city_id: int, statement: str, params) -> str:
    import psycopg

    with conn.transaction(), psycopg.ClientCursor(conn) as cur:
        cur.execute("SELECT set_config('app.city_id', %s, true)", (str(city_id),))
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        return "\n".join(r[0] for r in cur.fetchall())


# --- one data set ------------------------------------------------------------------------------


def _app(database: str, instance: str, freeze: bool = True):
    from infra.crypto import new_key

    os.environ["LEGITKA_DATABASE_URL"] = data.url(database, data.APP)
    os.environ["LEGITKA_MIGRATION_DATABASE_URL"] = data.url(database, data.OWNER)
    for name in ("SECRET_KEY", "PESEL_KEY", "PESEL_INDEX_KEY"):  # the bench's PESELs are random bytes anyway
        os.environ.setdefault(f"LEGITKA_{name}", new_key())
    from portal import create_app
    from portal import tune_garbage_collector

    app = create_app({"INSTANCE_PATH": instance, "SESSION_COOKIE_SECURE": False, "REDIS_URL": None,
                      "LOCAL_STORAGE_PATH": os.path.join(instance, "files")})
    if freeze:  # as a serving process does (portal.wsgi); `--no-freeze` shows the pauses it saves
        tune_garbage_collector()
    return app


def _sign_in(app, email: str):
    import re

    client = app.test_client()
    page = client.get("/logowanie").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/logowanie", data={"email": email, "password": data.PASSWORD, "csrf_token": token})
    if response.status_code == 302 and response.headers["Location"] == "/logowanie/drugi-skladnik":
        response = _second_factor(app, client, email)  # an official enrols and types a code (docs/security.md T2.3)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {email} failed: {response.status_code}")
    return client


def _second_factor(app, client, email: str):
    """Enrol the official's second factor as their app would (the code of the step before), then
    type the current step's code."""
    import re

    from sqlalchemy import select

    from infra.db import db
    from tenants.tenancy import second_factor
    from tenants.tenancy import totp
    from tenants.tenancy.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        secret, now = totp.new_secret(), clock.utcnow()
        second_factor.enrol(user, secret, totp.code_at(secret, totp.step_of(now) - 1), now=now)
        db.session.commit()
    page = client.get("/logowanie/kod").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/logowanie/kod", data={"code": totp.code_at(secret, totp.step_of(clock.utcnow())),
                                               "csrf_token": token})


def _council_report(client) -> float:
    """Ask for the council's report for the current school year (POST, the job runs in the request
    here); seconds until it is ready."""
    import re

    page = client.get("/miasto/raporty").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    start = time.perf_counter()
    response = client.post("/miasto/raporty", data={"csrf_token": token})
    if response.status_code != 302 or "Pobierz PDF" not in client.get("/miasto/raporty").get_data(as_text=True):
        raise RuntimeError("the council report was not built")
    return time.perf_counter() - start


def _params(conn, city_id: int) -> dict:
    today = clock.today()
    school = conn.execute("SELECT id FROM organisations WHERE kind = 'school' AND city_id = %s ORDER BY name LIMIT 1",
                          (city_id,)).fetchone()
    centre = conn.execute("SELECT p.id FROM organisations p JOIN city_printers cp ON cp.printer_id = p.id "
                          "WHERE cp.city_id = %s AND p.is_city_print_centre ORDER BY p.name LIMIT 1",
                          (city_id,)).fetchone()
    y0 = school_year(today)
    schools = [r[0] for r in conn.execute("SELECT id FROM organisations WHERE kind = 'school' AND city_id = %s",
                                          (city_id,))]
    return {"city": city_id, "schools": schools, "year": today.year, "d_from": dt.date(y0, 9, 1),
            "d_to": dt.date(y0 + 1, 8, 31), "school": school[0] if school else 0,
            "centre": centre[0] if centre else 0, "today": today}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}" if seconds == seconds else "–"


def run_dataset(info: dict, runs: int, do_explain: bool, only: str | None, log, freeze: bool = True) -> list[str]:
    """Measure every measured city of one database; returns the report lines (markdown)."""
    import psycopg

    database = info["database"]
    goal = GOALS_MS[database]
    instance = tempfile.mkdtemp(prefix="legitka-bench-dashboard-")
    app = _app(database, instance, freeze)
    from infra.db import db

    out = []
    with app.app_context():
        clock = StatementClock(db.engine)
    with psycopg.connect(data._conninfo(database, data.APP), autocommit=True) as conn:
        settings = dict(conn.execute("SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                                     "('shared_buffers', 'work_mem', 'jit', 'random_page_cost')").fetchall())
        for city in info["measured"]:
            log(f"{database} — {city['label']} ({city['schools']} schools, {city['pupils']:,} pupils)")
            client = _sign_in(app, city["email"])
            params = _params(conn, city["city_id"])
            built = _council_report(client)  # before discovery, so its download is measured too
            targets, notes = discover(app, client, params["school"], log)
            if only:
                wanted = only.split(",")  # several substrings: a page and the ones to compare it with
                targets = [t for t in targets if any(w in t.url or w in t.endpoint for w in wanted)]
            # The largest city of the national set: fewer runs, shorter cap (its pages take seconds).
            large = city["schools"] > 2 * data.NATIONAL.measured_schools
            city_runs, cap = (min(runs, 10), TIME_CAP_S / 3) if large else (runs, TIME_CAP_S)
            measure(client, clock, targets, city_runs, log, cap, warmup=1 if large else WARMUP)
            floors: dict[str, Floor] = {}
            for target in targets:
                key = floor_key(app, target)
                target.floor = key
                target.params = floor_params(params, target.url)
                cache = (key, tuple(sorted((k, str(v)) for k, v in target.params.items())))
                if key in FLOORS and cache not in floors:
                    floors[cache] = time_floor(conn, city["city_id"], [Q[n] for n in FLOORS[key]], target.params,
                                               city_runs)
                    floors[cache].label = ", ".join(FLOORS[key])
                target.floor_result = floors.get(cache)
            default = floor_params(params, "")
            singles = {name: time_floor(conn, city["city_id"], [Q[name]], default, city_runs) for name in Q}
            block_start = len(out)
            out += [f"### {database}: {city['label']} — {city['schools']} schools, {city['pupils']:,} pupils "
                    f"(goal p95 < {goal:.0f} ms)", "",
                    f"{city_runs} runs per page and per export (p95 by nearest rank) after {WARMUP} warm-up "
                    "requests (1 per export); in-process "
                    "Flask test client, app role under RLS. PostgreSQL: "
                    + ", ".join(f"{k}={v}" for k, v in settings.items())
                    + f". {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end. The council's PDF "
                    f"report was built by its job in {built:.1f} s (asked for once, the job run in the request as "
                    "with the embedded default; a worker does it in the background).", "",
                    "| page | status | KB | SQL stmts | p50 ms | p95 ms | in SQL p50 ms | floor p50 ms | floor p95 ms "
                    "| floor: plain SQL (rows) | goal |",
                    "|---|---|---|---|---|---|---|---|---|---|---|"]
            over = []
            for t in targets:
                good = pct(t.times, 95) * 1000 < goal and t.status == 200
                if not good:
                    over.append(t)
                f = t.floor_result
                floor_cells = (f"{_ms(pct(f.times, 50))} | {_ms(pct(f.times, 95))} | {f.label} ({f.rows:,})"
                               if f else "– | – | –")
                stopped = f" (stopped after {len(t.times)})" if t.stopped else ""
                out.append(f"| `{t.url}`{stopped} | {t.status} | {t.size / 1024:,.0f} | "
                           f"{statistics.median(t.queries) if t.queries else 0:.0f} | {_ms(pct(t.times, 50))} | "
                           f"{_ms(pct(t.times, 95))} | {_ms(pct(t.db_times, 50))} | {floor_cells} | "
                           f"{'✅' if good else '❌'} |")
            out += ["", "Each floor query alone (default period: the current school year), same run:", "",
                    "| plain SQL | rows | p50 ms | p95 ms |", "|---|---|---|---|"]
            out += [f"| {name} | {f.rows:,} | {_ms(pct(f.times, 50))} | {_ms(pct(f.times, 95))} |"
                    for name, f in singles.items()]
            out += [""] + [f"- not measured: {n}" for n in notes]
            explained: set[str] = set()
            for t in over:
                worst = sorted(t.slowest.items(), key=lambda kv: -kv[1][2])[:2]
                out.append(f"- `{t.url}` p95 {_ms(pct(t.times, 95))} ms; its costliest statements: " + "; ".join(
                    f"{total / len(t.times) * 1000:,.1f} ms/request `{' '.join(stmt.split())[:160]}…`"
                    for stmt, (_single, _params, total) in worst))
                if do_explain and worst and worst[0][0] not in explained and not t.export:
                    statement, (_single, stmt_params, _total) = worst[0]
                    explained.add(statement)
                    out += ["", "```", explain(conn, city["city_id"], statement, stmt_params), "```", ""]
            out.append("")
            log("\n".join(out[block_start:]))
    with app.app_context():
        db.engine.dispose()
    return out


def main(argv: list[str]) -> None:
    args = list(argv)

    def option(name: str, default=None):
        if name in args:
            i = args.index(name)
            value = args[i + 1]
            del args[i:i + 2]
            return value
        return default

    runs = int(option("--runs", 30))
    only = option("--only")
    cities = option("--cities")
    specs = [data.CITY] + ([data.NATIONAL] if "--national" in args else [])
    if "--national-only" in args:
        specs = [data.NATIONAL]
    report = []
    for spec in specs:
        info, generated = data.ensure(spec, regenerate="--regenerate" in args)
        report.append(f"{spec.database}: {info['cities']} cities, {info['schools']:,} schools, {info['pupils']:,} "
                      f"pupils; {', '.join(f'{k} {v:,}' for k, v in info['counts'].items())}; {info['size_mb']:,} MB; "
                      f"generated in {info['seconds']:.0f} s ({'this run' if generated else info['generated_on']})")
    print("\n".join(report), flush=True)
    for spec in specs:
        info, _ = data.ensure(spec)
        if cities:
            info["measured"] = [c for c in info["measured"] if cities.lower() in c["label"].lower()]
        report += [""] + run_dataset(info, runs, "--explain" in args, only, log=lambda m: print(m, flush=True),
                                     freeze="--no-freeze" not in args)
    print("\n\n" + "\n".join(report))


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    main(sys.argv[1:])
