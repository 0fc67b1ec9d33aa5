"""The grade-id and test-cell conventions, and the exercises kept in step with them."""

from __future__ import annotations

import pytest

from grader import gradecells
from grader.paths import REPO_ROOT

EXERCISES = sorted((REPO_ROOT / "exercises").glob("m0*/*.ipynb"))


def test_item_grade_ids_round_trip():
    assert gradecells.item_grade_id("rc-004", "spectrum") == "item_rc_004_spectrum"
    assert gradecells.parse_item("item_rc_004_spectrum") == ("rc-004", "spectrum")
    assert gradecells.parse_item("free_text_rc_004") is None
    assert gradecells.parse_written("free_text_rw_020") == "rw-020"
    with pytest.raises(ValueError):
        gradecells.item_grade_id("rc-4", "choose")
    with pytest.raises(ValueError):
        gradecells.item_grade_id("rc-004", "guess")


def test_item_test_cell_has_a_visible_check_and_hidden_scoring():
    source = gradecells.item_test_source("ep-002", "choose", 2)
    visible = gradecells.without_hidden_tests(source)
    assert 'require_answer("ep-002", "choose")' in visible and "award" not in visible
    assert 'award("ep-002", "choose", points=2)' in source
    assert gradecells.REQUIRE_CALL.findall(source) == [("ep-002", "choose")]


def test_an_unanswered_item_shows_its_message_without_a_traceback(tmp_path, monkeypatch, capsys):
    """In a real IPython shell the visible check of an unanswered item shows one line that
    names the item and what to do, not the frames of grader.grading."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)  # no responses.json here: nothing is answered
    visible = gradecells.without_hidden_tests(gradecells.item_test_source("ep-002", "choose", 2))
    capsys.readouterr()
    result = InteractiveShell.instance().run_cell(visible)
    shown = capsys.readouterr().out.strip()
    assert result.error_in_exec is not None
    assert shown == (
        "UnansweredError: Item ep-002 is not answered yet: choose the best response in the "
        "item above, then validate again."
    ), shown


@pytest.mark.parametrize("notebook", EXERCISES, ids=lambda p: p.parent.name)
def test_every_item_test_cell_is_generated_from_the_one_function(notebook):
    stale = gradecells.sync_item_tests(notebook)
    assert not stale, (
        f"{notebook.name}: {stale} differ from "
        "gradecells.item_test_source; run `dialectic sync-tests`"
    )


@pytest.mark.parametrize("notebook", EXERCISES, ids=lambda p: p.parent.name)
def test_every_code_task_hands_its_values_out(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    tests = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and c.cell_type == "code"
        and not c.metadata["nbgrader"].get("solution")
        and not gradecells.parse_item(c.metadata["nbgrader"]["grade_id"])
    ]
    assert tests
    for cell in tests:
        assert gradecells.is_code_check(cell.source), cell.metadata["nbgrader"]["grade_id"]
        assert gradecells.handed_names(cell.source)


def test_handed_names():
    assert gradecells.handed_names(
        "x = 1\nhand_in(a=a, b=b)\n### BEGIN HIDDEN TESTS\nhand_in(c=c)\n### END HIDDEN TESTS\n"
    ) == ["a", "b"]
