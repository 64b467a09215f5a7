"""Stored files follow the database transaction that refers to them.

A row that stops pointing at a file (a replaced photo, a superseded or rejected submission) must
not lose the file before the change is committed: if the commit fails, the row still points at
it. `delete_after_commit(key)` deletes the file once the session's transaction has committed and
forgets it if the transaction rolls back. The opposite case, a file stored for a row that is then
rolled back, is `delete_if_rolled_back(key)`.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from infra import services
from infra.db import db

log = logging.getLogger(__name__)

_AFTER_COMMIT = "files_to_delete_after_commit"
_ON_ROLLBACK = "files_to_delete_on_rollback"


def delete_after_commit(key: str) -> None:
    db.session().info.setdefault(_AFTER_COMMIT, []).append(key)


def delete_if_rolled_back(key: str) -> None:
    db.session().info.setdefault(_ON_ROLLBACK, []).append(key)


def _delete(keys: list[str]) -> None:
    storage = services.storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # a file left behind is a leak, not a reason to fail the committed work
            log.exception("stored file could not be deleted after its transaction ended")


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the outer transaction goes on
        return
    keys = session.info.pop(_AFTER_COMMIT, [])
    session.info.pop(_ON_ROLLBACK, None)
    _delete(keys)


def _after_transaction_end(session: Session, transaction) -> None:
    """The outermost transaction ended without a commit (rolled back, or the session closed):
    the files stored for it go, the deletions it asked for are forgotten."""
    if transaction.parent is not None:
        return
    keys = session.info.pop(_ON_ROLLBACK, [])
    session.info.pop(_AFTER_COMMIT, None)
    _delete(keys)


def install() -> None:
    """Register the session hooks once per process."""
    if getattr(install, "_done", False):
        return
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_transaction_end", _after_transaction_end)
    install._done = True
