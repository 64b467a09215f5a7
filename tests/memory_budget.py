"""Peak memory of one piece of work, measured in a fresh process: the memory budget of uploads
(every upload is parsed within 100 MB above the process's baseline, docs/security.md).

`grown(target, *args)` imports `target` ("package.module:function") in a new Python process, then
calls it with the string arguments and returns what it returned (a JSON-able dict) plus
`grown_kib`: how far the process's peak resident memory (`ru_maxrss`) grew during the call, above
what the process held once its modules were imported. The target reads its file itself, so the
upload's own bytes count against the budget, as they do in a request.

On Linux `ru_maxrss` survives exec: a process started by the (large) pytest process begins with
pytest's peak. So the script forks once its imports are done; a forked child's peak starts from
what it holds at the fork.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BUDGET_BYTES = 100 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import importlib, json, os, resource, sys
module, _, name = sys.argv[1].partition(":")
target = getattr(importlib.import_module(module), name)
pid = os.fork()
if pid:
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = target(*sys.argv[2:])
outcome["grown_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps(outcome), flush=True)
os._exit(0)
"""


def grown(target: str, *args, timeout: int = 600) -> dict:
    """`target(*args)`'s outcome and its peak memory growth in KiB (`grown_kib`), from a new process."""
    done = subprocess.run([sys.executable, "-c", _SCRIPT, target, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def hold(megabytes: str) -> dict:
    """The instrument's control: take `megabytes` of memory and touch every page of it."""
    held = bytearray(int(megabytes) * 1024 * 1024)
    held[::4096] = b"x" * len(held[::4096])
    return {"held": len(held)}
