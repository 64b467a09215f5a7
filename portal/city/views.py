"""City officials (education department): the rollout, waiting times, money, holograms and the
coming September's demand, from anonymous statistics and order metadata only (reports.dashboard).

Every table can be downloaded as CSV and XLSX with the same filters (`/miasto/eksport/<table>.<csv|xlsx>`),
and every number links to the list behind it: the anonymous card facts (`/miasto/karty`), the
orders (`/miasto/zamowienia`) or the school's statistics (`/miasto/szkola/<id>`). No page
reaches a pupil.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from infra.db import db
from portal.access import require_roles
from portal.security import current_membership
from reports import costs
from reports import council_report as council
from reports import dashboard
from reports import queries
from reports.council_report import Section
from reports.dashboard import FilterError
from reports.dashboard import Filters
from reports.dashboard import Listing
from reports.tables import to_csv
from reports.tables import to_xlsx
from tenants.models import Role
from tenants.models import SchoolType
from tenants.operations import OperationError

bp = Blueprint("city", __name__, url_prefix="/miasto")

CITY = (Role.CITY_OFFICIAL,)
NBSP = "\u00a0"
FACTS_SHOWN = 500  # rows of the card list on the page; the downloads hold them all


# --- cells, links and the filters every page shares -----------------------------------------------


def cell(value) -> str:
    """A table value as the page shows it (exports keep the raw values)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("tak") if value else _("nie")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        return f"{value:,.2f}".replace(",", NBSP).replace(".", ",")
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def numeric_columns(listing: Listing) -> list[bool]:
    table = listing.table
    return [any(isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool) for r in table.rows)
            and all(r[i] is None or (isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool))
                    for r in table.rows) for i in range(len(table.columns))]


@bp.context_processor
def _helpers():
    return {"cell": cell, "numeric_columns": numeric_columns, "school_types": [t.value for t in SchoolType],
            "costs_endpoint": "city_costs.index" if "city_costs.index" in current_app.view_functions else None}


def _city():
    return current_membership().organisation


def _filters() -> tuple[Filters, str | None]:
    """The request's filters, or the defaults and a Polish message when they cannot apply."""
    try:
        return dashboard.parse_filters(request.args), None
    except FilterError as err:
        return Filters.default(), str(err)


def _fact_query() -> tuple[dashboard.FactQuery, str | None]:
    try:
        return dashboard.parse_fact_query(request.args), None
    except FilterError as err:
        return dashboard.FactQuery(), str(err)


def _facts(f: Filters, *, open_period: bool = False, **query) -> str:
    args = f.args()
    if open_period:
        args.update(od="", do="")
    args.update({k: str(v) for k, v in query.items() if v not in (None, "")})
    return url_for("city.facts", **args)


def _school(school_id: int, anchor: str = "") -> str:
    return url_for("city.school", school_id=school_id) + (f"#{anchor}" if anchor else "")


def _orders(f: Filters, school_id: int) -> str:
    return url_for("city.orders", **{**f.args(), "od": "", "do": "", "szkola": school_id})


def _link_rules(key: str, f: Filters) -> dict:
    """{column: (row key → url)} for the columns of table `key` that lead to a list."""
    pupils = ("Uczniowie", "Potrzebują legitymacji", "Bez zdjęcia", "Wnioski oczekujące", "Wnioski (wszystkie)",
              "Na papierowej legitymacji", "mLegitymacja", "Pokrycie (%)")
    if key == "rollout":
        rules = {c: (lambda k: _school(k["school_id"], "stan")) for c in pupils}
        rules.update({
            "Szkoła": lambda k: _school(k["school_id"]),
            "Zamówione (ważne)": lambda k: _facts(f, open_period=True, szkola=k["school_id"], stan="w_obiegu"),
            "Dostarczone": lambda k: _facts(f, open_period=True, szkola=k["school_id"], stan="dostarczone"),
            "Wydane": lambda k: _facts(f, open_period=True, szkola=k["school_id"], stan="wydane")})
        return rules
    if key == "forecast":
        return {c: (lambda k: _school(k["school_id"], "stan")) for c in (
            "Szkoła", "Nabór do pierwszej klasy (szacunek)", "Uczniowie bez legitymacji", "Prognoza kart na wrzesień")}
    if key == "lead_schools":
        return {"Szkoła": lambda k: _school(k["school_id"]),
                **{c: (lambda k: _facts(f, szkola=k["school_id"], wg="wydania")) for c in (
                    "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)")},
                "Dostawy ocenione": lambda k: _facts(f, szkola=k["school_id"], stan="ocenione"),
                "W terminie": lambda k: _facts(f, szkola=k["school_id"], stan="terminowe"),
                "W terminie (%)": lambda k: _facts(f, szkola=k["school_id"], stan="terminowe")}
    if key == "lead_printers":
        return {**{c: (lambda k: _facts(f, drukarnia=k["printer"])) for c in (
                    "Karty zamówione w okresie", "Mediana realizacji: zamówienie → dostawa (dni)")},
                **{c: (lambda k: _facts(f, drukarnia=k["printer"], wg="wydania")) for c in (
                    "Wydane w okresie", "Mediana: wniosek → wydanie (dni)", "90. percentyl (dni)")},
                "Dostawy ocenione": lambda k: _facts(f, drukarnia=k["printer"], stan="ocenione"),
                "W terminie (%)": lambda k: _facts(f, drukarnia=k["printer"], stan="terminowe"),
                **{c: (lambda k: _facts(f, drukarnia=k["printer"], stan="odrzucone")) for c in (
                    "Karty odrzucone przy druku", "Odrzucenia (%)")}}
    if key in ("cost_channels", "cost_schools"):
        by = (lambda k: {"kanal": k["channel"]}) if key == "cost_channels" else (lambda k: {"szkola": k["school_id"]})
        rules = {c: (lambda k, by=by: _facts(f, **by(k))) for c in ("Karty", "Koszt (zł)", "Koszt na kartę (zł)")}
        rules.update({c: (lambda k, by=by: _facts(f, stan="oplacone", **by(k))) for c in (
            "Duplikaty opłacone", "Opłaty za duplikaty (zł)")})
        if key == "cost_schools":
            rules["Szkoła"] = lambda k: _school(k["school_id"])
        return rules
    if key == "cost_months":
        return {c: (lambda k: _facts(f, miesiac=k["month"], kanal=k["channel"])) for c in (
            "Miesiąc", "Karty", "Koszt (zł)", "Koszt na kartę (zł)")}
    if key == "budget":
        def year(k):
            return url_for("city.facts", od=f"{k['year']}-01-01", do=f"{k['year']}-12-31", typ="", dzielnica="")
        return {"Wydano (zł)": year, "Karty": year}
    if key == "holograms":
        return {"Karty dostarczone (zużyte blankiety)": lambda k: _facts(f, szkola=k["school_id"], stan="dostawa"),
                "Karty zepsute": lambda k: _facts(f, szkola=k["school_id"], stan="zepsute")}
    if key in ("facts", "orders"):
        return {"Szkoła": lambda k: _school(k["school_id"])}
    if key == "orders_by_school":
        return {"Szkoła": lambda k: _school(k["school_id"]),
                **{c: (lambda k: _orders(f, k["school_id"])) for c in (
                    "Zamówione", "Dostarczone", "Wydane", "Cena za kartę (zł)", "Koszt (zł)")}}
    return {}


def links(listing: Listing, f: Filters) -> list[list[str | None]]:
    rules = _link_rules(listing.table.key, f)
    columns = listing.table.columns
    return [[rules[c](key) if c in rules and row[i] not in (None, "") else None for i, c in enumerate(columns)]
            for row, key in zip(listing.table.rows, listing.keys, strict=True)]


def block(listing: Listing, f: Filters, *, chart=None, limit: int | None = None, query: dict | None = None) -> dict:
    """What the table macro needs: the listing, its links, its exports (same filters), a chart."""
    args = {**f.args(), **(query or {})}
    return {"listing": listing, "links": links(listing, f), "chart": chart, "limit": limit,
            "csv": url_for("city.export", key=listing.table.key, fmt="csv", **args),
            "xlsx": url_for("city.export", key=listing.table.key, fmt="xlsx", **args)}


def _page(template: str, *, error: str | None, f: Filters, **context):
    city = _city()
    oldest, newest, missing = dashboard.computed_range(city.id, f)
    stamp = {"oldest": dashboard.local_time(oldest), "newest": dashboard.local_time(newest), "missing": missing}
    return render_template(template, city=city, error=error, f=f, districts=dashboard.districts(city.id),
                           stamp=stamp, **context), (422 if error else 200)


# --- pages ----------------------------------------------------------------------------------------


@bp.get("/")
@require_roles(*CITY)
def overview():
    city = _city()
    f, error = _filters()
    data = dashboard.load(city.id, f)
    rollout = dashboard.rollout(city.id, f, data)
    months = dashboard.cost_by_month(city.id, f, data)
    channels = dashboard.cost_by_channel(city.id, f, data)
    return _page("city/overview.html", error=error, f=f, tiles=dashboard.overview(city.id, f, data),
                 target=dashboard.current_target(city.id, f.today), upcoming=dashboard.next_target(city.id, f.today),
                 live=block(dashboard.orders_by_school(city.id, f), f),
                 charts=[dashboard.rollout_chart(rollout), dashboard.channel_chart(channels),
                         dashboard.month_chart(months)],
                 holograms=block(dashboard.hologram_table(city.id, f, data), f),
                 orders=queries.city_orders(city.id, limit=20),
                 mismatches=queries.city_invoice_mismatches(city.id),
                 receipts=queries.city_deletion_receipts(city.id, limit=20),
                 schools={s.id: s.name for s in dashboard.city_schools(city.id)})


def _section(title: str, intro: str, blocks: list[dict], f: Filters, error: str | None, endpoint: str):
    return _page("city/section.html", error=error, f=f, title=title, intro=intro, blocks=blocks, endpoint=endpoint)


@bp.get("/wdrozenie")
@require_roles(*CITY)
def rollout():
    city = _city()
    f, error = _filters()
    data = dashboard.load(city.id, f)
    listing = dashboard.rollout(city.id, f, data)
    target = dashboard.current_target(city.id, f.today)
    intro = (_("Stan szkół w chwili ostatniego przeliczenia statystyk (kolumna „Stan na”). Wiersze wyróżnione: "
               "szkoły za planem — mniej niż %(p)s%% uczniów z wydaną legitymacją po %(d)s.",
               p=target.target_percent, d=target.target_date.strftime("%d.%m.%Y")) if target else
             _("Stan szkół w chwili ostatniego przeliczenia statystyk (kolumna „Stan na”). Cel wdrożenia (odsetek "
               "uczniów z wydaną legitymacją do wskazanej daty) wpisuje się przy budżecie."))
    return _section(_("Wdrożenie w szkołach"), intro, [
        block(listing, f, chart=dashboard.rollout_chart(listing)), block(dashboard.forecast(city.id, f, data), f)],
        f, error, "city.rollout")


@bp.get("/czas-oczekiwania")
@require_roles(*CITY)
def lead_times():
    city = _city()
    f, error = _filters()
    data = dashboard.load(city.id, f)
    schools = dashboard.lead_by_school(city.id, f, data)
    printers = dashboard.lead_by_printer(city.id, f, data)
    return _section(_("Czas oczekiwania i terminowość"), _(
        "Ile dni mija od wniosku do wydania legitymacji uczniowi i czy drukarnie dotrzymują obiecanego czasu "
        "realizacji."), [block(schools, f, chart=dashboard.lead_chart(schools)),
                         block(printers, f, chart=dashboard.printer_chart(printers))], f, error, "city.lead_times")


@bp.get("/wydatki")
@require_roles(*CITY)
def money():
    city = _city()
    f, error = _filters()
    data = dashboard.load(city.id, f)
    channels = dashboard.cost_by_channel(city.id, f, data)
    months = dashboard.cost_by_month(city.id, f, data)
    return _section(_("Wydatki i koszt legitymacji"), _(
        "Koszt karty to jej część ceny zamówienia z zamrożonej wyceny (cena kart, dopłata sezonowa, wysyłka). "
        "Budżet roczny i cel wdrożenia wpisuje się na stronie budżetu."), [
        block(channels, f, chart=dashboard.channel_chart(channels)),
        block(dashboard.cost_by_school(city.id, f, data), f),
        block(months, f, chart=dashboard.month_chart(months)),
        block(dashboard.budget_table(city.id, f), f)], f, error, "city.money")


@bp.get("/hologramy")
@require_roles(*CITY)
def holograms():
    city = _city()
    f, error = _filters()
    return _section(_("Hologramy i blankiety"), _(
        "Druki ścisłego zarachowania: hologramy z ewidencji szkół (lata szkolne okresu) oraz blankiety zużyte na "
        "dostarczone i zepsute karty."), [block(dashboard.hologram_table(city.id, f), f)], f, error,
        "city.holograms")


@bp.get("/karty")
@require_roles(*CITY)
def facts():
    city = _city()
    f, error = _filters()
    q, query_error = _fact_query()
    error = error or query_error
    schools = {s.id: s.name for s in dashboard.city_schools(city.id)}
    if q.school_id is not None and q.school_id not in schools:
        abort(404)
    data = dashboard.load(city.id, f)
    listing = dashboard.fact_list(city.id, f, q, data)
    printer = dashboard.OWN_PRINTERS if q.printer == "wlasna" else (
        data.printers.get(int(q.printer), "") if q.printer else "")
    return _page("city/facts.html", error=error, f=f, q=q, school_name=schools.get(q.school_id, ""),
                 printer_name=printer, state_label=dashboard.FACT_STATES.get(q.state, ""),
                 table=block(listing, f, limit=FACTS_SHOWN, query=q.args()),
                 endpoint="city.facts", extra=q.args())


@bp.get("/zamowienia")
@require_roles(*CITY)
def orders():
    city = _city()
    f, error = _filters()
    school = (request.args.get("szkola") or "").strip()
    schools = {s.id: s.name for s in dashboard.city_schools(city.id)}
    school_id = int(school) if school.isdigit() else None
    if school and school_id not in schools:
        abort(404)
    listing = dashboard.order_list(city.id, f, school_id)
    query = {"szkola": str(school_id)} if school_id else {}
    return _page("city/orders.html", error=error, f=f, school_name=schools.get(school_id, ""),
                 table=block(listing, f, query=query), endpoint="city.orders", extra=query)


@bp.get("/szkola/<int:school_id>")
@require_roles(*CITY)
def school(school_id: int):
    city = _city()
    f, error = _filters()
    match = [s for s in dashboard.city_schools(city.id) if s.id == school_id]
    if not match:
        abort(404)
    stats = dashboard.school_stats(city.id, school_id)
    return _page("city/school.html", error=error, f=f, school=match[0], stats=stats,
                 coverage=dashboard.coverage(stats), computed=dashboard.local_time(stats.computed_at) if stats else "",
                 endpoint="city.school")


@bp.route("/budzet", methods=["GET", "POST"])
@require_roles(*CITY)
def budget():
    """The city's yearly budget for school ID cards and its rollout target."""
    city = _city()
    f = Filters.default()
    error, form = None, {}
    if request.method == "POST":
        form = request.form
        try:
            saved = dashboard.save_budget(city.id, form)
        except OperationError as err:
            db.session.rollback()
            error = str(err)
        else:
            db.session.commit()
            flash(_("Zapisano budżet na rok %(year)s.", year=saved.year), "success")
            return redirect(url_for("city.budget"))
    return _page("city/budget.html", error=error, f=f, form=form, today=dt.date.today(),
                 table=block(dashboard.budget_table(city.id, f), f), endpoint="city.budget")


@bp.get("/eksport/<key>.<fmt>")
@require_roles(*CITY)
def export(key: str, fmt: str):
    """One table as CSV (UTF-8 with BOM, `;`) or XLSX, with the filters of the page it came from."""
    if fmt not in ("csv", "xlsx") or key not in dashboard.TABLES:
        abort(404)
    city = _city()
    try:
        f = dashboard.parse_filters(request.args)
        q = dashboard.parse_fact_query(request.args)
    except FilterError as err:
        return Response(str(err), status=422, mimetype="text/plain")
    listing = dashboard.table(key, city.id, f, q)
    stamp = dt.datetime.now(dt.UTC)
    name = f"legitka-{key}-{stamp:%Y%m%d}.{fmt}"
    if fmt == "csv":
        body, mimetype = to_csv(listing.table), "text/csv; charset=utf-8"
    else:
        generated = (f"{city.name}; {f.describe()}. Pobrano z Legitki {dashboard.local_time(stamp)}; "
                     f"dane zbiorcze, bez danych osobowych uczniów.")
        body = to_xlsx(listing.table, generated=generated)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/raport.pdf")
@require_roles(*CITY)
def council_report():
    """The council's PDF: the dashboard's sections for the filters, with charts, the period, the
    data source and the generation date (WeasyPrint)."""
    city = _city()
    try:
        f = dashboard.parse_filters(request.args)
    except FilterError as err:
        return Response(str(err), status=422, mimetype="text/plain; charset=utf-8")
    data = dashboard.load(city.id, f)
    rollout = dashboard.rollout(city.id, f, data)
    channels = dashboard.cost_by_channel(city.id, f, data)
    months = dashboard.cost_by_month(city.id, f, data)
    year = f.today.year
    sections = [
        Section("Wdrożenie legitymacji w szkołach", (rollout.table, dashboard.forecast(city.id, f, data).table),
                (str(dashboard.rollout_chart(rollout)),)),
        Section("Czas oczekiwania", (dashboard.lead_by_school(city.id, f, data).table,
                                     dashboard.lead_by_printer(city.id, f, data).table)),
        Section("Wydatki", (channels.table, months.table, dashboard.budget_table(city.id, f, data).table),
                (str(dashboard.channel_chart(channels)), str(dashboard.month_chart(months)))),
        Section(f"Co by było, gdyby wszystkie szkoły drukowały jednym kanałem ({year})",
                (costs.what_if_summary_table(costs.what_if_all(city.id, year), year),),
                text="Tegoroczne zamówienia szkół (te same wielkości i daty) wycenione w każdym kanale "
                     "obok kwot faktycznie zapłaconych."),
        Section("Hologramy w szkołach", (dashboard.hologram_table(city.id, f, data).table,)),
    ]
    stamp = dt.datetime.now(dt.UTC)
    pdf = council.render(city=city.name, period=f.describe(), sections=sections,
                         generated_at=stamp.astimezone(ZoneInfo(current_app.config["TIMEZONE"])))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="legitka-raport-{stamp:%Y%m%d}.pdf"'})
