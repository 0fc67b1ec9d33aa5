"""What a learner's choices say: where a chosen response sits, and which way many choices lean.

Beside :mod:`grader.scoring`, and as light as it: the learner's progress page
(:mod:`grader.progress`) and the instructor's analytics (:mod:`grader.analytics`) both
read choices through these two rules, so a lean means the same thing to a learner and to
their instructor, and the analytics need neither the charts nor altair to read one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from grader.errors import GraderError
from grader.itembank import ItemBank

#: A choose answer's keyed place: the chosen response's spectrum position and map coordinates.
CHOSEN_FIELDS = ("chosen_position", "chosen_resonance", "chosen_regulation")
#: Choices needed before a lean toward collusion or confrontation is reported.
MIN_CHOICES_FOR_TENDENCY = 6
#: Mean chosen position beyond which the choices are said to lean one way.
LEAN_THRESHOLD = 0.35


def chosen_fields(bank: ItemBank, item_id: str, task: str, value) -> dict[str, int | None]:
    """The keyed place of the response chosen in a choose answer, as :data:`CHOSEN_FIELDS`.

    Every field is None for another task, an item or response the bank does not have, or a
    response whose keys this edition of the bank leaves blank.
    """
    fields = dict.fromkeys(CHOSEN_FIELDS)
    if task != "choose" or not isinstance(value, str) or item_id not in bank:
        return fields
    try:
        chosen = bank.item(item_id).response(value)
    except GraderError:
        return fields
    fields.update(
        chosen_position=chosen.spectrum_position,
        chosen_resonance=chosen.resonance,
        chosen_regulation=chosen.regulation,
    )
    return fields


def lean(positions: Iterable) -> tuple[float | None, int, str]:
    """Mean chosen spectrum position, how many choices it rests on, and its label.

    Missing positions (None, NaN) are left out. The label is "not enough data" below
    MIN_CHOICES_FOR_TENDENCY choices, else "leans collusive", "leans confrontational" or
    "balanced".
    """
    chosen = [float(p) for p in positions if not _missing(p)]
    n = len(chosen)
    if n < MIN_CHOICES_FOR_TENDENCY:
        return None, n, "not enough data"
    mean = sum(chosen) / n
    if mean <= -LEAN_THRESHOLD:
        return mean, n, "leans collusive"
    if mean >= LEAN_THRESHOLD:
        return mean, n, "leans confrontational"
    return mean, n, "balanced"


def _missing(position) -> bool:
    try:
        return math.isnan(float(position))
    except TypeError:  # None, or pandas' NA
        return True
