"""The nbgrader assignments: their shape, and the whole grading pipeline with real nbgrader.

In a scratch course directory, every assignment: generate_assignment -> release_assignment
-> a simulated cohort of three plus a model-solution and a blank submission ->
`dialectic autograde` (all seven in one queue) -> generate_feedback -> export. Scores are
checked against grader.scoring computed here, independently of nbgrader.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.itembank import load_bank
from grader.paths import REPO_ROOT
from grader.rubric import as_markdown as rubric_markdown
from grader.scoring import score
from grader.simulate import keyed_answers, roster, simulate_cohort, tasks_of

EXERCISES = REPO_ROOT / "exercises"
ASSIGNMENTS = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
# nbgrader's own command line, without an unused 1.7 s grammar build (grader/nbgrader_cli.py)
NBGRADER = [sys.executable, "-m", "grader.nbgrader_cli"]
# nbgrader runs `alembic` by name: the environment's bin/ must be on PATH
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
}
# Every assertion is per student, so a cohort is as good as the kinds of student in it: this
# seed draws one of each completion (complete, half, blank) and one of each lean, and with the
# model solution and the blank copy the run grades five notebooks an assignment (enough for
# the grader to draw the release's charts once, as it does for a real cohort).
COHORT, SEED = 3, 3
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)


def _grade_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


# -- shape ---------------------------------------------------------------------------------


def test_one_assignment_per_content_module():
    assert ASSIGNMENTS == [
        "m02_empathic_process",
        "m03_intersubjectivity",
        "m04_rupture_repair",
        "m05_relational_psychoanalysis",
        "m06_attachment_and_the_therapist",
        "m07_alliance_and_the_spectrum",
        "m08_integration",
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_shape(assignment):
    nb = _notebook(assignment)
    nbformat.validate(nb)
    bank = load_bank()
    grades = _grade_cells(nb)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    pairs = tasks_of(nb)
    assert len(pairs) >= 5
    for item_id, _ in pairs:
        assert bank.item(item_id).split == "assessment", f"{item_id} is not an assessment item"
    for cell in grades:
        if cell.cell_type == "code":
            assert cell.source.lstrip().startswith('"""'), (
                f"{cell.metadata['nbgrader']['grade_id']} has no docstring"
            )
            assert HIDDEN.search(cell.source), (
                f"{cell.metadata['nbgrader']['grade_id']} has no hidden tests"
            )
    code_tasks = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert code_tasks and all("### BEGIN SOLUTION" in c.source for c in code_tasks)
    written = [
        c for c in grades if c.cell_type == "markdown" and c.metadata["nbgrader"].get("solution")
    ]
    assert written, "needs a manually graded written answer"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert rubric_markdown() in text, "the rubric shown must be grader.rubric's"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "charts." in code, "feedback should carry at least one chart"
    for cell in nb.cells:
        visible = HIDDEN.sub("", cell.source)
        for item_id, _ in pairs:
            best = bank.item(item_id).best
            assert best.response_id not in visible and best.rationale[:50] not in visible


def test_assignments_do_not_share_items():
    seen: dict[str, str] = {}
    for assignment in ASSIGNMENTS:
        for item_id in {i for i, _ in tasks_of(_notebook(assignment))}:
            assert item_id not in seen, f"{item_id} is in {seen.get(item_id)} and {assignment}"
            seen[item_id] = assignment


# -- the pipeline --------------------------------------------------------------------------


def test_the_pipeline_cohort_has_every_kind_of_student():
    students = roster(COHORT, SEED)
    assert {s.completion for s in students} == {"complete", "half", "blank"}
    assert {s.lean for s in students} == {"collusive", "balanced", "confrontational"}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*NBGRADER, *args], cwd=course, capture_output=True, text=True, timeout=3000, env=ENV
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root)
    shutil.copytree(EXERCISES, root / "exercises")
    (root / "exchange").mkdir()
    return root


def _hand_in(course: Path, assignment: str, student: str, *, solved: bool) -> None:
    """The model solution (keyed answers, solution code, best response as the written answer)
    or a blank copy."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    released = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    if solved:
        source = _notebook(assignment)
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
        bank = load_bank()
        for cell in released.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                cell.source = by_id[meta["grade_id"]].source
            elif meta.get("solution"):
                cell.source = bank.item(
                    meta["grade_id"].removeprefix("free_text_").replace("_", "-")
                ).best.text
        (folder / "responses.json").write_text(
            json.dumps(keyed_answers(released)), encoding="utf-8"
        )
    nbformat.write(released, folder / f"{assignment}.ipynb")


def _expected_item_points(folder: Path, nb) -> dict[str, float]:
    """Points per item test cell, computed with grader.scoring straight from responses.json."""
    path = folder / "responses.json"
    answers = json.loads(path.read_text(encoding="utf-8"))["answers"] if path.exists() else {}
    expected = {}
    for cell in _grade_cells(nb):
        meta = cell.metadata["nbgrader"]
        found = re.search(r'require_answer\("([a-z]{2}-\d{3})", "(\w+)"\)', cell.source)
        if not found:
            continue
        item_id, task = found.groups()
        entry = answers.get(item_id, {}).get(task)
        expected[meta["grade_id"]] = (
            score(item_id, task, entry["value"], points=meta["points"]).points if entry else 0.0
        )
    return expected


@pytest.fixture(scope="module")
def pipeline(course) -> Path:
    """Every assignment through the whole pipeline, each nbgrader step run once for all seven
    (nbgrader takes seconds to start): generate, release each, a cohort each, one
    `dialectic autograde` of all seven in one queue, generate_feedback, export."""
    _nbgrader(course, "generate_assignment", "m*", "--force")
    for assignment in ASSIGNMENTS:
        _nbgrader(
            course,
            "release_assignment",
            assignment,
            "--force",
            f"--Exchange.root={course / 'exchange'}",
        )
        simulate_cohort(course, assignment, COHORT, SEED)
        _hand_in(course, assignment, "solution", solved=True)
        _hand_in(course, assignment, "blank", solved=False)
    graded = subprocess.run(
        [
            str(Path(sys.executable).parent / "dialectic"),
            "autograde",
            *ASSIGNMENTS,
            "--force",
            "--feedback",
            "full",
            "--course",
            str(course),
        ],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    everyone = len(ASSIGNMENTS) * (COHORT + 2)
    assert f"{everyone} graded, 0 could not be graded" in graded.stdout, graded.stdout
    _nbgrader(course, "generate_feedback", "m*", "--force")
    _nbgrader(course, "export", f"--to={course / 'grades.csv'}")
    return course


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_pipeline_end_to_end(pipeline, assignment):
    course = pipeline
    _assert_release_holds_no_keys(course / "release" / assignment, assignment)
    outbound = course / "exchange" / "empathic-dialectic" / "outbound" / assignment
    assert (outbound / f"{assignment}.ipynb").exists(), "release_assignment released nothing"

    source = _notebook(assignment)
    autograded_max = sum(
        c.metadata["nbgrader"]["points"] for c in _grade_cells(source) if c.cell_type == "code"
    )
    students = [f"s{n:03d}" for n in range(1, COHORT + 1)]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:

        def auto(student: str) -> dict[str, float]:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
            return {g.name: g.auto_score for g in notebook.grades if g.cell.cell_type == "code"}

        assert sum(auto("solution").values()) == pytest.approx(autograded_max)
        assert sum(auto("blank").values()) == 0
        for student in students:
            expected = _expected_item_points(course / "submitted" / student / assignment, source)
            got = auto(student)
            for grade_id, points in expected.items():
                assert got[grade_id] == pytest.approx(points), (student, grade_id)

    _assert_feedback_teaches(course, assignment, source)
    assert not list((course / "feedback").rglob(".dialectic*")), (
        "grader bookkeeping reached the students"
    )
    with open(course / "grades.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["assignment"] == assignment]
    assert {r["student_id"] for r in rows} >= {"solution", "blank", *students}


def _assert_release_holds_no_keys(release: Path, assignment: str) -> None:
    """No released file may contain an assessment key, rationale or hidden-test text."""
    bank = load_bank()
    assessment = bank.ids(split="assessment")
    secrets = set()
    for item_id in assessment:
        item = bank.item(item_id)
        secrets |= {r.rationale for r in item.responses} | {item.best.response_id}
        for key in (item.attachment_pattern, item.marker_3rs):
            if key and key != "none":
                secrets.add(f'"{key}"')
    for block in HIDDEN.findall("\n".join(c.source for c in _notebook(assignment).cells)):
        secrets |= {line.strip() for line in block.splitlines() if len(line.strip()) > 12}
    files = [p for p in release.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{path} contains {leaked[0][:80]}"


def _assert_feedback_teaches(course: Path, assignment: str, source) -> None:
    page = (course / "feedback" / "solution" / assignment / f"{assignment}.html").read_text(
        encoding="utf-8"
    )
    text = html.unescape(page)
    bank = load_bank()
    for item_id, _ in tasks_of(source):
        assert bank.item(item_id).best.rationale in text, (
            f"feedback lacks the rationale of {item_id}"
        )
    assert "<svg" in page or "data:image/svg+xml;base64," in page, (
        "feedback should show the charts as images"
    )
    hidden = {
        line.strip()
        for block in HIDDEN.findall("\n".join(c.source for c in source.cells))
        for line in block.splitlines()
        if len(line.strip()) > 12
    }
    assert not [line for line in hidden if line in text], "feedback shows hidden test code"
    for student in ("s001", "blank"):
        assert (course / "feedback" / student / assignment / f"{assignment}.html").exists()


@pytest.mark.slow
def test_validate_names_unanswered_items(pipeline):
    course, assignment = pipeline, "m07_alliance_and_the_spectrum"
    complete = course / "submitted" / "solution" / assignment / f"{assignment}.ipynb"
    blank = course / "submitted" / "blank" / assignment / f"{assignment}.ipynb"
    passed = subprocess.run(
        [*NBGRADER, "validate", str(complete)], capture_output=True, text=True, timeout=600, env=ENV
    )
    assert "Success! Your notebook passes all the tests." in passed.stdout, passed.stdout[-2000:]
    failed = subprocess.run(
        [*NBGRADER, "validate", str(blank)], capture_output=True, text=True, timeout=600, env=ENV
    )
    for item_id, _ in tasks_of(_notebook(assignment)):
        assert f"Item {item_id} is not answered yet" in failed.stdout, failed.stdout[-2000:]
