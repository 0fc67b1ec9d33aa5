"""Keep hidden tests out of the student's kernel, and out of what the student gets back.

nbgrader restores every test cell from the gradebook, hidden tests included, and runs it in
the student's kernel: there student code can replace the functions a hidden test calls,
and the hidden code is shown in feedback (jupyter/nbgrader#917). ``dialectic autograde``
grades against a snapshot of the gradebook in which every test cell's source has its hidden
region removed (and its checksum recomputed to match, so nbgrader restores the cell exactly
as it was released); the hidden checks run in the trusted grader instead (:mod:`.trusted`).
"""

from __future__ import annotations

import nbformat
from nbgrader import api
from nbgrader.utils import compute_checksum

from grader.gradecells import HIDDEN_TESTS, without_hidden_tests


def strip_hidden_tests(gradebook_url: str, assignments: list[str]) -> int:
    """Remove hidden regions from the test cells of ``assignments`` in a gradebook; how many."""
    changed = 0
    with api.Gradebook(gradebook_url) as gb:
        for name in assignments:
            for notebook in gb.find_assignment(name).notebooks:
                points = {cell.name: cell.max_score for cell in notebook.grade_cells}
                for cell in notebook.source_cells:
                    if not HIDDEN_TESTS.search(cell.source or ""):
                        continue
                    cell.source = without_hidden_tests(cell.source)
                    cell.checksum = checksum(
                        cell.name, cell.cell_type, cell.source, cell.locked, points
                    )
                    changed += 1
        gb.db.commit()
    return changed


def checksum(grade_id: str, cell_type: str, source: str, locked: bool, points: dict) -> str:
    """The checksum nbgrader gives a released cell of this kind
    (``nbgrader.utils.compute_checksum``)."""
    new = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = new(source)
    cell.metadata["nbgrader"] = {
        "grade": grade_id in points,
        "grade_id": grade_id,
        "locked": bool(locked),
        "solution": False,
        "points": points.get(grade_id, 0),
    }
    return compute_checksum(cell)
