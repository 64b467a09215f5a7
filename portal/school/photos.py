"""The school's photo work, all of it: one pupil's photo (upload, view, the parent's link), the
review queue, parents' link sheets, ZIP imports. The parent's side of a link is `portal.parent`.

The pupil's photo routes belong to the `school` blueprint (endpoint names `school.upload_photo`,
`school.photo`, `school.submitted_photo`, `school.parent_link`, URLs under /szkola/uczniowie);
the rest to `photos` (/szkola/zdjecia).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra import file_lifecycle
from infra import services
from infra.crypto import token
from infra.db import db
from infra.storage import NotFound
from infra.storage import school_key
from portal import actions
from portal.access import guard_blueprint
from portal.jobs import start_after_commit
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.common import jpeg_response
from portal.school.views import bp as school_bp
from portal.school.views import pupil_page
from portal.security import current_actor
from tenants.documents.link_sheet import Slip
from tenants.documents.link_sheet import render_sheet
from tenants.photos import mail as photo_mail
from tenants.photos import operations as photo_intake
from tenants.photos import zips as photo_zip
from tenants.photos.models import PhotoSource
from tenants.photos.models import SubmissionStatus
from tenants.pupils import queries
from tenants.pupils.models import PhotoStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.roster import jobs as import_jobs
from tenants.roster.models import ImportKind
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import log_access

bp = Blueprint("photos", __name__, url_prefix="/szkola/zdjecia")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


# --- one pupil's photo (the school blueprint) ------------------------------------------------


@school_bp.post("/uczniowie/<int:pupil_id>/zdjecie")
def upload_photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    upload = request.files.get("photo")

    def refused(err: OperationError):
        if isinstance(err, (photo_intake.PhotoRefused, photo_intake.PhotoNeedsConfirmation)):
            return pupil_page(queries.get_pupil(pupil_id), photo_result=err.result, status=422)
        return pupil_page(queries.get_pupil(pupil_id), error=str(err), status=422)

    return actions.run(
        lambda: photo_intake.submit_photo(current_actor(), current_school(), pupil, upload.read() if upload else b"",
                                          source=PhotoSource.STAFF.value,
                                          accept_warnings=request.form.get("force") == "1"),
        refused=refused, success=_("Zdjęcie zostało przyjęte i przycięte do 492×633 px (bez metadanych)."),
        then=url_for("school.pupil", pupil_id=pupil_id))


def _photo_response(key: str | None):
    if not key:
        abort(404)
    try:
        data = services.storage().get(key)
    except NotFound:
        abort(404)
    return jpeg_response(data)


@school_bp.get("/uczniowie/<int:pupil_id>/zdjecie.jpg")
def photo(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    response = _photo_response(pupil.photo_key)
    log_access(current_actor(), "photo_view", school_id=pupil.school_id, pupil_id=pupil.id)
    actions.commit()
    return response


@school_bp.get("/zdjecia/<int:submission_id>.jpg")
def submitted_photo(submission_id: int):
    submission = queries.get_submission(submission_id)
    if submission.status != SubmissionStatus.PENDING.value:
        abort(404)  # accepted ones are the pupil's photo; rejected ones are deleted
    response = _photo_response(submission.storage_key)
    log_access(current_actor(), "photo_view", school_id=submission.school_id, pupil_id=submission.pupil_id)
    actions.commit()
    return response


@school_bp.post("/uczniowie/<int:pupil_id>/link-dla-rodzica")
def parent_link(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    value = photo_intake.issue_link(current_actor(), pupil, days=current_app.config["PHOTO_LINK_DAYS"])
    actions.commit()
    return pupil_page(pupil, parent_link=public_link(value))


def public_link(value: str) -> str:
    """The address a parent opens (`portal.parent`), on the public URL when one is configured."""
    base = current_app.config.get("PUBLIC_URL") or request.url_root
    return base.rstrip("/") + url_for("parent.upload", token=value)


# --- the school's photo queue, link sheets and ZIP imports (the photos blueprint) -------------


@bp.get("/")
def queue():
    return render_template("school/photo_queue.html", submissions=photo_intake.pending_queue())


@bp.post("/<int:submission_id>/decyzja")
def decide(submission_id: int):
    submission = queries.get_submission(submission_id)

    def decision():
        if request.form.get("decision") == "accept":
            photo_intake.accept(current_actor(), submission)
        elif request.form.get("decision") == "reject":
            photo_intake.reject(current_actor(), submission, request.form.get("reason", "")[:400])
        else:
            raise OperationError(_("Wybierz decyzję."))
        log_access(current_actor(), "photo_review", school_id=submission.school_id, pupil_id=submission.pupil_id)
        photo_mail.promise_decision(submission)

    def then(_result):
        start_after_commit()  # the parent's e-mail; with Redis down the workers' relay sends it later
        return url_for("photos.queue")

    return actions.run(
        decision, refused=lambda err: (render_template("school/photo_queue.html",
                                                       submissions=photo_intake.pending_queue(), error=str(err)), 422),
        success=lambda _result: _("Zdjęcie przyjęte.") if submission.status == "accepted" else _(
            "Zdjęcie odrzucone — rodzic dostanie wiadomość z powodem."),
        then=then)


@bp.post("/przyjmij-bez-uwag")
def accept_clean():
    """Accept every waiting photo that passed all checks without a warning, in one go."""

    def accept_all() -> list[int]:
        accepted = []
        for submission in photo_intake.pending_queue():
            if not submission.findings:
                photo_intake.accept(current_actor(), submission)
                photo_mail.promise_decision(submission)
                accepted.append(submission.id)
        return accepted

    def then(_accepted):
        start_after_commit()
        return url_for("photos.queue")

    return actions.run(accept_all, success=lambda accepted: _("Przyjęto %(n)s zdjęć bez uwag.", n=len(accepted)),
                       then=then)


@bp.get("/linki")
def links():
    return render_template("school/photo_links.html", classes=queries.class_names(),
                           days=current_app.config["PHOTO_LINK_DAYS"])


@bp.post("/linki")
def links_sheet():
    class_name = request.form.get("class_name", "")[:20]
    only_missing = request.form.get("only_missing") == "1"
    stmt = select(Pupil).where(Pupil.class_name == class_name, Pupil.status == PupilStatus.ACTIVE.value)
    if only_missing:
        stmt = stmt.where(Pupil.photo_status.in_((PhotoStatus.MISSING.value, PhotoStatus.REJECTED.value)))
    pupils = list(db.session.scalars(stmt.order_by(Pupil.surname, Pupil.first_names)))
    if not pupils:
        return render_template("school/photo_links.html", classes=queries.class_names(),
                               days=current_app.config["PHOTO_LINK_DAYS"],
                               error=_("W tej klasie nie ma uczniów, którym trzeba wysłać link.")), 422
    days = current_app.config["PHOTO_LINK_DAYS"]
    slips = [Slip(p.full_name, p.class_name, public_link(photo_intake.issue_link(current_actor(), p, days=days)))
             for p in pupils]
    pdf = render_sheet(current_school().name, class_name, slips, clock.today() + dt.timedelta(days=days))
    actions.commit()  # the links exist once the sheet is made
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="linki-do-zdjec.pdf"'
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.route("/zip", methods=["GET", "POST"])
def zip_upload():
    if request.method == "GET":
        return render_template("school/photo_zip.html")
    upload = request.files.get("archive")
    # Up to 200 MB: werkzeug has spooled it to a temporary file; it goes to storage from there, in chunks.
    stream = upload.stream if upload else None
    if stream is None or stream.read(4) != b"PK\x03\x04":
        return render_template("school/photo_zip.html", error=_("Wybierz plik ZIP ze zdjęciami.")), 422
    try:
        # The archive's directory only (count, sizes, encryption), read from the spooled file: a ZIP
        # the job would refuse is refused now, before it is stored.
        photo_zip.PhotoArchive(stream).close()
    except photo_zip.ZipError as err:
        return render_template("school/photo_zip.html", error=str(err)), 422
    stream.seek(0)
    school_id = current_school().id
    key = school_key(school_id, "imports", f"{token(16)}.bin")
    services.storage().put_file(key, stream, "application/zip")
    file_lifecycle.delete_if_rolled_back(key)
    batch = RosterImport(school_id=school_id, kind=ImportKind.PHOTOS.value, status=ImportStatus.QUEUED.value,
                         file_key=key, created_by_id=current_actor().user_id)
    db.session.add(batch)
    actions.commit()
    import_jobs.send(batch)  # committed first: with the queue down the reconciler sends it later
    return redirect(url_for("imports.show", import_id=batch.id))
