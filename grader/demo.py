"""The demo: the instructor's grading pipeline, step by step, with real nbgrader, on a simulated
cohort.

A scratch course directory gets this course's ``nbgrader_config.py`` and ``exercises/``;
each assignment then goes through generate_assignment, release_assignment (to a local
exchange), a simulated cohort, :func:`grader.autograde.autograde_cohort` (parallel,
sandboxed) and generate_feedback; finally the gradebook is exported to CSV. ``make demo``
runs it all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.autograde import autograde_cohort
from grader.errors import GraderError
from grader.paths import REPO_ROOT
from grader.report import build_report
from grader.simulate import simulate_cohort

STEPS = ("generate", "release", "simulate", "autograde", "feedback")
#: After every assignment: two simulated raters score the written answers, then the report.
FINAL_STEPS = ("export", "second ratings", "report")
RATERS = ("rater_a", "rater_b")


@dataclass(frozen=True)
class DemoResult:
    """Where a demo run left its results."""

    course: Path
    assignments: tuple[str, ...]
    grades_csv: Path
    feedback: Path
    report: Path


def assignments(exercises: Path | None = None) -> list[str]:
    """The assignment ids in the source directory, in order."""
    exercises = exercises or REPO_ROOT / "exercises"
    return sorted(p.name for p in exercises.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def prepare_course(course: Path) -> Path:
    """Make ``course`` an nbgrader course directory with this course's config and sources.

    Refuses a folder that already holds something other than an earlier demo. Returns the
    absolute path, so paths built on it mean the same inside and outside the course.
    """
    course = Path(course).resolve()  # nbgrader runs inside the course: a relative path would nest
    if course.exists() and any(course.iterdir()) and not (course / "nbgrader_config.py").exists():
        raise GraderError(
            f"{course} is not empty and is not a course directory; choose another folder."
        )
    course.mkdir(parents=True, exist_ok=True)
    for generated in ("release", "submitted", "autograded", "feedback", "exchange", "exercises"):
        shutil.rmtree(course / generated, ignore_errors=True)
    for stale in course.glob("gradebook.db*"):
        stale.unlink()
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(
        REPO_ROOT / "exercises",
        course / "exercises",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "README.md"),
    )
    (course / "exchange").mkdir()
    return course


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run one nbgrader command in ``course``; raise with its output when it fails.

    It is nbgrader's own command, started without an unused 1.7 s grammar build
    (:mod:`grader.nbgrader_cli`)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [sys.executable, "-m", "grader.nbgrader_cli", *args],
        cwd=course,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise GraderError(
            f"nbgrader {' '.join(args)} failed in "
            f"{course}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def run_assignment(
    course: Path,
    assignment: str,
    *,
    students: int,
    seed: int,
    feedback: str = "scores",
    step: Callable[[str, str], None] | None = None,
) -> None:
    """Take one assignment from source to feedback; ``step(assignment, name)`` reports progress.

    ``feedback`` is what graded notebooks show of each item (see :func:`autograde_cohort`).
    """

    def done(name: str) -> None:
        if step:
            step(assignment, name)

    nbgrader(course, "generate_assignment", assignment, "--force")
    done("generate")
    nbgrader(
        course,
        "release_assignment",
        assignment,
        "--force",
        f"--Exchange.root={course / 'exchange'}",
    )
    done("release")
    simulate_cohort(course, assignment, students, seed)
    done("simulate")
    autograde_cohort(course, assignment, force=True, feedback=feedback)
    done("autograde")
    nbgrader(course, "generate_feedback", assignment, "--force")
    done("feedback")


def run_demo(
    course: Path,
    *,
    students: int = 30,
    seed: int = 1,
    only: list[str] | None = None,
    step: Callable[[str, str], None] | None = None,
) -> DemoResult:
    """The whole instructor story in a scratch course directory."""
    course = prepare_course(course)
    chosen = only or assignments(course / "exercises")
    unknown = sorted(set(chosen) - set(assignments(course / "exercises")))
    if unknown:
        raise GraderError(f"No such assignment(s): {', '.join(unknown)}")
    for assignment in chosen:
        run_assignment(course, assignment, students=students, seed=seed, step=step)
    grades = course / "grades.csv"
    nbgrader(course, "export", f"--to={grades}")
    if step:
        step("all", "export")
    _second_ratings(course, seed)
    if step:
        step("all", "second ratings")
    report = build_report(course, course / "report.html")
    if step:
        step("all", "report")
    return DemoResult(course, tuple(chosen), grades, course / "feedback", report)


def _second_ratings(course: Path, seed: int) -> None:
    """Two simulated raters score every written answer on the rubric (blind sheets, imported)."""
    from grader import ratings

    for number, rater in enumerate(RATERS):
        sheet = course / "ratings" / f"{rater}-sheet.csv"
        ratings.simulate_ratings(course, rater, seed + number, sheet)
        ratings.import_sheet(course, sheet, rater, replace=True)
