"""The gradebook side of a run: a snapshot for the workers, one writer for the results.

Workers grade against a snapshot (SQLite is not safe for many writers); the coordinator's
thread alone writes each result into the real gradebook and moves the graded folder into
``autograded/``. Manual scores are never touched.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict
from pathlib import Path

from nbgrader import api
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SAWarning

from grader.atomic_file import write_atomically
from grader.autograde.tasks import Graded, Outcome


def record_path(course: Path, assignment: str, student: str) -> Path:
    """Where the outcome of a student's last autograde is kept (never in a folder students get)."""
    return Path(course) / ".dialectic" / "graded" / assignment / f"{student}.json"


def graded_before(course: Path, assignment: str, student: str) -> bool:
    """Whether an earlier run graded this submission and its graded folder is still there."""
    return (
        record_path(course, assignment, student).exists()
        and (Path(course) / "autograded" / student / assignment).is_dir()
    )


def snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite gradebook, even while another process reads it."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def read_results(db: Path, assignment: str, student: str) -> Graded:
    """What nbgrader stored for one submission in a scratch gradebook."""
    engine = create_engine(f"sqlite:///{db}")
    base = (api.SubmittedAssignment.student_id == student, api.Assignment.name == assignment)
    try:
        with engine.connect() as connection:
            timestamp = connection.execute(
                select(api.SubmittedAssignment.timestamp).join(api.Assignment).where(*base)
            ).scalar()
            grades = connection.execute(
                _up_to_submission(
                    select(
                        api.GradeCell.name,
                        api.Notebook.name,
                        api.Grade.auto_score,
                        api.Grade.needs_manual_grade,
                    )
                    .select_from(api.Grade)
                    .join(api.GradeCell, api.Grade.cell_id == api.GradeCell.id),
                    api.Grade.notebook_id,
                ).where(*base)
            ).all()
            comments = connection.execute(
                _up_to_submission(
                    select(api.BaseCell.name, api.Notebook.name, api.Comment.auto_comment)
                    .select_from(api.Comment)
                    .join(api.BaseCell, api.Comment.cell_id == api.BaseCell.id),
                    api.Comment.notebook_id,
                ).where(*base)
            ).all()
            notebooks = connection.execute(
                _up_to_submission(
                    select(
                        api.Notebook.name, api.SubmittedNotebook.late_submission_penalty
                    ).select_from(api.SubmittedNotebook),
                    None,
                ).where(*base)
            ).all()
    finally:
        engine.dispose()
    return Graded(
        assignment,
        student,
        True,
        "",
        Path(),
        0.0,
        timestamp,
        [tuple(g) for g in grades],
        [tuple(c) for c in comments],
        [tuple(n) for n in notebooks],
    )


def _up_to_submission(query, submitted_notebook_id):
    """Join a per-notebook row up to its notebook, submission and assignment (for filtering)."""
    if submitted_notebook_id is not None:
        query = query.join(api.SubmittedNotebook, submitted_notebook_id == api.SubmittedNotebook.id)
    return (
        query.join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
        .join(
            api.SubmittedAssignment,
            api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id,
        )
        .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id)
    )


def merge(course: Path, graded: Graded) -> Outcome:
    """Write one submission's results into the real gradebook and autograded/ (single writer)."""
    assignment = graded.assignment
    target = course / "autograded" / graded.student_id / assignment
    with warnings.catch_warnings(), api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # nbgrader's own update_or_create_submission trips an SQLAlchemy autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(graded.student_id)
        if graded.ok:
            submission = gb.update_or_create_submission(
                assignment, graded.student_id, timestamp=graded.timestamp
            )
            for grade_id, notebook, auto_score, needs_manual in graded.grades:
                grade = gb.find_grade(grade_id, notebook, assignment, graded.student_id)
                grade.auto_score = auto_score
                grade.needs_manual_grade = bool(needs_manual) or grade.manual_score is not None
            for cell, notebook, auto_comment in graded.comments:
                gb.find_comment(
                    cell, notebook, assignment, graded.student_id
                ).auto_comment = auto_comment
            for notebook, penalty in graded.notebooks:
                gb.find_submission_notebook(
                    notebook, assignment, graded.student_id
                ).late_submission_penalty = penalty
        else:
            submission = gb.update_or_create_submission(assignment, graded.student_id)
            for notebook in submission.notebooks:
                notebook.flagged = True  # the formgrader shows it to the instructor
                for grade in notebook.grades:
                    if grade.manual_score is None:
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = False
        gb.db.commit()
        submission = gb.find_submission(assignment, graded.student_id)
        score, max_score = float(submission.score), float(submission.max_score)
    produced = graded.scratch / "autograded" / graded.student_id / assignment
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if graded.ok and produced.exists():
        shutil.move(str(produced), str(target))
    else:
        source = course / "submitted" / graded.student_id / assignment
        shutil.copytree(source, target, symlinks=True)
        (target / "AUTOGRADE_FAILED.txt").write_text(
            f"nbgrader could not grade this submission; it scored 0.\nReason: {graded.reason}\n",
            encoding="utf-8",
        )
    outcome = Outcome(
        graded.student_id,
        "graded" if graded.ok else "failed",
        graded.reason,
        score,
        max_score,
        round(graded.seconds, 2),
        tuple(graded.notes),
        assignment,
    )
    # written last and in one step: its presence is what tells a rerun this submission is done
    write_atomically(
        record_path(course, assignment, graded.student_id), json.dumps(asdict(outcome), indent=1)
    )
    shutil.rmtree(graded.scratch, ignore_errors=True)
    return outcome
