"""The course modules: stored clean, built only from grader calls, and they run headless."""

from __future__ import annotations

import ast
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.itembank import load_bank
from grader.paths import REPO_ROOT

COURSE = REPO_ROOT / "course"
NOTEBOOKS = sorted(COURSE.glob("*.ipynb"))
MODULES = [nb for nb in NOTEBOOKS if not nb.name.startswith("09_")]
ITEM_ID = re.compile(r"""["']((?:ep|is|rw|rc|at)-\d{3})["']""")
ITEM_WIDGETS = ("SpectrumItem", "ChoiceItem", "MarkerItem", "PatternItem", "ComposeItem")
#: Seconds a module may take to execute, from kernel start to the last cell.
MODULE_BUDGET_S = 60


def _cells(path: Path, kind: str) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == kind]


def _ids(path: Path) -> list[str]:
    return [m for cell in _cells(path, "code") for m in ITEM_ID.findall(cell)]


def test_the_course_has_its_modules_in_order():
    names = [nb.stem for nb in NOTEBOOKS]
    assert names == [
        "01_orientation",
        "02_empathic_process",
        "03_intersubjectivity",
        "04_rupture_repair",
        "05_relational_psychoanalysis",
        "06_attachment_and_the_therapist",
        "07_alliance_and_the_spectrum",
        "08_integration",
        "09_my_progress",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_only_call_grader(path):
    """No helper code in cells: imports come from grader and statements are plain calls."""
    for source in _cells(path, "code"):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            assert not isinstance(
                node,
                (
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.ClassDef,
                    ast.Lambda,
                    ast.For,
                    ast.While,
                    ast.With,
                    ast.Try,
                ),
            ), (path.name, source)
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] == "grader" for a in node.names), (
                    path.name,
                    source,
                )
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] == "grader", (path.name, source)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_structure(path):
    text = "\n".join(_cells(path, "markdown"))
    code = "\n".join(_cells(path, "code"))
    for heading in ("Learning objectives", "Summary", "References"):
        assert re.search(rf"^#+ .*{heading}", text, re.MULTILINE | re.IGNORECASE), (
            path.name,
            heading,
        )
    assert sum(code.count(f"{w}(") for w in ITEM_WIDGETS) >= 3, path.name
    assert "charts." in code or "PhysiologyExplorer(" in code, f"{path.name} has no chart"
    assert "Reflection(" in code, f"{path.name} has no reflection prompt"
    assert len(text.split()) >= 1200, f"{path.name} has only {len(text.split())} words of text"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_items_are_practice_items(path):
    """The course is student-facing: it shows practice items only, never assessment items."""
    bank = load_bank()
    for item_id in _ids(path):
        assert bank.item(item_id).split == "practice", (
            f"{path.name} shows assessment item {item_id}"
        )


def test_no_practice_item_is_taught_twice():
    seen: dict[str, str] = {}
    for path in MODULES:
        for item_id in set(_ids(path)):
            assert item_id not in seen, f"{item_id} is in {seen.get(item_id)} and {path.name}"
            seen[item_id] = path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_module_executes_headless(path, tmp_path):
    """Run every cell in a real kernel, in a scratch folder, within the time budget."""
    shutil.copy(path, tmp_path / path.name)
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=MODULE_BUDGET_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    assert elapsed < MODULE_BUDGET_S, f"{path.name} took {elapsed:.1f} s"
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    # merely showing items must not write answers
    assert not (tmp_path / "responses.json").exists()
