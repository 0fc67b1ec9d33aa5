"""The rater's reading in the course widgets, in a real JupyterLab in headless Debian chromium:
ComposeItem shows the formative reading, says why when its position is not the tallest bar, and
saves the learner's disagreement; WriteFirstItem hides the candidates until the learner has
written."""

from __future__ import annotations

import json
import shutil
import time

import nbformat
import pytest

from grader.itembank import load_bank
from grader.rater import load_rater
from grader.rater_view import side_percent
from grader.scoring import position_label
from tests.test_browser import (  # noqa: F401
    LAYOUT_PROBLEMS,
    _end_sessions,
    _run_all,
    _wait_for_kernel,
    course_server,
)
from tests.test_lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NOTEBOOK = "rater_widgets.ipynb"
COMPOSE, WRITE_FIRST = "ep-017", "rc-023"
#: A trainee turning to practical steps: the rater places it mildly collusive (-1), though the
#: attuned centre is the tallest single bar, because the two collusive steps together are likelier.
NOT_THE_TALLEST = (
    "It sounds like you're really down on yourself today. Let's focus on what you can do now to "
    "rebuild things with your son."
)


def _notebook(root) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from grader.widgets import ComposeItem, WriteFirstItem"),
        nbformat.v4.new_code_cell(f'ComposeItem("{COMPOSE}")'),
        nbformat.v4.new_code_cell(f'WriteFirstItem("{WRITE_FIRST}")'),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / NOTEBOOK)


def _saved(answers, item_id, key, timeout=30, text=None):
    """The saved compose answer of ``item_id`` once it holds ``key`` (and, if given, ``text``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers.exists():
            value = (
                json.loads(answers.read_text(encoding="utf-8"))["answers"]
                .get(item_id, {})
                .get("compose", {})
                .get("value", {})
            )
            if key in value and text in (None, value.get("text")):
                return value
        time.sleep(0.3)
    raise AssertionError(f"{key} of {item_id} was not saved")


def _box(locator) -> dict:
    box = locator.bounding_box()
    return {**box, "right": box["x"] + box["width"], "bottom": box["y"] + box["height"]}


def _inside(inner, outer) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["right"] <= outer["right"] + 0.5
        and inner["bottom"] <= outer["bottom"] + 0.5
    )


def _no_overlap(boxes) -> bool:
    return all(a["x"] + a["width"] <= b["x"] + 0.5 for a, b in zip(boxes, boxes[1:], strict=False))


@pytest.mark.parametrize("width", [1280, 1920])
def test_compose_and_write_first_show_the_formative_reading(course_server, width):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    root = course_server["root"]
    _notebook(root)
    answers = root / "responses.json"
    if answers.exists():
        answers.unlink()
    shutil.rmtree(
        root / ".dialectic", ignore_errors=True
    )  # the answer store's journal would restore them
    hidden = load_bank().item(WRITE_FIRST).responses[0].text
    lower = load_rater().rate(COMPOSE, NOT_THE_TALLEST)
    tallest = max(lower.probabilities, key=lower.probabilities.get)
    assert not lower.unsure and lower.position == -1 != tallest, (
        "the rater no longer reads NOT_THE_TALLEST as a sure collusive step below the tallest "
        f"bar ({lower.position=}, {tallest=}, {lower.unsure_reasons=}): write another"
    )
    together = side_percent(lower)  # the sum of the two bars' shown percentages
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 1100})
        try:
            _end_sessions(course_server)
            page.goto(
                f"{course_server['url']}/lab/tree/{NOTEBOOK}?reset&token={course_server['token']}"
            )
            _wait_for_kernel(page, course_server)
            _run_all(page)
            compose = page.locator(".dialectic-item-widget").nth(0)
            write_first = page.locator(".dialectic-item-widget").nth(1)
            write_first.wait_for(timeout=90_000)
            # write first: no candidate is on the page before the learner has written
            assert hidden[:40] not in page.inner_text("body")

            compose.get_by_placeholder("What would you say?").fill(
                "It sounds like my kindness is hard to take when part of you is sure you deserve "
                "none of it."
            )
            compose.get_by_role("button", name="Save my response").click()
            reading = compose.locator(".dialectic-reading")
            expect(reading).to_contain_text("formative reading", timeout=120_000)
            expect(reading).to_contain_text("not a grade")
            expect(reading).to_contain_text("closest keyed responses")
            bars = reading.locator(".dialectic-bar")
            expect(bars).to_have_count(5)
            boxes = [bars.nth(i).bounding_box() for i in range(5)]
            assert _no_overlap(boxes), boxes
            # the position is the tallest bar here: no word on why it is not
            expect(reading).not_to_contain_text("Not the tallest bar")
            size = bars.first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 11, f"probability labels are {size}px"
            compose.get_by_placeholder("Do you read your response differently").fill(
                "I think it reaches the shame more than the rater says."
            )
            compose.get_by_role("button", name="Save my view").click()
            saved = _saved(answers, COMPOSE, "disagreement")
            assert saved["disagreement"].startswith("I think") and set(
                saved["rater"]["probabilities"]
            ) == {"-2", "-1", "0", "1", "2"}
            reading.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"rater-compose-{width}.png"))

            # a step whose bar is lower than the attuned centre's: the reading says why
            compose.get_by_placeholder("What would you say?").fill(NOT_THE_TALLEST)
            compose.get_by_role("button", name="Save my response").click()
            why = reading.locator("p", has_text="Not the tallest bar")
            expect(why).to_be_visible(timeout=60_000)
            expect(reading.locator("p", has_text="It places your response as")).to_contain_text(
                position_label(-1)
            )
            expect(why).to_contain_text(f"the two collusive steps together ({together}%)")
            # this line and the disclaimer, both in <small>
            sizes = reading.locator("small").evaluate_all(
                "es => es.map(e => [e.innerText.slice(0, 30), getComputedStyle(e).fontSize])"
            )
            assert len(sizes) >= 2 and all(float(px[:-2]) >= 11 for _, px in sizes), sizes
            line, bars_box = _box(why), _box(reading.locator(".dialectic-bars"))
            assert _inside(line, _box(reading)) and _inside(_box(reading), _box(compose)), line
            assert line["bottom"] <= bars_box["y"], (line, bars_box)
            assert page.evaluate(LAYOUT_PROBLEMS) == []
            saved = _saved(answers, COMPOSE, "rater", text=NOT_THE_TALLEST)
            assert saved["rater"]["position"] == -1, saved["rater"]
            reading.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"rater-not-the-tallest-bar-{width}.png"))

            write_first.get_by_placeholder("What would you say?").fill(
                "Sure, every other week could work, whatever is easiest for you."
            )
            write_first.get_by_role("button", name="Save and compare").click()
            expect(write_first.locator(".dialectic-reading")).to_contain_text(
                "formative reading", timeout=60_000
            )
            expect(write_first.locator(".dialectic-feedback")).to_contain_text(
                hidden[:40], timeout=30_000
            )
            expect(write_first).to_contain_text("the keyed best")
            assert _saved(answers, WRITE_FIRST, "rater")["text"].startswith("Sure")
            assert page.get_by_text("Error displaying widget").count() == 0
            assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            write_first.locator(".dialectic-reading").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"rater-write-first-{width}.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"rater-failure-{width}.png"))
            raise
        finally:
            browser.close()
