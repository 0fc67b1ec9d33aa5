"""A learner's session in a real JupyterLab, in headless Debian chromium, driven by Playwright.

It opens the alliance module, answers a spectrum item by clicking, sees the feedback,
checks responses.json, reloads the page and sees the answer restored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.itembank import load_bank
from grader.paths import REPO_ROOT
from tests.test_lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODULE = "07_alliance_and_the_spectrum.ipynb"
ITEM = "rc-007"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def course_server(tmp_path_factory):
    """JupyterLab on a scratch copy of course/, so the test's answers never touch the repo."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO_ROOT / "course", root, dirs_exist_ok=True)
    port, token = _free_port(), "browser-test"
    settings = root / ".settings"
    # Render every cell (JupyterLab 4 detaches cells scrolled out of view) and keep the
    # news pop-up from covering the notebook.
    for plugin, values in (("notebook-extension/tracker", {"windowingMode": "none"}),
                           ("apputils-extension/notification", {"fetchNews": "false"})):
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".config"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    log = open(root / ".lab.log", "w")
    process = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root", f"--ServerApp.root_dir={root}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         "--LabApp.news_url=None"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", process)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "root": root}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


UIS = {"lab": "/lab/tree/{module}?reset", "notebook7": "/notebooks/{module}"}


def _run_all(page, attempts: int = 4) -> None:
    """Run every cell, and make sure it really started: on a first-ever page load JupyterLab
    can drop a Run All sent while its kernel connection is still settling."""
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    for _ in range(attempts):
        page.locator("#jp-MainMenu, #jp-menu-panel").get_by_text("Run", exact=True).first.click()
        page.get_by_text("Run All Cells", exact=True).click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if re.search(r"\[(\d+|\*)\]", prompts.first.inner_text()):
                return
            time.sleep(0.5)
    raise AssertionError("Run All Cells did not start the notebook's kernel")


def _end_sessions(server) -> None:
    """Shut down kernels a previous test left, so each interface starts from a fresh kernel."""
    import urllib.request

    base, token = server["url"], server["token"]
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}") as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request).close()


def _open_fresh(page, server, ui) -> None:
    _end_sessions(server)
    path = UIS[ui].format(module=MODULE)
    joiner = "&" if "?" in path else "?"
    page.goto(f"{server['url']}{path}{joiner}token={server['token']}")
    _wait_for_kernel(page)


def _wait_for_kernel(page) -> None:
    """Wait until the notebook's kernel is started and idle: a Run All sent while it is still
    initializing can be dropped."""
    from playwright.sync_api import expect

    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    indicators = page.locator(".jp-Notebook-ExecutionIndicator")
    indicators.first.wait_for(timeout=90_000)
    for i in range(indicators.count()):
        expect(indicators.nth(i)).to_have_attribute("data-status", "idle", timeout=90_000)


@pytest.mark.parametrize("ui", list(UIS))
def test_answer_a_spectrum_item_by_clicking_and_see_it_restored(course_server, ui):
    from playwright.sync_api import expect, sync_playwright

    item = load_bank().item(ITEM)
    first = item.responses[0]
    label = {-2: "strongly collusive", -1: "collusive", 0: "attuned", 1: "confrontational",
             2: "strongly confrontational"}[first.spectrum_position]
    answers = course_server["root"] / "responses.json"
    if answers.exists():
        answers.unlink()  # each interface starts from no answer
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open_fresh(page, course_server, ui)
            _run_all(page)
            row = page.locator(".dialectic-spectrum-a").first
            row.wait_for(timeout=90_000)
            # the module's altair charts draw natively and offline, with no CDN
            page.locator(".vega-embed").first.wait_for(timeout=60_000)
            assert not answers.exists(), "showing the item must not save anything"
            row.get_by_role("button", name=label, exact=True).click()
            feedback = page.locator(".dialectic-feedback").first
            expect(feedback).to_contain_text("Score", timeout=30_000)
            expect(feedback).to_contain_text(first.rationale[:60])
            row.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{ui}-alliance-spectrum-answered.png"))

            # the second response by keyboard alone: Tab to its first option, then Enter
            second = item.responses[1]
            keyboard_row = page.locator(".dialectic-spectrum-b").first
            keyboard_row.locator("button").first.focus()
            page.keyboard.press("Tab")  # onto "collusive"
            page.keyboard.press("Enter")
            expect(keyboard_row.locator("button.mod-active")).to_have_text(re.compile(r"^\s*collusive\s*$"),
                                                                          timeout=30_000)

            expected = {first.response_id: first.spectrum_position, second.response_id: -1}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if answers.exists():
                    saved = json.loads(answers.read_text(encoding="utf-8"))
                    if saved["answers"].get(ITEM, {}).get("spectrum", {}).get("value") == expected:
                        break
                time.sleep(0.2)
            assert saved["answers"][ITEM]["spectrum"]["value"] == expected

            page.reload()
            _wait_for_kernel(page)
            _run_all(page)
            restored = page.locator(".dialectic-spectrum-a").first
            restored.wait_for(timeout=90_000)
            active = restored.locator("button.mod-active")
            expect(active).to_have_count(1, timeout=30_000)
            expect(active).to_have_text(re.compile(rf"^\s*{re.escape(label)}\s*$"))
            expect(page.get_by_text("Your earlier answer is restored.").first).to_be_visible()
            restored.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{ui}-alliance-spectrum-restored.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{ui}-failure.png"))
            raise
        finally:
            browser.close()
