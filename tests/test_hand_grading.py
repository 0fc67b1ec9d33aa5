"""One rule for hand grades not yet given, on a real nbgrader gradebook.

Four students on m07 (13 autograded points, a written answer worth 20):
- ``pending_strong`` and ``pending_weak`` wrote an answer nobody has graded yet;
- ``blank`` left the written answer blank, which nbgrader scores 0 (a real grade);
- ``graded`` has had the written answer graded by hand.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbgrader import api

from grader import analytics, cohort_view, lms_export
from grader.hand_grading import AWAITING_HAND_GRADING, awaiting_hand_grading, score_text
from grader.paths import REPO_ROOT
from grader.report import build_report

ASSIGNMENT = "m07_alliance_and_the_spectrum"
WRITTEN = "free_text_rw_020"
#: autograded points scored (of 13), and the written answer: (auto_score, manual_score,
#: needs_manual_grade)
STUDENTS = {
    "pending_strong": (10, (None, None, True)),
    "pending_weak": (4, (None, None, True)),
    "blank": (13, (0.0, None, False)),
    "graded": (10, (None, 15.0, False)),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("hand-grading")
    os.environ["PATH"] = (
        f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # alembic
    )
    nb = nbformat.read(REPO_ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cells = [
        (c.metadata.nbgrader["grade_id"], c.metadata.nbgrader["points"], c.cell_type)
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
    with api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        for name, points, cell_type in cells:
            gb.add_grade_cell(name, ASSIGNMENT, ASSIGNMENT, max_score=points, cell_type=cell_type)
        for student, (auto_points, (auto, manual, needs)) in STUDENTS.items():
            gb.add_student(student, first_name=student.title(), last_name="Example")
            gb.add_submission(ASSIGNMENT, student)
            left = auto_points
            for name, points, _ in cells:
                grade = gb.find_grade(name, ASSIGNMENT, ASSIGNMENT, student)
                if name == WRITTEN:
                    grade.auto_score, grade.manual_score, grade.needs_manual_grade = (
                        auto,
                        manual,
                        needs,
                    )
                else:
                    grade.auto_score, left = min(points, left), left - min(points, left)
                    grade.needs_manual_grade = False
            gb.db.commit()
    return course


@pytest.fixture(scope="module")
def data(course):
    return analytics.load_cohort(course)


def test_the_rule_on_one_grade_and_on_a_column():
    assert awaiting_hand_grading(True, None) is True
    assert awaiting_hand_grading(True, 12.0) is False
    assert awaiting_hand_grading(False, None) is False  # e.g. a blank answer nbgrader scored 0
    column = awaiting_hand_grading(
        pd.Series([True, True, False, None]), pd.Series([None, 3.0, None, None])
    )
    assert column.tolist() == [True, False, False, False]
    assert score_text(6, 13, 1) == f"46% (1 answer {AWAITING_HAND_GRADING})"
    assert score_text(13, 33, 0) == "39%"
    assert score_text(0, 0, 1) == AWAITING_HAND_GRADING


def test_a_pending_answer_has_no_score_and_leaves_the_denominator(data):
    written = data.grades[data.grades["grade_id"] == WRITTEN].set_index("student_id")
    assert written["awaiting"].to_dict() == {
        "pending_strong": True,
        "pending_weak": True,
        "blank": False,
        "graded": False,
    }
    assert written["score"].isna().tolist() == [s.startswith("pending") for s in written.index]
    scores = analytics.module_scores(data).set_index("student_id")
    assert scores.loc[
        "pending_strong", ["score", "max_score", "awaiting", "awaiting_points"]
    ].tolist() == [10, 13, 1, 20]
    assert scores.loc["blank", ["score", "max_score", "awaiting"]].tolist() == [13, 33, 0]
    assert scores.loc["graded", "percent"] == pytest.approx(25 / 33)


def test_support_flags_say_what_awaits_grading(data):
    support = cohort_view.support_table(data).set_index("student_id")
    assert "pending_strong" not in support.index and "graded" not in support.index
    assert (
        support.loc["pending_weak", "support"]
        == f"31% of graded points, so far (1 answer {AWAITING_HAND_GRADING})"
    )
    assert support.loc["blank", "support"] == "39% of graded points"
    assert support.loc["pending_weak", "awaiting"] == 1


def test_canvas_leaves_a_pending_grade_blank_and_the_export_names_it(course, data, tmp_path):
    rows = list(csv.reader(io.StringIO(lms_export.canvas_csv(data))))
    body = {r[2]: r[5] for r in rows[2:]}
    assert body == {"pending_strong": "", "pending_weak": "", "blank": "13", "graded": "25"}
    done = lms_export.export_grades(data, course, "canvas", tmp_path / "canvas.csv")
    assert sorted(done.awaiting["student_id"]) == ["pending_strong", "pending_weak"]
    research = pd.read_csv(io.StringIO(lms_export.research_csv(data, course)))
    assert sorted(research["awaiting_hand_grading"]) == [0, 0, 1, 1]
    assert set(research.loc[research["awaiting_hand_grading"] == 1, "max_score"]) == {13}


def test_export_command_says_what_is_pending(course, tmp_path, capsys):
    from grader.cli import main

    assert (
        main(
            [
                "export",
                "--format",
                "canvas",
                "--course",
                str(course),
                "--out",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"2 grades left blank in the file, with answers {AWAITING_HAND_GRADING}:" in out
    assert f"{ASSIGNMENT}: pending_strong, pending_weak" in out


def test_report_shows_pending_answers_never_as_zero(course, tmp_path):
    page = build_report(course, tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"2 written answers are {AWAITING_HAND_GRADING}" in page
    assert "from 4 students and 1 assignment." in page
    support = page[
        page.index("data-table='support'") : page.index(
            "</table>", page.index("data-table='support'")
        )
    ]
    assert "pending_weak" in support and "4 of 13" in support and "13 of 33" in support
