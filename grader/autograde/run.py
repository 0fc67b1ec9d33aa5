"""Grade a cohort: one queue of submissions across assignments, results merged as they arrive."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.autograde import chart_images, gradebook, trusted
from grader.autograde.hidden import strip_hidden_tests
from grader.autograde.policy import course_timeout, grading_policy
from grader.autograde.tasks import Outcome, Task
from grader.autograde.workers import run_locally, run_on_cluster
from grader.errors import GraderError
from grader.file_lock import locked

#: One worker more than there are cores: a worker waits on its kernel's messages and on
#: starting the next kernel, and a third worker on two cores used that idle time (20
#: submissions: 26.5 s against 28.2 s with two workers; four workers were no faster).
DEFAULT_WORKERS = (os.cpu_count() or 2) + 1


def submissions(course: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``, in order."""
    root = Path(course) / "submitted"
    return (
        sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []
    )


def autograde_cohort(
    course: Path | str,
    assignments: str | Sequence[str],
    *,
    workers: int = DEFAULT_WORKERS,
    timeout: int | None = None,
    force: bool = False,
    students: list[str] | None = None,
    scheduler: str | None = None,
    sandboxed: bool = True,
    feedback: str = "scores",
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Autograde every (or every listed) student's submission of one or more assignments.

    Several assignments share one queue and one set of workers, so none waits for another
    to finish. ``timeout`` (seconds a cell may run) defaults to the course's own
    ``Execute.timeout``. With ``scheduler`` (a Dask distributed scheduler address), the
    per-submission grading runs on that cluster's workers (one thread each: nbgrader sets
    environment variables while it grades); the course directory must be on a file system
    the workers share. Merging into the gradebook stays here, in one writer.
    ``sandboxed=False`` keeps only the limits and timeouts (the kernels then see and may
    write what the grader may). ``feedback`` is "scores" (the default: graded notebooks and
    feedback show each item's points, no key) or "full" (the items' rationales too).
    """
    from grader.editions import write_student_edition

    if feedback not in trusted.FEEDBACK_MODES:
        raise GraderError(
            f"feedback must be one of {', '.join(trusted.FEEDBACK_MODES)}, not {feedback!r}."
        )
    course = Path(course).resolve()
    names = [assignments] if isinstance(assignments, str) else list(assignments)
    book = course / "gradebook.db"
    if not book.exists():
        raise GraderError(
            f"No gradebook at {book}: run `nbgrader generate_assignment {names[0]}` first."
        )
    chosen = {
        a: [s for s in submissions(course, a) if students is None or s in students] for a in names
    }
    for assignment, found in chosen.items():
        if not found:
            raise GraderError(f"No submissions of {assignment} in {course / 'submitted'}.")
    timeout = timeout or course_timeout(course)
    with _one_run_at_a_time(course):
        work = course / ".dialectic" / "autograde"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        snapshot = work / "gradebook.db"
        gradebook.snapshot(book, snapshot)
        strip_hidden_tests(f"sqlite:///{snapshot}", names)
        bank = write_student_edition(work / "student-bank")
        policy = grading_policy(course, timeout, sandboxed, bank)
        outcomes, todo = [], []
        with chart_images.ReferenceImages(course, bank, timeout) as images:
            for assignment, found in chosen.items():
                cells = tuple(trusted.test_cells(f"sqlite:///{book}", assignment))
                students = []
                for student in found:
                    if not force and gradebook.graded_before(course, assignment, student):
                        outcome = Outcome(
                            student, "skipped", "graded in an earlier run", assignment=assignment
                        )
                        outcomes.append(outcome)
                        if progress:
                            progress(outcome)
                    else:
                        students.append(student)
                if (
                    len(students) >= chart_images.FROM_SUBMISSIONS
                    and (course / "release" / assignment).is_dir()
                ):
                    images.draw(assignment)  # in the background, while the workers grade
                todo += [
                    Task(
                        course,
                        assignment,
                        student,
                        snapshot,
                        work,
                        bank,
                        timeout,
                        policy,
                        cells,
                        feedback,
                        images.drawn_for(assignment),
                    )
                    for student in students
                ]
            run = run_on_cluster(todo, scheduler) if scheduler else run_locally(todo, workers)
            for graded in run:
                if graded.ok and images.drawn_for(graded.assignment):
                    produced = graded.scratch / "autograded" / graded.student_id / graded.assignment
                    graded.notes += images.add_to(graded.assignment, produced)
                outcome = gradebook.merge(course, graded)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
        shutil.rmtree(work, ignore_errors=True)
    return sorted(outcomes, key=lambda o: (names.index(o.assignment), o.student_id))


def _one_run_at_a_time(course: Path) -> contextlib.AbstractContextManager[None]:
    """Refuse a second autograde run in the same course while one is going (they share scratch)."""
    return locked(
        course / ".dialectic" / "autograde.lock",
        wait=False,
        held=f"Another `dialectic autograde` is running in {course}; wait for it to finish.",
    )
