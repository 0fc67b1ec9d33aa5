"""The one lock between processes: answer saves, rating imports and autograde runs use it."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from grader.file_lock import LockHeld, locked


def test_a_held_lock_refuses_a_caller_that_will_not_wait(tmp_path):
    lock = tmp_path / "folder" / "run.lock"
    with locked(
        lock
    ):  # flock belongs to the open file, so a second open conflicts even in one process
        with pytest.raises(LockHeld, match="Another run is going"):
            with locked(lock, wait=False, held="Another run is going."):
                pass
    with locked(lock, wait=False):  # released at the end of the block
        pass
    assert lock.exists()  # never removed: a waiting process may hold it open


def _hold(path: str, seconds: float, ready) -> None:
    with locked(path):
        ready.set()
        time.sleep(seconds)


def test_a_waiting_caller_gets_the_lock_when_the_holder_lets_go(tmp_path):
    lock = tmp_path / "store.lock"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(lock), 1.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockHeld):
            with locked(lock, wait=False):
                pass
        started = time.monotonic()
        with locked(lock):
            waited = time.monotonic() - started
        assert waited > 0.2  # it waited for the other process instead of going ahead
    finally:
        holder.join(30)
    assert holder.exitcode == 0


def test_a_lock_is_released_when_the_block_raises(tmp_path):
    lock = tmp_path / "x.lock"
    with pytest.raises(ValueError):
        with locked(lock):
            raise ValueError("boom")
    with locked(lock, wait=False):
        pass
