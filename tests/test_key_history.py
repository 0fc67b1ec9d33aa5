"""The changelog of the keys: every change has a reason and a version, and matches the bank."""

from __future__ import annotations

import pandas as pd
import pytest

from grader.cli import main
from grader.errors import DataValidationError
from grader.itembank import load_bank
from grader.key_history import HISTORY_FILE, item_history, keys_at, load_history
from tests.conftest import BANK, edit_csv


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


@pytest.fixture(scope="module")
def history():
    return load_history(BANK)


def test_every_change_has_a_reason_and_a_version_bump(bank, history):
    assert len(history) > 0
    assert history["reason"].str.strip().str.len().min() > 10
    for item_id, changes in history.groupby("item_id"):
        assert bank.item(item_id).version >= int(changes["version"].max()) >= 2, item_id
    changed = set(history["item_id"])
    unchanged = bank.vignettes[~bank.vignettes["item_id"].isin(changed)]
    assert (unchanged["version"] == 1).all(), "an item at version > 1 must say why in the changelog"


def test_the_current_key_is_the_latest_change(bank, history):
    for (response_id, column), chain in history.groupby(["response_id", "column"], observed=True):
        latest = chain.sort_values("version").iloc[-1]
        now = getattr(bank.response(response_id), column)
        assert str(now if now is not None else "") == str(
            latest["new_value"] if pd.notna(latest["new_value"]) else ""
        )


def test_the_rekeying_counts(history):
    """What the re-keying of version 2 changed (reported in KEYING_RUBRIC.md)."""
    moves = history[history["column"] == "spectrum_position"]
    pairs = list(zip(moves["old_value"].astype(int), moves["new_value"].astype(int), strict=True))
    further = sum(abs(new) > abs(old) for old, new in pairs)
    assert all((old > 0) == (new > 0) and abs(abs(new) - abs(old)) == 1 for old, new in pairs)
    assert (len(pairs), further, len(pairs) - further) == (85, 84, 1)
    assert (history["column"] == "safety_note").sum() == 13


def test_old_keys_explain_a_grade_given_under_them(bank):
    """ep-001-c was -1 in version 1 and is -2 now: a version-1 grade is explained by -1."""
    assert bank.response("ep-001-c").spectrum_position == -2
    old = keys_at(bank, "ep-001", 1)
    assert old["ep-001-c"]["spectrum_position"] == "-1"
    assert old["ep-001-a"] == keys_at(bank, "ep-001", 2)["ep-001-a"]
    assert keys_at(bank, "rw-022", 1)["rw-022-b"]["safety_note"] == ""
    with pytest.raises(Exception, match="no version 3"):
        keys_at(bank, "ep-001", 3)


def test_the_safety_note_of_the_flagged_distractor(bank):
    """The confrontational distractor offered to an adolescent with a self-harm history."""
    item = bank.item("rw-022")
    assert item.client_age == 17 and "self-harm" in item.presenting_problem
    note = item.response("rw-022-b").safety_note
    assert item.response("rw-022-b").spectrum_position == 2 and "self-harm" in note


def _reload_error(directory) -> str:
    with pytest.raises(DataValidationError) as caught:
        load_bank(directory)
    return str(caught.value)


def test_an_unrecorded_edit_of_a_changed_key_is_refused(bank_copy):
    frame = pd.read_csv(bank_copy / "responses.csv", dtype=str, keep_default_na=False)
    row = int(frame.index[frame["response_id"] == "ep-001-c"][0]) + 1
    edit_csv(bank_copy / "responses.csv", row, "spectrum_position", "-1")
    message = _reload_error(bank_copy)
    assert HISTORY_FILE in message and "leaves '-2', but responses.csv holds '-1'" in message


def test_a_change_without_a_reason_is_refused(bank_copy):
    edit_csv(bank_copy / HISTORY_FILE, 1, "reason", "")
    assert "column 'reason': value '' is empty but the column is required" in _reload_error(
        bank_copy
    )


def test_a_change_without_a_version_bump_is_refused(bank_copy):
    v = pd.read_csv(bank_copy / "vignettes.csv", dtype=str, keep_default_na=False)
    row = int(v.index[v["item_id"] == "ep-001"][0]) + 1
    edit_csv(bank_copy / "vignettes.csv", row, "version", "1")
    assert "item ep-001 is at version 1: bump the item's version" in _reload_error(bank_copy)


def test_a_broken_chain_is_refused(bank_copy):
    frame = pd.read_csv(bank_copy / HISTORY_FILE, dtype=str, keep_default_na=False)
    first = frame.iloc[0]
    later = first.copy()
    later["version"], later["old_value"], later["reason"] = (
        "3",
        "0",
        "a second change that forgot the first",
    )
    pd.concat([frame, later.to_frame().T]).to_csv(
        bank_copy / HISTORY_FILE, index=False, lineterminator="\n"
    )
    message = _reload_error(bank_copy)
    assert "old_value does not equal the value left by the change in version 2" in message


def test_item_history_lists_changes_oldest_first(history):
    changes = item_history(history, "ep-001")
    assert set(changes["response_id"]) == {"ep-001-c", "ep-001-e"}
    assert (changes["version"] == 2).all()


def test_cli_history(capsys):
    assert main(["items", "history", "ep-001"]) == 0
    out = capsys.readouterr().out
    assert "ep-001-c spectrum_position -1 -> -2" in out and "merging" in out
    assert main(["items", "history", "ep-001", "--version", "1"]) == 0
    assert "ep-001-c: position -1" in capsys.readouterr().out
