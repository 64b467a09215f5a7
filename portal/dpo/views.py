"""The data protection officer's (IOD's) pages, `/iod/` (docs/dpo.md): who saw a child's data, whose
data a printer received (both downloadable as CSV and XLSX), the agreements register, the
retention schedule with receipts and confirmations, and the access-log chain check.

The officer only reads. The child is looked up by a POSTed PESEL or name (never in a URL); the
answer's URL names the school and the pupil by id. A school the officer does not serve — another
city's — is a 404 like any other tenant's object (`tenants.tenancy.officer`). Every page showing a
pupil writes the officer's access-log row (reports.dpo.answers).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.security import current_actor
from portal.security import current_membership
from reports.dpo import answers
from reports.dpo import registers
from reports.tables import Table
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.privacy import breaches
from tenants.privacy import processing_records
from tenants.tenancy import officer
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import Role

bp = Blueprint("dpo", __name__, url_prefix="/iod")
guard_blueprint(bp, Role.DATA_PROTECTION_OFFICER)  # every route; the officer reads only (docs/dpo.md)
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _organisation() -> Organisation:
    return current_membership().organisation


def _period():
    """The period of the query string (od, do as dd.mm.rrrr), or the Polish error."""
    try:
        return answers.parse_period(request.args.get("od"), request.args.get("do")), None
    except OperationError as err:
        return None, str(err)


def _format() -> str | None:
    fmt = request.args.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        abort(404)
    return fmt


def _download(table: Table, fmt: str, name: str) -> Response:
    stamp = clock.now()
    if fmt == "csv":
        body = to_csv(table)
    else:
        body = to_xlsx(table, generated=f"Pobrano z Legitki {inputs.format_day(stamp.date())} {stamp:%H:%M}.")
    return Response(body, mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp:%Y%m%d}.{fmt}"', "Cache-Control": "no-store"})


@bp.get("/")
def index():
    return render_template("dpo/index.html", schools=officer.served_schools(_organisation()))


@bp.route("/uczen", methods=["GET", "POST"])
def find_pupil():
    """The search form; the PESEL or name comes in the POST body only and is never echoed back."""
    if request.method == "GET":
        return render_template("dpo/find.html", hits=None)
    try:
        hits = answers.find_pupils(current_actor(), _organisation(), pesel=request.form.get("pesel", ""),
                                   name=request.form.get("name", ""))
    except OperationError as err:
        return render_template("dpo/find.html", hits=None, error=str(err)), 422
    actions.commit()  # the officer's search rows
    return render_template("dpo/find.html", hits=hits, limited=len(hits) >= answers.MAX_HITS)


@bp.get("/szkola/<int:school_id>/uczen/<int:pupil_id>")
def who_saw(school_id: int, pupil_id: int):
    """Who saw the pupil's data in the period; `?format=csv|xlsx` downloads the same rows."""
    officer.served_school(_organisation(), school_id)  # 404 before anything else for another city's school
    fmt = _format()
    period, error = _period()
    if error:
        return render_template("dpo/who_saw.html", seen=None, error=error, school_id=school_id,
                               pupil_id=pupil_id), 422
    seen = answers.who_saw(current_actor(), _organisation(), school_id, pupil_id, period,
                           action="dpo_access_export" if fmt else "dpo_access_report")
    actions.commit()  # the officer's own row
    if fmt:
        return _download(seen.table, fmt, f"iod-kto-widzial-{school_id}-{pupil_id}")
    return render_template("dpo/who_saw.html", seen=seen, school_id=school_id, pupil_id=pupil_id)


def _printers(organisation: Organisation) -> list[Organisation]:
    """The printers the officer's city offers its schools (the choice on the form)."""
    city_id = organisation.id if organisation.kind == OrgKind.CITY.value else organisation.city_id
    ids = db.session.scalars(select(CityPrinter.printer_id).where(CityPrinter.city_id == city_id)).all()
    if not ids:
        return []
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)))


@bp.get("/drukarnie")
def printer_data():
    """Whose data printer P received in the period (`?drukarnia=<id>&od=&do=`); `format` downloads."""
    printers = _printers(_organisation())
    chosen = request.args.get("drukarnia")
    if not chosen:
        return render_template("dpo/printer.html", printers=printers, table=None, chosen=None)
    try:
        printer_id = inputs.ident(chosen)
    except inputs.Refused:
        printer_id = None
    if printer_id is None:
        return render_template("dpo/printer.html", printers=printers, table=None, chosen=None,
                               error="Wybierz drukarnię z listy."), 422
    fmt = _format()
    period, error = _period()
    if error:
        return render_template("dpo/printer.html", printers=printers, table=None, chosen=printer_id, error=error), 422
    table = answers.sent_to_printer(current_actor(), _organisation(), printer_id, period,
                                    action="dpo_printer_export" if fmt else "dpo_printer_report")
    actions.commit()  # the officer's rows, one per pupil shown
    if fmt:
        return _download(table, fmt, f"iod-drukarnia-{printer_id}")
    return render_template("dpo/printer.html", printers=printers, table=table, chosen=printer_id, period=period)


@bp.get("/umowy")
def agreements():
    rows, warnings = registers.agreements(_organisation())
    return render_template("dpo/agreements.html", rows=rows, warnings=warnings,
                           warning_days=registers.EXPIRY_WARNING_DAYS)


@bp.get("/retencja")
def retention():
    return render_template("dpo/retention.html", schedule=registers.SCHEDULE,
                           rows=registers.retention(_organisation()), today=clock.today())


@bp.route("/dziennik", methods=["GET", "POST"])
def chain_check():
    """The access-log chain check of the served schools; POST runs it (read only)."""
    results = registers.verify_chains(_organisation()) if request.method == "POST" else None
    return render_template("dpo/chains.html", results=results)


@bp.get("/naruszenia")
def breach_registers():
    """Every served school's breach register with its 72-hour clocks (docs/privacy-registers.md)."""
    return render_template("dpo/breaches.html", found=registers.breach_registers(_organisation()),
                           describe=breaches.describe, decisions=breaches.DECISIONS)


@bp.get("/szkola/<int:school_id>/naruszenia/<int:breach_id>")
def breach(school_id: int, breach_id: int):
    found, history = registers.school_breach(_organisation(), school_id, breach_id)
    return render_template("dpo/breach.html", b=found, e=found.entry, history=history,
                           standing=breaches.describe(found.entry.standing), decisions=breaches.DECISIONS,
                           as_text=breaches.as_text)


@bp.get("/rejestr-czynnosci")
def processing_records_index():
    """The served schools, each with its records of processing activities (GDPR art. 30)."""
    return render_template("dpo/processing_records.html", schools=officer.served_schools(_organisation()))


@bp.get("/szkola/<int:school_id>/rejestr-czynnosci")
def processing_record(school_id: int):
    record = registers.processing_record(_organisation(), school_id)
    if request.args.get("format") == "pdf":
        return Response(processing_records.record_pdf(record), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="rejestr-czynnosci-{school_id}.pdf"',
            "Cache-Control": "no-store, private"})
    return render_template("dpo/processing_record.html", r=record)
