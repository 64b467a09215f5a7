"""City officials (education department): the rollout, waiting times, money, holograms and the
coming September's demand, from anonymous statistics and order metadata only (reports.dashboard).

Every table can be downloaded as CSV and XLSX with the same filters (`/miasto/eksport/<table>.<csv|xlsx>`),
and every number links to the list behind it: the anonymous card facts (`/miasto/karty`), the
orders (`/miasto/zamowienia`) or the school's statistics (`/miasto/szkola/<id>`). No page
reaches a pupil.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from infra import clock
from infra import inputs
from infra import services
from infra.db import db
from infra.storage import NotFound
from portal import actions
from portal import downloads
from portal.access import guard_blueprint
from portal.city.report_tables import Urls
from portal.city.report_tables import block
from portal.city.report_tables import cell
from portal.converters import parse_id
from portal.formatting import local
from portal.security import current_membership
from printing import deletions
from reports import budgets
from reports import city_data
from reports import consultations
from reports import council_report as council
from reports import dashboard
from reports import listings
from reports import queries
from reports.city_data import Data
from reports.filters import FACT_STATES
from reports.filters import FactQuery
from reports.filters import FilterError
from reports.filters import Filters
from reports.filters import parse_fact_query
from reports.filters import parse_filters
from reports.labels import OWN_PRINTERS
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.consultations import questions
from tenants.registry import school_year as years
from tenants.tenancy.models import Role
from tenants.tenancy.models import SchoolType

log = logging.getLogger("legitka.city")
bp = Blueprint("city", __name__, url_prefix="/miasto")

CITY = (Role.CITY_OFFICIAL,)
guard_blueprint(bp, *CITY)  # every route; narrower ones add require_roles
FACTS_PER_PAGE = 100  # rows of the card list per page; the downloads hold them all


# --- the filters every page shares -----------------------------------------------------------


@bp.context_processor
def _helpers():
    return {"cell": cell, "school_types": [t.value for t in SchoolType],
            "costs_endpoint": "city_costs.index" if "city_costs.index" in current_app.view_functions else None}


def _city():
    return current_membership().organisation


def _filters() -> tuple[Filters, str | None]:
    """The request's filters, or the defaults and a Polish message when they cannot apply."""
    try:
        return parse_filters(request.args), None
    except FilterError as err:
        return Filters.default(), str(err)


def _fact_query() -> tuple[FactQuery, str | None]:
    try:
        return parse_fact_query(request.args), None
    except FilterError as err:
        return FactQuery(), str(err)


def _page(template: str, *, error: str | None, f: Filters, data: Data, **context):
    """`data`: what the page has read of the city (reports.city_data), reused, not read again."""
    oldest, newest, missing = city_data.computed_range(data)
    stamp = {"oldest": city_data.local_time(oldest), "newest": city_data.local_time(newest), "missing": missing}
    return render_template(template, city=_city(), error=error, f=f, districts=city_data.districts(data),
                           stamp=stamp, **context), (422 if error else 200)


# --- pages ----------------------------------------------------------------------------------------


@bp.get("/")
def overview():
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    target = budgets.current_target(data.budgets, f.today)
    rollout = dashboard.rollout(city.id, f, data, target)
    months = dashboard.cost_by_month(city.id, f, data)
    channels = dashboard.cost_by_channel(city.id, f, data)
    tiles = dashboard.overview(city.id, f, data, rollout_listing=rollout,
                               budget=dashboard.budget_table(city.id, f, data))
    orders, mismatches = queries.city_orders(city.id, limit=20), queries.city_invoice_mismatches(city.id)
    return _page("city/overview.html", error=error, f=f, data=data, tiles=tiles,
                 target=target, upcoming=budgets.next_target(data.budgets, f.today),
                 live=block(listings.orders_by_school(city.id, f, data), f),
                 charts=[dashboard.rollout_chart(rollout), dashboard.channel_chart(channels),
                         dashboard.month_chart(months)],
                 holograms=block(dashboard.hologram_table(city.id, f, data), f, strong=(5,)),
                 orders=orders, mismatches=mismatches, receipts=queries.city_deletion_receipts(city.id, limit=20),
                 missing_deletions=deletions.missing(clock.today()), deletion_confirmations=deletions.recent(20),
                 schools={s.id: s.name for s in data.all_schools},
                 printers=city_data.printer_names(o.printer_id for o in orders + mismatches))


def _section(title: str, intro: str, blocks: list[dict], f: Filters, error: str | None, endpoint: str,
             data: Data):
    return _page("city/section.html", error=error, f=f, data=data, title=title, intro=intro, blocks=blocks,
                 endpoint=endpoint)


@bp.get("/wdrozenie")
def rollout():
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    target = budgets.current_target(data.budgets, f.today)
    listing = dashboard.rollout(city.id, f, data, target)
    urls = Urls(f)  # one page's links, each built once for its three tables
    intro = (_("Stan szkół w chwili ostatniego przeliczenia statystyk (kolumna „Stan na”). Wiersze wyróżnione: "
               "szkoły za planem — mniej niż %(p)s uczniów z ważną legitymacją (e-legitymacją lub papierową) "
               "po %(d)s.",
               p=inputs.format_percent(target.target_percent, 0),
               d=inputs.format_day(target.target_date)) if target else
             _("Stan szkół w chwili ostatniego przeliczenia statystyk (kolumna „Stan na”). Cel wdrożenia (odsetek "
               "uczniów z ważną legitymacją do wskazanej daty) wpisuje się przy budżecie."))
    return _section(_("Wdrożenie w szkołach"), intro, [
        block(listing, f, chart=dashboard.rollout_chart(listing), urls=urls),
        block(dashboard.forecast_table(city.id, f, data), f, urls=urls),
        block(dashboard.forecast_check(city.id, f, data), f, urls=urls)],
        f, error, "city.rollout", data)


@bp.get("/czas-oczekiwania")
def lead_times():
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    schools = dashboard.lead_by_school(city.id, f, data)
    printers = dashboard.lead_by_printer(city.id, f, data)
    return _section(_("Czas oczekiwania i terminowość"), _(
        "Ile dni mija od wniosku do wydania legitymacji uczniowi i czy drukarnie dotrzymują obiecanego czasu "
        "realizacji."), [block(schools, f, chart=dashboard.lead_chart(schools)),
                         block(printers, f, chart=dashboard.printer_chart(printers))], f, error, "city.lead_times",
                        data)


@bp.get("/wydatki")
def money():
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    channels = dashboard.cost_by_channel(city.id, f, data)
    months = dashboard.cost_by_month(city.id, f, data)
    return _section(_("Wydatki i koszt legitymacji"), _(
        "Koszt dla miasta to to, co miasto naprawdę płaci: faktury drukarń zewnętrznych (cena kart, dopłata "
        "sezonowa, wysyłka), a w centrum druku i we własnych drukarkach szkół koszt zmienny karty (blankiet, "
        "hologram, taśma, praca) i koszty stałe roku (drukarka, licencja, zestaw startowy). Obok — cena "
        "z zamówień (dla centrum: jego cennik wewnętrzny). Budżet roczny i cel wdrożenia wpisuje się na stronie "
        "budżetu."), [
        block(channels, f, chart=dashboard.channel_chart(channels)),
        block(dashboard.cost_by_school(city.id, f, data), f),
        block(months, f, chart=dashboard.month_chart(months)),
        block(dashboard.budget_table(city.id, f, data), f)], f, error, "city.money", data)


@bp.get("/hologramy")
def holograms():
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    return _section(_("Hologramy i blankiety"), _(
        "Druki ścisłego zarachowania: hologramy z ewidencji szkół (lata szkolne okresu) oraz blankiety zużyte na "
        "dostarczone i zepsute karty."), [block(dashboard.hologram_table(city.id, f, data), f)], f, error,
        "city.holograms", data)


@bp.get("/karty")
def facts():
    """The card facts behind a number, FACTS_PER_PAGE at a time (`strona`); downloads hold all."""
    city = _city()
    f, error = _filters()
    q, query_error = _fact_query()
    error = error or query_error
    data = city_data.load(city.id, f)
    schools = {s.id: s.name for s in data.all_schools}
    if q.school_id is not None and q.school_id not in schools:
        abort(404)
    total = listings.fact_count(city.id, f, q)
    pages = max(1, -(-total // FACTS_PER_PAGE))
    page = min(inputs.whole_or_none(request.args.get("strona"), low=1, high=10**9) or 1, pages)  # past the end: last
    listing = listings.fact_list(city.id, f, q, limit=FACTS_PER_PAGE, offset=(page - 1) * FACTS_PER_PAGE, data=data)
    printer = OWN_PRINTERS if q.printer == "wlasna" else (
        city_data.city_printer_name(city.id, int(q.printer)) if q.printer else "")
    args = {**f.args(), **q.args()}
    pager = {"page": page, "pages": pages, "total": total, "first": (page - 1) * FACTS_PER_PAGE + 1 if total else 0,
             "last": min(total, page * FACTS_PER_PAGE),
             "previous": url_for("city.facts", **args, strona=page - 1) if page > 1 else None,
             "next": url_for("city.facts", **args, strona=page + 1) if page < pages else None}
    return _page("city/facts.html", error=error, f=f, data=data, q=q, school_name=schools.get(q.school_id, ""),
                 printer_name=printer, state_label=FACT_STATES.get(q.state, ""),
                 table=block(listing, f, query=q.args()), pager=pager, endpoint="city.facts", extra=q.args())


@bp.get("/zamowienia")
def orders():
    city = _city()
    f, error = _filters()
    school = (request.args.get("szkola") or "").strip()
    data = city_data.load(city.id, f)
    schools = {s.id: s.name for s in data.all_schools}
    school_id = parse_id(school)
    if school and school_id not in schools:
        abort(404)
    listing = listings.order_list(city.id, f, school_id, data)
    query = {"szkola": str(school_id)} if school_id else {}
    return _page("city/orders.html", error=error, f=f, data=data, school_name=schools.get(school_id, ""),
                 table=block(listing, f, query=query), endpoint="city.orders", extra=query, schools=schools,
                 missing_deletions=deletions.missing(clock.today()), deletion_confirmations=deletions.recent(20))


@bp.get("/szkola/<int:school_id>")
def school(school_id: int):
    city = _city()
    f, error = _filters()
    data = city_data.load(city.id, f)
    match = [s for s in data.all_schools if s.id == school_id]
    if not match:
        abort(404)
    stats = city_data.school_stats(city.id, school_id)
    return _page("city/school.html", error=error, f=f, data=data, school=match[0], stats=stats,
                 coverage=dashboard.coverage(stats), computed=city_data.local_time(stats.computed_at) if stats else "",
                 consultations=consultations.school_answers(city.id, school_id), questions=questions,
                 problems_label=consultations.problems_label, endpoint="city.school")


@bp.route("/budzet", methods=["GET", "POST"])
def budget():
    """The city's yearly budget for school ID cards and its rollout target."""
    city = _city()
    f = Filters.default()

    def page(error: str | None = None, form=None):
        data = city_data.load(city.id, f)
        if form is None:  # the saved budget of the year asked for (?year=, else this year), ready to change
            year = inputs.whole_or_none(request.args.get("year"), low=2020, high=2100) or clock.today().year
            form = budgets.form_values(data.budgets, year)
        return _page("city/budget.html", error=error, f=f, data=data, form=form, today=clock.today(),
                     saved_years=sorted(b.year for b in data.budgets),
                     table=block(dashboard.budget_table(city.id, f, data), f), endpoint="city.budget")

    if request.method == "GET":
        return page()
    return actions.run(lambda: budgets.save_budget(city.id, request.form),
                       refused=lambda err: page(str(err), request.form),
                       success=lambda saved: _("Zapisano budżet na rok %(year)s.", year=saved.year),
                       then=url_for("city.budget"))


@bp.route("/ustawienia", methods=["GET", "POST"])
def settings():
    """The city's settings: from which day cards are issued for the coming school year
    (docs/domain.md §4); empty means the day after classes end."""
    city = _city()
    f = Filters.default()

    def page(error: str | None = None, form=None):
        today = clock.today()
        setting = city.school_year_cutover or ""
        return _page("city/settings.html", error=error, f=f, data=city_data.load(city.id, f), endpoint="city.settings",
                     form=form or {years.FORM_FIELD: years.format_setting(setting)},
                     effective=inputs.format_day(years.cutover(today.year, setting)),
                     default=inputs.format_day(years.cutover(today.year)), year=today.year)

    if request.method == "GET":
        return page()
    return actions.run(lambda: years.save_city_setting(city.id, request.form),
                       refused=lambda err: page(str(err), request.form),
                       success=_("Zapisano ustawienia miasta."), then=url_for("city.settings"))


@bp.get("/eksport/<key>.<fmt>")
def export(key: str, fmt: str):
    """One table as CSV (UTF-8 with BOM, `;`) or XLSX, with the filters of the page it came from."""
    if fmt not in ("csv", "xlsx") or key not in dashboard.TABLES:
        abort(404)
    city = _city()
    try:
        f = parse_filters(request.args)
        q = parse_fact_query(request.args)
    except FilterError as err:
        return Response(str(err), status=422, mimetype="text/plain")
    listing = dashboard.table(key, city.id, f, q)
    stamp = clock.utcnow()
    if fmt == "csv":
        body, mimetype = to_csv(listing.table), "text/csv; charset=utf-8"
    else:
        generated = (f"{city.name}; {f.describe()}. Pobrano z Legitki {city_data.local_time(stamp)}; "
                     f"dane zbiorcze, bez danych osobowych uczniów.")
        body = to_xlsx(listing.table, generated=generated)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers=downloads.attachment(downloads.DASHBOARD[key], fmt))


@bp.route("/raporty", methods=["GET", "POST"])
def council_reports():
    """The council's PDF reports (reports.council_report): POST asks for one with the dashboard's
    filters, built by a job; GET lists the city's reports, refreshing while one is being made."""
    city = _city()
    if request.method == "POST":
        try:
            f = parse_filters(request.form)
        except FilterError as err:
            return _reports_page(str(err))

        def then(report):
            _send_and_say(report, f.describe())
            return url_for("city.council_reports")

        return actions.run(lambda: council.request_report(city.id, current_user.id, f), then=then)
    return _reports_page(None)


def _send_and_say(report, period: str) -> None:
    """Send the committed report's job and say where it stands. With the queue down it stays
    queued (the worker's reconciler sends it once Redis is back): said so, never a 500."""
    report_id = report.id
    if not council.send(report):
        flash(_("Raport dla Rady Miasta (%(period)s) został zlecony i czeka w kolejce; zostanie przygotowany, gdy "
                "tylko serwer zadań będzie dostępny.", period=period), "success")
        return
    db.session.expire_all()  # with the embedded default the job has already run, in this request
    built = council.report_of(_city().id, report_id)
    if built is not None and built.status == "ready":
        flash(_("Raport dla Rady Miasta (%(period)s) jest gotowy do pobrania.", period=period), "success")
    else:
        flash(_("Raport dla Rady Miasta (%(period)s) jest przygotowywany; pojawi się poniżej do pobrania.",
                period=period), "success")


@bp.post("/raporty/<int:report_id>/ponow")
def council_report_again(report_id: int):
    """"Ponów": a failed report asked for again with the same filters (the failed one goes)."""
    city = _city()
    failed = council.report_of(city.id, report_id)
    if failed is None:
        abort(404)
    period = council.filters_of(failed).describe()

    def then(again):
        if again is None:
            flash(_("Ten raport nie wymaga ponowienia."), "error")
        else:
            _send_and_say(again, period)
        return url_for("city.council_reports")

    return actions.run(lambda: council.request_again(failed, current_user.id), then=then)


def _reports_page(error: str | None):
    city = _city()
    reports = [(r, council.status(r), council.filters_of(r).describe()) for r in council.reports_of(city.id)]
    f = Filters.default()
    return _page("city/reports.html", error=error, f=f, data=city_data.load(city.id, f), reports=reports,
                 keep=council.KEEP, waiting=any(state in council.ACTIVE for _r, state, _d in reports),
                 endpoint="city.council_reports")


@bp.get("/raporty/<int:report_id>.pdf")
def council_report_file(report_id: int):
    """A finished report (the city's own: another city's is 404, as is one not ready)."""
    report = council.report_of(_city().id, report_id)
    if report is None or report.status != "ready" or not report.file_key:
        abort(404)
    try:
        pdf = services.storage().get(report.file_key)
    except NotFound:  # the file is gone from storage (deleted by hand, a restored database): ask again
        log.warning("council report %s: file missing from storage", report.id)
        abort(404)
    made = local(report.finished_at or report.requested_at).date()  # the report's own day, not the download's
    return Response(pdf, mimetype="application/pdf", headers=downloads.attachment(f"raport-dla-rady-{report.id}",
                                                                                    "pdf", made))
