"""What crosses process boundaries while a cohort is graded: a task, its result, its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader import sandbox


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission."""

    student_id: str
    status: str
    """graded, failed (could not be graded: zero points, flagged) or skipped (done before)."""
    reason: str = ""
    """Why it failed, in a sentence or two."""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    """What the instructor should know about a graded submission (edited tests, timeouts, ...)."""
    assignment: str = ""


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to grade one submission."""

    course: Path
    assignment: str
    student_id: str
    snapshot: Path
    """The gradebook snapshot of this run, hidden tests already removed (:mod:`.hidden`)."""
    work: Path
    student_bank: Path
    """The student edition of the item bank: the only bank the kernel sees."""
    timeout: int
    policy: sandbox.Policy
    cells: tuple = ()
    """The assignment's graded cells as the instructor's gradebook defines them
    (:class:`.trusted.TestCell`)."""
    feedback: str = "scores"
    """What feedback shows of a trusted verdict: "scores", or "full" (item rationales too)."""
    images_drawn_once: bool = False
    """True when the run draws the assignment's chart images once and adds them to each
    graded notebook (:mod:`.chart_images`): the kernel then draws none."""


@dataclass
class Graded:
    """One submission's results, as nbgrader and the trusted scoring computed them."""

    assignment: str
    student_id: str
    ok: bool
    reason: str
    scratch: Path
    seconds: float
    timestamp: object = None
    grades: list = field(default_factory=list)
    """(grade id, notebook, auto score, needs manual grade) for every graded cell."""
    comments: list = field(default_factory=list)
    notebooks: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def failed(task: Task, reason: str, notes: list | None = None, seconds: float = 0.0) -> Graded:
    """The result of a submission that could not be graded."""
    return Graded(
        task.assignment, task.student_id, False, reason, scratch(task), seconds, notes=notes or []
    )


def scratch(task: Task) -> Path:
    """The private scratch course one submission is graded in."""
    return task.work / task.assignment / task.student_id
