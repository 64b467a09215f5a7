"""The school's data-protection registers (docs/privacy-registers.md), under /szkola/ochrona-danych:
the breach register with the 72-hour clock, and the records of processing activities as a page
and an A4 PDF.

The director records and amends breaches and completes the record's contacts; the secretariat
reads both registers (it often learns of a breach first and tells the director) but changes
nothing. Another school's breach is a 404 (`NotFoundError`, portal.errors). The domain functions
take a list of school ids: here always the one school of the signed-in membership (`_ids`).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from portal import actions
from portal.access import guard_blueprint
from portal.access import require_roles
from portal.school.common import DIRECTOR
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.security import current_actor
from printing import agreements
from tenants.privacy import breaches
from tenants.privacy import processing_records
from tenants.privacy.models import BreachDecision
from tenants.tenancy.models import Role

bp = Blueprint("privacy", __name__, url_prefix="/szkola/ochrona-danych")
guard_blueprint(bp, *STAFF)  # every route; changes add require_roles


def _ids() -> list[int]:
    return [current_school().id]


def _director() -> bool:
    return current_actor().role == Role.SCHOOL_DIRECTOR.value


@bp.get("/")
def index():
    return render_template("school/privacy/breaches.html", entries=breaches.register(_ids()), director=_director(),
                           describe=breaches.describe, decisions=breaches.DECISIONS)


def _new_page(form: dict, error: str | None = None):
    return render_template("school/privacy/breach_form.html", form=form, found=None, error=error,
                           decisions=breaches.DECISIONS), (422 if error else 200)


@bp.get("/naruszenia/nowe")
@require_roles(*DIRECTOR)
def new_breach():
    return _new_page({"decision": BreachDecision.OPEN.value})


@bp.post("/naruszenia/nowe")
@require_roles(*DIRECTOR)
def create_breach():
    form = request.form
    return actions.run(lambda: breaches.record(current_actor(), form),
                       refused=lambda err: _new_page(form.to_dict(), str(err)),
                       success=_("Zapisano naruszenie w rejestrze. Termin zgłoszenia do Prezesa UODO biegnie od chwili "
                                 "stwierdzenia naruszenia."),
                       then=lambda breach: url_for("privacy.breach", breach_id=breach.id))


def _breach_page(found: breaches.Entry, form: dict | None = None, error: str | None = None):
    return render_template("school/privacy/breach.html", e=found, history=breaches.history(found.breach),
                           form=form or breaches.form_of(found.current), error=error, director=_director(),
                           standing=breaches.describe(found.standing), decisions=breaches.DECISIONS,
                           as_text=breaches.as_text), (422 if error else 200)


@bp.get("/naruszenia/<int:breach_id>")
def breach(breach_id: int):
    return _breach_page(breaches.entry(_ids(), breach_id))


@bp.post("/naruszenia/<int:breach_id>")
@require_roles(*DIRECTOR)
def amend_breach(breach_id: int):
    found = breaches.entry(_ids(), breach_id)
    form = request.form
    return actions.run(lambda: breaches.amend(current_actor(), found, form),
                       refused=lambda err: _breach_page(found, form.to_dict(), str(err)),
                       success=lambda version: _("Zapisano wersję %(n)s wpisu. Poprzednie wersje pozostają w "
                                                 "historii.", n=version.version),
                       then=url_for("privacy.breach", breach_id=breach_id))


def _record():
    ids = _ids()
    return processing_records.build(ids, agreements.recipients(ids))[0]


def _record_page(form: dict | None = None, error: str | None = None):
    return render_template("school/privacy/processing_record.html", r=_record(), director=_director(),
                           form=form or processing_records.contacts_form(current_school()),
                           fields=processing_records.CONTACT_FIELDS, error=error), (422 if error else 200)


@bp.get("/rejestr-czynnosci")
def processing_record():
    return _record_page()


@bp.post("/rejestr-czynnosci")
@require_roles(*DIRECTOR)
def save_contacts():
    form = request.form
    return actions.run(lambda: processing_records.save_contacts(current_actor(), form),
                       refused=lambda err: _record_page(form.to_dict(), str(err)),
                       success=_("Zapisano dane administratora i inspektora ochrony danych."),
                       then=url_for("privacy.processing_record"))


@bp.get("/rejestr-czynnosci.pdf")
def processing_record_pdf():
    data = processing_records.record_pdf(_record())
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": 'inline; filename="rejestr-czynnosci-przetwarzania.pdf"',
        "Cache-Control": "no-store, private"})
