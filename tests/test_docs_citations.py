"""The code cites only documents the repository holds: every `docs/<name>.md` named in code or
templates exists, every requirement it names there (`docs/security.md T2.4`, `§2.6`;
`docs/domain.md §4`) is in that document, and nothing cites the reference files that were never
part of the repository (SECURITY.md, BRIEF.md, STACK-NOTES)."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "tenants", "printing", "reports", "portal", "tests", "bench")
LABELS = r"(?:T\d+\.\d+|§\d+(?:\.\d+)?)"
# `docs/security.md T2.4`, `docs/security.md §2.1, T1.1`, `docs/domain.md §10, §13`, `T5.4–T5.6`
CITATION = re.compile(r"docs/([a-z0-9_-]+\.md)((?:[ ,]+" + LABELS + r"(?:[–-]" + LABELS + r")?)*)")
LABEL = re.compile(r"T\d+\.\d+|§\d+(?:\.\d+)?")
OUTSIDE = re.compile(r"\b(?:SECURITY|BRIEF|ARCHITECTURE|USERS|STYLE)\.md\b|\bSTACK-NOTES\b")


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix in {".py", ".html"} and ".venv" not in path.parts and path != pathlib.Path(__file__):
                yield path


def test_every_cited_document_and_requirement_exists():
    missing = []
    cited = 0
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for match in CITATION.finditer(text):
            cited += 1
            document = ROOT / "docs" / match.group(1)
            where = f"{path.relative_to(ROOT)}: docs/{match.group(1)}"
            if not document.is_file():
                missing.append(where)
                continue
            content = document.read_text(encoding="utf-8")
            for label in LABEL.findall(match.group(2)):
                if not re.search(re.escape(label) + r"(?![\d.]*\d)", content):
                    missing.append(f"{where} {label}")
    assert cited > 50  # the scan found the citations (a broken pattern would find none)
    assert not missing, "cited but not in docs/:\n" + "\n".join(missing)


def test_nothing_cites_reference_files_outside_the_repository():
    outside = [f"{path.relative_to(ROOT)}:{n}" for path in _sources()
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if OUTSIDE.search(line)]
    assert not outside, "cites a file that is not in the repository:\n" + "\n".join(outside)
