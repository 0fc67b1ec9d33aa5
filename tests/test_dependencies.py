"""pyproject.toml and environment.yml list the same runtime dependencies."""

from __future__ import annotations

import re

import tomllib
import yaml

from grader.paths import REPO_ROOT


def _pip_specs() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = {}
    for requirement in project["dependencies"]:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        specs[name.lower()] = spec.replace(" ", "")
    return specs


def _conda_specs() -> dict[str, str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    specs = {}
    entries = []
    for entry in env["dependencies"]:
        # packages conda-forge lacks are listed under pip:, in pip's own syntax
        entries += (
            [e.replace("==", "=", 1) for e in entry.get("pip", []) if not e.startswith("-")]
            if isinstance(entry, dict)
            else [entry]
        )
    for entry in entries:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", entry).groups()
        if name not in ("python", "pip"):
            specs[name.lower()] = spec.replace(" ", "")
    return specs


def _as_pip(conda_spec: str) -> str:
    """conda's `=4.6` means pip's `==4.6.*`; `=0.9.6` with three parts means `==0.9.6`."""
    if conda_spec.startswith("=") and not conda_spec.startswith("=="):
        version = conda_spec[1:]
        return f"=={version}" if version.count(".") >= 2 else f"=={version}.*"
    return conda_spec


def test_same_packages_and_versions():
    pip, conda = _pip_specs(), _conda_specs()
    assert sorted(pip) == sorted(conda), (
        "environment.yml and pyproject.toml list different packages"
    )
    for name, spec in pip.items():
        assert _as_pip(conda[name]) == spec, (
            f"{name}: pyproject {spec!r} vs environment.yml {conda[name]!r}"
        )


def test_installed_versions_satisfy_the_pins():
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    for name, spec in _pip_specs().items():
        assert version(name) in SpecifierSet(spec), (
            f"{name} {version(name)} does not satisfy {spec}"
        )


def _imported_packages(folder) -> dict[str, str]:
    """Top-level names of the third-party modules imported anywhere under ``folder``, each
    with one file that imports it."""
    import ast
    import sys

    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != folder.name:
                    found.setdefault(top, str(path.relative_to(REPO_ROOT)))
    return found


def test_every_package_the_grader_imports_is_declared():
    """A package that grader/ imports is a runtime dependency in its own right, not only
    because another dependency happens to bring it today."""
    from importlib.metadata import packages_distributions

    declared = set(_pip_specs())
    distributions = packages_distributions()
    missing = {
        module: where
        for module, where in _imported_packages(REPO_ROOT / "grader").items()
        if not {d.lower().replace("_", "-") for d in distributions.get(module, [])} & declared
    }
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"
