"""Blind rating sheets, the ratings store and the `dialectic ratings` commands.

Most tests run on a real course directory: one assignment taken through real nbgrader
(generate, release, a simulated cohort of 8, autograde) once for the module; each test
works on its own copy, so that imports in one test do not leak into another.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import stat
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.agreement import NOT_ENOUGH, agreement_table
from grader.dictionary import load_dictionary
from grader.pseudonyms import ANSWER_PATTERN, answer_id, course_secret, pseudonym
from grader.ratings import (
    RATER_PATTERN,
    SCHEMA,
    SHEET_COLUMNS,
    STORE_COLUMNS,
    RatingSheetError,
    check_rater,
    export_sheet,
    import_sheet,
    load_ratings,
    simulate_ratings,
)
from grader.rubric import CRITERION_KEYS, as_markdown
from grader.simulate import roster
from grader.written_answers import vignette_of

ASSIGNMENT = "m04_rupture_repair"
GRADE_ID = "free_text_rc_020"
STUDENTS, SEED = 8, 1
ANSWERED = [s.student_id for s in roster(STUDENTS, SEED) if s.completion == "complete"]
NAMES = {f"s{n:03d}": ("Yerlan", f"Okonkwo-Lindqvist{n}") for n in range(1, STUDENTS + 1)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course directory after autograde, with names in the gradebook for the blindness check."""
    from grader.demo import prepare_course, run_assignment

    course = prepare_course(tmp_path_factory.mktemp("ratings") / "course")
    run_assignment(course, ASSIGNMENT, students=STUDENTS, seed=SEED)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, (first, last) in NAMES.items():
            gb.update_or_create_student(
                student, first_name=first, last_name=last, email=f"{last.lower()}@example.edu"
            )
    course_secret(course)  # one secret for every copy, so ids agree across tests
    return course


@pytest.fixture
def course(graded, tmp_path) -> Path:
    return Path(shutil.copytree(graded, tmp_path / "course"))


def read_sheet(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_sheet(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def column(name: str) -> int:
    return SHEET_COLUMNS.index(name)


# -- export --------------------------------------------------------------------------------


@pytest.mark.slow
def test_export_is_blind(course, tmp_path):
    report = export_sheet(course, "ann", tmp_path / "ann.csv")
    assert (report.rows, report.unanswered) == (len(ANSWERED), STUDENTS - len(ANSWERED))
    assert report.assignments == (ASSIGNMENT,)
    rows = read_sheet(report.sheet)
    assert rows[0] == list(SHEET_COLUMNS)
    body = rows[1:]
    assert len(body) == len(ANSWERED)
    assert all(re.fullmatch(ANSWER_PATTERN, r[0]) for r in body)
    assert {r[column("vignette")] for r in body} == {vignette_of(GRADE_ID)} == {"rc-020"}
    assert all(r[column(k)] == "" for r in body for k in (*CRITERION_KEYS, "comment"))
    everything = report.sheet.read_text(encoding="utf-8-sig") + report.readme.read_text(
        encoding="utf-8"
    )
    for student, (first, last) in NAMES.items():
        assert not re.search(rf"\b{student}\b", everything)
        assert first not in everything and last not in everything
    assert all(len(r) == len(SHEET_COLUMNS) for r in body)  # nothing else: no score, no other rater
    readme = report.readme.read_text(encoding="utf-8")
    assert report.readme.name == "ann.csv.README.txt"
    assert as_markdown() in readme and "rc-020" in readme and "The client says" in readme


@pytest.mark.slow
def test_pseudonyms_are_stable_across_exports(course, tmp_path):
    first = export_sheet(course, "ann", tmp_path / "ann.csv")
    second = export_sheet(course, "bob", tmp_path / "bob.csv", assignment=ASSIGNMENT, seed=7)
    ids = [r[0] for r in read_sheet(first.sheet)[1:]]
    again = [r[0] for r in read_sheet(second.sheet)[1:]]
    assert sorted(ids) == sorted(again) and ids != again  # same answers, each rater's own order
    secret = course_secret(course)
    assert sorted(ids) == sorted(answer_id(secret, s, ASSIGNMENT, GRADE_ID) for s in ANSWERED)
    assert stat.S_IMODE((course / "ratings" / ".secret").stat().st_mode) == 0o600


def test_secret_is_private_and_pseudonyms_stable(tmp_path):
    secret = course_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "ratings" / ".secret").stat().st_mode) == 0o600
    assert course_secret(tmp_path) == secret
    code = pseudonym(secret, "s001")
    assert re.fullmatch(r"S-[0-9a-f]{8}", code) and code == pseudonym(secret, "s001")
    assert pseudonym(course_secret(tmp_path / "other"), "s001") != code
    assert answer_id(secret, "s001", "a", "g") != answer_id(secret, "s001", "a", "h")


# -- import --------------------------------------------------------------------------------


@pytest.mark.slow
def test_import_of_a_simulated_sheet_stores_ratings(course, tmp_path):
    sheet = simulate_ratings(course, "ann", 1, tmp_path / "ann.csv")
    report = import_sheet(course, sheet.sheet, "ann")
    assert report.ok and report.rows == len(ANSWERED)
    assert report.added == len(ANSWERED) * len(CRITERION_KEYS)
    stored = load_ratings(course)
    assert len(stored) == report.added
    assert set(stored["rater"]) == {"ann"} and set(stored["grade_id"]) == {GRADE_ID}
    assert stored["score"].between(1, 5).all()
    assert list(stored["criterion"].cat.categories) == list(CRITERION_KEYS)
    filled = {r[0]: r for r in read_sheet(sheet.sheet)[1:]}
    for rating in stored.itertuples():
        assert int(filled[rating.answer_id][column(rating.criterion)]) == rating.score
    assert len(list((course / "ratings" / "sheets").glob("ann-*.csv"))) == 1
    again = import_sheet(course, sheet.sheet, "ann")
    assert again.ok and again.unchanged == report.added and again.added == 0


@pytest.mark.slow
def test_bad_rows_are_named_and_good_rows_stored(course, tmp_path, dialectic):
    rows = read_sheet(simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet)
    header, body = rows[0], rows[1:]
    body[0][column("empathy")] = "7"
    body[1][column("warmth")] = "four"
    body[2][column("answer")] += " Honestly."
    unknown = list(body[3])
    unknown[0] = "A-00000000"
    body += [unknown, list(body[3])]  # data rows 8 (unknown id) and 9 (a repeat of row 4)
    sheet = write_sheet(tmp_path / "bad.csv", [header, *body])

    done = dialectic("ratings", "import", str(sheet), "--rater", "ann", "--course", str(course))
    assert done.returncode == 1
    errors = done.stderr
    assert "5 bad row(s)" in errors
    for row, words in (
        (1, "'7' is outside the scale 1-5"),
        (2, "'four' is not a whole number"),
        (3, "answer text differs"),
        (8, "'A-00000000' is not a written answer"),
        (9, "repeats answer_id"),
    ):
        line = next((x for x in errors.splitlines() if f"row {row}," in x), "")
        assert words in line, (row, errors)
    good = len(ANSWERED) - 3
    assert f"{good * len(CRITERION_KEYS)} scores added" in done.stdout
    stored = load_ratings(course)
    assert sorted(set(stored["answer_id"])) == sorted(r[0] for r in body[3 : len(ANSWERED)])


@pytest.mark.slow
def test_repeated_rows_with_different_scores_store_neither(course, tmp_path):
    rows = read_sheet(simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet)
    twin = list(rows[1])
    twin[column("bond")] = "1" if twin[column("bond")] != "1" else "2"
    report = import_sheet(course, write_sheet(tmp_path / "twin.csv", [*rows, twin]), "ann")
    assert report.bad_row_numbers == [1, len(rows)]
    assert rows[1][0] not in set(load_ratings(course)["answer_id"])


@pytest.mark.slow
def test_changed_score_needs_replace(course, tmp_path, dialectic):
    rows = read_sheet(simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet)
    first = write_sheet(tmp_path / "first.csv", rows)
    assert import_sheet(course, first, "ann").ok
    target, old = rows[1][0], int(rows[1][column("repair")])
    new = old % 5 + 1
    rows[1][column("repair")] = str(new)
    changed = write_sheet(tmp_path / "changed.csv", rows)

    def stored_score() -> int:
        stored = load_ratings(course)
        return int(
            stored[(stored.answer_id == target) & (stored.criterion == "repair")]["score"].iloc[0]
        )

    refused = dialectic(
        "ratings", "import", str(changed), "--rater", "ann", "--course", str(course)
    )
    assert refused.returncode == 1 and "--replace" in refused.stderr and "row 1" in refused.stderr
    assert stored_score() == old
    accepted = dialectic(
        "ratings", "import", str(changed), "--rater", "ann", "--replace", "--course", str(course)
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "1 replaced" in accepted.stdout and stored_score() == new


@pytest.mark.slow
def test_semicolon_sheets_and_empty_cells_import(course, tmp_path):
    """Some spreadsheet locales save CSV with semicolons; an empty cell stores nothing."""
    rows = read_sheet(simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet)
    for row in rows[1:]:
        row[column("bond")] = ""
    rows[1][column("empathy")] = "4.0"  # a spreadsheet's way of writing 4
    report = import_sheet(course, write_sheet(tmp_path / "semi.csv", rows, delimiter=";"), "ann")
    assert report.ok and report.added == len(ANSWERED) * 3
    stored = load_ratings(course)
    assert "bond" not in set(stored["criterion"])
    assert (
        stored[(stored.answer_id == rows[1][0]) & (stored.criterion == "empathy")]["score"].iloc[0]
        == 4
    )


@pytest.mark.parametrize(
    "content, words",
    [
        ("answer_id,assignment\nA-1,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04" + bytes(40), "workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (b"name,score\nann,3\n", "no answer_id column"),
        (
            ",".join(c for c in SHEET_COLUMNS if c != "warmth").encode() + b"\n",
            "missing the column(s) warmth",
        ),
        (b"", "empty"),
    ],
)
def test_unreadable_sheets_fail_clearly(tmp_path, content, words):
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(content)
    with pytest.raises(RatingSheetError) as caught:
        import_sheet(tmp_path, sheet, "ann")
    assert str(sheet) in str(caught.value) and words in str(caught.value)
    assert not (tmp_path / "ratings" / "ratings.csv").exists()


@pytest.mark.parametrize(
    "name, ok",
    [
        ("ann", True),
        ("Dr. A. O'Neill-Núñez", True),
        ("", False),
        ("a,b", False),
        ("x" * 61, False),
        ("line\nbreak", False),
    ],
)
def test_rater_names(name, ok):
    if ok:
        assert check_rater(f" {name} ") == name
    else:
        with pytest.raises(Exception, match="rater name"):
            check_rater(name)


def test_store_schema_matches_the_code():
    """ratings.schema.yaml and the code that writes ratings.csv must describe the same table."""
    schema = load_dictionary(SCHEMA)
    assert tuple(schema.names) == STORE_COLUMNS
    assert schema.column("criterion").allowed == CRITERION_KEYS
    assert schema.column("rater").pattern == RATER_PATTERN.pattern
    assert schema.column("answer_id").pattern == ANSWER_PATTERN


# -- agreement -----------------------------------------------------------------------------


@pytest.mark.slow
def test_agreement_between_two_simulated_raters(course, tmp_path, dialectic):
    assert import_sheet(
        course, simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet, "ann"
    ).ok
    made = dialectic(
        "ratings",
        "simulate",
        "--rater",
        "bob",
        "--seed",
        "2",
        "--out",
        str(tmp_path / "bob.csv"),
        "--course",
        str(course),
    )
    assert made.returncode == 0, made.stderr
    imported = dialectic(
        "ratings", "import", str(tmp_path / "bob.csv"), "--rater", "bob", "--course", str(course)
    )
    assert imported.returncode == 0, imported.stderr

    table = agreement_table(load_ratings(course))
    assert list(table["criterion"]) == list(CRITERION_KEYS)
    assert (table["n"] == len(ANSWERED)).all()

    result = dialectic("ratings", "agreement", "--course", str(course), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["raters"] == ["ann", "bob"] and report["answers"] == len(ANSWERED)
    assert [r["criterion"] for r in report["agreement"]] == list(CRITERION_KEYS)
    for row in report["agreement"]:
        for key in ("icc", "kappa", "alpha"):
            assert isinstance(row[key], float) and -1 <= row[key] <= 1, (row["criterion"], key, row)
            assert row[f"{key}_label"] != NOT_ENOUGH
        if row["icc_ci_low"] is not None:
            assert -1 <= row["icc_ci_low"] <= row["icc"] <= row["icc_ci_high"] <= 1
    for answer in report["largest_disagreements"]:
        assert answer["difference"] > 0 and re.fullmatch(ANSWER_PATTERN, answer["answer_id"])

    text = dialectic("ratings", "agreement", "--course", str(course))
    assert text.returncode == 0 and "ICC(2,1)" in text.stdout
    assert all(k in text.stdout for k in CRITERION_KEYS)


@pytest.mark.slow
def test_agreement_with_one_rater_says_not_enough_data(course, tmp_path, dialectic):
    import_sheet(course, simulate_ratings(course, "ann", 1, tmp_path / "ann.csv").sheet, "ann")
    report = json.loads(dialectic("ratings", "agreement", "--course", str(course), "--json").stdout)
    assert all(r["icc"] is None and r["icc_label"] == NOT_ENOUGH for r in report["agreement"])


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["export", "import", "simulate", "agreement"])
def test_every_ratings_command_has_help(action, dialectic):
    result = dialectic("ratings", action, "--help")
    assert result.returncode == 0
    assert f"usage: dialectic ratings {action}" in result.stdout and "--course" in result.stdout


def test_ratings_help_lists_its_commands(dialectic):
    out = dialectic("ratings", "--help").stdout
    assert all(action in out for action in ("export", "import", "simulate", "agreement"))


def test_export_outside_a_course_fails_clearly(tmp_path, dialectic):
    done = dialectic(
        "ratings",
        "export",
        "--rater",
        "ann",
        "--out",
        str(tmp_path / "s.csv"),
        "--course",
        str(tmp_path),
    )
    assert done.returncode == 1 and "autograde" in done.stderr and "Traceback" not in done.stderr
