"""Cohort autograding in parallel and in a sandbox, with nbgrader's own autograde doing the grading.

nbgrader grades one submission at a time (jupyter/nbgrader#174), runs student code with the
instructor's permissions (#483), and SQLite is not safe for many writers. Here:

- **Parallel, in-process.** A few long-lived worker processes each import nbgrader once and
  run its ``Autograde`` converter, one submission at a time, in a private scratch course: a
  copy of that one submission and a snapshot of the gradebook (taken once per run, so earlier
  manual grades are seen exactly as nbgrader would see them). A worker that runs past the
  wall-clock limit is killed and replaced.
- **One writer.** The caller's thread copies what nbgrader computed (auto scores,
  needs-manual-grade flags, auto comments, timestamps, late penalties) into the real
  gradebook and moves the graded folder into ``autograded/``. Manual scores are never touched.
- **Sandboxed kernels.** The notebook's kernel starts through :mod:`grader.sandbox`: no
  network, the gradebook, source notebooks and other submissions hidden, nothing writable
  but its own folder, and limits on CPU, memory, file size and processes.
- **Faults are recorded, not fatal.** Before grading, the submission is inspected: a
  missing, renamed or unreadable notebook fails it with that reason and zero points (flagged
  in the formgrader); an oversized or malformed ``responses.json``, edited, deleted or
  duplicated test cells are graded the way nbgrader grades them and noted. After grading,
  cells that timed out or raised (a blocked escape attempt, say) are noted too.

A finished submission leaves a record (``.dialectic/graded/``, outside anything students
get back); a later run skips it unless ``force`` is given, so an interrupted run (Ctrl-C)
keeps every finished grade and the next run does the rest.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from nbgrader import api
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SAWarning

from grader import sandbox
from grader.errors import GraderError

#: Seconds a single cell may run (nbgrader's Execute.timeout) unless the caller says otherwise.
DEFAULT_TIMEOUT = 60
#: A whole submission may take this many cell timeouts (plus a minute) before its worker is killed.
WALL_CLOCK_CELLS = 20
#: A grading worker is replaced after this many submissions, so no state builds up in it.
TASKS_PER_WORKER = 100


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission."""

    student_id: str
    status: str
    """graded, failed (could not be graded: zero points, flagged) or skipped (done before)."""
    reason: str = ""
    """Why it failed, in a sentence or two."""
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    """What the instructor should know about a graded submission (edited tests, timeouts, ...)."""
    assignment: str = ""


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to grade one submission (it crosses process boundaries)."""

    course: Path
    assignment: str
    student_id: str
    snapshot: Path
    work: Path
    timeout: int
    policy: sandbox.Policy


@dataclass
class _Graded:
    assignment: str
    student_id: str
    ok: bool
    reason: str
    scratch: Path
    seconds: float
    timestamp: object = None
    grades: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    notebooks: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def submissions(course: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``, in order."""
    root = Path(course) / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir()) if root.is_dir() else []


def autograde_cohort(course: Path | str, assignments: str | Sequence[str], *, workers: int = 2,
                     timeout: int = DEFAULT_TIMEOUT, force: bool = False, students: list[str] | None = None,
                     scheduler: str | None = None, sandboxed: bool = True,
                     progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Autograde every (or every listed) student's submission of one or more assignments.

    Several assignments share one queue and one set of workers, so none waits for another
    to finish. With ``scheduler`` (a Dask distributed scheduler address), the per-submission
    grading runs on that cluster's workers (one thread each: nbgrader sets environment
    variables while it grades) instead of local processes; the course directory must be on
    a file system the workers share. Merging into the gradebook stays here, in one writer.
    ``sandboxed=False`` keeps only the limits and timeouts (for a platform where the
    namespaces misbehave; the kernels then see and may write what the grader may).
    """
    course = Path(course).resolve()
    names = [assignments] if isinstance(assignments, str) else list(assignments)
    gradebook = course / "gradebook.db"
    if not gradebook.exists():
        raise GraderError(f"No gradebook at {gradebook}: run `nbgrader generate_assignment {names[0]}` first.")
    chosen = {a: [s for s in submissions(course, a) if students is None or s in students] for a in names}
    for assignment, found in chosen.items():
        if not found:
            raise GraderError(f"No submissions of {assignment} in {course / 'submitted'}.")
    with _one_run_at_a_time(course):
        work = course / ".dialectic" / "autograde"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        snapshot = work / "gradebook.db"
        _snapshot(gradebook, snapshot)
        policy = grading_policy(course, timeout, sandboxed)
        outcomes, todo = [], []
        for assignment, found in chosen.items():
            for student in found:
                if not force and graded_before(course, assignment, student):
                    outcome = Outcome(student, "skipped", "graded in an earlier run", assignment=assignment)
                    outcomes.append(outcome)
                    if progress:
                        progress(outcome)
                else:
                    todo.append(Task(course, assignment, student, snapshot, work, timeout, policy))
        run = _run_on_cluster(todo, scheduler) if scheduler else _run_locally(todo, workers, _wall_clock(timeout))
        for graded in run:
            outcome = _merge(course, graded)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        shutil.rmtree(work, ignore_errors=True)
    return sorted(outcomes, key=lambda o: (names.index(o.assignment), o.student_id))


@contextlib.contextmanager
def _one_run_at_a_time(course: Path) -> Iterator[None]:
    """Refuse a second autograde run in the same course while one is going (they share scratch)."""
    import fcntl

    lock = course / ".dialectic" / "autograde.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GraderError(f"Another `dialectic autograde` is running in {course}; "
                              "wait for it to finish.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def grading_policy(course: Path, timeout: int = DEFAULT_TIMEOUT, sandboxed: bool = True) -> sandbox.Policy:
    """The sandbox of a grading kernel: what it must not see, and its limits.

    Hidden: everything in the course directory (gradebook, source, release, every submission,
    ratings, scratch) and, in a checkout of this repository, everything but the Python
    environment, the ``grader`` package and ``datasets/``. The kernel's own folder is bound
    back in, writable, by the worker (see :func:`grade_submission`).
    """
    from grader.paths import REPO_ROOT, datasets_dir

    needed = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, Path(sandbox.__file__).parent,
                                           datasets_dir())]
    bases = [Path(course).resolve()]
    if (REPO_ROOT / "pyproject.toml").exists() and (REPO_ROOT / "exercises").is_dir():
        bases.append(REPO_ROOT.resolve())
    hide = []
    for base in bases:
        if any(n == base or base in n.parents for n in needed):
            hide += [str(e) for e in sorted(base.iterdir()) if not any(n == e or e in n.parents for n in needed)]
        else:
            hide.append(str(base))
    return sandbox.Policy(hide=sorted(set(hide)), visible=[str(n) for n in needed],
                          cpu_seconds=_wall_clock(timeout), namespaces=sandboxed)


def check_isolation(course: Path | str, timeout: int = DEFAULT_TIMEOUT, sandboxed: bool = True) -> sandbox.Report:
    """What the grading sandbox really gives on this machine, tried from inside it."""
    course = Path(course).resolve()
    probe = course / ".dialectic" / "sandbox-check"
    shutil.rmtree(probe, ignore_errors=True)
    (probe / "hidden").mkdir(parents=True)
    (probe / "hidden" / "gradebook.db").write_text("not for students")
    (probe / "own").mkdir()
    policy = grading_policy(course, timeout, sandboxed)
    policy.writable = [str(probe / "own")]
    # a place the kernel can see but must not write: the grader package (not hidden, not /tmp)
    outside = Path(sandbox.__file__).parent / f".sandbox-check-{os.getpid()}"
    try:
        return sandbox.check(policy, probe / "hidden", outside)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
        outside.unlink(missing_ok=True)


def _wall_clock(timeout: int) -> int:
    return timeout * WALL_CLOCK_CELLS + 60


def _run_locally(tasks: list[Task], workers: int, wall_clock: int) -> Iterator[_Graded]:
    """Grade ``tasks`` on a few long-lived worker processes; yield each result as it arrives.

    A worker that dies or overruns ``wall_clock`` seconds is killed (its kernel dies with it)
    and replaced; its submission fails with that reason. Leaving early (Ctrl-C, an error in
    the caller) kills every worker; what was yielded stays merged.
    """
    pending = deque(tasks)
    log = tasks[0].work.parent / "autograde-workers.log" if tasks else None
    if log:
        log.write_bytes(b"")  # what the workers and kernels print, for this run only
    pool = [_Worker(log) for _ in range(min(max(1, workers), len(tasks)))]
    try:
        while pending or any(w.task for w in pool):
            for worker in pool:
                if worker.task is None and pending:
                    worker.give(pending.popleft())
            ready = wait([w.connection for w in pool if w.task], timeout=1)
            for index, worker in enumerate(pool):
                if worker.task is None:
                    continue
                result, broken = None, False
                if worker.connection in ready:
                    try:
                        result = worker.connection.recv()
                    except (EOFError, OSError):
                        result, broken = _failed(worker.task, "the grading process died "
                                                 f"(exit code {worker.process.poll()})"), True
                elif time.monotonic() > worker.deadline:
                    result, broken = _failed(worker.task, f"stopped after {wall_clock} s of wall-clock time"), True
                if result is None:
                    continue
                worker.task = None
                worker.done += 1
                if broken or worker.done >= TASKS_PER_WORKER:
                    worker.stop()
                    pool[index] = _Worker(log)
                yield result
    finally:
        for worker in pool:
            worker.stop()


class _Worker:
    """One grading process, started fresh (it never re-runs the caller's script), and its pipe.

    It runs in a session of its own, so Ctrl-C in the terminal reaches only the coordinator,
    which then kills it; its kernel dies with it (the sandbox sets a parent-death signal).
    """

    def __init__(self, log: Path):
        self.connection, child = multiprocessing.Pipe()
        fd = child.fileno()
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"from grader.autograde import serve; serve({fd})"], pass_fds=[fd],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True)
        child.close()
        self.task: Task | None = None
        self.deadline = 0.0
        self.done = 0

    def give(self, task: Task) -> None:
        self.task = task
        self.deadline = time.monotonic() + _wall_clock(task.timeout)
        self.connection.send(task)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.connection.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def serve(fd: int) -> None:
    """A worker's loop: grade each task that arrives on the pipe ``fd`` until it closes."""
    from multiprocessing.connection import Connection

    import nbgrader.converters  # noqa: F401 - paid once per worker, not once per submission

    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings, harmless
    connection = Connection(fd)
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        try:
            result = grade_submission(task)
        except Exception as error:  # noqa: BLE001 - any failure is this submission's, reported
            result = _failed(task, f"the grader failed: {type(error).__name__}: {error}")
        connection.send(result)


def _run_on_cluster(tasks: list[Task], scheduler: str) -> Iterator[_Graded]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = Client(scheduler)
    try:
        # pure=False: the same submission may be graded again (e.g. --force) and must rerun
        futures = [client.submit(grade_submission, task, pure=False) for task in tasks]
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()


def _failed(task: Task, reason: str) -> _Graded:
    return _Graded(task.assignment, task.student_id, False, reason, _scratch(task), 0.0)


def _scratch(task: Task) -> Path:
    return task.work / task.assignment / task.student_id


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite gradebook, even while another process reads it."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def record_path(course: Path, assignment: str, student: str) -> Path:
    """Where the outcome of a student's last autograde is kept (never in a folder students get)."""
    return Path(course) / ".dialectic" / "graded" / assignment / f"{student}.json"


def graded_before(course: Path, assignment: str, student: str) -> bool:
    """Whether an earlier run graded this submission and its graded folder is still there."""
    return (record_path(course, assignment, student).exists()
            and (Path(course) / "autograded" / student / assignment).is_dir())


def grade_submission(task: Task) -> _Graded:
    """Grade one submission with nbgrader's Autograde, in this process, in its own scratch course."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log
    from traitlets.config import PyFileConfigLoader

    started = time.monotonic()
    scratch = _scratch(task)
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "submitted" / task.student_id).mkdir(parents=True)
    shutil.copy(task.course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copy(task.snapshot, scratch / "gradebook.db")
    folder = scratch / "submitted" / task.student_id / task.assignment
    shutil.copytree(task.course / "submitted" / task.student_id / task.assignment, folder, symlinks=True)

    config = PyFileConfigLoader("nbgrader_config.py", path=str(scratch)).load_config()
    fatal, notes = inspect_submission(folder, scratch / "gradebook.db", task.assignment,
                                      config.CourseDirectory.get("max_file_size", 100000),
                                      task.course / "release" / task.assignment)
    if fatal:
        return _Graded(task.assignment, task.student_id, False, fatal, scratch, time.monotonic() - started,
                       notes=notes)

    graded_folder = scratch / "autograded" / task.student_id / task.assignment
    # a Unix socket path must stay under 108 bytes, so the kernel's sockets live in a short folder
    runtime = Path(tempfile.mkdtemp(prefix="dialectic-kernel-"))
    config.CourseDirectory.root = str(scratch)
    config.Execute.timeout = task.timeout
    # the kernel lives in its own network namespace: talk to it over Unix sockets
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(runtime / "kernel")
    config.KernelManager.connection_file = str(runtime / "kernel.json")
    policy = sandbox.Policy(**{**asdict(task.policy), "writable": [str(graded_folder), str(runtime)]})
    sandbox.kernelspec(scratch / "kernelspec")
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = task.assignment, task.student_id
    app = Autograde(coursedir=coursedir, config=config)
    app.force, app.create_student = True, True
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", sandbox.POLICY_ENV)}
    kernels = [str(scratch / "kernelspec"), saved["JUPYTER_PATH"]]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, kernels))
    os.environ[sandbox.POLICY_ENV] = policy.to_env()
    try:
        result = capture_log(app)
    finally:
        sandbox.reap()  # what the student's code left running dies now
        shutil.rmtree(runtime, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    log = result.get("log", "") + result.get("error", "")
    if not result["success"] or "There was an error processing assignment" in log:
        return _Graded(task.assignment, task.student_id, False, _reason(log), scratch,
                       time.monotonic() - started, notes=notes)
    graded = _read_results(scratch / "gradebook.db", task.assignment, task.student_id)
    graded.scratch, graded.seconds = scratch, time.monotonic() - started
    graded.notes = notes + _run_notes(graded_folder, task.timeout)
    return graded


#: nbgrader's ClearHiddenTests removes these regions, delimiters included, from released cells.
HIDDEN_TESTS = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS[^\n]*$.*?^[^\n]*END HIDDEN TESTS[^\n]*$\n?", re.M | re.S)


def inspect_submission(folder: Path, gradebook: Path, assignment: str, max_file_kb: int,
                       release: Path | None = None) -> tuple[str, list[str]]:
    """Check, and repair in place, a scratch copy of a submission: a reason it cannot be graded ("") and notes.

    Fatal: a notebook of the assignment missing (renamed?) or not a readable notebook.
    Noted: files nbgrader will leave out for their size; an answer file the course cannot
    read (its items then score 0); test cells edited (nbgrader restores them). Repaired here,
    because nbgrader 0.9.6 stops on them (``KeyError``) and would score the whole submission
    0: test cells deleted (put back where the released notebook ``release`` has them, and
    then run against the student's answers; jupyter/nbgrader#1682) and grade ids duplicated
    by copied cells (the first keeps its id, copies become plain cells; #1083).
    """
    import nbformat

    from grader.answers import FILENAME, AnswerStore, AnswerStoreError

    engine = create_engine(f"sqlite:///{gradebook}")
    try:
        with engine.connect() as connection:
            expected = connection.execute(select(api.Notebook.name).join(api.Assignment)
                                          .where(api.Assignment.name == assignment)).scalars().all()
            locked = connection.execute(
                select(api.Notebook.name, api.SourceCell.name, api.SourceCell.source, api.GradeCell.max_score,
                       api.SourceCell.cell_type)
                .join(api.Notebook, api.SourceCell.notebook_id == api.Notebook.id).join(api.Assignment)
                .join(api.GradeCell, (api.GradeCell.name == api.SourceCell.name)
                      & (api.GradeCell.notebook_id == api.Notebook.id))
                .where(api.Assignment.name == assignment, api.SourceCell.locked.is_(True))).all()
    finally:
        engine.dispose()
    notes: list[str] = []
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [f"{name}.ipynb" for name in expected if f"{name}.ipynb" not in present]
    if missing:
        extra = [p for p in present if p[:-6] not in expected]
        found = f"; found {', '.join(extra)} instead (renamed?)" if extra else "; it holds no other notebook"
        return f"missing notebook {', '.join(missing)}{found}. Rename it and regrade with --force.", notes
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.stat().st_size > max_file_kb * 1024:
            notes.append(f"{path.relative_to(folder)} is {path.stat().st_size / 1e6:.1f} MB, over the course's "
                         f"{max_file_kb} KB limit: nbgrader left it out of grading")
    answers = folder / FILENAME
    if answers.exists() and answers.stat().st_size <= max_file_kb * 1024:
        try:
            AnswerStore(folder).load()
        except AnswerStoreError as error:
            notes.append(f"{FILENAME} cannot be read, so the items it answers score 0: "
                         f"{str(error).split(' Your answers')[0]}")
    tests = {(nb, cell): (HIDDEN_TESTS.sub("", source or ""), points, kind)
             for nb, cell, source, points, kind in locked}
    for name in expected:
        path = folder / f"{name}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
            ids = [_grade_id(c) for c in nb.cells]
        except Exception as error:  # noqa: BLE001 - nbformat raises many kinds; all mean unreadable
            return f"{name}.ipynb is not a readable notebook: {type(error).__name__}: {str(error)[:300]}", notes
        duplicated = sorted({i for i in ids if i and ids.count(i) > 1})
        if duplicated:
            notes.append(f"{name}.ipynb: grade ids used by more than one cell (copied cells?), "
                         f"nbgrader grades the first: {', '.join(duplicated)}")
            seen = set()
            for cell in nb.cells:
                grade_id = _grade_id(cell)
                if grade_id in seen:
                    del cell.metadata["nbgrader"]
                seen.add(grade_id)
        mine = {_grade_id(c): _source(c) for c in nb.cells if _grade_id(c)}
        ours = [cell for (nb_name, cell) in tests if nb_name == name]
        deleted = [t for t in ours if t not in mine]
        edited = [t for t in ours if t in mine and _lines(mine[t]) != _lines(tests[(name, t)][0])]
        if deleted:
            notes.append(f"{name}.ipynb: test cells deleted, restored from the instructor's copy: "
                         f"{', '.join(deleted)}")
            released = release / f"{name}.ipynb" if release else None
            _restore(nb, deleted, {t: tests[(name, t)] for t in deleted}, released)
        if edited:
            notes.append(f"{name}.ipynb: test cells edited, restored from the instructor's copy: "
                         f"{', '.join(edited)}")
        if duplicated or deleted:
            nbformat.write(nb, path)
    return "", notes


def _restore(nb, deleted: list[str], cells: dict, released: Path | None) -> None:
    """Put deleted test cells back, each after the cell it follows in the released notebook."""
    import nbformat

    order = []
    if released is not None and released.exists():
        order = [_grade_id(c) for c in nbformat.read(released, as_version=4).cells]
    for grade_id in deleted:
        source, points, kind = cells[grade_id]
        cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                     "schema_version": 3, "solution": False, "task": False}
        position = len(nb.cells)
        if grade_id in order:
            before = [g for g in order[:order.index(grade_id)] if g]
            here = [_grade_id(c) for c in nb.cells]
            for previous in reversed(before):
                if previous in here:
                    position = here.index(previous) + 1
                    break
            else:
                position = 0
        nb.cells.insert(position, cell)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(source: str) -> list[str]:
    return [line.rstrip() for line in source.splitlines() if line.strip()]


#: Errors from student code worth the instructor's eye: the sandbox refusing something, or a limit.
SYSTEM_ERRORS = {"OSError", "PermissionError", "FileNotFoundError", "IsADirectoryError", "ConnectionError",
                 "ConnectionRefusedError", "gaierror", "MemoryError", "BlockingIOError"}


def _run_notes(folder: Path, timeout: int) -> list[str]:
    """Cells of the graded notebooks that timed out or hit the sandbox, for the instructor.

    Ordinary wrong or missing answers (a test cell raising) are the grade itself, not noted.
    """
    import nbformat

    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                name = output.get("ename") if output.get("output_type") == "error" else None
                if name in ("CellTimeoutError", "KeyboardInterrupt"):
                    notes.append(f"{path.name}, {where}: still running after {timeout} s, interrupted")
                elif name in SYSTEM_ERRORS:
                    notes.append(f"{path.name}, {where}: {name}: {str(output.get('evalue'))[:200]}")
    return notes


def _reason(log: str) -> str:
    """The most telling lines of a failed nbgrader run."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    telling = [line for line in lines if any(k in line for k in (
        "Error", "error", "Exception", "not valid", "missing", "Timeout", "timed out", "Kernel died"))]
    chosen = [line for line in telling if "Please see" not in line and "Traceback" not in line][-3:]
    return " | ".join(chosen or lines[-2:])[:600] or "nbgrader autograde failed without a message"


def _read_results(db: Path, assignment: str, student: str) -> _Graded:
    """What nbgrader stored for one submission in a scratch gradebook."""
    engine = create_engine(f"sqlite:///{db}")
    base = (api.SubmittedAssignment.student_id == student, api.Assignment.name == assignment)
    try:
        with engine.connect() as connection:
            timestamp = connection.execute(
                select(api.SubmittedAssignment.timestamp).join(api.Assignment).where(*base)).scalar()
            grades = connection.execute(_up_to_submission(
                select(api.GradeCell.name, api.Notebook.name, api.Grade.auto_score, api.Grade.needs_manual_grade)
                .select_from(api.Grade).join(api.GradeCell, api.Grade.cell_id == api.GradeCell.id),
                api.Grade.notebook_id).where(*base)).all()
            comments = connection.execute(_up_to_submission(
                select(api.BaseCell.name, api.Notebook.name, api.Comment.auto_comment)
                .select_from(api.Comment).join(api.BaseCell, api.Comment.cell_id == api.BaseCell.id),
                api.Comment.notebook_id).where(*base)).all()
            notebooks = connection.execute(_up_to_submission(
                select(api.Notebook.name, api.SubmittedNotebook.late_submission_penalty)
                .select_from(api.SubmittedNotebook), None).where(*base)).all()
    finally:
        engine.dispose()
    return _Graded(assignment, student, True, "", Path(), 0.0, timestamp, [tuple(g) for g in grades],
                   [tuple(c) for c in comments], [tuple(n) for n in notebooks])


def _up_to_submission(query, submitted_notebook_id):
    """Join a per-notebook row up to its notebook, submission and assignment (for filtering)."""
    if submitted_notebook_id is not None:
        query = query.join(api.SubmittedNotebook, submitted_notebook_id == api.SubmittedNotebook.id)
    return (query.join(api.Notebook, api.SubmittedNotebook.notebook_id == api.Notebook.id)
            .join(api.SubmittedAssignment, api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id)
            .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id))


def _merge(course: Path, graded: _Graded) -> Outcome:
    """Write one submission's results into the real gradebook and autograded/ (single writer)."""
    assignment = graded.assignment
    target = course / "autograded" / graded.student_id / assignment
    with warnings.catch_warnings(), api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # nbgrader's own update_or_create_submission trips an SQLAlchemy autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(graded.student_id)
        if graded.ok:
            submission = gb.update_or_create_submission(assignment, graded.student_id, timestamp=graded.timestamp)
            for grade_id, notebook, auto_score, needs_manual in graded.grades:
                grade = gb.find_grade(grade_id, notebook, assignment, graded.student_id)
                grade.auto_score = auto_score
                grade.needs_manual_grade = bool(needs_manual) or grade.manual_score is not None
            for cell, notebook, auto_comment in graded.comments:
                gb.find_comment(cell, notebook, assignment, graded.student_id).auto_comment = auto_comment
            for notebook, penalty in graded.notebooks:
                gb.find_submission_notebook(notebook, assignment, graded.student_id).late_submission_penalty = penalty
        else:
            submission = gb.update_or_create_submission(assignment, graded.student_id)
            for notebook in submission.notebooks:
                notebook.flagged = True  # the formgrader shows it to the instructor
                for grade in notebook.grades:
                    if grade.manual_score is None:
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = False
        gb.db.commit()
        submission = gb.find_submission(assignment, graded.student_id)
        score, max_score = float(submission.score), float(submission.max_score)
    produced = graded.scratch / "autograded" / graded.student_id / assignment
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if graded.ok and produced.exists():
        shutil.move(str(produced), str(target))
    else:
        source = course / "submitted" / graded.student_id / assignment
        shutil.copytree(source, target, symlinks=True)
        (target / "AUTOGRADE_FAILED.txt").write_text(
            f"nbgrader could not grade this submission; it scored 0.\nReason: {graded.reason}\n", encoding="utf-8")
    outcome = Outcome(graded.student_id, "graded" if graded.ok else "failed", graded.reason, score, max_score,
                      round(graded.seconds, 2), tuple(graded.notes), assignment)
    record = record_path(course, assignment, graded.student_id)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(asdict(outcome), indent=1), encoding="utf-8")
    shutil.rmtree(graded.scratch, ignore_errors=True)
    return outcome
