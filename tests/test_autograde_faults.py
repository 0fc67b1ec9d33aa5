"""A cohort mixing good submissions with broken, hostile and escaping ones still grades.

Every fault named in the autograding issue is one simulated student here; three students
stay untouched and must get exactly plain nbgrader's grades. The escape attempts run in
the sandboxed kernel against real targets: the course's gradebook, its source notebooks,
another student's folder and a TCP server this test starts (reachable from outside the
sandbox, as the test first proves).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.autograde import autograde_cohort, check_isolation
from grader.demo import nbgrader, prepare_course
from grader.simulate import simulate_cohort

pytestmark = pytest.mark.slow
A = "m07_alliance_and_the_spectrum"
NOTEBOOK = f"{A}.ipynb"
GOOD = ("s014", "s015", "s016")
UNCOMPARED = ("s001", "s002", "s003", "s008", "s013")
# seconds a cell may run: s007 loops for ever; an honest cell takes 1-2 s, longer on a busy machine
TIMEOUT = 10


def _cells(course, students=None) -> dict:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            (s.student.id, g.name): g.auto_score
            for s in gb.assignment_submissions(A)
            if students is None or s.student.id in students
            for n in s.notebooks
            for g in n.grades
        }


def _folder(course, student):
    return course / "submitted" / student / A


def _edit(course, student, change):
    path = _folder(course, student) / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _insert_code(*sources):
    def change(nb):
        for offset, source in enumerate(sources):
            nb.cells.insert(2 + offset, nbformat.v4.new_code_cell(source))

    return change


@pytest.fixture(scope="module")
def server():
    """A TCP server on loopback that the grading kernel must not reach."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], accepted
    listener.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, server):
    """The fault cohort, graded by `dialectic autograde`,
    and plain nbgrader's grades of it unbroken."""
    port, _ = server
    course = prepare_course(tmp_path_factory.mktemp("faults") / "course")
    nbgrader(course, "generate_assignment", A, "--force")
    simulate_cohort(course, A, 17, seed=8)
    baseline = tmp_path_factory.mktemp("baseline") / "course"
    shutil.copytree(course, baseline)
    # plain nbgrader grades one notebook at a time: leave out the students no test compares
    # with it (their notebooks are made unreadable, missing or fatal, or are only a target)
    for student in UNCOMPARED:
        shutil.rmtree(_folder(baseline, student))
    nbgrader(baseline, "autograde", A)

    (_folder(course, "s001") / NOTEBOOK).write_text(
        '{"cells": [ this is not json', encoding="utf-8"
    )
    (_folder(course, "s002") / NOTEBOOK).unlink()
    (_folder(course, "s003") / NOTEBOOK).rename(_folder(course, "s003") / f"Copy of {NOTEBOOK}")

    def tamper(nb):
        for cell in nb.cells:
            if _grade_id(cell) == "item_rc_004_spectrum":
                cell.source = "2  # full marks, I promise"

    _edit(course, "s004", tamper)
    _edit(
        course,
        "s005",
        lambda nb: nb.cells.__setitem__(
            slice(None), [c for c in nb.cells if _grade_id(c) != "item_rw_004_spectrum"]
        ),
    )

    def duplicate(nb):
        index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == "item_rc_012_choose")
        nb.cells.insert(index + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))

    _edit(course, "s006", duplicate)
    _edit(course, "s007", _insert_code("while True:\n    pass"))
    _edit(course, "s008", _insert_code("import os\nos._exit(3)"))
    _edit(
        course,
        "s009",
        _insert_code("for line in range(300_000):\n    print('flood', line, 'x' * 40)"),
    )
    answers = _folder(course, "s010") / "responses.json"
    answers.write_text(
        answers.read_text(encoding="utf-8") + " " * (10 * 1024 * 1024), encoding="utf-8"
    )
    (_folder(course, "s011") / "responses.json").write_text(
        '[["rc-004", 2], "not the format"]', encoding="utf-8"
    )
    other = _folder(course, "s013")
    _edit(
        course,
        "s012",
        _insert_code(
            f"open({str(course / 'gradebook.db')!r}, 'rb').read(100)",
            f"import os\nos.listdir({str(course / 'exercises' / A)!r})",
            f"open({str(other / NOTEBOOK)!r}).read()",
            f"open({str(other / 'planted.txt')!r}, 'w').write('overwritten by s012')",
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)",
            "import socket\nsocket.create_connection(('pypi.org', 443), timeout=3)",
            "open('/etc/escape-from-s012', 'w').write('x')",
        ),
    )
    # s017 pushes the limits; graded alone so its hundreds of processes crowd no other kernel
    _edit(
        course,
        "s017",
        _insert_code(
            "hog = bytearray(6 * 1024 ** 3)",
            "with open('big.bin', 'wb') as handle:\n    handle.write(b'x' * (100 * 1024 ** 2))",
            "import subprocess\nchildren = []\ntry:\n    for _ in range(2000):\n"
            "        children.append(subprocess.Popen(['sleep', '30']))\nfinally:\n"
            "    for child in children:\n        child.kill()\n        child.wait()",
            "import subprocess\nsubprocess.Popen(['sleep', '613'], start_new_session=True)",
        ),
    )
    students = [f"s{n:03d}" for n in range(1, 17)]
    outcomes = {
        o.student_id: o
        for o in autograde_cohort(course, A, workers=2, timeout=TIMEOUT, students=students)
    }
    outcomes |= {
        o.student_id: o
        for o in autograde_cohort(course, A, workers=1, timeout=TIMEOUT, students=["s017"])
    }
    return course, baseline, outcomes


def test_good_submissions_get_exactly_nbgraders_grades(graded):
    course, baseline, outcomes = graded
    assert all(outcomes[s].status == "graded" and not outcomes[s].notes for s in GOOD), [
        outcomes[s] for s in GOOD
    ]
    assert _cells(course, GOOD) == _cells(baseline, GOOD)


@pytest.mark.parametrize(
    "student, words",
    [
        ("s001", ["not a readable notebook", "JSON"]),
        ("s002", ["missing notebook", NOTEBOOK, "no other notebook"]),
        ("s003", ["missing notebook", f"Copy of {NOTEBOOK}", "renamed"]),
        ("s008", ["Kernel died"]),
    ],
)
def test_ungradable_submissions_fail_with_a_reason_and_zero(graded, student, words):
    course, _, outcomes = graded
    outcome = outcomes[student]
    assert outcome.status == "failed" and outcome.score == 0
    for word in words:
        assert word in outcome.reason, outcome.reason
    assert (course / "autograded" / student / A / "AUTOGRADE_FAILED.txt").exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(A, student)
        assert all(n.flagged for n in submission.notebooks)
        assert all(g.auto_score == 0 for n in submission.notebooks for g in n.grades)


@pytest.mark.parametrize(
    "student, note",
    [
        ("s004", "test cells edited, restored from the instructor's copy: item_rc_004_spectrum"),
        ("s005", "test cells deleted, restored from the instructor's copy: item_rw_004_spectrum"),
        (
            "s006",
            "used by more than one cell (copied cells?), nbgrader "
            "grades the first: item_rc_012_choose",
        ),
        ("s007", f"still running after {TIMEOUT} s, interrupted"),
    ],
)
def test_repaired_submissions_score_as_if_untouched(graded, student, note):
    """nbgrader restores edited and deleted test cells; a runaway cell is interrupted;
    the answers decide."""
    course, baseline, outcomes = graded
    outcome = outcomes[student]
    assert outcome.status == "graded", outcome.reason
    assert any(note in n for n in outcome.notes), outcome.notes
    assert _cells(course, [student]) == _cells(baseline, [student])


def test_megabytes_of_output_are_cut_and_graded(graded):
    course, baseline, outcomes = graded
    assert outcomes["s009"].status == "graded"
    assert _cells(course, ["s009"]) == _cells(baseline, ["s009"])
    graded_notebook = course / "autograded" / "s009" / A / NOTEBOOK
    assert graded_notebook.stat().st_size < 1_000_000  # the raw output was about 17 MB


@pytest.mark.parametrize(
    "student, note",
    [
        ("s010", "responses.json is 10."),
        ("s011", "responses.json cannot be read, so the items it answers score 0: "),
    ],
)
def test_an_unusable_answer_file_scores_its_items_zero(graded, student, note):
    course, baseline, outcomes = graded
    outcome = outcomes[student]
    assert outcome.status == "graded"
    assert any(n.startswith(note) for n in outcome.notes), outcome.notes
    items = {k: v for k, v in _cells(course, [student]).items() if k[1].startswith("item_")}
    assert items and set(items.values()) == {0.0}
    answered_before = {
        k: v for k, v in _cells(baseline, [student]).items() if k[1].startswith("item_")
    }
    assert any(answered_before.values())  # so the zeros come from the broken file


def test_escape_attempts_fail_and_are_reported(graded, server):
    course, baseline, outcomes = graded
    port, accepted = server
    # the targets are real: from outside the sandbox each of these works
    assert (course / "gradebook.db").stat().st_size > 0
    assert any((course / "exercises" / A).iterdir())
    socket.create_connection(("127.0.0.1", port), timeout=3).close()
    reached_from_outside = len(accepted)

    outcome = outcomes["s012"]
    assert outcome.status == "graded"
    reported = "\n".join(outcome.notes)
    for expected in (
        "cell 3: FileNotFoundError",
        "cell 4: FileNotFoundError",
        "cell 5: FileNotFoundError",
        "cell 6: FileNotFoundError",
        "cell 7: OSError: [Errno 101] Network is unreachable",
        "cell 8: gaierror",
        "cell 9: OSError: [Errno 30] Read-only file system",
    ):
        assert expected in reported, reported
    assert len(accepted) == reached_from_outside  # the kernel never connected
    assert not (course / "submitted" / "s013" / A / "planted.txt").exists()
    assert not (course / "autograded" / "s013" / A / "planted.txt").exists()
    assert not Path("/etc/escape-from-s012").exists()
    assert _cells(course, ["s012"]) == _cells(baseline, ["s012"])


def test_the_isolation_report_names_what_this_machine_gives(graded):
    course, _, _ = graded
    report = check_isolation(course)
    assert {"network", "hidden", "read_only", "limits"} <= set(report.applied), report
    assert set(report.applied) | set(report.missing) == {
        "network",
        "hidden",
        "read_only",
        "limits",
        "user",
        "processes",
        "keys",
    }
    assert "keys" in report.applied, report.missing.get("keys")
    assert all(reason for reason in report.missing.values())
    assert report.summary().startswith("isolation")


def test_a_rerun_regrades_the_faults_to_the_same_scores(graded):
    course, _, outcomes = graded
    again = {
        o.student_id: o
        for o in autograde_cohort(
            course,
            A,
            workers=2,
            timeout=TIMEOUT,
            force=True,
            students=["s001", "s007", "s010", "s012"],
        )
    }
    for student, outcome in again.items():
        assert (outcome.status, outcome.score) == (
            outcomes[student].status,
            outcomes[student].score,
        )


def test_the_isolation_check_notices_when_the_sandbox_is_off(graded):
    """The check tries each escape itself, so it cannot report protection that is not there."""
    course, _, _ = graded
    report = check_isolation(course, sandboxed=False)
    assert set(report.applied) <= {"limits", "processes"}
    assert set(report.missing) == {"network", "hidden", "read_only", "user", "keys"}
    assert report.summary().startswith("isolation NOT available here for: no network")


def test_the_isolation_check_catches_a_claim_the_sandbox_does_not_keep():
    """A policy that hides nothing: the sandbox claims its mounts,
    the probe reads the folder anyway."""
    from grader import sandbox
    from grader.paths import REPO_ROOT

    visible = REPO_ROOT / "test-artifacts" / "sandbox-probe"
    visible.mkdir(parents=True, exist_ok=True)
    (visible / "gradebook.db").write_text("not for students")
    try:
        # visible: bound back even when the checkout is under the private /tmp
        report = sandbox.check(
            sandbox.Policy(hide=[], visible=[str(visible)]),
            visible,
            REPO_ROOT / "grader" / ".probe-write",
        )
    finally:
        shutil.rmtree(visible)
    assert "hidden" not in report.applied
    assert report.missing["hidden"].startswith("the check got through: read: ['gradebook.db']")
    assert "read_only" in report.applied


def test_limits_stop_a_memory_hog_a_huge_file_and_a_process_flood(graded):
    course, baseline, outcomes = graded
    outcome = outcomes["s017"]
    assert outcome.status == "graded", outcome.reason
    reported = "\n".join(outcome.notes)
    assert "cell 3: MemoryError" in reported, reported
    assert "cell 4: OSError: [Errno 27] File too large" in reported, reported
    assert "cell 5: BlockingIOError: [Errno 11] Resource temporarily unavailable" in reported, (
        reported
    )
    left_running = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == "sleep 613"
    ]
    assert not left_running, "a process the student started outlived the grading"
    assert _cells(course, ["s017"]) == _cells(baseline, ["s017"])
