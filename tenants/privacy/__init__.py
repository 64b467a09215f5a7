"""The school's data-protection registers, kept by the school as the data controller and read by
its data protection officer (docs/privacy-registers.md): the breach register with the 72-hour
clock of GDPR art. 33 (`breaches.py`, insert-only: every change is a new version) and the records
of processing activities of art. 30(1), generated from what Legitka does for the school
(`processing_records.py`, a page and an A4 PDF from `templates/privacy/`). Tables: `models.py`.

The reading functions take a list of school ids, so that a reader serving several schools (a data
protection officer) can be given them without new queries; each returns only what the current
tenant may see (row-level security and the ORM's criteria still apply)."""

from __future__ import annotations

import pathlib

from infra.pdf import PdfTemplates

TEMPLATES = PdfTemplates(pathlib.Path(__file__).parent / "templates" / "privacy")
