"""The cohort report: one self-contained HTML file an instructor can read offline and share.

Charts are embedded twice: as an SVG drawn without a browser (what the reader sees) and as
their vega-lite spec in a ``<script type="application/json">`` block (what a tool or a test
can check). Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from grader import analytics, cohort_view, tables
from grader.atomic_file import write_atomically
from grader.charts import to_svg
from grader.hand_grading import AWAITING_HAND_GRADING
from grader.pseudonyms import course_secret, pseudonym
from grader.wording import counted

STEPS = (
    "gradebook read",
    "answers read",
    "item analysis",
    "profiles",
    "charts",
    "rater agreement",
    "written",
)

_CSS = (
    """
body {font-family: system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em;
  color: #222; box-sizing: border-box;}
h1 {font-size: 1.6em;}
h2 {border-bottom: 2px solid #5b7fa6; padding-bottom: 0.2em; margin-top: 2em;}
.chart {margin: 1em 0; max-width: 100%; overflow-x: auto;}
.note {color: #555; font-size: 0.9em; max-width: 50em;}
"""
    + tables.CSS
)


def build_report(
    course: Path | str,
    out: Path | str,
    *,
    db_url: str | None = None,
    pseudonymize: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the cohort report for ``course`` to ``out`` and return its path."""
    course, out = Path(course), Path(out)
    step = progress or (lambda name: None)
    data = analytics.load_cohort(course, db_url, progress=step)
    if pseudonymize:
        data = _pseudonymized(data, course_secret(course))
    items = analytics.with_review_status(analytics.item_analysis(data))
    step("item analysis")
    profiles = analytics.profiles(data)
    step("profiles")
    chart_blocks = [
        _chart("score_distribution", cohort_view.score_distribution(data)),
        _chart("module_progress", cohort_view.module_progress(data)),
        _chart("area_heatmap", cohort_view.area_heatmap(data)),
    ]
    step("charts")
    agreement = _agreement_section(course, pseudonymize)
    step("rater agreement")
    from grader import machine_reader  # loads the rater's model only when a report is built

    students = data.students["student_id"].nunique()
    support = cohort_view.support_table(data)
    awaiting = int(data.grades["awaiting"].sum())
    body = [
        f"<h1>Cohort report: {html.escape(course.resolve().name)}</h1>",
        f"<p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from "
        f"{counted(students, 'student')} and {counted(len(data.assignments), 'assignment')}. "
        + ("Students are shown by pseudonym. " if pseudonymize else "")
        + "Item keys are author-keyed and not yet piloted: treat flags as prompts to look, not "
        "verdicts. Competency profiles are training signals for supervision, never attachment "
        "diagnoses.</p>",
        f"<p class='note'>{_awaiting_note(awaiting)}</p>",
        "<h2 id='cohort'>Cohort view</h2>",
        *chart_blocks,
        "<h3>Students who may need support</h3>",
        (
            tables.render(support, tables.SUPPORT_COLUMNS, "support").html
            if len(support)
            else "<p>No one is below the support threshold.</p>"
        ),
        "<h2 id='items'>Item analysis</h2>",
        "<p class='note'>Mean credit: the item's difficulty (.40–.60 discriminates best). "
        "Discrimination: corrected item–total correlation (.40 or more very good, .30–.39 good, "
        ".20–.29 marginal, below .20 poor, negative: check the key). Upper and lower 27%: mean "
        "credit of the strongest and weakest students by total score, and which options each "
        "group chose. Review: author keyed, or expert reviewed with the panel's size, I-CVI and "
        "share of placements equal to the key (<code>dialectic items review</code>).</p>",
        *_item_tables(items),
        "<h2 id='agreement'>Rater agreement</h2>",
        agreement,
        "<h3 id='machine-reader'>Machine reader (formative "
        "rater): agreement with the human raters</h3>",
        machine_reader.report_section(course),
        "<h2 id='profiles'>Competency profiles</h2>",
        "<p class='note'>Area columns: mean item credit. Map: mean resonance and regulation of the "
        "responses the student chose. Lean: mean spectrum position of those choices (negative "
        "collusive, positive confrontational), shown only with enough choices.</p>",
        tables.render(profiles, tables.profile_columns(profiles), "profiles").html,
    ]
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width, initial-scale=1'><title>Cohort report</title><style>"
        f"{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    write_atomically(out, page)
    step("written")
    return out


def _awaiting_note(awaiting: int) -> str:
    if not awaiting:
        return "Every answer has been graded."
    return (
        f"{counted(awaiting, 'written answer')} {'is' if awaiting == 1 else 'are'} "
        f"{AWAITING_HAND_GRADING}. Until graded, an answer counts for nothing rather than 0: "
        "every percentage here is a share of the points graded so far, and the number of answers "
        "still waiting is shown beside it."
    )


def _item_tables(items: pd.DataFrame) -> list[str]:
    """One item-analysis table per assignment, flagged items shaded."""
    if items.empty:
        return ["<p>No autograded items yet.</p>"]
    blocks = []
    for assignment, rows in items.groupby("assignment", sort=True):
        blocks.append(f"<h3>{html.escape(str(assignment))}</h3>")
        blocks.append(
            tables.render(
                rows, tables.ITEM_COLUMNS, "item_analysis", flagged=lambda row: bool(row["flags"])
            ).html
        )
    return blocks


def _chart(name: str, chart) -> str:
    spec = chart.to_dict()
    embedded = json.dumps(spec).replace("</", "<\\/")  # a spec may not close the script block early
    return (
        f"<div class='chart' data-chart='{name}'>{to_svg(spec)}<script type='application/json' "
        f"class='chart-spec' data-chart='{name}'>{embedded}</script></div>"
    )


def _pseudonymized(data: analytics.GradedCohort, secret: bytes) -> analytics.GradedCohort:
    codes = {s: pseudonym(secret, s) for s in data.students["student_id"]}
    students = pd.DataFrame(
        {
            "student_id": [codes[s] for s in data.students["student_id"]],
            "first_name": None,
            "last_name": None,
            "email": None,
            "lms_user_id": None,
        }
    )
    grades = data.grades.assign(student_id=data.grades["student_id"].map(codes))
    items = data.items.assign(student_id=data.items["student_id"].map(codes))
    return analytics.GradedCohort(grades, items, students)


def _agreement_section(course: Path, pseudonymize: bool) -> str:
    """Agreement between two raters' rubric scores, when a second rating has been imported."""
    from grader import agreement, ratings

    stored = ratings.load_ratings(course)
    if stored.empty or stored["rater"].nunique() < 2:
        return (
            "<p>No second rating imported yet. Export a blind sheet with "
            "<code>dialectic ratings export</code>, have a second rater score it, and import it "
            "with <code>dialectic ratings import</code>.</p>"
        )
    table = agreement.agreement_table(stored)
    worst = agreement.largest_disagreements(stored)
    raters = sorted(stored["rater"].unique())
    return (
        "<p class='note'>ICC: two-way random effects, absolute agreement, single rater "
        "(ICC(2,1)), with its 95% confidence interval; Koo &amp; Li (2016) bands. Weighted kappa: "
        "quadratic weights; Landis &amp; Koch bands. Krippendorff's alpha: ordinal.</p>"
        + tables.render(table, tables.AGREEMENT_COLUMNS, "agreement").html
        + "<h3>Largest disagreements, for discussion</h3>"
        + tables.render(worst, tables.disagreement_columns(worst, raters), "disagreements").html
    )
