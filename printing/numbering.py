"""Gap-free registry numbers per school (docs/security.md §2.4, T5.1–T5.3).

One UPDATE of the school's counter row takes `k` numbers at once; the row lock serialises
concurrent submits of the same school, and other schools never wait. Being part of the
caller's transaction, a rollback returns the numbers: none is ever lost or given twice.
"""

from __future__ import annotations

from sqlalchemy import text

from infra.db import db

_ENSURE = text("INSERT INTO school_counters (school_id, last_no) VALUES (:school_id, 0) ON CONFLICT DO NOTHING")
_TAKE = text("UPDATE school_counters SET last_no = last_no + :k WHERE school_id = :school_id RETURNING last_no")


def take_numbers(school_id: int, k: int) -> range:
    """Reserve the next `k` numbers of the school inside the current transaction."""
    if k < 1:
        raise ValueError("k must be positive")
    db.session.execute(_ENSURE, {"school_id": school_id})
    last = db.session.execute(_TAKE, {"school_id": school_id, "k": k}).scalar_one()
    return range(last - k + 1, last + 1)
