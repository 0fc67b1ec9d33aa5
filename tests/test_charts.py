"""The teaching charts: built from practice keys only, small, and drawable without a browser."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from grader import charts
from grader.itembank import load_bank
from tests.conftest import BANK

ALL = {
    "dialectic_map": charts.dialectic_map,
    "carkhuff_by_position": charts.carkhuff_by_position,
    "attachment_pulls": charts.attachment_pulls,
    "marker_counts": charts.marker_counts,
    "alliance_variance": charts.alliance_variance,
    "synchrony_explorer": charts.synchrony_explorer,
    "style_synchrony": charts.style_synchrony,
}


def _rows(spec: dict) -> int:
    """The most rows any inline dataset of a chart spec carries."""
    return max((len(v) for v in spec.get("datasets", {}).values()), default=0)


@pytest.mark.parametrize("name", ALL)
def test_chart_builds_small_and_draws_as_svg(name):
    chart = ALL[name]()
    spec = chart.to_dict()
    assert _rows(spec) < alt.data_transformers.options.get("max_rows", 5000)
    svg = charts.to_svg(chart)
    assert svg.startswith("<svg") and "</svg>" in svg


def test_keys_come_from_practice_items_only():
    bank = load_bank(BANK)
    frame = charts.practice_responses(bank)
    practice = set(bank.ids(split="practice"))
    assert set(frame["item_id"]) == practice
    assessment_responses = bank.responses[~bank.responses["item_id"].isin(practice)]
    assert not set(assessment_responses["response_id"]) & set(frame["response_id"])


def test_renderer_offers_live_spec_and_static_svg():
    chart = charts.alliance_variance()  # drawing a course chart switches the course's renderer on
    assert alt.renderers.active == charts.RENDERER
    bundle, _ = alt.renderers.get()(chart.to_dict())
    assert "application/vnd.vegalite.v5+json" in bundle and bundle["image/svg+xml"].startswith(
        "<svg"
    )


def test_kernels_of_make_lab_leave_the_static_image_to_jupyterlab(monkeypatch):
    """`make lab` (grader.lab) tells its kernels that JupyterLab draws the charts: the live
    spec is kept, no SVG is drawn; the browser tests check the chart in a reopened notebook."""
    from grader import lab

    name, value = lab.LIVE_CHARTS
    assert name == charts.CHART_IMAGES_ENV and value in charts.NO_IMAGE_IN_KERNEL
    chart = charts.alliance_variance()
    monkeypatch.setenv(name, value)
    bundle, _ = alt.renderers.get()(chart.to_dict())
    assert "application/vnd.vegalite.v5+json" in bundle and "image/svg+xml" not in bundle
    monkeypatch.delenv(name)
    assert "image/svg+xml" in alt.renderers.get()(chart.to_dict())[0]


def test_alliance_chart_contrasts_meta_analyses_with_the_popular_figure():
    frame = pd.DataFrame(charts.ALLIANCE_ESTIMATES)
    meta = frame[frame["kind"] == "estimated from data"]
    assert ((meta["r"] ** 2) < 0.1).all()
    assert frame.loc[frame["kind"] == "clinical estimate", "variance"].iloc[0] == 0.30


@pytest.mark.parametrize("name", ["carkhuff_by_position", "attachment_pulls"])
def test_spectrum_axes_read_in_words_and_counts_in_whole_numbers(name):
    import re

    svg = charts.to_svg(ALL[name]())
    labels = re.findall(r"<(?:text|tspan)[^>]*>([^<]+)</(?:text|tspan)>", svg)
    assert (
        "mildly" in labels and "collusive" in labels and "(+2)" in labels
    ) or "mildly collusive (-1)" in labels
    numbers = [t for t in labels if re.fullmatch(r"-?[\d.]+", t)]
    assert numbers and all(float(t).is_integer() for t in numbers), numbers


def test_count_axes_never_tick_in_halves():
    import re

    svg = charts.to_svg(charts.marker_counts())
    numbers = re.findall(r"<text[^>]*>(-?\d+(?:\.\d+)?)</text>", svg)
    assert numbers and all(float(t).is_integer() for t in numbers), numbers


def test_map_legend_names_the_positions():
    svg = charts.to_svg(charts.dialectic_map())
    assert "strongly confrontational (+2)" in svg and "mildly collusive (-1)" in svg
