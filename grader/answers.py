"""The answer store: a learner's answers in ``responses.json`` beside the notebook.

A widget's value lives only in the running kernel; the answer store is what survives a
restart, a reopened notebook and nbgrader's autograde (which collects the file with the
notebook). The file holds one entry per item id, with a ``schema_version``::

    {"schema_version": 1,
     "answers": {"rw-014": {"choose": {"value": "rw-014-c", "saved_at":
     "2026-11-22T10:00:00+00:00"}}},
     "reflections": {"alliance-1": {"text": "...", "saved_at": "..."}}}

Every save is first appended to a journal and then written to the file atomically, both
under a lock, so two widgets or two processes never lose each other's answers. The journal
and the lock live in a hidden folder, ``.dialectic/``, beside the file (JupyterLab's file
browser hides it). A damaged or wrong-typed file is never overwritten: every call raises
:class:`AnswerStoreError` until :meth:`AnswerStore.recover` sets it aside and rebuilds the
file from the journal, which holds every answer ever saved.

This module owns the format: whatever else writes an answer file (the cohort simulator, a
solution run) builds it with :func:`empty_document`, :func:`add_answer` and
:func:`write_document`, and whatever reads one (the trusted grader, the analytics) reads it
through :class:`AnswerStore`, which validates it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.atomic_file import write_atomically
from grader.errors import AnswerStoreError
from grader.file_lock import locked

SCHEMA_VERSION = 1
FILENAME = "responses.json"
#: The hidden folder beside the answer file that holds its journal, lock and set-aside copies.
HIDDEN_FOLDER = ".dialectic"
#: Larger files are refused: real answer files are a few kilobytes.
MAX_BYTES = 2 * 1024 * 1024
#: Longest free-text answer accepted, in characters.
MAX_TEXT = 50_000
TASKS = ("choose", "spectrum", "marker", "pattern", "compose")
#: Answer files are private to the learner unless they were already shared otherwise.
NEW_FILE_MODE = 0o600
#: When the journal grows past this, it is rewritten as one snapshot of the current answers.
JOURNAL_COMPACT_BYTES = 4 * MAX_BYTES
_ITEM_KEY = re.compile(r'"([a-z]{2}-\d{3})"\s*:')


@dataclass(frozen=True)
class Recovery:
    """What :meth:`AnswerStore.recover` did."""

    path: Path
    """The answer file, readable again."""
    set_aside: Path | None
    """Where the damaged file was moved (None when there was no file)."""
    answers: int
    """Items with at least one answer in the restored file."""
    reflections: int
    saves_replayed: int
    """Saves read back from the journal."""
    not_recovered: tuple[str, ...]
    """Answers that were in the damaged file or the journal but could not be restored."""


class AnswerStore:
    """Read and write one learner's ``responses.json``."""

    def __init__(self, directory: Path | str | None = None):
        directory = Path(directory) if directory is not None else Path.cwd()
        self.path = directory / FILENAME if directory.suffix != ".json" else directory
        self.hidden = self.path.parent / HIDDEN_FOLDER
        self.journal_path = self.hidden / f"{self.path.name}.journal"
        self.lock_path = self.hidden / f"{self.path.name}.lock"
        self.legacy_backup_path = self.path.with_name(
            self.path.name + ".bak"
        )  # written by earlier versions

    # -- reading -------------------------------------------------------------------------
    def load(self) -> dict:
        """The whole validated document; an empty one when nothing has been saved yet."""
        document = self._read(self.path)
        if document is None and self.journal_path.exists():
            raise AnswerStoreError(
                f"{self.path} is missing, but earlier answers are kept in {self.journal_path}. "
                f"Run `dialectic answers recover {self.path.parent}` to restore them (or delete "
                f"the {HIDDEN_FOLDER} folder there to start afresh)."
            )
        return document or empty_document()

    def check(self) -> dict:
        """The validated document; an error when the folder or the file does not exist."""
        folder = self.path.parent
        if not folder.is_dir():
            raise AnswerStoreError(
                f"{folder} is not a folder (it does not exist); give the folder that holds "
                f"the notebooks and their {self.path.name}."
            )
        if not self.path.exists():
            raise AnswerStoreError(
                f"There is no {self.path.name} in {folder}: no answer has been saved there. "
                "Answers are saved beside the notebooks they were given in."
            )
        return self.load()

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
            raise AnswerStoreError(
                f"Not saved to {self.path}: the {task} answer for {item_id} {problem}."
            )
        self._save({"item_id": item_id, "task": task, "value": value, "saved_at": _now()})

    def record_reflection(self, prompt_id: str, text: str) -> None:
        """Save a free-text reflection under ``prompt_id``."""
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise AnswerStoreError(
                f"Not saved to {self.path}: a reflection is text of at most {MAX_TEXT} characters."
            )
        self._save({"reflection": prompt_id, "text": text, "saved_at": _now()})

    def recover(self) -> Recovery | None:
        """Set a damaged answer file aside and rebuild it from every save in the journal.

        Answers the damaged file still holds in readable form are kept too. Returns None when
        the file is readable and nothing needed doing. Nothing is ever deleted.
        """
        folder = self.path.parent
        if not folder.is_dir():
            raise AnswerStoreError(
                f"{folder} is not a folder (it does not exist); nothing to recover."
            )
        if not self.path.exists() and not self.journal_path.exists():
            raise AnswerStoreError(
                f"There is no {self.path.name} in {folder} and no saved history in "
                f"{self.hidden}: there is nothing to recover."
            )
        with locked(self.lock_path):
            try:
                if self._read(self.path) is not None:
                    return None
                damaged = None
            except AnswerStoreError:
                damaged = self.path.read_bytes()
            document, replayed, unreadable = self._replay()
            lost = _salvage(document, damaged) if damaged is not None else []
            lost += [label for label in unreadable if label not in lost]
            set_aside = None
            mode = NEW_FILE_MODE
            if damaged is not None:
                mode = self.path.stat().st_mode & 0o777
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
                set_aside = self.hidden / f"{self.path.name}.damaged-{stamp}"
                os.replace(self.path, set_aside)
            write_atomically(self.path, _dumps(document), new_mode=mode)
            self._append({"snapshot": document})
            return Recovery(
                self.path,
                set_aside,
                len(document["answers"]),
                len(document["reflections"]),
                replayed,
                tuple(lost),
            )

    # -- internals -----------------------------------------------------------------------
    def _save(self, change: dict) -> None:
        """Journal the change, then apply it to the file: both under the lock."""
        with locked(self.lock_path):
            document = self.load()
            if not self.journal_path.exists() and self.path.exists():
                self._append(
                    {"snapshot": document}
                )  # the history starts from what is already there
            self._append(change)
            _apply(document, change)
            write_atomically(self.path, _dumps(document), new_mode=NEW_FILE_MODE)
            if self.journal_path.stat().st_size > JOURNAL_COMPACT_BYTES:
                write_atomically(
                    self.journal_path,
                    json.dumps({"snapshot": document}, ensure_ascii=False) + "\n",
                    new_mode=NEW_FILE_MODE,
                )

    def _append(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, NEW_FILE_MODE)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def _replay(self) -> tuple[dict, int, list[str]]:
        """The answers as the journal has them, how many saves it held,
        and what it could not read."""
        document = empty_document()
        try:
            legacy = self._read(self.legacy_backup_path)
        except AnswerStoreError:
            legacy = None
        document = legacy or document
        replayed, unreadable = 0, []
        if not self.journal_path.exists():
            return document, replayed, unreadable
        with open(self.journal_path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    entry = None
                if (
                    isinstance(entry, dict)
                    and "snapshot" in entry
                    and _document_problem(entry["snapshot"]) is None
                ):
                    document, unreadable = (
                        entry["snapshot"],
                        [],
                    )  # a snapshot holds everything before it
                elif isinstance(entry, dict) and _change_problem(entry) is None:
                    _apply(document, entry)
                    replayed += 1
                else:
                    items = _ITEM_KEY.findall(line) or re.findall(
                        r'"item_id":\s*"([^"]{1,100})"', line
                    )
                    unreadable.append(
                        ", ".join(items) if items else f"save {number} in {self.journal_path.name}"
                    )
        return document, replayed, unreadable

    def _read(self, path: Path) -> dict | None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        advice = (
            f" Your answers have not been changed. To restore every answer saved before the "
            f"damage, run `dialectic answers recover {path.parent}`."
        )
        if size > MAX_BYTES:
            raise AnswerStoreError(
                f"{path} is {size:,} bytes, larger than any answer file should be "
                f"({MAX_BYTES:,}); it was not read.{advice}"
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise AnswerStoreError(f"{path} is not UTF-8 text ({exc}).{advice}") from exc
        except json.JSONDecodeError as exc:
            raise AnswerStoreError(
                f"{path} is not valid JSON (line {exc.lineno}, column "
                f"{exc.colno}: {exc.msg}).{advice}"
            ) from exc
        problem = _document_problem(document)
        if problem:
            raise AnswerStoreError(
                f"{path} is not an answer file this course can read: {problem}.{advice}"
            )
        return document


def empty_document() -> dict:
    """An answer file with no answer in it yet."""
    return {"schema_version": SCHEMA_VERSION, "answers": {}, "reflections": {}}


def add_answer(document: dict, item_id: str, task: str, value, saved_at: str) -> None:
    """Put ``value`` into ``document`` as the answer to ``task`` on ``item_id``,
    saved at ``saved_at``."""
    problem = _value_problem(task, value)
    if problem:
        raise AnswerStoreError(f"the {task} answer for {item_id} {problem}.")
    _apply(document, {"item_id": item_id, "task": task, "value": value, "saved_at": saved_at})


def write_document(path: Path | str, document: dict, *, new_mode: int = NEW_FILE_MODE) -> Path:
    """Write a whole answer file at once (no journal: for files nobody answers into later).

    ``path`` is the file or the folder it goes in. A document this module could not read
    back is refused, so nothing writes an answer file the grader would score 0.
    """
    path = AnswerStore(path).path
    problem = _document_problem(document)
    if problem:
        raise AnswerStoreError(f"Not written to {path}: {problem}.")
    return write_atomically(path, _dumps(document), new_mode=new_mode)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _apply(document: dict, change: dict) -> None:
    if "reflection" in change:
        document["reflections"][change["reflection"]] = {
            "text": change["text"],
            "saved_at": change["saved_at"],
        }
    else:
        document["answers"].setdefault(change["item_id"], {})[change["task"]] = {
            "value": change["value"],
            "saved_at": change["saved_at"],
        }


def _change_problem(change: dict) -> str | None:
    if not isinstance(change.get("saved_at"), str):
        return "no time of saving"
    if "reflection" in change:
        ok = isinstance(change["reflection"], str) and isinstance(change.get("text"), str)
        return None if ok else "a reflection without text"
    if not isinstance(change.get("item_id"), str) or not change["item_id"]:
        return "no item id"
    return _value_problem(change.get("task"), change.get("value"))


def _salvage(document: dict, damaged: bytes) -> list[str]:
    """Add the readable answers of a damaged file that the journal lacks;
    name those that are lost."""
    text = damaged.decode("utf-8", errors="replace")
    try:
        old = json.loads(text)
    except json.JSONDecodeError:
        old = None
    lost = []
    if isinstance(old, dict) and isinstance(old.get("answers"), dict):
        for item_id, tasks in old["answers"].items():
            for task, entry in tasks.items() if isinstance(tasks, dict) else [("?", None)]:
                if task in document["answers"].get(item_id, {}):
                    continue
                ok = (
                    isinstance(entry, dict)
                    and isinstance(entry.get("saved_at"), str)
                    and _value_problem(task, entry.get("value")) is None
                )
                if ok:
                    _apply(
                        document,
                        {
                            "item_id": item_id,
                            "task": task,
                            "value": entry["value"],
                            "saved_at": entry["saved_at"],
                        },
                    )
                else:
                    lost.append(item_id)
        reflections = old.get("reflections")
        for prompt_id, entry in reflections.items() if isinstance(reflections, dict) else ():
            if prompt_id in document["reflections"]:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("text"), str):
                _apply(
                    document,
                    {
                        "reflection": prompt_id,
                        "text": entry["text"],
                        "saved_at": str(entry.get("saved_at", _now())),
                    },
                )
            else:
                lost.append(f"reflection {prompt_id}")
    else:
        lost = [
            item
            for item in dict.fromkeys(_ITEM_KEY.findall(text))
            if item not in document["answers"]
        ]
    return list(dict.fromkeys(lost))


def _document_problem(document) -> str | None:
    if not isinstance(document, dict):
        return f"the top level is a {type(document).__name__}, not an object"
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            return (
                f"schema_version {version} is newer than this grader reads "
                f"({SCHEMA_VERSION}); update the course"
            )
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
            for k, v in value.items()
        )
        return None if ok else "must map response ids to whole numbers from -2 to 2"
    if task == "marker":
        ok = (
            isinstance(value, Mapping)
            and set(value) == {"rupture_type", "marker"}
            and all(isinstance(v, str) for v in value.values())
        )
        return None if ok else "must be {'rupture_type': ..., 'marker': ...}"
    # compose: free text plus the learner's own rubric ratings
    if not isinstance(value, Mapping) or not isinstance(value.get("text"), str):
        return "must be {'text': ..., 'self_rating': {...}}"
    if len(value["text"]) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    ratings = value.get("self_rating", {})
    if not isinstance(ratings, Mapping) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in ratings.values()
    ):
        return "has self-ratings that are not whole numbers from 1 to 5"
    return None
