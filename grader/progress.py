"""A learner's own progress on the practice items: a training signal, never a diagnosis.

Reads the learner's ``responses.json``, scores every practice answer with
:mod:`grader.scoring`, and summarises it: results by area and difficulty, where the
learner's chosen responses fall on the dialectic map, whether their choices lean toward
collusion or confrontation, and which items to try next (move up a level after
consistent success, as deliberate practice recommends).
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.answers import AnswerStore
from grader.charts import SPECTRUM_COLOURS, alt, course_chart, practice_responses, spectrum_legend

# the lean of a learner's choices is read by the rule the instructor's analytics use too; its
# thresholds are named here as well, for the notebooks and the website's script
from grader.choices import (
    CHOSEN_FIELDS,
    LEAN_THRESHOLD,  # noqa: F401 (re-exported for the notebooks and the website's script)
    MIN_CHOICES_FOR_TENDENCY,
    chosen_fields,
    lean,
)
from grader.errors import GraderError
from grader.itembank import AREAS, DIFFICULTIES, ItemBank, area_name, load_bank
from grader.lazy import lazy_import
from grader.scoring import TASKS, position_label, score

pd = lazy_import("pandas")

#: Recent attempts at a level that must average at least MOVE_UP_CREDIT to move up.
RECENT_ATTEMPTS = 3
MOVE_UP_CREDIT = 0.8
#: What each lean means for practice (the notebook and the website both show these).
LEAN_NOTES = {
    "leans collusive": "your misses tend to go along with the client's frame; practise staying "
    "with the feeling without joining it.",
    "leans confrontational": "your misses tend to oppose or correct the client; practise "
    "exploring before steering.",
    "balanced": "your choices sit near the attuned middle, or miss evenly on both sides.",
}

RESULT_COLUMNS = ["item_id", "area", "difficulty", "task", "credit", "saved_at", *CHOSEN_FIELDS]


def practice_results(directory=None, bank: ItemBank | None = None) -> pd.DataFrame:
    """One row per answered practice task, scored; assessment answers are left out."""
    bank = bank or load_bank()
    document = AnswerStore(directory).load()
    rows = []
    for item_id, tasks in document["answers"].items():
        if item_id not in bank:
            continue  # an item since withdrawn from the bank: nothing to score it against
        item = bank.item(item_id)
        if item.split != "practice":
            continue
        for task, entry in tasks.items():
            if task not in TASKS:
                continue
            try:
                result = score(item_id, task, entry["value"], bank=bank)
            except GraderError:
                continue  # an answer that no longer fits the item (e.g. a revised response set)
            rows.append(
                {
                    "item_id": item_id,
                    "area": item.area,
                    "difficulty": item.difficulty,
                    "task": task,
                    "credit": result.credit,
                    "saved_at": entry["saved_at"],
                    **chosen_fields(bank, item_id, task, entry["value"]),
                }
            )
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame.sort_values("saved_at", kind="stable").reset_index(drop=True)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean credit and number of answers per area and difficulty (every cell, even empty)."""
    grid = pd.MultiIndex.from_product([AREAS, DIFFICULTIES], names=["area", "difficulty"])
    grouped = results.groupby(["area", "difficulty"])["credit"].agg(["mean", "count"])
    table = grouped.reindex(grid).rename(columns={"mean": "mean_credit", "count": "answers"})
    table["answers"] = table["answers"].fillna(0).astype(int)
    return table.reset_index()


@dataclass(frozen=True)
class SummaryTable:
    """The areas and levels a learner has tried, as a table a person reads (beside the chart)."""

    rows: pd.DataFrame

    def _repr_html_(self) -> str:
        if self.rows.empty:
            return (
                "<p>No practice answers yet: answer an item in any "
                "module, then run this notebook again.</p>"
            )
        return self.rows.to_html(index=False, border=0, classes="dialectic-summary", justify="left")

    def __repr__(self) -> str:
        return (
            self.rows.to_string(index=False) if not self.rows.empty else "No practice answers yet."
        )


def summary_table(results: pd.DataFrame) -> SummaryTable:
    """:func:`summary` for reading: tried cells only, words for names, credit as a percentage."""
    table = summary(results)
    tried = table[table["answers"] > 0]
    rows = pd.DataFrame(
        {
            "Area": tried["area"].map(area_name),
            "Level": tried["difficulty"],
            "Answers": tried["answers"].astype(int),
            "Mean credit": tried["mean_credit"].map(lambda c: f"{c:.0%}"),
        }
    )
    return SummaryTable(rows.reset_index(drop=True))


@dataclass(frozen=True)
class Tendency:
    """Where the learner's chosen responses fall on the collusion-confrontation spectrum."""

    mean_position: float | None
    choices: int
    label: str
    message: str

    def _repr_markdown_(self) -> str:
        return f"**Your choices: {self.label}.** {self.message}"


def tendency(results: pd.DataFrame) -> Tendency:
    """The signed lean of the learner's choices, or "not enough data"."""
    mean, n, label = lean(results["chosen_position"])
    if mean is None:
        return Tendency(
            None,
            n,
            label,
            f"Answer at least {MIN_CHOICES_FOR_TENDENCY} choose-the-best items to see a "
            f"pattern (you have {n}).",
        )
    note = LEAN_NOTES[label]
    return Tendency(
        round(mean, 2),
        n,
        label,
        f"Across {n} choices your mean position is {mean:+.2f}: {note} This is a training "
        "signal to bring to supervision, not a judgement of your attachment or character.",
    )


def suggestions(
    results: pd.DataFrame, bank: ItemBank | None = None, per_area: int = 1
) -> pd.DataFrame:
    """Next practice items: for each area,
    unanswered items at the level the learner is ready for."""
    bank = bank or load_bank()
    answered = set(results["item_id"])
    rows = []
    for area in AREAS:
        level, reason = _level_for(results[results["area"] == area])
        candidates = [
            i for i in bank.ids(area=area, split="practice", difficulty=level) if i not in answered
        ]
        if not candidates:  # the level is exhausted: offer the next one up, else anything left
            later = DIFFICULTIES[DIFFICULTIES.index(level) :]
            candidates = [
                i
                for d in later
                for i in bank.ids(area=area, split="practice", difficulty=d)
                if i not in answered
            ]
        for item_id in candidates[:per_area]:
            rows.append(
                {
                    "area": area,
                    "item_id": item_id,
                    "difficulty": bank.item(item_id).difficulty,
                    "why": reason,
                }
            )
    return pd.DataFrame(rows, columns=["area", "item_id", "difficulty", "why"])


def _level_for(area_results: pd.DataFrame) -> tuple[str, str]:
    """The difficulty to practise next in one area, and why."""
    level, reason = DIFFICULTIES[0], "start at the beginner level"
    for difficulty in DIFFICULTIES:
        recent = area_results[area_results["difficulty"] == difficulty]["credit"].tail(
            RECENT_ATTEMPTS
        )
        if len(recent) == RECENT_ATTEMPTS and recent.mean() >= MOVE_UP_CREDIT:
            following = DIFFICULTIES.index(difficulty) + 1
            if following < len(DIFFICULTIES):
                level = DIFFICULTIES[following]
                reason = (
                    f"your last {RECENT_ATTEMPTS} {difficulty} answers "
                    f"averaged {recent.mean():.0%}: move up"
                )
            else:
                level, reason = (
                    difficulty,
                    "consistent success at the advanced level: keep practising",
                )
        else:
            if len(recent):
                answers = "answer" if len(recent) == 1 else "answers"
                reason = (
                    f"{difficulty}: {len(recent)} recent {answers} averaging {recent.mean():.0%}; "
                    f"stay until {RECENT_ATTEMPTS} in a row average {MOVE_UP_CREDIT:.0%}"
                )
            level = difficulty
            break
    return level, reason


@course_chart
def progress_chart(results: pd.DataFrame) -> alt.Chart:
    """Mean credit per area and difficulty, with the number of answers in each cell."""
    table = summary(results)
    table["label"] = table.apply(
        lambda r: f"{r.answers} answered" if r.answers else "not yet", axis=1
    )
    # An untried cell has no mean credit: make it a float NaN, which altair writes as null.
    # With no answer at all the column is object dtype, and altair leaves an object column's
    # NaN (or None, under pandas 3) as NaN, which is not JSON (the kernel warns on stderr).
    table["mean_credit"] = table["mean_credit"].astype("float64")
    table["area"] = table["area"].map(area_name)  # words on the axis, not codes
    areas = [area_name(a) for a in AREAS]
    x = alt.X("difficulty:N", sort=list(DIFFICULTIES), title=None, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(table, title="Your practice results by area and difficulty")
    heat = base.mark_rect().encode(
        x=x,
        y=alt.Y("area:N", sort=areas, title=None),
        color=alt.Color(
            "mean_credit:Q",
            scale=alt.Scale(domain=[0, 1], scheme="blues"),
            legend=alt.Legend(title="mean credit", format="%"),
        ),
        tooltip=[
            "area:N",
            alt.Tooltip("difficulty:N", title="level"),
            alt.Tooltip("mean_credit:Q", format=".0%", title="mean credit"),
            "answers:Q",
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        x=x,
        y=alt.Y("area:N", sort=areas),
        text="label:N",
    )
    return (heat + text).properties(width=360, height=220)


@course_chart
def choices_on_map(results: pd.DataFrame, bank: ItemBank | None = None) -> alt.LayerChart:
    """The learner's chosen responses (large dots) over all keyed practice responses (faint)."""
    keyed = practice_responses(bank)
    background = keyed.groupby(["resonance", "regulation"]).size().reset_index(name="responses")
    chosen = results.dropna(subset=["chosen_position"])
    mine = (
        chosen.groupby(["chosen_resonance", "chosen_regulation", "chosen_position"])
        .size()
        .reset_index(name="times")
    )
    mine["chosen"] = mine["chosen_position"].astype(int).map(position_label)
    scale = {"scale": alt.Scale(domain=[0.5, 5.5])}
    back = (
        alt.Chart(background)
        .mark_circle(color="#cccccc", opacity=0.5)
        .encode(
            x=alt.X("resonance:Q", title="Resonance", **scale),
            y=alt.Y("regulation:Q", title="Regulation", **scale),
            size=alt.Size("responses:Q", legend=None, scale=alt.Scale(range=[20, 400])),
        )
    )
    front = (
        alt.Chart(mine)
        .mark_circle(opacity=0.9, stroke="black")
        .encode(
            x=alt.X("chosen_resonance:Q", **scale),
            y=alt.Y("chosen_regulation:Q", **scale),
            size=alt.Size(
                "times:Q",
                scale=alt.Scale(range=[80, 900]),
                legend=alt.Legend(title="your choices", tickMinStep=1, format="d"),
            ),
            color=alt.Color(
                "chosen_position:O",
                scale=SPECTRUM_COLOURS,
                legend=spectrum_legend("position chosen"),
            ),
            tooltip=[
                alt.Tooltip("chosen:N", title="position chosen"),
                alt.Tooltip("times:Q", title="times"),
            ],
        )
    )
    return (back + front).properties(
        width=380, height=340, title="Your choices on the dialectic map"
    )
