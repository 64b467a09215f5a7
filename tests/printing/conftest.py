"""Fixtures of the printing tests."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from tests.printing.worker_processes import Workers


@pytest.fixture
def workers(app, tmp_path):
    """Worker subprocesses for one test, killed at its end. Batch files of earlier tests are
    removed first: ids restart with every test, and these tests compare storage to the order."""
    for folder in pathlib.Path(app.config["LOCAL_STORAGE_PATH"]).glob("schools/*/orders"):
        shutil.rmtree(folder)
    started = Workers(app, tmp_path)
    yield started
    started.kill_all()
