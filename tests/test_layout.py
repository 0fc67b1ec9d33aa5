"""The package's four parts (grader/__init__.py): the learner's side stands on its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import grader

LEARNER_SIDE = (
    "answers",
    "scoring",
    "choices",
    "widgets",
    "charts",
    "progress",
    "grading",
    "handin",
    "rater_view",
)
GRADING_AND_ANALYTICS = (
    "autograde",
    "sandbox",
    "ratings",
    "agreement",
    "simulate",
    "demo",
    "analytics",
    "cohort_view",
    "report",
    "lms_export",
    "tables",
    "hand_grading",
)


def test_the_learner_side_imports_no_grading_or_analytics_module():
    probe = (
        f"import json, sys\nfor m in {LEARNER_SIDE!r}:\n    __import__('grader.' + m)\n"
        f"print(json.dumps([m for m in {GRADING_AND_ANALYTICS!r} if 'grader.' + m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_module_map_names_every_module():
    from grader.paths import REPO_ROOT

    modules = {p.stem for p in (REPO_ROOT / "grader").glob("*.py")} - {"__init__"}
    modules |= {p.name for p in (REPO_ROOT / "grader").iterdir() if (p / "__init__.py").exists()}
    named = set(re.findall(r"``(?:grader\.)?(\w+)/?``", grader.__doc__))
    assert sorted(modules - named) == []


def test_the_old_module_names_still_work_and_say_so():
    probe = (
        "import warnings\nwarnings.simplefilter('always')\nwith "
        "warnings.catch_warnings(record=True) as seen:\n    from grader.cohort import "
        "keyed_answers, simulate_cohort\n    from grader.pipeline import prepare_course, "
        "run_demo\n    from grader.analytics import CohortData, GradedCohort\nimport "
        "grader.simulate, grader.demo\nassert simulate_cohort is grader.simulate.simulate_cohort "
        "and run_demo is grader.demo.run_demo\nassert CohortData is "
        "GradedCohort\nprint(sorted(str(w.message).split(' is now ')[0] for w in seen if "
        "w.category is DeprecationWarning))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(
        sorted(["grader.analytics.CohortData", "grader.cohort", "grader.pipeline"])
    )
