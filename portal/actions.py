"""How a view runs a domain operation and answers: the one place a request's transaction ends
(docs/architecture.md, adding a page).

- `run` — a form that changes something. The operation either happens (committed once, the Polish
  success message flashed, a redirect: post/redirect/get) or is refused by the rules (an
  `OperationError`: rolled back, and the view's own page again with the Polish reason, by
  convention status 422).
- `attempt` — the same transaction without the answer, for views that answer otherwise: the API
  (its blueprint turns a refusal into the JSON error, `portal.api.errors`), a file download.
- `commit` — a request whose writes cannot be refused: the access-log rows of a read, a revoke.

Views never call `db.session.commit()` themselves; `tests/portal/test_view_transactions.py` lists
the few places outside views that may (commands, demo seeding, the sign-in plumbing).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from typing import TypeVar

from flask import flash
from flask import redirect

from infra.db import db
from tenants.tenancy.errors import OperationError

T = TypeVar("T")
Answer = Any  # what a Flask view returns: a response, a (body, status) tuple, a string


def attempt(operation: Callable[[], T]) -> T:
    """Run `operation()` and commit what it did; its result is returned.

    An `OperationError` (the domain's refusal, `str(err)` in Polish) rolls the whole request back
    and is raised again for the caller to answer. Any other error propagates uncommitted (the
    app's error handlers roll back)."""
    try:
        result = operation()
    except OperationError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def run(operation: Callable[[], T], *, then: str | Callable[[T], Answer],
        refused: Callable[[OperationError], Answer] | None = None,
        success: str | Callable[[T], str | Iterable[str] | None] | None = None) -> Answer:
    """A form's change, answered: `attempt(operation)`, then

    - refused: `refused(err)` is the answer (the view's page with `str(err)`, status 422). Without
      `refused` the operation is one the rules never refuse, and a refusal is a bug: raised (500);
    - done: `success` (a message, or a function of the result giving one, several or None) is
      flashed as "success", and `then` (a URL, or a function of the result giving a URL or a whole
      answer) is where the browser goes next; a URL is redirected to (302)."""
    try:
        result = attempt(operation)
    except OperationError as err:
        if refused is None:
            raise
        return refused(err)
    messages = success(result) if callable(success) else success
    for message in [messages] if isinstance(messages, str) else messages or ():
        flash(message, "success")
    answer = then(result) if callable(then) else then
    return redirect(answer) if isinstance(answer, str) else answer


def commit() -> None:
    """End a request whose writes the rules cannot refuse (access-log rows of what was shown,
    links issued, a revoke): commit them before the answer goes out."""
    db.session.commit()
