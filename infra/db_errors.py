"""Which database errors are passing and which are lasting: the one classification that the
request error pages (503 "try again") and the jobs' retries with back-off both use.

Transient — the same statement may well succeed if run again a little later:

- the connection was lost (server restarted, `pg_terminate_backend`, a network blip): SQLAlchemy
  marks such an error `connection_invalidated`, psycopg raises `OperationalError`;
- a serialization failure or a deadlock (SQLSTATE 40001, 40P01): the database chose us as the
  one to roll back;
- a timeout we set ourselves: `lock_timeout` (55P03, lock not available) and `statement_timeout`
  (57014, query cancelled);
- too many connections (53300) and the server shutting down or starting up (57P01–57P03).

Everything else (an integrity error, a programming error, a value the database refuses) is
lasting: retrying it would fail the same way, so it reaches a person with its reason.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

SERIALIZATION = frozenset({"40001", "40P01"})
TIMEOUT = frozenset({"55P03", "57014"})
UNAVAILABLE = frozenset({"53300", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"})
TRANSIENT = SERIALIZATION | TIMEOUT | UNAVAILABLE


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg's `sqlstate`), or None."""
    original = getattr(error, "orig", error)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


def is_timeout(error: BaseException) -> bool:
    """A lock or statement timeout of ours cut the statement short."""
    return isinstance(error, sa_exc.DBAPIError) and sqlstate(error) in TIMEOUT


def is_transient(error: BaseException) -> bool:
    """Running the same work again later may succeed (see the module's list)."""
    if isinstance(error, sa_exc.DisconnectionError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = sqlstate(error)
    if state is not None:
        return state in TRANSIENT
    # No SQLSTATE: the driver lost the connection before the server could answer.
    return isinstance(error, sa_exc.OperationalError)
