"""What a learner sees in Notebook 7: every notebook, the keyboard, a reopened notebook.

The JupyterLab half and the helpers are in test_browser.py; this file has its own server
(the same settings), so `make test`'s workers can run both interfaces at once.
"""

from __future__ import annotations

import re

import pytest

from grader.itembank import load_bank
from tests.test_browser import (
    HEIGHT,
    SHOTS,
    WIDTHS,
    _answers,
    _item,
    _open,
    browser,
    every_notebook_runs_and_reads_well,
    released,
    reopened_notebook_says_how_to_bring_it_back,
    server,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_every_notebook_runs_and_reads_well_at_both_widths_in_notebook7(server, browser):
    every_notebook_runs_and_reads_well(server, browser, "notebook7")


def test_items_answer_to_the_keyboard_with_visible_focus(server, browser):
    """Tab to a control, Space or Enter to answer; the focused control shows an outline.

    (JupyterLab's command mode takes the arrow keys to move between cells, even from a focused
    radio button, so arrows cannot move between a choice's options there.)"""
    from playwright.sync_api import expect

    bank = load_bank()
    folder = server["root"] / "course"
    page = browser.new_page(viewport={"width": WIDTHS[1], "height": HEIGHT})
    try:
        _open(page, server, "notebook7", "course/04_rupture_repair.ipynb", run=True)
        # a choice: onto the radio group, Space chooses the focused option
        item = bank.item("rw-011")
        choice = (
            page.locator(".dialectic-item-widget", has=page.locator(".widget-radio-box"))
            .filter(has=page.locator("[aria-label='Item rw-011']"))
            .first
        )
        radios = choice.locator("input[type=radio]")
        radios.first.focus()
        outline = radios.first.evaluate("(el) => getComputedStyle(el).outlineStyle")
        page.keyboard.press("Space")
        first = item.responses[0].response_id
        assert _answers(folder, "rw-011", "choose", first) == first
        assert outline != "none", "the focused option shows no outline"

        # a marker: Tab along the rupture kinds, Enter to choose "no rupture"
        marker = _item(page, "rw-003")
        kinds = marker.locator(".widget-toggle-button")
        kinds.first.focus()
        page.keyboard.press("Enter")
        expect(kinds.first).to_have_class(re.compile("mod-active"))
        none = {"rupture_type": "none", "marker": "none"}
        assert _answers(folder, "rw-003", "marker", none) == none
        page.screenshot(path=str(SHOTS / "notebook7-04-answered-by-keyboard.png"))

        _open(page, server, "notebook7", "course/07_alliance_and_the_spectrum.ipynb", run=True)
        row = _item(page, "rc-007").locator(".dialectic-spectrum-b")
        row.locator("button").first.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(row.locator("button.mod-active")).to_have_text("mildly collusive (-1)")
        assert _answers(folder, "rc-007", "spectrum", {"rc-007-b": -1}) == {"rc-007-b": -1}
    finally:
        page.close()


def test_a_saved_notebook_reopened_later_says_how_to_bring_it_back_in_notebook7(server, browser):
    reopened_notebook_says_how_to_bring_it_back(server, browser, "notebook7")
