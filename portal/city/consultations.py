"""City officials: consultations with the school directors (docs/city.md, *Konsultacje z
dyrektorami*). The official writes a consultation (a draft), opens it to the city's schools and
closes it; the consultation's page shows the summary of the answers, each school's answer beside
the school's numbers and the schools that have not answered, each downloadable as CSV and XLSX
(`reports.tables`, formula-safe). The council's report carries the latest opened consultation
(reports.council_report).

Every handler acts for the signed-in official's city only; another city's consultation is a 404.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from markupsafe import escape

from infra import clock
from infra import inputs
from portal import actions
from portal import downloads
from portal.access import guard_blueprint
from portal.city.report_tables import cell
from portal.security import current_actor
from portal.security import current_membership
from reports import city_data
from reports import consultations as report
from reports.filters import Filters
from reports.tables import Table
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.consultations import operations
from tenants.consultations import queries
from tenants.consultations import questions
from tenants.tenancy.models import Role

bp = Blueprint("city_consultations", __name__, url_prefix="/miasto/konsultacje")
guard_blueprint(bp, Role.CITY_OFFICIAL)


def _city():
    return current_membership().organisation


def rows(table: Table, *, missing_column: int | None = None) -> Markup:
    """A table's rows as HTML, built once in Python (a Jinja loop per cell costs more than the
    page's SQL); every value escaped. A row whose `missing_column` says "nie" is highlighted."""
    out = []
    numeric = [any(isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in table.rows)
               and all(r[i] is None or isinstance(r[i], int | float) for r in table.rows)
               for i in range(len(table.columns))]
    done: dict = {}  # each distinct (column kind, value) written once: types, "—", "tak"/"nie" repeat

    def td(number: bool, v) -> str:
        key = (number, type(v), v)
        if key not in done:
            done[key] = f'<td class="num">{escape(cell(v))}</td>' if number else f"<td>{escape(cell(v))}</td>"
        return done[key]

    for row in table.rows:
        behind = missing_column is not None and row[missing_column] == "nie"
        cells = "".join(td(numeric[i] or (isinstance(v, int | float) and not isinstance(v, bool)), v)
                        for i, v in enumerate(row))
        out.append(f'<tr class="row-behind">{cells}</tr>' if behind else f"<tr>{cells}</tr>")
    return Markup("\n".join(out))  # noqa: S704 (every value escaped above)


def _render(template: str, error: str | None = None, status: int = 200, **context):
    return render_template(template, city=_city(), f=Filters.default(), endpoint="city_consultations.index",
                           error=error, q=questions, states=report.STATES, cell=cell, rows=rows, **context), \
        (422 if error else status)


@bp.route("/", methods=["GET", "POST"])
def index():
    """The city's consultations and the form of a new one (saved as a draft)."""
    city = _city()

    def page(error=None, form=None):
        return _render("city/consultations.html", error, consultations=queries.city_consultations(city.id),
                       form=form or {})

    if request.method == "GET":
        return page()
    return actions.run(lambda: operations.save(city.id, current_actor(), request.form),
                       refused=lambda err: page(str(err), request.form),
                       success=_("Zapisano konsultację w przygotowaniu. Sprawdź ją i otwórz dla szkół."),
                       then=lambda saved: url_for("city_consultations.show", consultation_id=saved.id))


def _result(consultation):
    return report.result(_city().id, consultation)


@bp.route("/<int:consultation_id>", methods=["GET", "POST"])
def show(consultation_id: int):
    """The consultation: its state and the answers; POST saves a draft's changes (or an open
    one's deadline)."""
    city = _city()
    consultation = queries.city_consultation(city.id, consultation_id)

    def page(error=None, form=None):
        r = _result(consultation)
        return _render("city/consultation.html", error, c=consultation, r=r, summary=report.summary_table(r),
                       answers=report.answers_table(r), missing=report.missing_table(r),
                       form=form or {"title": consultation.title, "intro": consultation.intro,
                                     "extra_question": consultation.extra_question,
                                     "deadline": inputs.format_day(consultation.deadline)})

    if request.method == "GET":
        return page()
    return actions.run(lambda: operations.save(city.id, current_actor(), request.form, consultation),
                       refused=lambda err: page(str(err), request.form), success=_("Zapisano zmiany konsultacji."),
                       then=url_for("city_consultations.show", consultation_id=consultation_id))


def _change(consultation_id: int, change, message: str, then: str | None = None):
    consultation = queries.city_consultation(_city().id, consultation_id)

    def refused(err):
        r = _result(consultation)
        return _render("city/consultation.html", str(err), c=consultation, r=r, summary=report.summary_table(r),
                       answers=report.answers_table(r), missing=report.missing_table(r), form={})

    return actions.run(lambda: change(consultation), refused=refused, success=message,
                       then=then or url_for("city_consultations.show", consultation_id=consultation_id))


@bp.post("/<int:consultation_id>/otworz")
def open_(consultation_id: int):
    return _change(consultation_id, operations.open_, _("Konsultacja jest otwarta: dyrektorzy szkół widzą ją na "
                                                        "pulpicie szkoły."))


@bp.post("/<int:consultation_id>/zamknij")
def close(consultation_id: int):
    return _change(consultation_id, operations.close, _("Konsultacja została zamknięta; odpowiedzi zostają."))


@bp.post("/<int:consultation_id>/usun")
def delete(consultation_id: int):
    """Deleting a draft is asked first: without `confirm=1` the answer is a page that names the
    draft and offers "Tak, usuń" (a form: the CSP allows no inline script, docs/security.md T2.7).
    Anything but a draft goes straight to the operation, which refuses it."""
    consultation = queries.city_consultation(_city().id, consultation_id)
    if consultation.status == "draft" and request.form.get("confirm") != "1":
        return _render("city/consultation_delete.html", c=consultation)
    return _change(consultation_id, operations.delete_draft, _("Usunięto konsultację w przygotowaniu."),
                   then=url_for("city_consultations.index"))


@bp.get("/<int:consultation_id>/eksport/<key>.<fmt>")
def export(consultation_id: int, key: str, fmt: str):
    """One of the consultation's tables as CSV (UTF-8 with BOM, `;`) or XLSX; text cells never
    become formulas (infra.spreadsheets)."""
    city = _city()
    consultation = queries.city_consultation(city.id, consultation_id)
    if fmt not in ("csv", "xlsx") or key not in report.TABLES:
        abort(404)
    table = report.TABLES[key](_result(consultation))
    stamp = clock.utcnow()
    if fmt == "csv":
        body, mimetype = to_csv(table), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(table, generated=f"{city.name}; pobrano z Legitki {city_data.local_time(stamp)}.")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers=downloads.attachment(
        f"konsultacja-{consultation.id}-{downloads.CONSULTATION[key]}", fmt))
