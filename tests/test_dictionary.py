"""The data dictionaries and the validator that reads tables against them."""

from __future__ import annotations

import pandas as pd
import pytest

from grader.dictionary import load_dictionary, read_table
from grader.errors import DataValidationError
from tests.conftest import BANK, edit_csv


@pytest.mark.parametrize("table", ["vignettes", "responses"])
def test_every_column_is_described(table):
    d = load_dictionary(BANK / f"{table}.schema.yaml")
    frame = pd.read_csv(BANK / d.file, dtype=str, keep_default_na=False)
    assert d.schema_version == 1
    assert list(frame.columns) == d.names
    for column in d.columns:
        assert column.meaning.strip(), column.name
        if column.type == "category":
            assert column.allowed


def test_key_columns_are_marked():
    vignettes = load_dictionary(BANK / "vignettes.schema.yaml")
    responses = load_dictionary(BANK / "responses.schema.yaml")
    assert set(vignettes.key_columns) == {"rupture_type", "marker_3rs", "attachment_pattern"}
    assert set(responses.key_columns) == {
        "spectrum_position",
        "carkhuff_level",
        "resonance",
        "regulation",
        "resolution_strategy",
        "rationale",
        "safety_note",
    }


def test_typed_frame():
    d = load_dictionary(BANK / "responses.schema.yaml")
    frame = read_table(BANK / d.file, d)
    assert str(frame["spectrum_position"].dtype) == "Int64"
    assert isinstance(frame["resolution_strategy"].dtype, pd.CategoricalDtype)
    assert frame["spectrum_position"].between(-2, 2).all()


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("carkhuff_level", "7", "above the maximum 5"),
        ("carkhuff_level", "three", "not a whole number"),
        ("resolution_strategy", "hug_it_out", "not one of the allowed values"),
        ("text", "", "empty but the column is required"),
        ("response_id", "rw-14-a", "does not match the pattern"),
    ],
)
def test_bad_cell_names_file_row_column_and_value(bank_copy, column, value, expected):
    path = bank_copy / "responses.csv"
    edit_csv(path, 17, column, value)
    d = load_dictionary(bank_copy / "responses.schema.yaml")
    with pytest.raises(DataValidationError) as caught:
        read_table(path, d)
    message = str(caught.value)
    assert str(path) in message
    assert "row 17" in message
    assert f"column {column!r}" in message
    assert repr(value) in message
    assert expected in message


def test_missing_and_unknown_columns(bank_copy):
    path = bank_copy / "vignettes.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.rename(columns={"setting": "place"}).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"missing the columns \['setting'\]") as caught:
        read_table(path, load_dictionary(bank_copy / "vignettes.schema.yaml"))
    assert "'place'" in str(caught.value)


def test_duplicate_primary_key(bank_copy):
    path = bank_copy / "vignettes.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = frame.loc[0, "item_id"]
    edit_csv(path, 5, "item_id", first)
    with pytest.raises(DataValidationError, match=f"row 5.*repeats the item_id '{first}'"):
        read_table(path, load_dictionary(bank_copy / "vignettes.schema.yaml"))


def test_unparseable_csv(tmp_path):
    path = tmp_path / "vignettes.csv"
    path.write_bytes(b"\xff\xfe not utf-8 \x00")
    with pytest.raises(DataValidationError, match="cannot be parsed as CSV"):
        read_table(path, load_dictionary(BANK / "vignettes.schema.yaml"))


def test_malformed_dictionary_is_reported(tmp_path):
    path = tmp_path / "bad.schema.yaml"
    path.write_text(
        "dictionary_format: 1\ntable: t\nfile: t.csv\ndescription: d\nschema_version: 1\n"
        "columns:\n  - name: a\n    type: colour\n    meaning: m\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError, match="type 'colour'"):
        load_dictionary(path)
