"""Cohort analytics, the report and the grade exports, on a course graded by real nbgrader."""

from __future__ import annotations

import csv
import io
import json
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nbgrader.api import Gradebook

from grader import analytics, cohort_view, lms_export
from grader.report import build_report
from tests.conftest import GRADED_ASSIGNMENT, GRADED_STUDENTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(graded_course):
    return analytics.load_cohort(graded_course)


def test_frames_match_the_gradebook(graded_course, data):
    with Gradebook(f"sqlite:///{graded_course / 'gradebook.db'}") as gb:
        expected = {
            (g.notebook.assignment.student.id, g.name): g.score
            for s in gb.assignment_submissions(GRADED_ASSIGNMENT)
            for n in s.notebooks
            for g in n.grades
        }
    got = {(r.student_id, r.grade_id): r for r in data.grades.itertuples()}
    assert set(got) == set(expected)
    for key, score in expected.items():
        if got[
            key
        ].awaiting:  # nbgrader says 0.0 for a grade not yet given: the report says nothing
            assert pd.isna(got[key].score) and got[key].kind == "written"
        else:
            assert got[key].score == pytest.approx(score or 0.0)
    assert data.students["student_id"].nunique() == GRADED_STUDENTS
    assert set(data.grades["kind"]) == {"item", "code", "written"}


def test_choices_come_from_the_collected_answer_files(graded_course, data):
    chosen = data.items.dropna(subset=["chosen"])
    assert len(chosen)
    row = chosen.iloc[0]
    answers = json.loads(
        (
            graded_course / "autograded" / row.student_id / row.assignment / "responses.json"
        ).read_text(encoding="utf-8")
    )["answers"]
    assert answers[row.item_id][row.task]["value"] == row.chosen


def test_item_statistics_are_computed_as_defined(data):
    table = analytics.item_analysis(data)
    items = data.items
    totals = data.grades[data.grades["kind"] != "written"].groupby("student_id")["score"].sum()
    for row in table.itertuples():
        group = items[items["grade_id"] == row.grade_id].set_index("student_id")
        assert row.p == pytest.approx(group["credit"].mean(), abs=1e-3)
        rest = totals.loc[group.index] - group["score"]
        if group["credit"].std() > 0 and rest.std() > 0:
            assert row.discrimination == pytest.approx(
                np.corrcoef(group["credit"], rest)[0, 1], abs=1e-3
            )
        assert f"only {row.n} examinees" in row.flags


@pytest.mark.parametrize(
    ("p", "d", "expected"),
    [
        (0.5, -0.2, "check the key"),
        (0.95, 0.5, "too easy"),
        (0.1, 0.5, "too hard"),
        (0.5, 0.1, "poor discrimination"),
        (0.5, None, "no variance"),
    ],
)
def test_flags_in_words(p, d, expected):
    assert any(expected in flag for flag in analytics._flags(p, d, 500, []))


def test_profiles_are_training_signals_with_enough_data(data):
    table = analytics.profiles(data)
    assert len(table) == GRADED_STUDENTS
    assert set(table["lean"]) <= {
        "not enough data",
        "leans collusive",
        "leans confrontational",
        "balanced",
    }
    few = table[table["lean_choices"] < 6]
    assert (few["lean"] == "not enough data").all() and few["lean_mean"].isna().all()
    assert ((table["overall"] >= 0) & (table["overall"] <= 1)).all()


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.specs, self.tables, self.scripts_with_src, self._spec, self._table, self._rows = (
            {},
            {},
            [],
            None,
            None,
            0,
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts_with_src.append(attrs["src"])
        if tag == "script" and attrs.get("class") == "chart-spec":
            self._spec = attrs["data-chart"]
            self.specs[self._spec] = ""
        if tag == "table":
            self._table, self._rows = attrs.get("data-table"), 0
        if tag == "tr" and self._table:
            self._rows += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._spec = None
        if tag == "table" and self._table:
            self.tables[self._table] = self._rows - 1  # minus the header row
            self._table = None

    def handle_data(self, data):
        if self._spec:
            self.specs[self._spec] += data


def test_report_is_self_contained_and_complete(graded_course, tmp_path, data):
    steps = []
    out = build_report(graded_course, tmp_path / "report.html", progress=steps.append)
    page = out.read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(page)
    assert not parsed.scripts_with_src and "cdn" not in page.lower()
    assert set(parsed.specs) == {"score_distribution", "module_progress", "area_heatmap"}
    for spec in parsed.specs.values():
        spec = json.loads(spec.replace("<\\/", "</"))
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
        assert all(len(rows) < 5000 for rows in spec.get("datasets", {}).values())
    assert page.count("<svg") >= 3
    assert parsed.tables["item_analysis"] == len(analytics.item_analysis(data))
    assert parsed.tables["profiles"] == GRADED_STUDENTS
    assert "check the key" in page or "examinees" in page
    assert steps[-1] == "written"


def test_pseudonymized_report_shows_no_student_id(graded_course, tmp_path, data):
    page = build_report(graded_course, tmp_path / "report.html", pseudonymize=True).read_text(
        encoding="utf-8"
    )
    for student in data.students["student_id"]:
        assert f">{student}<" not in page
    again = build_report(graded_course, tmp_path / "again.html", pseudonymize=True).read_text(
        encoding="utf-8"
    )
    codes = lambda text: sorted(set(__import__("re").findall(r"S-[0-9a-f]{8}", text)))  # noqa: E731
    assert codes(page) == codes(again) and len(codes(page)) == GRADED_STUDENTS


def test_canvas_export(graded_course, data):
    rows = list(csv.reader(io.StringIO(lms_export.canvas_csv(data))))
    assert rows[0] == lms_export.CANVAS_IDENTITY + [GRADED_ASSIGNMENT]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) > 0
    scores = analytics.module_scores(data).set_index("student_id")
    final = scores.loc[scores["awaiting"] == 0, "score"]
    body = {r[2]: float(r[5]) for r in rows[2:] if r[5]}
    assert body == pytest.approx(final.to_dict())
    assert {r[2] for r in rows[2:] if not r[5]} == set(scores.index[scores["awaiting"] > 0])


def test_research_export_never_names_anyone(graded_course, data):
    text = lms_export.research_csv(data, graded_course)
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == lms_export.RESEARCH_COLUMNS
    for person in data.students.itertuples():
        for value in (person.student_id, person.first_name, person.last_name, person.email):
            if isinstance(value, str) and value:
                assert value not in text
    assert frame["student"].str.fullmatch(r"S-[0-9a-f]{8}").all()


def test_cli_report_and_export(graded_course, tmp_path, dialectic):
    done = dialectic(
        "report", "--course", graded_course, "--out", tmp_path / "r.html", "--pseudonymize"
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.html").exists() and "report" in done.stderr  # the progress bar
    for fmt in ("canvas", "csv"):
        done = dialectic(
            "export", "--format", fmt, "--course", graded_course, "--out", tmp_path / f"{fmt}.csv"
        )
        assert done.returncode == 0, done.stderr


def test_export_imports_no_chart_or_learner_module(graded_course, tmp_path):
    """`dialectic export` reads grades and choices without the charts: no altair, no vl-convert,
    not the learner's progress module (a fresh process, so nothing else imported them first)."""
    import subprocess

    probe = (
        "import json, sys\nfrom grader.cli import main\n"
        f"codes = [main(['export', '--format', f, '--course', {str(graded_course)!r}, "
        f"'--out', {str(tmp_path)!r} + '/' + f + '.csv']) for f in ('canvas', 'csv')]\n"
        "print(json.dumps([codes, sorted(m for m in ('altair', 'vl_convert', 'grader.charts', "
        "'grader.progress', 'grader.widgets') if m in sys.modules)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    codes, imported = json.loads(done.stdout.splitlines()[-1])
    assert codes == [0, 0] and imported == []
    assert (tmp_path / "canvas.csv").exists() and (tmp_path / "csv.csv").exists()


def test_large_cohort_charts_stay_small(tmp_path):
    """Hundreds of students: every chart is aggregated first, so no altair row-limit error."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import report as bench

    bench.build_gradebook(tmp_path, 300)
    data = analytics.load_cohort(tmp_path)
    for chart in (
        cohort_view.score_distribution(data),
        cohort_view.module_progress(data),
        cohort_view.area_heatmap(data),
    ):
        spec = chart.to_dict()  # raises MaxRowsError if a chart carried too many rows
        assert all(len(rows) < 500 for rows in spec.get("datasets", {}).values())
    assert len(analytics.profiles(data)) == 300


def test_instructor_dashboard_runs_on_a_graded_course(graded_course, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from grader.paths import REPO_ROOT

    (tmp_path / "exercises").mkdir()
    (tmp_path / "demo-course").symlink_to(graded_course)
    nb = nbformat.read(REPO_ROOT / "exercises" / "instructor_dashboard.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path / "exercises")}},
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) >= 3
