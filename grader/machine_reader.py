"""The formative rater as a clearly labelled machine reader of written answers.

In the ratings workflow the rater reads every written answer that names a vignette of the
bank and gives its Carkhuff level, which is what the rubric's *empathy* criterion judges
(its five anchors are Carkhuff's five levels). Its agreement with each human rater is
computed with the same code as agreement between humans (:mod:`grader.agreement`). It
never writes a grade and never enters ``ratings.csv``: its scores are computed when asked
and shown only beside the human ratings. Answers it is unsure of are left out, as it would
leave them out for a learner.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from grader import agreement, ratings
from grader.errors import GraderError
from grader.itembank import load_bank
from grader.rater import RaterInputError, load_rater
from grader.written_answers import collect

MACHINE = "machine reader (formative rater)"
#: The rubric criterion the machine reader judges, and the reading it gives for it.
CRITERION = "empathy"


def machine_ratings(course: Path | str, assignment: str | None = None) -> pd.DataFrame:
    """The machine reader's empathy scores, long format like :func:`grader.ratings.load_ratings`."""
    bank = load_bank()
    rater = load_rater(bank)
    rows = []
    for answer in collect(course, assignment).answers:
        if answer.vignette not in bank:
            continue
        try:
            reading = rater.rate(answer.vignette, answer.text[:2000])
        except RaterInputError:
            continue
        if not reading.unsure:
            rows.append(
                {
                    "answer_id": answer.answer_id,
                    "assignment": answer.assignment,
                    "grade_id": answer.grade_id,
                    "rater": MACHINE,
                    "criterion": CRITERION,
                    "score": reading.carkhuff_level,
                }
            )
    return pd.DataFrame(
        rows, columns=["answer_id", "assignment", "grade_id", "rater", "criterion", "score"]
    )


def machine_agreement(course: Path | str) -> pd.DataFrame:
    """One row per human rater: the machine reader's agreement with them on empathy."""
    human = ratings.load_ratings(course)
    human = human[human["criterion"] == CRITERION]
    machine = machine_ratings(course).set_index("answer_id")["score"]
    rows = []
    for name in sorted(human["rater"].unique()):
        scores = human[human["rater"] == name].set_index("answer_id")["score"]
        shared = scores.index.intersection(machine.index)
        kappa = agreement.weighted_kappa(
            scores[shared].astype(float), machine[shared].astype(float)
        )
        pair = pd.DataFrame(
            {
                "answer_id": [*shared, *shared],
                "rater": [name] * len(shared) + [MACHINE] * len(shared),
                "score": [*scores[shared].astype(float), *machine[shared].astype(float)],
            }
        )
        icc = agreement.icc(pair, "answer_id", "rater", "score")
        rows.append(
            {
                "human rater": name,
                "answers both read": len(shared),
                "weighted kappa": kappa.value,
                "kappa reading": kappa.label,
                "ICC(2,1)": icc.value if icc.computed else None,
                "ICC reading": icc.label if icc.computed else icc.reason,
            }
        )
    return pd.DataFrame(rows)


def report_section(course: Path | str) -> str:
    """HTML for the cohort report: the machine reader's agreement with the human raters."""
    note = (
        "<p class='note'>A machine reader, not a rater of record: the course's formative rater "
        "(trained only on practice keys and exemplars) reads each written answer and gives its "
        "Carkhuff level, compared here with the human raters' <i>empathy</i> scores using the same "
        "agreement code (quadratic weighted kappa; ICC(2,1)). It writes no grade; answers it is "
        "unsure of are left out.</p>"
    )
    try:
        table = machine_agreement(course)
    except GraderError as exc:
        return note + f"<p>No machine reading: {html.escape(str(exc))}</p>"
    if table.empty:
        return note + "<p>No human rating imported yet to compare with.</p>"
    return note + table.to_html(
        index=False,
        na_rep="not enough data",
        float_format=lambda v: f"{v:.2f}",
        border=0,
        classes="machine-reader",
    )
