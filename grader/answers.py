"""The answer store: a learner's answers in ``responses.json`` beside the notebook.

A widget's value lives only in the running kernel; the answer store is what survives a
restart, a reopened notebook and nbgrader's autograde (which collects the file with the
notebook). The file holds one entry per item id, with a ``schema_version``::

    {"schema_version": 1,
     "answers": {"rw-014": {"choose": {"value": "rw-014-c", "saved_at": "2026-11-22T10:00:00+00:00"}}},
     "reflections": {"alliance-1": {"text": "...", "saved_at": "..."}}}

Writes are atomic (a temporary file in the same folder, then a rename) and serialised by
a lock file, so two widgets or two processes never lose each other's answers. A damaged
or wrong-typed file is never overwritten: every call raises :class:`AnswerStoreError`
until :meth:`AnswerStore.recover` sets it aside. The previous good version is kept as
``responses.json.bak``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

from grader.errors import AnswerStoreError

SCHEMA_VERSION = 1
FILENAME = "responses.json"
#: Larger files are refused: real answer files are a few kilobytes.
MAX_BYTES = 2 * 1024 * 1024
#: Longest free-text answer accepted, in characters.
MAX_TEXT = 50_000
TASKS = ("choose", "spectrum", "marker", "pattern", "compose")

try:
    import fcntl
except ImportError:  # Windows: atomic renames still protect the file, but not concurrent updates
    fcntl = None


class AnswerStore:
    """Read and write one learner's ``responses.json``."""

    def __init__(self, directory: Path | str | None = None):
        directory = Path(directory) if directory is not None else Path.cwd()
        self.path = directory / FILENAME if directory.suffix != ".json" else directory
        self.backup_path = self.path.with_name(self.path.name + ".bak")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # -- reading -------------------------------------------------------------------------
    def load(self) -> dict:
        """The whole validated document; an empty one when no file exists yet."""
        return self._read(self.path) or _empty()

    def get(self, item_id: str, task: str):
        """The saved value for ``task`` on ``item_id``, or None when there is none."""
        entry = self.load()["answers"].get(item_id, {}).get(task)
        return entry["value"] if entry else None

    def reflection(self, prompt_id: str) -> str | None:
        entry = self.load()["reflections"].get(prompt_id)
        return entry["text"] if entry else None

    # -- writing -------------------------------------------------------------------------
    def record(self, item_id: str, task: str, value) -> None:
        """Save ``value`` as the answer to ``task`` on ``item_id``, replacing an earlier one."""
        if not isinstance(item_id, str) or not item_id:
            raise AnswerStoreError(f"item id must be a non-empty string, not {item_id!r}")
        problem = _value_problem(task, value)
        if problem:
            raise AnswerStoreError(f"Not saved to {self.path}: the {task} answer for {item_id} {problem}.")
        with self._locked() as document:
            document["answers"].setdefault(item_id, {})[task] = {"value": value, "saved_at": _now()}

    def record_reflection(self, prompt_id: str, text: str) -> None:
        """Save a free-text reflection under ``prompt_id``."""
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise AnswerStoreError(f"Not saved to {self.path}: a reflection is text of at most {MAX_TEXT} characters.")
        with self._locked() as document:
            document["reflections"][prompt_id] = {"text": text, "saved_at": _now()}

    def recover(self) -> Path:
        """Set a damaged answer file aside and restore the last good backup (or start empty).

        Returns where the damaged file was moved. Nothing is deleted.
        """
        with self._lock():
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            if self.path.exists():
                os.replace(self.path, aside)
            try:
                restored = self._read(self.backup_path)
            except AnswerStoreError:
                restored = None
            if restored is not None:
                shutil.copyfile(self.backup_path, self.path)
            return aside

    # -- internals -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        """Read-modify-write under the lock; the write is atomic and keeps a backup."""
        with self._lock():
            old_text = self.path.read_text(encoding="utf-8") if self.path.exists() else None
            document = self._read(self.path) or _empty()
            yield document
            if old_text is not None:
                _atomic_write(self.backup_path, old_text)
            _atomic_write(self.path, json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n")

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, path: Path) -> dict | None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        advice = (f" Your answers have not been changed. To start again from the last good "
                  f"version, run `dialectic answers recover {path.parent}`.")
        if size > MAX_BYTES:
            raise AnswerStoreError(f"{path} is {size:,} bytes, larger than any answer file should be "
                                   f"({MAX_BYTES:,}); it was not read.{advice}")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise AnswerStoreError(f"{path} is not UTF-8 text ({exc}).{advice}") from exc
        except json.JSONDecodeError as exc:
            raise AnswerStoreError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).{advice}") from exc
        problem = _document_problem(document)
        if problem:
            raise AnswerStoreError(f"{path} is not an answer file this course can read: {problem}.{advice}")
        return document


def _empty() -> dict:
    return {"schema_version": SCHEMA_VERSION, "answers": {}, "reflections": {}}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _document_problem(document) -> str | None:
    if not isinstance(document, dict):
        return f"the top level is a {type(document).__name__}, not an object"
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            return f"schema_version {version} is newer than this grader reads ({SCHEMA_VERSION}); update the course"
        return f"schema_version is {version!r}, expected {SCHEMA_VERSION}"
    unknown = set(document) - {"schema_version", "answers", "reflections"}
    if unknown:
        return f"unexpected top-level fields {sorted(unknown)}"
    answers, reflections = document.get("answers"), document.get("reflections")
    if not isinstance(answers, dict) or not isinstance(reflections, dict):
        return "'answers' and 'reflections' must both be objects"
    for item_id, tasks in answers.items():
        if not isinstance(tasks, dict):
            return f"the entry for {item_id!r} is not an object"
        for task, entry in tasks.items():
            if not isinstance(entry, dict) or set(entry) != {"value", "saved_at"}:
                return f"answer {item_id}/{task} must have exactly 'value' and 'saved_at'"
            problem = _value_problem(task, entry["value"])
            if problem:
                return f"answer {item_id}/{task} {problem}"
    for prompt_id, entry in reflections.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            return f"reflection {prompt_id!r} has no text"
    return None


def _value_problem(task: str, value) -> str | None:
    """Say what is wrong with the shape of an answer value, or None."""
    if task not in TASKS:
        return f"is for an unknown task {task!r} (tasks: {', '.join(TASKS)})"
    if task in ("choose", "pattern"):
        ok = isinstance(value, str) and 0 < len(value) <= 100
        return None if ok else "must be a short string"
    if task == "spectrum":
        ok = isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and -2 <= v <= 2
            for k, v in value.items())
        return None if ok else "must map response ids to whole numbers from -2 to 2"
    if task == "marker":
        ok = (isinstance(value, Mapping) and set(value) == {"rupture_type", "marker"}
              and all(isinstance(v, str) for v in value.values()))
        return None if ok else "must be {'rupture_type': ..., 'marker': ...}"
    # compose: free text plus the learner's own rubric ratings
    if not isinstance(value, Mapping) or not isinstance(value.get("text"), str):
        return "must be {'text': ..., 'self_rating': {...}}"
    if len(value["text"]) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    ratings = value.get("self_rating", {})
    if not isinstance(ratings, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in ratings.values()):
        return "has self-ratings that are not whole numbers from 1 to 5"
    return None
