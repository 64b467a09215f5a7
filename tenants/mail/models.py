"""The mail outbox table (`tenants.mail.outbox` is the mechanism around it)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from tenants.tenancy.models import Id
from tenants.tenancy.models import SchoolOwned


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waits for its (next) try, not before `next_attempt_at`
    SENDING = "sending"  # a job claimed it until `lease_until`
    SENT = "sent"
    SKIPPED = "skipped"  # nothing to send any more (no address, the news went stale)
    FAILED = "failed"  # given up after `MAX_ATTEMPTS` tries; `error` says why


class MailMessage(SchoolOwned, Base):
    """One e-mail the product promised one recipient, written in the same transaction as the change
    that promises it. Holds ids only: the job composes the message from `kind`, `subject_id` (the
    order, card or photo submission) and `recipient_id` (e.g. the printer) when it sends it, so no
    address or name is copied here. On PostgreSQL row-level security admits the school's own rows
    and the system scope (the relay), as for the batch outbox."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Id)
    recipient_id: Mapped[int | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far (a worker's death counts)
    enqueued_count: Mapped[int] = mapped_column(Integer, default=0)  # jobs sent; the last is mail-<id>-<count>
    relayed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(String(300), default="")  # the last failure: exception type, SMTP code
