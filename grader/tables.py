"""The instructor's tables as a person reads them: worded column labels, formatted numbers.

Each table is a list of :class:`Column`: a label and how to write one row's cell. The
report (:mod:`grader.report`) and the instructor dashboard show the same tables, so they
read the same. To add a column, add a :class:`Column` to the table's list, e.g. to
:data:`ITEM_COLUMNS`::

    ITEM_COLUMNS.append(Column("Reviewed", lambda row: row["review_status"]))

Scores follow :mod:`grader.hand_grading`: percentages are over graded points, and answers
awaiting hand grading are counted beside them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from grader.hand_grading import AWAITING_HAND_GRADING
from grader.itembank import AREAS, area_name
from grader.rubric import CRITERIA

#: Styles for these tables; the report and the dashboard both include them.
CSS = """
table.dialectic-table {border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0;
  max-width: 100%;}
table.dialectic-table th, table.dialectic-table td {border: 1px solid #ccc; padding: 0.25em 0.35em;
  text-align: left; vertical-align: top; overflow-wrap: normal; word-break: normal;
  hyphens: manual;}
table.dialectic-table th {background: #eef2f7; font-weight: 600;}
table.dialectic-table td.number {text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; width: 1%;}
table.dialectic-table td.nowrap {white-space: nowrap;}
table.dialectic-table td.prose {min-width: 7.5em;}
table.dialectic-table tr.flagged td {background: #fff4e5;}
table.dialectic-table .line {display: block;}
"""

MISSING = "–"


@dataclass(frozen=True)
class Column:
    """One column: its label and how to write a row's cell (a text, or several lines)."""

    label: str
    cell: Callable[[Mapping], str | Sequence[str]]
    numeric: bool = False
    """Right-aligned and never wrapped."""
    nowrap: bool = False
    """Kept on one line (short codes such as item ids)."""
    prose: bool = False
    """Sentences: given room enough to read (at least 7.5em)."""


@dataclass(frozen=True)
class Table:
    """A rendered table; shows itself in a notebook."""

    html: str
    rows: int

    def _repr_html_(self) -> str:
        return f"<style>{CSS}</style>{self.html}"


def render(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    name: str,
    *,
    flagged: Callable[[Mapping], bool] | None = None,
    caption: str | None = None,
) -> Table:
    """An HTML table of ``frame`` with one cell per column per row."""
    head = "".join(f"<th scope='col'>{html.escape(c.label)}</th>" for c in columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column in columns:
            value = column.cell(record)
            lines = [value] if isinstance(value, str) else list(value)
            text = "".join(
                f"<span class='line'>{html.escape(line)}</span>"
                if len(lines) > 1
                else html.escape(line)
                for line in lines
            )
            kind = (
                " class='number'"
                if column.numeric
                else " class='nowrap'"
                if column.nowrap
                else " class='prose'"
                if column.prose
                else ""
            )
            cells.append(f"<td{kind}>{text}</td>")
        marked = " class='flagged'" if flagged and flagged(record) else ""
        rows.append(f"<tr{marked}>{''.join(cells)}</tr>")
    top = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return Table(
        f"<table class='dialectic-table' data-table='{name}'>{top}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>",
        len(rows),
    )


# -- how numbers are written ------------------------------------------------------------------


def _review(row: Mapping) -> list[str]:
    """The key's review status, and the panel's figures when a panel reviewed it."""
    status = row.get("review")
    if missing(status):
        return []
    if missing(row.get("panel")):
        return [str(status)]
    return [
        str(status),
        f"panel of {whole(row['panel'])}",
        f"I-CVI {decimal(row.get('panel I-CVI'))}",
        f"key agreement {percent(row.get('panel key agreement'))}",
    ]


def frame_table(frame: pd.DataFrame, name: str, *, flagged: str | None = None) -> str:
    """Any frame as a table in this module's style, its column names as headers (for reports
    whose columns are already worded, such as the item review's)."""
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column in frame.columns:
            value = record[column]
            numeric = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and not missing(value)
            )
            text = (
                "" if missing(value) else decimal(value) if isinstance(value, float) else str(value)
            )
            kind = ' class="number"' if numeric else ""
            cells.append(f"<td{kind}>{html.escape(text)}</td>")
        marked = " class='flagged'" if flagged and record.get(flagged) else ""
        rows.append(f"<tr{marked}>{''.join(cells)}</tr>")
    return (
        f"<table class='dialectic-table' data-table='{name}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def missing(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value)))


def percent(value) -> str:
    return MISSING if missing(value) else f"{value:.0%}"


def decimal(value, places: int = 2) -> str:
    """A signed figure with a true minus sign: "−0.12", "0.45"."""
    return MISSING if missing(value) else f"{value:.{places}f}".replace("-", "−")


def whole(value) -> str:
    return MISSING if missing(value) else f"{int(value):,}"


def _lines(text) -> list[str]:
    return [part for part in str(text or "").split("; ") if part] or [""]


# -- the cohort ------------------------------------------------------------------------------


def _awaiting(row: Mapping) -> str:
    return whole(row.get("awaiting", 0)) if row.get("awaiting", 0) else "none"


def _graded_points(row: Mapping) -> str:
    return f"{decimal(row['score'], 0)} of {decimal(row['max_score'], 0)}"


SUPPORT_COLUMNS = [
    Column("Student", lambda row: str(row["student_id"]), nowrap=True),
    Column("Score (share of graded points)", lambda row: percent(row["overall"]), numeric=True),
    Column("Points scored of those graded", _graded_points, numeric=True),
    Column(f"Answers {AWAITING_HAND_GRADING}", _awaiting, numeric=True),
    Column("Assignments submitted", lambda row: whole(row["assignments_submitted"]), numeric=True),
    Column("Lean of choices", lambda row: str(row["lean"])),
    Column("Why flagged", lambda row: _lines(row["support"]), prose=True),
]


def _lean(row: Mapping) -> list[str]:
    n = int(row.get("lean_choices") or 0)
    basis = f"{n} choice" if n == 1 else f"{n} choices"
    if missing(row.get("lean_mean")):
        return [str(row["lean"]), basis]
    return [str(row["lean"]), f"mean {decimal(row['lean_mean'])}", basis]


def _map(row: Mapping) -> str:
    if missing(row["map_resonance"]) and missing(row["map_regulation"]):
        return MISSING
    return f"{decimal(row['map_resonance'])}, {decimal(row['map_regulation'])}"


def profile_columns(frame: pd.DataFrame) -> list[Column]:
    """The competency-profile columns, one per content area present."""
    areas = [a for a in AREAS if f"area_{a}" in frame.columns]
    return [
        Column("Student", lambda row: str(row["student_id"]), nowrap=True),
        Column("Score (share of graded points)", lambda row: percent(row["overall"]), numeric=True),
        Column(f"Answers {AWAITING_HAND_GRADING}", _awaiting, numeric=True),
        *[
            Column(area_name(a), lambda row, a=a: percent(row[f"area_{a}"]), numeric=True)
            for a in areas
        ],
        Column("Map: resonance, regulation", _map, numeric=True),
        Column("Lean of choices", _lean, prose=True),
        Column(
            "Support",
            lambda row: _lines(row["support"]) if row["support"] else "no flag",
            prose=True,
        ),
    ]


# -- items -----------------------------------------------------------------------------------

#: Put before :data:`ITEM_COLUMNS` when one table holds several assignments.
ASSIGNMENT_COLUMN = Column("Assignment", lambda row: str(row["assignment"]))

ITEM_COLUMNS = [
    Column("Item", lambda row: [str(row["item_id"]), str(row["task"])], nowrap=True),
    Column("Area", lambda row: area_name(str(row["area"]))),
    Column("Level", lambda row: str(row["difficulty"])),
    Column("Students", lambda row: whole(row["n"]), numeric=True),
    Column("Mean credit", lambda row: decimal(row["p"]), numeric=True),
    Column("Discrimination", lambda row: decimal(row["discrimination"]), numeric=True),
    # review status, from analytics.with_review_status (absent when the item analysis has none)
    Column("Review", lambda row: _review(row), prose=True),
    Column("Upper 27%", lambda row: percent(row["upper_p"]), numeric=True),
    Column("Lower 27%", lambda row: percent(row["lower_p"]), numeric=True),
    Column(
        "Options chosen (key or spectrum position): upper, lower 27%",
        lambda row: _lines(row["distractors"]),
        prose=True,
    ),
    Column("Flags", lambda row: _lines(row["flags"]), prose=True),
]


# -- rater agreement -------------------------------------------------------------------------


def _reading(value, label: str, low=None, high=None, range_label: str | None = None) -> list[str]:
    if missing(value):
        return [label]
    figure = decimal(value)
    if not missing(low) and not missing(high):
        figure += f" [{decimal(low)}, {decimal(high)}]"
    reading = (
        label if not range_label or range_label == label else f"{label} (interval: {range_label})"
    )
    return [figure, reading]


_CRITERION_NAMES = {c.key: c.title for c in CRITERIA}

AGREEMENT_COLUMNS = [
    Column("Criterion", lambda row: _CRITERION_NAMES.get(row["criterion"], str(row["criterion"]))),
    Column("Answers rated", lambda row: whole(row["n"]), numeric=True),
    Column("Raters", lambda row: whole(row["raters"]), numeric=True),
    Column(
        "ICC(2,1) [95% CI]",
        lambda row: _reading(
            row["icc"], row["icc_label"], row["icc_ci_low"], row["icc_ci_high"], row["icc_ci_label"]
        ),
    ),
    Column("Weighted kappa", lambda row: _reading(row["kappa"], row["kappa_label"])),
    Column("Krippendorff's alpha", lambda row: _reading(row["alpha"], row["alpha_label"])),
    Column("Note", lambda row: _lines(row["note"]), prose=True),
]


def disagreement_columns(frame: pd.DataFrame, raters: Sequence[str]) -> list[Column]:
    """Answer, assignment, total difference, then each criterion's scores as "a / b"."""
    criteria = [c for c in CRITERIA if any(f"{c.key} ({r})" in frame.columns for r in raters)]

    def scores(row, key):
        return " / ".join(
            MISSING if missing(row.get(f"{key} ({r})")) else whole(row[f"{key} ({r})"])
            for r in raters
        )

    columns = [Column("Answer", lambda row: str(row["answer_id"]), nowrap=True)]
    if "assignment" in frame.columns:
        columns.append(Column("Assignment", lambda row: str(row["assignment"])))
    columns.append(Column("Total difference", lambda row: whole(row["difference"]), numeric=True))
    columns += [
        Column(c.title, lambda row, key=c.key: scores(row, key), numeric=True) for c in criteria
    ]
    return columns
