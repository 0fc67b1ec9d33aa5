"""The answer store: round trips, atomic writes, corruption, the journal,
recovery and concurrency."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from grader.answers import MAX_BYTES, AnswerStore
from grader.errors import AnswerStoreError


def test_round_trip_of_every_task(tmp_path):
    store = AnswerStore(tmp_path)
    store.record("rw-014", "choose", "rw-014-c")
    store.record("rw-014", "spectrum", {"rw-014-a": -2, "rw-014-b": 0})
    store.record("rw-001", "marker", {"rupture_type": "withdrawal", "marker": "denial"})
    store.record("at-003", "pattern", "preoccupied")
    store.record("ep-002", "compose", {"text": "I hear it.", "self_rating": {"empathy": 4}})
    again = AnswerStore(tmp_path)
    assert again.get("rw-014", "choose") == "rw-014-c"
    assert again.get("rw-014", "spectrum") == {"rw-014-a": -2, "rw-014-b": 0}
    assert again.get("rw-001", "marker")["marker"] == "denial"
    assert again.get("at-003", "pattern") == "preoccupied"
    assert again.get("ep-002", "compose")["self_rating"] == {"empathy": 4}
    assert again.get("ep-999", "choose") is None
    document = json.loads((tmp_path / "responses.json").read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    assert set(document["answers"]) == {"rw-014", "rw-001", "at-003", "ep-002"}


def test_long_non_ascii_text_round_trips(tmp_path):
    text = ("Ich höre, wie müde Sie sind — 你听起来很累。 Ты устала. تبدو متعبًا 😔\n" * 400).strip()
    store = AnswerStore(tmp_path)
    store.record_reflection("alliance-1", text)
    store.record("ep-002", "compose", {"text": text, "self_rating": {}})
    assert AnswerStore(tmp_path).reflection("alliance-1") == text
    assert AnswerStore(tmp_path).get("ep-002", "compose")["text"] == text


def test_a_later_answer_replaces_the_earlier_and_is_journaled(tmp_path):
    store = AnswerStore(tmp_path)
    store.record("rw-014", "choose", "rw-014-a")
    store.record("rw-014", "choose", "rw-014-c")
    assert store.get("rw-014", "choose") == "rw-014-c"
    lines = [
        json.loads(line) for line in store.journal_path.read_text(encoding="utf-8").splitlines()
    ]
    assert [line["value"] for line in lines] == ["rw-014-a", "rw-014-c"]


def test_only_the_answer_file_is_visible_and_it_is_private(tmp_path):
    store = AnswerStore(tmp_path)
    for i in range(5):
        store.record(f"ep-00{i}", "choose", f"ep-00{i}-a")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dialectic", "responses.json"]
    assert sorted(p.name for p in (tmp_path / ".dialectic").iterdir()) == [
        "responses.json.journal",
        "responses.json.lock",
    ]
    assert store.path.stat().st_mode & 0o777 == 0o600
    store.path.chmod(0o640)  # a mode the learner chose is kept
    store.record("ep-009", "choose", "ep-009-a")
    assert store.path.stat().st_mode & 0o777 == 0o640


def test_reading_creates_nothing(tmp_path):
    assert AnswerStore(tmp_path).load()["answers"] == {}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"schema_version": 1, "answers": {', "not valid JSON (line 1"),
        ("[1, 2, 3]", "top level is a list"),
        ('{"schema_version": 1, "answers": [], "reflections": {}}', "must both be objects"),
        (
            '{"schema_version": 1, "answers": {"rw-014": '
            '{"choose": {"value": 7, "saved_at": "x"}}},'
            ' "reflections": {}}',
            "rw-014/choose must be a short string",
        ),
        ('{"schema_version": 2, "answers": {}, "reflections": {}}', "newer than this grader reads"),
        ('{"answers": {}, "reflections": {}}', "schema_version is None"),
    ],
)
def test_damaged_file_raises_and_is_never_overwritten(tmp_path, content, expected):
    path = tmp_path / "responses.json"
    path.write_text(content, encoding="utf-8")
    store = AnswerStore(tmp_path)
    with pytest.raises(AnswerStoreError, match="responses.json") as caught:
        store.load()
    assert expected in str(caught.value)
    with pytest.raises(AnswerStoreError):
        store.record("ep-001", "choose", "ep-001-a")
    assert path.read_text(encoding="utf-8") == content


def test_binary_and_oversized_files(tmp_path):
    path = tmp_path / "responses.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(AnswerStoreError, match="not UTF-8"):
        AnswerStore(tmp_path).load()
    path.write_text('{"pad": "' + "x" * (MAX_BYTES + 10) + '"}', encoding="utf-8")
    with pytest.raises(AnswerStoreError, match="larger than any answer file"):
        AnswerStore(tmp_path).load()


def test_recovery_restores_every_answer_saved_before_the_damage(tmp_path):
    store = AnswerStore(tmp_path)
    store.record("ep-001", "choose", "ep-001-a")
    store.record("ep-002", "choose", "ep-002-b")
    store.record_reflection("alliance-1", "I felt pulled to reassure.")
    store.record("ep-003", "spectrum", {"ep-003-a": -1})  # the latest save
    store.path.chmod(0o600)
    store.path.write_text("{ half a file", encoding="utf-8")
    done = store.recover()
    assert done.set_aside.read_text(encoding="utf-8") == "{ half a file"
    assert done.set_aside.parent == tmp_path / ".dialectic"
    assert (done.answers, done.reflections, done.saves_replayed, done.not_recovered) == (
        3,
        1,
        4,
        (),
    )
    assert store.get("ep-001", "choose") == "ep-001-a"
    assert store.get("ep-003", "spectrum") == {"ep-003-a": -1}
    assert store.reflection("alliance-1") == "I felt pulled to reassure."
    assert store.path.stat().st_mode & 0o777 == 0o600
    store.record("ep-004", "choose", "ep-004-c")
    assert (
        store.get("ep-004", "choose") == "ep-004-c" and store.get("ep-001", "choose") == "ep-001-a"
    )
    # and a second damage later recovers everything again, from the snapshot onwards
    store.path.write_text("[]", encoding="utf-8")
    assert store.recover().answers == 4


def test_recovery_salvages_what_the_journal_lacks_and_names_what_is_lost(tmp_path):
    store = AnswerStore(tmp_path)
    store.record("ep-001", "choose", "ep-001-a")
    with open(store.journal_path, "a", encoding="utf-8") as journal:
        journal.write('{"item_id": "ep-007", "task": "choose", "val')  # a save cut off by a crash
    document = json.loads(store.path.read_text(encoding="utf-8"))
    document["answers"]["ep-005"] = {
        "choose": {"value": "ep-005-b", "saved_at": "2026-11-22T10:00:00+00:00"}
    }
    document["answers"]["ep-006"] = {
        "choose": {"value": 42, "saved_at": "2026-11-22T10:00:00+00:00"}
    }
    store.path.write_text(json.dumps(document), encoding="utf-8")
    done = store.recover()
    assert store.get("ep-001", "choose") == "ep-001-a"
    assert store.get("ep-005", "choose") == "ep-005-b"  # readable in the damaged file: kept
    assert done.not_recovered == ("ep-006", "ep-007")


def test_recovery_of_a_deleted_file_and_of_nothing(tmp_path):
    store = AnswerStore(tmp_path)
    with pytest.raises(AnswerStoreError, match="nothing to recover"):
        store.recover()
    assert list(tmp_path.iterdir()) == []  # not even a lock file
    store.record("ep-001", "choose", "ep-001-a")
    store.path.unlink()
    with pytest.raises(AnswerStoreError, match="is missing, but earlier answers are kept"):
        store.load()
    done = store.recover()
    assert done.set_aside is None and store.get("ep-001", "choose") == "ep-001-a"
    assert store.recover() is None  # readable now: nothing to do


def test_invalid_values_are_refused_before_writing(tmp_path):
    store = AnswerStore(tmp_path)
    for task, value in [
        ("spectrum", {"a": 5}),
        ("marker", {"marker": "denial"}),
        ("choose", ""),
        ("telepathy", "x"),
        ("compose", {"text": "t", "self_rating": {"empathy": 9}}),
    ]:
        with pytest.raises(AnswerStoreError, match="Not saved"):
            store.record("ep-001", task, value)
    assert not store.path.exists()


def _record_many(directory: str, worker: int, count: int) -> None:
    store = AnswerStore(Path(directory))
    for i in range(count):
        store.record(f"w{worker}-{i:03d}", "choose", f"w{worker}-{i:03d}-a")


def test_concurrent_writers_lose_nothing(tmp_path):
    workers, count = 4, 25
    ctx = multiprocessing.get_context("spawn")
    processes = [
        ctx.Process(target=_record_many, args=(str(tmp_path), w, count)) for w in range(workers)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    answers = AnswerStore(tmp_path).load()["answers"]
    assert len(answers) == workers * count


def test_a_whole_answer_file_is_built_and_written_through_this_module(tmp_path):
    from grader.answers import add_answer, empty_document, write_document

    document = empty_document()
    add_answer(document, "rw-014", "choose", "rw-014-c", "2026-11-20T09:00:00+00:00")
    add_answer(document, "rw-014", "spectrum", {"rw-014-a": -1}, "2026-11-20T09:03:00+00:00")
    written = write_document(tmp_path, document, new_mode=0o644)
    assert written == tmp_path / "responses.json" and written.stat().st_mode & 0o777 == 0o644
    assert AnswerStore(tmp_path).load() == document
    assert AnswerStore(tmp_path).get("rw-014", "choose") == "rw-014-c"
    with pytest.raises(AnswerStoreError, match="the spectrum answer for rw-014 must map"):
        add_answer(document, "rw-014", "spectrum", {"rw-014-a": 7}, "2026-11-20T09:06:00+00:00")
    with pytest.raises(AnswerStoreError, match=r"Not written to .*responses.json: schema_version"):
        write_document(tmp_path, {**document, "schema_version": 0})
    assert AnswerStore(tmp_path).load() == document  # the refused document changed nothing
