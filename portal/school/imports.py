"""Roster imports: upload, column mapping, dry-run report, import job with a progress bar."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import progress
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.school.common import STAFF
from portal.security import current_actor
from tenants.pupils import queries
from tenants.roster import jobs as import_jobs
from tenants.roster import operations as roster_import
from tenants.roster.file import FIELDS
from tenants.roster.file import REQUIRED_FIELDS
from tenants.roster.file import template_csv
from tenants.roster.file import template_xlsx
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.tenancy.errors import OperationError

bp = Blueprint("imports", __name__, url_prefix="/szkola/import")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


@bp.get("/")
def new_roster():
    recent = list(db.session.scalars(select(RosterImport).where(RosterImport.kind != "registry")  # its own page
                                     .order_by(RosterImport.created_at.desc()).limit(10)))
    return render_template("school/import_new.html", recent=recent)


@bp.post("/")
def upload():
    file = request.files.get("file")
    data = file.read() if file else b""
    if not data:
        return render_template("school/import_new.html", recent=[], error=_("Wybierz plik CSV lub XLSX.")), 422
    return actions.run(lambda: roster_import.start(current_actor(), data),
                       refused=lambda err: (render_template("school/import_new.html", recent=[], error=str(err)), 422),
                       then=lambda batch: url_for("imports.show", import_id=batch.id))


@bp.get("/szablon.<ext>")
def template(ext: str):
    if ext == "csv":
        return Response(template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="legitka-uczniowie.csv"'})
    if ext == "xlsx":
        return Response(template_xlsx(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="legitka-uczniowie.xlsx"'})
    return redirect(url_for("imports.new_roster"))


def _page(batch: RosterImport, *, error: str | None = None, status: int = 200):
    # Queued or running as the row says: a job lost or a worker that died is sent again by the
    # reconciler (tenants.roster.jobs), which fails the import with its reason if it keeps dying.
    running = batch.status in (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)
    return render_template("school/import.html", batch=batch, fields=FIELDS, required=REQUIRED_FIELDS,
                           progress=progress.read("import", batch.id) if running else None, running=running,
                           error=error), status


@bp.get("/<int:import_id>")
def show(import_id: int):
    return _page(queries.get_import(import_id))


def _act(import_id: int, action, *, then, success: str | None = None):
    """Run `action(batch)`, then go on as `then(batch)` says; a refusal re-renders the import page
    with the reason (422)."""
    batch = queries.get_import(import_id)

    def operation():
        action(batch)
        return batch

    return actions.run(operation, success=success, then=then,
                       refused=lambda err: _page(queries.get_import(import_id), error=str(err), status=422))


def _mapping_from_form() -> dict[str, int | None]:
    """The column chosen for each field: "" is none, else a column's number as the form's options give it.
    Anything else (5,000 digits, "-1", "1e309", "²", NUL) is no choice the form offers: refused, never
    guessed, since `int()` would fail on some of it and silently drop the field on the rest."""
    mapping: dict[str, int | None] = {}
    for field, label in FIELDS.items():
        value = request.form.get(field, "")
        if value == "":
            mapping[field] = None
        elif len(value) <= 4 and value.isascii() and value.isdigit():
            mapping[field] = int(value)
        else:
            raise OperationError(_("Kolumna wybrana dla pola „%(field)s” jest nieprawidłowa — wybierz ją z listy "
                                   "ponownie.", field=label))
    return mapping


@bp.post("/<int:import_id>/kolumny")
def set_mapping(import_id: int):
    return _act(import_id, lambda batch: roster_import.set_mapping(current_actor(), batch, _mapping_from_form()),
                then=url_for("imports.show", import_id=import_id))


@bp.post("/<int:import_id>/importuj")
def confirm(import_id: int):
    def then(batch):
        import_jobs.send(batch)  # committed first: with the queue down the reconciler sends it later
        return url_for("imports.show", import_id=import_id)

    return _act(import_id, lambda batch: roster_import.confirm(current_actor(), batch), then=then)


@bp.post("/<int:import_id>/odrzuc")
def discard(import_id: int):
    return _act(import_id, lambda batch: roster_import.discard(current_actor(), batch),
                success=_("Import odrzucony, plik usunięty."), then=url_for("imports.new_roster"))
