"""Shared fixtures: a private copy of the item bank that a test may damage, and courses that
are built once per test run and shared by every test (and every pytest-xdist worker) that
reads them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from grader import paths

BANK = paths.REPO_ROOT / "datasets" / "item_bank"


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    """A copy of the instructor item bank in a temporary folder."""
    target = tmp_path / "item_bank"
    shutil.copytree(BANK, target)
    return target


@pytest.fixture
def dialectic(capsys):
    """Run ``dialectic ARGS...`` in this process (``grader.cli.main``) and report it as a finished
    process would: exit code, stdout and stderr. A subprocess per case would only add seconds."""
    from grader.cli import main

    def run(*args) -> subprocess.CompletedProcess:
        capsys.readouterr()  # output from before the command is not the command's
        try:
            code = main([str(a) for a in args])
        except SystemExit as exited:  # --help, --version and usage errors leave through argparse
            code = exited.code if isinstance(exited.code, int) else 0 if exited.code is None else 1
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["dialectic", *map(str, args)], code, out, err)

    return run


def edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (row 1 = first data row) of a CSV table, keeping everything else."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 1, column] = value
    frame.to_csv(path, index=False, lineterminator="\n")


@pytest.fixture(scope="session")
def build_once(tmp_path_factory, worker_id) -> Callable[[str, Callable[[Path], None]], Path]:
    """``build_once(name, build)``: the folder ``build(folder)`` filled, built once per run.

    Under pytest-xdist every worker is a separate process with its own session fixtures, so a
    session fixture alone would build the same graded course once per worker. The folder
    lives beside the workers' own temporary folders; a lock makes the other workers wait for
    the first one's build and then use it. A build that failed is retried by the next test
    that asks (and fails there too, naming its own error). Tests must not change what they
    get: copy it first (``shutil.copytree``) when a test writes.
    """
    from grader.file_lock import locked

    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # xdist's fixture; .../pytest-N/popen-gw0 -> .../pytest-N
        root = root.parent
    shared = root / "shared"

    def build(name: str, make: Callable[[Path], None]) -> Path:
        folder, done = shared / name, shared / f"{name}.done"
        with locked(shared / f"{name}.lock"):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                make(folder)
                done.touch()
        return folder

    return build


@pytest.fixture(scope="session")
def graded_course(build_once) -> Path:
    """A course directory in which one assignment went through the real nbgrader pipeline."""
    from grader.demo import prepare_course, run_assignment

    def build(folder: Path) -> None:
        course = prepare_course(folder / "course")
        run_assignment(course, GRADED_ASSIGNMENT, students=GRADED_STUDENTS, seed=11)

    return build_once("graded", build) / "course"


GRADED_ASSIGNMENT = "m07_alliance_and_the_spectrum"
GRADED_STUDENTS = 12


#: The test files that take longest, longest first (from `--durations` in CI). Under
#: pytest-xdist (`make test`) each file runs whole on one worker, handed out in collection
#: order: starting the long ones first keeps one worker from being left with a long file at
#: the end while the others have nothing to do. Without xdist the order changes nothing.
LONGEST_FIRST = (
    "test_browser.py",
    "test_hub.py",
    "test_browser_notebook7.py",
    "test_exercises.py",
    "test_autograde.py",
    "test_autograde_faults.py",
    "test_autograde_forgery.py",
    "test_site.py",
    "test_analytics.py",
    "test_lab.py",
    "test_cli.py",
    "test_rater_browser.py",
    "test_ratings.py",
    "test_course.py",
)


def pytest_collection_modifyitems(items) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: keeps the rest
