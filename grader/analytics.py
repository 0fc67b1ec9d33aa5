"""Cohort analytics for instructors: tidy frames from the gradebook, item analysis, profiles.

The gradebook is read with one SQL query built from nbgrader's own table mappings
(``nbgrader.api``), so any database URL nbgrader accepts works: SQLite or PostgreSQL. The
students' ``responses.json`` files (collected with their notebooks and copied to
``autograded/``) add what each student chose, which the gradebook does not hold.

Thresholds follow the usual conventions for classroom tests (see
``shared/reference/clinical-anchors.md``): difficulty p between .40 and .60 discriminates
best; corrected item-total discrimination >= .40 very good, .30-.39 good, .20-.29 marginal,
< .20 poor, negative: check the key. With fewer than ~100 examinees every figure is rough.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from nbgrader import api
from sqlalchemy import create_engine, select

from grader.answers import AnswerStore
from grader.choices import CHOSEN_FIELDS, chosen_fields, lean
from grader.errors import AnswerStoreError, GraderError
from grader.hand_grading import awaiting_hand_grading
from grader.itembank import ItemBank, load_bank
from grader.wording import counted

ITEM_CELL = re.compile(r"item_([a-z]{2})_(\d{3})_(\w+)")
#: Upper and lower groups for distractor analysis: the top and bottom 27% by total score.
GROUP_SHARE = 0.27
#: A wrong option is flagged when the upper group picks it at least this often, and this much
#: more often than the lower group (smaller gaps are noise at classroom sizes).
PULL_MIN_SHARE, PULL_MIN_GAP = 0.10, 0.05
#: Below this many examinees, item statistics are flagged as rough.
CAUTION_BELOW = 100
TOO_EASY, TOO_HARD, POOR_DISCRIMINATION = 0.90, 0.20, 0.20
#: A student below this share of the available points may need support.
SUPPORT_BELOW = 0.5


@dataclass(frozen=True)
class GradedCohort:
    """A real cohort after grading, as tidy frames: its gradebook's scores and its collected
    answers.

    (Simulated cohorts come from :mod:`grader.simulate`; charts of a graded cohort are in
    :mod:`grader.cohort_view`.)
    """

    grades: pd.DataFrame
    """One row per student x assignment x grade cell: score, max_score, kind (item/code/written),
    awaiting (True while the cell awaits its hand grade; its score is then NaN, never 0)."""
    items: pd.DataFrame
    """One row per student x autograded item: item, task, area, credit, and what was chosen."""
    students: pd.DataFrame
    """One row per student: student_id, first_name, last_name, email, lms_user_id."""

    @property
    def assignments(self) -> list[str]:
        return sorted(self.grades["assignment"].unique())


def __getattr__(name: str):
    if name == "CohortData":  # the old name, kept so that old notebooks still run
        warnings.warn(
            "grader.analytics.CohortData is now GradedCohort.", DeprecationWarning, stacklevel=2
        )
        return GradedCohort
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def gradebook_url(course: Path | str) -> str:
    """The SQLite URL of a course directory's default gradebook."""
    path = Path(course) / "gradebook.db"
    if not path.exists():
        raise GraderError(
            f"No gradebook at {path}: autograde an assignment first, or pass --db-url."
        )
    return f"sqlite:///{path.resolve()}"


def load_cohort(
    course: Path | str,
    db_url: str | None = None,
    *,
    bank: ItemBank | None = None,
    progress: Callable[[str], None] | None = None,
) -> GradedCohort:
    """Read the gradebook and the collected answer files of ``course`` into tidy frames."""
    course = Path(course)
    bank = bank or load_bank()
    engine = create_engine(db_url or gradebook_url(course))
    try:
        grades = pd.read_sql(_grades_query(), engine)
        students = pd.read_sql(
            select(
                api.Student.id.label("student_id"),
                api.Student.first_name,
                api.Student.last_name,
                api.Student.email,
                api.Student.lms_user_id,
            ),
            engine,
        )
    finally:
        engine.dispose()
    if progress:
        progress("gradebook read")
    for column in ("max_score", "auto_score", "manual_score", "extra_credit"):
        grades[column] = pd.to_numeric(grades[column], errors="coerce").astype("float64")
    grades["needs_manual_grade"] = grades["needs_manual_grade"].fillna(False).astype(bool)
    # the one rule (grader.hand_grading): a cell awaiting its hand grade has no score, not a 0
    grades["awaiting"] = awaiting_hand_grading(grades["needs_manual_grade"], grades["manual_score"])
    grades["graded"] = ~grades["awaiting"]
    grades["score"] = (
        grades["manual_score"].fillna(grades["auto_score"]).fillna(0)
        + grades["extra_credit"].fillna(0)
    ).where(grades["graded"])
    grades["kind"] = np.select(
        [grades["grade_id"].str.fullmatch(ITEM_CELL.pattern), grades["cell_type"] == "markdown"],
        ["item", "written"],
        default="code",
    )
    items = _items(grades, course, bank)
    if progress:
        progress("answers read")
    return GradedCohort(grades, items, students.sort_values("student_id").reset_index(drop=True))


def _grades_query():
    return (
        select(
            api.Student.id.label("student_id"),
            api.Assignment.name.label("assignment"),
            api.GradeCell.name.label("grade_id"),
            api.GradeCell.cell_type,
            api.GradeCell.max_score,
            api.Grade.auto_score,
            api.Grade.manual_score,
            api.Grade.extra_credit,
            api.Grade.needs_manual_grade,
        )
        .select_from(api.Grade)
        .join(api.SubmittedNotebook, api.Grade.notebook_id == api.SubmittedNotebook.id)
        .join(
            api.SubmittedAssignment,
            api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id,
        )
        .join(api.Student, api.SubmittedAssignment.student_id == api.Student.id)
        .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id)
        .join(api.GradeCell, api.Grade.cell_id == api.GradeCell.id)
    )


def _items(grades: pd.DataFrame, course: Path, bank: ItemBank) -> pd.DataFrame:
    rows = grades[grades["kind"] == "item"].copy()
    parts = rows["grade_id"].str.extract(ITEM_CELL.pattern)
    rows["item_id"] = parts[0] + "-" + parts[1]
    rows["task"] = parts[2]
    meta = bank.vignettes.set_index("item_id")
    rows["area"] = rows["item_id"].map(meta["area"]).astype(str)
    rows["difficulty"] = rows["item_id"].map(meta["difficulty"]).astype(str)
    rows["credit"] = np.where(rows["max_score"] > 0, rows["score"] / rows["max_score"], 0.0)
    chosen = _chosen(course, rows[["student_id", "assignment"]].drop_duplicates(), bank)
    rows = rows.merge(chosen, on=["student_id", "assignment", "item_id", "task"], how="left")
    return rows[
        [
            "student_id",
            "assignment",
            "item_id",
            "task",
            "area",
            "difficulty",
            "grade_id",
            "score",
            "max_score",
            "credit",
            "chosen",
            "chosen_position",
            "chosen_resonance",
            "chosen_regulation",
        ]
    ].reset_index(drop=True)


def _chosen(course: Path, submissions: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """What each student chose, from their collected responses.json (missing or unreadable:
    nothing).

    The file is read as the trusted grader reads it (:class:`grader.answers.AnswerStore`); one
    it refused scored 0 already, and adds no choices here either.
    """
    rows = []
    for student, assignment in submissions.itertuples(index=False):
        try:
            document = AnswerStore(course / "autograded" / student / assignment).load()
        except (AnswerStoreError, OSError):
            continue
        for item_id, tasks in document["answers"].items():
            for task, entry in tasks.items():
                value = entry["value"]
                fields = chosen_fields(bank, item_id, task, value)
                row = {
                    "student_id": student,
                    "assignment": assignment,
                    "item_id": item_id,
                    "task": task,
                    "chosen": None,
                    **{k: np.nan if v is None else float(v) for k, v in fields.items()},
                }
                if fields["chosen_position"] is not None:
                    row["chosen"] = value
                elif task == "pattern":
                    row["chosen"] = value
                elif task == "marker":
                    row["chosen"] = f"{value['rupture_type']}/{value['marker']}"
                rows.append(row)
    columns = ["student_id", "assignment", "item_id", "task", "chosen", *CHOSEN_FIELDS]
    return pd.DataFrame(rows, columns=columns).astype(
        {"chosen": "object", **dict.fromkeys(CHOSEN_FIELDS, "float64")}
    )


# -- item analysis --------------------------------------------------------------------------


def item_analysis(data: GradedCohort, bank: ItemBank | None = None) -> pd.DataFrame:
    """Difficulty, corrected item-total discrimination, distractor signals and flags per item."""
    bank = bank or load_bank()
    items = data.items
    totals = (
        data.grades[data.grades["kind"] != "written"]
        .groupby(["student_id", "assignment"])["score"]
        .sum()
        .rename("total")
    )
    frame = items.join(totals, on=["student_id", "assignment"])
    rows = []
    for (assignment, grade_id), group in frame.groupby(["assignment", "grade_id"], sort=True):
        rest = group["total"] - group["score"]
        n = len(group)
        p = float(group["credit"].mean())
        discrimination = _correlation(group["credit"], rest)
        upper, lower = _groups(group["total"])
        row = {
            "assignment": assignment,
            "grade_id": grade_id,
            "item_id": group["item_id"].iloc[0],
            "task": group["task"].iloc[0],
            "area": group["area"].iloc[0],
            "difficulty": group["difficulty"].iloc[0],
            "n": n,
            "p": round(p, 3),
            "discrimination": None if discrimination is None else round(discrimination, 3),
            "upper_p": round(float(group.loc[upper, "credit"].mean()), 3) if upper.any() else None,
            "lower_p": round(float(group.loc[lower, "credit"].mean()), 3) if lower.any() else None,
        }
        row["distractors"], strong_pull = _distractors(group, upper, lower, bank)
        row["flags"] = "; ".join(_flags(p, discrimination, n, strong_pull))
        rows.append(row)
    return pd.DataFrame(rows)


#: The bank's review columns shown beside the empirical statistics, as the item analysis names them.
REVIEW_FIGURES = {
    "review_status": "review",
    "review_panel_size": "panel",
    "review_icvi": "panel I-CVI",
    "review_key_agreement": "panel key agreement",
}


def with_review_status(items: pd.DataFrame, bank: ItemBank | None = None) -> pd.DataFrame:
    """The item analysis with each item's review status and latest panel figures from the bank.

    They go right after difficulty and discrimination, so an instructor reads what the panel
    said about a key beside how the cohort answered it.
    """
    bank = bank or load_bank()
    review = bank.vignettes.set_index("item_id")[list(REVIEW_FIGURES)].rename(
        columns=REVIEW_FIGURES
    )
    review["review"] = review["review"].astype(str).str.replace("_", " ")
    out = (
        items.join(review, on="item_id")
        if len(items)
        else items.assign(**{c: None for c in review})
    )
    after = (
        list(out.columns).index("discrimination") + 1
        if "discrimination" in out.columns
        else len(out.columns)
    )
    ordered = [c for c in out.columns[:after] if c not in review] + list(review)
    return out[ordered + [c for c in out.columns if c not in ordered]]


def _correlation(x: pd.Series, y: pd.Series) -> float | None:
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x.astype(float), y.astype(float))[0, 1])


def _groups(total: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Upper and lower 27% by total score (ties broken by order, so the groups stay that size)."""
    k = max(1, int(round(GROUP_SHARE * len(total))))
    ranked = total.rank(method="first")
    return ranked > len(total) - k, ranked <= k


def _distractors(
    group: pd.DataFrame, upper: pd.Series, lower: pd.Series, bank: ItemBank
) -> tuple[str, list[str]]:
    """For choose items: who picked each spectrum position,
    and wrong options strong students like."""
    if group["task"].iloc[0] != "choose" or group["chosen"].isna().all():
        return "", []
    best = bank.item(group["item_id"].iloc[0]).best.response_id
    parts, pulls = [], []
    for response_id, chosen in group.groupby("chosen"):
        share_upper = (
            float((group.loc[upper, "chosen"] == response_id).mean()) if upper.any() else 0.0
        )
        share_lower = (
            float((group.loc[lower, "chosen"] == response_id).mean()) if lower.any() else 0.0
        )
        position = int(chosen["chosen_position"].iloc[0])
        tag = "key" if response_id == best else f"{position:+d}"
        parts.append(f"{response_id[-1]} ({tag}): upper {share_upper:.0%}, lower {share_lower:.0%}")
        if (
            response_id != best
            and share_upper >= PULL_MIN_SHARE
            and share_upper - share_lower >= PULL_MIN_GAP
        ):
            pulls.append(
                f"option {response_id[-1]} ({position:+d}) attracts strong students "
                f"({share_upper:.0%} of the upper group vs {share_lower:.0%} of the lower)"
            )
    return "; ".join(parts), pulls


def _flags(p: float, discrimination: float | None, n: int, pulls: list[str]) -> list[str]:
    flags = []
    if discrimination is not None and discrimination < 0:
        flags.append("check the key: strong students score lower on this item than weak ones")
    elif discrimination is not None and discrimination < POOR_DISCRIMINATION:
        flags.append("poor discrimination")
    elif discrimination is None:
        flags.append("no variance: everyone scored the same")
    if p > TOO_EASY:
        flags.append("too easy")
    if p < TOO_HARD:
        flags.append("too hard")
    flags += pulls
    if n < CAUTION_BELOW:
        flags.append(f"only {n} examinees: read with caution")
    return flags


# -- competency profiles ---------------------------------------------------------------------


def profiles(data: GradedCohort) -> pd.DataFrame:
    """One row per student: overall and per-area scores, map position, lean, support flag.

    ``overall`` is the share of *graded* points; ``awaiting`` counts the answers still
    awaiting hand grading, whose points are left out (:mod:`grader.hand_grading`).
    """
    items = data.items
    per_student = _points(data.grades, ["student_id"])
    per_student["overall"] = per_student["score"] / per_student["max_score"].where(
        per_student["max_score"] > 0
    )
    area = items.pivot_table(index="student_id", columns="area", values="credit", aggfunc="mean")
    area.columns = [f"area_{c}" for c in area.columns]
    chosen = items.dropna(subset=["chosen_position"])
    mapping = chosen.groupby("student_id").agg(
        map_resonance=("chosen_resonance", "mean"), map_regulation=("chosen_regulation", "mean")
    )
    leans = chosen.groupby("student_id")["chosen_position"].apply(lambda s: lean(s.tolist()))
    table = per_student.join(area).join(mapping)
    table["lean_mean"] = [leans.get(s, (None, 0, ""))[0] for s in table.index]
    table["lean_choices"] = [leans.get(s, (None, 0, ""))[1] for s in table.index]
    table["lean"] = [leans.get(s, (None, 0, "not enough data"))[2] for s in table.index]
    submitted = data.grades.groupby("student_id")["assignment"].nunique()
    table["assignments_submitted"] = submitted
    expected = len(data.assignments)
    table["support"] = [
        _support_reason(row.overall, row.assignments_submitted, expected, row.awaiting)
        for row in table.itertuples()
    ]
    return table.reset_index()


def _support_reason(overall: float, submitted: int, expected: int, awaiting: int) -> str:
    reasons = []
    if pd.notna(overall) and overall < SUPPORT_BELOW:
        so_far = (
            f", so far ({counted(awaiting, 'answer')} awaiting hand grading)" if awaiting else ""
        )
        reasons.append(f"{overall:.0%} of graded points{so_far}")
    if submitted < expected:
        reasons.append(f"{counted(expected - submitted, 'assignment')} not submitted")
    return "; ".join(reasons)


def module_scores(data: GradedCohort) -> pd.DataFrame:
    """Percentage per student and assignment over graded points (autograded and hand-graded).

    Columns: score and max_score (graded points only), percent, awaiting (answers awaiting
    hand grading) and awaiting_points (their points, left out of max_score).
    """
    table = _points(data.grades, ["student_id", "assignment"])
    table["percent"] = table["score"] / table["max_score"].where(table["max_score"] > 0)
    return table.reset_index()


def _points(grades: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Graded score and points, and what awaits hand grading, per group: the one rule applied."""
    graded_max = grades["max_score"].where(grades["graded"], 0.0)
    pending_max = grades["max_score"].where(grades["awaiting"], 0.0)
    return (
        grades.assign(graded_max=graded_max, pending_max=pending_max)
        .groupby(by)
        .agg(
            score=("score", "sum"),
            max_score=("graded_max", "sum"),
            awaiting=("awaiting", "sum"),
            awaiting_points=("pending_max", "sum"),
        )
        .astype({"awaiting": "int64"})
    )
