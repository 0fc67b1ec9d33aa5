"""The rater as a labelled machine reader in the ratings workflow: compared with the human
raters with the same agreement code, never stored as a rating and never a grade."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from grader.machine_reader import MACHINE, machine_agreement, machine_ratings, report_section
from grader.ratings import import_sheet, load_ratings, ratings_dir, simulate_ratings

pytestmark = pytest.mark.slow


@pytest.fixture
def rated_course(graded_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded_course, course)
    assert import_sheet(
        course, simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet, "ann"
    ).ok
    return course


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_machine_reader_scores_empathy_and_agrees_through_the_shared_code(rated_course):
    gradebook = rated_course / "gradebook.db"
    before = _digest(gradebook)
    machine = machine_ratings(rated_course)
    assert len(machine) > 0
    assert set(machine["rater"]) == {MACHINE} and set(machine["criterion"]) == {"empathy"}
    assert machine["score"].between(1, 5).all()
    table = machine_agreement(rated_course)
    row = table.set_index("human rater").loc["ann"]
    assert row["answers both read"] > 0
    assert row["weighted kappa"] is None or -1 <= row["weighted kappa"] <= 1
    html = report_section(rated_course)
    assert "machine reader" in html.lower() and "ann" in html and "writes no grade" in html
    # it never becomes a stored rating, and never touches the gradebook
    assert MACHINE not in set(load_ratings(rated_course)["rater"])
    assert MACHINE not in (ratings_dir(rated_course) / "ratings.csv").read_text(encoding="utf-8")
    assert _digest(gradebook) == before


def test_without_human_ratings_the_section_says_so(graded_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded_course, course)
    shutil.rmtree(ratings_dir(course), ignore_errors=True)
    assert "No human rating imported yet" in report_section(course)
