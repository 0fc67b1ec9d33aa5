"""The rubric for free-text answers ("write what you would say to this client").

Modelled on four items of the Facilitative Interpersonal Skills performance task
(Anderson et al., 2009): each criterion is rated 1-5 with a written anchor at every
level, 3 being an average trainee response. Learners rate themselves with it in the
course; graders use the same anchors in nbgrader's manually graded cells. The anchors
are the course's own wording, not the FIS manual's.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion with an anchor for each level 1-5."""

    key: str
    title: str
    question: str
    anchors: tuple[str, str, str, str, str]

    def anchor(self, level: int) -> str:
        if level not in range(1, 6):
            raise ValueError(f"{self.title} is rated 1 to 5, not {level!r}")
        return self.anchors[level - 1]


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "empathy",
        "Empathy",
        "Does the response convey an accurate, felt understanding of the client's experience?",
        (
            "Misses or contradicts what the client feels; responds to "
            "content only or to the therapist's own agenda.",
            "Names a feeling, but a generic or mislabelled one; "
            "the client would have to correct it.",
            "Accurately reflects the feeling the client expressed, "
            "at the level the client expressed it.",
            "Reflects the expressed feeling and adds the implicit one "
            "beneath it, tentatively enough to be corrected.",
            "Captures the full range of what the client feels, including what "
            "is hard to say, so the client feels deeply met.",
        ),
    ),
    Criterion(
        "warmth",
        "Warmth, acceptance and understanding",
        "Does the response carry regard for the client as a person, without judgement or coldness?",
        (
            "Cold, judging, mocking or impatient; the client is likely to feel criticised.",
            "Polite but distant or formulaic; regard for the client is not felt.",
            "Respectful and kind; the client would feel accepted "
            "though not especially warmly held.",
            "Clearly warm and accepting, including of the parts of the "
            "client's experience they are ashamed of.",
            "Conveys steady, genuine care that makes it safer for the "
            "client to bring their most painful material.",
        ),
    ),
    Criterion(
        "repair",
        "Rupture-repair responsiveness",
        "When the alliance is strained, does the response notice it and help repair it?",
        (
            "Ignores the strain or makes it worse: defends, blames, retaliates or capitulates.",
            "Registers that something is wrong but deflects, explains it away or smooths it over.",
            "Acknowledges the strain and stays with the client without defensiveness.",
            "Explores the strain with curiosity, owning the therapist's part where there is one.",
            "Turns the strain into shared understanding of what happened "
            "between client and therapist, deepening the alliance.",
        ),
    ),
    Criterion(
        "bond",
        "Alliance bond",
        "Does the response strengthen the sense of working together on the client's goals?",
        (
            "Works against collaboration: imposes, withdraws, or "
            "leaves the client alone with the problem.",
            "Collaboration is nominal; the therapist leads or "
            "follows without checking with the client.",
            "Keeps the client and therapist working together on what the client came for.",
            "Invites the client's view of the work and builds on it; the client is a partner.",
            "Conveys a confident, shared commitment that makes the "
            "work feel worth continuing together.",
        ),
    ),
)

CRITERION_KEYS = tuple(c.key for c in CRITERIA)


def criterion(key: str) -> Criterion:
    for c in CRITERIA:
        if c.key == key:
            return c
    raise KeyError(f"No rubric criterion {key!r}; criteria are {', '.join(CRITERION_KEYS)}")


def as_html() -> str:
    """The whole rubric as an HTML table, for notebooks and grading cells."""
    head = "".join(f"<th scope='col'>{level}</th>" for level in range(1, 6))
    rows = []
    for c in CRITERIA:
        cells = "".join(f"<td>{html.escape(a)}</td>" for a in c.anchors)
        rows.append(
            f"<tr><th scope='row'>{html.escape(c.title)}<br><small>"
            f"{html.escape(c.question)}</small></th>{cells}</tr>"
        )
    return (
        "<table class='dialectic-rubric'><caption>Rubric for free-text responses (1-5; 3 = an "
        f"average trainee response)</caption><thead><tr><th scope='col'>criterion</th>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def as_markdown() -> str:
    """The whole rubric as a Markdown table."""
    lines = ["| criterion | 1 | 2 | 3 | 4 | 5 |", "| --- | --- | --- | --- | --- | --- |"]
    for c in CRITERIA:
        lines.append(f"| **{c.title}** — {c.question} | " + " | ".join(c.anchors) + " |")
    return "\n".join(lines)
