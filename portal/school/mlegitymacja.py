"""mLegitymacja: the to-do list of SIO entries, marking them done, objections, the CSV for SIO."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from infra import clock
from portal import actions
from portal.access import guard_blueprint
from portal.school.common import STAFF
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
    data = mlegitymacja.sio_csv(current_actor(), tasks)  # one access-log row per task
    actions.commit()
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="mlegitymacje-do-sio.csv"', "Cache-Control": "no-store"})


@bp.post("/zrobione")
def done():
    """Mark tasks done: one (pupil_id + action) or every task on the list ("all")."""
    today = clock.today()
    chosen = request.form.get("task", "")
    tasks = [t for t in mlegitymacja.todo() if chosen == "all" or chosen == f"{t.pupil.id}:{t.action}"]

    def mark():
        if not tasks:
            raise OperationError(_("Tej pozycji nie ma już na liście."))
        for task in tasks:
            if task.action == mlegitymacja.REGISTER:
                mlegitymacja.mark_registered(current_actor(), task.pupil, task.card, today)
            else:
                mlegitymacja.mark_invalidated(current_actor(), task.pupil, today)

    return actions.run(
        mark, refused=lambda err: (render_template("school/mlegitymacja.html", tasks=mlegitymacja.todo(),
                                                   error=str(err)), 422),
        success=_("Oznaczono jako wprowadzone w SIO: %(n)s.", n=len(tasks)), then=url_for("mleg.index"))


@bp.post("/sprzeciw/<int:pupil_id>")
def objection(pupil_id: int):
    pupil = queries.get_pupil(pupil_id)
    objects = request.form.get("objects") == "1"
    return actions.run(
        lambda: mlegitymacja.record_objection(current_actor(), pupil, clock.today() if objects else None),
        success=(_("Sprzeciw wycofany.") if not objects else _("Zapisano sprzeciw słuchacza wobec mLegitymacji.")
                 if pupil.objects_for_themself else _("Zapisano sprzeciw rodzica wobec mLegitymacji.")),
        then=url_for("school.pupil", pupil_id=pupil_id))
