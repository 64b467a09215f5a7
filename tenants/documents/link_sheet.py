"""A printable class sheet of parents' photo links: one slip per pupil with a QR code, to cut
and hand out. The links exist only in this PDF (the database keeps their hashes)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io

import segno

from infra import inputs
from tenants.documents import TEMPLATES


@dataclasses.dataclass(frozen=True)
class Slip:
    pupil_name: str
    class_name: str
    url: str


def qr_data_uri(url: str) -> str:
    """The URL as an SVG QR code (error correction M), inlined as a data: URL."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def render_sheet(school_name: str, class_name: str, slips: list[Slip], expires_on: dt.date) -> bytes:
    items = [{"name": s.pupil_name, "class_name": s.class_name, "url": s.url, "qr": qr_data_uri(s.url)}
             for s in slips]
    return TEMPLATES.render("link_sheet.html", "link_sheet.css", school_name=school_name, class_name=class_name,
                            slips=items, expires_on=inputs.format_day(expires_on))
