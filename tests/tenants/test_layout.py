"""`tenants/` is one sub-package per subject (docs/architecture.md, the package map): no module sits
at its top level, and each sub-package is a package with a docstring saying what its subject is."""

from __future__ import annotations

import ast
import pathlib

TENANTS = pathlib.Path(__file__).resolve().parents[2] / "tenants"


def test_tenants_holds_sub_packages_only():
    loose = sorted(p.name for p in TENANTS.glob("*.py") if p.name != "__init__.py")
    assert not loose, f"a module at the top of tenants/ belongs in its subject's sub-package: {loose}"
    packages = [p for p in TENANTS.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert {"tenancy", "pupils", "photos", "roster", "registry", "transfers", "mail"} <= {p.name for p in packages}
    for package in packages:
        init = package / "__init__.py"
        assert init.is_file(), f"tenants/{package.name}/ is not a package"
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"tenants/{package.name}/__init__.py does not say what its subject is"
