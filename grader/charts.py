"""Altair charts that teach: the dialectic map, synchrony, the contested alliance figure.

Charts built from the item bank's keys use **practice items only**, so a chart shown to
a learner can never reveal an assessment key. Every chart aggregates or downsamples
before plotting, so none comes near altair's row limit.

Each function that returns a chart for display is marked :func:`course_chart`: calling one
switches altair to the course's renderer (:func:`use_course_renderer`), which adds a static
SVG beside the live chart so that it survives nbconvert and nbgrader's feedback. Importing
this module switches nothing on; a module that draws with altair itself marks its chart
functions the same way, or calls :func:`use_course_renderer`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TypeVar

from grader.itembank import AREAS, ItemBank, load_bank
from grader.lazy import lazy_import, skip_iri_grammar
from grader.physiology import PhysiologyData, synchrony_table, windowed_synchrony
from grader.physiology import load as load_physiology
from grader.scoring import position_label

# Scales as plain vega-lite dicts (altair takes them as they are), so that nothing here
# needs altair before a chart is drawn.
SPECTRUM_COLOURS = {
    "domain": [-2, -1, 0, 1, 2],
    "range": ["#7b3294", "#c2a5cf", "#1a9641", "#f4a582", "#ca0020"],
}
EPISODE_COLOURS = {"domain": ["rupture", "repair"], "range": ["#f4a582", "#92c5de"]}
#: Resolution of the physiology overview: one point every this many seconds.
OVERVIEW_STEP_S = 2
RENDERER = "dialectic"
#: Who draws a chart's static SVG. Unset: the kernel, with vl-convert. "grader", set by
#: `dialectic autograde`: the grading process, which draws each of the course's charts once
#: per run (grader.autograde.chart_images), not once per submission. "live", set by
#: `make lab` (grader.lab): nobody, because JupyterLab and Notebook 7 draw the vega-lite
#: spec themselves, also in a saved notebook reopened without a kernel; that spares each
#: module's kernel vl-convert's start (about 0.8 s).
CHART_IMAGES_ENV = "DIALECTIC_CHART_IMAGES"
#: The values of CHART_IMAGES_ENV under which the kernel draws no static image.
NO_IMAGE_IN_KERNEL = ("grader", "live")


def to_svg(chart: alt.TopLevelMixin | dict) -> str:
    """A static SVG of a chart, drawn without a browser (vl-convert)."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    # the vega-lite version altair writes, e.g. "5.20"
    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return vl_convert.vegalite_to_svg(spec, vl_version=version)


def _live_and_static(spec: dict, **metadata):
    """JupyterLab draws the vega-lite spec itself, offline; static exports (nbconvert,
    nbgrader feedback, which drop JavaScript output) fall back to the SVG, unless
    CHART_IMAGES_ENV says the kernel draws none.

    vega-embed's actions menu is left out: its toggle has no accessible name (axe-core's
    summary-name, a serious violation), and the chart's data is in the notebook anyway.
    """
    from altair.vegalite.v5 import display

    metadata.setdefault("embed_options", {"actions": False})
    bundle, meta = display.mimetype_renderer(spec, **metadata)
    if os.environ.get(CHART_IMAGES_ENV) not in NO_IMAGE_IN_KERNEL:
        bundle["image/svg+xml"] = to_svg(spec)
    return bundle, meta


# Imported when a chart is first built (see grader.lazy), without the 2 s grammar; the other
# chart modules (grader.progress, grader.cohort_view) draw with this alt too.
alt = lazy_import("altair", before=skip_iri_grammar)
pd = lazy_import("pandas")
vl_convert = lazy_import("vl_convert")


_Build = TypeVar("_Build", bound=Callable)
_renderer_chosen = False


def use_course_renderer():
    """Switch altair to the course's renderer: the live vega-lite chart plus a static SVG.

    Returns altair's enabler, so ``with charts.use_course_renderer(): ...`` limits the
    switch to a block, as ``alt.renderers.enable`` does.
    """
    alt.renderers.register(RENDERER, _live_and_static)
    return alt.renderers.enable(RENDERER)


def course_chart(build: _Build) -> _Build:
    """Mark a function that returns a chart for display in the course.

    The first such call in a process switches altair to the course's renderer
    (:func:`use_course_renderer`); a renderer chosen after that is left as it is.
    """

    @functools.wraps(build)
    def draw(*args, **kwargs):
        global _renderer_chosen
        if not _renderer_chosen:
            use_course_renderer()
            _renderer_chosen = True
        return build(*args, **kwargs)

    return draw  # type: ignore[return-value]


#: Vega expressions that name a spectrum position as the feedback does, on one line (legends)
#: or one word a line (axes, where five long labels must fit side by side).
SPECTRUM_NAMES = (
    "{" + ", ".join(f"'{p}': '{position_label(p)}'" for p in range(-2, 3)) + "}[datum.value]"
)
SPECTRUM_NAMES_STACKED = (
    "{"
    + ", ".join(f"'{p}': {position_label(p).split(' ')!r}" for p in range(-2, 3))
    + "}[datum.value]"
)


def spectrum_axis(title: str) -> alt.Axis:
    """An axis over spectrum positions that reads "mildly collusive (-1)", not "-1"."""
    return alt.Axis(title=title, labelExpr=SPECTRUM_NAMES_STACKED, labelAngle=0, labelLimit=200)


def spectrum_legend(title: str) -> alt.Legend:
    return alt.Legend(title=title, labelExpr=SPECTRUM_NAMES, labelLimit=220)


def count_axis(title: str) -> alt.Axis:
    """A count axis ticks in whole numbers: there is no half a response."""
    return alt.Axis(title=title, tickMinStep=1, format="d")


def practice_responses(bank: ItemBank | None = None, area: str | None = None) -> pd.DataFrame:
    """Candidate responses of practice items with their keys and the item's area."""
    bank = bank or load_bank()
    if area is not None and area not in AREAS:
        raise ValueError(f"area must be one of {', '.join(AREAS)}; got {area!r}")
    v = bank.vignettes[bank.vignettes["split"] == "practice"][["item_id", "area", "difficulty"]]
    frame = bank.responses.merge(v, on="item_id", how="inner")
    if area is not None:
        frame = frame[frame["area"] == area]
    frame = frame.astype(
        {"spectrum_position": int, "resonance": int, "regulation": int, "carkhuff_level": int}
    )
    frame["spectrum"] = frame["spectrum_position"].map(position_label)
    return frame.reset_index(drop=True)


@course_chart
def dialectic_map(bank: ItemBank | None = None, area: str | None = None) -> alt.Chart:
    """Practice responses on the resonance x regulation plane, coloured by spectrum position.

    Each dot is one keyed response: collusive responses gather at moderate resonance but
    low regulation, confrontational ones at low resonance; attuned ones climb toward the
    upper right, where the empathic dialectic lives.
    """
    frame = practice_responses(bank, area)
    counts = (
        frame.groupby(["resonance", "regulation", "spectrum_position", "spectrum"])
        .size()
        .reset_index(name="responses")
    )
    title = "The dialectic map: where keyed practice responses fall"
    base = alt.Chart(counts, title=title)
    dots = base.mark_circle(opacity=0.75).encode(
        x=alt.X(
            "resonance:Q",
            scale=alt.Scale(domain=[0.5, 5.5]),
            title="Resonance (feeling into the client's state)",
        ),
        y=alt.Y(
            "regulation:Q",
            scale=alt.Scale(domain=[0.5, 5.5]),
            title="Regulation (co-regulating both states)",
        ),
        size=alt.Size(
            "responses:Q",
            scale=alt.Scale(range=[40, 900]),
            legend=alt.Legend(title="responses", tickMinStep=1, format="d"),
        ),
        color=alt.Color(
            "spectrum_position:O",
            scale=SPECTRUM_COLOURS,
            legend=spectrum_legend("position on the spectrum"),
        ),
        xOffset=alt.XOffset("spectrum_position:O"),
        tooltip=["spectrum:N", "resonance:Q", "regulation:Q", "responses:Q"],
    )
    return dots.properties(width=420, height=380)


@course_chart
def carkhuff_by_position(bank: ItemBank | None = None) -> alt.Chart:
    """Carkhuff levels at each spectrum position: both poles are subtractive."""
    frame = practice_responses(bank)
    counts = (
        frame.groupby(["spectrum_position", "spectrum", "carkhuff_level"])
        .size()
        .reset_index(name="responses")
    )
    return (
        alt.Chart(counts, title="Empathic level by position on the spectrum (practice items)")
        .mark_bar()
        .encode(
            x=alt.X("spectrum_position:O", axis=spectrum_axis("position on the spectrum")),
            y=alt.Y("responses:Q", stack="zero", axis=count_axis("responses")),
            color=alt.Color(
                "carkhuff_level:O", title="Carkhuff level", scale=alt.Scale(scheme="blues")
            ),
            tooltip=["spectrum:N", "carkhuff_level:O", "responses:Q"],
        )
        .properties(width=440, height=260)
    )


@course_chart
def attachment_pulls(bank: ItemBank | None = None) -> alt.Chart:
    """Where the tempting wrong answers fall, by the therapist state the item shows."""
    bank = bank or load_bank()
    frame = practice_responses(bank, "attachment")
    patterns = bank.vignettes.set_index("item_id")["attachment_pattern"]
    frame["pattern"] = frame["item_id"].map(patterns).astype(str)
    wrong = frame[frame["spectrum_position"] != 0]
    counts = (
        wrong.groupby(["pattern", "spectrum_position", "spectrum"])
        .size()
        .reset_index(name="responses")
    )
    return (
        alt.Chart(counts, title="Distractors by therapist state (practice attachment items)")
        .mark_bar()
        .encode(
            # facets side by side leave no room for five names under each: the legend names them
            x=alt.X("spectrum_position:O", axis=alt.Axis(title=None, labels=False, ticks=False)),
            y=alt.Y("responses:Q", axis=count_axis("responses")),
            color=alt.Color(
                "spectrum_position:O",
                scale=SPECTRUM_COLOURS,
                legend=spectrum_legend("position on the spectrum"),
            ),
            column=alt.Column("pattern:N", title="therapist state"),
            tooltip=["pattern:N", "spectrum:N", "responses:Q"],
        )
        .properties(width=150, height=200)
    )


@course_chart
def marker_counts(bank: ItemBank | None = None) -> alt.Chart:
    """How often each 3RS marker appears among the practice items that show a rupture (any area)."""
    bank = bank or load_bank()
    v = bank.vignettes
    v = v[(v["split"] == "practice") & (v["rupture_type"].isin(["withdrawal", "confrontation"]))]
    counts = (
        v.groupby(["rupture_type", "marker_3rs"], observed=True).size().reset_index(name="items")
    )
    counts["marker"] = counts["marker_3rs"].astype(str).str.replace("_", " ")
    return (
        alt.Chart(counts, title="3RS rupture markers in the practice items")
        .mark_bar()
        .encode(
            y=alt.Y("marker:N", sort="-x", title=None),
            x=alt.X("items:Q", axis=count_axis("practice items")),
            color=alt.Color("rupture_type:N", title="rupture"),
            tooltip=["rupture_type:N", "marker:N", "items:Q"],
        )
        .properties(width=320, height=300)
    )


#: Alliance-outcome associations, for the chart on the contested "30%" figure.
ALLIANCE_ESTIMATES = [
    {"source": "Horvath et al. (2011), meta-analysis", "kind": "estimated from data", "r": 0.275},
    {"source": "Flückiger et al. (2018), meta-analysis", "kind": "estimated from data", "r": 0.278},
    {
        "source": "Popular '30% relationship' figure (after Lambert, 1992)",
        "kind": "clinical estimate",
        "r": None,
        "variance": 0.30,
    },
]


@course_chart
def alliance_variance() -> alt.Chart:
    """Share of outcome variance linked to the alliance: meta-analyses vs the popular 30%."""
    frame = pd.DataFrame(ALLIANCE_ESTIMATES)
    frame["variance"] = frame["variance"].fillna(frame["r"] ** 2)
    frame["label"] = frame["variance"].map(lambda v: f"{v:.0%}")
    base = alt.Chart(frame, title="How much of the outcome does the alliance account for?")
    bars = base.mark_bar().encode(
        y=alt.Y("source:N", sort=None, title=None),
        x=alt.X(
            "variance:Q",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 0.35]),
            title="share of outcome variance (r squared)",
        ),
        color=alt.Color("kind:N", title=None),
        tooltip=["source:N", "kind:N", alt.Tooltip("variance:Q", format=".1%")],
    )
    return (
        bars
        + base.mark_text(align="left", dx=4).encode(
            y=alt.Y("source:N", sort=None), x="variance:Q", text="label:N"
        )
    ).properties(width=380, height=150)


def _episode_frame(data: PhysiologyData, dyad_id: str) -> pd.DataFrame:
    e = data.episodes[data.episodes["dyad_id"] == dyad_id]
    return pd.DataFrame(
        {
            "kind": e["kind"].astype(str),
            "start_min": e["start_s"].astype(float) / 60,
            "end_min": e["end_s"].astype(float) / 60,
            "note": e["note"].astype(str),
        }
    )


@course_chart
def synchrony_explorer(
    data: PhysiologyData | None = None,
    dyad_id: str = "d01",
    signal: str = "scl",
    window_s: float = 30,
) -> alt.VConcatChart:
    """A dyad's session: drag over the overview to pick a window; the panels below follow.

    Rupture episodes are shaded orange and repairs blue. The bottom panel is the windowed
    therapist-patient correlation, the simplest index of physiological synchrony.
    """
    data = data or load_physiology()
    samples = data.samples_of(dyad_id)
    step = OVERVIEW_STEP_S * 4
    coarse = samples.iloc[::step]
    unit = "µS" if signal == "scl" else "bpm"
    overview = pd.DataFrame(
        {
            "minute": coarse["t_s"].astype(float) / 60,
            "therapist": coarse[f"therapist_{signal}"].astype(float),
            "patient": coarse[f"patient_{signal}"].astype(float),
        }
    )
    sync = windowed_synchrony(samples, signal, window_s=window_s, step_s=OVERVIEW_STEP_S)
    sync = pd.DataFrame({"minute": sync["t_s"] / 60, "r": sync["r"]})
    episodes = _episode_frame(data, dyad_id)
    brush = alt.selection_interval(encodings=["x"], name="window")
    shade = (
        alt.Chart(episodes)
        .mark_rect(opacity=0.35)
        .encode(
            x="start_min:Q",
            x2="end_min:Q",
            color=alt.Color("kind:N", scale=EPISODE_COLOURS, title="episode"),
            tooltip=["kind:N", "note:N"],
        )
    )
    lines = alt.Chart(overview).transform_fold(["therapist", "patient"], as_=["partner", "value"])
    label = "skin conductance" if signal == "scl" else "heart rate"
    top = (
        shade
        + lines.mark_line(strokeWidth=1)
        .encode(
            x=alt.X("minute:Q", title="minute of session"),
            y=alt.Y("value:Q", title=f"{label} ({unit})", scale=alt.Scale(zero=False)),
            strokeDash=alt.StrokeDash("partner:N", title="partner"),
        )
        .add_params(brush)
    ).properties(width=640, height=140, title=f"Dyad {dyad_id}: whole session (drag to select)")
    detail = (
        shade
        + lines.mark_line(strokeWidth=1.5).encode(
            x=alt.X("minute:Q", scale=alt.Scale(domain=brush), title="minute (selected window)"),
            y=alt.Y("value:Q", title=f"{label} ({unit})", scale=alt.Scale(zero=False)),
            strokeDash=alt.StrokeDash("partner:N"),
        )
    ).properties(width=640, height=160)
    sync_chart = (
        shade
        + alt.Chart(sync)
        .mark_line(color="#333")
        .encode(
            x=alt.X("minute:Q", scale=alt.Scale(domain=brush), title="minute (selected window)"),
            y=alt.Y(
                "r:Q",
                scale=alt.Scale(domain=[-1, 1]),
                title=f"synchrony r ({window_s:.0f} s windows)",
            ),
        )
    ).properties(width=640, height=120)
    mean_r = (
        alt.Chart(sync)
        .transform_filter(brush)
        .transform_aggregate(mean_r="mean(r)")
        .transform_calculate(
            text="'mean synchrony in the selected window: r = ' + format(datum.mean_r, '.2f')"
        )
        .mark_text(align="left")
        .encode(text="text:N")
        .properties(width=640, height=20)
    )
    return alt.vconcat(top, detail, sync_chart, mean_r).resolve_scale(color="shared")


@course_chart
def style_synchrony(data: PhysiologyData | None = None, signal: str = "scl") -> alt.Chart:
    """Mean synchrony outside, during rupture and during repair, for each therapist style."""
    data = data or load_physiology()
    table = synchrony_table(data, signal)
    means = table.groupby(["therapist_style", "phase"], observed=True)["r"].mean().reset_index()
    return (
        alt.Chart(means, title="Synchrony by therapist style and phase of the session")
        .mark_bar()
        .encode(
            x=alt.X("phase:N", sort=["outside", "rupture", "repair"], title=None),
            y=alt.Y("r:Q", title="mean windowed synchrony r"),
            color=alt.Color(
                "phase:N",
                scale=alt.Scale(
                    domain=["outside", "rupture", "repair"], range=["#bbbbbb", "#f4a582", "#92c5de"]
                ),
                legend=None,
            ),
            column=alt.Column("therapist_style:N", title="therapist style"),
            tooltip=["therapist_style:N", "phase:N", alt.Tooltip("r:Q", format=".2f")],
        )
        .properties(width=90, height=200)
    )
