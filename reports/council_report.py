"""The PDF report for the city council (WeasyPrint): the dashboard's tables and charts for a
period, with the data source and the generation date on every page. Aggregates only."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from markupsafe import Markup

from printing.pdf import render_pdf
from reports.tables import Table

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
