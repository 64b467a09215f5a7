"""mLegitymacja: the to-do list of SIO entries, marking them done, objections, the CSV for SIO."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from tenants.tenancy.operations import log_access

from infra.db import db
from portal.access import guard_blueprint
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.security import current_actor
from tenants.mlegitymacja import operations as mlegitymacja
from tenants.pupils import queries
from tenants.tenancy.errors import OperationError

bp = Blueprint("mleg", __name__, url_prefix="/szkola/mlegitymacja")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


@bp.get("/")
def index():
    return render_template("school/mlegitymacja.html", tasks=mlegitymacja.todo())


@bp.get("/sio.csv")
def export():
    tasks = mlegitymacja.todo()
    for task in tasks:
        log_access(current_actor(), "sio_export", school_id=current_school().id, pupil_id=task.pupil.id)
    db.session.commit()
    return Response(mlegitymacja.sio_csv(tasks), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="mlegitymacje-do-sio.csv"', "Cache-Control": "no-store"})


@bp.post("/zrobione")
def done():
    """Mark tasks done: one (pupil_id + action) or every task on the list ("all")."""
    today = dt.date.today()
    chosen = request.form.get("task", "")
    tasks = [t for t in mlegitymacja.todo() if chosen == "all" or chosen == f"{t.pupil.id}:{t.action}"]
    try:
        if not tasks:
            raise OperationError(_("Tej pozycji nie ma już na liście."))
        for task in tasks:
            if task.action == mlegitymacja.REGISTER:
                mlegitymacja.mark_registered(current_actor(), task.pupil, task.card, today)
            else:
                mlegitymacja.mark_invalidated(current_actor(), task.pupil, today)
    except OperationError as err:
        db.session.rollback()
        return render_template("school/mlegitymacja.html", tasks=mlegitymacja.todo(), error=str(err)), 422
    db.session.commit()
    flash(_("Oznaczono jako wprowadzone w SIO: %(n)s.", n=len(tasks)), "success")
    return redirect(url_for("mleg.index"))


@bp.post("/sprzeciw/<int:pupil_id>")
def objection(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    objects = request.form.get("objects") == "1"
    mlegitymacja.record_objection(current_actor(), pupil, dt.date.today() if objects else None)
    db.session.commit()
    flash(_("Zapisano sprzeciw rodzica wobec mLegitymacji.") if objects else _("Sprzeciw wycofany."), "success")
    return redirect(url_for("school.pupil", pupil_id=pupil_id))
