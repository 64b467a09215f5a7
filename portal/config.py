"""Settings: defaults, then `LEGITKA_*` environment variables, then the test config.

With nothing set the app runs on the embedded default: an SQLite file, jobs in-process, files
in the instance folder, secrets generated once into `instance/secrets.json`. With a
PostgreSQL URL every secret must come from the environment.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib

from infra.crypto import decode_key
from infra.crypto import new_key
from portal.auth import oidc_settings
from tenants.tenancy.passwords import DEFAULT_PROFILE
from tenants.tenancy.passwords import PROFILES

SECRET_NAMES = ("SECRET_KEY", "PESEL_KEY", "PESEL_INDEX_KEY")
# Whole numbers the sign-in slowdown needs (portal.auth.throttle), with their least sensible value.
_THROTTLE_NUMBERS = {"LOGIN_FREE_FAILURES": 0, "LOGIN_FAILURES_PER_ADDRESS": 0, "LOGIN_ACCOUNT_ADDRESSES": 1,
                     "LOGIN_DELAY_SECONDS": 1, "LOGIN_MAX_DELAY_SECONDS": 1, "LOGIN_ACCOUNT_MAX_DELAY_SECONDS": 1,
                     "LOGIN_WINDOW_MINUTES": 1, "LOGIN_DEVICE_DAYS": 1}

DB_TIMEOUTS = ("DB_LOCK_TIMEOUT_SECONDS", "DB_STATEMENT_TIMEOUT_SECONDS",
               "JOB_DB_LOCK_TIMEOUT_SECONDS", "JOB_DB_STATEMENT_TIMEOUT_SECONDS")


def defaults(instance_path: str) -> dict:
    instance = pathlib.Path(instance_path)
    return {
        "DATABASE_URL": f"sqlite:///{instance / 'legitka.sqlite3'}",
        "MIGRATION_DATABASE_URL": None,
        "REDIS_URL": None,
        "S3_BUCKET": None,
        "S3_ENDPOINT_URL": None,
        "S3_REGION": "eu-central-1",
        "S3_ACCESS_KEY": None,
        "S3_SECRET_KEY": None,
        "S3_CREATE_BUCKET": False,
        # Every stored object is encrypted at rest (docs/security.md T3.20): with STORAGE_KEY (32 random
        # bytes, urlsafe base64) or, unset, a key derived from PESEL_KEY. Keys replaced go to
        # STORAGE_RETIRED_KEYS (comma-separated), read until `flask legitka encrypt-storage` re-encrypts.
        "STORAGE_KEY": None,
        "STORAGE_RETIRED_KEYS": "",
        "LOCAL_STORAGE_PATH": str(instance / "files"),
        "SMTP_HOST": None,  # unset: mail is written as .eml files into MAIL_DIRECTORY
        "SMTP_PORT": 25,
        "SMTP_STARTTLS": False,
        "SMTP_USERNAME": None,
        "SMTP_PASSWORD": None,
        "MAIL_FROM": "Legitka <legitka@localhost>",
        "MAIL_DIRECTORY": str(instance / "mail"),
        "PUBLIC_URL": None,  # base of links sent to parents; the request's own host when unset
        "PHOTO_LINK_DAYS": 14,
        # PostgreSQL timeouts (infra.db.use_timeouts), in seconds; 0 turns one off. A web request
        # gives up on a lock after a few seconds and on any statement well before gunicorn's 30 s
        # kill, answering 503 "try again" (portal.errors); the worker's jobs wait longer.
        "DB_LOCK_TIMEOUT_SECONDS": 3,
        "DB_STATEMENT_TIMEOUT_SECONDS": 15,
        "JOB_DB_LOCK_TIMEOUT_SECONDS": 10,
        "JOB_DB_STATEMENT_TIMEOUT_SECONDS": 120,
        "BATCH_LEASE_SECONDS": 120,  # a batch job's hold on its order, renewed while it builds
        "MAIL_LEASE_SECONDS": 120,  # a mail job's hold on one message; lapsed (worker died), it is sent again
        "MAIL_RETRY_SECONDS": 60,  # the first wait after a failed send, doubled after each (tenants.mail.outbox)
        "BATCH_RETRY_SECONDS": 15,  # first back-off of a batch given back after a transient error (doubles)
        "JOB_LEASE_SECONDS": 120,  # an import's or council report's job's hold on its row, renewed (infra.jobs)
        "API_TOKEN_SECONDS": 900,  # printers' API access tokens; never more than 15 minutes
        "S3_VERSIONED": False,  # with S3_CREATE_BUCKET: turn versioning on (retention purges every version)
        "SESSION_COOKIE_SECURE": None,  # None: secure unless on the embedded default (plain http)
        "SESSION_IDLE_MINUTES": 30,
        # argon2id parameters by name (tenants.tenancy.passwords.PROFILES, all at or above ASVS's minimum).
        "PASSWORD_HASH_PROFILE": DEFAULT_PROFILE,
        # Slowing down guesses (portal.auth.throttle): free failures, then waits doubling from
        # LOGIN_DELAY_SECONDS up to the cap; counts forgotten LOGIN_WINDOW_MINUTES after the last failure.
        "LOGIN_FREE_FAILURES": 5,  # per account and address, per known device, per API client and address
        "LOGIN_FAILURES_PER_ADDRESS": 100,  # per address, across accounts (or API clients)
        "LOGIN_ACCOUNT_ADDRESSES": 5,  # addresses failing for one account before its account-wide waits start
        "LOGIN_DELAY_SECONDS": 2,
        "LOGIN_MAX_DELAY_SECONDS": 900,
        "LOGIN_ACCOUNT_MAX_DELAY_SECONDS": 60,  # account-wide waits stay short: its owner may be the one waiting
        "LOGIN_WINDOW_MINUTES": 60,
        # Denied requests for tenant objects written to the access log (portal.denied), per user or API
        # client and minute; past it one "denied_capped" row, then nothing until the next minute.
        "DENIED_ROWS_PER_MINUTE": 30,
        "LOGIN_DEVICE_DAYS": 365,  # a known-device cookie's life after its last sign-in (portal.auth.devices)
        "PROXY_HOPS": 0,  # reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
        "SESSION_ABSOLUTE_HOURS": 10,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "TIMEZONE": "Europe/Warsaw",
        "BABEL_DEFAULT_LOCALE": "pl",
        "LANGUAGES": ["pl", "en"],
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Cities' own sign-in (portal.auth.oidc_settings, docs/security.md T2.18): {city slug: provider};
        # the clock skew tolerated on an ID token's times, and the wait for the provider's answers.
        "OIDC_CITIES": {},
        "OIDC_LEEWAY_SECONDS": 60,
        "OIDC_TIMEOUT_SECONDS": 10,
    }


def embedded_secrets(instance_path: str) -> dict:
    """Secrets for the embedded default, made once and kept in the instance folder (mode 600)."""
    path = pathlib.Path(instance_path) / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {name: new_key() for name in SECRET_NAMES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def finalise(config: dict, instance_path: str) -> None:
    """Fill derived settings and refuse an unsafe configuration with a clear `ValueError`."""
    embedded = config["DATABASE_URL"].startswith("sqlite")
    missing = [name for name in SECRET_NAMES if not config.get(name)]
    if missing:
        if not embedded:
            raise ValueError("set LEGITKA_" + ", LEGITKA_".join(missing) + " (only the SQLite default generates them)")
        generated = embedded_secrets(instance_path)
        for name in missing:
            config[name] = generated[name]
    for name in ("PESEL_KEY", "PESEL_INDEX_KEY"):
        if len(decode_key(config[name])) != 32:
            raise ValueError(f"{name} must be 32 random bytes, urlsafe-base64 encoded")
    try:
        from infra.storage_crypto import keys_from_config

        keys_from_config(config)
    except ValueError as exc:  # binascii.Error is one too
        raise ValueError("STORAGE_KEY and each of STORAGE_RETIRED_KEYS must be 32 random bytes, "
                         "urlsafe-base64 encoded") from exc
    if len(config["SECRET_KEY"]) < 32:
        raise ValueError("SECRET_KEY must be at least 32 characters")
    for name, least in _THROTTLE_NUMBERS.items():
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}")
    for name in DB_TIMEOUTS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a number of seconds, 0 (no timeout) or more")
    if config["PASSWORD_HASH_PROFILE"] not in PROFILES:  # a name, never raw parameters (docs/security.md T2.1)
        raise ValueError(f"PASSWORD_HASH_PROFILE must be one of {', '.join(PROFILES)}, "
                         f"not {config['PASSWORD_HASH_PROFILE']!r}")
    if "LOGIN_FAILURES_PER_ACCOUNT" in config:  # the old lock-out's setting; ignored rather than refused
        logging.getLogger("legitka.config").warning(
            "LOGIN_FAILURES_PER_ACCOUNT is no longer used: accounts are slowed down, never locked "
            "(see LOGIN_FREE_FAILURES and LOGIN_ACCOUNT_ADDRESSES)")
    for name, least, most in (("OIDC_LEEWAY_SECONDS", 0, 300), ("OIDC_TIMEOUT_SECONDS", 1, 60)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise ValueError(f"{name} must be a whole number of seconds from {least} to {most}")
    config["OIDC_PROVIDERS"] = oidc_settings.parse(config["OIDC_CITIES"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True} if not embedded else {})
    config["MIGRATION_DATABASE_URL"] = config.get("MIGRATION_DATABASE_URL") or config["DATABASE_URL"]
    secure = config.get("SESSION_COOKIE_SECURE")
    if secure is None:
        secure = not embedded
    config["SESSION_COOKIE_SECURE"] = bool(secure)
    # `__Host-` cookies must be Secure, with Path=/ and no Domain (docs/security.md T2.6).
    config["SESSION_COOKIE_NAME"] = "__Host-legitka" if secure else "legitka"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["EMBEDDED"] = embedded


def database_timeouts(config, *, jobs: bool = False) -> dict:
    """The `infra.db.use_timeouts` arguments for web requests, or for the worker's jobs."""
    prefix = "JOB_DB_" if jobs else "DB_"
    return {"lock_seconds": config[prefix + "LOCK_TIMEOUT_SECONDS"],
            "statement_seconds": config[prefix + "STATEMENT_TIMEOUT_SECONDS"]}
