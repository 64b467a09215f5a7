"""Gap-free registry numbers per school (docs/security.md §2.4, T5.1–T5.3).

One UPDATE of the school's counter row takes `k` numbers at once; the row lock serialises
concurrent submits of the same school, and other schools never wait. Being part of the
caller's transaction, a rollback returns the numbers: none is ever lost or given twice.

The counter belongs to the registry (tenants); printing takes numbers from it when an order is
submitted, and a registry import continues numbering after its last entry (`raise_counter`).
"""

from __future__ import annotations

from sqlalchemy import text

from infra.db import db

_ENSURE = text("INSERT INTO school_counters (school_id, last_no) VALUES (:school_id, 0) ON CONFLICT DO NOTHING")
_TAKE = text("UPDATE school_counters SET last_no = last_no + :k WHERE school_id = :school_id RETURNING last_no")
# CASE rather than GREATEST/MAX: the same SQL on PostgreSQL and SQLite.
_RAISE = text("UPDATE school_counters SET last_no = CASE WHEN last_no < :at_least THEN :at_least ELSE last_no END "
              "WHERE school_id = :school_id")


def take_numbers(school_id: int, k: int) -> range:
    """Reserve the next `k` numbers of the school inside the current transaction."""
    if k < 1:
        raise ValueError("k must be positive")
    db.session.execute(_ENSURE, {"school_id": school_id})
    last = db.session.execute(_TAKE, {"school_id": school_id, "k": k}).scalar_one()
    return range(last - k + 1, last + 1)


def raise_counter(school_id: int, at_least: int, *, year: int | None = None) -> None:
    """Make the school's last given number at least `at_least` (never lowers it), inside the
    current transaction and under the same row lock as `take_numbers`: after importing a registry
    whose last entry is 250, the next card gets 251. `year` picks a per-year sequence
    (None = the continuous one); per-year counters are not in the schema yet."""
    if at_least < 0:
        raise ValueError("at_least must not be negative")
    if year is not None:
        raise NotImplementedError("per-year counters are not in the schema yet")
    db.session.execute(_ENSURE, {"school_id": school_id})
    db.session.execute(_RAISE, {"school_id": school_id, "at_least": at_least})
