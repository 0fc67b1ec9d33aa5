"""Shared fixtures: a private copy of the item bank that a test may damage."""

from __future__ import annotations

import shutil
import subprocess
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
def graded_course(tmp_path_factory) -> Path:
    """A course directory in which one assignment went through the real nbgrader pipeline."""
    from grader.demo import prepare_course, run_assignment

    course = prepare_course(tmp_path_factory.mktemp("graded") / "course")
    run_assignment(course, GRADED_ASSIGNMENT, students=GRADED_STUDENTS, seed=11)
    return course


GRADED_ASSIGNMENT = "m07_alliance_and_the_spectrum"
GRADED_STUDENTS = 12
