"""Real worker processes for tests: `flask --app portal legitka worker` subprocesses configured
like the test app (its database as the app role, its Redis and storage), and the `workers`
fixture (tests/conftest.py) that kills whatever is still running at the end of a test; their work
horses; polling with a deadline. Orders placed for workers are in tests/printing/worker_processes.py;
a Redis of the test's own, to stop or flush, in tests/redis_server.py."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

FLASK = pathlib.Path(sys.executable).parent / "flask"
LEASE_SECONDS = 3  # the worker's batch lease in these tests (production: 120 s, renewed while building)
# Settings of the test app passed on when it sets them.
PASSED_ON = ("SMTP_HOST", "SMTP_PORT", "MAIL_LEASE_SECONDS", "MAIL_RETRY_SECONDS", "PASSWORD_HASH_PROFILE")
RETRY_SECONDS = 0.5  # the first back-off after a transient error in these tests (production: 15 s)
JOB_LEASE_SECONDS = 2  # the imports' and council reports' lease (infra.jobs; production: 120 s, renewed)


# --- the worker process ---------------------------------------------------------------------


class Workers:
    """Starts `flask --app portal legitka worker` subprocesses configured like the test app (plus
    `settings`, named without the LEGITKA_ prefix); kills whatever is still running at the end of
    the test. Two sets in one test need different `name`s (their instance folders and logs)."""

    def __init__(self, app, tmp_path, name: str = "worker", **settings):
        self.app, self.tmp_path, self.procs = app, tmp_path, []
        self.name, self.settings = name, settings
        self.prefix: list[str] = []  # a command the worker runs under, e.g. `unshare … --`

    def env(self) -> dict:
        config = self.app.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEGITKA_")}
        env.update({
            "LEGITKA_INSTANCE_PATH": str(self.tmp_path / f"{self.name}-instance"),
            "LEGITKA_DATABASE_URL": config["DATABASE_URL"],  # the app role: RLS applies as in production
            "LEGITKA_REDIS_URL": config["REDIS_URL"],
            "LEGITKA_LOCAL_STORAGE_PATH": config["LOCAL_STORAGE_PATH"],
            "LEGITKA_SECRET_KEY": config["SECRET_KEY"],
            "LEGITKA_PESEL_KEY": config["PESEL_KEY"],
            "LEGITKA_PESEL_INDEX_KEY": config["PESEL_INDEX_KEY"],
            "LEGITKA_BATCH_LEASE_SECONDS": str(LEASE_SECONDS),
            "LEGITKA_BATCH_RETRY_SECONDS": str(RETRY_SECONDS),
            "LEGITKA_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
        })
        for key in PASSED_ON:
            if config.get(key) is not None:
                env[f"LEGITKA_{key}"] = str(config[key])
        env.update({f"LEGITKA_{key}": str(value) for key, value in self.settings.items()})
        return env

    def log_path(self, index: int) -> pathlib.Path:
        return self.tmp_path / f"{self.name}-{index}.log"

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.log_path(len(self.procs)), "wb")  # noqa: SIM115 (closed in stop)
        command = [*self.prefix, str(FLASK), "--app", "portal", "legitka", "worker", *args]
        proc = subprocess.Popen(command, env=self.env(),
                                cwd=pathlib.Path(__file__).resolve().parents[1], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # its own process group
        proc.log = log
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join(self.log_path(i).read_text(errors="replace")[-3000:] for i in range(len(self.procs)))

    def wait(self, proc, timeout=60) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker did not stop:\n" + self.output())

    def burst(self) -> None:
        """One worker that relays and reconciles once, runs every job there is and ends (`--burst`),
        as after an outage; fails with its log unless it ends well."""
        worker = self.start("--burst", "--relay-every", "3600")
        assert self.wait(worker) == 0, self.output()

    def stop(self, proc) -> None:
        """Warm shutdown (SIGTERM: rq finishes the current job), as a deployment would."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            self.wait(proc, 30)
        proc.log.close()

    def kill(self, proc) -> None:
        """SIGKILL the worker first (so it cannot report its horse's death), then its horses."""
        horse = horses(proc.pid)
        killpg(proc.pid)
        for pid in horse:
            killpg(pid)
        proc.wait(10)
        for pid in horse:
            wait_for(lambda pid=pid: not pathlib.Path(f"/proc/{pid}").exists(), 10, "the horse to die", self)
        proc.log.close()

    def kill_until_given_up(self, row, times: int):
        """A job that keeps dying: start a worker relaying every 0.3 s and SIGKILL its work horse as
        soon as each of attempts 1…`times` holds the row (`row()` reads it: `status` `running`,
        `attempt`); then wait until the row is given up (`failed`) and return it. The worker lives on."""
        proc = self.start("--relay-every", "0.3")
        for attempt in range(1, times + 1):
            def taken(attempt=attempt):
                now = row()
                return now.status == "running" and now.attempt == attempt and horses(proc.pid)

            wait_for(taken, 30, f"attempt {attempt}", self, interval=0.02)
            for pid in horses(proc.pid):
                killpg(pid)
        wait_for(lambda: row().status == "failed", 30, "the row to be given up", self)
        return row()

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                for pid in horses(proc.pid):
                    killpg(pid)
                killpg(proc.pid)
                proc.wait(10)
            proc.log.close()


def burst_once(app, tmp_path) -> Workers:
    """`Workers.burst` for an app other than the test app's (the `workers` fixture serves that one):
    the worker is killed if the burst fails. Returns the workers, for their log."""
    workers = Workers(app, tmp_path)
    try:
        workers.burst()
    finally:
        workers.kill_all()
    return workers


def killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the worker (or the horse: rq puts each in its own group)


def horses(pid: int) -> list[int]:
    """The work horses rq forked from the worker `pid` (children listed by /proc)."""
    children = []
    for task in pathlib.Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def wait_for(check, timeout: float, what: str, workers: Workers | None, interval: float = 0.05):
    """Poll `check()` until it returns something truthy; fail with the workers' log (if any) after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}:\n{workers.output() if workers else ''}")
