"""Values handed out of a kernel come back as the plain data they hold, never as code."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from grader import handin


def _round_trip(value, tmp_path):
    handin.write(tmp_path, "value", value)
    return handin.read_all(tmp_path)["value"]


def test_frames_and_series_keep_labels_names_and_dtypes(tmp_path):
    frame = pd.DataFrame(
        {"responses": [3, 4], "mean_carkhuff": [2.5, float("nan")]},
        index=pd.Index([-2, -1], name="spectrum_position"),
    )
    back = _round_trip(frame, tmp_path)
    assert list(back.index) == [-2, -1] and back.index.name == "spectrum_position"
    assert list(back.columns) == ["responses", "mean_carkhuff"]
    assert str(back["responses"].dtype) == "int64" and math.isnan(back.iloc[1, 1])
    crosstab = pd.DataFrame([[1, 0], [0, 2]], index=[-2, -1], columns=[1, 2])
    assert list(_round_trip(crosstab, tmp_path).columns) == [1, 2]
    series = pd.Series([2, 5], index=["alliance_rupture", "withdrawal"], name="count")
    back = _round_trip(series, tmp_path)
    assert back.to_dict() == {"alliance_rupture": 2, "withdrawal": 5} and back.name == "count"


def test_plain_values(tmp_path):
    value = {"a": [1, 2.5, None, True, "x"], 3: (np.int64(4), np.float64(float("inf")))}
    back = _round_trip(value, tmp_path)
    assert back["a"] == [1, 2.5, None, True, "x"] and back[3][0] == 4 and math.isinf(back[3][1])


def test_an_object_that_claims_equality_cannot_be_handed_in(tmp_path):
    class Anything:
        def __eq__(self, other):
            return True

    with pytest.raises(handin.HandInError, match="Anything cannot be handed in"):
        handin.write(tmp_path, "value", Anything())


def test_a_str_subclass_arrives_as_its_characters(tmp_path):
    class Sneaky(str):
        def __eq__(self, other):
            return True

    back = _round_trip(Sneaky("abc"), tmp_path)
    assert type(back) is str and back != "xyz"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"schema_version": 1, "name": "other", "value": 1}),
        json.dumps({"schema_version": 1, "name": "value", "value": {"$": "pickle"}}),
        json.dumps({"schema_version": 9, "name": "value", "value": 1}),
        "[" * 100000,
    ],
)
def test_a_malformed_hand_in_is_refused_with_its_file_named(tmp_path, text):
    (tmp_path / "value.json").write_text(text, encoding="utf-8")
    with pytest.raises(handin.HandInError, match="value.json"):
        handin.read_all(tmp_path)


def test_a_bad_name_is_refused(tmp_path):
    with pytest.raises(handin.HandInError):
        handin.write(tmp_path, "../escape", 1)
