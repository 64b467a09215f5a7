"""An uploaded pupil list or photo ZIP on its way in (the `imports` table)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.models import Id
from tenants.tenancy.models import SchoolOwned


class ImportKind(enum.StrEnum):
    ROSTER = "roster"
    PHOTOS = "photos"


class ImportStatus(enum.StrEnum):
    NEEDS_MAPPING = "needs_mapping"  # columns not recognised: the secretary maps them
    CHECKED = "checked"  # dry run done; waiting for "import the valid rows"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DISCARDED = "discarded"


class RosterImport(SchoolOwned, Base):
    """An uploaded pupil list or photo ZIP on its way in: dry-run report, then a job applies it.

    The uploaded file waits in storage under a random key and is deleted once the import is
    done, failed or discarded. `report` rows name pupils but never hold a PESEL.
    """

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))
    file_key: Mapped[str | None] = mapped_column(String(200))
    layout: Mapped[str] = mapped_column(String(20), default="")
    headers: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    report: Mapped[list] = mapped_column(JSON, default=list)
    error_message: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # While running: until when the attempt holding it must renew its hold (tenants.roster.tasks). Past it, the
    # worker died; the reconciler (tenants.roster.jobs) sends the import again, or after too many sends fails it.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # bumped by each job that takes it
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # jobs sent to the queue for it
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # when the last one was sent

    __table_args__ = (UniqueConstraint("school_id", "id"),)
