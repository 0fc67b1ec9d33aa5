"""Grades out of the gradebook: Canvas's gradebook-import CSV, and a pseudonymous research CSV.

Canvas matches rows by its own user id, the SIS user id or the SIS login id, and makes a new
assignment for each assignment column it does not know. nbgrader's ``lms_user_id`` fills
Canvas's ``ID``; the nbgrader student id fills ``SIS User ID``. The second row gives each
assignment's points possible, as in Canvas's own exports.

The research CSV never carries names or emails: students appear only under the course's
stable pseudonyms (``grader.pseudonyms``).

Hand grades not yet given follow :mod:`grader.hand_grading`: in the Canvas file an
assignment with any answer awaiting hand grading is left blank (Canvas then shows it as not
yet graded, never as a low score), and :func:`export_grades` lists those cells; the research
CSV scores graded points only and says how many answers and points await hand grading.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grader.analytics import GradedCohort, module_scores
from grader.atomic_file import write_atomically
from grader.pseudonyms import course_secret, pseudonym

FORMATS = ("canvas", "csv")
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
RESEARCH_COLUMNS = [
    "student",
    "assignment",
    "score",
    "max_score",
    "percent",
    "awaiting_hand_grading",
    "awaiting_points",
]


@dataclass(frozen=True)
class Export:
    """A written grade export and what it could not report yet."""

    path: Path
    awaiting: pd.DataFrame
    """student_id, assignment, awaiting (answers awaiting hand grading), awaiting_points."""


def canvas_csv(data: GradedCohort) -> str:
    """A Canvas gradebook import file: one row per student, one column per assignment."""
    scores = module_scores(data)
    # points possible count every graded cell, hand-graded ones still waiting included
    possible = (
        data.grades.groupby(["student_id", "assignment"])["max_score"]
        .sum()
        .groupby("assignment")
        .max()
    )
    # an assignment with an answer awaiting its hand grade has no grade yet: left blank
    wide = scores.assign(score=scores["score"].where(scores["awaiting"] == 0)).pivot(
        index="student_id", columns="assignment", values="score"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    assignments = sorted(wide.columns)
    writer.writerow(CANVAS_IDENTITY + assignments)
    writer.writerow(
        ["    Points Possible", "", "", "", ""] + [f"{possible[a]:g}" for a in assignments]
    )
    people = data.students.set_index("student_id")
    for student_id in sorted(people.index):
        person = people.loc[student_id]
        name = (
            ", ".join(
                p for p in (person["last_name"], person["first_name"]) if isinstance(p, str) and p
            )
            or student_id
        )
        row = [name, person["lms_user_id"] or "", student_id, person["email"] or "", ""]
        row += [
            ""
            if student_id not in wide.index or pd.isna(wide.at[student_id, a])
            else f"{wide.at[student_id, a]:g}"
            for a in assignments
        ]
        writer.writerow(row)
    return out.getvalue()


def research_csv(data: GradedCohort, course: Path | str) -> str:
    """Long-format scores under pseudonyms: no name, email or nbgrader id appears."""
    secret = course_secret(course)
    scores = module_scores(data)
    scores["student"] = scores["student_id"].map(lambda s: pseudonym(secret, s))
    scores["percent"] = scores["percent"].round(4)
    scores = scores.rename(columns={"awaiting": "awaiting_hand_grading"})
    return (
        scores[RESEARCH_COLUMNS]
        .sort_values(["student", "assignment"])
        .to_csv(index=False, lineterminator="\n")
    )


def export_grades(data: GradedCohort, course: Path | str, fmt: str, out: Path | str) -> Export:
    """Write grades in ``fmt`` (canvas or csv) to ``out``, atomically;
    say what awaits hand grading."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    text = canvas_csv(data) if fmt == "canvas" else research_csv(data, course)
    scores = module_scores(data)
    awaiting = scores.loc[
        scores["awaiting"] > 0, ["student_id", "assignment", "awaiting", "awaiting_points"]
    ]
    return Export(write_atomically(out, text), awaiting.reset_index(drop=True))
