"""What ``nbgrader generate_feedback`` shows a student, set up in the course's nbgrader_config.py.

nbgrader's own feedback shows every hidden test (jupyter/nbgrader#917) and prints "0 / 20"
for a written answer nobody has graded yet. :class:`FeedbackPolicy` runs after nbgrader's
``GetGrades`` and:

- removes every hidden-test region from every cell, and replaces the traceback of a failed
  test cell by its last line (a traceback quotes the hidden line that failed);
- marks a cell that needs a hand grade and has none as *awaiting hand grading*
  (:mod:`grader.hand_grading`, the rule the report and exports follow too): the
  template (``templates/dialectic_feedback``) shows that instead of a score, and the
  notebook's total counts only what has been graded so far;
- with ``FeedbackPolicy.show = "scores"`` (the default), cuts the item feedback that plain
  ``nbgrader autograde`` printed down to its score line: rationales are assessment keys.
  ``dialectic autograde --feedback`` chooses the same for the cells it scores.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from grader.gradecells import without_hidden_tests
from grader.hand_grading import awaiting_hand_grading

#: The template folder nbgrader_config.py adds to HTMLExporter.extra_template_basedirs.
TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAME = "dialectic_feedback"
#: It extends nbgrader's feedback template (its conf.json names it the base), hence its own file
#: name.
TEMPLATE_FILE = "dialectic.html.j2"
_FEEDBACK_BODY = re.compile(r"(<div class='dialectic-feedback'><b>[^<]*</b>).*?(</div>)", re.S)


class FeedbackPolicy(NbGraderPreprocessor):
    """Feedback without hidden tests, keys (by default) or zeros that are not grades."""

    show = Unicode(
        "scores", help="'scores': item feedback shows points only; 'full': the rationales too."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        pending = 0.0
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade"):
                    grade = gb.find_grade(
                        meta["grade_id"], info["notebook"], info["assignment"], info["student"]
                    )
                    if awaiting_hand_grading(grade.needs_manual_grade, grade.manual_score):
                        meta["awaiting"] = True
                        pending += float(grade.max_score)
                self._clean(cell, meta)
        info["awaiting_points"] = pending
        info["graded_max_score"] = float(info.get("max_score", 0)) - pending
        return nb, resources

    def _clean(self, cell, meta) -> None:
        cell.source = without_hidden_tests(cell.source)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                ]
            elif self.show == "scores" and "text/html" in output.get("data", {}):
                output["data"]["text/html"] = _FEEDBACK_BODY.sub(
                    r"\1\2", output["data"]["text/html"]
                )
                output["data"].pop("text/plain", None)
