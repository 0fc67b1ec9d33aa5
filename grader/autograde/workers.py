"""Where submissions are graded: a few long-lived local worker processes, or a Dask cluster.

Each worker imports nbgrader once and grades one submission at a time in-process
(:func:`grader.autograde.submission.grade_submission`). A worker that dies or overruns the
wall clock is killed and replaced; its submission fails with that reason.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import subprocess
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import wait
from pathlib import Path

from grader.autograde.policy import wall_clock
from grader.autograde.tasks import Graded, Task, failed

#: A grading worker is replaced after this many submissions, so no state builds up in it.
TASKS_PER_WORKER = 100


def run_locally(tasks: list[Task], workers: int) -> Iterator[Graded]:
    """Grade ``tasks`` on a few long-lived worker processes; yield each result as it arrives.

    A worker that dies or overruns its task's wall clock is killed (its kernel dies with it)
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
                        result, broken = (
                            failed(
                                worker.task,
                                f"the grading process died (exit code {worker.process.poll()})",
                            ),
                            True,
                        )
                elif time.monotonic() > worker.deadline:
                    result, broken = (
                        failed(
                            worker.task,
                            f"stopped after {wall_clock(worker.task.timeout)} s of wall-clock time",
                        ),
                        True,
                    )
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
                [sys.executable, "-c", f"from grader.autograde.workers import serve; serve({fd})"],
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        child.close()
        self.task: Task | None = None
        self.deadline = 0.0
        self.done = 0

    def give(self, task: Task) -> None:
        self.task = task
        self.deadline = time.monotonic() + wall_clock(task.timeout)
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

    from grader.lazy import skip_iri_grammar

    skip_iri_grammar()  # 1.7 s of nbgrader's import that no notebook check uses
    import nbgrader.converters  # noqa: F401 - paid once per worker, not once per submission
    from sqlalchemy.exc import SAWarning

    from grader.autograde.submission import grade_submission

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
            result = failed(task, f"the grader failed: {type(error).__name__}: {error}")
        connection.send(result)


def run_on_cluster(tasks: list[Task], scheduler: str) -> Iterator[Graded]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    from grader.autograde.submission import grade_submission

    client = Client(scheduler)
    try:
        # pure=False: the same submission may be graded again (e.g. --force) and must rerun
        futures = [client.submit(grade_submission, task, pure=False) for task in tasks]
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
