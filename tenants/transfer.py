"""A pupil moving to another school of the same city: the card here is invalidated and the new
school finds a prefilled first-card application waiting (with the pupil's data and photo)."""

from __future__ import annotations

from sqlalchemy import select

from infra import services
from infra.crypto import token
from infra.db import db
from infra.storage import school_key
from tenants import registry
from tenants.actors import Actor
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import Application
from tenants.models import ApplicationKind
from tenants.models import ApplicationStatus
from tenants.models import Organisation
from tenants.models import OrgKind
from tenants.models import PhotoStatus
from tenants.models import Pupil
from tenants.models import PupilStatus
from tenants.operations import OperationError

COPIED = ("first_names", "surname", "date_of_birth", "sex", "pesel_cipher", "pesel_index", "id_document_type",
          "id_document_cipher", "id_document_index", "learner_type", "disabled", "address", "parent_email")


def transfer(actor: Actor, school: Organisation, pupil: Pupil, target_id: int) -> int:
    """Move `pupil` from `school` to the city's school `target_id`; returns the application's id
    there. The pupil's record, photo included, is copied; the PESEL keeps its encryption."""
    target = db.session.get(Organisation, target_id)
    if (target is None or target.kind != OrgKind.SCHOOL.value or target.city_id != school.city_id
            or target.id == school.id):
        raise OperationError("Wybierz inną szkołę tego samego miasta.")
    if pupil.status != PupilStatus.ACTIVE.value:
        raise OperationError("Przenieść można tylko ucznia, który uczy się w szkole.")
    values = {name: getattr(pupil, name) for name in COPIED}
    photo = services.storage().get(pupil.photo_key) if pupil.photo_key else None
    registry.pupil_left(actor, pupil, PupilStatus.TRANSFERRED.value)
    # The new school's rows are written as the new school, in this same transaction.
    with tenant_scope(Tenant(school_id=target.id)):
        index_column = Pupil.pesel_index if values["pesel_index"] else Pupil.id_document_index
        index_value = values["pesel_index"] or values["id_document_index"]
        moved = db.session.scalar(select(Pupil).where(index_column == index_value))
        if moved is None:
            moved = Pupil(school_id=target.id, **values, class_name="", status=PupilStatus.ACTIVE.value)
            db.session.add(moved)
        else:
            moved.status = PupilStatus.ACTIVE.value
        if photo is not None:
            key = school_key(target.id, "photos", f"{token(16)}.jpg")
            services.storage().put(key, photo, "image/jpeg")
            moved.photo_key, moved.photo_status = key, PhotoStatus.ACCEPTED.value
        db.session.flush()
        if db.session.scalar(select(Application.id).where(
                Application.pupil_id == moved.id, Application.status == ApplicationStatus.SUBMITTED.value)):
            raise OperationError("W nowej szkole ten uczeń ma już złożony wniosek.")
        application = Application(school_id=target.id, pupil_id=moved.id, kind=ApplicationKind.FIRST.value,
                                  reason=f"przeniesienie z: {school.name}"[:200], created_by_id=actor.user_id)
        db.session.add(application)
        db.session.flush()
        return application.id
