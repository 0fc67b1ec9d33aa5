"""What nbgrader test cells call: is an item answered, and how many points does it earn.

A widget answer lives in ``responses.json`` beside the notebook (nbgrader collects it with
the submission). Each autograder test cell has a visible part that fails, naming the item,
when the item is unanswered, which is what the student's Validate button reports, and a
hidden part that scores the answer with :mod:`grader.scoring` and ends with the points,
which nbgrader takes as partial credit::

    \"\"\"Item rc-002: choosing the best response (2 points, partial credit).\"\"\"
    from grader.grading import award, require_answer
    require_answer("rc-002", "choose")
    ### BEGIN HIDDEN TESTS
    award("rc-002", "choose", points=2)
    ### END HIDDEN TESTS
"""

from __future__ import annotations

import html
import os

from IPython.display import HTML, display

from grader.answers import AnswerStore
from grader.itembank import load_bank
from grader.scoring import score

#: What the learner is asked to do for each task, for the messages below.
TASK_WORDS = {
    "choose": "choose the best response",
    "spectrum": "place every response on the spectrum",
    "marker": "name the rupture type and its 3RS marker",
    "pattern": "name the therapist's state of mind",
}


class UnansweredError(AssertionError):
    """An assessment item the learner has not answered (or not completely)."""


def require_answer(item_id: str, task: str, directory=None) -> None:
    """Fail with a message naming the item when its answer is missing or incomplete."""
    item = load_bank().item(item_id)
    value = AnswerStore(directory).get(item_id, task)
    if value is None:
        raise UnansweredError(f"Item {item_id} is not answered yet: {TASK_WORDS[task]} in the item "
                              "above, then validate again.")
    # Validate also names a half-placed spectrum; autograde gives it partial credit instead.
    if task == "spectrum" and os.environ.get("NBGRADER_EXECUTION") != "autograde":
        missing = [r.letter for r in item.responses if r.response_id not in value]
        if missing:
            raise UnansweredError(f"Item {item_id} is half done: response(s) {', '.join(missing)} "
                                  "are not placed on the spectrum yet.")


def award(item_id: str, task: str, points: float, directory=None) -> float:
    """Score the saved answer, show its feedback, and return the points earned.

    The return value must be the last expression of the test cell: nbgrader reads a
    numeric result as the points awarded.
    """
    value = AnswerStore(directory).get(item_id, task)
    if value is None:
        raise UnansweredError(f"Item {item_id} is not answered.")
    result = score(item_id, task, value, points=points)
    body = html.escape(result.feedback).replace("\n", "<br>")
    display(HTML(f"<div class='dialectic-feedback'><b>Item {item_id} ({task}): "
                 f"{result.points:g} of {points:g} points.</b><br>{body}</div>"))
    return result.points
