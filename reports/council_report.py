"""The PDF report for the city council (WeasyPrint): the dashboard's tables and charts for a
period, with the data source and the generation date on every page. Aggregates only.

A city's report runs to some 25 pages of tables, which WeasyPrint lays out in ~5 s, so it is
not made in the request: the official asks for it (`request_report`, then `send`), a job builds
it (`build`, ids only) into storage, and the reports page lists it for download. With the
embedded default the job runs at once, in the request. The city keeps its newest `KEEP` reports.

The report has the safety net of `infra.jobs` (the shared rules live there; the round city by
city is `tenants.tenancy.reconcile`): its row is the durable record. Asking commits the
row `queued` before sending the job, so with Redis down the request still succeeds and the
reconciler (`reconcile_reports`, run by every worker) sends it once Redis is back; it also sends
again a report whose job Redis lost or whose worker died (the job's lease, renewed while it
renders, lapsed). A job takes the report by a compare-and-set that bumps `attempt` and stores the
PDF under a key of its own; only the attempt still holding the report may mark it `ready`, a
superseded one deletes its file. A report ends `ready`, or `failed` with a Polish reason (its
build failed, or it was sent `infra.jobs.MAX_SENDS` times without a result); the page offers
"Ponów", which asks for the same report again (`request_again`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import pathlib
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy import update

from infra import clock
from infra import inputs
from infra import jobs
from infra import services
from infra.db import db
from infra.db import utcnow
from infra.db_errors import is_transient
from infra.pdf import PdfTemplates
from infra.storage import city_key
from reports import city_data
from reports import consultations
from reports import cost_tables
from reports import costs
from reports import dashboard
from reports import scenario_tables
from reports import scenarios
from reports.filters import Filters
from reports.models import CouncilReport
from reports.tables import Table
from tenants.consultations import queries as consultation_queries
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.reconcile import each_organisation

log = logging.getLogger("legitka.reports")

TEMPLATES = PdfTemplates(pathlib.Path(__file__).parent / "templates" / "reports")
KEEP = 20  # reports per city; older ones and their files are deleted when a new one is asked for
JOB_TIMEOUT = 300
ACTIVE = ("queued", "running")
BUILD_FAILED = ("Nie udało się przygotować raportu (błąd wewnętrzny). Zleć go ponownie; jeśli to się powtórzy, "
                "zgłoś problem.")
GAVE_UP = ("Przygotowanie raportu kilka razy zostało przerwane (np. awaria serwera w trakcie pracy). "
           "Zleć go ponownie; jeśli to się powtórzy, zgłoś problem.")

SOURCE = "Legitka — ewidencje legitymacji szkół i zamówienia druku (dane zbiorcze)"


@dataclasses.dataclass(frozen=True)
class Section:
    """One chapter: a title, an optional sentence, charts (SVG markup made by reports.charts
    from aggregates) and tables."""

    title: str
    tables: tuple[Table, ...] = ()
    charts: tuple[str, ...] = ()
    text: str = ""


def _cell(value, plain: bool = False) -> str:
    """A value as the report prints it; `plain` prints a whole number without grouping (a year)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "tak" if value else "nie"
    if isinstance(value, inputs.Month):
        return inputs.format_month(value)
    if isinstance(value, dt.date):
        return inputs.format_day(value)
    if isinstance(value, Decimal):
        return inputs.format_amount(value)
    if isinstance(value, float):
        return inputs.format_number(value, 1)
    if isinstance(value, int) and not plain:
        return inputs.format_number(value)
    return str(value)


# A4 landscape holds about this many columns at the report's type size before headers break
# inside words; a wider table is printed in parts, each repeating the first column (the school).
MAX_COLUMNS = 11


def _tables(table: Table) -> list[dict]:
    """`table` as the template prints it: one part, or several of at most MAX_COLUMNS columns."""
    width = len(table.columns)
    numeric = [bool(table.rows) and all(isinstance(r[i], int | float | Decimal) and not isinstance(r[i], bool)
                                        or r[i] is None for r in table.rows) for i in range(width)]
    plain = [c.startswith("Rok") for c in table.columns]  # "Rok", "Rok szkolny": 2026, not 2 026
    rows = [[_cell(v, plain[i]) for i, v in enumerate(row)] for row in table.rows]
    if width <= MAX_COLUMNS:
        parts = [list(range(width))]
    else:
        step = MAX_COLUMNS - 1
        parts = [[0, *range(start, min(start + step, width))] for start in range(1, width, step)]
    return [{"title": table.title if len(parts) == 1 else f"{table.title} (część {n} z {len(parts)})",
             "columns": [table.columns[i] for i in part], "numeric": [numeric[i] for i in part],
             "rows": [[row[i] for i in part] for row in rows],
             "note": table.note if n == len(parts) else ""}
            for n, part in enumerate(parts, start=1)]


def render(*, city: str, period: str, sections: list[Section], generated_at: dt.datetime,
           title: str = "Legitymacje szkolne — raport dla Rady Miasta") -> bytes:
    """The council's PDF. `generated_at` is shown in local time as dd.mm.rrrr gg:mm."""
    context_sections = [{"title": s.title, "text": s.text, "charts": [Markup(c) for c in s.charts],  # noqa: S704
                         "tables": [part for t in s.tables for part in _tables(t)]} for s in sections]
    return TEMPLATES.render("council_report.html", "council_report.css", title=title, city=city, period=period,
                            source=SOURCE, generated=generated_at.strftime("%d.%m.%Y %H:%M"),
                            sections=context_sections)


# --- the report's content --------------------------------------------------------------------------


def sections(city_id: int, f: Filters) -> list[Section]:
    """The dashboard's sections for the filters: rollout and forecast, waiting times, money with
    the "what if" of the year, holograms; and the city's latest consultation with the school
    directors (reports.consultations), when it has opened one."""
    data = city_data.load(city_id, f)
    rollout = dashboard.rollout(city_id, f, data)
    channels = dashboard.cost_by_channel(city_id, f, data)
    months = dashboard.cost_by_month(city_id, f, data)
    year = f.today.year
    return [
        Section("Wdrożenie legitymacji w szkołach", (rollout.table, dashboard.forecast_table(city_id, f, data).table,
                 dashboard.forecast_check(city_id, f, data).table),
                (str(dashboard.rollout_chart(rollout)),)),
        Section("Czas oczekiwania", (dashboard.lead_by_school(city_id, f, data).table,
                                     dashboard.lead_by_printer(city_id, f, data).table)),
        Section("Wydatki", (channels.table, months.table, dashboard.budget_table(city_id, f, data).table),
                (str(dashboard.channel_chart(channels)), str(dashboard.month_chart(months)))),
        Section(f"Co by było, gdyby wszystkie szkoły drukowały jednym kanałem ({year})",
                (cost_tables.what_if_summary_table(costs.what_if_all(city_id, year), year),),
                text="Tegoroczne zamówienia szkół (te same wielkości i daty) wycenione w każdym kanale "
                     "obok kwot faktycznie zapłaconych."),
        _scenarios(city_id, f),
        Section("Hologramy w szkołach", (dashboard.hologram_table(city_id, f, data).table,)),
        *_consultation(city_id, data),
    ]


def _scenarios(city_id: int, f: Filters) -> Section:
    """The centralisation scenarios (reports.scenarios) of the school year of the report's last day,
    with the page's default plan: the comparison, as `/miasto/koszty/scenariusze/` shows it."""
    a = scenarios.default_assumptions(min(f.date_to or f.today, f.today))
    first, last = a.period
    return Section(f"Czy centralizacja się opłaca: rok szkolny {first.year}/{last.year}",
                   (scenario_tables.comparison(scenarios.city_comparison(city_id, a)),),
                   text="Tegoroczne zamówienia szkół tak, jak zostały złożone, zebrane w zamówienia zbiorcze "
                        "miasta w drukarniach zewnętrznych i wydrukowane w centrum druku po jego rzeczywistym "
                        "koszcie; założenia w nocie tabeli, do zmiany na stronie Scenariusze centralizacji.")


def _consultation(city_id: int, data) -> list[Section]:
    """The latest opened consultation: its summary, who answered and who has not, the comments."""
    consultation = consultation_queries.latest_opened(city_id)
    if consultation is None:
        return []
    r = consultations.result(city_id, consultation, data)
    return [Section("Konsultacje z dyrektorami szkół", (
        consultations.summary_table(r), consultations.status_table(r), consultations.comments_table(r)),
        text=f"Konsultacja {consultations.describe(consultation)}: odpowiedziało {len(r.answered)} "
             f"z {inputs.counted(len(r.schools), 'szkoły', 'szkół', 'szkół')}. Odpowiedzi według stanu na dzień "
             f"wygenerowania raportu (wszystkie szkoły miasta, bez filtrów raportu).")]


def filters_of(report: CouncilReport) -> Filters:
    return Filters(report.date_from, report.date_to, report.school_type, report.district, today=report.as_of)


# --- asking for it, building it, listing it --------------------------------------------------------


def request_report(city_id: int, user_id: int | None, f: Filters) -> CouncilReport:
    """Record the request (status `queued`) and forget the city's finished reports beyond the
    newest `KEEP`, files included (one still being made is left to its job). Flushes; the caller
    commits, then calls `send`."""
    report = CouncilReport(city_id=city_id, requested_by_id=user_id, requested_at=utcnow(), date_from=f.date_from,
                           date_to=f.date_to, school_type=f.school_type, district=f.district, as_of=f.today,
                           status="queued")
    db.session.add(report)
    db.session.flush()
    old = db.session.scalars(select(CouncilReport).where(CouncilReport.city_id == city_id)
                             .order_by(CouncilReport.id.desc()).offset(KEEP)).all()
    for stale in old:
        if stale.status in ACTIVE:
            continue
        _forget(stale)
    return report


def request_again(report: CouncilReport, user_id: int | None) -> CouncilReport | None:
    """"Ponów": the same report (same filters, same day) asked for again in place of a failed one,
    which goes. None if the report has not failed. Flushes; the caller commits, then `send`s."""
    if report.status != "failed":
        return None
    again = request_report(report.city_id, user_id, filters_of(report))
    _forget(report)
    db.session.flush()
    return again


def _forget(report: CouncilReport) -> None:
    if report.file_key:
        services.storage().delete(report.file_key)
    _drop_attempt_files(report.city_id, report.id, range(1, report.attempt + 1))
    db.session.delete(report)


# --- the job and its safety net ---------------------------------------------------------------------


def _mine(report_id: int, attempt: int):
    return (update(CouncilReport).where(CouncilReport.id == report_id, CouncilReport.attempt == attempt,
                                        CouncilReport.status == "running")
            .execution_options(synchronize_session=False))


def _claim(report_id: int, city_id: int, held: dt.timedelta) -> int | None:
    attempt = jobs.claim(CouncilReport, CouncilReport.id == report_id, CouncilReport.city_id == city_id,
                         waiting="queued", running="running", held=held)
    db.session.commit()
    return attempt


def _holding(report_id: int, city_id: int, attempt: int, held: dt.timedelta):
    """A side thread renewing the attempt's lease while WeasyPrint works (`infra.jobs.keep_lease`)."""
    def renew() -> bool:
        with tenant_scope(Tenant(city_id=city_id)):
            renewed = db.session.execute(_mine(report_id, attempt).values(lease_until=utcnow() + held)).rowcount
            db.session.commit()
        return renewed == 1

    return jobs.keep_lease(renew, held, f"lease-council-report-{report_id}")


def attempt_key(city_id: int, report_id: int, attempt: int) -> str:
    """Where attempt `attempt` stores the report's PDF (each attempt its own file)."""
    return city_key(city_id, "council-reports", f"{int(report_id)}-{int(attempt)}.pdf")


def _drop_attempt_files(city_id: int, report_id: int, attempts) -> None:
    """Delete what the given attempts may have stored (an attempt killed between storing its PDF and
    publishing it leaves it behind). A storage error only leaves a file behind (logged)."""
    for attempt in attempts:
        try:
            services.storage().delete(attempt_key(city_id, report_id, attempt))
        except Exception as exc:
            log.error("council report %s: a file of attempt %s not deleted: %s", report_id, attempt,
                      type(exc).__name__)


def build(report_id: int, city_id: int) -> str:
    """The job: render the report as the city (its row-level security applies), store the PDF,
    mark it `ready` (or `failed` with the reason). A report no longer queued (nor running with a
    lapsed lease), or gone, is left alone. Returns the outcome."""
    db.session.commit()  # a fresh transaction, so it starts with the city's settings
    with tenant_scope(Tenant(city_id=city_id)):
        held = jobs.lease() if jobs.renewing() else dt.timedelta(seconds=JOB_TIMEOUT + 60)
        attempt = _claim(report_id, city_id, held)
        if attempt is None:
            return "skipped"
        key = None
        try:
            with _holding(report_id, city_id, attempt, held):
                report = db.session.get(CouncilReport, report_id)
                city = db.session.get(Organisation, city_id)
                f = filters_of(report)
                zone = clock.zone()
                pdf = render(city=city.name, period=f.describe(), sections=sections(city_id, f),
                             generated_at=utcnow().astimezone(zone))
                # The attempt's own key: a superseded attempt never overwrites the file of the one that won.
                key = attempt_key(city_id, report_id, attempt)
                services.storage().put(key, pdf, "application/pdf")
            done = db.session.execute(_mine(report_id, attempt).values(
                status="ready", file_key=key, size=len(pdf), finished_at=utcnow(), lease_until=None,
                error="")).rowcount == 1
            if done:
                db.session.commit()
                _drop_attempt_files(city_id, report_id, range(1, attempt))  # of attempts killed after storing
                return "ready"
            db.session.rollback()
            outcome = "superseded"
        except Exception as exc:
            db.session.rollback()
            if is_transient(exc):  # let the lease go: the reconciler sends the report again
                log.warning("council report %s: passing database error %s", report_id, type(exc).__name__)
                with contextlib.suppress(Exception):
                    db.session.execute(_mine(report_id, attempt).values(
                        lease_until=utcnow() - dt.timedelta(seconds=1)))
                    db.session.commit()
                outcome = "retry"
            else:
                log.exception("council report %s failed", report_id)
                db.session.execute(_mine(report_id, attempt).values(
                    status="failed", error=BUILD_FAILED, finished_at=utcnow(), lease_until=None))
                db.session.commit()
                outcome = "failed"
        if key is not None:  # stored, but not (or no longer) this attempt's to publish: no file without its row
            with contextlib.suppress(Exception):
                services.storage().delete(key)
        return outcome


def send(report: CouncilReport) -> bool:
    """Send a committed, queued report's job; False when the queue is down (the report stays queued
    and the reconciler sends it later). Never raises for the queue."""
    return jobs.send(report, "council-report", build, report.id, report.city_id, timeout=JOB_TIMEOUT,
                     what="council report")


def reconcile_reports() -> int:
    """Send again, or give up on, every city's reports that need it (see the module docstring);
    returns how many were touched. City by city, each as that city (`tenants.tenancy.reconcile`)."""
    return each_organisation(OrgKind.CITY, _reconcile_city, "council reports")


def _reconcile_city() -> int:
    return jobs.reconcile(CouncilReport, "council-report", active=ACTIVE, running="running",
                          resend=_resend, give_up=_give_up)


def _resend(report: CouncilReport) -> None:
    jobs.resend(report, "council-report", build, report.id, report.city_id, timeout=JOB_TIMEOUT)


def _give_up(report: CouncilReport, now: dt.datetime) -> bool:
    """Fail a report whose job keeps dying or getting lost (commits), and delete what its attempts
    may have stored."""
    failed = db.session.execute(
        update(CouncilReport)
        .where(CouncilReport.id == report.id, CouncilReport.sends == report.sends,
               jobs.takeable(CouncilReport.status, CouncilReport.lease_until, waiting="queued",
                             running="running", now=now))
        .values(status="failed", error=GAVE_UP, finished_at=now, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    _drop_attempt_files(report.city_id, report.id, range(1, report.attempt + 1))
    return failed


def status(report: CouncilReport) -> str:
    """`queued`, `running`, `ready` or `failed`: the row says it as it is (the reconciler keeps it honest)."""
    return report.status


def reports_of(city_id: int) -> list[CouncilReport]:
    """The city's reports, newest first."""
    return list(db.session.scalars(select(CouncilReport).where(CouncilReport.city_id == city_id)
                                   .order_by(CouncilReport.id.desc())))


def report_of(city_id: int, report_id: int) -> CouncilReport | None:
    return db.session.scalar(select(CouncilReport).where(CouncilReport.city_id == city_id,
                                                         CouncilReport.id == report_id))
