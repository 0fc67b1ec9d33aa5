"""The expert review of the keys: blind sheets, validated import, the panel's figures."""

from __future__ import annotations

import csv
import re
import shutil

import pandas as pd
import pytest

from grader.cli import main
from grader.item_review import export_sheets, import_sheet, load_reviews, simulate_sheet
from grader.itembank import load_bank
from grader.review_report import record_in_bank, review_tables, write_report
from tests.conftest import BANK


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def panel(tmp_path_factory, bank):
    """Four reviewers' sheets for a sample of 12 vignettes; R04's sheet is malformed."""
    course = tmp_path_factory.mktemp("course")
    exported = export_sheets(course, 4, course / "sheets", sample=12, seed=3, bank=bank)
    for i, sheet in enumerate(exported.sheets, start=1):
        simulate_sheet(sheet, seed=i, course=course, bank=bank)
    bad = exported.sheets[3]
    rows = _rows(bad)
    header = rows[0]
    col = {name: header.index(name) for name in header}
    response_rows = [i for i, r in enumerate(rows) if r[col["kind"]] == "response"]
    vignette_rows = [i for i, r in enumerate(rows) if r[col["kind"]] == "vignette"]
    rows[response_rows[0]][col["position"]] = "3"  # off the scale
    rows[response_rows[1]][col["unsafe"]] = "x"  # unsafe without a reason
    rows[response_rows[1]][col["unsafe_reason"]] = ""
    rows[response_rows[2]][col["text"]] += " (edited)"  # text changed
    rows[vignette_rows[1]][col["relevance"]] = "high"  # not 1-4
    rows[response_rows[3]][col["response"]] = "R-00000000"  # unknown code
    _write(bad, rows)
    reports = [import_sheet(course, sheet, bank=bank) for sheet in exported.sheets]
    bad_rows = {
        response_rows[0],
        response_rows[1],
        response_rows[2],
        vignette_rows[1],
        response_rows[3],
    }
    return course, exported, reports, bad_rows


def test_sheets_are_blind_and_shuffled(panel, bank):
    course, exported, _, _ = panel
    assert len(exported.sheets) == 4 and len(exported.vignettes) == 12
    assert exported.readme.read_text(encoding="utf-8").startswith("How to review")
    first = _rows(exported.sheets[0])
    text = exported.sheets[0].read_text(encoding="utf-8-sig")
    # no bank id, and none of the keys or their feedback, is on a sheet
    assert not re.search(r"\b(ep|is|rw|rc|at)-\d{3}", text)
    for item_id in exported.vignettes:
        for r in bank.item(item_id).responses:
            assert r.rationale not in text
    orders = [[row[2] for row in _rows(s)[1:] if row[0] == "response"] for s in exported.sheets]
    assert len({tuple(o) for o in orders}) == 4, "every reviewer gets an order of their own"
    assert sorted(orders[0]) == sorted(orders[1])
    assert first[0][:4] == ["kind", "vignette", "response", "text"]


def test_a_malformed_sheet_names_every_bad_row_and_keeps_the_good_ones(panel):
    course, _, reports, bad_rows = panel
    assert all(r.ok for r in reports[:3])
    bad = reports[3]
    assert not bad.ok
    assert bad.bad_row_numbers == sorted(bad_rows)
    messages = " | ".join(str(p) for p in bad.bad_rows)
    assert "position '3' is not a whole number from -2 to 2" in messages
    assert "flagged unsafe without a reason" in messages
    assert "response text differs from the exported one" in messages
    assert "relevance 'high' is not a whole number from 1 to 4" in messages
    assert "response 'R-00000000' is not a response of vignette" in messages
    assert "review-R04.csv, row" in messages
    stored = load_reviews(course)
    assert set(stored["reviewer"]) == {"R01", "R02", "R03", "R04"}
    r4 = stored[stored["reviewer"] == "R04"]
    assert bad.added == len(r4) > 60


def _own_copy(course, tmp_path):
    """A copy of the panel's course (its secret and store) that a test may change."""
    return shutil.copytree(course, tmp_path / "course")


def test_two_responses_marked_best_are_both_refused(panel, bank, tmp_path):
    course, exported, _, _ = panel
    course = _own_copy(course, tmp_path)
    rows = _rows(exported.sheets[0])
    responses = [i for i, r in enumerate(rows) if r[0] == "response"]
    first_vignette = rows[responses[0]][1]
    same = [i for i in responses if rows[i][1] == first_vignette]
    for i in same[:2]:
        rows[i][5] = "x"
    sheet = tmp_path / "review-R09.csv"
    _write(sheet, rows)
    report = import_sheet(course, sheet, bank=bank)
    assert set(same[:2]) <= set(report.bad_row_numbers)
    assert "is marked best, and so are row(s)" in str(report.bad_rows[0])


def test_a_changed_rating_conflicts_unless_replaced(panel, bank, tmp_path):
    course, exported, _, _ = panel
    course = _own_copy(course, tmp_path)
    rows = _rows(exported.sheets[1])
    i = next(i for i, r in enumerate(rows) if r[0] == "response" and r[4] == "0")
    rows[i][4] = "1"
    sheet = tmp_path / "review-R02.csv"
    _write(sheet, rows)
    report = import_sheet(course, sheet, bank=bank)
    assert (
        len(report.conflicts) == 1
        and report.replaced == 0
        and "--replace" in str(report.conflicts[0])
    )
    report = import_sheet(course, sheet, bank=bank, replace=True)
    assert report.replaced == 1 and report.ok


def test_the_panel_figures(panel, bank, tmp_path):
    course, exported, _, _ = panel
    tables = review_tables(load_reviews(course), bank)
    assert len(tables.vignettes) == 12
    assert set(tables.responses["response_id"]) == {
        r.response_id for i in exported.vignettes for r in bank.item(i).responses
    }
    figures = dict(zip(tables.bank["figure"], tables.bank["value"], strict=True))
    assert figures["reviewers"] == "4"
    assert 0.75 <= float(figures["S-CVI/Ave"]) <= 1
    assert figures["CVR critical value"] == ""  # four cannot reach p < .05
    assert float(figures["Krippendorff's alpha, panel"]) > 0.8
    # the simulated panel places one-step keys two steps off: some keys are flagged milder
    assert int(figures["key milder than panel majority"]) > 0
    paths = write_report(tables, tmp_path / "review.html", bank=bank)
    assert [p.name for p in paths] == [
        "review.html",
        "review.bank.csv",
        "review.vignettes.csv",
        "review.responses.csv",
    ]
    page = paths[0].read_text(encoding="utf-8")
    assert "data-table='review_bank'" in page and "S-CVI/Ave" in page and "<script" not in page
    assert pd.read_csv(paths[3])["response_id"].nunique() == len(tables.responses)


def _store(rows):
    frame = pd.DataFrame(
        rows, columns=["reviewer", "item_id", "response_id", "measure", "value", "note"]
    )
    return frame.assign(version=1, imported_at="2026-11-30T00:00:00+00:00")


def test_flags_follow_their_definitions(bank):
    """Hand-made placements of three reviewers on one vignette, checked flag by flag."""
    item = bank.item("ep-001")
    keys = {r.response_id: r.spectrum_position for r in item.responses}
    placements = {rid: [key] * 3 for rid, key in keys.items()}
    mild = next(rid for rid, k in keys.items() if abs(k) == 1)
    strong = next(rid for rid, k in keys.items() if k == -2)
    attuned = next(rid for rid, k in keys.items() if k == 0)
    placements[strong] = [-1, -1, -2]  # key harsher than the majority
    placements[attuned] = [1, 1, 0]  # panel majority confrontational: direction
    placements[mild] = [2 * keys[mild]] * 3  # key milder than the majority
    other = next(rid for rid in keys if rid not in (strong, attuned, mild))
    placements[other] = [keys[other], 2, -1]  # no majority: low agreement
    rows = []
    for reviewer in ("R1", "R2", "R3"):
        rows += [
            (reviewer, "ep-001", "", "relevance", "4", ""),
            (reviewer, "ep-001", "", "essential", "essential", ""),
            (reviewer, "ep-001", "", "best", item.best.response_id, ""),
        ]
    for rid, values in placements.items():
        rows += [
            (f"R{i}", "ep-001", rid, "position", str(v), "") for i, v in enumerate(values, start=1)
        ]
    rows.append(("R2", "ep-001", strong, "unsafe", "yes", "shaming"))
    tables = review_tables(_store(rows), bank)
    flags = dict(zip(tables.responses["response_id"], tables.responses["flags"], strict=True))
    assert flags[strong] == "key one step harsher than the panel majority"
    assert flags[attuned].startswith("direction: key attuned, panel majority confrontational")
    assert "low panel agreement" in flags[other]
    assert flags[mild] == "key one step milder than the panel majority"
    row = tables.vignettes.iloc[0]
    assert (row["i_cvi"], row["best_agreement"], row["essential"], row["cvr"]) == (
        1.0,
        1.0,
        "3/3",
        1.0,
    )
    assert row["unsafe_flags"] == 1
    assert tables.responses.set_index("response_id").at[strong, "unsafe_reasons"] == "shaming"


def test_recording_the_review_in_the_bank(panel, bank_copy):
    course, exported, _, _ = panel
    copy = load_bank(bank_copy)
    tables = review_tables(load_reviews(course), copy)
    recorded = record_in_bank(tables, copy, on="2026-12-01")
    assert sorted(recorded) == sorted(exported.vignettes)
    after = load_bank(bank_copy)
    item = after.item(recorded[0])
    assert item.review_status == "expert_reviewed" and item.reviewed_on == "2026-12-01"
    assert item.review_panel_size == 4 and 0 <= item.review_icvi <= 1
    assert item.version == copy.item(recorded[0]).version, "figures are not keys: no version bump"
    from grader.analytics import with_review_status

    analysis = pd.DataFrame(
        {
            "item_id": [recorded[0], others_id(after, recorded)],
            "p": [0.5, 0.7],
            "discrimination": [0.3, 0.1],
            "flags": ["", ""],
        }
    )
    shown = with_review_status(analysis, after)
    assert list(shown.columns)[:4] == ["item_id", "p", "discrimination", "review"]
    assert shown["review"].tolist() == ["expert reviewed", "author keyed"]
    assert shown["panel"].iloc[0] == 4 and pd.isna(shown["panel I-CVI"].iloc[1])
    others = [i for i in after.ids() if i not in recorded]
    assert all(
        after.item(i).review_status == "author_keyed" and after.item(i).review_icvi is None
        for i in others
    )


def others_id(bank, recorded):
    return next(i for i in bank.ids() if i not in recorded)


def test_review_figures_without_the_status_are_refused(bank_copy):
    from grader.errors import DataValidationError
    from tests.conftest import edit_csv

    edit_csv(bank_copy / "vignettes.csv", 1, "review_icvi", "0.9")
    with pytest.raises(DataValidationError, match="author-keyed item has had no expert review"):
        load_bank(bank_copy)


def test_cli_round_trip(tmp_path, capsys):
    course = tmp_path / "course"
    assert (
        main(
            [
                "items",
                "review",
                "export",
                "--reviewers",
                "2",
                "--area",
                "rupture_withdrawal",
                "--sample",
                "5",
                "--seed",
                "1",
                "--out",
                str(tmp_path / "sheets"),
                "--course",
                str(course),
            ]
        )
        == 0
    )
    assert "2 blind review sheet(s) of 5 vignettes" in capsys.readouterr().out
    for i in (1, 2):
        sheet = tmp_path / "sheets" / f"review-R0{i}.csv"
        assert (
            main(
                [
                    "items",
                    "review",
                    "simulate",
                    str(sheet),
                    "--seed",
                    str(i),
                    "--course",
                    str(course),
                ]
            )
            == 0
        )
        assert main(["items", "review", "import", str(sheet), "--course", str(course)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "items",
                "review",
                "report",
                "--out",
                str(tmp_path / "r.html"),
                "--course",
                str(course),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Review of 5 vignettes by 2 reviewers" in out and "S-CVI/Ave" in out
    assert (tmp_path / "r.vignettes.csv").exists()
    assert (
        main(
            [
                "items",
                "review",
                "import",
                str(tmp_path / "nothing.csv"),
                "--reviewer",
                "R01",
                "--course",
                str(course),
            ]
        )
        == 1
    )
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_reads_in_a_browser(panel, bank, tmp_path):
    """At 1280 px: the tables are there, legible, and no cell overlaps its neighbour."""
    from playwright.sync_api import sync_playwright

    from tests.test_lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    course, _, _, _ = panel
    page_path = write_report(
        review_tables(load_reviews(course), bank), tmp_path / "review.html", bank=bank
    )[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_path.as_uri())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "item-review-1280.png"), full_page=False)
        for name in ("review_bank", "review_vignettes", "review_flagged", "review_responses"):
            table = page.locator(f"table[data-table='{name}']")
            assert table.is_visible(), name
        layout = page.evaluate("""() => {
            const out = {small: [], overlaps: [], broken: []};
            for (const cell of document.querySelectorAll('th, td')) {
                const size = parseFloat(getComputedStyle(cell).fontSize);
                if (size < 11) out.small.push(cell.textContent);
            }
            for (const row of document.querySelectorAll('tr')) {
                const cells = [...row.children].map(c => c.getBoundingClientRect());
                for (let i = 1; i < cells.length; i++)
                    if (cells[i].left < cells[i - 1].right - 1)
                        out.overlaps.push(row.textContent.slice(0, 40));
            }
            // a word never breaks mid-word: every cell is at least as wide as its longest word
            const ctx = document.createElement('canvas').getContext('2d');
            for (const cell of document.querySelectorAll('table[data-table^=review] td')) {
                const style = getComputedStyle(cell);
                ctx.font = style.font;
                const words = cell.textContent.split(/\\s+/);
                const longest = Math.max(0, ...words.map(w => ctx.measureText(w).width));
                const inner = cell.clientWidth - parseFloat(style.paddingLeft)
                    - parseFloat(style.paddingRight);
                if (longest > inner + 1) out.broken.push(cell.textContent.slice(0, 40));
            }
            return out;
        }""")
        browser.close()
    assert layout == {"small": [], "overlaps": [], "broken": []}
    assert "S-CVI/Ave" in page_path.read_text(encoding="utf-8")
