"""Assessment keys never reach students: the student edition carries none."""

from __future__ import annotations

import pandas as pd
import pytest

from grader.editions import write_student_edition
from grader.errors import DataValidationError, GraderError
from grader.itembank import dictionaries, load_bank
from grader.paths import REPO_ROOT
from tests.conftest import BANK, edit_csv


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    instructor = load_bank(BANK)
    out = write_student_edition(tmp_path_factory.mktemp("student"), instructor)
    return instructor, out


def _assessment_key_texts(instructor) -> set[str]:
    """Every free-text key of an assessment item: text that must never reach a student."""
    r = instructor.responses
    assessment = set(instructor.ids(split="assessment"))
    return set(r.loc[r["item_id"].isin(assessment), "rationale"].dropna())


def test_assessment_keys_are_blank_and_practice_keys_intact(editions):
    instructor, out = editions
    vdict, rdict = dictionaries(BANK)
    v = pd.read_csv(out / "vignettes.csv", dtype=str, keep_default_na=False)
    r = pd.read_csv(out / "responses.csv", dtype=str, keep_default_na=False)
    assessment = set(instructor.ids(split="assessment"))
    assert assessment and len(assessment) < len(instructor)
    assert (v.loc[v["item_id"].isin(assessment), vdict.key_columns] == "").all().all()
    assert (r.loc[r["item_id"].isin(assessment), rdict.key_columns] == "").all().all()
    practice = ~r["item_id"].isin(assessment)
    original = pd.read_csv(BANK / "responses.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(r[practice], original[practice])
    # the prompts a student needs are all there
    assert (r["text"] != "").all() and (v["client_statement"] != "").all()


def test_no_file_of_the_student_edition_contains_an_assessment_key(editions):
    instructor, out = editions
    secrets = _assessment_key_texts(instructor)
    assert len(secrets) > 100
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{path} contains assessment rationale: {leaked[0][:60]}"


def test_student_edition_loads_and_says_what_it_is(editions):
    _, out = editions
    bank = load_bank(out)
    assert bank.edition == "student"
    assert not bank.item(bank.ids(split="assessment")[0]).has_keys
    assert bank.item(bank.ids(split="practice")[0]).has_keys


def test_a_key_slipped_into_the_student_edition_is_caught(editions, tmp_path):
    instructor, out = editions
    import shutil

    copy = tmp_path / "student"
    shutil.copytree(out, copy)
    r = pd.read_csv(copy / "responses.csv", dtype=str, keep_default_na=False)
    row = int(r.index[r["item_id"] == instructor.ids(split="assessment")[0]][0]) + 1
    edit_csv(copy / "responses.csv", row, "spectrum_position", "0")
    with pytest.raises(DataValidationError, match="student edition carries an assessment key"):
        load_bank(copy)


def test_student_edition_refuses_to_overwrite_the_instructor_bank(editions):
    instructor, out = editions
    with pytest.raises(GraderError, match="another folder"):
        write_student_edition(BANK, instructor)
    with pytest.raises(GraderError, match="already a student edition"):
        write_student_edition(out / "again", load_bank(out))


def test_course_files_carry_no_assessment_key(editions):
    """Everything under course/ is student-facing: no assessment rationale may appear there."""
    instructor, _ = editions
    secrets = _assessment_key_texts(instructor)
    for path in (REPO_ROOT / "course").rglob("*"):
        if path.is_file() and path.suffix in {".ipynb", ".md", ".py", ".json", ".csv", ".txt"}:
            text = path.read_text(encoding="utf-8")
            assert not [s for s in secrets if s in text], path
