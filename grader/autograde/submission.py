"""Grade one submission: nbgrader's Autograde in-process, its kernel sandboxed, the scores trusted.

The order matters. The answers are read from the submission *before* any of its code runs;
the kernel then runs the notebook against a gradebook snapshot without hidden tests, seeing
only the student edition of the item bank; last, the trusted scores replace whatever the
kernel's run of each item and code-check cell produced (:mod:`grader.autograde.trusted`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import nbformat

from grader import handin, paths, sandbox
from grader.answers import FILENAME
from grader.autograde import trusted
from grader.autograde.gradebook import read_results
from grader.autograde.inspection import inspect_submission
from grader.autograde.notes import failure_reason, run_notes
from grader.autograde.tasks import Graded, Task, failed, scratch
from grader.charts import CHART_IMAGES_ENV


def grade_submission(task: Task) -> Graded:
    """Grade one submission in this process, in its own scratch course."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log
    from traitlets.config import PyFileConfigLoader

    _check_metadata_schema_once()
    started = time.monotonic()
    course = scratch(task)
    shutil.rmtree(course, ignore_errors=True)
    (course / "submitted" / task.student_id).mkdir(parents=True)
    shutil.copy(task.course / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copy(task.snapshot, course / "gradebook.db")
    folder = course / "submitted" / task.student_id / task.assignment
    shutil.copytree(
        task.course / "submitted" / task.student_id / task.assignment, folder, symlinks=True
    )

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    max_kb = config.CourseDirectory.get("max_file_size", 100000)
    fatal, notes = inspect_submission(
        folder,
        course / "gradebook.db",
        task.assignment,
        max_kb,
        task.course / "release" / task.assignment,
    )
    if fatal:
        return failed(task, fatal, notes, time.monotonic() - started)
    answers, problem = trusted.read_answers(
        folder, max_kb * 1024
    )  # as submitted: no student code has run
    notes += [problem] if problem else []

    graded_folder = course / "autograded" / task.student_id / task.assignment
    # a Unix socket path must stay under 108 bytes, so the kernel's sockets live in a short folder
    runtime = Path(tempfile.mkdtemp(prefix="dialectic-kernel-"))
    (runtime / "handin").mkdir()
    config.CourseDirectory.root = str(course)
    config.Execute.timeout = task.timeout
    # the outputs and hand-ins are in when the last cell replies; a graceful shutdown only
    # waits (about 0.4 s a notebook), and sandbox.reap() ends whatever the kernel left
    config.Execute.shutdown_kernel = "immediate"
    # the kernel lives in its own network namespace: talk to it over Unix sockets
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(runtime / "kernel")
    config.KernelManager.connection_file = str(runtime / "kernel.json")
    policy = sandbox.Policy(
        **{**asdict(task.policy), "writable": [str(graded_folder), str(runtime)]}
    )
    sandbox.kernelspec(course / "kernelspec")
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = task.assignment, task.student_id
    app = Autograde(coursedir=coursedir, config=config)
    app.force, app.create_student = True, True
    kernel_env = {
        "JUPYTER_PATH": os.pathsep.join(
            filter(None, [str(course / "kernelspec"), os.environ.get("JUPYTER_PATH")])
        ),
        sandbox.POLICY_ENV: policy.to_env(),
        paths.ITEM_BANK_ENV: str(task.student_bank),
        handin.HANDIN_ENV: str(runtime / "handin"),
    }
    if task.images_drawn_once:
        kernel_env[CHART_IMAGES_ENV] = "grader"  # the run adds the images (chart_images)
    try:
        with _environment(kernel_env):
            result = capture_log(app)
        log = result.get("log", "") + result.get("error", "")
        if not result["success"] or "There was an error processing assignment" in log:
            return failed(task, failure_reason(log), notes, time.monotonic() - started)
        graded = read_results(course / "gradebook.db", task.assignment, task.student_id)
        cells = [c for c in task.cells if c.kind in ("code",)]
        values, problems = trusted.read_handins(runtime / "handin", cells)
    finally:
        sandbox.reap()  # what the student's code left running dies now
        shutil.rmtree(runtime, ignore_errors=True)
    graded.notes = notes + problems + run_notes(graded_folder, task.timeout)
    if _changed(folder / FILENAME, graded_folder / FILENAME):
        graded.notes.append(
            f"{FILENAME} was changed while the notebook ran; the answers as submitted were scored"
        )
    graded.notes += _score_trusted(graded, task, answers, values, graded_folder)
    graded.scratch, graded.seconds = course, time.monotonic() - started
    return graded


def _score_trusted(
    graded: Graded, task: Task, answers: dict, values: dict, folder: Path
) -> list[str]:
    """Replace the kernel's scores and outputs of every trusted cell by the grader's own.

    Returns notes on what the kernel's run did that an honest run does not: a test cell
    passing for an item with no answer or a value never handed in, visible checks passing
    in the kernel that fail on the values it handed in.
    """
    verdicts, notes = {}, []
    for cell in task.cells:
        key = (cell.notebook, cell.grade_id)
        if cell.kind == "item":
            verdicts[key] = trusted.score_item(cell, answers, task.feedback)
        elif cell.kind == "code":
            verdicts[key] = trusted.run_check(cell, values, task.feedback)
        elif cell.kind == "kernel":
            notes.append(
                f"{cell.notebook}.ipynb, {cell.grade_id}: a test run only in the student's kernel "
                "(it hands nothing in), so its score could be forged"
            )
    claimed = []
    rows = []
    for grade_id, notebook, auto_score, needs_manual in graded.grades:
        verdict = verdicts.get((notebook, grade_id))
        if verdict is None:
            rows.append((grade_id, notebook, auto_score, needs_manual))
            continue
        if float(auto_score or 0) > 0 and (not verdict.answered or verdict.visible_failed):
            claimed.append(grade_id)
        rows.append((grade_id, notebook, verdict.points, False))
    graded.grades = rows
    if claimed:
        notes.append(
            "test cells passed in the kernel with nothing to score (no answer saved, nothing "
            "handed in, or visible checks that fail on the values handed in): the submission's "
            "code interfered with its kernel's checks; the grader's own scores stand: "
            f"{', '.join(claimed)}"
        )
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            key = (path.stem, cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
            if key in verdicts and cell.cell_type == "code":
                cell.outputs = [trusted.as_output(verdicts[key])]
        mode = (
            path.stat().st_mode
        )  # nbgrader leaves graded files read-only (0444); root alone ignores that
        path.chmod(mode | stat.S_IWUSR)
        nbformat.write(nb, path)
        path.chmod(mode)
    return notes


class _OnceCheckedSchemas:
    """``jsonschema.validate`` as nbgrader calls it, with each schema checked once.

    nbgrader checks every cell's metadata with ``jsonschema.validate``, which first checks
    the schema itself against jsonschema's meta-schema: for a notebook of 25 cells, a third
    of a second of this process's time per submission, on the same schema every time. Here
    the schema is checked on first use, and each cell is validated exactly as before (the
    same validator class and the same "best match" error).
    """

    def __init__(self):
        import jsonschema

        self._jsonschema = jsonschema
        self._validators: dict[int, tuple[dict, object]] = {}

    def validate(self, instance, schema) -> None:
        from jsonschema import exceptions, validators

        known = self._validators.get(id(schema))
        if known is None or known[0] is not schema:
            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            known = self._validators[id(schema)] = (schema, cls(schema))  # the schema kept alive
        error = exceptions.best_match(known[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(self._jsonschema, name)


def _check_metadata_schema_once() -> None:
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _OnceCheckedSchemas):
        common.jsonschema = _OnceCheckedSchemas()


def _changed(before: Path, after: Path) -> bool:
    def read(p: Path) -> bytes | None:
        return p.read_bytes() if p.is_file() and not p.is_symlink() else None

    return read(before) != read(after)


@contextlib.contextmanager
def _environment(values: dict):
    """Set environment variables for the kernel nbgrader starts, and put them back after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
