"""The SQLAlchemy handle and the declarative base every model uses.

`db` is unbound until `portal.create_app` calls `db.init_app(app)`; importing this module
does no I/O.
"""

from __future__ import annotations

import datetime as dt
import weakref

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

from infra import clock

# Deterministic constraint names so Alembic migrations are reproducible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> dt.datetime:
    """Aware UTC now; every timestamp in the database is UTC. Read from the one clock (`infra.clock`)."""
    return clock.utcnow()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on PostgreSQL and SQLite alike.

    SQLite keeps no zone and hands back naive values; they were written as UTC, so they are
    read back as UTC, and comparisons with `utcnow()` work on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def is_postgres(bind) -> bool:
    return bind.dialect.name == "postgresql"


# engine → the libpq startup options its new connections get (weak: an app's engine may go)
_TIMEOUT_OPTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def use_timeouts(engine, *, lock_seconds: float, statement_seconds: float) -> None:
    """Every new connection of a PostgreSQL `engine` starts with these `lock_timeout` and
    `statement_timeout` (0 turns one off). They are libpq startup options, so they cost no round
    trip and hold for the connection's life; a statement that hits one fails with SQLSTATE 55P03
    or 57014, which `infra.db_errors.is_timeout` knows. Calling again (the worker switching to the
    jobs' values) replaces them and closes the pooled connections, so none keeps the old ones.
    SQLite has no such settings: nothing happens there."""
    if not is_postgres(engine):
        return
    from sqlalchemy import event

    options = f"-c lock_timeout={_milliseconds(lock_seconds)} -c statement_timeout={_milliseconds(statement_seconds)}"
    first = engine not in _TIMEOUT_OPTIONS
    _TIMEOUT_OPTIONS[engine] = options
    if first:
        @event.listens_for(engine, "do_connect")
        def _startup_options(dialect, connection_record, cargs, cparams):
            # After any options of the URL's own (`?options=…`): ours win for these two settings.
            cparams["options"] = " ".join(filter(None, (cparams.get("options"), _TIMEOUT_OPTIONS[engine])))
    else:
        engine.dispose()


def _milliseconds(seconds: float) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError("a database timeout must be a number of seconds, 0 or more")
    return max(1, round(seconds * 1000)) if seconds else 0


def guard_against_fork(engine) -> None:
    """Never use a pooled connection in a forked child (rq's work horse): SQLAlchemy's documented
    recipes. The child starts with an empty pool (`dispose(close=False)` right after the fork:
    the parent's connections are neither used nor closed there). Only that keeps the child off
    the parent's sockets: `pool_pre_ping` pings a pooled connection before any checkout event
    runs, so with the pid check alone the horse spoke on the connection the parent's relay
    thread was using at that moment (both then failed). The pid check stays as a second net."""
    import os

    from sqlalchemy import event
    from sqlalchemy import exc

    inherited = weakref.ref(engine)  # an app's engine may go (tests build many)

    def _empty_pool_in_child() -> None:
        engine = inherited()
        if engine is not None:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=_empty_pool_in_child)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        connection_record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, connection_record, connection_proxy):
        if connection_record.info.get("pid") != os.getpid():
            connection_record.dbapi_connection = connection_proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection belongs to another process")
