"""Scoring answers to bank items, with partial credit. The one place scoring lives.

Widgets (immediate feedback), nbgrader hidden tests (points) and the analytics all call
:func:`score`; nothing else re-implements these rules. The rules are written out for
people in ``datasets/item_bank/KEYING_RUBRIC.md`` ("Scoring").

Tasks and the answer each takes:

``choose``    the response id the learner judges best, e.g. ``"rw-014-c"``
``spectrum``  a mapping of each of the item's response ids to a position -2..2
``marker``    a mapping ``{"rupture_type": ..., "marker": ...}`` (3RS marker or ``"none"``)
``pattern``   the therapist's attachment pattern: secure, dismissing or preoccupied
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from grader.errors import AnswerError
from grader.itembank import MARKER_DESCRIPTIONS, MARKERS, PATTERNS, ItemBank, Vignette, load_bank

TASKS = ("choose", "spectrum", "marker", "pattern")

#: Credit for choosing a response that is not the keyed best, by its distance from attuned.
CHOICE_CREDIT = {0: 0.5, 1: 0.25, 2: 0.0}
#: Credit for placing one response on the spectrum, by how far the placement is from the key.
PLACEMENT_CREDIT = {0: 1.0, 1: 0.5}
#: Credit for naming the right kind of rupture but the wrong 3RS marker.
RUPTURE_TYPE_CREDIT = 0.25


@dataclass(frozen=True)
class Score:
    """The result of scoring one answer: credit in [0, 1] and the feedback to show."""

    item_id: str
    task: str
    credit: float
    max_points: float
    feedback: str
    """What the learner reads: what their answer means and why, from the keyed rationales."""
    expected: object
    """The keyed answer, in the same form as the task's answer."""
    details: dict = field(default_factory=dict)
    """Per-part results, e.g. the credit of each placement in a spectrum task."""

    @property
    def points(self) -> float:
        """Points awarded: ``credit * max_points``, rounded to hundredths."""
        return round(self.credit * self.max_points, 2)

    @property
    def correct(self) -> bool:
        return self.credit >= 1.0


def score(
    item_id: str, task: str, answer: object, *, points: float = 1.0, bank: ItemBank | None = None
) -> Score:
    """Score ``answer`` to ``task`` on item ``item_id``; ``points`` is the item's weight.

    Raises :class:`~grader.errors.AnswerError` when the answer does not fit the task, and
    :class:`~grader.errors.KeyUnavailableError` when the bank carries no key for the item.
    """
    bank = bank or load_bank()
    item = bank.item(item_id)
    item.require_keys()
    if task not in TASKS:
        raise AnswerError(f"Unknown task {task!r}; tasks are {', '.join(TASKS)}.")
    if points <= 0:
        raise AnswerError(f"points must be positive, not {points!r}")
    credit, feedback, expected, details = _SCORERS[task](item, answer)
    return Score(item_id, task, round(credit, 4), points, feedback, expected, details)


def _choose(item: Vignette, answer: object):
    if not isinstance(answer, str):
        raise AnswerError(
            f"A choose answer is a response id such as '{item.item_id}-a', not {answer!r}."
        )
    chosen = item.response(answer)
    best = item.best
    if chosen.response_id == best.response_id:
        credit = 1.0
        feedback = f"Yes: ({best.letter}) is the keyed best response. {best.rationale}"
    else:
        credit = CHOICE_CREDIT[abs(chosen.spectrum_position)]
        feedback = (
            f"You chose ({chosen.letter}): {chosen.rationale}{_safety(chosen)} "
            f"The keyed best response is ({best.letter}): {best.rationale}"
        )
    return credit, feedback, best.response_id, {"chosen_position": chosen.spectrum_position}


def _spectrum(item: Vignette, answer: object):
    if not isinstance(answer, Mapping):
        raise AnswerError("A spectrum answer maps each response id to a position from -2 to 2.")
    unknown = [k for k in answer if k not in {r.response_id for r in item.responses}]
    if unknown:
        item.response(unknown[0])  # raises with the item's real response ids
    per_response, lines = {}, {}
    for r in item.responses:
        placed = answer.get(r.response_id)
        if placed is not None and (isinstance(placed, bool) or placed not in (-2, -1, 0, 1, 2)):
            raise AnswerError(
                f"Position for {r.response_id} must be a whole number from -2 to 2, not {placed!r}."
            )
        if placed is None:
            per_response[r.response_id] = 0.0
            lines[r.response_id] = (
                f"({r.letter}) not placed; keyed {position_label(r.spectrum_position)}. "
                f"{r.rationale}{_safety(r)}"
            )
            continue
        credit = PLACEMENT_CREDIT.get(abs(placed - r.spectrum_position), 0.0)
        per_response[r.response_id] = credit
        verdict = "right" if credit == 1 else f"you placed it {position_label(placed)}"
        lines[r.response_id] = (
            f"({r.letter}) {position_label(r.spectrum_position)} - "
            f"{verdict}. {r.rationale}{_safety(r)}"
        )
    credit = sum(per_response.values()) / len(item.responses)
    expected = {r.response_id: r.spectrum_position for r in item.responses}
    details = {"placements": per_response, "feedback": lines}
    return credit, "\n".join(lines.values()), expected, details


def _marker(item: Vignette, answer: object):
    if not isinstance(answer, Mapping) or not {"rupture_type", "marker"} <= set(answer):
        raise AnswerError("A marker answer is {'rupture_type': ..., 'marker': ...}.")
    kind, marker = answer["rupture_type"], answer["marker"]
    if kind not in ("none", *MARKERS):
        raise AnswerError(f"rupture_type must be none, withdrawal or confrontation, not {kind!r}.")
    allowed = ("none",) if kind == "none" else MARKERS[kind]
    if marker not in allowed:
        raise AnswerError(f"{marker!r} is not a {kind} marker; choose one of {', '.join(allowed)}.")
    key_kind, key_marker = item.rupture_type, item.marker_3rs
    if kind == key_kind and marker == key_marker:
        credit = 1.0
    elif kind == key_kind:
        credit = RUPTURE_TYPE_CREDIT
    else:
        credit = 0.0
    if key_kind == "none":
        keyed = "no rupture marker"
    else:
        keyed = (
            f"a {key_kind} rupture, 3RS marker '{_words(key_marker)}': "
            f"{MARKER_DESCRIPTIONS[key_marker]}"
        )
    feedback = (
        f"Keyed: {keyed}."
        if credit == 1
        else f"You named {_words(marker)} ({kind}); keyed: {keyed}."
    )
    if key_kind != "none":
        feedback += f" {item.best.rationale}"
    return credit, feedback, {"rupture_type": key_kind, "marker": key_marker}, {}


def _pattern(item: Vignette, answer: object):
    if answer not in PATTERNS:
        raise AnswerError(f"A pattern answer is one of {', '.join(PATTERNS)}, not {answer!r}.")
    if item.attachment_pattern is None:
        raise AnswerError(
            f"Item {item.item_id} is not an attachment item; it has no pattern to recognise."
        )
    credit = 1.0 if answer == item.attachment_pattern else 0.0
    feedback = (
        f"Keyed: a {item.attachment_pattern} state of mind in the therapist's reaction."
        if credit
        else f"You named {answer}; the keyed pattern is {item.attachment_pattern}."
    )
    return credit, feedback, item.attachment_pattern, {}


_SCORERS = {"choose": _choose, "spectrum": _spectrum, "marker": _marker, "pattern": _pattern}


def position_label(position: int) -> str:
    """How a spectrum position reads to a learner, e.g. ``mildly collusive (-1)``."""
    return {
        -2: "strongly collusive (-2)",
        -1: "mildly collusive (-1)",
        0: "attuned (0)",
        1: "mildly confrontational (+1)",
        2: "strongly confrontational (+2)",
    }[position]


def _safety(response) -> str:
    """The response's safety note as a sentence to append to its feedback, or nothing."""
    return f" Unsafe with this client: {response.safety_note}" if response.safety_note else ""


def _words(snake: str) -> str:
    return snake.replace("_", " ")
