"""A parent's photo upload by link: no account, one pupil, one photo, works on a phone.

The token in the URL is the only credential. It is hashed before use; the database shows the
request nothing but that link's row until the link is found usable (tenants.photos.operations).
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from sqlalchemy import select

from infra import inputs
from infra.db import db
from portal import actions
from tenants.photos import operations as photo_intake
from tenants.photos.models import PhotoSource
from tenants.pupils.models import Pupil
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation

bp = Blueprint("parent", __name__, url_prefix="/zdjecie")

TOKEN_MAX = 64


def _who(link) -> tuple[Pupil, Organisation, dict]:
    """The link's pupil and school, and what the page may show of them (plain values, which
    stay readable after the transaction ends): the first name only."""
    pupil = db.session.scalar(select(Pupil).where(Pupil.id == link.pupil_id))
    school = db.session.get(Organisation, link.school_id)
    context = {"first_name": pupil.first_names.split()[0], "school_name": school.name,
               "expires_at": link.expires_at, "has_email": bool(pupil.parent_email)}
    return pupil, school, context


def _page(template: str, status: int = 200, **context):
    return render_template(template, **context), status


@bp.get("/<token>")
def upload(token: str):
    try:
        with photo_intake.acting_for_link(token[:TOKEN_MAX]) as link:
            _pupil, _school, context = _who(link)
            db.session.rollback()
    except photo_intake.LinkUnusable as err:
        db.session.rollback()
        return _page("parent/unusable.html", 410, message=str(err))
    return _page("parent/upload.html", **context)


@bp.post("/<token>")
def send(token: str):
    upload = request.files.get("photo")
    data = upload.read() if upload else b""
    email = request.form.get("email", "").strip()[:inputs.MAX_EMAIL + 1]  # one more: too long is refused
    try:
        with photo_intake.acting_for_link(token[:TOKEN_MAX]) as link:
            pupil, school, context = _who(link)
            context["email"] = email

            def submit():
                if email and not inputs.is_email(email):
                    raise OperationError("Adres e-mail jest nieprawidłowy — popraw go albo zostaw pole puste.")
                photo_intake.mark_used(link)
                actor = Actor(user_id=None, role="parent", organisation_id=None, endpoint="parent.send")
                photo_intake.submit_photo(actor, school, pupil, data, source=PhotoSource.PARENT.value,
                                          accept_warnings=request.form.get("force") == "1", notify_email=email)

            try:
                actions.attempt(submit)  # rolled back on a refusal
            except (photo_intake.PhotoRefused, photo_intake.PhotoNeedsConfirmation) as err:
                return _page("parent/upload.html", 422, result=err.result, **context)
            except photo_intake.LinkUnusable:
                raise
            except OperationError as err:
                return _page("parent/upload.html", 422, error=str(err), **context)
    except photo_intake.LinkUnusable as err:
        db.session.rollback()
        return _page("parent/unusable.html", 410, message=str(err))
    return _page("parent/thanks.html", first_name=context["first_name"], school_name=context["school_name"])
