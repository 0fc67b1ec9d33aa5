"""The one rule for hand grades not yet given, used by the report, the dashboard, the exports
and the feedback.

A cell that needs a manual grade and has none is **awaiting hand grading**. It has no score
(never a 0: nbgrader's own ``Grade.score`` says 0.0 for it, which is not a grade). Its points
are left out of every percentage, which is therefore over *graded* points only, and every
percentage that leaves points out says how many answers are still awaiting hand grading.
A blank answer that nbgrader scored 0 because the student never changed the cell is a
grade (0) and stays in.
"""

from __future__ import annotations

import pandas as pd

from grader.wording import counted

#: What a cell awaiting its hand grade shows where a score would be.
AWAITING_HAND_GRADING = "awaiting hand grading"


def awaiting_hand_grading(needs_manual_grade, manual_score):
    """True where a cell needs a manual grade and has none yet.

    Takes nbgrader's ``Grade.needs_manual_grade`` and ``Grade.manual_score`` for one grade
    (returns a bool) or as two pandas Series with one index (returns a boolean Series).
    """
    if isinstance(needs_manual_grade, pd.Series):
        return needs_manual_grade.fillna(False).astype(bool) & pd.Series(manual_score).isna()
    return bool(needs_manual_grade) and bool(pd.isna(manual_score))


def score_text(score: float, graded_max: float, awaiting: int) -> str:
    """A percentage over graded points with what it leaves out, e.g. "46%
    (1 answer awaiting hand grading)"."""
    if graded_max <= 0:
        return AWAITING_HAND_GRADING if awaiting else "nothing graded"
    text = f"{score / graded_max:.0%}"
    return f"{text} ({counted(awaiting, 'answer')} {AWAITING_HAND_GRADING})" if awaiting else text
