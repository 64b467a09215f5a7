"""Photos on their way in: each submission (staff, parent, ZIP, transfer) and the parents' upload links."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from infra.db import Base
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.pupils.models import Pupil
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id
from tenants.tenancy.models import SchoolOwned


class PhotoSource(enum.StrEnum):
    STAFF = "staff"
    PARENT = "parent"
    ZIP = "zip"
    TRANSFER = "transfer"  # the previous school's photo, taken over when accepting a transfer


class SubmissionStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer photo for the same pupil arrived before a decision


class PhotoSubmission(SchoolOwned, Base):
    """One photo sent for a pupil, already checked, cropped and stored (the original is not kept).

    Staff uploads are accepted at once; parents' and ZIP photos wait in the review queue.
    `findings` holds the automatic checks' warnings as [{code, severity, message}].
    """

    __tablename__ = "photo_submissions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=SubmissionStatus.PENDING.value)
    storage_key: Mapped[str] = mapped_column(String(200))
    findings: Mapped[list] = mapped_column(JSON, default=list)
    notify_email: Mapped[str] = mapped_column(String(254), default="")
    rejection_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: a parent by link
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
    )

    pupil: Mapped[Pupil] = relationship(
        primaryjoin="and_(PhotoSubmission.pupil_id == Pupil.id, PhotoSubmission.school_id == Pupil.school_id)",
        foreign_keys="[PhotoSubmission.pupil_id, PhotoSubmission.school_id]", viewonly=True)


class PhotoLink(SchoolOwned, Base):
    """A parent's single-purpose link: upload one photo for one pupil, before `expires_at`.

    Only the SHA-256 of the token is stored. A parent has no account and no tenant: the request
    presents the token's hash, and row-level security shows exactly the row with that hash.
    """

    __tablename__ = "photo_links"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(Id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(["school_id", "pupil_id"], ["pupils.school_id", "pupils.id"]),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        if tenant.school_id is not None:
            return cls.school_id == tenant.school_id
        if tenant.link_hash is not None:
            return cls.token_hash == tenant.link_hash
        return false()
