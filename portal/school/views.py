"""School staff: pupils, photos, applications, print orders, deliveries and handovers.

Thin handlers: parse the form, call `tenants.tenancy.errors` / `printing.operations`, commit,
redirect. A refused operation re-renders the page with the Polish reason and status 422.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from infra import services
from infra.db import db
from infra.storage import NotFound
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
from printing.application_forms import FormData
from printing.application_forms import render_form
from tenants.photos import operations as photo_intake
from tenants.photos.models import PhotoSource
from tenants.photos.models import PhotoSubmission
from tenants.photos.models import SubmissionStatus
from tenants.pupils import applications as applications_ops
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
from tenants.tenancy import nrb
from tenants.tenancy import operations
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
    return render_template("school/dashboard.html", school=_school(), counts=counts, orders=orders)


# --- pupils ---------------------------------------------------------------------------------


@bp.get("/uczniowie")
def pupils():
    filters = queries.PupilFilter.from_args(request.args)
    found = queries.list_pupils(filters)
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
    try:
        pupil = pupil_records.add_pupil(current_actor(), _details_from_form(request.form))
    except OperationError as err:
        db.session.rollback()
        return _pupil_form(request.form, error=str(err), status=422)
    db.session.commit()
    flash(_("Dodano ucznia %(name)s.", name=pupil.full_name), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil.id))


@bp.route("/uczniowie/<int:pupil_id>/edycja", methods=["GET", "POST"])
def edit_pupil(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    if request.method == "GET":
        form = {name: getattr(pupil, name) for name in PUPIL_FIELDS}
        form["date_of_birth"] = pupil.date_of_birth.strftime("%d.%m.%Y")
        form["disabled"] = "1" if pupil.disabled else ""
        return _pupil_form(form, pupil=pupil)
    try:
        details = _details_from_form(request.form)
        if not details.pesel and not details.id_document_number:
            # Identity fields left empty on an edit keep the stored identity.
            details = _keep_identity(pupil, details)
        was_active = pupil.status == PupilStatus.ACTIVE.value
        pupil_records.update_pupil(current_actor(), pupil, details)
        if was_active and pupil.status != PupilStatus.ACTIVE.value:
            for card in registry.pupil_left(current_actor(), pupil, pupil.status):
                flash(_("Legitymacja nr %(number)s została unieważniona (uczeń opuścił szkołę).", number=card.label),
                      "success")
    except OperationError as err:
        db.session.rollback()
        return _pupil_form(request.form, pupil=queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Zapisano zmiany."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))


def _keep_identity(pupil: Pupil, details: PupilDetails) -> PupilDetails:
    cipher = services.pesel_cipher()
    if pupil.pesel_cipher is not None:
        return dataclasses.replace(details, pesel=cipher.decrypt(pupil.pesel_cipher))
    return dataclasses.replace(details, id_document_type=details.id_document_type or pupil.id_document_type,
                               id_document_number=cipher.decrypt(pupil.id_document_cipher))


def _pupil_page(pupil: Pupil, *, error: str | None = None, status: int = 200, photo_result=None,
                parent_link: str | None = None):
    operations.log_access(current_actor(), "pupil_view", school_id=pupil.school_id, pupil_id=pupil.id)
    applications = list(db.session.scalars(select(Application).where(Application.pupil_id == pupil.id)
                                           .order_by(Application.created_at.desc())))
    cards = list(db.session.scalars(select(Card).where(Card.pupil_id == pupil.id).order_by(Card.number.desc())))
    submissions = list(db.session.scalars(select(PhotoSubmission).where(PhotoSubmission.pupil_id == pupil.id)
                                          .order_by(PhotoSubmission.created_at.desc()).limit(5)))
    masked = queries.masked_pesel(pupil, services.pesel_cipher())
    school = _school()
    sent = transfer.sent_for(pupil)
    db.session.commit()
    return render_template("school/pupil.html", pupil=pupil, masked_pesel=masked, applications=applications,
                           cards=cards, submissions=submissions, error=error, photo_result=photo_result,
                           parent_link=parent_link, replacement_reasons=REPLACEMENT_REASONS,
                           duplicate_reasons=DUPLICATE_REASONS, school=school, transfers=sent,
                           transfer_schools=transfer.school_names(sent), can_transfer=_can_transfer(pupil),
                           status_text=registry_queries.status_text), status


def _can_transfer(pupil: Pupil) -> bool:
    try:
        transfer.check_can_send(pupil)
    except OperationError:
        return False
    return True


@bp.post("/uczniowie/<int:pupil_id>/papierowa")
def paper_card(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    try:
        issued_on = _parse_date(request.form.get("issued_on", ""))
        if issued_on is None:
            raise OperationError(_("Podaj datę wydania w formacie dd.mm.rrrr."))
        registry.record_paper_card(current_actor(), pupil, request.form.get("number", "")[:60], issued_on)
    except OperationError as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Zapisano papierową legitymację (ważna do opuszczenia szkoły)."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))


@bp.get("/uczniowie/<int:pupil_id>")
def pupil(pupil_id: int):
    return _pupil_page(queries.get_pupil(pupil_id))


@bp.post("/uczniowie/<int:pupil_id>/zdjecie")
def upload_photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    upload = request.files.get("photo")
    try:
        photo_intake.submit_photo(current_actor(), _school(), pupil, upload.read() if upload else b"",
                                  source=PhotoSource.STAFF.value, accept_warnings=request.form.get("force") == "1")
    except (photo_intake.PhotoRefused, photo_intake.PhotoNeedsConfirmation) as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), photo_result=err.result, status=422)
    except OperationError as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Zdjęcie zostało przyjęte i przycięte do 492×633 px (bez metadanych)."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))


def _photo_response(key: str | None):
    if not key:
        abort(404)
    try:
        data = services.storage().get(key)
    except NotFound:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Content-Disposition"] = 'inline; filename="photo.jpg"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.get("/uczniowie/<int:pupil_id>/zdjecie.jpg")
def photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    response = _photo_response(pupil.photo_key)
    operations.log_access(current_actor(), "photo_view", school_id=pupil.school_id, pupil_id=pupil.id)
    db.session.commit()
    return response


@bp.get("/zdjecia/<int:submission_id>.jpg")
def submitted_photo(submission_id: int):
    submission = queries.get_submission(submission_id)
    if submission.status != SubmissionStatus.PENDING.value:
        abort(404)  # accepted ones are the pupil's photo; rejected ones are deleted
    response = _photo_response(submission.storage_key)
    operations.log_access(current_actor(), "photo_view", school_id=submission.school_id, pupil_id=submission.pupil_id)
    db.session.commit()
    return response


@bp.post("/uczniowie/<int:pupil_id>/link-dla-rodzica")
def parent_link(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    value = photo_intake.issue_link(current_actor(), pupil, days=current_app.config["PHOTO_LINK_DAYS"])
    db.session.commit()
    return _pupil_page(pupil, parent_link=public_link(value))


def public_link(value: str) -> str:
    base = current_app.config.get("PUBLIC_URL") or request.url_root
    return base.rstrip("/") + url_for("parent.upload", token=value)


@bp.post("/uczniowie/<int:pupil_id>/wnioski")
def create_application(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    kind = request.form.get("kind", ApplicationKind.FIRST.value)
    try:
        application = applications_ops.create_application(
            current_actor(), pupil, kind, reason_code=request.form.get("reason_code", ""),
            note=request.form.get("note", "")[:400], school=_school())
    except OperationError as err:
        db.session.rollback()
        return _pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Złożono wniosek. Czeka na decyzję dyrektora."), "success")
    return redirect(url_for("school.application", application_id=application.id))


# --- applications ---------------------------------------------------------------------------


@bp.get("/wnioski")
def applications():
    status = request.args.get("status", "")
    if status not in {s.value for s in ApplicationStatus}:
        status = ""
    return render_template("school/applications.html", applications=queries.list_applications(status or None),
                           status=status, statuses=ApplicationStatus)


def _application_page(application: Application, *, error: str | None = None, status: int = 200):
    pesel = None
    if current_membership().role == Role.SCHOOL_DIRECTOR.value and application.status == "submitted":
        # The approval screen is the one place the full PESEL is shown, to check it (T3.4).
        pesel = _identity(application.pupil)
        operations.log_access(current_actor(), "pesel_view", school_id=application.school_id,
                              pupil_id=application.pupil_id)
        db.session.commit()
    school = _school()
    return render_template("school/application.html", application=application, pesel=pesel, error=error,
                           school=school, bank_account=nrb.formatted(school.bank_account),
                           today=dt.date.today()), status


def _identity(pupil: Pupil) -> str:
    if pupil.pesel_cipher is not None:
        return services.pesel_cipher().decrypt(pupil.pesel_cipher)
    return pupil_records.identity_label(pupil)


@bp.get("/wnioski/<int:application_id>")
def application(application_id: int):
    return _application_page(queries.get_application(application_id))


def _application_action(application_id: int, action, success: str):
    application = queries.get_application(application_id)
    try:
        action(application)
    except OperationError as err:
        db.session.rollback()
        return _application_page(queries.get_application(application_id), error=str(err), status=422)
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("school.application", application_id=application_id))


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
    try:
        applications_ops.decide_application(current_actor(), application, approve=decision == "approve",
                                            reason=request.form.get("reason", ""))
    except OperationError as err:
        db.session.rollback()
        return _application_page(queries.get_application(application_id), error=str(err), status=422)
    db.session.commit()
    flash(_("Wniosek zatwierdzony.") if decision == "approve" else _("Wniosek odrzucony."), "success")
    return redirect(url_for("school.applications", status="submitted"))


@bp.get("/wnioski/<int:application_id>/wniosek.pdf")
def application_pdf(application_id: int):
    application = queries.get_application(application_id)
    pupil, school = application.pupil, _school()
    reason = application.reason_label
    data = FormData(
        kind=application.kind, town=school.town, today=dt.date.today(), school_name=school.name,
        school_address=school.address_line, director_name=school.director_name, pupil_name=pupil.full_name,
        class_name=pupil.class_name, date_of_birth=pupil.date_of_birth,
        identity_label="PESEL" if pupil.pesel_cipher is not None else _("Dokument tożsamości"),
        identity_value=_identity(pupil), reason=reason, fee=money(application.fee_amount),
        bank_account=nrb.formatted(school.bank_account))
    pdf = render_form(data)
    operations.log_access(current_actor(), "application_form_pdf", school_id=school.id, pupil_id=pupil.id)
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="wniosek-{application.id}.pdf"'
    response.headers["Cache-Control"] = "no-store, private"
    return response
