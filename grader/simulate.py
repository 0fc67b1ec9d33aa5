"""The cohort simulator: realistic submissions of synthetic students, for tests, the demo and
benchmarks.

``simulate_cohort`` writes one submission per simulated student into
``submitted/<student>/<assignment>/``, as nbgrader's collect step would: the released
notebook with code and written answers filled in, and the ``responses.json`` its widgets
would have saved. Students differ in ability, in which way their misses lean (toward
collusion or confrontation), in how far they got (complete, half done, blank), and in the
quality of their written answers. The same seed always gives the same cohort, byte for byte.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

from grader import answers as answer_file
from grader.errors import GraderError
from grader.gradecells import REQUIRE_CALL
from grader.itembank import MARKERS, PATTERNS, ItemBank, Vignette, load_bank

LEANS = ("collusive", "confrontational", "balanced")
#: Share of students who hand in nothing, and who stop half way.
BLANK_SHARE, HALF_SHARE = 0.07, 0.13
DIFFICULTY_SHIFT = {"beginner": 0.8, "intermediate": 0.0, "advanced": -0.8}
#: The moment every simulated answer is dated from, so that output is reproducible.
EPOCH = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
#: A collected submission's answer file is readable by the course's graders, as nbgrader copies it.
SUBMITTED_FILE_MODE = 0o644


@dataclass(frozen=True)
class SimulatedStudent:
    """Who a simulated student is; ``ability`` is on a logit scale around 0."""

    student_id: str
    ability: float
    lean: str
    completion: str


def roster(n: int, seed: int) -> list[SimulatedStudent]:
    """``n`` students drawn from ``seed``: abilities, leans and completion differ."""
    if n < 1:
        raise GraderError("a cohort needs at least one student")
    rng = random.Random(f"roster:{seed}")
    students = []
    for number in range(1, n + 1):
        draw = rng.random()
        completion = (
            "blank"
            if draw < BLANK_SHARE
            else "half"
            if draw < BLANK_SHARE + HALF_SHARE
            else "complete"
        )
        students.append(
            SimulatedStudent(
                f"s{number:03d}", round(rng.gauss(0, 1), 3), rng.choice(LEANS), completion
            )
        )
    return students


def simulate_cohort(
    course_dir: Path | str,
    assignment: str,
    students: int = 30,
    seed: int = 1,
    *,
    bank: ItemBank | None = None,
    progress=None,
) -> list[SimulatedStudent]:
    """Write ``students`` simulated submissions of ``assignment`` into ``course_dir/submitted``.

    Needs the released notebooks (``release/<assignment>``, from ``nbgrader
    generate_assignment``) and the source (``exercises/<assignment>``) for the model code.
    Existing submissions of the same students are replaced; others are left alone.
    ``progress`` is called with each student once that student's submission is written.
    """
    course_dir = Path(course_dir)
    bank = bank or load_bank()
    release = course_dir / "release" / assignment
    source = course_dir / "exercises" / assignment
    notebooks = sorted(release.glob("*.ipynb"))
    if not notebooks:
        raise GraderError(
            f"No released notebooks in {release}: run `nbgrader generate_assignment "
            f"{assignment}` in {course_dir} first."
        )
    cohort = roster(students, seed)
    for student in cohort:
        rng = random.Random(f"{seed}:{assignment}:{student.student_id}")
        folder = course_dir / "submitted" / student.student_id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        document = answer_file.empty_document()
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            model = nbformat.read(source / path.name, as_version=4)
            _fill(nb, model, student, rng, bank, document)
            nbformat.write(nb, folder / path.name)
        if document["answers"]:
            answer_file.write_document(folder, document, new_mode=SUBMITTED_FILE_MODE)
        else:
            (folder / answer_file.FILENAME).unlink(missing_ok=True)
        (folder / "timestamp.txt").write_text(
            (EPOCH + timedelta(hours=int(student.student_id[1:]))).strftime(
                "%Y-%m-%d %H:%M:%S.%f %Z"
            ),
            encoding="utf-8",
        )
        if progress:
            progress(student)
    return cohort


def keyed_answers(nb: nbformat.NotebookNode, bank: ItemBank | None = None) -> dict:
    """The answer file a student who answers every item of ``nb`` as keyed would save."""
    bank = bank or load_bank()
    document = answer_file.empty_document()
    for number, (item_id, task) in enumerate(tasks_of(nb)):
        item = bank.item(item_id)
        value = {
            "choose": item.best.response_id,
            "spectrum": {r.response_id: r.spectrum_position for r in item.responses},
            "marker": {"rupture_type": item.rupture_type, "marker": item.marker_3rs},
            "pattern": item.attachment_pattern,
        }[task]
        answer_file.add_answer(document, item_id, task, value, _saved_at(number))
    return document


def keyed_answers_file(notebook: Path | str, folder: Path | str) -> Path:
    """Write the keyed ``responses.json`` for ``notebook`` into ``folder`` (for solution runs)."""
    document = keyed_answers(nbformat.read(Path(notebook), as_version=4))
    return answer_file.write_document(folder, document, new_mode=SUBMITTED_FILE_MODE)


def tasks_of(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The (item id, task) pairs a notebook's autograder tests check, in order."""
    return [
        pair
        for cell in nb.cells
        if cell.cell_type == "code"
        for pair in REQUIRE_CALL.findall(cell.source)
    ]


def _saved_at(number: int) -> str:
    """When the ``number``-th answer of a notebook was saved: three minutes apart from EPOCH."""
    return (EPOCH + timedelta(minutes=3 * number)).isoformat(timespec="seconds")


def _fill(
    nb, model, student: SimulatedStudent, rng: random.Random, bank: ItemBank, document: dict
) -> None:
    """Answer the notebook as ``student`` would: widget answers, code, written answers."""
    if student.completion == "blank":
        return
    pairs = tasks_of(nb)
    if student.completion == "half":
        pairs = pairs[: max(1, len(pairs) // 2)]
    for number, (item_id, task) in enumerate(pairs):
        answer_file.add_answer(
            document,
            item_id,
            task,
            _answer(bank.item(item_id), task, student, rng),
            _saved_at(number),
        )
    models = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in model.cells}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code":
            if student.completion == "half" or rng.random() > _chance(student.ability + 0.5):
                wrong = rng.random() < 0.5
                if wrong:
                    cell.source = _wrong_code(models[meta["grade_id"]].source)
            else:
                cell.source = _solution_code(models[meta["grade_id"]].source)
        elif (
            cell.cell_type == "markdown" and meta.get("grade") and student.completion == "complete"
        ):
            item_id = meta["grade_id"].removeprefix("free_text_").replace("_", "-")
            cell.source = _written_answer(bank.item(item_id), student, rng)


def _chance(logit: float) -> float:
    return 1 / (1 + math.exp(-logit))


def _answer(item: Vignette, task: str, student: SimulatedStudent, rng: random.Random):
    p = _chance(1.2 * student.ability + DIFFICULTY_SHIFT[item.difficulty])
    lean = {"collusive": -1, "confrontational": 1, "balanced": 0}[student.lean]
    if task == "choose":
        if rng.random() < p:
            return item.best.response_id
        others = [r for r in item.responses if r is not item.best]
        weights = [
            (2.0 if r.spectrum_position == 0 else 1.0 if abs(r.spectrum_position) == 1 else 0.5)
            * (3.0 if lean and r.spectrum_position * lean > 0 else 1.0)
            for r in others
        ]
        return rng.choices(others, weights)[0].response_id
    if task == "spectrum":
        placed = {}
        for r in item.responses:
            if rng.random() < p:
                placed[r.response_id] = r.spectrum_position
            else:
                step = lean if lean and rng.random() < 0.7 else rng.choice((-1, 1))
                placed[r.response_id] = max(-2, min(2, r.spectrum_position + step))
        return placed
    if task == "marker":
        if rng.random() < p:
            return {"rupture_type": item.rupture_type, "marker": item.marker_3rs}
        if item.rupture_type in MARKERS and rng.random() < 0.6:
            wrong = [m for m in MARKERS[item.rupture_type] if m != item.marker_3rs]
            return {"rupture_type": item.rupture_type, "marker": rng.choice(wrong)}
        kind = rng.choice([k for k in ("none", *MARKERS) if k != item.rupture_type])
        return {
            "rupture_type": kind,
            "marker": "none" if kind == "none" else rng.choice(MARKERS[kind]),
        }
    if task == "pattern":
        if rng.random() < p:
            return item.attachment_pattern
        return rng.choice([x for x in PATTERNS if x != item.attachment_pattern])
    raise GraderError(f"cannot simulate an answer to task {task!r}")


_SOLUTION = re.compile(
    r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M
)


def _solution_code(source: str) -> str:
    """The model answer as a student would type it: the solution without its markers."""
    return _SOLUTION.sub(lambda m: m.group(1), source)


def _wrong_code(source: str) -> str:
    """A plausible wrong attempt: the variable the solution defines is left empty."""

    def wrong(match: re.Match) -> str:
        names = [
            t.id
            for node in ast.walk(ast.parse(match.group(1)))
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        ]
        return "".join(f"{name} = None  # not worked out yet\n" for name in dict.fromkeys(names))

    return _SOLUTION.sub(wrong, source)


def _written_answer(item: Vignette, student: SimulatedStudent, rng: random.Random) -> str:
    """A written answer whose quality follows ability: deep, surface, or off the attuned point."""
    draw = rng.random()
    good = _chance(student.ability)
    if draw < good * 0.6:
        chosen = item.best
    elif draw < good:
        surface = [r for r in item.responses if r.spectrum_position == 0 and r is not item.best]
        chosen = surface[0] if surface else item.best
    else:
        chosen = rng.choice([r for r in item.responses if r.spectrum_position != 0])
    return chosen.text
