"""The dialectic command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.answers import AnswerStore
from grader.cli import main
from tests.conftest import edit_csv

DIALECTIC = str(Path(sys.executable).parent / "dialectic")
COMMANDS = ["validate-data", "student-bank", "generate-physiology", "data-dictionary",
            "simulate-cohort", "demo", "answers", "ratings"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([DIALECTIC, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_help_lists_every_command():
    out = run("--help").stdout
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    out = run(command, "--help").stdout
    assert "usage: dialectic " + command in out
    assert len(out.splitlines()) > 3


def test_validate_data_json_counts():
    counts = json.loads(run("validate-data", "--json").stdout)
    for key in ("vignettes", "responses", "by_area", "by_difficulty", "by_split"):
        assert key in counts
    assert counts["vignettes"] == sum(counts["by_area"].values())
    assert counts["vignettes"] == sum(counts["by_split"].values()) == sum(counts["by_difficulty"].values())
    assert counts["physiology"]["dyads"] >= 12


def test_validate_data_text_report():
    out = run("validate-data").stdout
    assert "valid" in out and "By area:" in out and "rupture_withdrawal" in out


def test_validate_data_names_the_bad_row(bank_copy):
    edit_csv(bank_copy / "vignettes.csv", 3, "affect_intensity", "11")
    result = run("validate-data", "--bank", str(bank_copy), check=False)
    assert result.returncode == 1
    assert "vignettes.csv, row 3" in result.stderr and "'affect_intensity'" in result.stderr


def test_student_bank_command(tmp_path):
    out = run("student-bank", str(tmp_path / "student")).stdout
    assert "assessment keys removed" in out
    assert (tmp_path / "student" / "bank.yaml").read_text().count("edition: student") == 1


def _answers(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["answers", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_answers_check_a_missing_folder_is_an_error(tmp_path, capsys):
    code, out, err = _answers(capsys, "check", str(tmp_path / "nowhere"))
    assert code == 1 and not out
    assert "nowhere is not a folder (it does not exist)" in err
    code, out, err = _answers(capsys, "recover", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "nowhere").exists()


def test_answers_check_and_recover_a_folder_without_answers(tmp_path, capsys):
    code, out, err = _answers(capsys, "check", str(tmp_path))
    assert code == 1 and f"There is no responses.json in {tmp_path}" in err
    code, out, err = _answers(capsys, "recover", str(tmp_path))
    assert code == 1 and "nothing to recover" in err and "moved" not in out + err
    assert list(tmp_path.iterdir()) == []  # no lock file or anything else left behind


def test_answers_check_a_damaged_file(tmp_path, capsys):
    (tmp_path / "responses.json").write_text("{not json", encoding="utf-8")
    code, out, err = _answers(capsys, "check", str(tmp_path))
    assert code == 1 and "not valid JSON (line 1" in err and "answers recover" in err
    assert (tmp_path / "responses.json").read_text(encoding="utf-8") == "{not json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.json"]


def test_answers_recover_after_several_saves_restores_the_latest(tmp_path, capsys):
    store = AnswerStore(tmp_path)
    for number in range(1, 6):
        store.record(f"ep-00{number}", "choose", f"ep-00{number}-a")
    store.record("ep-005", "choose", "ep-005-c")  # changed its mind: the newest answer must win
    store.path.write_bytes(b"\x00\x00 disk trouble")
    code, out, err = _answers(capsys, "recover", str(tmp_path))
    assert code == 0, err
    assert "The damaged file was moved to" in out and ".dialectic" in out
    assert "from 6 saved answers: 5 items answered, 0 reflections" in out
    assert store.get("ep-005", "choose") == "ep-005-c"
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dialectic", "responses.json"]
    code, out, err = _answers(capsys, "check", str(tmp_path))
    assert code == 0 and "readable; 5 items answered, 0 reflections" in out
    code, out, err = _answers(capsys, "recover", str(tmp_path))
    assert code == 0 and "nothing to recover, nothing changed" in out


def test_answers_recover_names_what_it_could_not_restore(tmp_path, capsys):
    store = AnswerStore(tmp_path)
    store.record("ep-001", "choose", "ep-001-a")
    store.path.write_text('{"schema_version": 1, "answers": {"ep-001": {}, "rw-014": {"choose": 7', encoding="utf-8")
    code, out, err = _answers(capsys, "recover", str(tmp_path))
    assert code == 1
    assert "1 item answered" in out and "Could not recover: rw-014. Answer these again." in err
    assert store.get("ep-001", "choose") == "ep-001-a"


def test_committed_physiology_matches_the_generator():
    assert "matches" in run("generate-physiology", "--check").stdout


def test_committed_data_dictionary_is_up_to_date():
    assert "up to date" in run("data-dictionary", "--check").stdout


@pytest.mark.slow
def test_every_path_the_demo_prints_exists(tmp_path, monkeypatch, capsys):
    """A relative --out, as `make demo` gives it: nbgrader runs inside the course, so the
    paths must not be resolved against it a second time."""
    monkeypatch.chdir(tmp_path)
    assignment = "m07_alliance_and_the_spectrum"
    assert main(["demo", "--out", "demo-course", "--students", "3", "--assignment", assignment]) == 0
    out = capsys.readouterr().out
    printed = {}
    for line in out.splitlines():
        label, _, rest = line.strip().partition(":")
        if rest.strip().startswith(("/", "cd /")):
            printed[label] = rest.strip().removeprefix("cd ").split(" && ")[0]
    assert set(printed) == {"course directory", "gradebook", "grades (CSV)", "feedback (HTML)",
                            "cohort report", "formgrader"}, out
    course = tmp_path / "demo-course"
    assert printed["course directory"] == str(course) and printed["formgrader"] == str(course)
    assert printed["grades (CSV)"] == str(course / "grades.csv")
    for label, path in printed.items():
        path = path.removesuffix("/<student>/<assignment>/")
        assert Path(path).exists(), f"the demo printed {label}: {path}, which does not exist"
    assert len(list((course / "feedback").glob(f"*/{assignment}/*.html"))) == 3
    assert not (course / "demo-course").exists()
