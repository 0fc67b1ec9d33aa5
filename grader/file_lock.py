"""An exclusive lock between processes, held on a lock file for the length of a ``with`` block.

Two widgets saving answers at once, two rating imports, two autograde runs in one course:
each must wait for the other (or, for autograde, refuse to start). The lock is an advisory
``flock`` on a small file that is never removed (removing it would let a third process lock
a new file while the first still holds the old one). The lock is released when the block
ends or the process dies, so a crash never leaves a course locked.

On a system without ``fcntl`` (Windows) the block runs unlocked: atomic renames still keep
every file whole there, but two writers at once may lose one of their changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from grader.errors import GraderError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class LockHeld(GraderError):
    """Another process holds the lock and the caller asked not to wait."""


@contextlib.contextmanager
def locked(path: Path | str, *, wait: bool = True, held: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created, with its folder, if missing) inside the block.

    With ``wait=False`` a lock held by another process raises :class:`LockHeld` at once,
    with the message ``held`` (default: the lock file's name) instead of waiting.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise LockHeld(held or f"{path} is locked by another process.") from None
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
