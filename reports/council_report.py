"""The PDF report for the city council (WeasyPrint): the dashboard's tables and charts for a
period, with the data source and the generation date on every page. Aggregates only.

A city's report runs to some 25 pages of tables, which WeasyPrint lays out in ~5 s, so it is
not made in the request: the official asks for it (`request_report`), a job builds it (`build`,
ids only) into storage, and the reports page lists it for download. With the embedded default
the job runs at once, in the request. The city keeps its newest `KEEP` reports; a report the
job never finished (`STALE` after asking) shows as failed, to be asked for again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from infra import services
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import city_key
from printing.pdf import render_pdf
from reports import costs
from reports import dashboard
from reports.filters import Filters
from reports.models import CouncilReport
from reports.tables import Table
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import Organisation

log = logging.getLogger("legitka.reports")

KEEP = 20  # reports per city; older ones and their files are deleted when a new one is asked for
STALE = dt.timedelta(minutes=15)  # a report still queued after this was lost (worker down, Redis flushed)
JOB_TIMEOUT = 300

SOURCE = "Legitka — ewidencje legitymacji szkół i zamówienia druku (dane zbiorcze)"


@dataclasses.dataclass(frozen=True)
class Section:
    """One chapter: a title, an optional sentence, charts (SVG markup made by reports.charts
    from aggregates) and tables."""

    title: str
    tables: tuple[Table, ...] = ()
    charts: tuple[str, ...] = ()
    text: str = ""


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "\u00a0")
    return str(value)


def _table(table: Table) -> dict:
    numeric = [bool(table.rows) and all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in table.rows)
               for i in range(len(table.columns))]
    return {"title": table.title, "columns": table.columns, "note": table.note, "numeric": numeric,
            "rows": [[_cell(v) for v in row] for row in table.rows]}


def render(*, city: str, period: str, sections: list[Section], generated_at: dt.datetime,
           title: str = "Legitymacje szkolne — raport dla Rady Miasta") -> bytes:
    """The council's PDF. `generated_at` is shown in local time as dd.mm.rrrr gg:mm."""
    context_sections = [{"title": s.title, "text": s.text, "charts": [Markup(c) for c in s.charts],  # noqa: S704
                         "tables": [_table(t) for t in s.tables]} for s in sections]
    return render_pdf("council_report.html", "council_report.css", title=title, city=city, period=period,
                      source=SOURCE, generated=generated_at.strftime("%d.%m.%Y %H:%M"),
                      sections=context_sections)


# --- the report's content --------------------------------------------------------------------------


def sections(city_id: int, f: Filters) -> list[Section]:
    """The dashboard's sections for the filters: rollout and forecast, waiting times, money with
    the "what if" of the year, holograms."""
    data = dashboard.load(city_id, f)
    rollout = dashboard.rollout(city_id, f, data)
    channels = dashboard.cost_by_channel(city_id, f, data)
    months = dashboard.cost_by_month(city_id, f, data)
    year = f.today.year
    return [
        Section("Wdrożenie legitymacji w szkołach", (rollout.table, dashboard.forecast(city_id, f, data).table),
                (str(dashboard.rollout_chart(rollout)),)),
        Section("Czas oczekiwania", (dashboard.lead_by_school(city_id, f, data).table,
                                     dashboard.lead_by_printer(city_id, f, data).table)),
        Section("Wydatki", (channels.table, months.table, dashboard.budget_table(city_id, f, data).table),
                (str(dashboard.channel_chart(channels)), str(dashboard.month_chart(months)))),
        Section(f"Co by było, gdyby wszystkie szkoły drukowały jednym kanałem ({year})",
                (costs.what_if_summary_table(costs.what_if_all(city_id, year), year),),
                text="Tegoroczne zamówienia szkół (te same wielkości i daty) wycenione w każdym kanale "
                     "obok kwot faktycznie zapłaconych."),
        Section("Hologramy w szkołach", (dashboard.hologram_table(city_id, f, data).table,)),
    ]


def filters_of(report: CouncilReport) -> Filters:
    return Filters(report.date_from, report.date_to, report.school_type, report.district, today=report.as_of)


# --- asking for it, building it, listing it --------------------------------------------------------


def request_report(city_id: int, user_id: int | None, f: Filters) -> CouncilReport:
    """Record the request (status `queued`) and forget the city's finished reports beyond the
    newest `KEEP`, files included (one still being made is left to its job). Flushes; the caller
    commits, then enqueues `build`."""
    report = CouncilReport(city_id=city_id, requested_by_id=user_id, requested_at=utcnow(), date_from=f.date_from,
                           date_to=f.date_to, school_type=f.school_type, district=f.district, as_of=f.today,
                           status="queued")
    db.session.add(report)
    db.session.flush()
    now = utcnow()
    old = db.session.scalars(select(CouncilReport).where(CouncilReport.city_id == city_id)
                             .order_by(CouncilReport.id.desc()).offset(KEEP)).all()
    for stale in old:
        if status(stale, now) == "queued":
            continue
        if stale.file_key:
            services.storage().delete(stale.file_key)
        db.session.delete(stale)
    return report


def build(report_id: int, city_id: int) -> str:
    """The job: render the report as the city (its row-level security applies), store the PDF,
    mark it `ready` (or `failed`). A report not `queued`, or gone, is left alone. Returns the
    status."""
    db.session.commit()  # a fresh transaction, so it starts with the city's settings
    with tenant_scope(Tenant(city_id=city_id)):
        report = db.session.get(CouncilReport, report_id)
        if report is None or report.status != "queued":
            db.session.rollback()
            return "skipped"
        key = None
        try:
            city = db.session.get(Organisation, city_id)
            f = filters_of(report)
            zone = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Warsaw"))
            pdf = render(city=city.name, period=f.describe(), sections=sections(city_id, f),
                         generated_at=utcnow().astimezone(zone))
            key = city_key(city_id, "council-reports", f"{int(report_id)}-{token(12)}.pdf")
            services.storage().put(key, pdf, "application/pdf")
            report.file_key, report.size, report.status, report.finished_at = key, len(pdf), "ready", utcnow()
            db.session.commit()
            return "ready"
        except Exception:
            log.exception("council report %s failed", report_id)
            db.session.rollback()
        if key is not None:  # stored, but the report could not be marked: no file without its row
            services.storage().delete(key)
        report = db.session.get(CouncilReport, report_id)
        if report is None:
            return "skipped"
        report.status, report.finished_at = "failed", utcnow()
        db.session.commit()
        return "failed"


def status(report: CouncilReport, now: dt.datetime | None = None) -> str:
    """`queued`, `ready` or `failed`; a report queued for longer than STALE counts as failed."""
    now = now or utcnow()
    if report.status == "queued" and now - report.requested_at > STALE:
        return "failed"
    return report.status


def reports_of(city_id: int) -> list[CouncilReport]:
    """The city's reports, newest first."""
    return list(db.session.scalars(select(CouncilReport).where(CouncilReport.city_id == city_id)
                                   .order_by(CouncilReport.id.desc())))


def report_of(city_id: int, report_id: int) -> CouncilReport | None:
    return db.session.scalar(select(CouncilReport).where(CouncilReport.city_id == city_id,
                                                         CouncilReport.id == report_id))
