"""Real worker processes for tests: `flask --app portal legitka worker` subprocesses on the test
PostgreSQL, Redis and storage, which tests kill (SIGKILL of the worker or of its work horse),
stop warmly, or start on a flushed Redis. Moved here from tests/printing/test_worker_faults.py
so that the batch, import and report fault tests share one way of doing it; with a Redis of the
test's own that is down until the test starts it (`redis_later`, `app_on_redis_later`)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis as redis_lib

FLASK = pathlib.Path(sys.executable).parent / "flask"
LEASE_SECONDS = 3  # the worker's batch lease in these tests (production: 120 s, renewed while building)
JOB_LEASE_SECONDS = 2  # the imports' and council reports' lease (infra.jobs; production: 120 s, renewed)
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


# --- the worker process ---------------------------------------------------------------------


class Workers:
    """Starts `flask --app portal legitka worker` subprocesses configured like the test app;
    kills whatever is still running at the end of the test."""

    def __init__(self, app, tmp_path):
        self.app, self.tmp_path, self.procs = app, tmp_path, []

    def env(self) -> dict:
        config = self.app.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEGITKA_")}
        env.update({
            "LEGITKA_INSTANCE_PATH": str(self.tmp_path / "worker-instance"),
            "LEGITKA_DATABASE_URL": config["DATABASE_URL"],  # the app role: RLS applies as in production
            "LEGITKA_REDIS_URL": config["REDIS_URL"],
            "LEGITKA_LOCAL_STORAGE_PATH": config["LOCAL_STORAGE_PATH"],
            "LEGITKA_SECRET_KEY": config["SECRET_KEY"],
            "LEGITKA_PESEL_KEY": config["PESEL_KEY"],
            "LEGITKA_PESEL_INDEX_KEY": config["PESEL_INDEX_KEY"],
            "LEGITKA_BATCH_LEASE_SECONDS": str(LEASE_SECONDS),
            "LEGITKA_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
        })
        return env

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed in stop)
        proc = subprocess.Popen([str(FLASK), "--app", "portal", "legitka", "worker", *args], env=self.env(),
                                cwd=pathlib.Path(__file__).resolve().parents[1], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # its own process group
        proc.log = log
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join((self.tmp_path / f"worker-{i}.log").read_text(errors="replace")[-3000:]
                         for i in range(len(self.procs)))

    def wait(self, proc, timeout=60) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop:\n" + self.output())

    def stop(self, proc) -> None:
        """Warm shutdown (SIGTERM: rq finishes the current job), as a deployment would."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            self.wait(proc, 30)
        proc.log.close()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                for pid in horses(proc.pid):
                    _killpg(pid)
                _killpg(proc.pid)
                proc.wait(10)
            proc.log.close()


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the worker (or the horse: rq puts each in its own group)


def horses(pid: int) -> list[int]:
    """The work horses rq forked from the worker `pid` (children listed by /proc)."""
    children = []
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


@pytest.fixture
def workers(app, tmp_path):
    started = Workers(app, tmp_path)
    yield started
    started.kill_all()


def wait_for(check, timeout: float, what: str, workers: Workers, interval: float = 0.05):
    """Poll `check()` until it returns something truthy; fail with the workers' log after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}:\n{workers.output()}")


# --- a Redis that is down until the test starts it ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_later(tmp_path):
    """A port where no Redis runs yet, and a function that starts one there (stopped at the end)."""
    port = _free_port()
    started = []

    def start() -> redis_lib.Redis:
        proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        client = redis_lib.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis_lib.ConnectionError):
                if client.ping():
                    return client
            assert time.monotonic() < deadline and proc.poll() is None, "redis-server did not start"
            time.sleep(0.02)

    yield port, start
    for proc in started:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def app_on_redis_later(app, redis_later, tmp_path):
    """The test app's twin whose Redis (on `redis_later`'s port) is down until the test starts it."""
    from portal import create_app

    port, _start = redis_later
    config = {name: app.config[name] for name in (
        "TESTING", "DATABASE_URL", "MIGRATION_DATABASE_URL", "LOCAL_STORAGE_PATH", "SESSION_COOKIE_SECURE",
        "SMTP_HOST", "SMTP_PORT", "PUBLIC_URL", "SECRET_KEY", "PESEL_KEY", "PESEL_INDEX_KEY")}
    twin = create_app({**config, "INSTANCE_PATH": str(tmp_path / "twin"), "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    yield twin
    from infra.db import db

    with twin.app_context():
        db.engine.dispose()
