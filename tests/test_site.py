"""The course website: built once per session with `dialectic site`, then read, clicked and audited.

A learner opens every page in Debian chromium with every request outside the site blocked,
answers items of each kind by mouse and by keyboard, reloads, downloads responses.json and
loads it back; the notebook course's AnswerStore reads the download. A scan of every file
finds no assessment item, key or rationale; axe-core finds no serious or critical
accessibility problem on any page, nor in the course widgets inside a real JupyterLab.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import threading
import time
from pathlib import Path

import pytest

from grader import static_items
from grader.answers import AnswerStore
from grader.errors import GraderError
from grader.itembank import load_bank
from grader.paths import REPO_ROOT
from grader.scoring import score
from tests.test_lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

AXE = REPO_ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "site"
LABELS = {
    -2: "strongly collusive",
    -1: "collusive",
    0: "attuned",
    1: "confrontational",
    2: "strongly confrontational",
}


# -- quick: the tables the page looks answers up in ------------------------------------------------
def _spectrum_lookup(table: dict, answer: dict) -> dict:
    """What the page's script does with a spectrum answer: add half-points, look the total up."""
    half = sum(table["placements"][rid][str(pos)]["half_points"] for rid, pos in answer.items())
    return table["totals"][str(half)]


def test_feedback_tables_agree_with_scoring_for_every_answer():
    import itertools
    import random

    bank = load_bank()
    rng = random.Random(3)
    for item_id in bank.ids(split="practice"):
        item = bank.item(item_id)
        table = static_items.feedback_table(item, bank)["tasks"]
        for r in item.responses:
            assert (
                table["choose"][r.response_id]["credit"]
                == score(item_id, "choose", r.response_id, bank=bank).credit
            )
        ids = [r.response_id for r in item.responses]
        combos = list(itertools.product(range(-2, 3), repeat=len(ids)))
        for combo in rng.sample(combos, 40):
            placed = {rid: pos for rid, pos in zip(ids, combo, strict=True) if rng.random() < 0.8}
            if not placed:
                continue
            expected = score(item_id, "spectrum", placed, bank=bank)
            looked_up = _spectrum_lookup(table["spectrum"], placed)
            assert looked_up["credit"] == expected.credit, (item_id, placed)
            assert looked_up["percent"] == f"{expected.credit:.0%}"
        for key, entry in table["marker"].items():
            kind, marker = key.split("/")
            assert (
                entry["credit"]
                == score(
                    item_id, "marker", {"rupture_type": kind, "marker": marker}, bank=bank
                ).credit
            )


def test_an_assessment_item_cannot_be_put_on_the_site(monkeypatch, tmp_path):
    from grader.widgets import ChoiceItem

    bank = load_bank()
    monkeypatch.setenv(static_items.SITE_ENV, "1")
    assessment = bank.ids(split="assessment")[0]
    with pytest.raises(GraderError, match="assessment item"):
        ChoiceItem(assessment, directory=tmp_path, bank=bank)._repr_mimebundle_()
    with pytest.raises(GraderError, match="assessment item"):
        static_items.feedback_table(bank.item(assessment), bank)


def test_items_render_as_widgets_outside_site_mode(monkeypatch, tmp_path):
    from grader.widgets import ChoiceItem

    monkeypatch.delenv(static_items.SITE_ENV, raising=False)
    bundle = ChoiceItem("ep-001", directory=tmp_path)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    monkeypatch.setenv(static_items.SITE_ENV, "1")
    bundle = ChoiceItem("ep-001", directory=tmp_path)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert "data-item='ep-001'" in bundle["text/html"]


def test_a_link_to_a_missing_file_is_reported(tmp_path):
    from grader.site import check_links

    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "site.css").write_text("")
    (tmp_path / "index.html").write_text(
        "<a href='02_gone.html#top'>x</a><link href='_static/site.css'>"
        "<a href='https://example.org/'>y</a><a href='#here'>z</a>"
    )
    assert check_links(tmp_path) == ["index.html: 02_gone.html#top"]


@pytest.mark.slow
def test_a_cell_error_fails_the_build(tmp_path):
    import nbformat

    from grader.site import SiteBuildError, build

    course = tmp_path / "course"
    course.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, course / "01_broken.ipynb")
    with pytest.raises(SiteBuildError, match="01_broken.ipynb: a cell failed"):
        build(tmp_path / "_site", course=course)
    assert not (tmp_path / "_site").exists()


def test_a_write_first_item_shows_its_candidates_only_after_writing(monkeypatch, tmp_path):
    from grader.widgets import ComposeItem

    class WriteFirstItem(ComposeItem):  # the kind's name is what the site's form is chosen by
        pass

    monkeypatch.setenv(static_items.SITE_ENV, "1")
    page = WriteFirstItem("ep-017", directory=tmp_path)._repr_mimebundle_()["text/html"]
    table = json.loads(
        re.search(r"<script type='application/json'[^>]*>(.*?)</script>", page).group(1)
    )
    item = load_bank().item("ep-017")
    assert [c["text"] for c in table["compose"]["candidates"]] == [r.text for r in item.responses]
    assert "Save and compare" in page and "role='radiogroup'" not in page
    shown = page.split("</script>", 1)[1]
    assert (
        item.responses[0].text[:40] not in shown
    )  # the candidates wait in the table, not on the page


# -- the built site --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def site(tmp_path_factory):
    from grader.cli import main

    out = tmp_path_factory.mktemp("site") / "_site"
    started = time.monotonic()
    assert main(["site", "--out", str(out)]) == 0
    print(f"site built in {time.monotonic() - started:.0f} s")
    return out


@pytest.fixture(scope="session")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _pages(site: Path) -> list[str]:
    skip = {"genindex.html", "search.html"}
    return sorted(p.name for p in site.glob("*.html") if p.name not in skip)


@pytest.mark.slow
def test_every_module_page_is_built_with_items_charts_and_citations(site):
    pages = _pages(site)
    modules = sorted(p.stem for p in (REPO_ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
    assert pages == sorted(["index.html", *(f"{m}.html" for m in modules)])
    module = REPO_ROOT / "course" / "07_alliance_and_the_spectrum.ipynb"
    item_cells = re.findall(
        r"^\s*\"?(?:Choice|Spectrum|Marker|Pattern|Compose|WriteFirst)Item\(",
        module.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    alliance = (site / "07_alliance_and_the_spectrum.html").read_text(encoding="utf-8")
    assert item_cells and alliance.count("class='dialectic-site-item'") == len(
        item_cells
    )  # every item cell
    assert re.search(
        r"<img[^>]+alt=\"Chart: [^\"]+\"[^>]+src=\"_images/[^\"]+\.svg\"|"
        r"<img[^>]+src=\"_images/[^\"]+\.svg\"[^>]+alt=\"Chart: ",
        alliance,
    ), "charts as SVG images"
    assert "McIntyre" in alliance or "Safran" in alliance  # citations kept
    assert "<table" in (site / "index.html").read_text(encoding="utf-8")
    for page in pages:
        text = (site / page).read_text(encoding="utf-8")
        assert "widget-view+json" not in text and "Traceback" not in text, page
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", text), (
            f"{page} loads from another site"
        )


def _assessment_texts(bank) -> list[str]:
    """Every piece of an assessment item a learner must not see: vignette, responses,
    keys' reasons."""
    texts = []
    for item_id in bank.ids(split="assessment"):
        item = bank.item(item_id)
        texts += [item.client_statement, item.session_context]
        if item.therapist_reaction:
            texts.append(item.therapist_reaction)
        for r in item.responses:
            texts += [r.text, r.rationale]
    return [t for t in texts if t and len(t) > 25]


def _forms(text: str) -> set[str]:
    """A text as it may be written into a page or a script: plain, HTML-escaped, JSON-escaped."""
    head = text[:60]
    return {
        head,
        html.escape(head),
        html.escape(head, quote=False),
        json.dumps(head)[1:-1],
        json.dumps(head, ensure_ascii=False)[1:-1],
    }


@pytest.mark.slow
def test_no_assessment_item_key_or_rationale_in_any_file(site):
    bank = load_bank()  # the instructor bank, with every key
    files = [p for p in site.rglob("*") if p.is_file()]
    contents = {p: p.read_bytes().decode("utf-8", errors="ignore") for p in files}
    assessment_ids = bank.ids(split="assessment")
    for text in _assessment_texts(bank):
        forms = _forms(text)
        for path, content in contents.items():
            assert not any(f in content for f in forms), (
                f"{path.relative_to(site)} holds assessment text {text[:40]!r}"
            )
    id_pattern = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, assessment_ids)) + r")(-[a-e])?(?![\w-])"
    )
    for path, content in contents.items():
        found = id_pattern.search(content)
        assert found is None, f"{path.relative_to(site)} names assessment item {found.group(0)}"
    # the scan can fail: the practice items it shares the site with are found
    practice = bank.item("ep-001")
    assert any(
        f in contents[site / "01_orientation.html"] for f in _forms(practice.responses[0].text)
    )
    assert any(
        f in contents[site / "01_orientation.html"] for f in _forms(practice.responses[0].rationale)
    )


# -- in the browser --------------------------------------------------------------------------------
def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _site_only(context, base: str, outside: list[str]) -> None:
    """Block, and remember, every request that would leave the site."""

    def route(route):
        url = route.request.url
        if url.startswith(base + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", route)


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def _feedback(page, item_id: str):
    return page.locator(f".dialectic-site-item[data-item='{item_id}'] .dialectic-feedback-area")


def _item(page, item_id: str, kind: str):
    return page.locator(f".dialectic-site-item[data-item='{item_id}'][data-kind='{kind}']")


@pytest.mark.slow
@pytest.mark.browser
def test_a_learner_answers_reloads_downloads_and_loads(site, served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    bank = load_bank()
    SHOTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        _site_only(context, served, outside)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            # every page opens, and its script has made every item interactive
            for name in _pages(site):
                _open(page, f"{served}/{name}")
                for group in page.locator(".dialectic-site-item [role=radiogroup]").all():
                    expect(group.locator("[role=radio][tabindex='0']")).to_have_count(1)
            assert not errors, errors

            # by mouse: choose, place on the spectrum, name the marker (Orientation)
            _open(page, f"{served}/01_orientation.html")
            choice = bank.item("ep-001")
            picked = choice.responses[1]
            _item(page, "ep-001", "ChoiceItem").get_by_text(
                f"({picked.letter}) {picked.text[:30]}"
            ).click()
            expected = score("ep-001", "choose", picked.response_id, bank=bank)
            expect(_feedback(page, "ep-001")).to_contain_text(f"Score: {expected.credit:.0%}")
            expect(_feedback(page, "ep-001")).to_contain_text(expected.feedback[:80])

            spectrum = bank.item("rc-001")
            first = spectrum.responses[0]
            group = _item(page, "rc-001", "SpectrumItem").get_by_role(
                "radiogroup", name=f"Response ({first.letter}):"
            )
            group.get_by_role("radio", name=LABELS[first.spectrum_position], exact=True).click()
            expect(_feedback(page, "rc-001")).to_contain_text("Score so far")
            expect(_feedback(page, "rc-001")).to_contain_text(first.rationale[:60])
            expect(_feedback(page, "rc-001")).to_contain_text(
                f"{len(spectrum.responses) - 1} more to place"
            )

            marker_item = bank.item("rw-001")
            marker = _item(page, "rw-001", "MarkerItem")
            marker.get_by_role("radio", name="withdrawal", exact=True).click()
            wrong = "denial" if marker_item.marker_3rs != "denial" else "minimal_response"
            marker.get_by_label("3RS marker:").select_option(wrong)
            expected = score(
                "rw-001", "marker", {"rupture_type": "withdrawal", "marker": wrong}, bank=bank
            )
            expect(_feedback(page, "rw-001")).to_contain_text(f"Score: {expected.credit:.0%}")
            marker.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "orientation-answered-1280.png"))

            # by keyboard: the same kinds on other pages, with Tab, arrows and Space
            _open(page, f"{served}/02_empathic_process.html")
            keyboard_choice = _item(page, "ep-002", "ChoiceItem")
            keyboard_choice.locator("input[type=radio]").first.focus()
            page.keyboard.press("Space")
            page.keyboard.press("ArrowDown")  # radios move and choose with the arrows
            second = bank.item("ep-002").responses[1]
            expect(keyboard_choice.locator("input[type=radio]:checked")).to_have_attribute(
                "value", second.response_id
            )
            expected = score("ep-002", "choose", second.response_id, bank=bank)
            expect(_feedback(page, "ep-002")).to_contain_text(expected.feedback[:80])

            spectrum_kb = bank.item("ep-009")
            rows = _item(page, "ep-009", "SpectrumItem").get_by_role("radiogroup")
            rows.first.get_by_role("radio").first.focus()
            page.keyboard.press("ArrowRight")  # from nothing chosen onto "collusive"
            page.keyboard.press("ArrowRight")  # "attuned"
            expect(rows.first.get_by_role("radio", checked=True)).to_have_text("attuned")
            page.keyboard.press("Tab")  # into the next response's group
            page.keyboard.press("Space")  # choose its first option
            placed = {
                spectrum_kb.responses[0].response_id: 0,
                spectrum_kb.responses[1].response_id: -2,
            }
            expected = score("ep-009", "spectrum", placed, bank=bank)
            expect(_feedback(page, "ep-009")).to_contain_text(
                f"Score so far: {expected.credit:.0%}"
            )

            # compose and reflect: typed, saved by their buttons
            compose = _item(page, "ep-017", "ComposeItem")
            compose.get_by_label("Your response:").fill(
                "It sounds as if part of you wants to stop here."
            )
            compose.get_by_role("radiogroup").first.get_by_role(
                "radio", name="4", exact=True
            ).click()
            compose.get_by_role("button", name="Save my response").click()
            expect(_feedback(page, "ep-017")).to_contain_text("Compare with the keyed response")
            expect(_feedback(page, "ep-017")).to_contain_text(bank.item("ep-017").best.text[:60])
            reflection = page.locator(".dialectic-site-reflection")
            reflection.get_by_label("Reflection:").fill("I lean toward reassuring.")
            reflection.get_by_role("button", name="Save reflection").click()
            expect(reflection.locator(".dialectic-status")).to_have_text("Saved in this browser.")

            _open(page, f"{served}/06_attachment_and_the_therapist.html")
            pattern = _item(page, "at-003", "PatternItem")
            pattern.get_by_role("radio", name="dismissing", exact=True).click()  # mouse
            expected = score("at-003", "pattern", "dismissing", bank=bank)
            expect(_feedback(page, "at-003")).to_contain_text(expected.feedback)
            keyboard_pattern = _item(page, "at-001", "PatternItem")
            keyboard_pattern.get_by_role("radio", name="secure", exact=True).focus()
            page.keyboard.press("End")  # the last state, "preoccupied"
            expected = score("at-001", "pattern", "preoccupied", bank=bank)
            expect(_feedback(page, "at-001")).to_contain_text(expected.feedback)

            _open(page, f"{served}/04_rupture_repair.html")
            keyboard_marker = _item(page, "rw-003", "MarkerItem")
            keyboard_marker.get_by_role("radio", name="no rupture", exact=True).focus()
            page.keyboard.press("Enter")
            expected = score(
                "rw-003", "marker", {"rupture_type": "none", "marker": "none"}, bank=bank
            )
            expect(_feedback(page, "rw-003")).to_contain_text(f"Score: {expected.credit:.0%}")

            # reload: every answer is still there
            _open(page, f"{served}/01_orientation.html")
            expect(_item(page, "ep-001", "ChoiceItem").locator("input:checked")).to_have_attribute(
                "value", picked.response_id
            )
            expect(group.get_by_role("radio", checked=True)).to_have_text(
                LABELS[first.spectrum_position]
            )
            expect(marker.get_by_label("3RS marker:")).to_have_value(wrong)
            expect(_item(page, "rw-001", "MarkerItem").locator(".dialectic-status")).to_have_text(
                "Your earlier answer is restored."
            )

            # the progress page, computed in the browser
            _open(page, f"{served}/09_my_progress.html")
            summary = page.locator("table.dialectic-summary")
            expect(summary).to_contain_text("answered")
            expect(summary).to_contain_text("Withdrawal ruptures")  # areas in words
            assert "_" not in summary.inner_text()
            expect(page.locator("[data-part=tendency]")).to_contain_text("not enough data")
            expect(page.locator("[data-part=next] .dialectic-site-item")).to_have_count(5)
            page.screenshot(path=str(SHOTS / "progress-1280.png"), full_page=True)

            with page.expect_download() as download:
                page.get_by_role("button", name="Download my answers").click()
            saved = tmp_path / "download" / "responses.json"
            saved.parent.mkdir()
            download.value.save_as(saved)
            document = AnswerStore(saved.parent).load()
            in_browser = page.evaluate("JSON.parse(localStorage.getItem('dialectic-responses'))")
            assert document == in_browser
            answers = {
                item: {t: e["value"] for t, e in tasks.items()}
                for item, tasks in document["answers"].items()
            }
            assert answers == {
                "ep-001": {"choose": picked.response_id},
                "rc-001": {"spectrum": {first.response_id: first.spectrum_position}},
                "rw-001": {"marker": {"rupture_type": "withdrawal", "marker": wrong}},
                "ep-002": {"choose": second.response_id},
                "ep-009": {"spectrum": placed},
                "at-003": {"pattern": "dismissing"},
                "at-001": {"pattern": "preoccupied"},
                "rw-003": {"marker": {"rupture_type": "none", "marker": "none"}},
                "ep-017": {
                    "compose": {
                        "text": "It sounds as if part of you wants to stop here.",
                        "self_rating": {"empathy": 4},
                    }
                },
            }
            assert [r["text"] for r in document["reflections"].values()] == [
                "I lean toward reassuring."
            ]

            # a bad file is refused with a message, and nothing is lost
            bad = tmp_path / "bad.json"
            bad.write_text(
                json.dumps(
                    {"schema_version": 1, "answers": {"ep-001": {"choose": "x"}}, "reflections": {}}
                )
            )
            page.locator("input[type=file]").set_input_files(str(bad))
            expect(page.get_by_role("alert")).to_contain_text("bad.json was not loaded")
            assert (
                page.evaluate("JSON.parse(localStorage.getItem('dialectic-responses'))")
                == in_browser
            )

            # a notebook's responses.json loads: a newer answer replaces, a new one is added
            store = AnswerStore(tmp_path / "notebook")
            store.record("ep-001", "choose", choice.best.response_id)
            store.record("ep-003", "choose", bank.item("ep-003").responses[0].response_id)
            page.locator("input[type=file]").set_input_files(str(store.path))
            expect(page.locator("[data-part=files] [role=status]")).to_contain_text(
                "Loaded responses.json"
            )
            merged = page.evaluate("JSON.parse(localStorage.getItem('dialectic-responses'))")
            assert merged["answers"]["ep-001"]["choose"]["value"] == choice.best.response_id
            assert "ep-003" in merged["answers"] and "rw-003" in merged["answers"]
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.screenshot(path=str(SHOTS / "progress-1920.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert not errors, errors
    assert not outside, f"requests left the site: {outside[:5]}"


def _axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.slow
@pytest.mark.browser
def test_no_serious_accessibility_problem_on_any_page(site, served):
    from playwright.sync_api import sync_playwright

    assert AXE.exists(), f"axe-core is missing: `make test` installs it into {AXE.parent}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    with sync_playwright() as p:
        browser = _browser(p)
        outside: list[str] = []
        for width in (1280, 1920):
            context = browser.new_context(viewport={"width": width, "height": 1000})
            _site_only(context, served, outside)
            page = context.new_page()
            for name in _pages(site):
                _open(page, f"{served}/{name}")
                page.screenshot(path=str(SHOTS / f"{Path(name).stem}-{width}.png"))
                if width == 1280:
                    found = _axe(page)
                    if found:
                        problems[name] = found
                _check_layout(page, name)
            context.close()
        browser.close()
    assert not problems, json.dumps(problems, indent=1)
    assert not outside, outside[:5]


def _check_layout(page, name: str) -> None:
    """Text legible and nothing overlapping: the items' controls sit inside the text column."""
    boxes = page.evaluate("""() => {
        const article = document.querySelector('main article, article.bd-article, main');
        const limit = article.getBoundingClientRect();
        const items = document.querySelectorAll('.dialectic-site-item, .dialectic-site-reflection');
        return Array.from(items)
          .filter(e => e.offsetParent !== null)
          .map(e => { const r = e.getBoundingClientRect();
                      const font = parseFloat(getComputedStyle(e).fontSize);
                      return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                              limitLeft: limit.left, limitRight: limit.right, font}; });
    }""")
    for box in boxes:
        assert box["font"] >= 12, f"{name}: item text smaller than 12 px"
        assert box["left"] >= box["limitLeft"] - 1 and box["right"] <= box["limitRight"] + 1, (
            f"{name}: an item overflows"
        )
    for above, below in zip(boxes, boxes[1:], strict=False):
        assert below["top"] >= above["bottom"] - 1, f"{name}: two items overlap"


# -- the same audit on the notebook course's widgets, in a real JupyterLab -------------------------
from tests.test_browser import _end_sessions, _run_all, _wait_for_kernel, course_server  # noqa: E402,F401

AUDITED_MODULE = "08_integration.ipynb"  # every kind of item, a reflection and charts


def _accept_dialog(dialog) -> None:
    """Accept a dialog JupyterLab raised, such as "Select Kernel" when its kernel list came late
    on a loaded machine: its default (the notebook's own kernel) is what the test wants."""
    print(f"JupyterLab dialog accepted: {dialog.inner_text()!r}")
    dialog.locator(".jp-mod-accept").first.click()


@pytest.mark.slow
@pytest.mark.browser
def test_no_serious_accessibility_problem_in_the_jupyterlab_widgets(course_server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    assert AXE.exists(), f"axe-core is missing: `make test` installs it into {AXE.parent}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.add_locator_handler(page.locator(".jp-Dialog"), _accept_dialog)
        try:
            _end_sessions(course_server)
            page.goto(
                f"{course_server['url']}/lab/tree/{AUDITED_MODULE}?reset&token={course_server['token']}"
            )
            _wait_for_kernel(page, course_server)
            widgets = page.locator(".dialectic-item-widget")
            for attempt in range(3):  # on a loaded machine a Run All can be lost; run it again
                _run_all(page)
                try:
                    widgets.nth(5).wait_for(timeout=120_000)
                    break
                except Exception:
                    if attempt == 2:
                        raise
            page.locator(".widget-dropdown").first.wait_for(timeout=60_000)
            # axe looks at the cells' outputs only: JupyterLab's own interface is not ours to fix
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            results = page.evaluate(
                "axe.run({include: [['.jp-OutputArea-output']]}, {resultTypes: ['violations']})"
            )
            page.screenshot(path=str(SHOTS / "jupyterlab-widgets-1280.png"))
        except Exception:
            page.screenshot(path=str(SHOTS / "jupyterlab-failure.png"))
            dialogs = page.locator(".jp-Dialog")
            if dialogs.count():
                raise AssertionError(
                    f"JupyterLab showed a dialog: {dialogs.first.inner_text()!r}"
                ) from None
            raise
        finally:
            browser.close()
    serious = [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, json.dumps(serious, indent=1)
