"""The school's own A4 documents, as PDF (and the registry as XLSX): the registry book and a
delivered order's handover list (`registry_book.py`), prefilled application forms
(`application_forms.py`) and the class sheets of parents' photo links (`link_sheet.py`). Their
templates and stylesheets are in `templates/documents/`, rendered by `infra.pdf`."""

from __future__ import annotations

import pathlib

from infra.pdf import PdfTemplates

TEMPLATES = PdfTemplates(pathlib.Path(__file__).parent / "templates" / "documents")
