"""Partial-credit scoring of every task type."""

from __future__ import annotations

import pytest

from grader.errors import AnswerError, KeyUnavailableError, UnknownItemError
from grader.itembank import CONFRONTATION_MARKERS, WITHDRAWAL_MARKERS, load_bank
from grader.scoring import score
from tests.conftest import BANK


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def _first(bank, predicate):
    for item_id in bank.ids():
        item = bank.item(item_id)
        for r in item.responses:
            if predicate(item, r):
                return item, r
    raise AssertionError("no such response in the bank")


def test_choosing_the_best_earns_full_credit_and_its_rationale(bank):
    item = bank.item("ep-001")
    result = score("ep-001", "choose", item.best.response_id, points=2, bank=bank)
    assert result.credit == 1.0 and result.points == 2.0 and result.correct
    assert item.best.rationale in result.feedback
    assert result.expected == item.best.response_id


@pytest.mark.parametrize(("distance", "credit"), [(2, 0.0), (1, 0.25)])
def test_choosing_an_off_spectrum_response(bank, distance, credit):
    item, r = _first(bank, lambda i, r: abs(r.spectrum_position) == distance)
    result = score(item.item_id, "choose", r.response_id, points=4, bank=bank)
    assert result.credit == credit and result.points == 4 * credit
    assert r.rationale in result.feedback and item.best.rationale in result.feedback


def test_choosing_a_lesser_attuned_response_earns_half(bank):
    item, r = _first(bank, lambda i, r: r.spectrum_position == 0 and r is not i.best)
    assert score(item.item_id, "choose", r.response_id, bank=bank).credit == 0.5


def test_spectrum_placement_credit_is_the_mean_over_responses(bank):
    item = bank.item("rc-003")
    exact = {r.response_id: r.spectrum_position for r in item.responses}
    assert score(item.item_id, "spectrum", exact, bank=bank).credit == 1.0
    # move every placement one step towards the middle or off it: each earns 0.5
    one_off = {k: (v - 1 if v > 0 else v + 1) for k, v in exact.items()}
    assert score(item.item_id, "spectrum", one_off, bank=bank).credit == 0.5
    # flip the sign of the poles: a collusive response called confrontational earns nothing
    n = len(item.responses)
    flipped = {k: -v for k, v in exact.items()}
    expected = sum(1.0 if v == 0 else 0.0 for v in exact.values()) / n
    assert score(item.item_id, "spectrum", flipped, bank=bank).credit == pytest.approx(
        expected, abs=1e-4
    )
    # half done: unplaced responses earn 0
    first = item.responses[0].response_id
    partial = score(item.item_id, "spectrum", {first: exact[first]}, bank=bank)
    assert partial.credit == pytest.approx(1 / n, abs=1e-4)
    assert "not placed" in partial.feedback


def test_spectrum_answer_errors(bank):
    with pytest.raises(AnswerError, match="whole number from -2 to 2"):
        score("rc-003", "spectrum", {"rc-003-a": 3}, bank=bank)
    with pytest.raises(UnknownItemError, match="no response 'rc-003-q'"):
        score("rc-003", "spectrum", {"rc-003-q": 0}, bank=bank)
    with pytest.raises(AnswerError):
        score("rc-003", "spectrum", "rc-003-a", bank=bank)


def test_marker_credit(bank):
    item = bank.item("rw-001")
    right = {"rupture_type": "withdrawal", "marker": item.marker_3rs}
    assert score("rw-001", "marker", right, bank=bank).credit == 1.0
    other = next(m for m in WITHDRAWAL_MARKERS if m != item.marker_3rs)
    result = score("rw-001", "marker", {"rupture_type": "withdrawal", "marker": other}, bank=bank)
    assert result.credit == 0.25
    wrong_kind = {"rupture_type": "confrontation", "marker": CONFRONTATION_MARKERS[0]}
    assert score("rw-001", "marker", wrong_kind, bank=bank).credit == 0.0
    with pytest.raises(AnswerError, match="not a withdrawal marker"):
        score(
            "rw-001",
            "marker",
            {"rupture_type": "withdrawal", "marker": "control_pressure"},
            bank=bank,
        )


def test_pattern_credit(bank):
    item = bank.item(bank.ids(area="attachment")[0])
    assert score(item.item_id, "pattern", item.attachment_pattern, bank=bank).credit == 1.0
    wrong = next(p for p in ("secure", "dismissing", "preoccupied") if p != item.attachment_pattern)
    assert score(item.item_id, "pattern", wrong, bank=bank).credit == 0.0
    with pytest.raises(AnswerError, match="not an attachment item"):
        score("ep-001", "pattern", "secure", bank=bank)
    with pytest.raises(AnswerError, match="one of secure"):
        score(item.item_id, "pattern", "anxious", bank=bank)


def test_unknown_task_and_bad_points(bank):
    with pytest.raises(AnswerError, match="Unknown task"):
        score("ep-001", "rank", "ep-001-a", bank=bank)
    with pytest.raises(AnswerError, match="points must be positive"):
        score("ep-001", "choose", "ep-001-a", points=0, bank=bank)


def test_student_edition_cannot_score_assessment_items(tmp_path, bank):
    from grader.editions import write_student_edition

    student = load_bank(write_student_edition(tmp_path / "student", bank))
    practice, assessment = student.ids(split="practice")[0], student.ids(split="assessment")[0]
    best = bank.item(practice).best.response_id
    assert score(practice, "choose", best, bank=student).credit == 1.0
    with pytest.raises(KeyUnavailableError):
        score(assessment, "choose", f"{assessment}-a", bank=student)


def test_every_marker_is_described_and_explained_in_feedback(bank):
    from grader.itembank import MARKER_DESCRIPTIONS

    assert set(MARKER_DESCRIPTIONS) == set(WITHDRAWAL_MARKERS) | set(CONFRONTATION_MARKERS)
    item = bank.item("rw-001")
    result = score(
        "rw-001", "marker", {"rupture_type": "withdrawal", "marker": item.marker_3rs}, bank=bank
    )
    assert MARKER_DESCRIPTIONS[item.marker_3rs] in result.feedback
    assert item.best.rationale in result.feedback


def test_an_unsafe_response_says_why_in_its_feedback(bank):
    """rw-022-b confronts a 17-year-old with a self-harm history:
    the feedback says why it is unsafe."""
    note = bank.response("rw-022-b").safety_note
    assert note and "self-harm" in note
    chosen = score("rw-022", "choose", "rw-022-b", bank=bank)
    assert chosen.credit == 0.0 and f"Unsafe with this client: {note}" in chosen.feedback
    placed = score("rw-022", "spectrum", {"rw-022-b": 2}, bank=bank)
    assert f"Unsafe with this client: {note}" in placed.details["feedback"]["rw-022-b"]
    safe = score("rw-022", "choose", bank.item("rw-022").best.response_id, bank=bank)
    assert "Unsafe" not in safe.feedback
