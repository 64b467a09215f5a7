"""Server templates to PDF with WeasyPrint, safely: autoescaped sandboxed Jinja, and a URL
fetcher that allows only `data:` URLs, so nothing in the data can make the renderer read a
file or the network (docs/security.md T2.14).

Each package that makes A4 documents keeps its templates and stylesheets in a folder of its own
and renders them through one `PdfTemplates` for that folder."""

from __future__ import annotations

import pathlib

from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment


def html_to_pdf(html: str, stylesheets: list[pathlib.Path]) -> bytes:
    """Render `html` with the stylesheet files given (later ones override earlier ones)."""
    from weasyprint import CSS
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    sheets = [CSS(filename=str(path), url_fetcher=fetcher) for path in stylesheets]
    return HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(stylesheets=sheets)


class PdfTemplates:
    """The templates and stylesheets of one folder, rendered to PDF."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder
        self.env = SandboxedEnvironment(loader=FileSystemLoader(folder), autoescape=True, undefined=StrictUndefined)

    def render(self, template: str, stylesheet: str | tuple[str, ...], **context) -> bytes:
        """`template` rendered with `context`, styled by the stylesheet(s) named (file names in
        the folder; later ones override earlier ones)."""
        names = (stylesheet,) if isinstance(stylesheet, str) else stylesheet
        html = self.env.get_template(template).render(**context)
        return html_to_pdf(html, [self.folder / name for name in names])
