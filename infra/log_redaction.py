"""Secrets out of every log line: the credential parts of URLs, wherever a URL is logged.

Some URLs are credentials: a parent's photo link (`/zdjecie/<token>`), a printer's package
download link (`/api/v1/downloads/<token>`), a presigned storage URL (`X-Amz-Signature=…`).
A request log prints them — werkzeug's request line under `make run`, gunicorn's access log,
a proxy's — and anyone who can read the logs could then use them. Every log record is
therefore rewritten before any handler sees it, with `[REDACTED]` in place of:

- the value of each path variable named like a secret (`token`, `secret`, `signature`,
  `password`, `credential`) in the URL rules given to `install` (the app's url_map: a new route
  with a `<token>` is covered without editing this module);
- the value of every query or form parameter named in `SECRET_PARAMETERS`;
- the credentials after `Bearer` or `Basic` (an Authorization header quoted in a message).

How: `install` wraps the logging module's record factory, so every record of every logger is
redacted at creation, whichever handler prints it and whenever that handler was configured
(gunicorn's, rq's, pytest's); and it adds `RedactSecrets` as a filter to the loggers that print
request lines (`werkzeug`, `gunicorn.access`, `gunicorn.error`) and to the handlers already
configured, in case a library replaces the record factory afterwards. A record is changed only
when it held a secret (its message is then formatted once, with `args` emptied); the exception
text and stack information are redacted too. Idempotent: every app built in a process adds its
rules to one shared list.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "[REDACTED]"
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")
SECRET_VARIABLE = re.compile(r"token|secret|signature|password|credential", re.IGNORECASE)
SECRET_PARAMETERS = (
    "token", "access_token", "refresh_token", "id_token", "code", "client_secret", "secret", "password",
    "api_key", "apikey", "signature", "sig", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "x-goog-signature", "x-goog-credential",
)
_VALUE = r"[^/?#&\s\"'<>\x1b;,]+"  # one path segment or one parameter value, as far as it goes
_PARAMETER = re.compile(r"(?<![\w-])((?:" + "|".join(re.escape(p) for p in SECRET_PARAMETERS) + r")=)" + _VALUE,
                        re.IGNORECASE)
_AUTHORIZATION = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{20,}")  # a credential, not a word
_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

_lock = threading.Lock()
_rules: set[str] = set()
_paths: tuple[re.Pattern[str], ...] = ()
_factory_installed = False


def secret_path(rule: str) -> re.Pattern[str] | None:
    """A pattern finding URLs of `rule` (e.g. "/zdjecie/<token>") anywhere in a text, with each
    secret variable in a group of its own; None when the rule has no secret variable."""
    pieces = _RULE_VARIABLE.split(rule)  # static, variable, static, variable, …, static
    variables = pieces[1::2]
    if not any(SECRET_VARIABLE.search(name) for name in variables):
        return None
    def literal(static: str) -> str:  # a slash may come percent-encoded (a path inside ?next=)
        return "(?:/|%2[Ff])".join(re.escape(part) for part in static.split("/"))

    regex = literal(pieces[0])
    for name, static in zip(variables, pieces[2::2], strict=True):
        regex += f"({_VALUE})" if SECRET_VARIABLE.search(name) else _VALUE
        regex += literal(static)
    return re.compile(regex)


def _blank_groups(match: re.Match[str]) -> str:
    text, start = match.group(0), match.start()
    for group in range(match.re.groups, 0, -1):  # from the right, so earlier offsets stay valid
        a, b = match.span(group)
        text = text[:a - start] + REDACTED + text[b - start:]
    return text


def redact(text: str) -> str:
    """`text` with every secret URL part and credential replaced by `[REDACTED]`."""
    for pattern in _paths:
        text = pattern.sub(_blank_groups, text)
    text = _PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)
    return _AUTHORIZATION.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite `record` in place if anything it would print holds a secret."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: left to logging's own error report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactSecrets(logging.Filter):
    """A logging filter that lets every record through, redacted (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


FILTER = RedactSecrets()


def _protect(target) -> None:
    if FILTER not in target.filters:
        target.addFilter(FILTER)


def install(rules: Iterable[str]) -> None:
    """Redact secrets in every log record from now on, the path variables of `rules` included."""
    global _paths, _factory_installed
    with _lock:
        _rules.update(rules)
        _paths = tuple(p for p in (secret_path(rule) for rule in sorted(_rules)) if p is not None)
        if not _factory_installed:
            make_record = logging.getLogRecordFactory()

            def redacting_factory(*args, **kwargs):
                record = make_record(*args, **kwargs)
                redact_record(record)
                return record

            logging.setLogRecordFactory(redacting_factory)
            _factory_installed = True
    loggers = [logging.getLogger(name) for name in REQUEST_LOGGERS]
    for logger in loggers:
        _protect(logger)
    for logger in [logging.getLogger(), *loggers]:
        for handler in logger.handlers:
            _protect(handler)
