"""The expert panel's figures: per response, per vignette and for the bank, as HTML and CSV.

:func:`review_tables` turns the stored review ratings (:mod:`grader.item_review`) and the
bank's keys into three tables; :func:`write_report` writes them as one self-contained
HTML page in the style of the cohort report and as CSV files beside it;
:func:`record_in_bank` writes each reviewed vignette's latest figures into the bank.

Per response: the panel's median and majority placement, how often the panel placed it
where the key does, and flags: the key disagrees with the panel majority on direction; the
key is one step milder or harsher than the panel majority; the panel itself disagrees.
Per vignette: I-CVI with k*, Lawshe's CVR against its critical value, the share picking the
keyed best, unsafe flags. For the bank: S-CVI/Ave, S-CVI/UA, the mean CVR and Krippendorff's
alpha of the placements (panel; panel plus key as one more rater).
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from grader import content_validity as cv
from grader.agreement import krippendorff_alpha
from grader.atomic_file import write_atomically
from grader.errors import GraderError
from grader.itembank import REVIEW_COLUMNS, ItemBank, load_bank
from grader.report import _CSS
from grader.tables import CSS as TABLE_CSS
from grader.tables import frame_table as _table

SPECTRUM = (-2, -1, 0, 1, 2)
DIRECTIONS = {-1: "collusive", 0: "attuned", 1: "confrontational"}
#: Fewest reviewers whose figures are written into the bank (the dictionary's minimum).
MIN_PANEL = 2


@dataclass(frozen=True)
class ReviewTables:
    responses: pd.DataFrame
    vignettes: pd.DataFrame
    bank: pd.DataFrame
    """One row per figure: name, value, threshold or reading, note."""
    reviewers: tuple[str, ...]


def review_tables(stored: pd.DataFrame, bank: ItemBank) -> ReviewTables:
    """The panel's figures from the stored ratings (``load_reviews``) and the bank's keys."""
    if stored.empty:
        raise GraderError(
            "No review ratings are stored yet: export sheets with `dialectic items review "
            "export`, have the panel fill them, and import them with `... import`."
        )
    stored = stored.astype({"item_id": str, "measure": str, "value": str})
    reviewers = tuple(sorted(stored["reviewer"].astype(str).unique()))
    items = sorted(stored["item_id"].unique())
    placed = stored[stored["measure"] == "position"]
    positions = {
        (r, rid): int(v)
        for r, rid, v in zip(
            placed["reviewer"], placed["response_id"], placed["value"], strict=True
        )
    }
    unsafe = stored[stored["measure"] == "unsafe"]
    response_rows, vignette_rows = [], []
    for item_id in items:
        item = bank.item(item_id)
        rows = [_response_row(r, reviewers, positions, unsafe) for r in item.responses]
        response_rows += rows
        vignette_rows.append(_vignette_row(item, stored[stored["item_id"] == item_id], rows))
    responses = pd.DataFrame(response_rows).round(3).astype({"panel_majority": "Int64"})
    vignettes = pd.DataFrame(vignette_rows).round(3)
    return ReviewTables(
        responses, vignettes, _bank_rows(vignettes, responses, reviewers, positions), reviewers
    )


def _response_row(response, reviewers, positions, unsafe) -> dict:
    key = response.spectrum_position
    given = [
        positions[(r, response.response_id)]
        for r in reviewers
        if (r, response.response_id) in positions
    ]
    n = len(given)
    majority = _majority(given)
    direction = _majority([_sign(p) for p in given])
    flags = []
    if direction is not None and direction != _sign(key):
        flags.append(
            f"direction: key {DIRECTIONS[_sign(key)]}, panel majority {DIRECTIONS[direction]}"
        )
    elif majority is not None and _sign(majority) == _sign(key) and majority != key:
        flags.append(
            "key one step milder than the panel majority"
            if abs(majority) > abs(key)
            else "key one step harsher than the panel majority"
        )
    if n >= 2 and (majority is None or _iqr(given) >= 2):
        flags.append("low panel agreement")
    flagged = unsafe[unsafe["response_id"] == response.response_id]
    return {
        "item_id": response.item_id,
        "response_id": response.response_id,
        "key": key,
        "n": n,
        "panel_median": float(np.median(given)) if given else None,
        "panel_majority": majority,
        "placements": " ".join(f"{p:+d}" if p else "0" for p in sorted(given)),
        "agreement_with_key": sum(p == key for p in given) / n if n else None,
        "flags": "; ".join(flags),
        "unsafe_flags": len(flagged),
        "unsafe_reasons": " | ".join(str(x) for x in flagged["note"].dropna()),
        "safety_note_in_bank": "yes" if response.safety_note else "",
    }


def _vignette_row(item, ratings: pd.DataFrame, response_rows: list[dict]) -> dict:
    relevance = [int(v) for v in ratings.loc[ratings["measure"] == "relevance", "value"]]
    essential = ratings.loc[ratings["measure"] == "essential", "value"].tolist()
    best = ratings.loc[ratings["measure"] == "best", "value"].tolist()
    icvi = cv.i_cvi(relevance)
    agreeing = sum(r in cv.RELEVANT for r in relevance)
    kstar = cv.modified_kappa(len(relevance), agreeing) if relevance else None
    n_ess = sum(e == cv.ESSENTIAL for e in essential)
    ratio = cv.cvr(n_ess, len(essential)) if essential else None
    critical = cv.cvr_critical(len(essential)) if essential else None
    placements = sum(r["n"] for r in response_rows)
    exact = sum((r["agreement_with_key"] or 0) * r["n"] for r in response_rows)
    flags = []
    if icvi is not None and icvi < cv.ICVI_THRESHOLD:
        flags.append(f"I-CVI below {cv.ICVI_THRESHOLD:.2f}".replace("0.", "."))
    if ratio is not None and critical is not None and ratio < critical[1]:
        flags.append("CVR below its critical value")
    best_share = sum(b == item.best.response_id for b in best) / len(best) if best else None
    if best_share is not None and best_share < 0.5:
        others = Counter(b for b in best if b != item.best.response_id).most_common(1)
        flags.append(
            f"panel mostly chose {others[0][0][-1]} as best, not the key {item.best.letter}"
        )
    flagged = [r for r in response_rows if r["flags"]]
    if flagged:
        flags.append(f"{len(flagged)} response(s) flagged")
    return {
        "item_id": item.item_id,
        "area": item.area.replace("_", " "),
        "split": item.split,
        "version": item.version,
        "review_status": item.review_status.replace("_", " "),
        "reviewers": int(ratings["reviewer"].nunique()),
        "i_cvi": icvi,
        "k_star": kstar,
        "k_star_reading": cv.kappa_label(kstar) if kstar is not None else "",
        "essential": f"{n_ess}/{len(essential)}" if essential else "",
        "cvr": ratio,
        "cvr_critical": critical[1] if critical else None,
        "best_agreement": best_share,
        "key_agreement": exact / placements if placements else None,
        "unsafe_flags": sum(r["unsafe_flags"] for r in response_rows),
        "flags": "; ".join(flags),
    }


def _bank_rows(
    vignettes: pd.DataFrame, responses: pd.DataFrame, reviewers, positions
) -> pd.DataFrame:
    icvis = [v for v in vignettes["i_cvi"] if v is not None and not pd.isna(v)]
    ave = float(np.mean(icvis)) if icvis else None
    ua = sum(v == 1.0 for v in icvis) / len(icvis) if icvis else None
    cvrs = [v for v in vignettes["cvr"] if v is not None and not pd.isna(v)]
    critical = cv.cvr_critical(len(reviewers))
    ids = responses["response_id"].tolist()
    panel = np.array(
        [[positions.get((r, rid), np.nan) for rid in ids] for r in reviewers], dtype=float
    )
    key = np.array([responses["key"].astype(float).to_numpy()])
    alpha_panel = krippendorff_alpha(panel, "interval", value_domain=SPECTRUM)
    alpha_key = krippendorff_alpha(np.vstack([panel, key]), "interval", value_domain=SPECTRUM)

    def flag_count(text: str) -> str:
        return str(int(responses["flags"].str.contains(text, regex=False).sum()))

    def fmt(value, digits=2):
        return "" if value is None else f"{float(value):.{digits}f}"

    rows = [
        ("vignettes reviewed", str(len(vignettes)), "", ""),
        ("responses reviewed", str(len(responses)), "", ""),
        ("reviewers", str(len(reviewers)), "", ", ".join(reviewers)),
        (
            "S-CVI/Ave",
            fmt(ave),
            f">= {cv.SCVI_AVE_THRESHOLD:.2f} (Polit, Beck & Owen 2007)",
            "" if ave is None else ("meets it" if ave >= cv.SCVI_AVE_THRESHOLD else "below it"),
        ),
        (
            "S-CVI/UA",
            fmt(ua),
            "share of vignettes every reviewer rated 3 or 4 (Polit & Beck 2006)",
            "",
        ),
        (
            "vignettes with I-CVI >= .78",
            str(sum(v >= cv.ICVI_THRESHOLD for v in icvis)),
            f"of {len(icvis)}",
            "",
        ),
        ("mean CVR (Lawshe)", fmt(float(np.mean(cvrs)) if cvrs else None), "", ""),
        (
            "CVR critical value",
            fmt(critical[1], 3) if critical else "",
            f"panel of {len(reviewers)}, exact binomial, one-tailed .05 (Ayre & Scally 2014)",
            f"{critical[0]} of {len(reviewers)} must say essential"
            if critical
            else "a panel this small cannot reach p < .05, even unanimously",
        ),
        (
            "Krippendorff's alpha, panel",
            fmt(alpha_panel.value, 3),
            alpha_panel.label,
            alpha_panel.reason or "interval, spectrum placements",
        ),
        (
            "Krippendorff's alpha, panel + key",
            fmt(alpha_key.value, 3),
            alpha_key.label,
            alpha_key.reason or "the key as one more rater",
        ),
        ("key milder than panel majority", flag_count("milder"), "responses", ""),
        ("key harsher than panel majority", flag_count("harsher"), "responses", ""),
        ("key direction differs from panel majority", flag_count("direction:"), "responses", ""),
        ("low panel agreement", flag_count("low panel agreement"), "responses", ""),
        (
            "responses flagged unsafe",
            str(int((responses["unsafe_flags"] > 0).sum())),
            "by at least one reviewer",
            "",
        ),
    ]
    return pd.DataFrame(rows, columns=["figure", "value", "threshold or reading", "note"])


def _majority(values: list[int]) -> int | None:
    """The value more than half of ``values`` share, or None."""
    if not values:
        return None
    value, count = Counter(values).most_common(1)[0]
    return value if count > len(values) / 2 else None


def _iqr(values: list[int]) -> float:
    """The spread of the middle half of the placements (0 when most reviewers agree)."""
    low, high = np.percentile(values, [25, 75])
    return float(high - low)


def _sign(position: int) -> int:
    return (position > 0) - (position < 0)


# -- output ---------------------------------------------------------------------------------

#: What the table of flagged responses shows (the CSV and the full table have every column).
FLAGGED_COLUMNS = [
    "response_id",
    "text",
    "key",
    "placements",
    "panel_majority",
    "agreement_with_key",
    "flags",
    "unsafe_reasons",
]
#: Words stay whole in these tables; a wide table scrolls sideways instead.
_REVIEW_CSS = "td {overflow-wrap: break-word;}"


def write_report(
    tables: ReviewTables,
    out: Path | str,
    *,
    title: str = "Expert review of the item bank",
    bank: ItemBank | None = None,
) -> list[Path]:
    """Write the HTML report to ``out`` and three CSV files beside it; return every path written."""
    bank = bank or load_bank()

    def bank_text(response_id: str) -> str:
        return bank.response(response_id).text

    out = Path(out)
    paths = []
    for name, frame in (
        ("bank", tables.bank),
        ("vignettes", tables.vignettes),
        ("responses", tables.responses),
    ):
        path = out.with_name(f"{out.stem}.{name}.csv")
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        write_atomically(path, buffer.getvalue(), encoding="utf-8")
        paths.append(path)
    flagged = tables.responses[tables.responses["flags"] != ""]
    flagged = flagged.assign(text=[bank_text(rid) for rid in flagged["response_id"]])[
        FLAGGED_COLUMNS
    ]
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from "
        f"{len(tables.reviewers)} reviewers' blind sheets. Reviewers are shown by pseudonym. The "
        "panel's figures are a prompt to look again at a key, not a verdict: a key changes only "
        "after discussion, with its reason recorded in key_changes.csv.</p>",
        "<h2 id='bank'>The bank</h2>",
        "<p class='note'>I-CVI: share of reviewers rating a vignette's relevance 3 or 4 (of 4); "
        "Polit, Beck &amp; Owen (2007) ask for I-CVI &gt;= .78 and S-CVI/Ave &gt;= .90. CVR: "
        "Lawshe's content validity ratio of 'essential' ratings, against the exact binomial "
        "critical value for the panel size (Ayre &amp; Scally 2014). Alpha: Krippendorff's, "
        "interval, of the spectrum placements.</p>",
        _table(tables.bank, "review_bank"),
        "<h2 id='vignettes'>Vignettes</h2>",
        "<p class='note'>k*: I-CVI adjusted for chance agreement (&gt; .74 excellent, .60-.74 "
        "good, .40-.59 fair). Best agreement: share of reviewers who picked the keyed best "
        "response. Key agreement: share of all placements of the vignette's responses that equal "
        "the key.</p>",
        _table(_flags_first(tables.vignettes), "review_vignettes", flagged="flags"),
        f"<h2 id='flagged'>Responses to look at again ({len(flagged)})</h2>",
        "<p class='note'>Placements: each reviewer's position, -2 strongly collusive to +2 "
        "strongly confrontational. Milder or harsher: the key sits one step nearer to or further "
        "from attuned than the panel majority.</p>",
        _table(flagged, "review_flagged", flagged="flags")
        if len(flagged)
        else "<p>No response is flagged.</p>",
        "<h2 id='responses'>Every response</h2>",
        _table(tables.responses, "review_responses", flagged="flags"),
    ]
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}{TABLE_CSS}{_REVIEW_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    write_atomically(out, page, encoding="utf-8")
    return [out, *paths]


def _flags_first(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its flags right after the id, where a reader scanning the rows sees them."""
    rest = [c for c in frame.columns if c not in ("item_id", "flags")]
    return frame[["item_id", "flags", *rest]]


def record_in_bank(tables: ReviewTables, bank: ItemBank, *, on: str | None = None) -> list[str]:
    """Write each vignette's figures into the bank and mark it expert_reviewed; return the ids.

    Only vignettes rated by at least :data:`MIN_PANEL` reviewers are recorded. Figures are
    not keys, so no version is bumped. The bank is validated after writing.
    """
    if bank.edition != "instructor":
        raise GraderError(
            f"{bank.directory} is a student edition; record the review in the instructor bank."
        )
    on = on or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    path = bank.directory / "vignettes.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    figures = tables.vignettes.set_index("item_id")
    recorded = []
    for row in rows:
        item_id = row["item_id"]
        if item_id not in figures.index or figures.at[item_id, "reviewers"] < MIN_PANEL:
            continue
        f = figures.loc[item_id]
        values = dict(
            zip(
                REVIEW_COLUMNS,
                (
                    int(f["reviewers"]),
                    _cell(f["i_cvi"]),
                    _cell(f["best_agreement"]),
                    _cell(f["key_agreement"]),
                    on,
                ),
                strict=True,
            )
        )
        if "" in values.values():
            continue  # a panel that left a figure unrated cannot vouch for the item
        row.update({k: str(v) for k, v in values.items()})
        if row["review_status"] == "author_keyed":
            row["review_status"] = "expert_reviewed"
        recorded.append(item_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, buffer.getvalue(), encoding="utf-8")
    load_bank(bank.directory)  # fails loudly, naming the row, if the record broke a rule
    return recorded


def _cell(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.2f}"
