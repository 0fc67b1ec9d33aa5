"""The exemplar corpus: trainee-style keyed responses that train the formative rater.

    >>> from grader.exemplars import load_exemplars
    >>> vignettes, responses = load_exemplars()

Both tables are checked against their data dictionaries, then against the bank's keying
rules (``datasets/item_bank/KEYING_RUBRIC.md`` sections 2 and 3) and against the rule that
keeps assessment keys out of the rater: an exemplar answers an exemplar vignette or a
*practice* item of the bank, never an assessment item.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from grader import paths
from grader.dictionary import load_dictionary, read_table
from grader.errors import DataValidationError, Problem
from grader.itembank import ItemBank, load_bank


def exemplars_dir() -> Path:
    return paths.datasets_dir() / "exemplars"


def load_exemplars(
    directory: Path | None = None, bank: ItemBank | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The exemplar vignettes and responses, validated; raises DataValidationError."""
    directory = Path(directory) if directory is not None else exemplars_dir()
    bank = bank or load_bank()
    vdict = load_dictionary(directory / "vignettes.schema.yaml")
    rdict = load_dictionary(directory / "responses.schema.yaml")
    vignettes = read_table(directory / vdict.file, vdict)
    responses = read_table(directory / rdict.file, rdict)
    source = str(directory / rdict.file)
    known = set(vignettes["vignette_id"])
    problems: list[Problem] = []
    for row, r in enumerate(responses.itertuples(index=False), start=1):
        vid = r.vignette_id
        if vid.startswith("ex-"):
            if vid not in known:
                problems.append(
                    Problem(
                        source,
                        f"names exemplar vignette {vid!r}, which is not in vignettes.csv",
                        row,
                        "vignette_id",
                    )
                )
        elif vid not in bank:
            problems.append(
                Problem(
                    source, f"names item {vid!r}, which is not in the item bank", row, "vignette_id"
                )
            )
        elif bank.item(vid).split != "practice":
            problems.append(
                Problem(
                    source,
                    f"answers assessment item {vid}: exemplars may answer only "
                    "practice items, so the rater never learns assessment keys",
                    row,
                    "vignette_id",
                )
            )
        attuned = r.spectrum_position == 0
        if attuned and r.carkhuff_level < 3:
            problems.append(
                Problem(
                    source,
                    "an attuned response (position 0) must be Carkhuff level 3-5",
                    row,
                    "carkhuff_level",
                )
            )
        if not attuned and r.carkhuff_level > 2:
            problems.append(
                Problem(
                    source,
                    "a response off the attuned point must be Carkhuff level 1-2",
                    row,
                    "carkhuff_level",
                )
            )
        if attuned and min(r.resonance, r.regulation) < 3:
            problems.append(
                Problem(
                    source,
                    "an attuned response needs resonance and regulation of at least 3",
                    row,
                    "resonance",
                )
            )
    if problems:
        raise DataValidationError(problems)
    return vignettes, responses
