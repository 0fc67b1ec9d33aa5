"""Practice items as static HTML for the course website, with every answer's feedback precomputed.

The website has no kernel. When a course notebook is executed for the site (the site
build sets ``DIALECTIC_SITE=1``), each item shows itself as a plain HTML form instead of a
live widget (:func:`site_bundle`), and the site's script (``site_assets/dialectic-site.js``)
makes the form interactive. Scoring still lives only in :mod:`grader.scoring`:
:func:`feedback_table` scores every possible choice and placement of an item at build time,
and the page only looks the answer up.

Only practice items can be shown: an assessment item on a site page fails the build,
because the website is public and its files carry the feedback table.
"""

from __future__ import annotations

import html
import json
import os

from grader.errors import GraderError
from grader.itembank import MARKERS, PATTERNS, ItemBank, Vignette
from grader.scoring import PLACEMENT_CREDIT, position_label, score

#: Set to "1" by the site build: items render as static HTML forms.
SITE_ENV = "DIALECTIC_SITE"
#: Spectrum positions with the words the notebook's buttons show.
SPECTRUM_BUTTONS = [
    (-2, "strongly collusive"),
    (-1, "collusive"),
    (0, "attuned"),
    (1, "confrontational"),
    (2, "strongly confrontational"),
]
#: The tasks whose feedback each kind of item shows.
KIND_TASKS = {
    "ChoiceItem": ("choose",),
    "SpectrumItem": ("spectrum",),
    "MarkerItem": ("marker",),
    "PatternItem": ("pattern", "choose"),
    "ComposeItem": ("compose",),
    "WriteFirstItem": ("compose",),
}
RUPTURE_BUTTONS = [
    ("none", "no rupture"),
    ("withdrawal", "withdrawal"),
    ("confrontation", "confrontation"),
]


def site_mode() -> bool:
    """True while a notebook is executed for the website."""
    return os.environ.get(SITE_ENV) == "1"


def site_bundle(widget, bundle: dict) -> dict:
    """The display bundle of an item: unchanged, except in site mode, where it is a static form.

    Called from the widgets' ``_repr_mimebundle_``; ``widget`` is a bank item or a Reflection.
    """
    if not site_mode():
        return bundle
    return {"text/html": widget_html(widget), "text/plain": bundle.get("text/plain", "")}


def widget_html(widget) -> str:
    """The static form of an item widget or a reflection (see :func:`site_bundle`)."""
    kind = type(widget).__name__
    if kind == "Reflection":
        return reflection_html(widget.prompt_id, widget.prompt)
    if getattr(widget, "mode", None) != "practice":
        raise GraderError(
            f"Item {widget.item.item_id} is an assessment item; the public website "
            "may show practice items only."
        )
    builders = {
        "ChoiceItem": _choice_controls,
        "SpectrumItem": _spectrum_controls,
        "MarkerItem": _marker_controls,
        "PatternItem": _pattern_controls,
        "ComposeItem": _compose_controls,
        "WriteFirstItem": _write_first_controls,
    }
    if kind not in builders:
        raise GraderError(f"The website cannot show a {kind} yet.")
    item = widget.item
    table = feedback_table(item, widget.bank)
    shown = {task: table["tasks"][task] for task in KIND_TASKS[kind]}
    # "</" cannot end the script early: JSON escapes it as "<\/".
    data = json.dumps(shown, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return (
        f"<div class='dialectic-site-item' data-item='{item.item_id}' data-kind='{kind}'>"
        f"<script type='application/json' class='dialectic-feedback-table'>{data}</script>"
        f"{widget._vignette_html()}{builders[kind](item)}"
        "<div class='dialectic-status' aria-live='polite'></div>"
        "<div class='dialectic-feedback-area' aria-live='polite'></div></div>"
    )


def reflection_html(prompt_id: str, prompt: str) -> str:
    """A reflection: a text box and a save button, kept in the browser."""
    field = f"reflection-{prompt_id}"
    return (
        f"<div class='dialectic-site-reflection' data-prompt='{html.escape(prompt_id)}'>"
        f"<div class='dialectic-item'><b>Reflection.</b> {html.escape(prompt)}</div>"
        f"<label for='{field}' class='dialectic-label'>Reflection:</label>"
        f"<textarea id='{field}' rows='6' placeholder='Write your reflection...'></textarea>"
        "<button type='button' class='dialectic-button dialectic-primary'>Save reflection</button>"
        "<div class='dialectic-status' aria-live='polite'></div></div>"
    )


# -- controls, one builder per kind -------------------------------------------------------------
def _toggle_group(name: str, label: str, options, *, css: str = "") -> str:
    """A row of toggle buttons with radio-group semantics (arrow keys move the choice)."""
    buttons = "".join(
        "<button type='button' role='radio' aria-checked='false' tabindex='-1' "
        f"class='dialectic-toggle' data-value='{html.escape(json.dumps(value))}'>"
        f"{html.escape(text)}</button>"
        for value, text in options
    )
    label_id = f"{name}-label"
    return (
        f"<div class='dialectic-row {css}'><span class='dialectic-label' id='{label_id}'>"
        f"{html.escape(label)}</span><div role='radiogroup' class='dialectic-toggles' "
        f"data-name='{html.escape(name)}' aria-labelledby='{label_id}'>{buttons}</div></div>"
    )


def _spectrum_controls(item: Vignette) -> str:
    rows = []
    for r in item.responses:
        rows.append(f"<p class='dialectic-response'><b>({r.letter})</b> {html.escape(r.text)}</p>")
        rows.append(
            _toggle_group(
                f"{r.response_id}",
                f"Response ({r.letter}):",
                SPECTRUM_BUTTONS,
                css="dialectic-spectrum",
            )
        )
    return "".join(rows)


def _choice_controls(item: Vignette) -> str:
    name = f"{item.item_id}-choose"
    options = "".join(
        f"<label class='dialectic-radio'><input type='radio' name='{name}' "
        f"value='{r.response_id}'> ({r.letter}) {html.escape(r.text)}</label>"
        for r in item.responses
    )
    return (
        f"<fieldset class='dialectic-choice' data-name='choose'><legend class='dialectic-label'>"
        f"Your choice:</legend>{options}</fieldset>"
    )


def _marker_controls(item: Vignette) -> str:
    select_id = f"{item.item_id}-marker"
    return (
        _toggle_group(f"{item.item_id}-rupture", "Rupture:", RUPTURE_BUTTONS)
        + f"<div class='dialectic-row'><label class='dialectic-label' for='{select_id}'>3RS "
        f"marker:</label><select id='{select_id}' class='dialectic-marker' disabled><option "
        "value=''></option></select></div>"
    )


def _pattern_controls(item: Vignette) -> str:
    return _toggle_group(
        f"{item.item_id}-pattern", "The therapist's state:", [(p, p) for p in PATTERNS]
    ) + _choice_controls(item)


def _compose_controls(item: Vignette) -> str:
    from grader import rubric

    field = f"{item.item_id}-compose"
    ratings = "".join(
        _toggle_group(
            f"{item.item_id}-{c.key}",
            f"{c.title}:",
            [(n, str(n)) for n in range(1, 6)],
            css="dialectic-rating",
        )
        for c in rubric.CRITERIA
    )
    return (
        f"<label class='dialectic-label' for='{field}'>Your response:</label>"
        f"<textarea id='{field}' rows='5' placeholder='What would you say?'></textarea>"
        f"{rubric.as_html()}{ratings}"
        "<button type='button' class='dialectic-button dialectic-primary'>Save my response</button>"
    )


def _write_first_controls(item: Vignette) -> str:
    """Write first: the candidates stay hidden until the learner has written and saved."""
    field = f"{item.item_id}-compose"
    return (
        f"<label class='dialectic-label' for='{field}'>Your response:</label>"
        f"<textarea id='{field}' rows='5' placeholder='What would you say?'></textarea>"
        "<button type='button' class='dialectic-button dialectic-primary'>Save and compare</button>"
    )


# -- the feedback table ---------------------------------------------------------------------------
def feedback_table(item: Vignette, bank: ItemBank) -> dict:
    """Credit and feedback for every possible answer to every task of a practice item.

    The page looks answers up here; nothing is scored in the browser. A spectrum answer's
    credit is the mean of its placements' credits, so the table gives each placement's
    credit in half-points and the total for every possible number of half-points.
    """
    if item.split != "practice":
        raise GraderError(
            f"Item {item.item_id} is an assessment item; its keys stay off the website."
        )
    item_id = item.item_id
    tasks: dict = {}
    tasks["choose"] = {}
    for r in item.responses:
        entry = _entry(score(item_id, "choose", r.response_id, bank=bank))
        tasks["choose"][r.response_id] = {
            **entry,
            "position": r.spectrum_position,
            "resonance": r.resonance,
            "regulation": r.regulation,
        }
    tasks["spectrum"] = _spectrum_table(item, bank)
    if item.attachment_pattern is not None:
        tasks["pattern"] = {}
        for p in PATTERNS:
            tasks["pattern"][p] = _entry(score(item_id, "pattern", p, bank=bank))
    tasks["marker"] = {}
    for kind, markers in {"none": ("none",), **MARKERS}.items():
        for marker in markers:
            answer = {"rupture_type": kind, "marker": marker}
            tasks["marker"][f"{kind}/{marker}"] = _entry(
                score(item_id, "marker", answer, bank=bank)
            )
    best = item.best
    tasks["compose"] = {
        "best_letter": best.letter,
        "best_text": best.text,
        "rationale": best.rationale,
        "carkhuff_level": best.carkhuff_level,
        "candidates": [
            {
                "letter": r.letter,
                "position": position_label(r.spectrum_position),
                "text": r.text,
                "rationale": r.rationale,
                "best": r.response_id == best.response_id,
            }
            for r in item.responses
        ],
    }
    return {"area": item.area, "difficulty": item.difficulty, "tasks": tasks}


def _spectrum_table(item: Vignette, bank: ItemBank) -> dict:
    half_points = {credit: round(credit * 2) for credit in (*PLACEMENT_CREDIT.values(), 0.0)}
    placements = {}
    for r in item.responses:
        placements[r.response_id] = {}
        for position, _ in SPECTRUM_BUTTONS:
            result = score(item.item_id, "spectrum", {r.response_id: position}, bank=bank)
            credit = result.details["placements"][r.response_id]
            if credit not in half_points:
                raise GraderError(
                    f"A placement credit of {credit} cannot be looked up in half-points."
                )
            placements[r.response_id][str(position)] = {
                "half_points": half_points[credit],
                "feedback": result.details["feedback"][r.response_id],
            }
    # The total for every possible sum of half-points, scored as a whole answer with that sum.
    totals = {}
    for half in range(2 * len(item.responses) + 1):
        answer = {}
        for r in item.responses[: half // 2]:
            answer[r.response_id] = r.spectrum_position
        if half % 2:
            r = item.responses[half // 2]
            answer[r.response_id] = r.spectrum_position + (1 if r.spectrum_position < 2 else -1)
        totals[str(half)] = _entry(score(item.item_id, "spectrum", answer, bank=bank))
    return {"placements": placements, "totals": totals}


def _entry(result) -> dict:
    """What the page shows of a score: its credit, as the notebook words it, and the feedback."""
    return {
        "credit": result.credit,
        "percent": f"{result.credit:.0%}",
        "correct": result.correct,
        "feedback": result.feedback,
    }


def credit_table(table: dict) -> dict:
    """A feedback table without its words: what the progress page needs to score any answer."""
    tasks = table["tasks"]
    credits = {
        "choose": {
            rid: {k: e[k] for k in ("credit", "position", "resonance", "regulation")}
            for rid, e in tasks["choose"].items()
        },
        "spectrum": {
            "placements": {
                rid: {pos: e["half_points"] for pos, e in placements.items()}
                for rid, placements in tasks["spectrum"]["placements"].items()
            },
            "totals": {half: e["credit"] for half, e in tasks["spectrum"]["totals"].items()},
        },
        "marker": {key: e["credit"] for key, e in tasks["marker"].items()},
    }
    if "pattern" in tasks:
        credits["pattern"] = {p: e["credit"] for p, e in tasks["pattern"].items()}
    return {"area": table["area"], "difficulty": table["difficulty"], "tasks": credits}


def practice_data(bank: ItemBank) -> dict:
    """Every practice item's credits (no feedback words), with the progress rules,
    for the site's script."""
    from grader import answers, choices, progress
    from grader.itembank import AREAS, DIFFICULTIES, area_name

    order = bank.ids(split="practice")
    return {
        "schema_version": answers.SCHEMA_VERSION,
        "answer_tasks": list(answers.TASKS),
        "max_bytes": answers.MAX_BYTES,
        "max_text": answers.MAX_TEXT,
        "items": {
            item_id: credit_table(feedback_table(bank.item(item_id), bank)) for item_id in order
        },
        "practice_order": order,
        "markers": {"none": ["none"], **{kind: list(m) for kind, m in MARKERS.items()}},
        "areas": list(AREAS),
        "area_names": {area: area_name(area) for area in AREAS},
        "difficulties": list(DIFFICULTIES),
        "progress": {
            "min_choices": choices.MIN_CHOICES_FOR_TENDENCY,
            "lean_threshold": choices.LEAN_THRESHOLD,
            "recent_attempts": progress.RECENT_ATTEMPTS,
            "move_up_credit": progress.MOVE_UP_CREDIT,
            "lean_notes": progress.LEAN_NOTES,
        },
    }
