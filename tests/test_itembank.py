"""The item bank: its content meets the curriculum's requirements and its rules are enforced."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from grader.errors import DataValidationError, KeyUnavailableError, UnknownItemError
from grader.itembank import AREAS, DIFFICULTIES, load_bank
from tests.conftest import BANK, edit_csv


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def test_counts_meet_the_curriculum(bank):
    counts = bank.counts()
    by_area = counts["by_area"]
    for area in (
        "empathic_process",
        "intersubjectivity",
        "rupture_withdrawal",
        "rupture_confrontation",
    ):
        assert by_area[area] >= 24, area
    assert by_area["attachment"] >= 16
    assert counts["vignettes"] == sum(by_area.values()) >= 112
    assert 4 * counts["vignettes"] <= counts["responses"] <= 5 * counts["vignettes"]


def test_split_is_balanced_across_area_and_difficulty(bank):
    v = bank.vignettes
    for area in AREAS:
        for difficulty in DIFFICULTIES:
            cell = v[(v["area"] == area) & (v["difficulty"] == difficulty)]
            splits = Counter(cell["split"])
            assert len(cell) >= 4, (area, difficulty)
            assert abs(splits["practice"] - splits["assessment"]) <= 1, (area, difficulty, splits)


def test_each_item_spans_the_spectrum_with_one_best(bank):
    for item_id in bank.ids():
        item = bank.item(item_id)
        positions = [r.spectrum_position for r in item.responses]
        assert min(positions) < 0 < max(positions) and 0 in positions, item_id
        best = item.best
        assert best.spectrum_position == 0
        assert all(r.carkhuff_level < best.carkhuff_level for r in item.responses if r is not best)
        assert 1 <= len(best.rationale.split(".")) - 1 <= 4


def test_best_letter_carries_no_information(bank):
    letters = Counter(bank.item(i).best.letter for i in bank.ids())
    # with shuffled order no letter should hold more than 40% of the best responses
    assert max(letters.values()) <= 0.4 * len(bank), letters


def test_rupture_and_attachment_keys(bank):
    v = bank.vignettes
    assert set(v.loc[v["area"] == "rupture_withdrawal", "rupture_type"]) == {"withdrawal"}
    assert set(v.loc[v["area"] == "rupture_confrontation", "rupture_type"]) == {"confrontation"}
    attachment = v[v["area"] == "attachment"]
    patterns = Counter(attachment["attachment_pattern"])
    assert set(patterns) == {"secure", "dismissing", "preoccupied"}
    assert min(patterns.values()) >= 5
    assert attachment["therapist_reaction"].notna().all()
    for area in ("rupture_withdrawal", "rupture_confrontation"):
        markers = Counter(v.loc[v["area"] == area, "marker_3rs"])
        assert len(markers) == 7, (area, markers)


def test_clients_are_diverse(bank):
    v = bank.vignettes
    ages = v["client_age"].astype(int)
    assert ages.min() <= 19 and ages.max() >= 70
    assert v["client_gender"].nunique() >= 4
    assert v["setting"].nunique() >= 10
    assert v["client_affect"].nunique() >= 15
    assert v["client_background"].nunique() == len(v)
    assert v["client_statement"].nunique() == len(v)


def test_provenance_is_honest(bank):
    v = bank.vignettes
    assert set(v["review_status"]) == {"author_keyed"}
    assert v["provenance"].str.contains("not yet piloted").all()


def test_misspelt_item_id_fails_loudly_with_a_suggestion(bank):
    with pytest.raises(UnknownItemError, match=r"No item 'rw-14'.*Did you mean 'rw-014'"):
        bank.item("rw-14")
    with pytest.raises(UnknownItemError, match="no response 'rw-014-z'"):
        bank.response("rw-014-z")
    with pytest.raises(ValueError, match="area must be one of"):
        bank.ids(area="rupture")


def test_typed_accessors(bank):
    item = bank.item("rw-014")
    assert item.area == "rupture_withdrawal"
    assert isinstance(item.client_age, int) and isinstance(item.affect_intensity, int)
    assert item.responses[0].response_id == "rw-014-a"
    assert bank.response("rw-014-b").item_id == "rw-014"
    assert bank.ids(area="attachment", split="practice", difficulty="beginner")


def _reload_error(directory) -> str:
    with pytest.raises(DataValidationError) as caught:
        load_bank(directory)
    return str(caught.value)


def _responses(directory) -> pd.DataFrame:
    return pd.read_csv(directory / "responses.csv", dtype=str, keep_default_na=False)


def test_two_best_responses_are_rejected(bank_copy):
    frame = _responses(bank_copy)
    item = frame.loc[0, "item_id"]
    rows = frame.index[frame["item_id"] == item]
    for r in rows:
        if frame.loc[r, "spectrum_position"] == "0":
            frame.loc[r, ["carkhuff_level", "resonance", "regulation"]] = ["5", "5", "5"]
    frame.loc[rows[0], "spectrum_position"] = "0"
    frame.loc[rows[0], ["carkhuff_level", "resonance", "regulation"]] = ["5", "5", "5"]
    frame.to_csv(bank_copy / "responses.csv", index=False, lineterminator="\n")
    message = _reload_error(bank_copy)
    assert f"item {item}" in message and "exactly one response must be the keyed best" in message


def test_collusive_response_with_high_carkhuff_is_rejected(bank_copy):
    frame = _responses(bank_copy)
    row = int(frame.index[frame["spectrum_position"] == "-2"][0]) + 1
    edit_csv(bank_copy / "responses.csv", row, "carkhuff_level", "4")
    message = _reload_error(bank_copy)
    assert f"row {row}" in message and "column 'carkhuff_level'" in message
    assert "subtractive" in message


def test_marker_of_the_wrong_family_is_rejected(bank_copy):
    v = pd.read_csv(bank_copy / "vignettes.csv", dtype=str, keep_default_na=False)
    row = int(v.index[v["area"] == "rupture_withdrawal"][0]) + 1
    edit_csv(bank_copy / "vignettes.csv", row, "marker_3rs", "control_pressure")
    message = _reload_error(bank_copy)
    assert f"row {row}" in message and "'control_pressure' is not a withdrawal marker" in message


def test_response_to_a_missing_item_leaves_a_short_item(bank_copy):
    frame = _responses(bank_copy)
    sizes = frame.groupby("item_id").size()
    item = sizes[sizes == 4].index[0]
    row = int(frame.index[frame["item_id"] == item][-1]) + 1
    edit_csv(bank_copy / "responses.csv", row, "item_id", "ep-999")
    message = _reload_error(bank_copy)
    assert (
        f"responses.csv, row {row}, item ep-999, column 'item_id': names item 'ep-999'" in message
    )
    assert f"item {item}, column 'item_id': has 3 candidate responses; 4 or 5 are needed" in message


def test_wrong_manifest_version(bank_copy):
    (bank_copy / "bank.yaml").write_text(
        "schema_version: 9\nedition: instructor\n", encoding="utf-8"
    )
    assert "schema_version is 9" in _reload_error(bank_copy)


def test_loading_is_cached_until_a_file_changes(bank_copy):
    first = load_bank(bank_copy)
    assert load_bank(bank_copy) is first
    edit_csv(bank_copy / "responses.csv", 3, "carkhuff_level", "9")
    with pytest.raises(DataValidationError):
        load_bank(bank_copy)


def test_student_items_without_keys_refuse_best(bank_copy, tmp_path):
    from grader.editions import write_student_edition

    student = write_student_edition(tmp_path / "student", load_bank(bank_copy))
    bank = load_bank(student)
    assessment = bank.ids(split="assessment")[0]
    with pytest.raises(KeyUnavailableError, match="student edition"):
        bank.item(assessment).best  # noqa: B018 (reading the property is what raises)


def test_best_response_is_not_betrayed_by_its_length(bank):
    """A test-wise learner must not find the key by picking the longest option."""
    longest = shortest = 0
    for item_id in bank.ids():
        item = bank.item(item_id)
        lengths = sorted(len(r.text) for r in item.responses)
        best = len(item.best.text)
        longest += best == lengths[-1] and lengths.count(best) == 1
        shortest += best == lengths[0] and lengths.count(best) == 1
    assert longest <= 0.4 * len(bank), (
        f"best is the longest option in {longest} of {len(bank)} items"
    )
    assert shortest <= 0.3 * len(bank), (
        f"best is the shortest option in {shortest} of {len(bank)} items"
    )
