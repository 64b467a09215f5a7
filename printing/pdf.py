"""Server templates to PDF with WeasyPrint, safely: autoescaped sandboxed Jinja, and a URL
fetcher that allows only `data:` URLs, so nothing in the data can make the renderer read a
file or the network (docs/security.md T2.14)."""

from __future__ import annotations

import pathlib

from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = pathlib.Path(__file__).parent / "templates" / "printing"
env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def html_to_pdf(html: str, stylesheet: str | tuple[str, ...]) -> bytes:
    """Render `html` with the stylesheet(s) named (file names under the templates folder; later
    ones override earlier ones)."""
    from weasyprint import CSS
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    names = (stylesheet,) if isinstance(stylesheet, str) else stylesheet
    sheets = [CSS(filename=str(TEMPLATES / name), url_fetcher=fetcher) for name in names]
    return HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(stylesheets=sheets)


def render_pdf(template: str, stylesheet: str | tuple[str, ...], **context) -> bytes:
    return html_to_pdf(env.get_template(template).render(**context), stylesheet)
