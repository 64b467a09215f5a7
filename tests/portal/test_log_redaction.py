"""No secret of a URL reaches a log line (infra.log_redaction): the served app's request log (the
dev server `make run` starts, in a subprocess, its stderr read), gunicorn's access-log records,
and our own loggers' records, whenever their handlers were configured."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from infra import log_redaction
from tests.conftest import APP_URL
from tests.conftest import OWNER_URL
from tests.conftest import REDIS_URL
from tests.conftest import TEST_KEYS
from tests.helpers import id_from_location
from tests.helpers import pupil_form

LINK = re.compile(r"/zdjecie/([A-Za-z0-9_-]{32})")
QUERY_SECRETS = {"token": "qs-token-5ecret", "code": "qs-code-5ecret", "X-Amz-Signature": "a1b2c3d4e5f60718",
                 "Signature": "sig-5ecret-value"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, **headers) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture
def parent_token(app, two_schools, browser):
    """A real parent's link for a pupil of school A, made by its secretary."""
    staff = browser("sekretariat.a@test.pl")
    pupil_id = id_from_location(staff.post("/szkola/uczniowie/nowy", pupil_form()))
    page = staff.post(f"/szkola/uczniowie/{pupil_id}/link-dla-rodzica").get_data(as_text=True)
    return LINK.search(page).group(1)


def test_the_served_apps_request_log_carries_no_token(parent_token, tmp_path):
    """`make run`'s server (flask's, werkzeug's request lines on stderr) as a real process."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEGITKA_")} | {
        "LEGITKA_DATABASE_URL": APP_URL, "LEGITKA_MIGRATION_DATABASE_URL": OWNER_URL, "LEGITKA_REDIS_URL": REDIS_URL,
        "LEGITKA_INSTANCE_PATH": str(tmp_path), "LEGITKA_LOCAL_STORAGE_PATH": str(tmp_path / "files"),
        "LEGITKA_SESSION_COOKIE_SECURE": "false", **{f"LEGITKA_{k}": v for k, v in TEST_KEYS.items()}}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    server = subprocess.Popen([flask, "--app", "portal.wsgi", "run", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        query = "&".join(f"{k}={v}" for k, v in QUERY_SECRETS.items())
        statuses = [
            _get(f"{base}/zdjecie/{parent_token}"),  # the parent opens the link
            _get(f"{base}/zdjecie/{parent_token}?{query}"),
            _get(f"{base}/zdjecie/{parent_token}x/dalej"),  # a 404 is logged in another colour
            _get(f"{base}/api/v1/downloads/{parent_token}.signed-part"),  # a package link's shape
            _get(f"{base}/logowanie?next=%2Fzdjecie%2F{parent_token}"),
            _get(f"{base}/api/v1/orders", Authorization=f"Bearer {parent_token}"),
        ]
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert statuses[0] == 200 and statuses[2] == 404 and statuses[4] == 200, statuses
    assert "GET /zdjecie/[REDACTED] HTTP/1.1" in output  # the request lines are there, the path prefix too
    assert "/api/v1/downloads/[REDACTED]" in output and "/api/v1/orders" in output
    assert "token=[REDACTED]" in output and "X-Amz-Signature=[REDACTED]" in output
    assert parent_token not in output
    assert not any(secret in output for secret in QUERY_SECRETS.values())


def test_our_own_loggers_records_carry_no_token(app, caplog):
    secret = "Pq7_tokenVALUEthatMustNotLeak-1234"
    with caplog.at_level(logging.INFO):
        logging.getLogger("legitka.parent").warning("link sent: %s", f"https://legitka.test/zdjecie/{secret}")
        logging.getLogger("legitka.api").info("download %s", f"/api/v1/downloads/{secret}")
        try:
            raise ValueError(f"could not open https://legitka.test/zdjecie/{secret}")
        except ValueError:
            logging.getLogger("legitka.portal").exception("failed")
        # gunicorn's access log: one dict of atoms as the argument
        logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s', {
            "h": "10.0.0.1", "r": f"GET /zdjecie/{secret}?code={secret} HTTP/1.1", "s": "200"})
    assert len(caplog.records) == 4 and secret not in caplog.text
    assert "/zdjecie/[REDACTED]" in caplog.text and "code=[REDACTED]" in caplog.text
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_a_handler_configured_later_gets_redacted_records_too(app):
    """As rq's worker and gunicorn configure their own handlers after the app is built."""
    stream = io.StringIO()
    logger = logging.getLogger("configured.after.create_app")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.warning("GET /zdjecie/%s?X-Amz-Signature=%s", "tok-after-create-app", "feedface")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "GET /zdjecie/[REDACTED]?X-Amz-Signature=[REDACTED]\n"


NOT_SECRET = {"key", "fmt", "ext", "filename"}  # an export's name, a file format, a static file


def test_every_url_variable_is_known_to_be_secret_or_not(app):
    """A new route with a variable fails here until it is classified: a secret one (named like
    a token) is redacted from logs by its name, anything else is listed above."""
    unknown, leaked = [], []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            for name in rule.arguments:
                if isinstance(rule._converters[name], IntegerConverter) or name in NOT_SECRET:
                    continue
                if not log_redaction.SECRET_VARIABLE.search(name):
                    unknown.append(f"{rule.rule}: {name}")
                    continue
                values = {n: 7 if isinstance(rule._converters[n], IntegerConverter) else "S3cr3t-value_x"
                          for n in rule.arguments}
                line = f'127.0.0.1 - - "GET {url_for(rule.endpoint, **values)} HTTP/1.1" 200 -'
                if "S3cr3t" in log_redaction.redact(line):
                    leaked.append(rule.rule)
    assert unknown == [] and leaked == []
    assert "/zdjecie/<token>" in {r.rule for r in app.url_map.iter_rules()}
