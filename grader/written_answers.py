"""The written answers of a course, as nbgrader's autograde step left them.

A written answer is a markdown cell that nbgrader marks as a manually graded answer
(``grade`` and ``solution`` true), found in ``autograded/<student>/<assignment>/*.ipynb``.
Its grade id names the vignette it answers: ``free_text_rc_020`` answers item ``rc-020``.
Cells still holding nbgrader's placeholder, or nothing, are unanswered and left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.errors import GraderError
from grader.gradecells import parse_written
from grader.pseudonyms import answer_id, course_secret

#: What nbgrader leaves in a written-answer cell the student never touched.
PLACEHOLDER = "YOUR ANSWER HERE"


@dataclass(frozen=True)
class WrittenAnswer:
    """One student's answer in one manually graded markdown cell."""

    answer_id: str
    student_id: str
    assignment: str
    notebook: str
    grade_id: str
    vignette: str
    """The item id the answer responds to ("" when the grade id does not name one)."""
    text: str


@dataclass(frozen=True)
class Collected:
    """The answered written answers, and how many cells were left unanswered."""

    answers: tuple[WrittenAnswer, ...]
    unanswered: int

    def by_id(self) -> dict[str, WrittenAnswer]:
        return {a.answer_id: a for a in self.answers}


def vignette_of(grade_id: str) -> str:
    """The item id a written-answer grade id names: ``free_text_rc_020`` -> ``rc-020``."""
    return parse_written(grade_id) or ""


def is_unanswered(text: str) -> bool:
    return text.strip() in ("", PLACEHOLDER)


def normalized(text: str) -> str:
    """Text as compared across a spreadsheet round trip: line endings and outer spaces aside."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def collect(course: Path | str, assignment: str | None = None) -> Collected:
    """Every answered written answer in ``course/autograded`` (of one assignment, if given)."""
    course = Path(course)
    root = course / "autograded"
    if not root.is_dir():
        raise GraderError(f"{root} does not exist: run `nbgrader autograde` in {course} first.")
    secret = course_secret(course)
    answers: list[WrittenAnswer] = []
    unanswered = 0
    for student, name, notebook, cell in _cells(root, assignment):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if is_unanswered(cell.source):
            unanswered += 1
            continue
        answers.append(
            WrittenAnswer(
                answer_id(secret, student, name, grade_id),
                student,
                name,
                notebook.name,
                grade_id,
                vignette_of(grade_id),
                cell.source,
            )
        )
    seen: dict[str, WrittenAnswer] = {}
    for a in answers:
        other = seen.setdefault(a.answer_id, a)
        if other is not a:  # 32-bit codes: vanishingly rare, but a silent mix-up would be worse
            raise GraderError(
                f"answer id {a.answer_id} is shared by two answers; delete "
                f"{course / 'ratings' / '.secret'} before any rating is stored, then export again."
            )
    return Collected(tuple(sorted(answers, key=lambda a: a.answer_id)), unanswered)


def _cells(
    root: Path, assignment: str | None
) -> Iterator[tuple[str, str, Path, nbformat.NotebookNode]]:
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        if assignment and folder.name != assignment:
            continue
        for notebook in sorted(folder.glob("*.ipynb")):
            try:
                nb = nbformat.read(notebook, as_version=4)
            except Exception as exc:  # nbformat raises several unrelated types for a damaged file
                raise GraderError(f"{notebook}: cannot be read as a notebook ({exc})") from exc
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                    yield folder.parent.name, folder.name, notebook, cell
