"""School staff: pupils, photos, applications, print orders, deliveries and handovers.

Thin handlers: parse the form and run the domain operation with `portal.actions.run` (committed,
flashed, redirected; a refused one re-renders the page with the Polish reason and status 422).
The pupil's photo routes are in `portal.school.photos`.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.access import require_roles
from portal.formatting import money
from portal.school.common import DIRECTOR
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.common import parse_date
from portal.security import current_actor
from portal.security import current_membership
from printing import queries as printing_queries
from tenants.consultations import queries as consultation_queries
from tenants.documents.application_forms import FormData
from tenants.documents.application_forms import render_form
from tenants.photos.models import PhotoSubmission
from tenants.photos.models import SubmissionStatus
from tenants.pupils import applications as applications_ops
from tenants.pupils import deadlines
from tenants.pupils import fees
from tenants.pupils import identity
from tenants.pupils import operations as pupil_records
from tenants.pupils import queries
from tenants.pupils.models import DUPLICATE_REASONS
from tenants.pupils.models import REPLACEMENT_REASONS
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import LearnerType
from tenants.pupils.models import PhotoStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.pupils.operations import PupilDetails
from tenants.registry import operations as registry
from tenants.registry import queries as registry_queries
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.registry.models import registry_order
from tenants.tenancy import nrb
from tenants.tenancy import operations
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Role
from tenants.transfers import operations as transfer

bp = Blueprint("school", __name__, url_prefix="/szkola")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles

_school = current_school
_parse_date = parse_date


@bp.get("/")
def dashboard():
    counts = {
        "pupils": db.session.scalar(select(func.count()).select_from(Pupil).where(
            Pupil.status == PupilStatus.ACTIVE.value)),
        "without_photo": db.session.scalar(select(func.count()).select_from(Pupil).where(
            Pupil.status == PupilStatus.ACTIVE.value, Pupil.photo_status == PhotoStatus.MISSING.value)),
        "photos_to_review": db.session.scalar(select(func.count()).select_from(PhotoSubmission).where(
            PhotoSubmission.status == SubmissionStatus.PENDING.value)),
        "to_decide": db.session.scalar(select(func.count()).select_from(Application).where(
            Application.status == ApplicationStatus.SUBMITTED.value)),
        "to_order": db.session.scalar(select(func.count()).select_from(Application).where(
            Application.status == ApplicationStatus.APPROVED.value, Application.order_id.is_(None))),
        "to_hand_over": db.session.scalar(select(func.count()).select_from(Card).where(
            Card.status == CardStatus.DELIVERED.value)),
        "transfers": transfer.pending_incoming_count(),
    }
    orders = printing_queries.school_orders(limit=5)
    school = _school()
    return render_template("school/dashboard.html", school=school, counts=counts, orders=orders,
                           consultations=consultation_queries.awaiting(school.city_id, school.id))


# --- pupils ---------------------------------------------------------------------------------


@bp.get("/uczniowie")
def pupils():
    filters = queries.PupilFilter.from_args(request.args)
    found = queries.list_pupils(filters)
    # Whose names were shown (docs/security.md T3.10): the pupils' ids, no filter text (it may be a name).
    operations.log_access(current_actor(), "pupil_list", school_id=require_school(),
                          detail="pupils=" + ",".join(str(p.id) for p in found))
    actions.commit()
    return render_template("school/pupils.html", pupils=found, classes=queries.class_names(), f=filters,
                           limit=queries.PUPIL_PAGE, incoming_transfers=transfer.pending_incoming_count())


PUPIL_FIELDS = ("first_names", "surname", "date_of_birth", "id_document_type", "class_name", "book_number",
                "learner_type", "disabled", "address", "parent_email", "status")


def _details_from_form(form) -> PupilDetails:
    typed = form.get("date_of_birth", "").strip()
    date_of_birth = _parse_date(typed)
    if date_of_birth is None and (typed or not form.get("pesel", "").strip()):
        raise OperationError(_("Podaj datę urodzenia w formacie dd.mm.rrrr."))
    return PupilDetails(
        first_names=form.get("first_names", "")[:200], surname=form.get("surname", "")[:200],
        date_of_birth=date_of_birth, pesel=form.get("pesel", "")[:20],
        id_document_type=form.get("id_document_type", "")[:100],
        id_document_number=form.get("id_document_number", "")[:60],
        class_name=form.get("class_name", "")[:40], book_number=form.get("book_number", "")[:40],
        learner_type=form.get("learner_type", LearnerType.PUPIL.value), disabled=form.get("disabled") == "1",
        address=form.get("address", "")[:400], parent_email=form.get("parent_email", "")[:300],
        status=form.get("status") or None)


def _pupil_form(form: dict, *, pupil: Pupil | None = None, error: str | None = None, status: int = 200):
    # The PESEL and document number never go back into the page: they are typed again.
    safe = {k: v for k, v in form.items() if k not in ("pesel", "id_document_number", "csrf_token")}
    return render_template("school/pupil_form.html", form=safe, pupil=pupil, error=error, learner_types=LearnerType,
                           statuses=PupilStatus), status


@bp.route("/uczniowie/nowy", methods=["GET", "POST"])
def new_pupil():
    if request.method == "GET":
        return _pupil_form({})
    return actions.run(lambda: pupil_records.add_pupil(current_actor(), _details_from_form(request.form)),
                       refused=lambda err: _pupil_form(request.form, error=str(err), status=422),
                       success=lambda pupil: _("Dodano ucznia %(name)s.", name=pupil.full_name),
                       then=lambda pupil: url_for("school.pupil", pupil_id=pupil.id))


@bp.route("/uczniowie/<int:pupil_id>/edycja", methods=["GET", "POST"])
def edit_pupil(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    if request.method == "GET":
        form = {name: getattr(pupil, name) for name in PUPIL_FIELDS}
        form["date_of_birth"] = inputs.format_day(pupil.date_of_birth)
        form["disabled"] = "1" if pupil.disabled else ""
        return _pupil_form(form, pupil=pupil)

    def change():
        details = _details_from_form(request.form)
        if not details.pesel and not details.id_document_number:
            # Identity fields left empty on an edit keep the stored identity.
            details = _keep_identity(pupil, details)
        was_active = pupil.status == PupilStatus.ACTIVE.value
        pupil_records.update_pupil(current_actor(), pupil, details)
        if was_active and pupil.status != PupilStatus.ACTIVE.value:
            return registry.pupil_left(current_actor(), pupil, pupil.status)
        return []

    return actions.run(
        change, refused=lambda err: _pupil_form(request.form, pupil=queries.get_pupil(pupil_id), error=str(err),
                                                status=422),
        success=lambda invalidated: [
            *(_("Legitymacja nr %(number)s została unieważniona (uczeń opuścił szkołę).", number=card.label)
              for card in invalidated), _("Zapisano zmiany.")],
        then=url_for("school.pupil", pupil_id=pupil_id))


def _keep_identity(pupil: Pupil, details: PupilDetails) -> PupilDetails:
    if pupil.pesel_cipher is not None:
        return dataclasses.replace(details, pesel=identity.reveal_pesel(current_actor(), pupil, "pupil_edit"))
    number = identity.reveal_document_number(current_actor(), pupil, "pupil_edit")
    return dataclasses.replace(details, id_document_type=details.id_document_type or pupil.id_document_type,
                               id_document_number=number)


def pupil_page(pupil: Pupil, *, error: str | None = None, status: int = 200, photo_result=None,
               parent_link: str | None = None):
    operations.log_access(current_actor(), "pupil_view", school_id=pupil.school_id, pupil_id=pupil.id)
    applications = list(db.session.scalars(select(Application).where(Application.pupil_id == pupil.id)
                                           .order_by(Application.created_at.desc())))
    cards = list(db.session.scalars(select(Card).where(Card.pupil_id == pupil.id)
                                    .order_by(*(c.desc() for c in registry_order()))))
    submissions = list(db.session.scalars(select(PhotoSubmission).where(PhotoSubmission.pupil_id == pupil.id)
                                          .order_by(PhotoSubmission.created_at.desc()).limit(5)))
    masked = identity.masked(pupil)
    school = _school()
    sent = transfer.sent_for(pupil)
    actions.commit()
    return render_template("school/pupil.html", pupil=pupil, masked_pesel=masked, applications=applications,
                           cards=cards, submissions=submissions, error=error, photo_result=photo_result,
                           parent_link=parent_link, replacement_reasons=REPLACEMENT_REASONS,
                           duplicate_reasons=DUPLICATE_REASONS, school=school, transfers=sent,
                           transfer_schools=transfer.school_names(sent), can_transfer=_can_transfer(pupil),
                           status_text=registry_queries.status_text,
                           duplicate_fee=fees.in_force(clock.today())), status


def _can_transfer(pupil: Pupil) -> bool:
    try:
        transfer.check_can_send(pupil)
    except OperationError:
        return False
    return True


@bp.post("/uczniowie/<int:pupil_id>/papierowa")
def paper_card(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)

    def record():
        issued_on = _parse_date(request.form.get("issued_on", ""))
        if issued_on is None:
            raise OperationError(_("Podaj datę wydania w formacie dd.mm.rrrr."))
        registry.record_paper_card(current_actor(), pupil, request.form.get("number", "")[:60], issued_on)

    return actions.run(record, refused=lambda err: pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422),
                       success=_("Zapisano papierową legitymację (ważna do opuszczenia szkoły)."),
                       then=url_for("school.pupil", pupil_id=pupil_id))


@bp.get("/uczniowie/<int:pupil_id>")
def pupil(pupil_id: int):
    return pupil_page(queries.get_pupil(pupil_id))


@bp.post("/uczniowie/<int:pupil_id>/wnioski")
def create_application(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    kind = request.form.get("kind", ApplicationKind.FIRST.value)
    return actions.run(
        lambda: applications_ops.create_application(
            current_actor(), pupil, kind, reason_code=request.form.get("reason_code", ""),
            note=request.form.get("note", "")[:400], school=_school()),
        refused=lambda err: pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422),
        success=_("Złożono wniosek. Czeka na decyzję dyrektora."),
        then=lambda application: url_for("school.application", application_id=application.id))


# --- applications ---------------------------------------------------------------------------


@bp.get("/wnioski")
def applications():
    status = request.args.get("status", "")
    if status not in {s.value for s in ApplicationStatus}:
        status = ""
    overdue_only = request.args.get("overdue") == "1"
    school, today = _school(), clock.today()
    listed = queries.list_applications(status or None)
    promises = {a.id: deadlines.promise_of(school, a, today) for a in listed}  # docs/domain.md §20
    if overdue_only:
        listed = [a for a in listed if promises[a.id] and promises[a.id].overdue]
    return render_template("school/applications.html", applications=listed, promises=promises,
                           overdue_only=overdue_only, status=status, statuses=ApplicationStatus)


def _application_page(application: Application, *, error: str | None = None, status: int = 200):
    pesel = None
    if current_membership().role == Role.SCHOOL_DIRECTOR.value and application.status == "submitted":
        # The approval screen is the one place the full PESEL is shown, to check it (T3.4).
        pesel = identity.reveal_identity(current_actor(), application.pupil, "pesel_view")
        actions.commit()
    school = _school()
    return render_template("school/application.html", application=application, pesel=pesel, error=error,
                           school=school, bank_account=nrb.formatted(school.bank_account),
                           promise=deadlines.promise_of(school, application),
                           today=clock.today(), photo_current=applications_ops.photo_is_current(application.pupil),
                           photo_months=applications_ops.CURRENT_PHOTO_MONTHS), status


@bp.get("/wnioski/<int:application_id>")
def application(application_id: int):
    return _application_page(queries.get_application(application_id))


def _application_action(application_id: int, action, success: str):
    application = queries.get_application(application_id)
    return actions.run(lambda: action(application), success=success,
                       refused=lambda err: _application_page(queries.get_application(application_id), error=str(err),
                                                             status=422),
                       then=url_for("school.application", application_id=application_id))


@bp.post("/wnioski/<int:application_id>/zwrot")
def record_return(application_id: int):
    def action(application):
        returned_on = _parse_date(request.form.get("returned_on", ""))
        if returned_on is None:
            raise OperationError(_("Podaj datę zwrotu w formacie dd.mm.rrrr."))
        applications_ops.record_old_card_return(current_actor(), application, returned_on)

    return _application_action(application_id, action, _("Zapisano zwrot starej legitymacji."))


@bp.post("/wnioski/<int:application_id>/wplata")
def record_payment(application_id: int):
    def action(application):
        paid_on = _parse_date(request.form.get("paid_on", ""))
        if paid_on is None:
            raise OperationError(_("Podaj datę wpłaty w formacie dd.mm.rrrr."))
        amount = applications_ops.parse_amount(request.form.get("amount", "")[:20])
        applications_ops.record_payment(current_actor(), application, amount=amount, paid_on=paid_on,
                                        reference=request.form.get("reference", "")[:200])

    return _application_action(application_id, action, _("Zapisano wpłatę za duplikat."))


@bp.post("/wnioski/<int:application_id>/decyzja")
@require_roles(*DIRECTOR)
def decide(application_id: int):
    application = queries.get_application(application_id)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        return _application_page(application, error=_("Wybierz decyzję."), status=422)
    return actions.run(
        lambda: applications_ops.decide_application(current_actor(), application, approve=decision == "approve",
                                                    reason=request.form.get("reason", "")),
        refused=lambda err: _application_page(queries.get_application(application_id), error=str(err), status=422),
        success=_("Wniosek zatwierdzony.") if decision == "approve" else _("Wniosek odrzucony."),
        then=url_for("school.applications", status="submitted"))


@bp.get("/wnioski/<int:application_id>/wniosek.pdf")
def application_pdf(application_id: int):
    application = queries.get_application(application_id)
    pupil, school = application.pupil, _school()
    reason = application.reason_label
    shown = identity.reveal_identity(current_actor(), pupil, "application_form_pdf")
    data = FormData(
        kind=application.kind, town=school.town, today=clock.today(), school_name=school.name,
        school_address=school.address_line, director_name=school.director_name, pupil_name=pupil.full_name,
        class_name=pupil.class_name, date_of_birth=pupil.date_of_birth,
        identity_label="PESEL" if pupil.pesel_cipher is not None else _("Dokument tożsamości"),
        identity_value=shown, reason=reason, fee=money(application.fee_amount), fee_basis=application.fee_basis,
        bank_account=nrb.formatted(school.bank_account))
    pdf = render_form(data)
    actions.commit()  # the access-log row of the reveal
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="wniosek-{application.id}.pdf"'
    response.headers["Cache-Control"] = "no-store, private"
    return response
