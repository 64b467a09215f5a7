"""`make run PORT=8080` serves the demo on another port and says so (issue 19); the default is 5000.
Read with `make -n` (what would run), so nothing is installed or served."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("args", "port"), [((), "5000"), (("PORT=8080",), "8080")])
def test_make_run_serves_and_announces_the_port_asked_for(args, port):
    planned = subprocess.run([shutil.which("make"), "-n", "run", *args], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert f"--port {port}" in planned and f"PORT={port} bash infra/scripts/print-demo-logins.sh" in planned
    announced = subprocess.run([shutil.which("bash"), "infra/scripts/print-demo-logins.sh"], cwd=ROOT,
                               capture_output=True, text=True, check=True,
                               env={"PORT": port, "PATH": "/usr/bin:/bin"}).stdout
    assert f"http://127.0.0.1:{port}\n" in announced
