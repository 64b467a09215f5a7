"""Starting the work a request (or a command) has just committed: batches and e-mails.

The change and its outbox rows are already committed when these run, so the user's action has
happened whatever becomes of the queue. Enqueueing after the commit is best effort: with Redis
down (or any other error) the request still answers success, the rows wait in the database and
the workers' periodic relay (`relay_all`, every `--relay-every` seconds; also `flask legitka
relay`) enqueues them once Redis is back.
"""

from __future__ import annotations

import logging

from infra.db import db
from printing.tasks import relay_outbox
from tenants.mail.outbox import relay_mail

log = logging.getLogger("legitka.jobs")


def start_after_commit() -> bool:
    """Enqueue the jobs of what was just committed; never raises. False if some could not be
    enqueued now (the periodic relay will)."""
    started = True
    for relay in (relay_outbox, relay_mail):
        try:
            relay()
        except Exception as exc:  # Redis down, a dropped connection: the outbox keeps the work
            db.session.rollback()
            log.warning("%s after commit failed (%s); the workers' relay will enqueue it", relay.__name__,
                        type(exc).__name__)
            started = False
    return started


def relay_all() -> int:
    """The periodic relay and reconciler (workers, `flask legitka relay`): batches, then e-mails
    (each even when the other failed; the first error is raised afterwards). Returns how many
    jobs were enqueued."""
    enqueued, errors = 0, []
    for relay in (relay_outbox, relay_mail):
        try:
            enqueued += relay(reconcile=True)
        except Exception as exc:
            db.session.rollback()
            errors.append(exc)
    if errors:
        raise errors[0]
    return enqueued
