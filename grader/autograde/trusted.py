"""Scores computed where the student's code cannot reach: in the grading process itself.

For every graded cell the gradebook's own definition (grade id, points, the instructor's
source) decides how it is scored, never the submitted notebook:

- **item cells** (``item_<id>_<task>``): scored with :mod:`grader.scoring` from
  ``responses.json`` *as submitted*, read before the kernel starts, against the instructor
  bank. The kernel's own run of the cell (its visible "is it answered?" check) counts for
  nothing: whatever it prints, returns or raises, the item earns what its answer earns.
- **code checks** (test cells that ``hand_in`` values): the instructor's whole test cell,
  visible and hidden checks, runs here on the values the kernel handed out as data
  (:mod:`grader.handin`). A value never handed in scores 0.
- **anything else** with a test (an old-style cell without ``hand_in``) keeps the score the
  kernel gave it, and the run says so: that score could be forged.

Each trusted cell's outputs in the graded notebook are replaced by the grader's own
verdict, so feedback shows what was really scored (``feedback="full"`` adds the item's
rationale; ``"scores"``, the default, keeps assessment keys out of feedback).
"""

from __future__ import annotations

import ast
import html
from dataclasses import dataclass
from pathlib import Path

from grader import gradecells, handin

FEEDBACK_MODES = ("scores", "full")


@dataclass(frozen=True)
class TestCell:
    """A graded cell as the instructor's gradebook defines it."""

    notebook: str
    grade_id: str
    points: float
    kind: str
    """item, code (a trusted check on handed-in values), written, or kernel
    (scored in the kernel)."""
    source: str = ""


@dataclass(frozen=True)
class Verdict:
    points: float
    text: str
    """What the student is told, in plain words (no hidden test code)."""
    answered: bool = True
    """False when there was nothing to score: no answer saved, or no value handed in."""
    visible_failed: bool = False
    """A code check whose visible checks fail on the values handed in."""


def test_cells(gradebook_url: str, assignment: str) -> list[TestCell]:
    """Every graded cell of ``assignment``, read from the instructor's gradebook."""
    from nbgrader import api

    cells = []
    with api.Gradebook(gradebook_url) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            sources = {cell.name: cell for cell in notebook.source_cells}
            for cell in notebook.grade_cells:
                source = sources[cell.name].source if cell.name in sources else ""
                if gradecells.parse_item(cell.name):
                    kind = "item"
                elif (
                    cell.cell_type == "markdown"
                    or not sources.get(cell.name)
                    or not sources[cell.name].locked
                ):
                    kind = "written"
                elif gradecells.is_code_check(source):
                    kind = "code"
                else:
                    kind = "kernel"
                cells.append(
                    TestCell(notebook.name, cell.name, float(cell.max_score), kind, source)
                )
    return cells


def read_answers(folder: Path, max_bytes: int) -> tuple[dict, str]:
    """The submitted answers (item id -> task -> value) and a note when they cannot be used."""
    from grader.answers import FILENAME, AnswerStore, AnswerStoreError

    path = Path(folder) / FILENAME
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return {}, f"{FILENAME} is not a plain file, so the items it answers score 0"
    if path.exists() and path.stat().st_size > max_bytes:
        return (
            {},
            f"{FILENAME} is over the course's file-size limit, so the items it answers score 0",
        )
    try:
        document = AnswerStore(folder).load()
    except AnswerStoreError as error:
        return (
            {},
            f"{FILENAME} cannot be read, so the items it answers score "
            f"0: {str(error).split(' Your answers')[0]}",
        )
    return {
        item: {task: entry["value"] for task, entry in tasks.items()}
        for item, tasks in document["answers"].items()
    }, ""


def score_item(cell: TestCell, answers: dict, feedback: str) -> Verdict:
    """An item cell's points from the submitted answer, scored against the instructor bank."""
    from grader.errors import AnswerError
    from grader.scoring import score

    item_id, task = gradecells.parse_item(cell.grade_id)
    value = answers.get(item_id, {}).get(task)
    if value is None:
        return Verdict(
            0.0, f"Item {item_id}: not answered. 0 of {cell.points:g} points.", answered=False
        )
    try:
        result = score(item_id, task, value, points=cell.points)
    except AnswerError as error:
        return Verdict(
            0.0,
            f"Item {item_id}: the saved answer does not fit the task ({error}). "
            f"0 of {cell.points:g} points.",
        )
    text = f"Item {item_id}: {result.points:g} of {cell.points:g} points."
    if feedback == "full":
        text += "\n" + result.feedback
    return Verdict(result.points, text)


def run_check(cell: TestCell, values: dict, feedback: str) -> Verdict:
    """Run the instructor's test cell here, on the values the kernel handed in.

    It passes (full points, or the number its last expression gives, as nbgrader reads a
    test cell) unless it raises. Only messages the instructor wrote are shown; in "scores"
    feedback a failed hidden check is not described.
    """
    names = gradecells.handed_names(cell.source)
    missing = [n for n in names if n not in values]
    if missing:
        return Verdict(
            0.0,
            f"Not passed: {', '.join(missing)} was not handed in (the cell did not run to "
            f"its end). 0 of {cell.points:g} points.",
            answered=False,
        )
    tree = ast.parse(cell.source, filename=f"<{cell.grade_id}>")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = {"__name__": "__dialectic_check__", **{n: values[n] for n in names}}
    hidden_from = _hidden_start(cell.source)
    try:
        exec(compile(tree, f"<{cell.grade_id}>", "exec"), namespace)  # noqa: S102 - the instructor's code
        result = (
            eval(compile(ast.Expression(last.value), f"<{cell.grade_id}>", "eval"), namespace)
            if last
            else None
        )
    except Exception as error:  # noqa: BLE001 - a failing check of any kind is a failed test
        line = _line_of(error, cell.grade_id)
        said = str(error).strip()
        if feedback == "full" or (line is not None and line < hidden_from):
            why = f"{type(error).__name__}: {said}" if said else type(error).__name__
        else:
            why = "one of the checks that are not shown did not pass"
        return Verdict(
            0.0,
            f"Not passed: {why}. 0 of {cell.points:g} points.",
            visible_failed=line is not None and line < hidden_from,
        )
    points = cell.points
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        points = max(0.0, min(float(result), cell.points))
    return Verdict(points, f"Passed: {points:g} of {cell.points:g} points.")


def read_handins(folder: Path, cells: list[TestCell]) -> tuple[dict, list[str]]:
    """The values handed in for the code checks of ``cells``;
    unreadable ones are noted and left out."""
    values, notes = {}, []
    for cell in cells:
        for name in gradecells.handed_names(cell.source):
            if name in values:
                continue
            path = Path(folder) / f"{name}.json"
            if not path.is_file() or path.is_symlink():
                continue
            try:
                values |= handin.read_file(path)
            except handin.HandInError as error:
                notes.append(
                    f"{cell.grade_id}: the value handed in could not be "
                    f"read, so it scores 0: {error}"
                )
    return values, notes


def as_output(verdict: Verdict) -> dict:
    """The graded notebook's output for a trusted cell: the grader's verdict,
    nothing of the kernel's."""
    import nbformat

    body = html.escape(verdict.text).replace("\n", "<br>")
    return nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": (
                f"<div class='dialectic-verdict'><b>Scored by the grader:</b> {body}</div>"
            ),
            "text/plain": verdict.text,
        },
    )


def _hidden_start(source: str) -> int:
    """The line number where the hidden tests begin (a number past the end when there are none)."""
    match = gradecells.HIDDEN_TESTS.search(source)
    return source[: match.start()].count("\n") + 1 if match else source.count("\n") + 2


def _line_of(error: BaseException, filename: str) -> int | None:
    traceback, line = error.__traceback__, None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == f"<{filename}>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
