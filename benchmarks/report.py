"""Benchmark: the cohort report on a synthetic gradebook of 1,000 students x 7 assignments.

    .venv/bin/python benchmarks/report.py [--students 1000] [--keep DIR]

Builds a real nbgrader gradebook (SQLite) with every grade cell of the course's seven
assignments, a submission per student per assignment with plausible scores, and the
students' responses.json files; then times, in the same run:

- baseline: reading every grade through nbgrader's object API (Gradebook.find_submission
  and its notebooks and grades), the way `nbgrader export` walks a gradebook;
- grader.analytics.load_cohort: the same grades in one SQL query, plus the answer files;
- the whole report (`dialectic report`), which must stay under 10 s here.

It prints the figures and the ratio; machines are noisy, so compare ratios across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
from nbgrader import api
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# nbgrader's Gradebook runs `alembic` by name: make this environment's bin/ findable
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

from grader import analytics  # noqa: E402
from grader.demo import assignments  # noqa: E402
from grader.itembank import load_bank  # noqa: E402
from grader.report import build_report  # noqa: E402
from grader.simulate import keyed_answers  # noqa: E402

TARGET_S = 10.0


def build_gradebook(course: Path, students: int, seed: int = 7, url: str | None = None) -> None:
    """A gradebook (SQLite in ``course`` unless ``url`` names another database) and the answer
    files for ``students`` students on every assignment."""
    rng = random.Random(seed)
    bank = load_bank()
    url = url or f"sqlite:///{course / 'gradebook.db'}"
    cells: dict[str, list[dict]] = {}
    with api.Gradebook(url) as gb:
        for a in assignments(ROOT / "exercises"):
            nb = nbformat.read(ROOT / "exercises" / a / f"{a}.ipynb", as_version=4)
            gb.add_assignment(a)
            gb.add_notebook(a, a)
            cells[a] = []
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade"):
                    made = gb.add_grade_cell(
                        meta["grade_id"], a, a, max_score=meta["points"], cell_type=cell.cell_type
                    )
                    cells[a].append(
                        {
                            "id": made.id,
                            "name": meta["grade_id"],
                            "max": meta["points"],
                            "type": cell.cell_type,
                        }
                    )
            cells[a].append({"answers": keyed_answers(nb, bank)})
        notebooks = {a: gb.find_notebook(a, a).id for a in cells}
        assignment_ids = {a: gb.find_assignment(a).id for a in cells}
    student_rows = [
        {
            "id": f"s{n:04d}",
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "email": f"s{n:04d}@example.edu",
            "lms_user_id": str(100000 + n),
        }
        for n in range(1, students + 1)
    ]
    submissions, sub_notebooks, grades = [], [], []
    for student in student_rows:
        ability = rng.gauss(0, 1)
        for a, cell_list in cells.items():
            sub_id, nb_id = _uuid(rng), _uuid(rng)
            submissions.append(
                {
                    "id": sub_id,
                    "assignment_id": assignment_ids[a],
                    "student_id": student["id"],
                    "timestamp": None,
                    "extension": None,
                }
            )
            sub_notebooks.append(
                {
                    "id": nb_id,
                    "assignment_id": sub_id,
                    "notebook_id": notebooks[a],
                    "flagged": False,
                    "late_submission_penalty": None,
                }
            )
            for cell in cell_list[:-1]:
                p = 1 / (1 + pow(2.718, -(ability + rng.gauss(0, 1))))
                score = round(cell["max"] * min(1.0, max(0.0, p + rng.gauss(0, 0.15))) * 4) / 4
                written = cell["type"] == "markdown"
                grades.append(
                    {
                        "id": _uuid(rng),
                        "notebook_id": nb_id,
                        "cell_id": cell["id"],
                        "auto_score": None if written else score,
                        "manual_score": score if written else None,
                        "extra_credit": None,
                        "needs_manual_grade": False,
                    }
                )
            folder = course / "autograded" / student["id"] / a
            folder.mkdir(parents=True)
            answers = json.loads(json.dumps(cell_list[-1]["answers"]))
            for item_id, tasks in answers["answers"].items():
                if "choose" in tasks and rng.random() > 0.6:
                    item = bank.item(item_id)
                    tasks["choose"]["value"] = rng.choice(item.responses).response_id
            (folder / "responses.json").write_text(json.dumps(answers), encoding="utf-8")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(api.Student.__table__), student_rows)
        connection.execute(insert(api.SubmittedAssignment.__table__), submissions)
        connection.execute(insert(api.SubmittedNotebook.__table__), sub_notebooks)
        connection.execute(insert(api.Grade.__table__), grades)
    engine.dispose()


def _uuid(rng: random.Random) -> str:
    """nbgrader's id format, drawn from the seed so two builds are identical."""
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def baseline_read(course: Path) -> int:
    """Every grade through nbgrader's object API, as `nbgrader export` reads a gradebook."""
    count = 0
    with api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                submission = gb.find_submission(assignment.name, student.id)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        count += grade.score is not None
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build the course here and keep it")
    args = parser.parse_args()
    course = args.keep or Path(tempfile.mkdtemp(prefix="dialectic-bench-"))
    course.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        build_gradebook(course, args.students)
        built = time.perf_counter() - started

        started = time.perf_counter()
        read = baseline_read(course)
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        data = analytics.load_cohort(course)
        ours = time.perf_counter() - started

        started = time.perf_counter()
        out = build_report(course, course / "report.html", pseudonymize=True)
        report = time.perf_counter() - started

        print(
            f"cohort: {args.students} students x {len(data.assignments)} assignments, "
            f"{len(data.grades):,} grades, {len(data.items):,} item answers"
        )
        print(f"build synthetic gradebook:        {built:7.2f} s")
        print(f"baseline read (nbgrader objects): {baseline:7.2f} s  ({read:,} grades)")
        print(
            f"grader.analytics.load_cohort:     {ours:7.2f} s  -> "
            f"{baseline / ours:.1f}x faster than baseline"
        )
        print(
            f"full report (--pseudonymize):     {report:7.2f} s  (target < {TARGET_S:.0f} s: "
            f"{'met' if report < TARGET_S else 'MISSED'}), {out.stat().st_size / 1e6:.1f} MB"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(course, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
