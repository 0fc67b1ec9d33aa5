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


def _run_all(page) -> None:
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()


def _open_fresh(page, server) -> None:
    page.goto(f"{server['url']}/lab/tree/{MODULE}?token={server['token']}&reset")
    _wait_for_kernel(page)


def _wait_for_kernel(page) -> None:
    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=90_000)


def test_answer_a_spectrum_item_by_clicking_and_see_it_restored(course_server):
    from playwright.sync_api import expect, sync_playwright

    item = load_bank().item(ITEM)
    first = item.responses[0]
    label = {-2: "strongly collusive", -1: "collusive", 0: "attuned", 1: "confrontational",
             2: "strongly confrontational"}[first.spectrum_position]
    answers = course_server["root"] / "responses.json"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open_fresh(page, course_server)
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
            page.screenshot(path=str(ARTIFACTS / "alliance-spectrum-answered.png"))

            deadline = time.monotonic() + 15
            while not answers.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            saved = json.loads(answers.read_text(encoding="utf-8"))
            assert saved["answers"][ITEM]["spectrum"]["value"] == {first.response_id: first.spectrum_position}

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
            page.screenshot(path=str(ARTIFACTS / "alliance-spectrum-restored.png"))
        finally:
            browser.close()
