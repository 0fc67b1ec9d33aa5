"""Writing a file atomically: a temporary file in the same folder, fsync, then a rename.

A reader sees either the old file or the new one, never half of one, even after a crash.
The file keeps the permissions it had; a new file gets ``new_mode``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(
    path: Path | str, text: str, *, encoding: str = "utf-8", new_mode: int = 0o644
) -> Path:
    """Replace ``path`` with ``text`` in one step and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = new_mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
