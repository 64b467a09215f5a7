"""README's "Security requirements and their tests" cannot rot: it has one row for each requirement
of docs/security.md (its T-numbers), every test it names exists and pytest would collect it, and
docs/security.md names that same test for that requirement; a row without a test says so
("not tested: …"), and only where docs/security.md names no test either. The tests docs/security.md
itself names must exist too.

A test is named as `tests/<path>.py` (a whole file, which must hold tests) or
`tests/<path>.py::test_name`; `::test_name` (in docs/security.md also `…::test_name`) repeats the
file named before it — within the README's cell, and in docs/security.md as its text runs on.
"""

from __future__ import annotations

import ast
import functools
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
HEADING = "## Security requirements and their tests"
REQUIREMENT = re.compile(r"^- \*\*(T\d+\.\d+)\*\*", re.MULTILINE)
ROW = re.compile(r"^\| (T\d+\.\d+) \| ([^|]+) \| (.+) \|$")
# `tests/x.py`, `tests/x.py::test_y`, or `::test_y` / `…::test_y` naming a test of the last file
NAMED = re.compile(r"`(?:(tests/[\w/]+\.py)(?:::(test_\w+))?|…?::(test_\w+))`")


def references(text: str, last_file: str | None = None) -> tuple[list[str], str | None]:
    """The tests `text` names, as `file` or `file::name`, in order; and the last file named."""
    found = []
    for match in NAMED.finditer(text):
        path, name, repeated = match.groups()
        if path:
            last_file = path
            found.append(f"{path}::{name}" if name else path)
        else:
            assert last_file, f"`::{repeated}` before any file is named"
            found.append(f"{last_file}::{repeated}")
    return found, last_file


def readme_rows() -> dict[str, tuple[str, list[str]]]:
    """T-number → (the Tested-by cell, the tests it names), from README's section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, f"README.md has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            number, _requirement, cell = match.groups()
            assert number not in rows, f"README names {number} twice"
            rows[number] = (cell, references(cell)[0])
    return rows


def docs_requirements() -> dict[str, list[str]]:
    """T-number → the tests docs/security.md names in that requirement's paragraph."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    requirements: dict[str, list[str]] = {}
    last_file = None
    current = None
    for line in text.splitlines():
        match = REQUIREMENT.match(line)
        if match:
            current = match.group(1)
            requirements[current] = []
        elif not line.startswith("  "):  # a paragraph ends where the next unindented line starts
            current = None
        named, last_file = references(line, last_file)
        if current:
            requirements[current] += named
    return requirements


@functools.cache
def _tests_in(path: str) -> frozenset[str]:
    """The names pytest collects in a test file: `test_*` functions at module level or in a `Test*` class."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {f"{node.name}::{n.name}" for n in node.body
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")}
    return frozenset(names)


def missing(reference: str) -> str | None:
    """Why `reference` names no collectable test, or None."""
    path, _, name = reference.partition("::")
    if not pathlib.PurePosixPath(path).name.startswith("test_"):
        return f"{reference}: pytest collects only files named test_*.py"
    if not (ROOT / path).is_file():
        return f"{reference}: no such file"
    if name and name not in _tests_in(path):
        return f"{reference}: no such test in {path}"
    if not name and not _tests_in(path):
        return f"{reference}: the file holds no test"
    return None


def test_readme_lists_every_requirement_once():
    rows, requirements = readme_rows(), docs_requirements()
    assert len(requirements) > 70  # the parse found docs/security.md's requirements
    absent = [n for n in requirements if n not in rows]
    unknown = [n for n in rows if n not in requirements]
    assert not absent, f"README's {HEADING!r} lacks {absent}: add a row for each (docs/security.md)"
    assert not unknown, f"README names requirements docs/security.md does not have: {unknown}"


def test_every_test_the_readme_names_exists_and_belongs_to_its_requirement():
    requirements = docs_requirements()
    problems = []
    for number, (cell, named) in readme_rows().items():
        in_docs = set(requirements.get(number, ()))
        if not named:
            if not cell.startswith("not tested"):
                problems.append(f"{number}: name a test, or say \"not tested: …\"")
            if in_docs:
                problems.append(f"{number}: README says not tested, docs/security.md names {sorted(in_docs)}")
        for reference in named:
            if why := missing(reference):
                problems.append(f"{number}: {why}")
            elif reference not in in_docs:
                problems.append(f"{number}: docs/security.md does not name {reference} for {number}")
    assert not problems, "\n".join(problems)


def test_every_test_docs_security_names_exists():
    requirements = docs_requirements()
    assert sum(map(len, requirements.values())) > 100  # the parse found the tests
    problems = [f"{number}: {why}" for number, named in requirements.items() for reference in named
                if (why := missing(reference))]
    assert not problems, "\n".join(problems)
