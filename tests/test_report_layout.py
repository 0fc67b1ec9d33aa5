"""The cohort report as an instructor sees it, in headless Debian chromium at 1280 and 1920 px.

From the DOM: every table and chart fits the report's column, no cell's text spills out of
its cell (so none overlaps another), no word is broken across lines ("not eno ugh"), and
every column label is words, not a snake_case field name. A screenshot of each width is
kept in test-artifacts/.
"""

from __future__ import annotations

import shutil

import pytest

from grader.demo import _second_ratings
from grader.report import build_report
from tests.test_lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

WIDTHS = (1280, 1920)

#: Measures the page; returns a list of problems, each naming the table and the text.
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const body = document.body.getBoundingClientRect();
  const style = getComputedStyle(document.body);
  const left = body.left + parseFloat(style.paddingLeft) - 1;
  const right = body.right - parseFloat(style.paddingRight) + 1;
  const where = (el) => (el.closest('table') || el).dataset.table || el.dataset.chart || el.tagName;
  for (const box of document.querySelectorAll('table, .chart svg')) {
    const r = box.getBoundingClientRect();
    if (r.left < left || r.right > right)
      problems.push(`${where(box)} is ${Math.round(r.width)} px wide and spills out of the `
                    + `${Math.round(right - left)} px column`);
  }
  for (const cell of document.querySelectorAll('td, th')) {
    const c = cell.getBoundingClientRect();
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const t = range.getBoundingClientRect();
      if (t.width && (t.left < c.left - 1 || t.right > c.right + 1
                      || t.top < c.top - 1 || t.bottom > c.bottom + 1))
        problems.push(`${where(cell)}: "${node.data.slice(0, 40)}" spills out of its cell`);
      for (const match of node.data.matchAll(/\\S+/g)) {
        const word = document.createRange();
        word.setStart(node, match.index);
        word.setEnd(node, match.index + match[0].length);
        const rects = [...word.getClientRects()].filter(q => q.width > 0);
        const tops = new Set(rects.map(q => Math.round(q.top)));
        if (tops.size > 1)
          problems.push(`${where(cell)}: the word "${match[0]}" is broken across lines`);
      }
    }
  }
  for (const th of document.querySelectorAll('th')) {
    if (/_/.test(th.textContent))
      problems.push(`${where(th)}: column label "${th.textContent}" is a field name`);
  }
  return problems;
}
"""


@pytest.fixture(scope="module")
def report(graded_course, tmp_path_factory):
    """The report of the graded course, with a second rating so every section has its tables."""
    course = tmp_path_factory.mktemp("report") / "course"
    shutil.copytree(graded_course, course)
    _second_ratings(course, seed=3)
    return build_report(course, course / "report.html")


@pytest.mark.parametrize("width", WIDTHS)
def test_report_tables_fit_and_read_cleanly(report, width):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(report.as_uri())
            page.screenshot(path=str(ARTIFACTS / f"report-{width}.png"), full_page=True)
            tables = page.evaluate(
                "() => [...document.querySelectorAll('table')].map(t => t.dataset.table)"
            )
            problems = page.evaluate(LAYOUT_PROBLEMS)
        finally:
            browser.close()
    assert {"support", "item_analysis", "agreement", "disagreements", "profiles"} <= set(tables)
    assert problems == []
