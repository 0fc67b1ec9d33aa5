"""Interactive items for the course notebooks: one line shows an item.

    SpectrumItem("rw-014")     # place each candidate response on the spectrum
    ChoiceItem("ep-003")       # choose the best response
    MarkerItem("rc-007")       # name the rupture and its 3RS marker
    PatternItem("at-002")      # recognise the therapist's state, choose a next step
    ComposeItem("is-004")      # write your own response and rate it on the rubric
    WriteFirstItem("ep-003")   # write before seeing the candidates, then compare
    Reflection("alliance-1", "What pulls you toward colluding?")
    PhysiologyExplorer("d03")  # a dyad's physiology, with a selectable time window

Every item saves the learner's answer to ``responses.json`` beside the notebook when the
learner interacts with it (never when it is merely shown), restores an earlier answer when
the notebook is reopened, and, for practice items, shows the score and the keyed
rationale at once. Assessment items save without feedback: they are scored at autograde.
Where widgets cannot render (a static export), the item shows itself as plain text.
"""

from __future__ import annotations

import html
import os

import ipywidgets as widgets

from grader import charts, rubric, static_items
from grader.answers import AnswerStore
from grader.errors import AnswerStoreError, GraderError, KeyUnavailableError
from grader.itembank import (
    CONFRONTATION_MARKERS,
    PATTERNS,
    WITHDRAWAL_MARKERS,
    ItemBank,
    load_bank,
)
from grader.itembank import Vignette as BankVignette  # `Vignette` here is the widget
from grader.scoring import Score, position_label, score

MODES = ("practice", "assessment")
#: The spectrum's five positions, named as the feedback names them.
SPECTRUM_OPTIONS = [(position_label(p), p) for p in (-2, -1, 0, 1, 2)]
SPECTRUM_TIPS = [
    "goes along with the client's frame, leaving the feeling unexplored",
    "leans toward agreeing or soothing",
    "resonates with the state and helps regulate it",
    "leans toward correcting or steering",
    "opposes, argues with or corrects the client",
]
RUPTURE_OPTIONS = [
    ("no rupture", "none"),
    ("withdrawal", "withdrawal"),
    ("confrontation", "confrontation"),
]
MARKER_CHOICES = {
    "none": ("none",),
    "withdrawal": WITHDRAWAL_MARKERS,
    "confrontation": CONFRONTATION_MARKERS,
}
#: The marker dropdown's first entry: a prompt, never an answer.
MARKER_PROMPT = {
    None: "choose the rupture kind first",
    "withdrawal": "choose a withdrawal marker...",
    "confrontation": "choose a confrontation marker...",
}
_FULL_WIDTH = widgets.Layout(width="100%")
_STYLE = """<style>
.dialectic-item {border-left: 4px solid #5b7fa6; padding: 0.4em 0.9em; margin: 0.5em 0;}
.dialectic-item blockquote {border-left: 3px solid #bbb; margin: 0.4em 0; padding-left: 0.8em;
  font-style: italic;}
.dialectic-feedback {background: #f4f7fb; padding: 0.5em 0.8em; border-radius: 4px;}
.dialectic-feedback.dialectic-good {background: #eef7ee;}
.dialectic-error {background: #fdecea; padding: 0.5em 0.8em; border-radius: 4px;}
.dialectic-rubric td, .dialectic-rubric th {vertical-align: top; font-size: 0.85em; padding: 0.3em;}
.dialectic-item-widget .widget-toggle-button.mod-active {background: #3d5f86; color: #fff;}
.dialectic-live .widget-toggle-buttons {display: flex; flex-wrap: wrap; gap: 4px 0; height: auto;}
.dialectic-live .widget-toggle-button.mod-active {background: #3d5f86; color: #fff;
  font-weight: bold;}
.dialectic-live .widget-toggle-button:focus-visible, .dialectic-live button:focus-visible,
.dialectic-live select:focus-visible, .dialectic-live textarea:focus-visible,
.dialectic-live .widget-radio-box input:focus-visible {outline: 3px solid #e08e0b;
  outline-offset: 1px;}
.dialectic-live .widget-radio {flex-wrap: wrap;}
.dialectic-live .widget-radio > .widget-label {width: 100%; max-width: none;}
.dialectic-live .widget-radio-box {margin-bottom: 0.3em;}
.dialectic-live .widget-radio-box label {display: flex; align-items: flex-start; height: auto;
  line-height: 1.4; white-space: normal; overflow-wrap: anywhere; padding: 0.3em 0.4em;
  margin: 1px 0; border-radius: 4px; cursor: pointer;}
.dialectic-live .widget-radio-box label:hover {background: #f1f4f8;}
.dialectic-live .widget-radio-box label:has(input:checked) {background: #e3ebf5;
  box-shadow: inset 3px 0 #3d5f86;}
.dialectic-live .widget-radio-box input {order: -1; flex: none; height: auto;
  margin: 0.25em 0.6em 0 0; float: none;}
.dialectic-live .widget-dropdown > select {flex: 0 1 22em;}
.dialectic-live h4 {margin: 1em 0 0.2em;}
.dialectic-live .widget-html-content {line-height: 1.45;}
.jp-OutputArea-child:has(.dialectic-static):has(+ .jp-OutputArea-child .dialectic-live) {
  display: none;}
</style>"""
#: Shown with each fallback: where a notebook was saved with its outputs and reopened, the
#: live widget's model is gone and JupyterLab would print only "Loading widget..." and then
#: "Error displaying widget: model not found" beneath; this hides that line, which holds no
#: element until a view draws (a trusted notebook, as one's own saved notebook is, keeps it).
# A widget output holding only text ("Loading widget...", "Error displaying widget: model not
# found") right after our text stand-in is hidden. (:has() may not nest inside :has(); chromium
# drops such a rule whole, so the test is written as :not(:has()).)
_FALLBACK_STYLE = (
    "<style>.jp-OutputArea-child:has(.dialectic-static) + "
    ".jp-OutputArea-child:not(:has(> .jp-OutputArea-output > *)) {display: none;}</style>"
)
#: How to bring an item to life, in words for people who have never used a notebook.
HOW_TO_RUN = (
    "To answer it, run this notebook's cells: choose Run \u25b8 Run All Cells in the menu "
    "(or click in this cell and press Shift+Enter)."
)


class _Item(widgets.VBox):
    """What every bank item shares: the vignette, the answer store, feedback and status."""

    task = ""
    instructions = ""

    def __init__(
        self, item_id: str, *, mode: str | None = None, directory=None, bank: ItemBank | None = None
    ):
        self.bank = bank or load_bank()
        self.item: BankVignette = self.bank.item(item_id)
        self.store = AnswerStore(directory)
        keyed = self.item.has_keys
        self.mode = mode or (
            "practice" if self.item.split == "practice" and keyed else "assessment"
        )
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.mode == "practice" and not keyed:
            raise KeyUnavailableError(
                f"Item {item_id} has no keys in this edition of the bank; "
                "show it in assessment mode."
            )
        self.feedback = widgets.HTML(layout=_FULL_WIDTH)
        self.status = widgets.HTML()
        controls = self._build_controls()
        super().__init__(
            [widgets.HTML(_STYLE + self._vignette_html()), *controls, self.status, self.feedback],
            layout=_FULL_WIDTH,
        )
        self.add_class("dialectic-item-widget")
        self.add_class("dialectic-live")
        try:
            saved = {task: self.store.get(self.item.item_id, task) for task in self._tasks()}
        except AnswerStoreError as exc:
            self._show_error(exc)
            self._set_enabled(False)
            saved = {}
        if any(v is not None for v in saved.values()):
            self._restore(saved)
            self._show_feedback()
            self.status.value = "<small>Your earlier answer is restored.</small>"
        self._observe()

    # -- subclasses fill these in ------------------------------------------------------------
    def _build_controls(self) -> list[widgets.Widget]:
        raise NotImplementedError

    def _restore(self, saved: dict) -> None:
        raise NotImplementedError

    def _observe(self) -> None:
        raise NotImplementedError

    def _answer(self, task: str):
        raise NotImplementedError

    def _feedback_html(self) -> str:
        return ""

    def _tasks(self) -> tuple[str, ...]:
        return (self.task,)

    def _controls(self) -> list[widgets.Widget]:
        return []

    # -- shared behaviour ---------------------------------------------------------------------
    def _save(self, task: str) -> None:
        """Record the current answer to ``task`` and show feedback (on interaction only)."""
        value = self._answer(task)
        if value is None:
            return
        try:
            self.store.record(self.item.item_id, task, value)
        except AnswerStoreError as exc:
            self._show_error(exc)
            return
        self.status.value = f"<small>Saved to {html.escape(self.store.path.name)}.</small>"
        self._show_feedback()

    def _show_feedback(self) -> None:
        if self.mode == "assessment":
            self.feedback.value = (
                "<div class='dialectic-feedback'>Answer saved. This is an assessment "
                "item: it is scored when your assignment is graded.</div>"
            )
            return
        body = self._feedback_html()
        if body:
            self.feedback.value = body

    def _show_error(self, exc: Exception) -> None:
        self.status.value = (
            f"<div class='dialectic-error' role='alert'><b>Your answer could not be "
            f"saved or read.</b> {html.escape(str(exc))}</div>"
        )

    def _set_enabled(self, enabled: bool) -> None:
        for control in self._controls():
            control.disabled = not enabled

    def _score_box(self, result: Score, body: str, *, partial: bool = False) -> str:
        good = " dialectic-good" if result.correct else ""
        label = "Score so far" if partial else "Score"
        return (
            f"<div class='dialectic-feedback{good}' role='status'><b>{label}: "
            f"{result.credit:.0%}</b><br>{body}</div>"
        )

    def _vignette_html(self) -> str:
        v = self.item
        who = f"{v.client_age}-year-old {v.client_gender.replace('_', ' ')}; {v.client_background}"
        parts = [
            f"<div class='dialectic-item' role='group' aria-label='Item {v.item_id}'>",
            f"<b>Item {v.item_id}</b> <small>({v.difficulty}, "
            f"{v.setting.replace('_', ' ')})</small>",
            f"<p><small>{html.escape(who)}. Presenting: "
            f"{html.escape(v.presenting_problem)}.</small></p>",
            f"<p>{html.escape(v.session_context)}</p>",
            f"<blockquote>Client: \u201c{html.escape(v.client_statement)}\u201d</blockquote>",
        ]
        if v.therapist_reaction:
            parts.append(
                f"<p><b>Inside the therapist:</b> <i>{html.escape(v.therapist_reaction)}</i></p>"
            )
        parts.append(f"<p><b>{html.escape(self.instructions)}</b></p></div>")
        return "".join(parts)

    def _repr_mimebundle_(self, **kwargs):
        bundle = _with_fallback(super()._repr_mimebundle_(**kwargs), self.as_text())
        return static_items.site_bundle(self, bundle)

    def _ipython_display_(self) -> None:
        _display_live(self, self.as_text())

    def as_text(self) -> str:
        """The item as plain text: what a reader sees where widgets cannot render."""
        v = self.item
        lines = [
            f"[Interactive item {v.item_id}: open this notebook in JupyterLab or Jupyter Notebook "
            f"to answer it and see feedback. {HOW_TO_RUN}]",
            v.session_context,
            f'Client: "{v.client_statement}"',
        ]
        if v.therapist_reaction:
            lines.append(f"Inside the therapist: {v.therapist_reaction}")
        lines.append(self.instructions)
        lines += [f"({r.letter}) {r.text}" for r in v.responses]
        saved = {task: self._answer(task) for task in self._tasks()}
        saved = {task: value for task, value in saved.items() if value is not None}
        if saved:
            lines.append(
                "Your saved answer: "
                + "; ".join(f"{t}: {_plain_answer(a)}" for t, a in saved.items())
            )
        return "\n".join(lines)


def _plain_answer(answer) -> str:
    if isinstance(answer, dict) and "text" in answer:
        return answer["text"]
    if isinstance(answer, dict):
        return ", ".join(f"{k} {v}" for k, v in answer.items())
    return str(answer)


def _with_fallback(bundle: dict, text: str) -> dict:
    """Add plain-text and HTML fallbacks for places that cannot render a live widget.

    At nbgrader autograde the live view is left out altogether: the graded notebook and the
    feedback made from it are read without a kernel, where only the text can show.
    """
    bundle.update(_fallback_bundle(text))
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        bundle.pop("application/vnd.jupyter.widget-view+json", None)
    return bundle


def _fallback_bundle(text: str) -> dict:
    return {
        "text/plain": text,
        "text/html": (
            f"{_FALLBACK_STYLE}<div class='dialectic-static' style='white-space: pre-wrap; "
            f"border: 1px dashed #999; padding: 0.5em; overflow-wrap: anywhere'>"
            f"{html.escape(text)}</div>"
        ),
    }


def _display_live(widget: widgets.DOMWidget, text: str) -> None:
    """Show a widget as two outputs: its text, then the live view.

    JupyterLab shows only the live view of an output that has one, and where the view's model
    is gone (a notebook saved with its outputs and reopened) that is "Error displaying widget:
    model not found". The text therefore goes in an output of its own, which the live view's
    style hides while the view renders, and which stays readable when it cannot.
    """
    from IPython.display import display

    if static_items.site_mode():  # the course website: a static form of the item, no live view
        display(widget._repr_mimebundle_(), raw=True)
        return
    display(_fallback_bundle(text), raw=True)
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        view = widgets.DOMWidget._repr_mimebundle_(widget)
        display(
            {
                "application/vnd.jupyter.widget-view+json": view[
                    "application/vnd.jupyter.widget-view+json"
                ]
            },
            raw=True,
        )


def _selector(options, description: str, **kwargs) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(
        options=options,
        index=None,
        description=description,
        style={"description_width": "initial", "button_width": "auto"},
        **kwargs,
    )


class Vignette:
    """A vignette shown as static text, e.g. above a written answer that is graded by hand."""

    def __init__(self, item_id: str, *, bank: ItemBank | None = None):
        self.item = (bank or load_bank()).item(item_id)

    def _repr_html_(self) -> str:
        v = self.item
        reaction = (
            f"<p><b>Inside the therapist:</b> <i>{html.escape(v.therapist_reaction)}</i></p>"
            if v.therapist_reaction
            else ""
        )
        return (
            f"{_STYLE}<div class='dialectic-item'><b>Vignette {v.item_id}</b><p><small>"
            f"{html.escape(f'{v.client_age}-year-old {v.client_gender}'.replace('_', ' '))}; "
            f"{html.escape(v.client_background)}. Presenting: {html.escape(v.presenting_problem)}."
            f"</small></p><p>{html.escape(v.session_context)}</p><blockquote>Client: \u201c"
            f"{html.escape(v.client_statement)}\u201d</blockquote>{reaction}</div>"
        )

    def __repr__(self) -> str:
        v = self.item
        return f'Vignette {v.item_id}: {v.session_context}\nClient: "{v.client_statement}"'


class SpectrumItem(_Item):
    """Place each candidate response on the collusion - attuned - confrontation spectrum."""

    task = "spectrum"
    instructions = "Place each response on the spectrum from collusive to confrontational."

    def _build_controls(self):
        self.placements = {}
        rows = []
        for r in self.item.responses:
            toggle = _selector(SPECTRUM_OPTIONS, "", tooltips=SPECTRUM_TIPS)
            toggle.add_class(f"dialectic-spectrum-{r.letter}")
            self.placements[r.response_id] = toggle
            rows.append(
                widgets.HTML(
                    f"<p aria-label='Response {r.letter}'><b>"
                    f"({r.letter})</b> {html.escape(r.text)}</p>"
                )
            )
            rows.append(toggle)
        return rows

    def _controls(self):
        return list(self.placements.values())

    def _restore(self, saved):
        for response_id, position in (saved.get("spectrum") or {}).items():
            if response_id in self.placements:
                self.placements[response_id].value = position

    def _observe(self):
        for toggle in self.placements.values():
            toggle.observe(lambda change: self._save("spectrum"), names="value")

    def _answer(self, task):
        placed = {rid: t.value for rid, t in self.placements.items() if t.value is not None}
        return placed or None

    def _feedback_html(self):
        placed = self._answer("spectrum")
        if not placed:
            return ""
        result = score(self.item.item_id, "spectrum", placed, bank=self.bank)
        lines = [html.escape(result.details["feedback"][rid]) for rid in placed]
        remaining = len(self.item.responses) - len(placed)
        if remaining:
            lines.append(f"<i>{remaining} more to place.</i>")
        return self._score_box(result, "<br>".join(lines), partial=bool(remaining))


class ChoiceItem(_Item):
    """Choose the best of the candidate responses."""

    task = "choose"
    instructions = (
        "Which response best resonates with the client while helping regulate the moment?"
    )

    def _build_controls(self):
        self.choice = widgets.RadioButtons(
            options=[(f"({r.letter}) {r.text}", r.response_id) for r in self.item.responses],
            index=None,
            description="Your choice:",
            layout=_FULL_WIDTH,
            style={"description_width": "initial"},
        )
        self.choice.add_class("dialectic-choice")
        return [self.choice]

    def _controls(self):
        return [self.choice]

    def _restore(self, saved):
        if saved.get("choose"):
            self.choice.value = saved["choose"]

    def _observe(self):
        self.choice.observe(lambda change: self._save("choose"), names="value")

    def _answer(self, task):
        return self.choice.value

    def _feedback_html(self):
        if self.choice.value is None:
            return ""
        result = score(self.item.item_id, "choose", self.choice.value, bank=self.bank)
        return self._score_box(result, html.escape(result.feedback))


class MarkerItem(_Item):
    """Name the rupture (withdrawal or confrontation) and its 3RS marker."""

    task = "marker"
    instructions = "Is there an alliance rupture? If so, which kind, and which 3RS marker shows it?"

    def _build_controls(self):
        self.kind = _selector(RUPTURE_OPTIONS, "Rupture:")
        self.marker = widgets.Dropdown(
            options=[(MARKER_PROMPT[None], "")],
            value="",
            description="3RS marker:",
            style={"description_width": "initial"},
            disabled=True,
        )
        return [self.kind, self.marker]

    def _controls(self):
        return [self.kind, self.marker]

    def _set_markers(self, kind):
        choices = [(m.replace("_", " "), m) for m in MARKER_CHOICES.get(kind, ())]
        prompt = [] if kind == "none" else [(MARKER_PROMPT[kind], "")]
        self.marker.options = prompt + choices
        self.marker.value = "none" if kind == "none" else ""
        self.marker.disabled = kind in (None, "none")

    def _restore(self, saved):
        answer = saved.get("marker")
        if answer:
            self.kind.value = answer["rupture_type"]
            self._set_markers(answer["rupture_type"])
            self.marker.value = answer["marker"]

    def _observe(self):
        def kind_changed(change):
            self._set_markers(change["new"])
            self._save("marker")

        self.kind.observe(kind_changed, names="value")
        self.marker.observe(lambda change: self._save("marker"), names="value")

    def _answer(self, task):
        if self.kind.value is None or not self.marker.value:
            return None
        return {"rupture_type": self.kind.value, "marker": self.marker.value}

    def _feedback_html(self):
        answer = self._answer("marker")
        if answer is None:
            return ""
        result = score(self.item.item_id, "marker", answer, bank=self.bank)
        return self._score_box(result, html.escape(result.feedback))


class PatternItem(ChoiceItem):
    """Recognise the therapist's attachment state from their inner reaction,
    then choose a next step."""

    task = "pattern"
    instructions = (
        "What state of mind is stirring in the therapist, and which next step co-regulates best?"
    )

    def __init__(self, item_id: str, **kwargs):
        super().__init__(item_id, **kwargs)
        if not self.item.therapist_reaction:
            raise GraderError(f"{item_id} is not an attachment item; use ChoiceItem for it.")

    def _build_controls(self):
        self.pattern = _selector([(p, p) for p in PATTERNS], "The therapist's state:")
        return [self.pattern, *super()._build_controls()]

    def _controls(self):
        return [self.pattern, self.choice]

    def _tasks(self):
        return ("pattern", "choose")

    def _restore(self, saved):
        super()._restore(saved)
        if saved.get("pattern"):
            self.pattern.value = saved["pattern"]

    def _observe(self):
        super()._observe()
        self.pattern.observe(lambda change: self._save("pattern"), names="value")

    def _answer(self, task):
        return self.pattern.value if task == "pattern" else self.choice.value

    def _feedback_html(self):
        parts = []
        if self.pattern.value is not None:
            result = score(self.item.item_id, "pattern", self.pattern.value, bank=self.bank)
            parts.append(
                self._score_box(
                    result,
                    html.escape(result.feedback)
                    + " <small>A state activated in a moment, not a diagnosis.</small>",
                )
            )
        if self.choice.value is not None:
            parts.append(super()._feedback_html())
        return "".join(parts)


class ComposeItem(_Item):
    """Write what you would say, rate it on the rubric, see the rater's formative reading,
    compare."""

    task = "compose"
    instructions = "Write what you would say to this client, then rate your response on the rubric."

    def _build_controls(self):
        self.text = widgets.Textarea(
            placeholder="What would you say?",
            description="Your response:",
            layout=widgets.Layout(width="100%", height="7em"),
            style={"description_width": "initial"},
        )
        self.ratings = {
            c.key: _selector(
                [(str(n), n) for n in range(1, 6)], f"{c.title}:", tooltips=list(c.anchors)
            )
            for c in rubric.CRITERIA
        }
        self.save_button = widgets.Button(
            description="Save my response",
            button_style="primary",
            tooltip="Save your response and self-ratings",
        )
        self.save_button.on_click(lambda _: self._save("compose"))
        return [
            self.text,
            widgets.HTML(rubric.as_html()),
            *self.ratings.values(),
            self.save_button,
            self._reading_controls(),
        ]

    def _reading_controls(self) -> widgets.VBox:
        """The rater's reading and the learner's answer to it, shown once a response is saved."""
        self.reading, self.reading_summary = widgets.HTML(layout=_FULL_WIDTH), None
        self.disagreement = widgets.Textarea(
            placeholder="Do you read your response differently from the rater? Say where and why.",
            description="Your view:",
            layout=widgets.Layout(width="100%", height="4em"),
            style={"description_width": "initial"},
        )
        self.view_button = widgets.Button(
            description="Save my view", tooltip="Save your view with your response"
        )
        self.view_button.on_click(lambda _: self._save("compose"))
        self.reading_box = widgets.VBox(
            [self.reading, self.disagreement, self.view_button],
            layout=widgets.Layout(width="100%", display="none"),
        )
        self.reading_box.add_class("dialectic-reading-box")
        return self.reading_box

    def _controls(self):
        return [
            self.text,
            *self.ratings.values(),
            self.save_button,
            self.disagreement,
            self.view_button,
        ]

    def _restore(self, saved):
        answer = saved.get("compose")
        if answer:
            self.text.value = answer["text"]
            self.disagreement.value = answer.get("disagreement", "")
            for key, level in answer.get("self_rating", {}).items():
                if key in self.ratings:
                    self.ratings[key].value = level
            if answer.get("rater"):
                self._read()

    def _observe(self):
        pass  # saved by the button: half-typed text is not an answer

    def _save(self, task):
        if not self.text.value.strip():
            self.status.value = "<small>Write a response before saving.</small>"
            return
        self._read()
        super()._save(task)

    def _read(self) -> None:
        """The formative reading of the text, in practice mode only (assessment is graded later)."""
        if self.mode != "practice":
            return
        from grader.rater import load_rater
        from grader.rater_view import reading_html, summary

        try:
            reading = load_rater(self.bank).rate(self.item.item_id, self.text.value)
        except GraderError as exc:
            self.reading.value = (
                f"<div class='dialectic-error' role='alert'>{html.escape(str(exc))}</div>"
            )
            self.reading_summary = None
        else:
            self.reading.value, self.reading_summary = reading_html(reading), summary(reading)
        self.reading_box.layout.display = "flex"

    def _answer(self, task):
        if not self.text.value.strip():
            return None
        ratings = {k: t.value for k, t in self.ratings.items() if t.value is not None}
        answer = {"text": self.text.value, "self_rating": ratings}
        if self.reading_summary:
            answer["rater"] = self.reading_summary
        if self.disagreement.value.strip():
            answer["disagreement"] = self.disagreement.value
        return answer

    def _feedback_html(self):
        if not self.text.value.strip():
            return ""
        best = self.item.best
        return (
            "<div class='dialectic-feedback' role='status'><b>Compare with the keyed response</b> "
            f"({html.escape(position_label(0))}, Carkhuff level {best.carkhuff_level}):"
            f"<blockquote>{html.escape(best.text)}</blockquote>{html.escape(best.rationale)}</div>"
        )


class WriteFirstItem(ComposeItem):
    """Write first, then compare: the candidates stay hidden until the learner has written."""

    instructions = (
        "Before you see any candidate responses, write what you would say. Then see the "
        "rater's formative reading and the keyed candidates."
    )

    def _build_controls(self):
        controls = super()._build_controls()
        self.ratings = {}
        self.save_button.description = "Save and compare"
        return [self.text, self.save_button, controls[-1]]

    def _feedback_html(self):
        if not self.text.value.strip():
            return ""
        rows = "".join(
            f"<li><b>({r.letter}) {html.escape(position_label(r.spectrum_position))}</b>"
            f"{' - the keyed best' if r == self.item.best else ''}: <i>"
            f"\u201c{html.escape(r.text)}\u201d</i><br>{html.escape(r.rationale)}</li>"
            for r in self.item.responses
        )
        return (
            "<div class='dialectic-feedback' role='status'><b>Now compare: the keyed "
            f"candidates</b><ul>{rows}</ul></div>"
        )


class Reflection(widgets.VBox):
    """A free-text reflection prompt whose answer is saved and restored."""

    def __init__(self, prompt_id: str, prompt: str, *, directory=None):
        self.prompt_id, self.prompt = prompt_id, prompt
        self.store = AnswerStore(directory)
        self.text = widgets.Textarea(
            placeholder="Write your reflection...",
            description="Reflection:",
            layout=widgets.Layout(width="100%", height="8em"),
            style={"description_width": "initial"},
        )
        self.save_button = widgets.Button(description="Save reflection", button_style="primary")
        self.status = widgets.HTML()
        super().__init__(
            [
                widgets.HTML(
                    _STYLE + f"<div class='dialectic-item'><b>Reflection.</b> "
                    f"{html.escape(prompt)}</div>"
                ),
                self.text,
                self.save_button,
                self.status,
            ],
            layout=_FULL_WIDTH,
        )
        self.add_class("dialectic-live")
        try:
            saved = self.store.reflection(prompt_id)
        except AnswerStoreError as exc:
            self.status.value = (
                f"<div class='dialectic-error' role='alert'>{html.escape(str(exc))}</div>"
            )
            self.text.disabled = self.save_button.disabled = True
            saved = None
        if saved:
            self.text.value = saved
            self.status.value = "<small>Your earlier reflection is restored.</small>"
        self.save_button.on_click(lambda _: self.save())

    def save(self) -> None:
        try:
            self.store.record_reflection(self.prompt_id, self.text.value)
        except AnswerStoreError as exc:
            self.status.value = (
                f"<div class='dialectic-error' role='alert'>{html.escape(str(exc))}</div>"
            )
            return
        self.status.value = f"<small>Saved to {html.escape(self.store.path.name)}.</small>"

    def _repr_mimebundle_(self, **kwargs):
        bundle = _with_fallback(super()._repr_mimebundle_(**kwargs), self.as_text())
        return static_items.site_bundle(self, bundle)

    def _ipython_display_(self) -> None:
        _display_live(self, self.as_text())

    def as_text(self) -> str:
        """The prompt as plain text, with the reflection saved so far."""
        lines = [
            f"[Reflection {self.prompt_id}: open this notebook in JupyterLab or Jupyter Notebook "
            f"to write and save it. {HOW_TO_RUN}]",
            self.prompt,
        ]
        if self.text.value.strip():
            lines.append(f"Your saved reflection: {self.text.value}")
        return "\n".join(lines)


class PhysiologyExplorer:
    """A dyad's physiology: pick a signal, drag over the overview to select a time window.

    The chart is shown through an IPython display handle and redrawn in place when the
    signal changes. (An ``ipywidgets.Output`` would do the same in a browser, but headless
    runners such as nbclient stall on it until the cell times out: jupyter/nbclient#312.)
    """

    def __init__(self, dyad_id: str, *, signal: str = "scl"):
        from grader import physiology

        # altair now, not first inside IPython's display call, where its import takes
        # seconds longer in a kernel
        charts.alt.Chart  # noqa: B018 (the read imports it)

        self.data = physiology.load()
        known = self.data.dyads["dyad_id"].tolist()
        if dyad_id not in known:
            raise GraderError(f"No dyad {dyad_id!r}; dyads are {', '.join(known)}.")
        self.dyad_id = dyad_id
        self._charts = charts
        self.signal = widgets.ToggleButtons(
            options=[("skin conductance", "scl"), ("heart rate", "hr")],
            value=signal,
            description="Signal:",
            style={"description_width": "initial"},
        )
        self.signal.observe(lambda change: self._redraw(), names="value")
        self._handle = None

    def chart(self):
        return self._charts.synchrony_explorer(self.data, self.dyad_id, signal=self.signal.value)

    def intro_html(self) -> str:
        dyad = self.data.dyads.set_index("dyad_id").loc[self.dyad_id]
        return (
            f"<p><b>Dyad {html.escape(self.dyad_id)}</b> "
            f"({html.escape(str(dyad['therapist_style']))} therapist): "
            f"{html.escape(str(dyad['description']))} Drag across the top panel to choose a time "
            "window; the lower panels show it in detail.</p>"
        )

    def _redraw(self) -> None:
        if self._handle is not None:
            self._handle.update(self.chart())

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(_STYLE + self.intro_html()))
        self.signal.add_class("dialectic-live")
        _display_live(
            self.signal,
            f"[Signal: {self.signal.label}. {HOW_TO_RUN.replace('answer it', 'switch it')}]",
        )
        self._handle = display(self.chart(), display_id=True)


class NextItems(widgets.VBox):
    """The practice items suggested next by :func:`grader.progress.suggestions`, ready to answer."""

    def __init__(self, *, per_area: int = 1, directory=None, bank: ItemBank | None = None):
        from grader import progress

        bank = bank or load_bank()
        try:
            results = progress.practice_results(directory, bank)
        except AnswerStoreError as exc:
            super().__init__(
                [
                    widgets.HTML(
                        f"<div class='dialectic-error' role='alert'>{html.escape(str(exc))}</div>"
                    )
                ]
            )
            self._text = str(exc)
            self.add_class("dialectic-live")
            return
        chosen = progress.suggestions(results, bank, per_area=per_area)
        children: list[widgets.Widget] = [widgets.HTML(_STYLE)]
        for row in chosen.itertuples():
            kind = PatternItem if bank.item(row.item_id).therapist_reaction else ChoiceItem
            children.append(
                widgets.HTML(
                    f"<h4>{html.escape(row.area.replace('_', ' '))}: "
                    f"{html.escape(row.difficulty)}</h4><p><small>Why this one: "
                    f"{html.escape(row.why)}.</small></p>"
                )
            )
            children.append(kind(row.item_id, directory=directory, bank=bank))
        if len(children) == 1:
            children.append(
                widgets.HTML("<p>You have answered every practice item. Well done.</p>")
            )
        self._text = "\n\n".join(item.as_text() for item in children if isinstance(item, _Item))
        super().__init__(children, layout=_FULL_WIDTH)
        self.add_class("dialectic-live")

    def _ipython_display_(self) -> None:
        _display_live(self, "[Suggested practice items. " + HOW_TO_RUN + "]\n\n" + self._text)
