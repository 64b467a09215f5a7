"""The serving entry point builds the app from the environment, freezes the heap and spaces out
the garbage collector's passes."""

import os
import subprocess
import sys


def test_wsgi_builds_the_app_and_tunes_the_garbage_collector(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEGITKA_")}
    env["LEGITKA_INSTANCE_PATH"] = str(tmp_path)  # the embedded default: SQLite in the instance folder
    code = "import gc, portal.wsgi as w; print(w.app.name, gc.get_freeze_count() > 1000, gc.get_threshold()[0])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["portal", "True", "10000"]
