"""City officials: the cost model (reports.costs). Channels side by side for a school and a
volume with the break-even volume of an in-house printer, 'what if' every school had used one
channel in a year, and the city print centre's own cost profile. Every table downloads as CSV
and XLSX with the numbers the page shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from infra import clock
from infra import inputs
from portal import actions
from portal import downloads
from portal.access import guard_blueprint
from portal.converters import parse_id
from portal.formatting import date_pl
from portal.security import current_actor
from portal.security import current_membership
from printing import pricing
from printing import terms
from reports import break_even
from reports import charts
from reports import cost_tables
from reports import costs
from reports import queries
from reports import real_cost
from reports.tables import Table
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Role

bp = Blueprint("city_costs", __name__, url_prefix="/miasto/koszty")

OFFICIAL = (Role.CITY_OFFICIAL,)
guard_blueprint(bp, *OFFICIAL)  # every route; narrower ones add require_roles
MAX_VOLUME = 1_000_000
FALLBACK_VOLUME = 100  # a school with no orders yet: a first class or two
CENTRE_VOLUMES = (500, 1000, 2000, 5000, 10000)
REFERENCE_VOLUMES = (25, 50, 100, 200, 500, 1000, 2000)
REFERENCE_FIELDS = ("model", "purchase_price", "amortisation_years", "licence_per_year", "starter_kit_price",
                    "blank_price", "hologram_price", "ribbon_price", "ribbon_yield", "staff_minutes_per_card",
                    "hourly_rate", "spoilage_percent", "lead_time_days")


def _city_id() -> int:
    return current_membership().organisation_id


def cell(value) -> str:
    """A table cell as the page shows it: amounts with a decimal comma, dates dd.mm.rrrr."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return inputs.format_amount(value)
    if isinstance(value, dt.date):
        return date_pl(value)
    if isinstance(value, int) and not isinstance(value, bool):  # card counts: "10 000" (no year column here)
        return inputs.format_number(value)
    return str(value)


# --- parsing query strings --------------------------------------------------------------------


def _int(name: str, label: str, low: int, high: int, default: int | None) -> int | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return default
    try:
        return inputs.whole(text, low=low, high=high)
    except inputs.Refused:
        raise OperationError(_("%(label)s: podaj liczbę całkowitą od %(low)s do %(high)s.",
                               label=label, low=low, high=high)) from None


def _id(name: str, message: str) -> int | None:
    """A row id chosen from a list (None if not sent). A value that is no id gets `message` ("Wybierz
    szkołę z listy."): the person picked from a list, so the id's range means nothing to them."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    value = parse_id(text)
    if value is None:
        raise OperationError(message)
    return value


def _year() -> int:
    return _int("year", _("Rok"), 2000, 2100, clock.today().year)


def _day() -> dt.date:
    text = (request.args.get("date") or "").strip()
    if not text:
        return clock.today()
    try:
        day = terms.parse_date(text, _("Data zamówienia"))
    except OperationError:
        raise OperationError(_("Data zamówienia: podaj datę w formacie dd.mm.rrrr.")) from None
    if not 2000 <= day.year <= 2100:
        raise OperationError(_("Data zamówienia: podaj datę w formacie dd.mm.rrrr."))
    return day


def _channels_request():
    """The comparison the query asks for: school (default the first), volume (default the
    school's actual cards that year), orders (default its actual number), date (default today)."""
    city_id = _city_id()
    schools = queries.city_schools(city_id)
    school_id = _id("school_id", _("Wybierz szkołę z listy."))
    if school_id is None and schools:
        school_id = schools[0].id
    school = costs.city_school(city_id, school_id)
    if school_id is not None and school is None:
        abort(404)  # not one of this city's schools: as if it did not exist
    day = _day()
    volume = orders = None
    actual = (0, 0)
    if school is not None:
        actual = costs.school_year_volume(city_id, school.id, day.year)
        default_volume = actual[0] or costs.school_year_volume(city_id, school.id, day.year - 1)[0] or FALLBACK_VOLUME
        volume = _int("volume", _("Liczba kart w roku"), 1, MAX_VOLUME, default_volume)
        orders = _int("orders", _("Liczba zamówień w roku"), 1, 1000, max(actual[1], 1))
    return dict(schools=schools, school=school, day=day, volume=volume, orders=orders, actual=actual)


def _channels_table(params: dict, options=None) -> tuple[costs.ChannelComparison | None, Table | None]:
    if params["school"] is None:
        return None, None
    cmp = costs.channel_costs(_city_id(), params["school"], params["volume"], params["day"], params["orders"],
                              options=options)
    return cmp, cost_tables.comparison_table(cmp)


def _break_even(params: dict, options=None) -> break_even.Curve | None:
    """The school's own printer (or the city's reference printer) against the cheapest external
    printer for the school's order pattern (reports.break_even); `options` when already read."""
    school = params["school"]
    if school is None:
        return None
    city_id, day = _city_id(), params["day"]
    own = costs.own_profiles(city_id).get(school.id)
    profile, name = (own[1], f"{own[0] or 'drukarka szkoły'} (drukarka szkoły)") if own else \
        costs.reference_printer(city_id)
    fallback = [(q, day) for q in costs.split_orders(params["volume"], params["orders"])]
    pattern, note = break_even.school_pattern(city_id, school.id, day.year, fallback)
    return break_even.curve(profile, name, costs.channel_options(city_id) if options is None else options, pattern,
                            day.year, actual=params["volume"], pattern_note=note)


def _what_if_request():
    city_id = _city_id()
    year = _year()
    options = costs.channel_options(city_id)
    # By default the first channel that is a cost to the city (not the centre's internal price list).
    default = next((o for o in options if not costs.internal_price(o)), options[0] if options else None)
    key = request.args.get("channel") or (default.key if default else "")
    option = next((o for o in options if o.key == key), None)
    if key and option is None:
        raise OperationError(_("Wybierz kanał z listy."))
    return dict(year=year, options=options, channel=key)


def _centre_table(centre, profile, year: int) -> tuple[Table, int]:
    """The centre's cost per card at this year's volume and at round volumes."""
    city_id = _city_id()
    actual = sum(f.quantity for f in costs.order_facts(city_id, year) if f.printer_id == centre.id)
    data = pricing.profile_of(profile)
    volumes = sorted({v for v in (actual, *CENTRE_VOLUMES) if v > 0})
    rows = []
    for volume in volumes:
        b = costs.in_house_cost(data, volume, year)
        rows.append((volume, "tak" if volume == actual else "", b.marginal, b.fixed, b.total, b.per_card))
    table = Table(key="centrum", title=f"{centre.name}: koszt karty zależnie od liczby kart w roku {year}",
                  columns=("Karty w roku", "Tegoroczny wolumen", "Koszt zmienny na kartę (zł)",
                           "Koszty stałe w roku (zł)", "Koszt roczny (zł)", "Za kartę (zł)"),
                  rows=tuple(rows), note="Koszt na kartę = (koszt zmienny × karty + koszty stałe) ÷ karty.")
    return table, actual


# --- pages ------------------------------------------------------------------------------------


def _export_links(table: Table, **args) -> dict:
    return {fmt: url_for("city_costs.export", key=table.key, fmt=fmt, **args) for fmt in ("csv", "xlsx")}


@bp.get("/")
def index():
    city_id = _city_id()
    try:
        year = _year()
    except OperationError as err:
        return _error_page("city/costs.html", str(err), year=clock.today().year, summary=None, results=[])
    results = costs.what_if_all(city_id, year)
    summary = cost_tables.what_if_summary_table(results, year)
    return render_template("city/costs.html", year=year, summary=summary, results=results, cell=cell,
                           links=_export_links(summary, year=year), centres=terms.city_print_centres(city_id),
                           income_note=costs.INCOME_NOTE)


def _error_page(template: str, error: str, **context):
    return render_template(template, error=error, cell=cell, **context), 422


@bp.get("/kanaly")
def channels():
    try:
        params = _channels_request()
    except OperationError as err:
        return _error_page("city/costs_channels.html", str(err), schools=queries.city_schools(_city_id()),
                           school=None, comparison=None, table=None, params={})
    options = costs.channel_options(_city_id()) if params["school"] is not None else None
    cmp, table = _channels_table(params, options)
    curve = _break_even(params, options)
    curve_table = break_even.table(curve) if curve else None
    args = {}
    if params["school"] is not None:
        args = dict(school_id=params["school"].id, volume=params["volume"], orders=params["orders"],
                    date=inputs.format_day(params["day"]))
    return render_template("city/costs_channels.html", schools=params["schools"], school=params["school"],
                           comparison=cmp, table=table, params=params, args=args, cell=cell,
                           links=_export_links(table, **args) if table else {}, income_note=costs.INCOME_NOTE,
                           curve=curve, curve_table=curve_table,
                           curve_links=_export_links(curve_table, **args) if curve_table else {},
                           chart=break_even_chart(curve) if curve else None)


def break_even_chart(curve: break_even.Curve):
    """Yearly cost of the own printer and of the cheapest external printer by volume (SVG)."""
    points = [p for p in curve.points if p.external is not None]
    return charts.line_chart(_("Koszt roczny: własna drukarka i najtańsza drukarnia zewnętrzna"),
                             [str(p.volume) for p in points], [p.in_house for p in points], unit="zł",
                             series=[(_("drukarnia zewnętrzna"), [p.external for p in points])],
                             name=_("własna drukarka"), height=260)


@bp.get("/co-jesli")
def what_if():
    try:
        params = _what_if_request()
    except OperationError as err:
        return _error_page("city/costs_what_if.html", str(err), options=costs.channel_options(_city_id()),
                           year=clock.today().year, channel="", result=None, table=None)
    result = costs.what_if(_city_id(), params["year"], params["channel"]) if params["channel"] else None
    table = cost_tables.what_if_table(result) if result else None
    return render_template("city/costs_what_if.html", options=params["options"], year=params["year"],
                           channel=params["channel"], result=result, table=table, cell=cell,
                           links=_export_links(table, year=params["year"], channel=params["channel"]) if table else {},
                           income_note=costs.INCOME_NOTE,
                           internal=bool(result) and costs.internal_price(result.option))


def _centre_page(*, error: str | None = None, status: int = 200, form=None, centre_id: int | None = None):
    city_id = _city_id()
    centres = terms.city_print_centres(city_id)
    centre = next((c for c in centres if c.id == centre_id), centres[0] if centres else None)
    profile = terms.centre_cost_profile(city_id, centre.id) if centre else None
    year = clock.today().year
    table = links = None
    actual = 0
    if profile is not None:
        table, actual = _centre_table(centre, profile, year)
        links = _export_links(table, printer_id=centre.id)
    real_year = real_cost.in_house_year(pricing.profile_of(profile), actual, year) if profile else None
    return render_template("city/costs_centre.html", centres=centres, centre=centre, profile=profile, form=form,
                           table=table, links=links, actual=actual, year=year, cell=cell, error=error,
                           real_year=real_year,
                           marginal=pricing.marginal_per_card(pricing.profile_of(profile)) if profile else None,
                           fixed=pricing.fixed_per_year(pricing.profile_of(profile), year) if profile else None,
                           purchased_on=inputs.format_day(profile.purchased_on)
                           if profile and profile.purchased_on else ""), status


@bp.route("/centrum", methods=["GET", "POST"])
def centre():
    if request.method == "GET":
        return _centre_page(centre_id=parse_id(request.args.get("printer_id")))
    printer_id = parse_id(request.form.get("printer_id"))
    return actions.run(
        lambda: terms.save_centre_cost_profile(current_actor(), _city_id(), printer_id, request.form),
        refused=lambda err: _centre_page(error=str(err), status=422, form=request.form, centre_id=printer_id),
        success=_("Zapisano profil kosztów miejskiego centrum druku."),
        then=url_for("city_costs.centre", printer_id=printer_id))


def _reference_table() -> Table:
    """The reference printer's yearly cost and cost per card at round volumes."""
    profile, name = costs.reference_printer(_city_id())
    year = clock.today().year
    rows = []
    for volume in REFERENCE_VOLUMES:
        t = real_cost.in_house_year(profile, volume, year)
        rows.append((volume, t.real - t.fixed, t.fixed, t.real, t.per_card))
    table = Table(key="drukarka_wzorcowa", title=f"{name}: koszt karty zależnie od liczby kart w roku",
                  columns=("Karty w roku", "Koszt zmienny (zł)", "Koszty stałe w roku (zł)", "Koszt roczny (zł)",
                           "Za kartę (zł)"), rows=tuple(rows),
                  note="Koszt roczny = koszt zmienny karty × karty + koszty stałe (drukarka ÷ lata amortyzacji "
                       "+ licencja + zestaw startowy ÷ lata amortyzacji).")
    return table


def _reference_page(*, error: str | None = None, status: int = 200, form=None):
    city_id = _city_id()
    saved = terms.reference_printer(city_id)
    profile, name = costs.reference_printer(city_id)
    year = clock.today().year
    table = _reference_table()
    values = {f: cell(getattr(profile, f)) for f in REFERENCE_FIELDS}
    return render_template("city/costs_reference.html", saved=saved, values=values, name=name, form=form,
                           table=table, links=_export_links(table), cell=cell, error=error,
                           marginal=pricing.marginal_per_card(profile), fixed=pricing.fixed_per_year(profile, year),
                           default=pricing.SINGLE_PRINTER), status


@bp.route("/drukarka-wzorcowa", methods=["GET", "POST"])
def reference():
    if request.method == "GET":
        return _reference_page()
    return actions.run(
        lambda: terms.save_reference_printer(current_actor(), _city_id(), request.form),
        refused=lambda err: _reference_page(error=str(err), status=422, form=request.form),
        success=_("Zapisano drukarkę wzorcową miasta."), then=url_for("city_costs.reference"))


# --- downloads --------------------------------------------------------------------------------

_MIMETYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _table_for(key: str) -> Table | None:
    city_id = _city_id()
    if key == "kanaly":
        return _channels_table(_channels_request())[1]
    if key == "co_jesli":
        params = _what_if_request()
        result = costs.what_if(city_id, params["year"], params["channel"]) if params["channel"] else None
        return cost_tables.what_if_table(result) if result else None
    if key == "co_jesli_kanaly":
        year = _year()
        return cost_tables.what_if_summary_table(costs.what_if_all(city_id, year), year)
    if key == "drukarka_wzorcowa":
        return _reference_table()
    if key == "prog":
        curve = _break_even(_channels_request())
        return break_even.table(curve) if curve else None
    if key == "centrum":
        printer_id = _id("printer_id", _("Wybierz centrum druku z listy."))
        centre = next((c for c in terms.city_print_centres(city_id) if c.id == printer_id), None)
        profile = terms.centre_cost_profile(city_id, centre.id) if centre else None
        return _centre_table(centre, profile, clock.today().year)[0] if profile else None
    return None


@bp.get("/eksport/<key>.<fmt>")
def export(key: str, fmt: str):
    if fmt not in _MIMETYPES:
        abort(404)
    try:
        table = _table_for(key)
    except OperationError as err:
        return Response(str(err), status=422, mimetype="text/plain")
    if table is None:
        abort(404)
    generated = f"Stan na {inputs.format_day(clock.today())}."
    data = to_csv(table) if fmt == "csv" else to_xlsx(table, generated=generated)
    response = Response(data, mimetype=_MIMETYPES[fmt])
    response.headers.update(downloads.attachment(downloads.COSTS[key], fmt))
    response.headers["Cache-Control"] = "no-store"
    return response
