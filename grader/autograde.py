"""Cohort autograding in parallel, with nbgrader's own autograde doing the grading.

nbgrader grades one submission at a time (jupyter/nbgrader#174) and SQLite is not safe for
many writers. Here each submission is graded by a real ``nbgrader autograde --student S``
in a private scratch course: its own copy of the gradebook (a snapshot of the real one,
taken once per run, so earlier manual grades are seen exactly as nbgrader would see them)
and a copy of that one submission. Many such runs go on at once. One writer, the caller's
thread, then copies what nbgrader computed (auto scores, needs-manual-grade flags, auto
comments, timestamps, late penalties) into the real gradebook and moves the graded folder
into ``autograded/``. Manual scores are never touched.

A finished submission leaves a marker; a later run skips it unless ``force`` is given, so
an interrupted run (Ctrl-C) keeps every finished grade and the next run does the rest.
A submission nbgrader cannot grade is recorded with its reason and zero points (flagged for
the instructor in the formgrader); the others are unaffected.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader import api
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SAWarning

from grader.errors import GraderError

MARKER = ".dialectic-autograde.json"
#: Seconds a single cell may run (nbgrader's Execute.timeout) unless the caller says otherwise.
DEFAULT_TIMEOUT = 60
#: A whole submission may take this many cell timeouts before it is stopped.
WALL_CLOCK_CELLS = 20


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission."""

    student_id: str
    status: str
    """graded, failed (nbgrader could not grade it: zero points, flagged) or skipped (done before)."""
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0


@dataclass
class _Graded:
    student_id: str
    ok: bool
    reason: str
    scratch: Path
    seconds: float
    timestamp: object = None
    grades: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    notebooks: list = field(default_factory=list)


def submissions(course: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``, in order."""
    root = Path(course) / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []


def autograde_cohort(course: Path | str, assignment: str, *, workers: int = 2, timeout: int = DEFAULT_TIMEOUT,
                     force: bool = False, students: list[str] | None = None, scheduler: str | None = None,
                     progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Autograde every (or every listed) submission of ``assignment`` in ``course``.

    With ``scheduler`` (a Dask distributed scheduler address), the per-submission grading runs
    on that cluster's workers instead of local threads; the course directory must be on a
    file system the workers share. Merging into the gradebook stays here, in one writer.
    """
    course = Path(course).resolve()
    gradebook = course / "gradebook.db"
    if not gradebook.exists():
        raise GraderError(f"No gradebook at {gradebook}: run `nbgrader generate_assignment {assignment}` first.")
    chosen = students or submissions(course, assignment)
    if not chosen:
        raise GraderError(f"No submissions of {assignment} in {course / 'submitted'}.")
    work = course / ".dialectic" / "autograde" / assignment
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    snapshot = work / "gradebook.db"
    _snapshot(gradebook, snapshot)
    outcomes = []
    todo = []
    for student in chosen:
        if not force and _marker(course, assignment, student).exists():
            outcome = Outcome(student, "skipped", "graded in an earlier run")
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        else:
            todo.append(student)
    with _executor(workers, scheduler) as (submit, completed):
        futures = [submit(_grade_in_scratch, course, assignment, s, snapshot, work, timeout) for s in todo]
        for future in completed(futures):
            outcome = _merge(course, assignment, future.result())
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    shutil.rmtree(work, ignore_errors=True)
    return sorted(outcomes, key=lambda o: o.student_id)


@contextlib.contextmanager
def _executor(workers: int, scheduler: str | None):
    """Local threads (each grading run is its own process anyway) or a Dask cluster.

    On leaving early (Ctrl-C, an error) the grading not yet merged is cancelled; what was
    merged stays.
    """
    if scheduler is None:
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            yield pool.submit, as_completed
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = Client(scheduler)
    try:
        # pure=False: the same submission may be graded again (e.g. --force) and must rerun
        yield (lambda fn, *a: client.submit(fn, *a, pure=False)), dask_completed
    finally:
        client.close()


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite gradebook, even while another process reads it."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _marker(course: Path, assignment: str, student: str) -> Path:
    return course / "autograded" / student / assignment / MARKER


def _grade_in_scratch(course: Path, assignment: str, student: str, snapshot: Path, work: Path,
                      timeout: int) -> _Graded:
    """Run nbgrader autograde on one submission in its own scratch course directory."""
    started = time.monotonic()
    scratch = work / student
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "submitted" / student).mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copy(snapshot, scratch / "gradebook.db")
    shutil.copytree(course / "submitted" / student / assignment, scratch / "submitted" / student / assignment,
                    symlinks=True)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(bin_dir / "nbgrader"), "autograde", assignment, "--student", student, "--force",
               f"--Execute.timeout={timeout}"]
    try:
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True,
                              timeout=timeout * WALL_CLOCK_CELLS + 120)
    except subprocess.TimeoutExpired:
        return _Graded(student, False, f"stopped after {timeout * WALL_CLOCK_CELLS + 120} s of wall-clock time",
                       scratch, time.monotonic() - started)
    log = done.stdout + done.stderr
    if done.returncode != 0 or "There was an error processing assignment" in log:
        return _Graded(student, False, _reason(log), scratch, time.monotonic() - started)
    graded = _read_results(scratch / "gradebook.db", assignment, student)
    graded.scratch, graded.seconds = scratch, time.monotonic() - started
    return graded


def _reason(log: str) -> str:
    """The most telling lines of a failed nbgrader run."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    telling = [line for line in lines if any(k in line for k in (
        "Error", "error", "Exception", "not valid", "missing", "Timeout", "timed out", "Kernel died"))]
    chosen = [line for line in telling if "Please see" not in line and "Traceback" not in line][-3:]
    return " | ".join(chosen or lines[-2:])[:600] or "nbgrader autograde failed without a message"


def _read_results(db: Path, assignment: str, student: str) -> _Graded:
    """What nbgrader stored for one submission in a scratch gradebook."""
    engine = create_engine(f"sqlite:///{db}")
    base = (api.SubmittedAssignment.student_id == student, api.Assignment.name == assignment)
    try:
        with engine.connect() as connection:
            timestamp = connection.execute(
                select(api.SubmittedAssignment.timestamp).join(api.Assignment).where(*base)).scalar()
            grades = connection.execute(_up_to_submission(
                select(api.GradeCell.name, api.Notebook.name, api.Grade.auto_score, api.Grade.needs_manual_grade)
                .select_from(api.Grade).join(api.GradeCell, api.Grade.cell_id == api.GradeCell.id),
                api.Grade.notebook_id).where(*base)).all()
            comments = connection.execute(_up_to_submission(
                select(api.BaseCell.name, api.Notebook.name, api.Comment.auto_comment)
                .select_from(api.Comment).join(api.BaseCell, api.Comment.cell_id == api.BaseCell.id),
                api.Comment.notebook_id).where(*base)).all()
            notebooks = connection.execute(_up_to_submission(
                select(api.Notebook.name, api.SubmittedNotebook.late_submission_penalty)
                .select_from(api.SubmittedNotebook), None).where(*base)).all()
    finally:
        engine.dispose()
    return _Graded(student, True, "", Path(), 0.0, timestamp, [tuple(g) for g in grades],
                   [tuple(c) for c in comments], [tuple(n) for n in notebooks])


def _up_to_submission(query, submitted_notebook_id):
    """Join a per-notebook row up to its notebook, submission and assignment (for filtering)."""
    if submitted_notebook_id is not None:
        query = query.join(api.SubmittedNotebook, submitted_notebook_id == api.SubmittedNotebook.id)
    return (query.join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
            .join(api.SubmittedAssignment, api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id)
            .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id))


def _merge(course: Path, assignment: str, graded: _Graded) -> Outcome:
    """Write one submission's results into the real gradebook and autograded/ (single writer)."""
    target = course / "autograded" / graded.student_id / assignment
    with warnings.catch_warnings(), api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # nbgrader's own update_or_create_submission trips an SQLAlchemy autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(graded.student_id)
        if graded.ok:
            submission = gb.update_or_create_submission(assignment, graded.student_id, timestamp=graded.timestamp)
            for grade_id, notebook, auto_score, needs_manual in graded.grades:
                grade = gb.find_grade(grade_id, notebook, assignment, graded.student_id)
                grade.auto_score = auto_score
                grade.needs_manual_grade = bool(needs_manual) or grade.manual_score is not None
            for cell, notebook, auto_comment in graded.comments:
                gb.find_comment(cell, notebook, assignment, graded.student_id).auto_comment = auto_comment
            for notebook, penalty in graded.notebooks:
                gb.find_submission_notebook(notebook, assignment, graded.student_id).late_submission_penalty = penalty
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
            f"nbgrader could not grade this submission; it scored 0.\nReason: {graded.reason}\n", encoding="utf-8")
    outcome = Outcome(graded.student_id, "graded" if graded.ok else "failed", graded.reason, score, max_score,
                      round(graded.seconds, 2))
    (target / MARKER).write_text(json.dumps(asdict(outcome), indent=1), encoding="utf-8")
    shutil.rmtree(graded.scratch, ignore_errors=True)
    return outcome
