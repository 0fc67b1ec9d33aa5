"""The dialectic command line, run in-process through ``grader.cli.main`` (the ``dialectic``
fixture); one test runs the installed script, for its exit codes."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.answers import AnswerStore
from grader.cli import DESCRIPTION, _parser, main
from tests.conftest import edit_csv

DIALECTIC = str(Path(sys.executable).parent / "dialectic")
COMMANDS = [
    "validate-data",
    "student-bank",
    "generate-physiology",
    "data-dictionary",
    "simulate-cohort",
    "demo",
    "answers",
    "ratings",
]


@pytest.fixture
def run(dialectic):
    """``dialectic ARGS...`` in-process, by default expected to succeed."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = dialectic(*args)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _every_parser(parser: argparse.ArgumentParser, path: str = "dialectic"):
    yield path, parser
    for name, sub in _subcommands(parser).items():
        yield from _every_parser(sub, f"{path} {name}")


def test_help_lists_every_command(run):
    out = run("--help").stdout
    for command in COMMANDS:
        assert command in out


def test_the_description_names_every_command(run):
    commands = _subcommands(_parser())
    assert len(commands) >= 17
    named = DESCRIPTION.replace(",", " ").replace("(", " ").split()
    assert [c for c in commands if c not in named] == []
    assert DESCRIPTION.splitlines()[-1] in run("--help").stdout  # shown as written, not re-wrapped


def test_course_is_one_option_with_one_help_text():
    courses = {
        path: next(a for a in parser._actions if "--course" in a.option_strings)
        for path, parser in _every_parser(_parser())
        if any("--course" in a.option_strings for a in parser._actions)
    }
    courses.pop(
        "dialectic site"
    )  # there --course is the folder of course notebooks, not a course directory
    assert len(courses) == 12
    assert {a.help for a in courses.values()} == {
        "nbgrader course directory (default: the current folder)"
    }
    assert {a.type for a in courses.values()} == {Path}


@pytest.mark.parametrize(
    "command, option, function",
    [
        (["autograde", "m07"], "workers", "grader.autograde:autograde_cohort"),
        (["autograde", "m07"], "feedback", "grader.autograde:autograde_cohort"),
        (["simulate-cohort", "m07"], "students", "grader.simulate:simulate_cohort"),
        (["simulate-cohort", "m07"], "seed", "grader.simulate:simulate_cohort"),
        (["demo"], "students", "grader.demo:run_demo"),
        (["site"], "workers", "grader.site:build"),
        (["ratings", "agreement"], "top", "grader.agreement:largest_disagreements"),
        (["items", "review", "simulate", "x.csv"], "harsher", "grader.item_review:simulate_sheet"),
        (["hub", "start", "--roster", "r.csv"], "port", "grader.hub_run:run_hub"),
    ],
)
def test_defaults_come_from_the_library(command, option, function):
    """The CLI states no default the library also defines: it reads the function's own."""
    import importlib

    default = _parser().parse_args(command).__dict__[option]
    module, name = function.split(":")
    parameter = {"top": "n"}.get(option, option)
    expected = (
        inspect.signature(getattr(importlib.import_module(module), name))
        .parameters[parameter]
        .default
    )
    assert (
        default.function == function and default.value == expected and str(default) == str(expected)
    )


def test_autograde_help_shows_the_library_worker_count(run):
    from grader.autograde import DEFAULT_WORKERS

    assert f"{DEFAULT_WORKERS} here" in " ".join(run("autograde", "--help").stdout.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(run, command):
    out = run(command, "--help").stdout
    assert "usage: dialectic " + command in out
    assert len(out.splitlines()) > 3


def test_validate_data_json_counts(run):
    counts = json.loads(run("validate-data", "--json").stdout)
    for key in ("vignettes", "responses", "by_area", "by_difficulty", "by_split"):
        assert key in counts
    assert counts["vignettes"] == sum(counts["by_area"].values())
    assert (
        counts["vignettes"]
        == sum(counts["by_split"].values())
        == sum(counts["by_difficulty"].values())
    )
    assert counts["physiology"]["dyads"] >= 12


def test_validate_data_text_report(run):
    out = run("validate-data").stdout
    assert "valid" in out and "By area:" in out and "rupture_withdrawal" in out


def test_the_installed_script_exits_1_naming_the_bad_row(bank_copy):
    """The one subprocess: the `dialectic` script on the PATH, and the exit codes it gives."""
    edit_csv(bank_copy / "vignettes.csv", 3, "affect_intensity", "11")
    result = subprocess.run(
        [DIALECTIC, "validate-data", "--bank", str(bank_copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "vignettes.csv, row 3" in result.stderr and "'affect_intensity'" in result.stderr
    assert "Traceback" not in result.stderr
    fine = subprocess.run([DIALECTIC, "--version"], capture_output=True, text=True, timeout=300)
    assert fine.returncode == 0 and fine.stdout.startswith("dialectic ")


def test_student_bank_command(run, tmp_path):
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
    store.path.write_text(
        '{"schema_version": 1, "answers": {"ep-001": {}, "rw-014": {"choose": 7', encoding="utf-8"
    )
    code, out, err = _answers(capsys, "recover", str(tmp_path))
    assert code == 1
    assert "1 item answered" in out and "Could not recover: rw-014. Answer these again." in err
    assert store.get("ep-001", "choose") == "ep-001-a"


def test_committed_physiology_matches_the_generator(run):
    assert "matches" in run("generate-physiology", "--check").stdout


def test_committed_data_dictionary_is_up_to_date(run):
    assert "up to date" in run("data-dictionary", "--check").stdout


@pytest.mark.slow
def test_every_path_the_demo_prints_exists(tmp_path, monkeypatch, capsys):
    """A relative --out, as `make demo` gives it: nbgrader runs inside the course, so the
    paths must not be resolved against it a second time."""
    monkeypatch.chdir(tmp_path)
    assignment = "m07_alliance_and_the_spectrum"
    assert (
        main(["demo", "--out", "demo-course", "--students", "3", "--assignment", assignment]) == 0
    )
    out = capsys.readouterr().out
    printed = {}
    for line in out.splitlines():
        label, _, rest = line.strip().partition(":")
        if rest.strip().startswith(("/", "cd /")):
            printed[label] = rest.strip().removeprefix("cd ").split(" && ")[0]
    assert set(printed) == {
        "course directory",
        "gradebook",
        "grades (CSV)",
        "feedback (HTML)",
        "cohort report",
        "formgrader",
    }, out
    course = tmp_path / "demo-course"
    assert printed["course directory"] == str(course) and printed["formgrader"] == str(course)
    assert printed["grades (CSV)"] == str(course / "grades.csv")
    for label, path in printed.items():
        path = path.removesuffix("/<student>/<assignment>/")
        assert Path(path).exists(), f"the demo printed {label}: {path}, which does not exist"
    assert len(list((course / "feedback").glob(f"*/{assignment}/*.html"))) == 3
    assert not (course / "demo-course").exists()


def test_nbgrader_cli_is_nbgrader_without_the_grammar_build(tmp_path):
    """`python -m grader.nbgrader_cli` answers and fails as `nbgrader` does, and never
    imports the IRI grammar that `nbgrader` builds on every start."""
    import subprocess
    import sys

    probe = (
        "import sys\nsys.argv = ['nbgrader', '--version']\nfrom grader import nbgrader_cli\n"
        "try:\n    nbgrader_cli.main()\nexcept SystemExit:\n    pass\n"
        "print('grammar built' if sys.modules.get('rfc3987_syntax') else 'no grammar')"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "nbgrader version 0.9" in done.stdout and done.stdout.endswith("no grammar\n")
    failed = subprocess.run(
        [sys.executable, "-m", "grader.nbgrader_cli", "generate_assignment", "no_such_one"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
