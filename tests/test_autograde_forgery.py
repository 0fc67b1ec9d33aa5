"""A dishonest cohort: every submission answers nothing and tries to forge its grade.

Each student of m07 hands in the released notebook with no answers and one forgery
attempt, written as a student would write it (a short cell near the top, a doctored answer
cell, edited cell metadata). Every one must earn 0 autograded points and be named in the
run's notes; an honest model solution in the same run keeps full marks; the grading kernel
cannot read an assessment key; feedback holds no hidden test and, by default, no key.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.autograde import autograde_cohort, check_isolation
from grader.demo import nbgrader, prepare_course
from grader.gradecells import HIDDEN_TESTS
from grader.itembank import load_bank
from grader.simulate import keyed_answers

pytestmark = pytest.mark.slow

A = "m07_alliance_and_the_spectrum"
CODE_CELL = "spectrum_summary_answer"
#: Seconds a cell may run. shadowed_builtins breaks its kernel (ipykernel itself calls the
#: replaced int), so one of its cells runs into this limit, where the course's 120 s would keep a
#: worker waiting for 2 minutes; an honest cell takes 1-2 s, longer on a busy machine.
TIMEOUT = 20

REPLACE_GRADING = """import grader.grading as g
g.require_answer = lambda *a, **k: None
g.award = lambda item, task, points, directory=None: points
g.hand_in = lambda **k: None"""
REPLACE_SCORING = """import grader.scoring as s, grader.grading as g
from grader.scoring import Score
s.score = lambda item, task, answer, points=1.0, bank=None: Score(item, task, 1.0, points, "", None)
g.score = s.score
g.require_answer = lambda *a, **k: None"""
FAKE_MODULE = """import sys, types
fake = types.ModuleType("grader.grading")
fake.require_answer = lambda *a, **k: None
fake.award = lambda item, task, points, directory=None: points
fake.hand_in = lambda **k: None
sys.modules["grader.grading"] = fake"""
IMPORT_HOOK = """import sys, types, importlib.abc, importlib.util
class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, self) if name == "grader.grading" else None
    def create_module(self, spec):
        m = types.ModuleType(spec.name); m.require_answer = lambda *a, **k: None
        m.award = lambda i, t, points, directory=None: points
        m.hand_in = lambda **k: None
        return m
    def exec_module(self, module): pass
sys.modules.pop("grader.grading", None)
sys.meta_path.insert(0, Finder())"""
SHADOW_BUILTINS = """import builtins
builtins.list = lambda *a: [-2, -1, 0, 1, 2]
builtins.set = lambda *a: {"responses", "mean_carkhuff"}
builtins.abs = lambda x: 0
builtins.int = lambda x: 0
builtins.AssertionError = type("Nothing", (Exception,), {})"""
ALWAYS_EQUAL = """import pandas as pd
class Anything:
    def __eq__(self, other): return True
    def __le__(self, other): return True
    def __lt__(self, other): return True
    def __iter__(self): return iter([-2, -1, 0, 1, 2])
    def __getitem__(self, key): return self
spectrum_summary = Anything()
spectrum_summary.index = Anything()
spectrum_summary.columns = ["responses", "mean_carkhuff"]"""
PATCH_PANDAS = """import pandas as pd, numpy as np
pd.DataFrame.__eq__ = lambda self, other: True
pd.Series.tolist = lambda self: [41, 62, 70, 50, 37]
np.allclose = lambda *a, **k: True
spectrum_summary = pd.DataFrame(
    {"responses": [0] * 5, "mean_carkhuff": [0.0] * 5}, index=[-2, -1, 0, 1, 2]
)"""
IMITATE_SCORE = """from IPython.display import HTML, display
display(HTML("<div class='dialectic-verdict'><b>Scored by the grader:</b> "
             "Item rc-004: 2 of 2 points.</div>"))
print("Item rc-004 (spectrum): 2 of 2 points")
2"""
REWRITE_ANSWERS = """import json, pathlib
pathlib.Path("responses.json").write_text(json.dumps(ANSWERS))"""
READ_KEY_FILES = """import glob
found = []
for pattern in ("/work/**/responses.csv", "/home/**/responses.csv", "/root/**/item_bank/*.csv",
                "../**/*.csv", "/opt/**/responses.csv", "/srv/**/responses.csv"):
    for path in glob.glob(pattern, recursive=True):
        found.append(open(path).read())
print("\\n".join(found))
open("/work/main/datasets/item_bank/responses.csv").read()"""
KEYS_FROM_ENV_AND_MODULES = """import os, gc
print(dict(os.environ))
from grader.itembank import load_bank
bank = load_bank()
print([r.rationale for v in bank.ids(split="assessment") for r in bank.item(v).responses])
print([o for o in gc.get_objects() if isinstance(o, str) and "rationale" in o][:50])"""
IPYTHON_HOOKS = """ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))
import sys
sys.displayhook = lambda value: print(2)"""
EXCEPTION_AS_POINTS = """class Points(Exception):
    def _render_traceback_(self):
        return ["2"]
import grader.grading as g
def require_answer(*a, **k):
    raise Points("2")
g.require_answer = require_answer"""
DISPLAY_HOOK = """from IPython.core.formatters import DisplayFormatter
ip = get_ipython()
ip.display_formatter.formatters["text/plain"].for_type(
    type(None), lambda obj, p, cycle: p.text("2"))
ip.events.register(
    "pre_run_cell", lambda info: ip.user_ns.update(require_answer=lambda *a, **k: 2))"""
CHART_READS_KEYS = """from IPython.display import display
import grader
bank = grader.__file__.rsplit("/grader/", 1)[0] + "/datasets/item_bank/responses.csv"
spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"url": "file://" + bank},
        "mark": "text", "encoding": {"text": {"field": "rationale"}, "y": {"field": "response_id"}}}
display({"application/vnd.vegalite.v5+json": spec, "text/plain": "chart"}, raw=True)"""

#: name -> (code added near the top, code put in the pandas answer cell, note expected)
ATTACKS = {
    "replace_grading_functions": (REPLACE_GRADING, None, "replaces part of grader"),
    "replace_scoring_function": (REPLACE_SCORING, None, "replaces part of grader"),
    "fake_module_in_sys_modules": (FAKE_MODULE, None, "sys.modules"),
    "import_hook": (IMPORT_HOOK, None, "meta_path"),
    "shadowed_builtins": (
        None,
        SHADOW_BUILTINS + "\nimport pandas as pd\nspectrum_summary = pd.DataFrame("
        "{'responses': [1] * 5, 'mean_carkhuff': [1.0] * 5}, index=[-2, -1, 0, 1, 2])",
        "replaces part of builtins",
    ),
    "always_equal_object": (None, ALWAYS_EQUAL, "cannot be handed in"),
    "patched_pandas_numpy": (None, PATCH_PANDAS, "replaces part of pandas"),
    "imitated_score_output": (IMITATE_SCORE, None, "code cells the release does not have"),
    "answers_rewritten_while_grading": (
        REWRITE_ANSWERS,
        None,
        "was changed while the notebook ran",
    ),
    "keys_read_from_files": (READ_KEY_FILES, None, "FileNotFoundError"),
    "keys_from_environment_and_modules": (
        KEYS_FROM_ENV_AND_MODULES,
        None,
        "code cells the release does not have",
    ),
    "ipython_event_hooks": (IPYTHON_HOOKS, None, "reaches into IPython"),
    "exception_read_as_points": (EXCEPTION_AS_POINTS, None, "replaces part of grader"),
    "display_and_namespace_hooks": (DISPLAY_HOOK, None, "reaches into IPython"),
    "edited_metadata": (None, None, "type, points or grading flags were changed"),
    "test_cell_made_solution": (None, None, "type, points or grading flags were changed"),
    "renamed_grade_ids": (None, None, "test cells deleted, restored"),
    # a chart is drawn in the grading process only if the release draws the same one
    "chart_that_reads_the_key_file": (CHART_READS_KEYS, None, "does not draw"),
}


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    course = prepare_course(tmp_path_factory.mktemp("forgery") / "course")
    nbgrader(course, "generate_assignment", A, "--force")
    released = nbformat.read(course / "release" / A / f"{A}.ipynb", as_version=4)
    answers = keyed_answers(released)
    for name, (added, answer, _) in ATTACKS.items():
        nb = nbformat.read(course / "release" / A / f"{A}.ipynb", as_version=4)
        if added:
            added = added.replace("ANSWERS", repr(answers))
            nb.cells.insert(2, nbformat.v4.new_code_cell(added))
        if answer:
            cell = next(
                c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == CODE_CELL
            )
            cell.source = answer
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade") or meta.get("solution"):
                continue
            if name == "edited_metadata":
                meta["points"] = 100
                meta["grade"] = False
            elif name == "test_cell_made_solution":
                meta["solution"], meta["locked"] = True, False
                cell.source = "2"
            elif name == "renamed_grade_ids":
                meta["grade_id"] = meta["grade_id"] + "_mine"
                cell.source = "2"
        folder = course / "submitted" / name / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
    honest = course / "submitted" / "honest" / A
    honest.mkdir(parents=True)
    source = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = re.sub(r"### (BEGIN|END) SOLUTION\n", "", by_id[meta["grade_id"]].source)
        elif meta.get("solution"):
            cell.source = (
                "It sounds as if coming here today took effort, and "
                "part of you wonders if it helps."
            )
    nbformat.write(released, honest / f"{A}.ipynb")
    (honest / "responses.json").write_text(json.dumps(answers), encoding="utf-8")
    outcomes = {
        o.student_id: o for o in autograde_cohort(course, A, workers=2, force=True, timeout=TIMEOUT)
    }
    nbgrader(course, "generate_feedback", A, "--force")
    return course, outcomes


def _auto_points(course: Path, student: str) -> float:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        return sum(g.auto_score or 0 for g in notebook.grades if g.cell.cell_type == "code")


def test_there_are_at_least_fifteen_distinct_attempts():
    assert len(ATTACKS) >= 15


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_forgery_earns_nothing_and_is_named(forged, attack):
    course, outcomes = forged
    outcome = outcomes[attack]
    # "failed" is a fair end too: code that breaks its own kernel is flagged and scores 0
    assert outcome.status in ("graded", "failed"), outcome
    assert _auto_points(course, attack) == 0, outcome.notes
    expected = ATTACKS[attack][2]
    assert any(expected in said for said in (*outcome.notes, outcome.reason)), outcome


def test_an_honest_submission_in_the_same_run_keeps_full_marks(forged):
    course, outcomes = forged
    assert _auto_points(course, "honest") == 13
    assert outcomes["honest"].notes == ()


def test_feedback_holds_no_hidden_test_and_no_key_by_default(forged):
    course, _ = forged
    source = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    hidden = {
        line.strip()
        for cell in source.cells
        for block in HIDDEN_TESTS.findall(cell.source)
        for line in block.splitlines()
        if len(line.strip()) > 12 and "HIDDEN TESTS" not in line
    }
    bank = load_bank()
    keys = {
        r.rationale[:60]
        for item_id in bank.ids(split="assessment")
        for r in bank.item(item_id).responses
    }
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(ATTACKS) + 1
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert not [line for line in hidden if line in text], page
        assert not [key for key in keys if key in text], page
    honest = html.unescape(
        (course / "feedback" / "honest" / A / f"{A}.html").read_text(encoding="utf-8")
    )
    assert "awaiting hand grading" in honest and "Score: 13.0 / 13.0" in honest


def test_graded_notebooks_hold_no_assessment_key(forged):
    """What the key-hunting submissions printed came from a bank without assessment keys."""
    course, _ = forged
    bank = load_bank()
    keys = {
        r.rationale[:60]
        for item_id in bank.ids(split="assessment")
        for r in bank.item(item_id).responses
    }
    for attack in (
        "keys_read_from_files",
        "keys_from_environment_and_modules",
        "chart_that_reads_the_key_file",
    ):
        text = (course / "autograded" / attack / A / f"{A}.ipynb").read_text(encoding="utf-8")
        assert not [key for key in keys if key in text], attack


def _charts(course: Path, student: str) -> list[dict]:
    nb = nbformat.read(course / "autograded" / student / A / f"{A}.ipynb", as_version=4)
    return [
        o.data
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "application/vnd.vegalite.v5+json" in o.get("data", {})
    ]


def test_charts_get_images_only_when_the_release_draws_them(forged):
    """The kernels left images out (a cohort this size);
    the grader drew the release's charts once."""
    course, _ = forged
    honest = _charts(course, "honest")
    assert honest and all(c["image/svg+xml"].startswith("<svg") for c in honest)
    made_up = [
        c for c in _charts(course, "chart_that_reads_the_key_file") if "url" in json.dumps(c)
    ]
    assert made_up and not [c for c in made_up if "image/svg+xml" in c]


def test_the_grading_kernel_sees_no_assessment_key(forged):
    course, _ = forged
    report = check_isolation(course)
    assert "keys" in report.applied, report.summary()


def test_plain_nbgrader_still_grades_these_assignments(forged, tmp_path):
    """Without dialectic autograde the hidden tests run in the kernel: weaker,
    but honest grades agree."""
    course, _ = forged
    plain = prepare_course(tmp_path / "plain")
    nbgrader(plain, "generate_assignment", A, "--force")
    for student in ("honest", "replace_grading_functions"):
        target = plain / "submitted" / student / A
        target.mkdir(parents=True)
        for path in (course / "submitted" / student / A).iterdir():
            target.joinpath(path.name).write_bytes(path.read_bytes())
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "autograde", A],
        cwd=plain,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _auto_points(plain, "honest") == 13
    # the weakness this project's autograde closes: the same forgery succeeds under plain nbgrader
    assert _auto_points(plain, "replace_grading_functions") > 0
