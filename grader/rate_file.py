"""``dialectic rate``: the formative rater over a CSV of written responses.

Reads rows of ``id,item_id,text`` and writes them back with the rater's reading:
``position`` (empty when unsure), ``p_-2`` ... ``p_+2``, ``carkhuff_level``, ``resonance``,
``regulation``, ``unsure`` (the reasons, empty when sure) and ``error``. A row the rater
cannot read (unknown item, empty text, text over 2,000 characters) keeps its place in the
output with the reason in ``error``; every other row is rated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.atomic_file import write_atomically
from grader.errors import GraderError, Problem
from grader.rater import POSITIONS, RaterInputError, load_rater

IN_COLUMNS = ("id", "item_id", "text")
OUT_COLUMNS = (
    *IN_COLUMNS,
    "position",
    *(f"p_{p:+d}".replace("+0", "0") for p in POSITIONS),
    "carkhuff_level",
    "resonance",
    "regulation",
    "unsure",
    "error",
)


@dataclass
class RateReport:
    rows: int = 0
    rated: int = 0
    unsure: int = 0
    problems: list[Problem] = field(default_factory=list)


def rate_file(
    in_path: Path | str, out_path: Path | str, progress: Callable[[int, int], None] | None = None
) -> RateReport:
    """Rate every row of ``in_path`` into ``out_path``; bad rows are reported, not fatal."""
    in_path, out_path = Path(in_path), Path(out_path)
    rows = _read(in_path)
    rater = load_rater()
    report = RateReport(rows=len(rows))
    out = []
    for n, row in enumerate(rows, start=1):
        result = dict.fromkeys(OUT_COLUMNS, "")
        result.update({k: row.get(k) or "" for k in IN_COLUMNS})
        try:
            reading = rater.rate(result["item_id"].strip(), result["text"])
        except RaterInputError as exc:
            result["error"] = str(exc)
            report.problems.append(
                Problem(str(in_path), str(exc), row=n, item_id=result["item_id"] or None)
            )
        else:
            report.rated += 1
            report.unsure += reading.unsure
            result["position"] = "" if reading.position is None else reading.position
            for p, column in zip(POSITIONS, OUT_COLUMNS[4:9], strict=True):
                result[column] = f"{reading.probabilities[p]:.4f}"
            result.update(
                carkhuff_level=reading.carkhuff_level,
                resonance=reading.resonance,
                regulation=reading.regulation,
                unsure="; ".join(reading.unsure_reasons),
            )
        out.append(result)
        if progress:
            progress(n, len(rows))
    text = io.StringIO()
    writer = csv.DictWriter(text, OUT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(out)
    # in one step: a crash or Ctrl-C never leaves half a file where the readings should be
    write_atomically(out_path, text.getvalue())
    return report


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in IN_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise GraderError(
                    f"{path}: has no column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}; the rater needs the columns {', '.join(IN_COLUMNS)} "
                    f"(found: {', '.join(reader.fieldnames or []) or 'nothing'})."
                )
            return list(reader)
    except FileNotFoundError:
        raise GraderError(f"{path}: does not exist.") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GraderError(f"{path}: cannot be read as a UTF-8 CSV file ({exc}).") from exc
