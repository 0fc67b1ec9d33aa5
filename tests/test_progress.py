"""Self-study progress: results, the lean of one's choices, and what to practise next."""

from __future__ import annotations

import json

import pytest

from grader import progress
from grader.answers import AnswerStore
from grader.itembank import AREAS, area_name, load_bank
from grader.widgets import NextItems
from tests.conftest import BANK


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def _choose(store, bank, item_id, *, best=True, position=None):
    item = bank.item(item_id)
    if best:
        response = item.best
    else:
        response = next(r for r in item.responses if r.spectrum_position == position)
    store.record(item_id, "choose", response.response_id)


def test_empty_store(tmp_path, bank):
    results = progress.practice_results(tmp_path, bank)
    assert results.empty
    table = progress.summary(results)
    assert len(table) == 15 and (table["answers"] == 0).all()
    assert progress.tendency(results).label == "not enough data"
    first = progress.suggestions(results, bank)
    assert set(first["difficulty"]) == {"beginner"} and len(first) == 5


def test_results_score_practice_answers_and_skip_assessment(tmp_path, bank):
    store = AnswerStore(tmp_path)
    practice = bank.ids(split="practice", area="empathic_process")[0]
    assessment = bank.ids(split="assessment", area="empathic_process")[0]
    _choose(store, bank, practice)
    _choose(store, bank, assessment)
    store.record("rw-001", "marker", {"rupture_type": "confrontation", "marker": "defending_self"})
    results = progress.practice_results(tmp_path, bank)
    assert set(results["item_id"]) == {practice, "rw-001"}
    assert results.set_index("item_id").loc[practice, "credit"] == 1.0
    assert results.set_index("item_id").loc["rw-001", "credit"] == 0.0


def test_tendency_needs_enough_choices_then_names_the_lean(tmp_path, bank):
    store = AnswerStore(tmp_path)
    items = [
        i
        for i in bank.ids(split="practice")
        if any(r.spectrum_position == -2 for r in bank.item(i).responses)
    ]
    for item_id in items[: progress.MIN_CHOICES_FOR_TENDENCY - 1]:
        _choose(store, bank, item_id, best=False, position=-2)
    assert progress.tendency(progress.practice_results(tmp_path, bank)).label == "not enough data"
    _choose(store, bank, items[progress.MIN_CHOICES_FOR_TENDENCY - 1], best=False, position=-2)
    lean = progress.tendency(progress.practice_results(tmp_path, bank))
    assert lean.label == "leans collusive" and lean.mean_position == -2.0
    assert "not a judgement of your attachment" in lean.message


def test_consistent_success_moves_up_a_level(tmp_path, bank):
    store = AnswerStore(tmp_path)
    beginner = bank.ids(split="practice", area="rupture_confrontation", difficulty="beginner")
    for item_id in beginner[: progress.RECENT_ATTEMPTS]:
        _choose(store, bank, item_id)
    suggestion = progress.suggestions(progress.practice_results(tmp_path, bank), bank).set_index(
        "area"
    )
    assert suggestion.loc["rupture_confrontation", "difficulty"] == "intermediate"
    assert "move up" in suggestion.loc["rupture_confrontation", "why"]
    assert suggestion.loc["empathic_process", "difficulty"] == "beginner"


def test_failure_keeps_the_level(tmp_path, bank):
    store = AnswerStore(tmp_path)
    beginner = bank.ids(split="practice", area="rupture_withdrawal", difficulty="beginner")
    for item_id in beginner[: progress.RECENT_ATTEMPTS]:
        _choose(
            store,
            bank,
            item_id,
            best=False,
            position=2
            if any(r.spectrum_position == 2 for r in bank.item(item_id).responses)
            else 1,
        )
    suggestion = progress.suggestions(progress.practice_results(tmp_path, bank), bank).set_index(
        "area"
    )
    assert suggestion.loc["rupture_withdrawal", "difficulty"] == "beginner"
    assert (
        suggestion.loc["rupture_withdrawal", "item_id"] not in beginner[: progress.RECENT_ATTEMPTS]
    )


def test_charts_build_with_and_without_data(tmp_path, bank):
    assert progress.progress_chart(progress.practice_results(tmp_path, bank)).to_dict()
    _choose(AnswerStore(tmp_path), bank, "ep-001")
    results = progress.practice_results(tmp_path, bank)
    spec = progress.choices_on_map(results).to_dict()
    assert spec["layer"][1]["mark"]["type"] == "circle"


def test_progress_chart_names_areas_in_words(tmp_path, bank):
    spec = progress.progress_chart(progress.practice_results(tmp_path, bank)).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert {r["area"] for r in rows} == {area_name(a) for a in AREAS}
    assert not [r for r in rows if "_" in r["area"]]
    assert spec["layer"][0]["encoding"]["x"]["axis"]["labelAngle"] == 0


def test_charts_with_untried_cells_are_strict_json(tmp_path, bank):
    """A kernel sends a chart as JSON: a NaN in it (an untried area)
    is a warning on the learner's screen."""
    nothing = progress.practice_results(tmp_path, bank)  # a first visit: every cell untried
    json.dumps(progress.progress_chart(nothing).to_dict(), allow_nan=False)  # raises on NaN
    _choose(AnswerStore(tmp_path), bank, "ep-001")
    results = progress.practice_results(tmp_path, bank)
    for chart in (progress.progress_chart(results), progress.choices_on_map(results, bank)):
        json.dumps(chart.to_dict(), allow_nan=False)


def test_next_items_widget_shows_suggestions(tmp_path, bank):
    w = NextItems(directory=tmp_path, bank=bank)
    shown = [c.item.item_id for c in w.children if hasattr(c, "item")]
    assert len(shown) == 5 and all(bank.item(i).split == "practice" for i in shown)
    assert not (tmp_path / "responses.json").exists()


def test_summary_table_reads_in_words(tmp_path, bank):
    assert (
        "No practice answers yet"
        in progress.summary_table(progress.practice_results(tmp_path, bank))._repr_html_()
    )
    _choose(AnswerStore(tmp_path), bank, "ep-001")
    table = progress.summary_table(progress.practice_results(tmp_path, bank))
    page = table._repr_html_()
    assert list(table.rows.columns) == ["Area", "Level", "Answers", "Mean credit"]
    assert table.rows.to_dict("records") == [
        {
            "Area": "Empathic process",
            "Level": bank.item("ep-001").difficulty,
            "Answers": 1,
            "Mean credit": "100%",
        }
    ]
    assert (
        "NaN" not in page
        and "_" not in page.replace("dialectic-summary", "")
        and "<th></th>" not in page
    )


def test_one_recent_answer_is_singular(tmp_path, bank):
    _choose(AnswerStore(tmp_path), bank, "ep-001")
    why = (
        progress.suggestions(progress.practice_results(tmp_path, bank), bank)
        .set_index("area")
        .loc["empathic_process", "why"]
    )
    assert "1 recent answer averaging" in why
