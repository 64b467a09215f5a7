"""A pupil's transfer between two schools of one city: a request the receiving school decides.

The sending school writes the row when its pupil leaves (`tenants.transfers.operations.send`): a snapshot
of the pupil's record (PESEL and document number stay encrypted, with their blind indexes) and,
when the pupil had an accepted photo, a copy of it under a random key. The receiving school
accepts it (taking over what it chooses into its own records) or declines it with a reason; the
sender may withdraw it while it is pending. No school ever writes the other's pupils, cards or
applications: the row is the only thing both see.

Both schools read the row; each may change only its own columns, in one transition out of
`pending` (compare-and-set in code; on PostgreSQL the row-level security policies and the
`pupil_transfers_guard` trigger of migration 0010 enforce the same in the database).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from infra.db import Base
from infra.db import UTCDateTime
from infra.db import utcnow
from tenants.tenancy.context import Tenant
from tenants.tenancy.models import Id


class TransferStatus(enum.StrEnum):
    PENDING = "pending"  # sent, waiting for the receiving school
    ACCEPTED = "accepted"  # the receiving school took the pupil in
    DECLINED = "declined"  # the receiving school refused, with a reason
    WITHDRAWN = "withdrawn"  # the sending school took the request back before a decision


# The pupil's record as the sending school had it, copied onto the request.
SNAPSHOT = ("first_names", "surname", "date_of_birth", "sex", "pesel_cipher", "pesel_index", "id_document_type",
            "id_document_cipher", "id_document_index", "class_name", "learner_type", "disabled", "address",
            "parent_email")


class PupilTransfer(Base):
    """One transfer request, from the sending school (`from_school_id`) to the receiving one."""

    __tablename__ = "pupil_transfers"
    # New rows are the sending school's (tenants.tenancy.scoping checks this column against the tenant).
    __school_owned__ = True
    __owner_column__ = "from_school_id"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    from_school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    to_school_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    from_pupil_id: Mapped[int] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(10), default=TransferStatus.PENDING.value)
    # The snapshot (SNAPSHOT), written once by the sender.
    first_names: Mapped[str] = mapped_column(String(100))
    surname: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    pesel_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    pesel_index: Mapped[str | None] = mapped_column(String(64))
    id_document_type: Mapped[str] = mapped_column(String(60), default="")
    id_document_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_document_index: Mapped[str | None] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(20), default="")  # the class at the sending school
    learner_type: Mapped[str] = mapped_column(String(12))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(300), default="")
    parent_email: Mapped[str] = mapped_column(String(254), default="")
    # A copy of the pupil's accepted photo (never the sender's own file, which may change), under a
    # random key; deleted after the request is closed, so `photo_key` is set only while pending.
    with_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_key: Mapped[str | None] = mapped_column(String(200))
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The receiving school's columns.
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # first opened there
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str] = mapped_column(String(300), default="")
    took_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    to_pupil_id: Mapped[int | None] = mapped_column(Id)
    to_application_id: Mapped[int | None] = mapped_column(Id)
    # The sending school's columns.
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'declined', 'withdrawn')", name="status"),
        CheckConstraint("from_school_id <> to_school_id", name="another_school"),
        CheckConstraint("pesel_index IS NOT NULL OR id_document_index IS NOT NULL", name="identified"),
        CheckConstraint("(status = 'accepted') = (to_pupil_id IS NOT NULL)", name="accepted_has_pupil"),
        CheckConstraint("status <> 'declined' OR decline_reason <> ''", name="declined_has_reason"),
        CheckConstraint("status = 'pending' OR photo_key IS NULL", name="closed_has_no_photo"),
        ForeignKeyConstraint(["from_school_id", "from_pupil_id"], ["pupils.school_id", "pupils.id"],
                             name="fk_pupil_transfers_from_pupil"),
        ForeignKeyConstraint(["to_school_id", "to_pupil_id"], ["pupils.school_id", "pupils.id"],
                             name="fk_pupil_transfers_to_pupil"),
        ForeignKeyConstraint(["to_school_id", "to_application_id"], ["applications.school_id", "applications.id"],
                             name="fk_pupil_transfers_to_application"),
        # One open request per pupil of the sending school.
        Index("uq_pupil_transfers_one_pending", "from_school_id", "from_pupil_id", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )

    @classmethod
    def tenant_criteria(cls, tenant: Tenant):
        """Both schools of a request see it; nobody else does."""
        if tenant.school_id is None:
            return false()
        return or_(cls.from_school_id == tenant.school_id, cls.to_school_id == tenant.school_id)

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.surname}"

    @property
    def is_pending(self) -> bool:
        return self.status == TransferStatus.PENDING.value
