"""How a learner sees the formative rater's reading: HTML for the course widgets.

The wording frames every reading as a machine's formative estimate from similar keyed
responses, to think with and to disagree with, never as a grade.
"""

from __future__ import annotations

import html

from grader.rater import POSITIONS, Reading
from grader.scoring import position_label

STYLE = """<style>
.dialectic-reading {background: #fbf8ef; border: 1px solid #e2d9bd; border-radius: 4px;
  padding: 0.5em 0.8em; margin: 0.5em 0;}
.dialectic-bars {display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 4px;
  margin: 0.4em 0;}
.dialectic-bar {text-align: center; font-size: 0.85em; line-height: 1.25;}
.dialectic-bar .fill {background: #d9e3ef; height: 2.6em; position: relative; border-radius: 3px;}
.dialectic-bar .fill span {position: absolute; bottom: 0; left: 0; right: 0; background: #3d5f86;
  border-radius: 3px;}
.dialectic-bar.top b {color: #1f3d5c;}
.dialectic-evidence li {margin-bottom: 0.4em;}
/* <small> alone is 10.8px in JupyterLab's 13px outputs: keep the asides legible */
.dialectic-reading small {font-size: 0.9em;}
</style>"""
SHORT = {
    -2: "strongly collusive",
    -1: "mildly collusive",
    0: "attuned",
    1: "mildly confrontational",
    2: "strongly confrontational",
}
DISCLAIMER = (
    "A formative reading by a machine, trained on the course's practice keys: a prompt to think, "
    "not a grade and not a clinical judgement. It can be wrong; if you read your response "
    "differently, say why below."
)


def reading_html(reading: Reading) -> str:
    """The reading: where it places the response, how sure it is, and the evidence why."""
    parts = [
        STYLE,
        "<div class='dialectic-reading' role='status' aria-label='Formative reading'>",
        "<b>The rater's formative reading</b>",
    ]
    if reading.unsure:
        parts.append(
            "<p><b>The rater is unsure and gives no position</b>, because "
            + "; ".join(html.escape(r) for r in reading.unsure_reasons)
            + ".</p>"
        )
    else:
        parts.append(
            "<p>It places your response as "
            f"<b>{html.escape(position_label(reading.position))}</b>, "
            f"with Carkhuff level about {reading.carkhuff_level}, resonance about "
            f"{reading.resonance} and regulation about {reading.regulation} (1-5).</p>"
        )
        parts.extend(_why_not_the_tallest_bar(reading))
    parts.append(_bars(reading))
    parts.append(_evidence(reading))
    parts.append(f"<p><small>{html.escape(DISCLAIMER)}</small></p></div>")
    return "".join(parts)


def _why_not_the_tallest_bar(reading: Reading) -> list[str]:
    """The rater decides the side first (see :func:`grader.rater.decide`), so its position can
    be a pole's step whose bar is lower than another position's: say why."""
    chosen = reading.probabilities[reading.position]
    if chosen >= max(reading.probabilities.values()):
        return []
    side, other = ("collusive", "confrontational")[:: 1 if reading.position < 0 else -1]
    together = side_percent(reading)
    return [
        f"<p><small>Not the tallest bar: the two {side} steps together ({together}%) are "
        f"likelier than the attuned centre or the {other} side, and this step is the likelier "
        "of the two.</small></p>"
    ]


def side_percent(reading: Reading) -> int:
    """The two steps on the side of the reading's position, in percent: the sum of the two
    percentages its bars show (18% and 32% make 50%, though the unrounded sum may be 49.6%)."""
    return sum(
        int(f"{p:.0%}".rstrip("%"))
        for k, p in reading.probabilities.items()
        if k * reading.position > 0
    )


def _bars(reading: Reading) -> str:
    cells = []
    for p in POSITIONS:
        share = reading.probabilities[p]
        top = " top" if p == reading.best_guess else ""
        cells.append(
            f"<div class='dialectic-bar{top}' title='{SHORT[p]}: {share:.0%}'>"
            f"<div class='fill'><span style='height: {share:.0%}'></span></div>"
            f"<b>{share:.0%}</b><br>{SHORT[p]} ({p:+d})</div>".replace("(+0)", "(0)")
        )
    return (
        "<div class='dialectic-bars' role='img' aria-label='How likely each position is: "
        + ", ".join(f"{SHORT[p]} {reading.probabilities[p]:.0%}" for p in POSITIONS)
        + "'>"
        + "".join(cells)
        + "</div>"
    )


def _evidence(reading: Reading) -> str:
    if not reading.evidence:
        return ""
    items = []
    for e in reading.evidence:
        where = "this vignette" if e.same_vignette else f"vignette {e.vignette_id}"
        items.append(
            f"<li><i>\u201c{html.escape(e.text)}\u201d</i> ({html.escape(where)}, "
            f"{html.escape(e.source)}, keyed {html.escape(position_label(e.position))}). "
            f"{html.escape(e.rationale)}</li>"
        )
    return (
        "<details open><summary>Why: the closest keyed responses it knows</summary>"
        f"<ul class='dialectic-evidence'>{''.join(items)}</ul></details>"
    )


def summary(reading: Reading) -> dict:
    """What is saved with the learner's answer: enough to see later what the rater said."""
    return {
        "position": reading.position,
        "best_guess": reading.best_guess,
        "probabilities": {str(p): round(v, 4) for p, v in reading.probabilities.items()},
        "carkhuff_level": reading.carkhuff_level,
        "resonance": reading.resonance,
        "regulation": reading.regulation,
        "unsure": list(reading.unsure_reasons),
    }
