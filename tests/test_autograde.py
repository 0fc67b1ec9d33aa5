"""Parallel cohort autograding gives exactly nbgrader's grades, keeps manual grades, resumes."""

from __future__ import annotations

import shutil

import pytest
from nbgrader.api import Gradebook

from grader.autograde import autograde_cohort, record_path
from grader.demo import nbgrader, prepare_course
from grader.simulate import simulate_cohort

pytestmark = pytest.mark.slow
ASSIGNMENT = "m07_alliance_and_the_spectrum"
# Five: more than one worker's share, and enough (four or more) for the grader to draw the
# release's charts once, as it does for a real cohort.
STUDENTS = 5


def _cells(course) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            (s.student.id, g.name): (g.auto_score, g.manual_score, g.needs_manual_grade)
            for s in gb.assignment_submissions(ASSIGNMENT)
            for n in s.notebooks
            for g in n.grades
        }


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """A course with the assignment generated and a simulated cohort handed in."""
    course = prepare_course(tmp_path_factory.mktemp("autograde") / "course")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    simulate_cohort(course, ASSIGNMENT, STUDENTS, seed=21)
    return course


@pytest.fixture(scope="module")
def by_nbgrader(submitted, tmp_path_factory):
    course = tmp_path_factory.mktemp("plain") / "course"
    shutil.copytree(submitted, course)
    nbgrader(course, "autograde", ASSIGNMENT)
    return course


@pytest.fixture(scope="module")
def by_us(submitted, tmp_path_factory):
    """The same cohort graded by `dialectic autograde`, once for the tests that read it."""
    course = shutil.copytree(submitted, tmp_path_factory.mktemp("ours") / "course")
    return course, autograde_cohort(course, ASSIGNMENT, workers=2)


@pytest.fixture
def fresh(submitted, tmp_path):
    return shutil.copytree(submitted, tmp_path / "course")


def test_same_grades_as_nbgrader_autograde(by_nbgrader, by_us):
    course, outcomes = by_us
    assert [o.status for o in outcomes] == ["graded"] * STUDENTS
    assert _cells(course) == _cells(by_nbgrader)
    for outcome in outcomes:
        assert record_path(course, ASSIGNMENT, outcome.student_id).exists()
        assert not any(p.name.startswith(".dialectic") for p in (course / "autograded").rglob("*"))
        assert (
            course / "autograded" / outcome.student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        ).exists()


def test_rerun_is_idempotent_and_keeps_manual_grades(by_us, tmp_path):
    graded = shutil.copytree(by_us[0], tmp_path / "course")
    before = _cells(graded)
    assert {o.status for o in autograde_cohort(graded, ASSIGNMENT, workers=2)} == {"skipped"}
    assert _cells(graded) == before
    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}") as gb:
        grade = gb.find_grade("free_text_rw_020", ASSIGNMENT, ASSIGNMENT, "s001")
        grade.manual_score = 17.0
        gb.db.commit()
    forced = autograde_cohort(graded, ASSIGNMENT, workers=2, force=True)
    assert [o.status for o in forced] == ["graded"] * STUDENTS
    after = _cells(graded)
    assert after[("s001", "free_text_rw_020")][1] == 17.0
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}


def test_interrupted_run_keeps_finished_grades_and_resumes(fresh):
    finished = []

    def stop_after_two(outcome):
        finished.append(outcome.student_id)
        if len(finished) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        autograde_cohort(fresh, ASSIGNMENT, workers=1, progress=stop_after_two)
    graded = {s for (s, _), v in _cells(fresh).items() if v[0] is not None}
    assert set(finished) <= graded
    rest = autograde_cohort(fresh, ASSIGNMENT, workers=2)
    assert {o.student_id for o in rest if o.status == "skipped"} == set(finished)
    assert {o.student_id for o in rest if o.status == "graded"} == {
        f"s{n:03d}" for n in range(1, STUDENTS + 1)
    } - set(finished)


def test_a_broken_submission_is_recorded_and_the_rest_graded(by_nbgrader, fresh):
    (fresh / "submitted" / "s003" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(
        "{ this is not json", encoding="utf-8"
    )
    outcomes = {o.student_id: o for o in autograde_cohort(fresh, ASSIGNMENT, workers=2)}
    assert outcomes["s003"].status == "failed" and outcomes["s003"].reason
    assert outcomes["s003"].score == 0
    assert (
        "could not grade"
        in (fresh / "autograded" / "s003" / ASSIGNMENT / "AUTOGRADE_FAILED.txt").read_text()
    )
    with Gradebook(f"sqlite:///{fresh / 'gradebook.db'}") as gb:
        assert all(n.flagged for n in gb.find_submission(ASSIGNMENT, "s003").notebooks)
    expected, got = _cells(by_nbgrader), _cells(fresh)
    for key, value in expected.items():
        if key[0] != "s003":
            assert got[key] == value, key


def test_dask_cluster_gives_the_same_grades(by_nbgrader, fresh):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        outcomes = autograde_cohort(fresh, ASSIGNMENT, scheduler=cluster.scheduler_address)
    assert [o.status for o in outcomes] == ["graded"] * STUDENTS
    assert _cells(fresh) == _cells(by_nbgrader)


def test_the_command_reports_isolation_progress_and_notes(fresh, dialectic):
    """`dialectic autograde` says once what isolation it has, shows progress and lists notes."""
    import json

    answers = fresh / "submitted" / "s002" / ASSIGNMENT / "responses.json"
    answers.write_text(json.dumps([1, 2, 3]), encoding="utf-8")
    done = dialectic("autograde", ASSIGNMENT, "--course", fresh)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert output.count("isolation") == 1
    assert f"{STUDENTS}/{STUDENTS}" in done.stderr  # the progress bar reached the end
    assert f"{STUDENTS} graded, 0 could not be graded" in done.stdout
    assert f"{ASSIGNMENT} s002 note: responses.json cannot be read" in done.stdout
    again = dialectic("autograde", "--help")
    assert "sandboxed" in again.stdout and "--scheduler" in again.stdout


@pytest.mark.parametrize("written, expected", [(None, 120), ("c.Execute.timeout = 45\n", 45)])
def test_the_cell_timeout_comes_from_the_course_config(tmp_path, written, expected):
    from grader.autograde import course_timeout
    from grader.paths import REPO_ROOT

    config = (
        (REPO_ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
        if written is None
        else written
    )
    (tmp_path / "nbgrader_config.py").write_text(config, encoding="utf-8")
    assert course_timeout(tmp_path) == expected


def test_the_kernel_is_shown_no_instructor_bank(tmp_path):
    """The instructor bank is covered wherever it sits; the student edition is bound back."""
    from grader.autograde import grading_policy
    from grader.paths import item_bank_dir, physiology_dir

    policy = grading_policy(tmp_path, 60, True, tmp_path / "student-bank")
    hidden = [p for p in policy.hide]
    assert str(item_bank_dir().resolve()) in hidden
    assert not any(
        str(physiology_dir().resolve()).startswith(h + "/") or str(physiology_dir().resolve()) == h
        for h in hidden
    )
    assert str((tmp_path / "student-bank").resolve()) in policy.visible
