"""What a learner sees, in real JupyterLab 4 (this file) and Notebook 7
(test_browser_notebook7.py, which uses the helpers here) in headless Debian chromium.

One server serves a scratch copy of course/ and the assignments as nbgrader releases them
(really generated, then answered as a student would). In each interface the test opens every
notebook, runs it all, and reads the page at 1280 and 1920 px: no widget error, no
traceback or stderr, and inside every widget no text over other text, no text spilling out
of its box, no radio dot away from its option. It answers every kind of widget with the
mouse (here) and with the keyboard (in Notebook 7), checks the answers reached
responses.json, then saves, shuts the kernel down and reopens the notebook to see what a
returning learner sees. Screenshots of every notebook at both widths are kept in
test-artifacts/browser/. The two interfaces are two files so that `make test`'s workers can
run them at once, each with its own server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from grader.itembank import load_bank
from grader.paths import REPO_ROOT
from tests.test_exercises import ASSIGNMENTS, _hand_in, _nbgrader
from tests.test_lab import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _wait_for,
    _wait_for_connected_kernel,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BIN = Path(sys.executable).parent
SHOTS = ARTIFACTS / "browser"
WIDTHS = (1280, 1920)
HEIGHT = 900
#: ?reset: a fresh JupyterLab workspace each time, not the notebooks a previous visit left open.
UIS = {"lab": "/lab/tree/{path}?reset&", "notebook7": "/notebooks/{path}?"}
MODULES = sorted(p.name for p in (REPO_ROOT / "course").glob("*.ipynb"))
NOTEBOOKS = [f"course/{m}" for m in MODULES] + [f"assignments/{a}/{a}.ipynb" for a in ASSIGNMENTS]
#: The scroller of a notebook in either interface, for full-length screenshots.
SCROLLER = ".jp-WindowedPanel-outer"
#: `FULL_SCREENSHOTS=1 make test ARGS=tests/test_browser.py` pictures every notebook whole, at
#: both widths, for a person to look through. Otherwise only a notebook with a layout problem
#: is pictured whole and the rest show their first screen: a full-length picture costs about
#: 1.5 s (the page is laid out and painted at up to 16,000 px), a third of the test's time.
FULL_SCREENSHOTS = os.environ.get("FULL_SCREENSHOTS", "") not in ("", "0")

#: Reads every output a widget or its text stands in: what a person would notice at a glance.
#: Returns a list of problems, each naming the notebook text it concerns.
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const visible = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const area = (a, b) => Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left))
                       * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  const short = (t) => t.trim().replace(/\\s+/g, ' ').slice(0, 400);
  const page = document.body.innerText;
  if (page.includes('Error displaying widget')) problems.push('a widget error shows');
  if (page.includes('Traceback')) problems.push('a traceback shows');
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  for (const out of document.querySelectorAll(stderr))
    if (visible(out)) problems.push('stderr output: ' + short(out.innerText));
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter((o) => visible(o)
      && o.querySelector('.dialectic-live, .dialectic-static, .widget-box, .jupyter-widgets'));
  for (const out of outputs) {
    const texts = [];
    const walker = document.createTreeWalker(out, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!node.textContent.trim() || !el || el.closest('svg, style, script, .vega-embed')
          || !visible(el)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const boxes = 'label, button, p, li, td, th, div, span, h1, h2, h3, h4, b, i, small, '
                    + 'blockquote';
      const box = el.closest(boxes).getBoundingClientRect();
      for (const r of range.getClientRects()) {
        if (r.width < 1 || r.height < 1) continue;
        texts.push({node, r, text: short(node.textContent)});
        if (r.right > box.right + 2 || r.bottom > box.bottom + 2
            || r.left < box.left - 2 || r.top < box.top - 2)
          problems.push('text spills out of its box: ' + short(node.textContent));
      }
    }
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++)
        if (texts[i].node !== texts[j].node && area(texts[i].r, texts[j].r) > 4)
          problems.push(`text over text: "${texts[i].text}" / "${texts[j].text}"`);
    const controls = [...out.querySelectorAll('input, select, textarea, button')].filter(visible);
    for (const c of controls) {
      const cr = c.getBoundingClientRect();
      for (const t of texts)
        if (!c.contains(t.node) && area(cr, t.r) > 4)
          problems.push('a control covers text: ' + t.text);
    }
    for (const label of out.querySelectorAll('.widget-radio-box label')) {
      const dot = label.querySelector('input').getBoundingClientRect();
      const range = document.createRange();
      range.selectNodeContents(label);
      const first = [...range.getClientRects()].find((r) => r.width > 1 && r.left > dot.right - 1);
      const middle = (dot.top + dot.bottom) / 2;
      if (!first || middle < first.top - 2 || middle > first.bottom + 2)
        problems.push('a radio dot sits away from its option: ' + short(label.innerText));
    }
  }
  return [...new Set(problems)];
}
"""


@pytest.fixture(scope="session")
def released(build_once) -> Path:
    """Every assignment as nbgrader releases it, answered in full as a student would (built
    once per run for both interfaces' files)."""

    def build(course: Path) -> None:
        shutil.copy(REPO_ROOT / "nbgrader_config.py", course)
        shutil.copytree(REPO_ROOT / "exercises", course / "exercises")
        (course / "exchange").mkdir()
        _nbgrader(course, "generate_assignment", "m*", "--force")  # one run: nbgrader starts slowly
        for assignment in ASSIGNMENTS:
            _hand_in(course, assignment, "learner", solved=True)

    return build_once("released-assignments", build) / "submitted" / "learner"


@pytest.fixture(scope="module")
def server(tmp_path_factory, released):
    """One JupyterLab server (Notebook 7 is served by it too) on scratch copies, so no answer
    touches the repository."""
    root = tmp_path_factory.mktemp("learner")
    shutil.copytree(REPO_ROOT / "course", root / "course")
    shutil.copytree(released, root / "assignments")
    with lab_server(root) as running:
        yield running


@pytest.fixture(scope="module")
def course_server(tmp_path_factory):
    """JupyterLab on a scratch copy of course/ alone, served at its root
    (other browser tests use it)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO_ROOT / "course", root, dirs_exist_ok=True)
    with lab_server(root) as running:
        yield running


@contextlib.contextmanager
def lab_server(root: Path):
    """A real JupyterLab on ``root``, on a free loopback port,
    with settings that show every cell."""
    port, token = _free_port(), "browser-test"
    settings = root / ".settings"
    # Render every cell (JupyterLab 4 detaches cells scrolled out of view), start the kernel
    # without asking (a "Select Kernel" dialog can otherwise cover a notebook reopened just
    # after its kernel was shut down) and keep the news pop-up from covering the notebook.
    for plugin, values in (
        ("notebook-extension/tracker", {"windowingMode": "none", "autoStartDefaultKernel": True}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
    ):
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = open(root / ".lab.log", "w")
    process = subprocess.Popen(
        [
            # as `make lab` starts it (so its kernels draw no static chart images either)
            str(BIN / "python"),
            "-m",
            "grader.lab",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            "--LabApp.news_url=None",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", process)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "root": root}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--disable-dev-shm-usage"],
            headless=True,
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _end_sessions(server) -> None:
    """Shut down every kernel, as a learner closing the notebook for the day would."""
    base, token = server["url"], server["token"]
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}") as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(
            f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request).close()


def _open(page, server, ui: str, path: str, *, run: bool = False) -> None:
    """Open a notebook on a fresh kernel and, with ``run``, Run All as a learner would."""
    _end_sessions(server)
    page.goto(f"{server['url']}{UIS[ui].format(path=path)}token={server['token']}")
    _wait_for_kernel(page, server)
    if run:
        _run_all(page)


def _wait_for_kernel(page, server: dict) -> None:
    """Wait until the notebook's kernel is started and idle and the page's websocket to it is
    open: a Run All sent while the kernel is still initializing can be dropped. (The toolbar
    can say "idle" from the server's kernel list before the page has connected.)"""
    from playwright.sync_api import expect

    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    indicators = page.locator(".jp-Notebook-ExecutionIndicator")
    indicators.first.wait_for(timeout=90_000)
    for i in range(indicators.count()):
        expect(indicators.nth(i)).to_have_attribute("data-status", "idle", timeout=90_000)
    _wait_for_connected_kernel(server)


def _run_all(page, attempts: int = 4) -> None:
    """Run every cell through the menu, as the module's first lines tell the learner to, and
    wait until every cell has run and every widget has drawn. (On a first page load JupyterLab
    can drop a Run All sent while its kernel connection is still settling: try again.)"""
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    for _ in range(attempts):
        dialog = page.locator(".jp-Dialog")
        assert not dialog.count(), "a dialog covers the notebook: " + " | ".join(
            dialog.all_inner_texts()
        )
        page.locator("#jp-MainMenu, #jp-menu-panel").get_by_text("Run", exact=True).first.click()
        page.get_by_text("Run All Cells", exact=True).click()
        # the prompts turn to [*] as soon as the page sends the cells: when they have not
        # after 15 s, the click was dropped (a queued one would long have shown)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not re.search(
            r"\[(\d+|\*)\]", prompts.first.inner_text()
        ):
            time.sleep(0.3)
        if re.search(r"\[(\d+|\*)\]", prompts.first.inner_text()):
            break
    else:
        raise AssertionError("Run All Cells did not start the notebook's kernel")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        done = page.evaluate("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map((p) => p.innerText);
            return prompts.every((p) => /\\[\\d+\\]/.test(p))
                && !document.body.innerText.includes('Loading widget');
        }""")
        if done:
            return
        time.sleep(0.3)
    raise AssertionError("the notebook did not finish running within 180 s")


def _screenshot(page, name: str, *, full: bool = True) -> None:
    """The notebook as it shows: with ``full``, the whole notebook in one picture (the
    viewport grows to the notebook's length), else the first screen."""
    if not full:
        page.evaluate(f"document.querySelector('{SCROLLER}').scrollTop = 0")
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        return
    width = page.viewport_size["width"]
    length = page.evaluate(
        f"(() => {{ const s = document.querySelector('{SCROLLER}'); s.scrollTop = 0; "
        "return s.scrollHeight; })()"
    )
    page.set_viewport_size({"width": width, "height": min(length + 200, 16_000)})
    try:
        page.screenshot(path=str(SHOTS / f"{name}.png"))
    finally:
        page.set_viewport_size({"width": width, "height": HEIGHT})


def _answers(folder: Path, item_id: str, task: str, expected=None, seconds: float = 15):
    """The answer saved in responses.json, waiting for the kernel to write it (or to write
    ``expected``, when an earlier answer is already there)."""
    path = folder / "responses.json"
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8")).get("answers", {})
            if task in saved.get(item_id, {}):
                value = saved[item_id][task]["value"]
                if expected is None or value == expected:
                    return value
        time.sleep(0.2)
    return value


def _shown(select) -> str:
    """The option a dropdown shows (ipywidgets writes its spaces as no-break spaces)."""
    return select.evaluate("(s) => s.options[s.selectedIndex].text").replace("\xa0", " ").strip()


def _item(page, item_id: str):
    return page.locator(
        ".dialectic-item-widget", has=page.locator(f"[aria-label='Item {item_id}']")
    ).first


def every_notebook_runs_and_reads_well(server, browser, ui: str) -> None:
    """Open and Run All every notebook in ``ui``; at both widths, no layout problem."""
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": HEIGHT})
    problems: dict[str, list[str]] = {}
    try:
        for path in NOTEBOOKS:
            page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
            _open(page, server, ui, path, run=True)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": HEIGHT})
                page.wait_for_timeout(300)  # let the layout settle at the new width
                name = f"{ui}-{width}-{Path(path).stem}"
                found = page.evaluate(LAYOUT_PROBLEMS)
                if found:
                    problems[name] = found
                _screenshot(page, name, full=FULL_SCREENSHOTS or bool(found))
    finally:
        page.close()
    assert not problems, json.dumps(problems, indent=1)


def test_every_notebook_runs_and_reads_well_at_both_widths_in_jupyterlab(server, browser):
    every_notebook_runs_and_reads_well(server, browser, "lab")


def test_every_widget_kind_answers_to_the_mouse(server, browser):
    """Module 08 holds every item kind and the physiology explorer; 09 the suggested items."""
    from playwright.sync_api import expect

    bank = load_bank()
    folder = server["root"] / "course"
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": HEIGHT})
    try:
        _open(page, server, "lab", "course/08_integration.ipynb", run=True)
        choice = bank.item("rc-021").best
        _item(page, "rc-021").get_by_text(choice.text[:40]).click()
        assert _answers(folder, "rc-021", "choose") == choice.response_id
        expect(_item(page, "rc-021").locator(".dialectic-feedback")).to_contain_text("Score: 100%")

        spectrum = _item(page, "ep-020")
        spectrum.locator(".dialectic-spectrum-a").get_by_role("button", name="attuned (0)").click()
        assert _answers(folder, "ep-020", "spectrum") == {"ep-020-a": 0}
        expect(spectrum.locator(".dialectic-spectrum-a button.mod-active")).to_have_text(
            "attuned (0)"
        )

        marker, keyed = _item(page, "rw-019"), bank.item("rw-019")
        select = marker.locator("select")
        assert _shown(select) == "choose the rupture kind first"
        marker.get_by_role("button", name=keyed.rupture_type, exact=True).click()
        expect(select).to_be_enabled()
        assert _shown(select) == f"choose a {keyed.rupture_type} marker..."
        select.select_option(keyed.marker_3rs.replace("_", " "))
        assert _answers(folder, "rw-019", "marker") == {
            "rupture_type": keyed.rupture_type,
            "marker": keyed.marker_3rs,
        }

        pattern, keyed = _item(page, "at-014"), bank.item("at-014")
        pattern.get_by_role("button", name=keyed.attachment_pattern, exact=True).click()
        pattern.get_by_text(keyed.best.text[:40]).click()
        assert _answers(folder, "at-014", "pattern") == keyed.attachment_pattern
        assert _answers(folder, "at-014", "choose") == keyed.best.response_id

        compose = _item(page, "is-023")
        compose.get_by_placeholder("What would you say?").fill(
            "It sounds as if part of you wants to stop, and part of you came anyway."
        )
        compose.locator(".widget-toggle-buttons").first.get_by_role(
            "button", name="4", exact=True
        ).click()
        compose.get_by_role("button", name="Save my response").click()
        assert _answers(folder, "is-023", "compose")["text"].startswith("It sounds as if")

        reflection = page.locator(".dialectic-live", has=page.get_by_text("Reflection.")).last
        reflection.locator("textarea").fill("Staying with the silence before I reassure.")
        reflection.get_by_role("button", name="Save reflection").click()
        expect(reflection).to_contain_text("Saved to responses.json")

        signal = page.locator(".dialectic-live.widget-toggle-buttons", has_text="heart rate").first
        chart = (
            page.locator(".jp-OutputArea-child", has=signal)
            .locator("xpath=following-sibling::*[1]")
            .locator(".vega-embed")
            .element_handle()
        )
        signal.get_by_role("button", name="heart rate").click()
        expect(signal.locator("button.mod-active")).to_have_text("heart rate")
        page.wait_for_function(
            "(chart) => !chart.isConnected", arg=chart, timeout=30_000
        )  # redrawn
        page.screenshot(path=str(SHOTS / "lab-08-answered-by-mouse.png"))

        _open(page, server, "lab", "course/09_my_progress.ipynb", run=True)
        suggested = page.locator(".dialectic-live .dialectic-item-widget").first
        suggested.locator(".widget-radio-box label").first.click()
        expect(suggested.locator(".dialectic-feedback")).to_contain_text("Score")
        assert page.evaluate(LAYOUT_PROBLEMS) == []
    finally:
        page.close()


def reopened_notebook_says_how_to_bring_it_back(server, browser, ui: str) -> None:
    """Saved with its outputs, kernel shut down, opened again: text, never a widget error;
    after Run All the items are live again with the learner's answers."""
    from playwright.sync_api import expect

    module = "course/06_attachment_and_the_therapist.ipynb"
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": HEIGHT})
    try:
        _open(page, server, ui, module, run=True)
        first = _item(page, "at-003")
        first.locator(".widget-toggle-button").first.click()
        page.keyboard.press("Control+s")
        expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=30_000)
        _open(page, server, ui, module)
        stand_in = page.locator(".dialectic-static", has_text="Interactive item at-003").first
        expect(stand_in).to_be_visible(timeout=30_000)
        expect(stand_in).to_contain_text("Run All Cells")
        page.wait_for_timeout(5000)  # give a widget error the time to appear, if it would
        shown = page.locator(
            "body"
        ).inner_text()  # what is displayed: text hidden by CSS is left out
        assert "Error displaying widget" not in shown and "Loading widget" not in shown
        # the charts are drawn from their saved vega-lite specs: under `make lab` the kernel
        # saved no static image, so the frontend is all there is
        saved = json.loads((server["root"] / module).read_text(encoding="utf-8"))
        bundles = [o.get("data", {}) for c in saved["cells"] for o in c.get("outputs", [])]
        specs = [b for b in bundles if "application/vnd.vegalite.v5+json" in b]
        assert specs and not [b for b in specs if "image/svg+xml" in b], len(specs)
        expect(page.locator(".vega-embed")).to_have_count(len(specs), timeout=30_000)
        drawn = page.evaluate(
            "() => [...document.querySelectorAll('.vega-embed')]"
            ".map(e => { const r = (e.querySelector('svg, canvas') || e).getBoundingClientRect();"
            " return r.width > 100 && r.height > 50; })"
        )
        assert all(drawn), drawn
        _screenshot(page, f"{ui}-reopened-without-running")
        _run_all(page)
        expect(_item(page, "at-003").locator(".widget-toggle-button.mod-active")).to_have_count(1)
        expect(page.locator(".dialectic-static", has_text="Interactive item at-003")).to_be_hidden()
        assert page.evaluate(LAYOUT_PROBLEMS) == []
    finally:
        page.close()


def test_a_saved_notebook_reopened_later_says_how_to_bring_it_back_in_jupyterlab(server, browser):
    reopened_notebook_says_how_to_bring_it_back(server, browser, "lab")
