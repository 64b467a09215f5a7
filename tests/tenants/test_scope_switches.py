"""Every switch of tenant scope in the product's code is listed in `tenants.tenancy.scope_switches`.

The source of portal/, tenants/, printing/, reports/ and infra/ is walked with `ast`: every call
of `tenant_scope`, `set_tenant`, `unscoped` or `apply_settings` (under any name it was imported
as, or as an attribute of a module) and every `.set()` on the tenant ContextVars is counted per
"module:function". The counts must equal the table, and each entry's test must exist.
"""

from __future__ import annotations

import ast
import collections
import pathlib

from tenants.tenancy.scope_switches import CONTEXT_VARS
from tenants.tenancy.scope_switches import SWITCH_CALLS
from tenants.tenancy.scope_switches import SWITCHES

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "tenants", "printing", "reports", "infra")


def _aliases(tree: ast.Module) -> set[str]:
    """The local names the switching functions go by in one module (`from x import y as z`)."""
    names = set(SWITCH_CALLS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in SWITCH_CALLS and alias.asname:
                    names.add(alias.asname)
    return names


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str, names: set[str]) -> None:
        self.module, self.names, self.stack = module, names, []
        self.found: collections.Counter[str] = collections.Counter()

    def _scoped(self, node) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped  # noqa: N815 (ast's visitor names)

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        func = node.func
        switching = (isinstance(func, ast.Name) and func.id in self.names) or (
            isinstance(func, ast.Attribute) and func.attr in SWITCH_CALLS) or (
            isinstance(func, ast.Attribute) and func.attr == "set" and _names_context_var(func.value))
        if switching:
            self.found[f"{self.module}:{'.'.join(self.stack) or '<module>'}"] += 1
        self.generic_visit(node)


def _names_context_var(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in CONTEXT_VARS) or (
        isinstance(node, ast.Attribute) and node.attr in CONTEXT_VARS)


def find_switches(root: pathlib.Path = ROOT) -> collections.Counter[str]:
    found: collections.Counter[str] = collections.Counter()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue  # Alembic revisions: DDL run by the owner, no tenant at all
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            finder = _Finder(module, _aliases(tree))
            finder.visit(tree)
            found.update(finder.found)
    return found


def test_every_scope_switch_in_the_code_is_listed_with_its_reason():
    found = find_switches()
    listed = {key: switch.calls for key, switch in SWITCHES.items()}
    unlisted = {key: n for key, n in found.items() if key not in listed}
    assert not unlisted, f"tenant scope switched outside tenants/tenancy/scope_switches.py: {unlisted}"
    gone = sorted(key for key in listed if key not in found)
    assert not gone, f"listed in tenants/tenancy/scope_switches.py but no longer in the code: {gone}"
    changed = {key: (listed[key], n) for key, n in found.items() if listed[key] != n}
    assert not changed, f"(listed, found) calls differ: {changed}"


def test_each_switch_names_a_reason_and_a_test_that_exists():
    for key, switch in SWITCHES.items():
        assert len(switch.reason) > 20, key
        path, _sep, name = switch.test.partition("::")
        source = ROOT / path
        assert source.is_file(), (key, switch.test)
        tests = {node.name for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                 if isinstance(node, ast.FunctionDef)}
        assert name in tests, (key, switch.test)


def test_the_transfer_needs_no_other_schools_scope():
    """A pupil's transfer acts as each school in turn through the request row, never as the other."""
    assert not [key for key in find_switches() if key.startswith(
        ("tenants.transfers.operations:", "portal.school.transfers:"))]


def test_the_finder_sees_aliases_attributes_and_context_vars(tmp_path):
    """The walk cannot be dodged by renaming an import or calling through the module."""
    package = tmp_path / "tenants"
    package.mkdir()
    for name in PACKAGES:
        (tmp_path / name).mkdir(exist_ok=True)
    (package / "sneaky.py").write_text(
        "from tenants.tenancy.context import tenant_scope as ts\n"
        "from tenants import context\n\n"
        "class Job:\n"
        "    def run(self):\n"
        "        with ts(context.Tenant(school_id=2)):\n"
        "            pass\n"
        "        context.set_tenant(context.Tenant(school_id=3))\n"
        "        context._current.set(None)\n\n"
        "def helper():\n"
        "    with context.unscoped('x'):\n"
        "        pass\n", encoding="utf-8")
    assert find_switches(tmp_path) == {"tenants.sneaky:Job.run": 3, "tenants.sneaky:helper": 1}
