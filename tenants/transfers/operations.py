"""A pupil moving to another school of the same city, as a request the receiving school decides.

The sending school (`send`) touches only its own rows: its pupil leaves (status `transferred`,
its valid cards invalidated by `registry.pupil_left`) and a `PupilTransfer` row carries what the
receiver needs: the pupil's record as a snapshot and a copy of the accepted photo under a random
key. The receiving school sees the request, compares it with its own record of the same pupil
(same PESEL or document blind index) and `accept`s it, taking over what it chooses into its own
records and optionally filing a first-card application, or `decline`s it with a reason. Until
then the sender may `withdraw` it. Every step runs as one school, in that school's tenant: no
step needs the other school's scope. Each is an access-log row of the school acting.

Functions flush and never commit; refusals are `OperationError` with a Polish message.
Transitions are compare-and-set on `status = 'pending'` (a double accept, or an accept racing
a withdrawal, finds the row closed and changes nothing).
"""

from __future__ import annotations

import dataclasses
import unicodedata

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from infra import file_lifecycle
from infra import services
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import NotFound
from infra.storage import school_key
from tenants.photos import operations as photo_intake
from tenants.photos.models import PhotoSource
from tenants.photos.models import PhotoSubmission
from tenants.photos.models import SubmissionStatus
from tenants.pupils import applications
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import LearnerType
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import operations as registry
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.operations import log_access
from tenants.transfers.models import SNAPSHOT
from tenants.transfers.models import PupilTransfer
from tenants.transfers.models import TransferStatus

# What the receiving school may take over from the request into a pupil it already has (the
# identity is the same by construction: it is how the pupil was found).
TAKEABLE = ("first_names", "surname", "date_of_birth", "sex", "learner_type", "disabled", "address", "parent_email")
CLOSED_MESSAGES = {
    TransferStatus.ACCEPTED.value: "Ta prośba o przeniesienie została już przyjęta.",
    TransferStatus.DECLINED.value: "Ta prośba o przeniesienie została już odrzucona.",
    TransferStatus.WITHDRAWN.value: "Szkoła wysyłająca wycofała tę prośbę o przeniesienie.",
}


# --- the sending school ---------------------------------------------------------------------


def receiving_schools(school: Organisation) -> list[Organisation]:
    """The schools a pupil of `school` may move to: the city's other schools, by name."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.SCHOOL.value, Organisation.city_id == school.city_id,
        Organisation.id != school.id).order_by(Organisation.name, Organisation.id)))


def receiving_school(school: Organisation, target_id: int | None) -> Organisation:
    """The school `target_id` names, if a pupil of `school` may move there; else `OperationError`."""
    if target_id is None:
        raise OperationError("Wybierz szkołę, do której uczeń przechodzi.")
    target = db.session.get(Organisation, target_id)
    if (target is None or target.kind != OrgKind.SCHOOL.value or target.city_id != school.city_id
            or target.id == school.id):
        raise OperationError("Wybierz inną szkołę tego samego miasta z listy.")
    return target


def pending_for(pupil: Pupil) -> PupilTransfer | None:
    """The sending school's open request for its pupil, if any."""
    return db.session.scalar(select(PupilTransfer).where(
        PupilTransfer.from_school_id == pupil.school_id, PupilTransfer.from_pupil_id == pupil.id,
        PupilTransfer.status == TransferStatus.PENDING.value))


def check_can_send(pupil: Pupil) -> None:
    """A pupil who learns here, or one marked transferred whose requests were all declined or
    withdrawn (sent again, e.g. to the right school); never while a request is open."""
    if pending_for(pupil) is not None:
        raise OperationError("Prośba o przeniesienie tego ucznia czeka już na decyzję drugiej szkoły.")
    if pupil.status == PupilStatus.ACTIVE.value:
        return
    earlier = {t.status for t in sent_for(pupil)}
    if pupil.status == PupilStatus.TRANSFERRED.value and earlier and TransferStatus.ACCEPTED.value not in earlier:
        return
    raise OperationError("Przenieść można tylko ucznia, który uczy się w szkole.")


def sent_for(pupil: Pupil) -> list[PupilTransfer]:
    """Every request the sending school made for its pupil, newest first."""
    return list(db.session.scalars(select(PupilTransfer).where(
        PupilTransfer.from_school_id == pupil.school_id, PupilTransfer.from_pupil_id == pupil.id)
        .order_by(PupilTransfer.sent_at.desc(), PupilTransfer.id.desc())))


def send(actor: Actor, school: Organisation, pupil: Pupil, target_id: int | None) -> PupilTransfer:
    """The pupil leaves `school` for the city's school `target_id`: their valid cards here are
    invalidated, they are marked transferred, and a pending request carries their record and a
    copy of their photo to the other school, which accepts or declines it."""
    target = receiving_school(school, target_id)
    db.session.refresh(pupil, with_for_update=True)  # one sending at a time per pupil (a double click)
    check_can_send(pupil)
    photo_key = _copy_photo(school, pupil)
    registry.pupil_left(actor, pupil, PupilStatus.TRANSFERRED.value)
    transfer = PupilTransfer(
        from_school_id=school.id, to_school_id=target.id, from_pupil_id=pupil.id,
        status=TransferStatus.PENDING.value, with_photo=photo_key is not None, photo_key=photo_key,
        sent_by_id=actor.user_id, sent_at=utcnow(), **{name: getattr(pupil, name) for name in SNAPSHOT})
    db.session.add(transfer)
    try:
        db.session.flush()
    except IntegrityError:  # the one-pending index: another sending won (SQLite takes no row lock)
        raise OperationError("Prośba o przeniesienie tego ucznia czeka już na decyzję drugiej szkoły.") from None
    log_access(actor, "transfer_sent", school_id=school.id, pupil_id=pupil.id,
               detail=f"transfer={transfer.id} to_school={target.id}")
    return transfer


def _copy_photo(school: Organisation, pupil: Pupil) -> str | None:
    """A copy of the pupil's accepted photo for the request (the pupil's own file stays theirs and
    may be replaced later). Stored under a random key; removed if the sending is rolled back."""
    if not pupil.photo_key:
        return None
    storage = services.storage()
    try:
        data = storage.get(pupil.photo_key)
    except NotFound:
        return None  # a lost file does not hold the pupil back; the new school asks for a photo
    key = school_key(school.id, "transfers", f"{token(16)}.jpg")
    storage.put(key, data, "image/jpeg")
    file_lifecycle.delete_if_rolled_back(key)
    return key


def withdraw(actor: Actor, transfer: PupilTransfer) -> None:
    """The sending school takes back a request still pending. The pupil stays marked transferred
    (their cards stay invalid); the request may be sent again, or the pupil's status changed."""
    me = require_school()
    if transfer.from_school_id != me:
        raise NotFoundError("transfer")
    _close(transfer, me, PupilTransfer.from_school_id, status=TransferStatus.WITHDRAWN.value,
           withdrawn_by_id=actor.user_id, withdrawn_at=utcnow())
    log_access(actor, "transfer_withdrawn", school_id=me, pupil_id=transfer.from_pupil_id,
               detail=f"transfer={transfer.id} to_school={transfer.to_school_id}")


# --- both schools ---------------------------------------------------------------------------


def get_transfer(transfer_id: int) -> PupilTransfer:
    """A request the current school sent or received; `NotFoundError` for any other."""
    me = require_school()
    transfer = db.session.scalar(select(PupilTransfer).where(
        PupilTransfer.id == transfer_id, or_(PupilTransfer.from_school_id == me, PupilTransfer.to_school_id == me)))
    if transfer is None:
        raise NotFoundError("transfer")
    return transfer


def is_receiver(transfer: PupilTransfer) -> bool:
    return transfer.to_school_id == require_school()


def incoming(*, pending: bool) -> list[PupilTransfer]:
    """Requests addressed to the current school: the pending ones oldest first, or the decided
    (and withdrawn) ones newest first, the last 100."""
    stmt = select(PupilTransfer).where(PupilTransfer.to_school_id == require_school())
    if pending:
        return list(db.session.scalars(stmt.where(PupilTransfer.status == TransferStatus.PENDING.value)
                                       .order_by(PupilTransfer.sent_at, PupilTransfer.id)))
    return list(db.session.scalars(stmt.where(PupilTransfer.status != TransferStatus.PENDING.value)
                                   .order_by(PupilTransfer.sent_at.desc(), PupilTransfer.id.desc()).limit(100)))


def outgoing() -> list[PupilTransfer]:
    """Requests the current school sent, newest first, the last 100."""
    return list(db.session.scalars(select(PupilTransfer).where(PupilTransfer.from_school_id == require_school())
                                   .order_by(PupilTransfer.sent_at.desc(), PupilTransfer.id.desc()).limit(100)))


def pending_incoming_count() -> int:
    return db.session.scalar(select(func.count()).select_from(PupilTransfer).where(
        PupilTransfer.to_school_id == require_school(), PupilTransfer.status == TransferStatus.PENDING.value))


def school_names(transfers: list[PupilTransfer]) -> dict[int, str]:
    ids = {t.from_school_id for t in transfers} | {t.to_school_id for t in transfers}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def opened(actor: Actor, transfer: PupilTransfer, *, known: Pupil | None = None) -> None:
    """The request's page was shown (the pupil's data): an access-log row for the school looking.
    The receiver's first look also records when the request was received."""
    me = require_school()
    detail = f"transfer={transfer.id}"
    if me == transfer.to_school_id:
        if transfer.received_at is None:
            done = db.session.execute(
                update(PupilTransfer).where(PupilTransfer.id == transfer.id, PupilTransfer.to_school_id == me,
                                            PupilTransfer.received_at.is_(None))
                .values(received_at=utcnow()).execution_options(synchronize_session=False))
            db.session.refresh(transfer)
            if done.rowcount == 1:
                log_access(actor, "transfer_received", school_id=me, pupil_id=known.id if known else None,
                           detail=f"{detail} from_school={transfer.from_school_id}")
        log_access(actor, "transfer_view", school_id=me, pupil_id=known.id if known else None, detail=detail)
    else:
        log_access(actor, "transfer_view", school_id=me, pupil_id=transfer.from_pupil_id, detail=detail)


def photo(actor: Actor, transfer: PupilTransfer) -> bytes:
    """The photo sent with a pending request (`NotFoundError` when there is none any more)."""
    if not transfer.photo_key:
        raise NotFoundError("photo")
    try:
        data = services.storage().get(transfer.photo_key)
    except NotFound:
        raise NotFoundError("photo") from None
    me = require_school()
    log_access(actor, "transfer_photo_view", school_id=me,
               pupil_id=transfer.from_pupil_id if me == transfer.from_school_id else None,
               detail=f"transfer={transfer.id}")
    return data


# --- the receiving school -------------------------------------------------------------------


def known_pupil(transfer: PupilTransfer) -> Pupil | None:
    """The receiving school's own record of the pupil, found by the same PESEL (or, without one,
    the same identity document) blind index."""
    me = require_school()
    if transfer.pesel_index:
        return db.session.scalar(select(Pupil).where(Pupil.school_id == me,
                                                     Pupil.pesel_index == transfer.pesel_index))
    return db.session.scalar(select(Pupil).where(Pupil.school_id == me,
                                                 Pupil.id_document_index == transfer.id_document_index))


def differences(transfer: PupilTransfer, pupil: Pupil) -> list[str]:
    """The TAKEABLE fields in which the request differs from the school's own record."""
    return [name for name in TAKEABLE if getattr(transfer, name) != getattr(pupil, name)]


@dataclasses.dataclass(frozen=True)
class Takeover:
    """What the receiving school takes over when it accepts a request."""

    photo: bool = False
    fields: tuple[str, ...] = ()  # for a pupil the school already has; a new pupil gets them all
    reactivate: bool = False  # a known pupil who left the school learns there again
    class_name: str = ""  # the class in the receiving school ("" keeps a known pupil's class)
    application: bool = False  # file a first-card application, prefilled


def accept(actor: Actor, transfer: PupilTransfer, takeover: Takeover) -> Pupil:
    """The receiving school takes the pupil in: a new pupil from the request's record, or its own
    record updated with the fields chosen; the photo if chosen (recorded as an accepted
    submission from the previous school); a first-card application if chosen. Returns the pupil."""
    me = _as_receiver(transfer)
    class_name = _class_name(takeover.class_name)
    unknown = set(takeover.fields) - set(TAKEABLE)
    if unknown:
        raise OperationError("Nieznane pole do przejęcia.")
    if takeover.photo and not transfer.photo_key:
        raise OperationError("Do tej prośby nie dołączono zdjęcia.")
    pupil = known_pupil(transfer)
    if pupil is None:
        pupil = Pupil(school_id=me, status=PupilStatus.ACTIVE.value, class_name=class_name,
                      **{name: getattr(transfer, name) for name in SNAPSHOT if name != "class_name"})
        if pupil.learner_type not in {t.value for t in LearnerType}:
            pupil.learner_type = LearnerType.PUPIL.value
        db.session.add(pupil)
        try:
            db.session.flush()
        except IntegrityError:  # the same PESEL or document added here meanwhile
            raise OperationError("Ten uczeń został właśnie dodany do ewidencji szkoły — otwórz prośbę ponownie, "
                                 "by porównać dane.") from None
    else:
        for name in takeover.fields:
            setattr(pupil, name, getattr(transfer, name))
        if class_name:
            pupil.class_name = class_name
        if takeover.reactivate:
            pupil.status = PupilStatus.ACTIVE.value
        db.session.flush()
    if takeover.photo:
        _take_photo(actor, transfer, pupil)
    application_id = None
    if takeover.application:
        from_school = db.session.get(Organisation, transfer.from_school_id)
        application = applications.create_application(
            actor, pupil, ApplicationKind.FIRST.value, note=f"przeniesienie z: {from_school.name}")
        application_id = application.id
    _close(transfer, me, PupilTransfer.to_school_id, status=TransferStatus.ACCEPTED.value,
           decided_by_id=actor.user_id, decided_at=utcnow(), took_photo=takeover.photo, to_pupil_id=pupil.id,
           to_application_id=application_id)
    log_access(actor, "transfer_accepted", school_id=me, pupil_id=pupil.id,
               detail=f"transfer={transfer.id} from_school={transfer.from_school_id}")
    return pupil


def decline(actor: Actor, transfer: PupilTransfer, reason: str) -> None:
    """The receiving school refuses the request; the sending school reads the reason."""
    me = _as_receiver(transfer)
    reason = _plain_text(reason)
    if not reason:
        raise OperationError("Podaj powód odrzucenia — przeczyta go szkoła, która wysłała prośbę.")
    if len(reason) > 300:
        raise OperationError("Powód odrzucenia może mieć najwyżej 300 znaków.")
    _close(transfer, me, PupilTransfer.to_school_id, status=TransferStatus.DECLINED.value,
           decided_by_id=actor.user_id, decided_at=utcnow(), decline_reason=reason)
    log_access(actor, "transfer_declined", school_id=me,
               detail=f"transfer={transfer.id} from_school={transfer.from_school_id}")


def _as_receiver(transfer: PupilTransfer) -> int:
    """The current school, which must be the request's receiver, and the request still pending
    (read under a row lock, so a withdrawal waits for this decision or wins before it)."""
    me = require_school()
    if transfer.to_school_id != me:
        raise NotFoundError("transfer")
    status = db.session.scalar(select(PupilTransfer.status).where(
        PupilTransfer.id == transfer.id, PupilTransfer.to_school_id == me).with_for_update())
    if status != TransferStatus.PENDING.value:
        raise OperationError(CLOSED_MESSAGES.get(status, "Tej prośby o przeniesienie już nie ma."))
    return me


def _plain_text(value: str) -> str:
    """One line of text as typed: control and invisible format characters (zero-width spaces,
    bidirectional overrides) removed, runs of white space made one space."""
    kept = {"Cc": " ", "Cf": ""}  # a control character (a tab, a newline) separates words; a format one vanishes
    visible = "".join(kept.get(unicodedata.category(ch), ch) for ch in value or "")
    return " ".join(visible.split())


def _class_name(value: str) -> str:
    value = _plain_text(value)
    if len(value) > 20:
        raise OperationError("Klasa może mieć najwyżej 20 znaków.")
    return value


def _take_photo(actor: Actor, transfer: PupilTransfer, pupil: Pupil) -> None:
    """The request's photo becomes the pupil's, in the receiving school's own storage; it goes
    through the photo queue's acceptance, so the previous photo is removed after the commit."""
    storage = services.storage()
    try:
        data = storage.get(transfer.photo_key)
    except NotFound:
        raise OperationError("Zdjęcie dołączone do prośby nie jest już dostępne — przyjmij ucznia bez niego "
                             "i poproś o nowe zdjęcie.") from None
    key = school_key(pupil.school_id, "photos", f"{token(16)}.jpg")
    storage.put(key, data, "image/jpeg")
    file_lifecycle.delete_if_rolled_back(key)
    submission = PhotoSubmission(school_id=pupil.school_id, pupil_id=pupil.id, source=PhotoSource.TRANSFER.value,
                                 status=SubmissionStatus.PENDING.value, storage_key=key, findings=[],
                                 created_by_id=actor.user_id)
    db.session.add(submission)
    db.session.flush()
    photo_intake.accept(actor, submission)


def _close(transfer: PupilTransfer, me: int, side, **values) -> None:
    """Compare-and-set `pending` → closed on the current school's side; the photo copy goes
    after the commit (and stays if the transaction rolls back)."""
    done = db.session.execute(
        update(PupilTransfer).where(PupilTransfer.id == transfer.id, side == me,
                                    PupilTransfer.status == TransferStatus.PENDING.value)
        .values(photo_key=None, **values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(transfer)
        raise OperationError(CLOSED_MESSAGES.get(transfer.status, "Tej prośby o przeniesienie już nie ma."))
    if transfer.photo_key:
        file_lifecycle.delete_after_commit(transfer.photo_key)
    db.session.refresh(transfer)


def live_cards(pupil: Pupil) -> list[Card]:
    """The pupil's cards that sending the request would invalidate (shown before confirming)."""
    return registry.live_cards(pupil)
