"""The secretary's photo work: the review queue, parents' link sheets, ZIP imports."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from tenants.tenancy.operations import log_access

from infra import file_lifecycle
from infra import services
from infra.crypto import token
from infra.db import db
from infra.storage import school_key
from portal.access import guard_blueprint
from portal.jobs import start_after_commit
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.views import public_link
from portal.security import current_actor
from printing.link_sheet import Slip
from printing.link_sheet import render_sheet
from tenants.photos import mail as photo_mail
from tenants.photos import operations as photo_intake
from tenants.photos import zips as photo_zip
from tenants.pupils import queries
from tenants.pupils.models import PhotoStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.roster import jobs as import_jobs
from tenants.roster.models import ImportKind
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.tenancy.errors import OperationError

bp = Blueprint("photos", __name__, url_prefix="/szkola/zdjecia")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


@bp.get("/")
def queue():
    return render_template("school/photo_queue.html", submissions=photo_intake.pending_queue())


@bp.post("/<int:submission_id>/decyzja")
def decide(submission_id: int):
    submission = queries.get_submission(submission_id)
    try:
        if request.form.get("decision") == "accept":
            photo_intake.accept(current_actor(), submission)
        elif request.form.get("decision") == "reject":
            photo_intake.reject(current_actor(), submission, request.form.get("reason", "")[:400])
        else:
            raise OperationError(_("Wybierz decyzję."))
    except OperationError as err:
        db.session.rollback()
        return render_template("school/photo_queue.html", submissions=photo_intake.pending_queue(),
                               error=str(err)), 422
    log_access(current_actor(), "photo_review", school_id=submission.school_id, pupil_id=submission.pupil_id)
    photo_mail.promise_decision(submission)
    db.session.commit()
    start_after_commit()  # the parent's e-mail; with Redis down the workers' relay sends it later
    flash(_("Zdjęcie przyjęte.") if submission.status == "accepted" else _("Zdjęcie odrzucone — rodzic dostanie "
                                                                         "wiadomość z powodem."), "success")
    return redirect(url_for("photos.queue"))


@bp.post("/przyjmij-bez-uwag")
def accept_clean():
    """Accept every waiting photo that passed all checks without a warning, in one go."""
    accepted = []
    for submission in photo_intake.pending_queue():
        if not submission.findings:
            photo_intake.accept(current_actor(), submission)
            photo_mail.promise_decision(submission)
            accepted.append(submission.id)
    db.session.commit()
    start_after_commit()
    flash(_("Przyjęto %(n)s zdjęć bez uwag.", n=len(accepted)), "success")
    return redirect(url_for("photos.queue"))


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
    pdf = render_sheet(current_school().name, class_name, slips, dt.date.today() + dt.timedelta(days=days))
    db.session.commit()  # the links exist once the sheet is made
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
    db.session.commit()
    import_jobs.send(batch)  # committed first: with the queue down the reconciler sends it later
    return redirect(url_for("imports.show", import_id=batch.id))
