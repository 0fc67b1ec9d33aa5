"""`make lab` serves JupyterLab on course/ with nbgrader and ipywidgets really working.

These tests start real servers and drive Debian's chromium with Playwright.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from grader.paths import REPO_ROOT

BIN = Path(sys.executable).parent
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps calling hosts this sandbox cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab ARGS=--no-browser ...` on a free loopback port, with the URL it printed."""
    port = _free_port()
    log = tmp_path_factory.mktemp("lab") / "lab.log"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(log.parent / "config")}
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port}"
    with open(log, "w") as out:
        process = subprocess.Popen(["make", "lab", f"ARGS={args}"], cwd=REPO_ROOT, stdout=out,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        printed = re.compile(rf"(http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+))")
        deadline = time.monotonic() + 120
        while not (found := printed.search(log.read_text())) and time.monotonic() < deadline:
            assert process.poll() is None, ANSI.sub("", log.read_text())[-3000:]
            time.sleep(0.5)
        assert found, "make lab printed no URL:\n" + ANSI.sub("", log.read_text())[-3000:]
        token = found.group(2)
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", process)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "log": log, "printed": found.group(1)}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_make_lab_lists_the_extensions_enabled_and_ok(lab):
    text = ANSI.sub("", lab["log"].read_text())
    assert re.search(r"@jupyter/nbgrader v0\.9\.\d+ enabled\s+OK", text)
    assert re.search(r"@jupyter-widgets/jupyterlab-manager v5\.\S+ enabled\s+OK", text)


def test_server_serves_course_folder(lab):
    with urllib.request.urlopen(f"{lab['url']}/api/contents?token={lab['token']}") as response:
        assert response.status == 200


def test_server_extensions_enabled_and_ok():
    out = subprocess.run([str(BIN / "jupyter"), "server", "extension", "list"],
                         capture_output=True, text=True, check=True)
    text = ANSI.sub("", out.stdout + out.stderr)
    for extension in ("formgrader", "validate_assignment", "assignment_list", "course_list"):
        assert re.search(rf"nbgrader\.server_extensions\.{extension}\s+OK", text), extension


@pytest.mark.browser
def test_nbgrader_extension_really_loads_in_the_browser(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{lab['url']}/lab?token={lab['token']}")
            menu = page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True)
            menu.wait_for(timeout=90_000)
            menu.click()
            for entry in ("Assignment List", "Course List", "Formgrader"):
                page.locator(".lm-Menu-itemLabel", has_text=entry).first.wait_for(timeout=10_000)
            page.screenshot(path=str(ARTIFACTS / "lab-nbgrader-menu.png"))
        finally:
            browser.close()
    failed = [e for e in errors if "nbgrader" in e.lower() and ("fail" in e.lower() or "error" in e.lower())]
    assert not failed, failed
