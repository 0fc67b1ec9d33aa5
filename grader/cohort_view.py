"""The instructor's cohort view as altair charts, aggregated before charting.

Every chart here summarises first (bins, means, counts), so a cohort of any size gives a
chart of a few hundred rows at most: no altair row-limit error at 30 students or 3,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from grader.analytics import GradedCohort, module_scores, profiles
from grader.charts import (
    alt,
    course_chart,
)  # course_chart: drawn with a static SVG beside each chart
from grader.hand_grading import score_text
from grader.itembank import AREAS, area_name
from grader.wording import counted

#: Up to this many students the heatmap shows each student; above it, the distribution per area.
PER_STUDENT_HEATMAP_MAX = 40
BINS = np.linspace(0, 1, 11)


def _bin_labels() -> list[str]:
    return [f"{int(lo * 100)}-{int(hi * 100)}%" for lo, hi in zip(BINS[:-1], BINS[1:], strict=True)]


def _binned(values: pd.Series) -> pd.Categorical:
    return pd.cut(values.clip(0, 1), BINS, labels=_bin_labels(), include_lowest=True)


@course_chart
def score_distribution(data: GradedCohort) -> alt.Chart:
    """How many students fall in each 10% band, per assignment."""
    scores = module_scores(data)
    scores["band"] = _binned(scores["percent"])
    counts = (
        scores.groupby(["assignment", "band"], observed=False).size().reset_index(name="students")
    )
    return (
        alt.Chart(counts, title="Score distribution per assignment")
        .mark_bar()
        .encode(
            x=alt.X("band:N", sort=_bin_labels(), title="score (share of graded points)"),
            y=alt.Y("students:Q"),
            row=alt.Row(
                "assignment:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")
            ),
            tooltip=["assignment:N", "band:N", "students:Q"],
        )
        .properties(width=420, height=60)
    )


@course_chart
def area_heatmap(data: GradedCohort) -> alt.Chart:
    """Students x areas for a small cohort; the distribution of area scores for a large one."""
    table = profiles(data)
    columns = [f"area_{a}" for a in AREAS if f"area_{a}" in table.columns]
    long = table.melt(
        id_vars="student_id", value_vars=columns, var_name="area", value_name="credit"
    )
    long["area"] = long["area"].str.removeprefix("area_").map(area_name)
    long = long.dropna(subset=["credit"])
    if table["student_id"].nunique() <= PER_STUDENT_HEATMAP_MAX:
        return (
            alt.Chart(long, title="Mean item credit by student and area")
            .mark_rect()
            .encode(
                x=alt.X("area:N", sort=[area_name(a) for a in AREAS], title=None),
                y=alt.Y("student_id:N", title=None),
                color=alt.Color(
                    "credit:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="credit"
                ),
                tooltip=["student_id:N", "area:N", alt.Tooltip("credit:Q", format=".0%")],
            )
            .properties(width=300, height=alt.Step(12))
        )
    long["band"] = _binned(long["credit"])
    counts = long.groupby(["area", "band"], observed=False).size().reset_index(name="students")
    return (
        alt.Chart(counts, title="How students' mean item credit is spread in each area")
        .mark_rect()
        .encode(
            x=alt.X("area:N", sort=[area_name(a) for a in AREAS], title=None),
            y=alt.Y("band:N", sort=list(reversed(_bin_labels())), title="mean item credit"),
            color=alt.Color("students:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["area:N", "band:N", "students:Q"],
        )
        .properties(width=300, height=220)
    )


@course_chart
def module_progress(data: GradedCohort) -> alt.LayerChart:
    """Median and middle half of the cohort's scores, assignment by assignment."""
    scores = module_scores(data)
    summary = (
        scores.groupby("assignment")["percent"].describe()[["25%", "50%", "75%"]].reset_index()
    )
    summary.columns = ["assignment", "q1", "median", "q3"]
    base = alt.Chart(summary, title="Progress across modules (median and middle half)")
    band = base.mark_area(opacity=0.3).encode(
        x=alt.X("assignment:N", sort=None, title=None),
        y=alt.Y("q1:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="score"),
        y2="q3:Q",
    )
    line = base.mark_line(point=True).encode(
        x=alt.X("assignment:N", sort=None),
        y="median:Q",
        tooltip=["assignment:N", alt.Tooltip("median:Q", format=".0%")],
    )
    return (band + line).properties(width=420, height=200)


def support_table(data: GradedCohort) -> pd.DataFrame:
    """Students who may need support, lowest share of points first."""
    table = profiles(data)
    flagged = table[table["support"] != ""].sort_values("overall")
    return flagged[
        [
            "student_id",
            "overall",
            "score",
            "max_score",
            "awaiting",
            "assignments_submitted",
            "lean",
            "support",
        ]
    ].reset_index(drop=True)


class StudentProfiles:
    """Pick a student to see their profile: scores by area and assignment, map, lean, support."""

    def __init__(self, data: GradedCohort):
        import ipywidgets as widgets

        self.data = data
        self.table = profiles(data).set_index("student_id")
        self.scores = module_scores(data)
        self.picker = widgets.Dropdown(
            options=list(self.table.index),
            description="Student:",
            style={"description_width": "initial"},
        )
        self.picker.observe(lambda change: self._redraw(), names="value")
        self._handle = None

    def profile_html(self, student_id: str) -> str:
        import html

        row = self.table.loc[student_id]
        areas = "".join(
            f"<tr><th scope='row'>{html.escape(area_name(a))}</th>"
            f"<td>{row[f'area_{a}']:.0%}</td></tr>"
            for a in AREAS
            if f"area_{a}" in row and pd.notna(row[f"area_{a}"])
        )
        mine = self.scores[self.scores["student_id"] == student_id]
        modules = "".join(
            f"<tr><th scope='row'>{html.escape(r.assignment)}</th>"
            f"<td>{html.escape(score_text(r.score, r.max_score, r.awaiting))}</td></tr>"
            for r in mine.itertuples()
        )
        lean = (
            row["lean"]
            if row["lean"] != "not enough data"
            else (f"not enough data ({counted(int(row['lean_choices']), 'choice')})")
        )
        overall = score_text(row["score"], row["max_score"], int(row["awaiting"]))
        return (
            f"<h4>{html.escape(student_id)}: overall {html.escape(overall)}</h4><table><caption>"
            f"Mean item credit by area</caption>{areas}</table><table><caption>Score by "
            f"assignment (share of graded points)</caption>{modules}</table><p>Lean of chosen "
            f"responses: <b>{html.escape(str(lean))}</b>. Support: "
            f"{html.escape(row['support'] or 'no flag')}. A training signal for supervision, not "
            "an attachment diagnosis.</p>"
        )

    def _redraw(self) -> None:
        from IPython.display import HTML

        if self._handle is not None:
            self._handle.update(HTML(self.profile_html(self.picker.value)))

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(self.picker)
        self._handle = display(HTML(self.profile_html(self.picker.value)), display_id=True)
