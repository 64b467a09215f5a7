"""City officials: centralisation scenarios (reports.scenarios, docs/city.md "Scenariusze
centralizacji"): this school year's real orders against one city-wide order (or a few) at each
external printer and the city print centre at its real cost. The assumptions come in the query
string (a GET form): a bad one is answered 422 with a Polish message, the defaults shown."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _
from markupsafe import Markup
from markupsafe import escape

from infra import clock
from infra import inputs
from portal import downloads
from portal.access import guard_blueprint
from portal.city.costs import cell
from portal.security import current_membership
from reports import scenario_tables
from reports import scenarios
from reports.filters import school_year_period
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Role

bp = Blueprint("city_scenarios", __name__, url_prefix="/miasto/koszty/scenariusze")
guard_blueprint(bp, Role.CITY_OFFICIAL)

MAX_LEAD_DAYS = 365


def _int(name: str, label: str, low: int, high: int) -> int | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return inputs.whole(text, low=low, high=high)
    except inputs.Refused:
        raise OperationError(_("%(label)s: podaj liczbę całkowitą od %(low)s do %(high)s.",
                               label=label, low=low, high=high)) from None


def _dates(text: str, start_year: int) -> tuple[dt.date, ...]:
    """The city's own pooled days: dd.mm.rrrr separated by commas, spaces or semicolons, each in
    the school year, at most MAX_DATES, none twice."""
    first, last = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if len(parts) > scenarios.MAX_DATES:
        raise OperationError(_("Daty zamówień zbiorczych: najwyżej %(n)s dat.", n=scenarios.MAX_DATES))
    days = []
    for part in parts:
        try:
            day = inputs.day(part, earliest=first, latest=last)
        except inputs.Refused:
            raise OperationError(_(
                "Daty zamówień zbiorczych: „%(text)s” to nie jest data w formacie dd.mm.rrrr z roku szkolnego "
                "%(first)s–%(last)s.", text=part.strip()[:20], first=inputs.format_day(first),
                last=inputs.format_day(last))) from None
        if day in days:
            raise OperationError(_("Daty zamówień zbiorczych: data %(day)s podana dwa razy.",
                                   day=inputs.format_day(day)))
        days.append(day)
    return tuple(sorted(days))


def parse_assumptions() -> scenarios.Assumptions:
    """The form's assumptions (empty fields: the defaults); OperationError with a Polish message."""
    default_start = school_year_period(clock.today())[0].year
    start = _int("rok", _("Rok szkolny (rok rozpoczęcia)"), 2000, 2099) or default_start
    plan = (request.args.get("plan") or "2").strip()
    text = (request.args.get("daty") or "").strip()
    if plan not in scenarios.PLANS and plan != "wlasne":
        raise OperationError(_("Plan zamówień: wybierz jedną z opcji z listy."))
    if plan == "wlasne":
        dates = _dates(text, start)
        if not dates:
            raise OperationError(_("Daty zamówień zbiorczych: podaj co najmniej jedną datę (dd.mm.rrrr)."))
    else:
        dates = scenarios.plan_dates(plan, start)
    return scenarios.Assumptions(
        start_year=start, plan=plan, dates=dates,
        printer_lead_days=_int("dni_drukarni", _("Czas realizacji drukarni (dni)"), 1, MAX_LEAD_DAYS),
        centre_lead_days=_int("dni_centrum", _("Czas realizacji centrum druku (dni)"), 0, MAX_LEAD_DAYS))


def _form_values(a: scenarios.Assumptions | None) -> dict:
    args = request.args
    if a is None:
        return {k: args.get(k, "") for k in ("rok", "plan", "daty", "dni_drukarni", "dni_centrum")}
    return dict(rok=str(a.start_year), plan=a.plan,
                daty=", ".join(inputs.format_day(d) for d in a.dates),
                dni_drukarni="" if a.printer_lead_days is None else str(a.printer_lead_days),
                dni_centrum="" if a.centre_lead_days is None else str(a.centre_lead_days))


@bp.get("/")
def index():
    city_id = current_membership().organisation_id
    try:
        a = parse_assumptions()
    except OperationError as err:
        return render_template("city/scenarios.html", error=str(err), result=None, form=_form_values(None),
                               plans=scenarios.PLANS, cell=cell), 422
    result = scenarios.city_comparison(city_id, a)
    return render_template("city/scenarios.html", error=None, result=result, a=a, form=_form_values(a),
                           plans=scenarios.PLANS, cell=cell, days=_days, schools=_school_rows(result),
                           args=request.args.to_dict())


@bp.get("/eksport/<key>.<fmt>")
def export(key: str, fmt: str):
    """One of the page's tables (`reports.scenario_tables.KEYS`) as CSV or XLSX, under the same
    assumptions (the same query string); a bad assumption is a 422 with the page's message."""
    if fmt not in ("csv", "xlsx") or key not in scenario_tables.TABLES:
        abort(404)
    try:
        a = parse_assumptions()
    except OperationError as err:
        return Response(str(err), status=422, mimetype="text/plain")
    membership = current_membership()
    table = scenario_tables.TABLES[key](scenarios.city_comparison(membership.organisation_id, a))
    if fmt == "csv":
        body, mimetype = to_csv(table), "text/csv; charset=utf-8"
    else:
        generated = (f"{membership.organisation.name}. Pobrano z Legitki {inputs.format_day(clock.today())}; "
                     "dane zbiorcze, bez danych osobowych uczniów.")
        body = to_xlsx(table, generated=generated)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers=downloads.attachment(f"scenariusze-{key}-{a.start_year}", fmt))


def _school_rows(result: scenarios.Comparison) -> Markup:
    """The schools' table rows as HTML: name, cards, then zł, per card and days of the status quo,
    the cheapest city-wide order (if any) and the first centre (if any); built here, once (a
    capital has ~1,400 schools, and a template loop over every cell cost more than the numbers)."""
    columns = [result.status_quo.schools]
    if result.cheapest:
        columns.append(result.cheapest.schools)
    if result.centres:
        columns.append(result.centres[0].schools)
    lookups = [{line.school_id: line for line in lines} for lines in columns]
    rows = []
    for line in result.status_quo.schools:
        row = [str(line.cards)]
        for lookup in lookups:
            other = lookup.get(line.school_id)
            row += [cell(other.total), cell(other.per_card), _days(other.lead_days)] if other else ["—"] * 3
        name = escape(result.school_names.get(line.school_id, f"#{line.school_id}"))
        rows.append(f"<tr><td>{name}</td><td class=\"num\">" + "</td><td class=\"num\">".join(row) + "</td></tr>")
    return Markup("\n".join(rows))  # noqa: S704 (the names escaped, the rest numbers we formatted)


def _days(value) -> str:
    """An average number of days as the page shows it ("12,5 dnia"; none: "—")."""
    return "—" if value is None else f"{inputs.format_number(value, 1)}{inputs.NBSP}dnia"
