"""The city's consultations as the school sees them (docs/city.md, *Konsultacje z dyrektorami*):
the opened consultations of the school's city, the school's answer to each, and the form. Only the
school's director answers, and may change the answer until the deadline (a day in Europe/Warsaw);
the secretariat sees the consultation and the answer but cannot give one. A late answer, or one
to a closed consultation, is refused with the reason (tenants.consultations.operations).

Another city's consultation, or a draft of the school's own city, is a 404.
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from infra import inputs
from portal import actions
from portal.access import guard_blueprint
from portal.access import require_roles
from portal.school.common import DIRECTOR
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.security import current_actor
from tenants.consultations import operations
from tenants.consultations import queries
from tenants.consultations import questions
from tenants.tenancy.models import Role

bp = Blueprint("consultations", __name__, url_prefix="/szkola/konsultacje")
guard_blueprint(bp, *STAFF)  # every route; answering adds require_roles


@bp.get("/")
def index():
    school = current_school()
    found = queries.school_consultations(school.city_id)
    answered = {c.id for c in found if operations.own_answer(c.id, school.id) is not None}
    return render_template("school/consultations.html", consultations=found, answered=answered)


def _page(consultation_id: int, *, error: str | None = None, form=None):
    school = current_school()
    consultation = queries.school_consultation(school.city_id, consultation_id)
    given = operations.own_answer(consultation.id, school.id)
    if form is None and given is not None:
        form = {"satisfaction": str(given.satisfaction), "problems": list(given.problems or ()),
                "problems_text": given.problems_text, "staff_hours": str(given.staff_hours).replace(".", ","),
                "preference": given.preference, "comments": given.comments, "extra_answer": given.extra_answer}
    elif form is not None:
        form = {**form.to_dict(), "problems": form.getlist("problems")}
    director = current_actor().role == Role.SCHOOL_DIRECTOR.value
    return render_template("school/consultation.html", c=consultation, given=given, form=form or {"problems": []},
                           closed=operations.answering_refusal(consultation), director=director, q=questions,
                           error=error), (422 if error else 200)


@bp.get("/<int:consultation_id>")
def show(consultation_id: int):
    return _page(consultation_id)


@bp.post("/<int:consultation_id>")
@require_roles(*DIRECTOR)
def answer(consultation_id: int):
    school = current_school()
    consultation = queries.school_consultation(school.city_id, consultation_id)
    return actions.run(lambda: operations.answer(current_actor(), school, consultation, request.form),
                       refused=lambda err: _page(consultation_id, error=str(err), form=request.form),
                       success=_("Zapisano odpowiedź szkoły. Do %(day)s można ją jeszcze zmienić.",
                                 day=inputs.format_day(consultation.deadline)),
                       then=url_for("consultations.show", consultation_id=consultation_id))
