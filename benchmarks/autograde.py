"""Benchmark: `dialectic autograde` against plain `nbgrader autograde`, side by side.

    .venv/bin/python benchmarks/autograde.py [--students 30] [--workers 2]

Builds one simulated cohort for two assignments (60 submissions by default), grades a copy
of it with plain `nbgrader autograde` and another copy with `dialectic autograde`, checks
that every cell's score is identical, and prints both times and the speedup. It also runs
one graded notebook with bare nbclient, the floor a grader cannot go below, and prints the
per-notebook overhead of each grader above it. Machines are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from nbgrader.api import Gradebook  # noqa: E402

from grader.autograde import DEFAULT_WORKERS, autograde_cohort, check_isolation  # noqa: E402
from grader.demo import nbgrader, prepare_course  # noqa: E402
from grader.simulate import simulate_cohort  # noqa: E402

ASSIGNMENTS = ("m02_empathic_process", "m07_alliance_and_the_spectrum")
TARGET = 2.5


def cells(course: Path) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            (a, s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
            for a in ASSIGNMENTS
            for s in gb.assignment_submissions(a)
            for n in s.notebooks
            for g in n.grades
        }


def floor_seconds(course: Path, assignment: str, repeats: int = 3) -> float:
    """Bare nbclient on one graded notebook: kernel start, every cell, nothing else."""
    folder = next((course / "autograded").iterdir()) / assignment
    times = []
    for _ in range(repeats):
        nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
        started = time.perf_counter()
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=120,
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        ).execute()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--students", type=int, default=30, help="students per assignment (default 30)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"dialectic autograde's workers (default {DEFAULT_WORKERS}, as the command's)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dialectic-autograde-bench-"))
    try:
        base = prepare_course(root / "base")
        for assignment in ASSIGNMENTS:
            nbgrader(base, "generate_assignment", assignment, "--force")
            simulate_cohort(base, assignment, args.students, seed=42)
        plain, ours = root / "plain", root / "ours"
        shutil.copytree(base, plain)
        shutil.copytree(base, ours)
        n = args.students * len(ASSIGNMENTS)

        started = time.perf_counter()
        for assignment in ASSIGNMENTS:
            nbgrader(plain, "autograde", assignment)
        plain_s = time.perf_counter() - started

        started = time.perf_counter()
        autograde_cohort(
            ours, ASSIGNMENTS, workers=args.workers
        )  # `dialectic autograde m02_... m07_...`
        ours_s = time.perf_counter() - started

        same = cells(plain) == cells(ours)
        floor = sum(floor_seconds(plain, a) for a in ASSIGNMENTS) / len(ASSIGNMENTS)
        print(
            f"{n} submissions ({args.students} students x {len(ASSIGNMENTS)} assignments), "
            f"{args.workers} workers, {os.cpu_count()} cores"
        )
        print(f"dialectic autograde ran every kernel sandboxed; {check_isolation(ours).summary()}")
        print(f"plain nbgrader autograde:  {plain_s:7.1f} s  ({plain_s / n:5.2f} s per submission)")
        print(
            f"dialectic autograde:       {ours_s:7.1f} s  "
            f"({ours_s / n:5.2f} s per submission, wall clock)"
        )
        print(
            f"speedup:                   {plain_s / ours_s:7.2f}x  (target >= {TARGET}x: "
            f"{'met' if plain_s / ours_s >= TARGET else 'MISSED'})"
        )
        cores = os.cpu_count() or 1
        print(
            f"bare nbclient, one notebook: {floor:5.2f} s  -> overhead per notebook: nbgrader "
            f"{plain_s / n - floor:+.2f} s (one process), dialectic "
            f"{ours_s / n * cores - floor:+.2f} s (core-seconds, {cores} cores busy)"
        )
        print(f"identical scores in every cell: {'yes' if same else 'NO'}")
        return 0 if same else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
