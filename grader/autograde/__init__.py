"""Cohort autograding that student code cannot forge, with nbgrader's own autograde underneath.

nbgrader grades one submission at a time (jupyter/nbgrader#174), runs hidden tests in the
student's kernel beside the student's code (so that code can change its own grade), shows
hidden tests in feedback (#917) and runs student code with the instructor's permissions
(#483). Here:

- **Trusted scores.** Items are scored in the grading process from ``responses.json`` as
  submitted; code tasks hand their values out of the kernel as data and the instructor's
  checks run here on them. The kernel never sees a hidden test or an assessment key.
- **Sandboxed kernels**: no network; the course, the instructor bank and other submissions
  hidden; nothing writable but its own folder; limits on CPU, memory, files, processes.
- **Parallel, resumable, single writer**: long-lived workers grade against a gradebook
  snapshot; one writer merges; finished grades survive Ctrl-C; manual grades are never touched.
- **Faults are recorded, not fatal**, and whatever a submission did that an honest one does
  not is named in the run's notes.

One module per concern:

=====================  ================================================================
``run``                the cohort: queue, one-run lock, merge as results arrive
``policy``             what the kernel may see; the course's timeout; the isolation checks
``workers``            local worker processes, or a Dask cluster
``submission``         one submission: scratch course, nbgrader in-process, trusted scores
``trusted``            item scoring and code checks outside the kernel; feedback verdicts
``hidden``             hidden tests removed from what the kernel runs
``chart_images``       charts' static images drawn once per run, not in every kernel
``inspection``         what makes a submission ungradable, what to note, what to repair
``gradebook``          the snapshot, reading results back, the single writer
``notes``              what the instructor hears about a run
``tasks``              what crosses process boundaries
=====================  ================================================================

The grade-id and test-cell conventions live in :mod:`grader.gradecells`; the data-only
hand-in format in :mod:`grader.handin`.
"""

from grader.autograde.gradebook import graded_before, record_path
from grader.autograde.policy import check_isolation, course_timeout, grading_policy
from grader.autograde.run import DEFAULT_WORKERS, autograde_cohort, submissions
from grader.autograde.tasks import Outcome
from grader.autograde.trusted import FEEDBACK_MODES

__all__ = [
    "DEFAULT_WORKERS",
    "FEEDBACK_MODES",
    "Outcome",
    "autograde_cohort",
    "check_isolation",
    "course_timeout",
    "graded_before",
    "grading_policy",
    "record_path",
    "submissions",
]
