"""The mail outbox: every e-mail the product promises is sent at least once, and once in practice.

The contract, for whoever promises an e-mail:

- `promise(kind, subject_id, recipient_id=...)` adds one `mail_outbox` row per recipient in the
  transaction of the change that promises the message (the order placed, the cards delivered, the
  photo decided). The row holds ids only; the message is composed when it is sent, by the composer
  registered for its kind with `@composer(kind)` (`printing.notifications`, `tenants.photos.mail`).
  A composer runs as the row's school and returns a `Mail`, or None when there is nothing left to
  send (no address any more, the news went stale); whatever else it writes (a parent's fresh
  upload link) is committed together with the row marked sent.
- After the commit, `relay_mail()` enqueues a `send_mail(id, school_id)` job per new row (best
  effort: Redis down leaves the row waiting). Every worker runs `relay_mail(reconcile=True)`
  periodically with the batch relay: it enqueues rows that are due again, whose job Redis lost,
  or whose worker died holding the lease. Job arguments and job ids (`mail-<id>-<n>`) are ids only.
  The relay's rules shared with the other relays (rq's waiting states, the wait / send decision,
  the job ids) live in `infra.jobs`; the mail's own (its SMTP back-off, `MAX_ATTEMPTS`, a shorter
  `started` grace, no give-up by sends) are explicit here.
- `send_mail` claims the row by a compare-and-set (pending and due, or sending with a lapsed
  lease), sends through `services.mailer()` outside any other transaction, then marks it sent.
  A job delivered twice finds the row claimed or sent and skips it. A worker killed after the
  claim leaves the row `sending`; once its lease (config `MAIL_LEASE_SECONDS`) lapses the relay
  sends it again: at least once. (Killed between the SMTP server's "250 OK" and the commit, the
  message goes out twice; nothing cheaper closes that window.)
- A failed send (SMTP down, refused) is tried again after a back-off that doubles from
  `MAIL_RETRY_SECONDS` up to `MAX_RETRY_DELAY`; after `MAX_ATTEMPTS` claims the row is `failed`
  with the reason (exception type and SMTP code, never an address), logged without personal data
  and listed for the platform admin (`failed_messages`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import smtplib
from collections.abc import Callable

from flask import current_app
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from infra import jobs
from infra import services
from infra.db import db
from infra.db import utcnow
from tenants.mail.models import MailMessage
from tenants.mail.models import MailStatus
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import require_school
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.context import unscoped

log = logging.getLogger("legitka.mail")

DEFAULT_LEASE_SECONDS = 120  # config MAIL_LEASE_SECONDS; an SMTP send times out after 10 s
DEFAULT_RETRY_SECONDS = 60  # config MAIL_RETRY_SECONDS; the first back-off, doubled after each failure
MAX_RETRY_DELAY = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8  # with the defaults: 8 tries over about two hours (waits 1, 2, 4 … 64 min), then `failed`
JOB_TIMEOUT = 120
# A job `started` this long without claiming its row is lost (shorter than `infra.jobs.STARTED_GRACE`:
# a send takes seconds, not a batch's minutes).
RELAY_AGAIN_AFTER = dt.timedelta(minutes=5)
RELAY_BATCH = 500
GAVE_UP = "Przerwano wysyłkę {n} razy (np. awaria serwera w trakcie pracy)."


@dataclasses.dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


Composer = Callable[[MailMessage], Mail | None]
_COMPOSERS: dict[str, Composer] = {}


def composer(kind: str) -> Callable[[Composer], Composer]:
    """Register the function that composes messages of `kind` (one per kind)."""
    def register(func: Composer) -> Composer:
        if _COMPOSERS.get(kind, func) is not func:
            raise ValueError(f"a composer for {kind!r} is already registered")
        _COMPOSERS[kind] = func
        return func
    return register


def promise(kind: str, subject_id: int, *, recipient_id: int | None = None) -> MailMessage:
    """Promise one e-mail, in the current school's open transaction (it is sent after the commit)."""
    school_id = require_school()
    now = utcnow()
    message = MailMessage(school_id=school_id, kind=kind, subject_id=subject_id, recipient_id=recipient_id,
                          status=MailStatus.PENDING.value, created_at=now, next_attempt_at=now, attempts=0,
                          enqueued_count=0, error="")
    db.session.add(message)
    return message


def _seconds(key: str, default: float) -> dt.timedelta:
    return dt.timedelta(seconds=max(float(current_app.config.get(key) or default), 0.01))


def lease() -> dt.timedelta:
    """How long a claim holds a message (config `MAIL_LEASE_SECONDS`)."""
    return _seconds("MAIL_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)


def retry_delay(attempt: int) -> dt.timedelta:
    """The wait after the `attempt`th failed try: doubling from `MAIL_RETRY_SECONDS`, capped."""
    first = _seconds("MAIL_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
    return min(first * 2 ** max(attempt - 1, 0), MAX_RETRY_DELAY)


def job_id(message_id: int, n: int) -> str:
    return jobs.job_id("mail", message_id, n)


def _reason(exc: Exception) -> str:
    """Why a send failed, without the message of the exception (it may quote an address)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    return type(exc).__name__


def _claim(message_id: int, school_id: int, now: dt.datetime) -> int | None:
    """Take the message for sending; returns the attempt number, or None if nothing to do."""
    result = db.session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id, MailMessage.school_id == school_id,
               or_(and_(MailMessage.status == MailStatus.PENDING.value, MailMessage.next_attempt_at <= now),
                   and_(MailMessage.status == MailStatus.SENDING.value, MailMessage.lease_until < now)))
        .values(status=MailStatus.SENDING.value, attempts=MailMessage.attempts + 1, lease_until=now + lease())
        .returning(MailMessage.attempts))
    return result.scalar_one_or_none()


def _settle(message_id: int, attempt: int | None, **values) -> bool:
    """End a claim (sent, skipped, back to pending, failed); False if another attempt took the row over."""
    stmt = update(MailMessage).where(MailMessage.id == message_id)
    if attempt is not None:
        stmt = stmt.where(MailMessage.status == MailStatus.SENDING.value, MailMessage.attempts == attempt)
    return db.session.execute(stmt.values(lease_until=None, **values)
                              .execution_options(synchronize_session=False)).rowcount == 1


def send_mail(message_id: int, school_id: int) -> str:
    """rq job: send one promised message, once. Returns what happened (for logs and tests)."""
    with tenant_scope(Tenant(school_id=school_id)):
        attempt = _claim(message_id, school_id, utcnow())
        db.session.commit()
        if attempt is None:
            return "skipped"
        message = db.session.get(MailMessage, message_id)
        kind = message.kind
        try:
            compose = _COMPOSERS.get(kind)
            if compose is None:
                raise LookupError(f"no composer for {kind}")
            mail = compose(message)
            if mail is None:
                _settle(message_id, attempt, status=MailStatus.SKIPPED.value, error="")
                db.session.commit()
                return "skipped"
            services.mailer().send(mail.to, mail.subject, mail.body)
        except Exception as exc:
            db.session.rollback()
            reason = _reason(exc)[:300]
            if attempt >= MAX_ATTEMPTS:
                _settle(message_id, attempt, status=MailStatus.FAILED.value, error=reason)
                log.error("mail %s (%s) failed for good after %s tries: %s", message_id, kind, attempt, reason)
                outcome = "failed"
            else:
                _settle(message_id, attempt, status=MailStatus.PENDING.value, error=reason,
                        next_attempt_at=utcnow() + retry_delay(attempt))
                log.warning("mail %s (%s) try %s failed: %s; tried again later", message_id, kind, attempt, reason)
                outcome = "retry"
            db.session.commit()
            return outcome
        # Sent: whichever attempt holds the row now, it is done (a takeover would only send it twice).
        _settle(message_id, None, status=MailStatus.SENT.value, sent_at=utcnow(), error="")
        db.session.commit()
        return "sent"


def _verdict(message: MailMessage, job: str | None, now: dt.datetime) -> str:
    """`infra.jobs.verdict` for a message, with the mail's own rules: a `pending` message backing
    off after a failed try waits until `next_attempt_at`; a `started` job is trusted for
    `RELAY_AGAIN_AFTER`; the relay never gives up by sends (a message Redis keeps losing is still
    owed), only by claims (`MAX_ATTEMPTS`, see `relay_mail`)."""
    if message.status == MailStatus.PENDING.value and message.next_attempt_at > now:
        return jobs.WAIT  # backing off after a failed try
    return jobs.verdict(running=message.status == MailStatus.SENDING.value, lease_until=message.lease_until,
                        sends=message.enqueued_count, sent_at=message.relayed_at, job=job, now=now,
                        grace=RELAY_AGAIN_AFTER, max_sends=None)


def relay_mail(now: dt.datetime | None = None, *, reconcile: bool = False) -> int:
    """Enqueue a send job for each message that needs one; returns how many were enqueued.

    With `reconcile` (the workers' periodic relay, the `relay` command) every unsent message is
    looked at: due retries, jobs Redis lost, workers that died holding a lease; a message whose
    worker died `MAX_ATTEMPTS` times becomes `failed`. Without it (right after a request's commit)
    only messages never enqueued, and the rare one waiting for long (on the embedded default,
    with no worker, the only way a retry happens), are looked at; Redis is not read for new ones.
    """
    now = now or utcnow()
    queue = services.queue()
    with unscoped("mail outbox relay"), db.session.no_autoflush:
        stmt = (select(MailMessage)
                .where(MailMessage.status.in_((MailStatus.PENDING.value, MailStatus.SENDING.value)))
                .order_by(MailMessage.id).limit(RELAY_BATCH))
        if not reconcile:
            stmt = stmt.where(or_(MailMessage.enqueued_count == 0,
                                  and_(MailMessage.status == MailStatus.PENDING.value,
                                       MailMessage.next_attempt_at <= now,
                                       MailMessage.relayed_at <= now - RELAY_AGAIN_AFTER)))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # two relays never handle the same message
        messages = list(db.session.scalars(stmt))
        sent = [m for m in messages if m.enqueued_count]
        last = dict(zip((m.id for m in sent), queue.statuses([job_id(m.id, m.enqueued_count) for m in sent]),
                        strict=True))
        due = []
        for message in messages:
            if _verdict(message, last.get(message.id), now) == jobs.WAIT:
                continue
            if message.status == MailStatus.SENDING.value and message.attempts >= MAX_ATTEMPTS:
                message.status, message.lease_until = MailStatus.FAILED.value, None
                message.error = GAVE_UP.format(n=message.attempts)
                log.error("mail %s (%s) failed for good: its worker died %s times", message.id, message.kind,
                          message.attempts)
                continue
            message.enqueued_count += 1
            message.relayed_at = now
            due.append((message.id, message.school_id, job_id(message.id, message.enqueued_count)))
        db.session.commit()
    for message_id, school_id, name in due:
        queue.enqueue(send_mail, message_id, school_id, job_id=name, timeout=JOB_TIMEOUT)
    return len(due)


def failed_messages(limit: int = 100) -> list[MailMessage]:
    """Messages given up on, newest first, for the operator (`flask legitka mail-failed`): ids, kind
    and reason, no addresses."""
    with unscoped("mail outbox: failed e-mails for the operator"):
        rows = list(db.session.scalars(select(MailMessage).where(MailMessage.status == MailStatus.FAILED.value)
                                       .order_by(MailMessage.id.desc()).limit(limit)))
        for row in rows:
            db.session.expunge(row)  # read outside the system scope afterwards
        db.session.commit()
    return rows
