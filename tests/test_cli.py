"""The dialectic command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_answers_check_and_recover(tmp_path):
    (tmp_path / "responses.json").write_text("{not json", encoding="utf-8")
    bad = run("answers", "check", str(tmp_path), check=False)
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr
    out = run("answers", "recover", str(tmp_path)).stdout
    assert "moved to" in out
    assert "readable" in run("answers", "check", str(tmp_path)).stdout


def test_committed_physiology_matches_the_generator():
    assert "matches" in run("generate-physiology", "--check").stdout


def test_committed_data_dictionary_is_up_to_date():
    assert "up to date" in run("data-dictionary", "--check").stdout
