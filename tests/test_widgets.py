"""The course widgets, driven without a browser by setting their controls' values."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from grader import widgets
from grader.answers import AnswerStore
from grader.editions import write_student_edition
from grader.errors import GraderError, KeyUnavailableError
from grader.itembank import WITHDRAWAL_MARKERS, load_bank
from grader.scoring import position_label
from grader.static_html import to_static_html
from tests.conftest import BANK


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def _saved(tmp_path) -> dict:
    path = tmp_path / "responses.json"
    return json.loads(path.read_text(encoding="utf-8"))["answers"] if path.exists() else {}


@pytest.mark.parametrize(
    "make",
    [
        lambda d: widgets.SpectrumItem("rw-001", directory=d),
        lambda d: widgets.ChoiceItem("ep-001", directory=d),
        lambda d: widgets.MarkerItem("rw-003", directory=d),
        lambda d: widgets.PatternItem("at-001", directory=d),
        lambda d: widgets.ComposeItem("is-017", directory=d),
        lambda d: widgets.Reflection("r-1", "What pulls you?", directory=d),
    ],
    ids=["spectrum", "choice", "marker", "pattern", "compose", "reflection"],
)
def test_construction_alone_writes_nothing(tmp_path, make):
    make(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_spectrum_item_records_gives_feedback_and_restores(tmp_path, bank):
    item = bank.item("rw-001")
    first, second = item.responses[0], item.responses[1]
    w = widgets.SpectrumItem("rw-001", directory=tmp_path)
    w.placements[first.response_id].value = first.spectrum_position
    assert _saved(tmp_path)["rw-001"]["spectrum"]["value"] == {
        first.response_id: first.spectrum_position
    }
    assert first.rationale.replace("'", "&#x27;") in w.feedback.value
    assert second.rationale.replace("'", "&#x27;") not in w.feedback.value  # unplaced: no spoiler
    assert "more to place" in w.feedback.value
    w.placements[second.response_id].value = -second.spectrum_position or 2
    again = widgets.SpectrumItem("rw-001", directory=tmp_path)
    assert again.placements[first.response_id].value == first.spectrum_position
    assert again.placements[second.response_id].value == (-second.spectrum_position or 2)
    assert "restored" in again.status.value and "Score" in again.feedback.value


def test_choice_item(tmp_path, bank):
    item = bank.item("ep-001")
    w = widgets.ChoiceItem("ep-001", directory=tmp_path)
    w.choice.value = item.best.response_id
    assert _saved(tmp_path)["ep-001"]["choose"]["value"] == item.best.response_id
    assert "Score: 100%" in w.feedback.value
    assert widgets.ChoiceItem("ep-001", directory=tmp_path).choice.value == item.best.response_id


def test_marker_item(tmp_path, bank):
    item = bank.item("rw-003")
    w = widgets.MarkerItem("rw-003", directory=tmp_path)
    assert w.marker.disabled
    w.kind.value = "withdrawal"
    assert not w.marker.disabled and "rw-003" not in _saved(tmp_path)  # half an answer is not saved
    w.marker.value = item.marker_3rs
    assert _saved(tmp_path)["rw-003"]["marker"]["value"] == {
        "rupture_type": "withdrawal",
        "marker": item.marker_3rs,
    }
    assert "Score: 100%" in w.feedback.value
    restored = widgets.MarkerItem("rw-003", directory=tmp_path)
    assert (restored.kind.value, restored.marker.value) == ("withdrawal", item.marker_3rs)


def test_pattern_item_saves_pattern_and_next_step_separately(tmp_path, bank):
    item = bank.item("at-001")
    w = widgets.PatternItem("at-001", directory=tmp_path)
    w.pattern.value = item.attachment_pattern
    w.choice.value = item.best.response_id
    saved = _saved(tmp_path)["at-001"]
    assert saved["pattern"]["value"] == item.attachment_pattern
    assert saved["choose"]["value"] == item.best.response_id
    assert "not a diagnosis" in w.feedback.value
    with pytest.raises(GraderError, match="not an attachment item"):
        widgets.PatternItem("ep-001", directory=tmp_path)


def test_compose_item_saves_on_button_only(tmp_path, bank):
    w = widgets.ComposeItem("is-017", directory=tmp_path)
    w.save_button.click()
    assert not (tmp_path / "responses.json").exists() and "Write a response" in w.status.value
    w.text.value = "Ich höre Sie — it sounds like part of you is waiting for me to fail you too."
    w.ratings["empathy"].value = 4
    assert not (tmp_path / "responses.json").exists()  # typing is not saving
    w.save_button.click()
    saved = _saved(tmp_path)["is-017"]["compose"]["value"]
    assert (saved["text"], saved["self_rating"]) == (w.text.value, {"empathy": 4})
    assert set(saved["rater"]["probabilities"]) == {
        "-2",
        "-1",
        "0",
        "1",
        "2",
    }  # the formative reading
    assert "formative reading" in w.reading.value and "not a grade" in w.reading.value
    assert "Compare with the keyed response" in w.feedback.value
    restored = widgets.ComposeItem("is-017", directory=tmp_path)
    assert restored.text.value == w.text.value and restored.ratings["empathy"].value == 4


def test_reflection_saves_and_restores(tmp_path):
    r = widgets.Reflection("alliance-1", "Where do you collude?", directory=tmp_path)
    r.text.value = "When a client cries I rush to soothe."
    r.save_button.click()
    assert AnswerStore(tmp_path).reflection("alliance-1") == r.text.value
    assert (
        widgets.Reflection("alliance-1", "Where do you collude?", directory=tmp_path).text.value
        == r.text.value
    )


def test_assessment_items_save_without_feedback(tmp_path, bank):
    item_id = bank.ids(split="assessment", area="empathic_process")[0]
    item = bank.item(item_id)
    w = widgets.ChoiceItem(item_id, directory=tmp_path)
    assert w.mode == "assessment"
    w.choice.value = item.best.response_id
    assert _saved(tmp_path)[item_id]["choose"]["value"] == item.best.response_id
    assert "scored when your assignment is graded" in w.feedback.value
    assert item.best.rationale[:40] not in w.feedback.value


def test_student_edition_shows_assessment_items_but_no_keys(tmp_path, bank):
    student = load_bank(write_student_edition(tmp_path / "student", bank))
    item_id = student.ids(split="assessment")[0]
    w = widgets.SpectrumItem(item_id, directory=tmp_path, bank=student)
    w.placements[f"{item_id}-a"].value = 0
    assert "scored when your assignment is graded" in w.feedback.value
    with pytest.raises(KeyUnavailableError):
        widgets.SpectrumItem(item_id, directory=tmp_path, bank=student, mode="practice")


def test_damaged_answer_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "responses.json"
    path.write_text('{"schema_version": 1, "answers": {', encoding="utf-8")
    w = widgets.ChoiceItem("ep-001", directory=tmp_path)
    assert "could not be saved or read" in w.status.value and "not valid JSON" in w.status.value
    assert w.choice.disabled
    w.choice.disabled = False
    w.choice.value = "ep-001-a"  # even if forced, the store refuses to overwrite
    assert path.read_text(encoding="utf-8") == '{"schema_version": 1, "answers": {'
    assert "could not be saved" in w.status.value


def test_text_fallback_for_places_without_widgets(tmp_path, bank):
    w = widgets.ChoiceItem("ep-001", directory=tmp_path)
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "open this notebook in JupyterLab" in bundle["text/plain"]
    assert bank.item("ep-001").client_statement in bundle["text/plain"]
    w.choice.value = "ep-001-b"
    assert "Your saved answer: choose: ep-001-b" in w._repr_mimebundle_()["text/plain"]


def test_static_html_export_shows_the_fallback(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('from grader.widgets import SpectrumItem\nSpectrumItem("rc-001")')
    ]
    NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    page = to_static_html(nb)
    assert "Interactive item rc-001" in page and "dialectic-static" in page


def test_widgets_are_labelled_for_keyboard_and_screen_readers(tmp_path):
    w = widgets.SpectrumItem("rw-001", directory=tmp_path)
    for toggle in w.placements.values():
        assert toggle.tooltips and all(toggle.tooltips)
        assert [label for label, _ in toggle.options] == [
            label for label, _ in widgets.SPECTRUM_OPTIONS
        ]
    c = widgets.ChoiceItem("ep-001", directory=tmp_path)
    assert c.choice.description and all(label.startswith("(") for label, _ in c.choice.options)
    m = widgets.MarkerItem("rw-003", directory=tmp_path)
    assert m.kind.description and m.marker.description


def test_physiology_explorer(tmp_path):
    e = widgets.PhysiologyExplorer("d04")
    assert "entrained" in e.intro_html()
    spec = e.chart().to_dict()
    assert any("window" in str(p) for p in spec.get("params", [])) or "window" in json.dumps(spec)
    e.signal.value = "hr"
    assert "heart rate" in json.dumps(e.chart().to_dict())
    with pytest.raises(GraderError, match="No dyad 'd99'"):
        widgets.PhysiologyExplorer("d99")


def test_physiology_explorer_runs_headless_without_stalling(tmp_path):
    """nbclient stalls on ipywidgets.Output (jupyter/nbclient#312);
    the explorer must not use one."""
    import time

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            'from grader.widgets import PhysiologyExplorer\nPhysiologyExplorer("d01")'
        )
    ]
    started = time.monotonic()
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert time.monotonic() - started < 30
    kinds = [set(o.get("data", {})) for o in nb.cells[0].outputs]
    assert any("image/svg+xml" in k for k in kinds) and any("text/html" in k for k in kinds)


def test_spectrum_buttons_name_positions_as_the_feedback_does(tmp_path, bank):
    w = widgets.SpectrumItem("rw-001", directory=tmp_path)
    toggle = next(iter(w.placements.values()))
    assert list(toggle.options) == [(position_label(p), p) for p in (-2, -1, 0, 1, 2)]
    assert "mildly collusive (-1)" in [label for label, _ in toggle.options]
    assert len(set(toggle.tooltips)) == 5


def test_marker_dropdown_prompts_instead_of_showing_blank(tmp_path, bank):
    w = widgets.MarkerItem("rw-003", directory=tmp_path)
    assert w.marker.label == "choose the rupture kind first" and w.marker.disabled
    w.kind.value = "confrontation"
    assert w.marker.label == "choose a confrontation marker..." and not w.marker.disabled
    assert "rw-003" not in _saved(tmp_path)  # the prompt is not an answer
    w.kind.value = "withdrawal"
    assert w.marker.label == "choose a withdrawal marker..."
    assert [label for label, _ in w.marker.options][1:] == [
        m.replace("_", " ") for m in WITHDRAWAL_MARKERS
    ]
    w.kind.value = "none"
    assert (w.marker.value, w.marker.disabled) == ("none", True)
    assert _saved(tmp_path)["rw-003"]["marker"]["value"] == {
        "rupture_type": "none",
        "marker": "none",
    }


SHOW_EVERY_KIND = """\
from grader.widgets import ChoiceItem, NextItems, PhysiologyExplorer, Reflection
ChoiceItem("ep-001")
"""


def _outputs(tmp_path, source: str, env: str = "") -> list:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(env + source),
        nbformat.v4.new_code_cell('Reflection("r-1", "What pulls?")'),
        nbformat.v4.new_code_cell("NextItems()"),
        nbformat.v4.new_code_cell('PhysiologyExplorer("d01")'),
    ]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return [cell.outputs for cell in nb.cells]


def test_each_widget_comes_with_readable_text_in_an_output_of_its_own(tmp_path):
    """JupyterLab shows only the live view of an output that has one ("Error displaying widget:
    model not found" once its model is gone), so the text must be a separate output."""
    choice, reflection, next_items, explorer = _outputs(tmp_path, SHOW_EVERY_KIND)
    for outputs in (choice, reflection, next_items):
        text, live = outputs
        assert "application/vnd.jupyter.widget-view+json" not in text["data"]
        assert (
            "dialectic-static" in text["data"]["text/html"]
            and "Run All Cells" in text["data"]["text/plain"]
        )
        assert set(live["data"]) == {"application/vnd.jupyter.widget-view+json"}
    assert "Interactive item ep-001" in choice[0]["data"]["text/plain"]
    assert "What pulls?" in reflection[0]["data"]["text/plain"]
    assert next_items[0]["data"]["text/plain"].count("Interactive item") == 5
    kinds = [set(o.get("data", {})) for o in explorer]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds)
    assert any(
        "Signal: skin conductance" in o.get("data", {}).get("text/plain", "") for o in explorer
    )


def test_autograde_keeps_only_the_text(tmp_path):
    env = 'import os\nos.environ["NBGRADER_EXECUTION"] = "autograde"\n'
    for outputs in _outputs(tmp_path, SHOW_EVERY_KIND, env)[:3]:
        assert all("application/vnd.jupyter.widget-view+json" not in o["data"] for o in outputs)
        assert len(outputs) == 1


def test_live_style_hides_the_text_only_while_the_widget_shows():
    """The rule the browser test sees working: hide the text output followed by a live view,
    and, in the text, hide the widget-error line that follows it."""
    assert (
        ".jp-OutputArea-child:has(.dialectic-static):has(+ .jp-OutputArea-child .dialectic-live)"
        in widgets._STYLE
    )
    assert ":not(:has(> .jp-OutputArea-output > *))" in widgets._fallback_bundle("x")["text/html"]
