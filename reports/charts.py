"""Charts as inline SVG drawn on the server: no script, no CDN, nothing fetched by the browser.

Each chart is one self-contained <svg> (colours as presentation attributes, so it renders the
same in the portal under its strict CSP and in WeasyPrint's PDF), with role="img", a <title>
and a <desc> that reads the data out for screen readers, and a <title> on each bar or point
for a tooltip. All text is escaped. Functions return `markupsafe.Markup`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup
from markupsafe import escape

from infra import inputs

PALETTE = ("#1e7a3a", "#174ea6", "#a15c00", "#b3261e", "#8a1f4a", "#5f6368")
INK = "#1d1d1f"
MUTED = "#5f6368"
GRID = "#e3e3e8"
FONT = 'font-family="DejaVu Sans, system-ui, sans-serif"'

Number = int | float | Decimal | None


def _num(value: Number) -> float:
    return float(value) if value is not None else 0.0


def _fmt(value: Number, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        text = inputs.format_number(value)  # "100 000", grouped as every number the reader sees
    elif isinstance(value, Decimal):
        text = inputs.format_amount(value)
    else:
        text = inputs.format_number(value, 1)
    return f"{text}\u00a0{unit}" if unit else text


def _tick(value: float, top: float, unit: str = "") -> str:
    """An axis label with its unit ("25 000 zł"): whole numbers once the axis reaches 10, one decimal below."""
    return _fmt(round(value), unit) if top >= 10 else _fmt(value, unit)


def _short(label: str, limit: int = 34) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= limit else label[:limit - 1] + "…"


def _ident(*parts) -> str:
    return "ch" + format(zlib.crc32(repr(parts).encode()), "08x")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10ⁿ)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _open(ident: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-labelledby="{ident}-t {ident}-d" {FONT} font-size="12">',
            f'<title id="{ident}-t">{escape(title)}</title>', f'<desc id="{ident}-d">{escape(desc)}</desc>',
            f'<text x="0" y="16" font-size="14" font-weight="bold" fill="{INK}">{escape(title)}</text>']


def _empty(parts: list[str], width: int, y: int) -> Markup:
    parts.append(f'<text x="{width / 2:.0f}" y="{y}" text-anchor="middle" fill="{MUTED}">brak danych</text></svg>')
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())


def bar_chart(title: str, labels: Sequence[str], values: Sequence[Number], *, unit: str = "",
              width: int = 720) -> Markup:
    """Horizontal bars, one per label, each with its value at the end."""
    ident = _ident("bar", title, tuple(labels), tuple(map(str, values)))
    row, top, left = 24, 30, 250
    height = top + max(1, len(labels)) * row + 10
    desc = "; ".join(f"{label}: {_fmt(v, unit)}" for label, v in zip(labels, values, strict=True))
    parts = _open(ident, width, height, title, desc or "brak danych")
    if not labels:
        return _empty(parts, width, top + 16)
    top_value = _nice_max(max(_num(v) for v in values))
    span = width - left - 90
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        w = span * _num(value) / top_value
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">{escape(_short(label))}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[1]}">'
                     f'<title>{escape(label)}: {escape(_fmt(value, unit))}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" fill="{INK}">{escape(_fmt(value, unit))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())


def stacked_bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number]]], *,
                      unit: str = "", width: int = 720) -> Markup:
    """Horizontal bars split into `series` (name, values per label), with a legend."""
    ident = _ident("stacked", title, tuple(labels), tuple((n, tuple(map(str, v))) for n, v in series))
    row, left = 24, 250
    legend_rows = math.ceil(len(series) / 4) if series else 0
    top = 30 + legend_rows * 18
    height = top + max(1, len(labels)) * row + 10
    desc = "; ".join(f"{label}: " + ", ".join(f"{name} {_fmt(values[i], unit)}" for name, values in series)
                     for i, label in enumerate(labels))
    parts = _open(ident, width, height, title, desc or "brak danych")
    for k, (name, _values) in enumerate(series):
        x, y = (k % 4) * 175, 26 + (k // 4) * 18
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{x + 17}" y="{y + 11}" fill="{INK}">{escape(name)}</text>')
    if not labels:
        return _empty(parts, width, top + 16)
    totals = [sum((values[i] or 0 for _name, values in series), 0) for i in range(len(labels))]
    top_value = _nice_max(max(_num(t) for t in totals))
    span = width - left - 70
    for i, label in enumerate(labels):
        y = top + i * row
        x = float(left)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">{escape(_short(label))}</text>')
        for k, (name, values) in enumerate(series):
            w = span * _num(values[i]) / top_value
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
                             f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)} — {escape(name)}: '
                             f'{escape(_fmt(values[i], unit))}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" fill="{MUTED}">{escape(_fmt(totals[i], unit))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())


def line_chart(title: str, labels: Sequence[str], values: Sequence[Number], *, unit: str = "",
               width: int = 720, height: int = 240, name: str = "",
               series: Sequence[tuple[str, Sequence[Number]]] = ()) -> Markup:
    """A line through one value per label (e.g. months), with a y axis of four steps; `series`:
    more lines (name, values per label), drawn with a legend naming `name` (the main line) and theirs."""
    ident = _ident("line", title, tuple(labels), tuple(map(str, values)))
    desc = "; ".join(f"{label}: {_fmt(v, unit)}" for label, v in zip(labels, values, strict=True))
    parts = _open(ident, width, height, title, desc or "brak danych")
    if not labels:
        return _empty(parts, width, height // 2)
    left, right, top, bottom = 80, 40, 34, height - 40
    top_value = _nice_max(max(_num(v) for v in [*values, *(v for _n, vs in series for v in vs)]))
    for step in range(5):
        y = bottom - (bottom - top) * step / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
                     f'{escape(_tick(top_value * step / 4, top_value, unit))}'
                     f'</text>')
    gap = (width - left - right) / max(1, len(labels) - 1) if len(labels) > 1 else 0
    points = []
    every = max(1, math.ceil(len(labels) / 12))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + gap * i if len(labels) > 1 else (left + width - right) / 2
        y = bottom - (bottom - top) * _num(value) / top_value
        points.append((x, y, label, value))
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" fill="{MUTED}">'
                         f'{escape(_short(label, 10))}</text>')
    for n, (other, more) in enumerate(series):  # the other lines first, the main one on top
        colour = PALETTE[(n + 1) % len(PALETTE)]
        line = [(left + gap * i if len(labels) > 1 else (left + width - right) / 2,
                 bottom - (bottom - top) * _num(v) / top_value) for i, v in enumerate(more)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in line) + '"/>')
        parts.append(f'<text x="{left + 10 + 240 * (n + 1)}" y="{height - 3}" fill="{colour}">- - {escape(other)}'
                     '</text>')
    if series:  # the legend under the axis labels
        parts.append(f'<text x="{left + 10}" y="{height - 3}" fill="{PALETTE[4]}">— {escape(name)}</text>')
    parts.append(f'<polyline fill="none" stroke="{PALETTE[4]}" stroke-width="2" points="'
                 + " ".join(f"{x:.1f},{y:.1f}" for x, y, _l, _v in points) + '"/>')
    for x, y, label, value in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[4]}">'
                     f'<title>{escape(label)}: {escape(_fmt(value, unit))}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())
