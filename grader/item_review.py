"""An expert panel's blind review of the item bank's keys: sheets, validated import, the store.

A programme that adopts the course validates the keys with its own faculty:

1. :func:`export_sheets` writes one CSV per reviewer (``review-R01.csv``, ...) and a README.
   Each vignette is a row of its own followed by its responses, in an order shuffled per
   reviewer, under pseudonymous codes (``V-…``, ``R-…``) that cannot be looked up in the
   public bank; no key is on the sheet. The reviewer places every response on the
   spectrum (-2..2), marks the best response, rates the vignette's relevance to its area
   (1-4) and whether it is essential (Lawshe), and may flag a response as unsafe with a
   reason.
2. :func:`import_sheet` checks every row, names each bad one with its reason, and stores
   the good rows in ``<course>/item-review/reviews.csv`` (see ``item_review.schema.yaml``).
   A stored rating is never silently overwritten (``replace`` takes the new one).
3. :mod:`grader.review_report` turns the store into the panel's figures.

Sheets are read and written with the machinery of the rating sheets (:mod:`grader.ratings`).
:func:`simulate_sheet` fills a sheet as a plausible reviewer would, for the demo and tests.
"""

from __future__ import annotations

import csv
import io
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from grader.atomic_file import write_atomically
from grader.dictionary import load_dictionary, read_table
from grader.errors import GraderError, Problem
from grader.file_lock import locked
from grader.itembank import AREAS, ItemBank, Vignette, load_bank
from grader.pseudonyms import course_secret, review_code
from grader.ratings import (
    ImportReport,
    RatingSheetError,
    _keep_copy,
    _read_sheet,
    check_rater,
)
from grader.written_answers import normalized

REVIEW_DIR = "item-review"
STORE_FILE = "reviews.csv"
SCHEMA = Path(__file__).with_name("item_review.schema.yaml")
SHEET_COLUMNS = (
    "kind",
    "vignette",
    "response",
    "text",
    "position",
    "best",
    "unsafe",
    "unsafe_reason",
    "relevance",
    "essential",
    "comment",
)
STORE_COLUMNS = (
    "reviewer",
    "item_id",
    "response_id",
    "measure",
    "value",
    "note",
    "version",
    "imported_at",
)
EXPORT_COMMAND = "dialectic items review export"
VIGNETTE_MEASURES = ("relevance", "essential", "best")
RESPONSE_MEASURES = ("position", "unsafe")
LAWSHE = {
    "essential": "essential",
    "e": "essential",
    "useful": "useful",
    "u": "useful",
    "useful but not essential": "useful",
    "not necessary": "not necessary",
    "n": "not necessary",
    "not essential": "not necessary",
}
_YES = {"x", "yes", "y", "1", "true", "✓"}
_POSITION = re.compile(r"([+-]?)([0-2])(?:\.0*)?")
_RELEVANCE = re.compile(r"([1-4])(?:\.0*)?")
_SHEET_NAME = re.compile(r"review-(R\d+)")


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_sheets` wrote."""

    sheets: tuple[Path, ...]
    readme: Path
    vignettes: tuple[str, ...]
    responses: int


def review_dir(course: Path | str) -> Path:
    return Path(course) / REVIEW_DIR


def reviewer_name(index: int) -> str:
    """The pseudonym of the ``index``-th reviewer (1-based): R01, R02..."""
    return f"R{index:02d}"


# -- export ---------------------------------------------------------------------------------


def choose_items(
    bank: ItemBank, area: str | None = None, sample: int | None = None, seed: int | None = None
) -> list[str]:
    """The vignettes to review: all (of ``area``), or a seeded random ``sample`` of them."""
    if area is not None and area not in AREAS:
        raise GraderError(f"area must be one of {', '.join(AREAS)}; got {area!r}")
    items = bank.ids(area=area)
    keyed = [i for i in items if bank.item(i).has_keys]
    if len(keyed) < len(items):
        raise GraderError(
            f"{bank.directory} is the student edition: a review compares the panel with the "
            "keys, so export from the instructor bank."
        )
    if sample is not None:
        if not 1 <= sample <= len(items):
            raise GraderError(
                f"--sample must be between 1 and {len(items)} (the vignettes"
                f"{' of ' + area if area else ''}); got {sample}"
            )
        items = sorted(random.Random(f"review-sample:{seed}").sample(items, sample))
    return items


def export_sheets(
    course: Path | str,
    reviewers: int,
    out_dir: Path | str,
    *,
    area: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
    bank: ItemBank | None = None,
) -> ExportReport:
    """Write ``reviewers`` blind review sheets and their README into ``out_dir``."""
    if reviewers < 1:
        raise GraderError(f"--reviewers must be at least 1; got {reviewers}")
    bank = bank or load_bank()
    items = choose_items(bank, area, sample, seed)
    secret = course_secret(course)
    out_dir = Path(out_dir)
    sheets = []
    for index in range(1, reviewers + 1):
        name = reviewer_name(index)
        order = random.Random(f"review-order:{seed}:{name}")
        rows = []
        for item_id in order.sample(items, len(items)):
            item = bank.item(item_id)
            code = review_code(secret, "vignette", item_id)
            rows.append({"kind": "vignette", "vignette": code, "text": vignette_text(item)})
            for r in order.sample(list(item.responses), len(item.responses)):
                rows.append(
                    {
                        "kind": "response",
                        "vignette": code,
                        "response": review_code(secret, "response", r.response_id),
                        "text": r.text,
                    }
                )
        path = out_dir / f"review-{name}.csv"
        write_atomically(path, _csv(rows), encoding="utf-8-sig")
        sheets.append(path)
    readme = out_dir / "README.txt"
    write_atomically(readme, _readme(len(items)), encoding="utf-8")
    return ExportReport(
        tuple(sheets), readme, tuple(items), sum(len(bank.item(i).responses) for i in items)
    )


def vignette_text(item: Vignette) -> str:
    """What a reviewer reads of a vignette: the client, the context and the statement, no keys."""
    parts = [
        f"Area: {item.area.replace('_', ' ')}.",
        f"Client: {item.client_age}, {item.client_gender.replace('_', ' ')}, "
        f"{item.client_background}; {item.presenting_problem}.",
        f"Context: {item.session_context}",
        f'The client says: "{item.client_statement}"',
    ]
    if item.therapist_reaction:
        parts.append(f"The therapist notices in themselves: {item.therapist_reaction}")
    return " ".join(parts)


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SHEET_COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _readme(n_items: int) -> str:
    return "\n".join(
        [
            "How to review the item bank's keys",
            "==================================",
            "",
            f"Your sheet holds {n_items} clinical vignettes. Each begins "
            "with a row of kind 'vignette' (who the",
            "client is, the moment in the session and what the "
            "client says), followed by the candidate",
            "therapist responses to it, one row each, in an order of "
            "their own. The course's keys are not",
            "on the sheet. Please review blind and alone: do not "
            "look the vignettes up in the course",
            "materials and do not discuss them with other "
            "reviewers before every sheet is handed in.",
            "",
            "On each vignette row",
            "  relevance  how relevant the vignette is to its area, "
            "1 not relevant, 2 somewhat relevant,",
            "             3 quite relevant, 4 highly relevant.",
            "  essential  is the vignette essential for training "
            "this area? essential, useful (but not",
            "             essential), or not necessary.",
            "",
            "On each response row",
            "  position   where the response falls on the "
            "collusion-confrontation spectrum (Archer 2015):",
            "             -2 strongly collusive, -1 mildly collusive, "
            "0 attuned, 1 mildly confrontational,",
            "             2 strongly confrontational. Collusive "
            "responses join or give in to the client's",
            "             frame; confrontational ones oppose or override the client's experience.",
            "  best       put an x beside the ONE response you judge "
            "best for this client at this moment.",
            "  unsafe     put an x if the response could harm this "
            "client, and say why in unsafe_reason.",
            "",
            "Leave a cell empty if you cannot judge it; use the comment column for anything else.",
            "Do not change the kind, vignette, response or text "
            "columns, or sort single columns: the import",
            "checks every row and refuses rows that no longer match "
            "what was exported. Save as CSV (UTF-8),",
            "keeping the file name, and hand the file back.",
            "",
        ]
    )


# -- import ---------------------------------------------------------------------------------


def import_sheet(
    course: Path | str,
    path: Path | str,
    reviewer: str | None = None,
    *,
    replace: bool = False,
    bank: ItemBank | None = None,
) -> ImportReport:
    """Check every row of a filled review sheet and store the good rows for ``reviewer``.

    ``reviewer`` defaults to the pseudonym in the sheet's name (``review-R03.csv`` -> R03).
    Each bad row is reported with its row number and reason and stores nothing; the others
    are stored. Raises :class:`~grader.ratings.RatingSheetError` for a file that is not a
    review sheet at all.
    """
    path = Path(path)
    reviewer = check_rater(reviewer or _reviewer_from_name(path))
    bank = bank or load_bank()
    header, records = _read_sheet(path, SHEET_COLUMNS, EXPORT_COMMAND)
    report = ImportReport(path, reviewer)
    extra = [c for c in header if c not in SHEET_COLUMNS]
    if extra:
        report.warnings.append(
            f"{path}: column(s) {', '.join(map(repr, extra))} are not part of the "
            "sheet and were ignored"
        )
    vignettes, responses = _codes(course, bank)
    good: dict[int, list[dict]] = {}
    for row, record, overflow in records:
        report.rows += 1
        problems, ratings = _row(path, row, record, overflow, vignettes, responses, bank)
        if problems:
            report.bad_rows += problems
        else:
            good[row] = ratings
    _reject_conflicts(path, records, good, report)
    report.unrated = sum(1 for ratings in good.values() if not ratings)
    ratings = [(row, r) for row, rs in sorted(good.items()) for r in rs]
    if ratings:
        _store(course, reviewer, ratings, replace, report, bank)
        _keep_copy(course, path, reviewer, review_dir(course) / "sheets")
    return report


def _reviewer_from_name(path: Path) -> str:
    match = _SHEET_NAME.search(path.stem)
    if not match:
        raise GraderError(
            f"{path}: name the reviewer with --reviewer (the file name does not say, as "
            "review-R01.csv would)"
        )
    return match.group(1)


def _codes(course, bank: ItemBank) -> tuple[dict[str, str], dict[str, str]]:
    """Every vignette and response code of the bank, mapped back to its id."""
    secret = course_secret(course)
    vignettes = {review_code(secret, "vignette", i): i for i in bank.ids()}
    responses = {review_code(secret, "response", r): r for r in bank.responses["response_id"]}
    return vignettes, responses


def _row(
    path: Path,
    row: int,
    record: dict[str, str],
    overflow: list[str],
    vignettes: dict[str, str],
    responses: dict[str, str],
    bank: ItemBank,
) -> tuple[list[Problem], list[dict]]:
    """The problems of one sheet row, or the ratings it gives."""
    problems: list[Problem] = []

    def problem(message: str, column: str | None = None) -> None:
        problems.append(Problem(str(path), message, row=row, column=column))

    cell = {k: record[k].strip() for k in SHEET_COLUMNS}
    if overflow:
        problem(f"has {len(overflow)} more cell(s) than the sheet has columns")
    kind = cell["kind"].lower()
    item_id = vignettes.get(cell["vignette"])
    if kind not in ("vignette", "response"):
        problem(f"kind {cell['kind']!r} is neither 'vignette' nor 'response'", "kind")
        return problems, []
    if item_id is None:
        problem(
            f"vignette {cell['vignette']!r} is not a vignette of this review (a typo, or a sheet "
            "exported for another course?)",
            "vignette",
        )
        return problems, []
    item = bank.item(item_id)
    ratings: list[dict] = []
    if kind == "vignette":
        for column in ("response", "position", "best", "unsafe", "unsafe_reason"):
            if cell[column]:
                problem(f"{column} belongs on a response row, not on the vignette row", column)
        if normalized(record["text"]) != normalized(vignette_text(item)):
            problem(
                "the vignette text differs from the exported one (edited, or the item changed "
                "since the export)",
                "text",
            )
        if cell["relevance"]:
            match = _RELEVANCE.fullmatch(cell["relevance"])
            if match:
                ratings.append(
                    {"item_id": item_id, "measure": "relevance", "value": match.group(1)}
                )
            else:
                problem(
                    f"relevance {cell['relevance']!r} is not a whole number from 1 to 4",
                    "relevance",
                )
        if cell["essential"]:
            answer = LAWSHE.get(" ".join(cell["essential"].lower().split()))
            if answer:
                ratings.append({"item_id": item_id, "measure": "essential", "value": answer})
            else:
                problem(
                    f"essential {cell['essential']!r} is not one of: "
                    "essential, useful, not necessary",
                    "essential",
                )
        return problems, ratings
    response_id = responses.get(cell["response"])
    if response_id is None or not response_id.startswith(item_id + "-"):
        problem(
            f"response {cell['response']!r} is not a response of vignette {cell['vignette']} "
            "(were single columns sorted or edited?)",
            "response",
        )
        return problems, []
    for column in ("relevance", "essential"):
        if cell[column]:
            problem(f"{column} belongs on the vignette row, not on a response row", column)
    if normalized(record["text"]) != normalized(item.response(response_id).text):
        problem(
            "the response text differs from the exported one (edited, or the item changed since "
            "the export)",
            "text",
        )
    base = {"item_id": item_id, "response_id": response_id}
    if cell["position"]:
        match = _POSITION.fullmatch(cell["position"].replace("−", "-").replace("–", "-"))
        if match and not (match.group(1) and match.group(2) == "0"):
            ratings.append(
                {**base, "measure": "position", "value": str(int(match.group(1) + match.group(2)))}
            )
        else:
            problem(f"position {cell['position']!r} is not a whole number from -2 to 2", "position")
    if cell["best"]:
        if cell["best"].lower() in _YES:
            ratings.append({"item_id": item_id, "measure": "best", "value": response_id})
        else:
            problem(
                f"best {cell['best']!r}: mark the best response with an x, or leave the cell empty",
                "best",
            )
    if cell["unsafe"]:
        if cell["unsafe"].lower() not in _YES:
            problem(
                f"unsafe {cell['unsafe']!r}: flag an unsafe response "
                "with an x, or leave the cell empty",
                "unsafe",
            )
        elif not cell["unsafe_reason"]:
            problem("is flagged unsafe without a reason: say why in unsafe_reason", "unsafe_reason")
        else:
            ratings.append(
                {**base, "measure": "unsafe", "value": "yes", "note": cell["unsafe_reason"]}
            )
    elif cell["unsafe_reason"]:
        problem("has an unsafe_reason but is not flagged unsafe: put an x in unsafe too", "unsafe")
    return problems, ratings


def _reject_conflicts(
    path: Path, records, good: dict[int, list[dict]], report: ImportReport
) -> None:
    """Refuse repeated rows and a vignette with more than one response marked best."""
    code_rows: dict[tuple[str, str], list[int]] = {}
    best_rows: dict[str, list[int]] = {}
    for row, record, _ in records:
        key = (record["vignette"].strip(), record["response"].strip())
        code_rows.setdefault(key, []).append(row)
        if any(r["measure"] == "best" for r in good.get(row, [])):
            best_rows.setdefault(key[0], []).append(row)
    for (vignette, response), rows in code_rows.items():
        for row in rows[1:]:
            what = f"response {response}" if response else f"vignette {vignette}"
            report.bad_rows.append(
                Problem(
                    str(path),
                    f"repeats {what} of row {rows[0]}",
                    row=row,
                    column="response" if response else "vignette",
                )
            )
            good.pop(row, None)
    for vignette, rows in best_rows.items():
        if len(rows) < 2:
            continue
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            report.bad_rows.append(
                Problem(
                    str(path),
                    f"is marked best, and so are row(s) {others} of vignette {vignette}: mark one",
                    row=row,
                    column="best",
                )
            )
            good.pop(row, None)
    report.bad_rows.sort(key=lambda p: p.row or 0)


def _store(
    course,
    reviewer: str,
    ratings: list[tuple[int, dict]],
    replace: bool,
    report: ImportReport,
    bank: ItemBank,
) -> None:
    folder = review_dir(course)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with locked(folder / ".lock"):  # two imports at once must not lose each other's ratings
        stored = load_reviews(course)
        table = {_key(r): r for r in _records(stored)}
        for row, rating in ratings:
            record = {
                "reviewer": reviewer,
                "response_id": "",
                "note": "",
                **rating,
                "version": bank.item(rating["item_id"]).version,
                "imported_at": now,
            }
            old = table.get(_key(record))
            if old is not None and (old["value"], old["note"]) == (record["value"], record["note"]):
                report.unchanged += 1
                continue
            if old is not None and not replace:
                report.conflicts.append(
                    Problem(
                        str(report.sheet),
                        f"{reviewer} already gave {rating['measure']} {old['value']!r} for "
                        f"{record['response_id'] or record['item_id']} (imported "
                        f"{old['imported_at']}); this sheet says {record['value']!r}. Kept the "
                        "stored one: import with --replace to take the new one",
                        row=row,
                        column=rating["measure"],
                    )
                )
                continue
            report.added += old is None
            report.replaced += old is not None
            table[_key(record)] = record
        rows = sorted(
            table.values(),
            key=lambda r: (r["item_id"], r["reviewer"], r["response_id"], r["measure"]),
        )
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=STORE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(folder / STORE_FILE, buffer.getvalue(), encoding="utf-8")


def _key(record: dict) -> tuple[str, str, str, str]:
    return record["reviewer"], record["item_id"], record["response_id"], record["measure"]


def _records(stored: pd.DataFrame) -> list[dict]:
    out = []
    for r in stored.to_dict("records"):
        out.append({k: "" if r[k] is None or r[k] is pd.NA else str(r[k]) for k in STORE_COLUMNS})
    return out


def load_reviews(course: Path | str) -> pd.DataFrame:
    """Every stored review rating, validated against ``item_review.schema.yaml`` (empty if none)."""
    path = review_dir(course) / STORE_FILE
    dictionary = load_dictionary(SCHEMA)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="string") for c in STORE_COLUMNS})
    return read_table(path, dictionary)


# -- simulation -----------------------------------------------------------------------------


def simulate_sheet(
    sheet: Path | str,
    seed: int = 1,
    *,
    course: Path | str,
    harsher: float = 0.3,
    noise: float = 0.1,
    bank: ItemBank | None = None,
) -> Path:
    """Fill an exported sheet as a plausible reviewer would, in place; returns its path.

    Each placement is the key, moved one step further from attuned with probability
    ``harsher`` when the key is ±1 (the bias the first review found), and one step either
    way with probability ``noise``. The reviewer marks the keyed best, rates relevance 3-4
    and mostly calls vignettes essential. Deterministic for a seed.
    """
    bank = bank or load_bank()
    sheet = Path(sheet)
    vignettes, responses = _codes(course, bank)
    rng = random.Random(f"review-simulate:{seed}")
    try:
        _, records = _read_sheet(sheet, SHEET_COLUMNS, EXPORT_COMMAND)
    except RatingSheetError as exc:
        raise GraderError(str(exc)) from exc
    rows = []
    for _, record, _ in records:
        cells = {k: record.get(k, "") for k in SHEET_COLUMNS}
        if cells["kind"] == "vignette":
            cells["relevance"] = str(rng.choice((2, 3, 3, 4, 4, 4, 4, 4)))
            cells["essential"] = rng.choice(
                ("essential",) * 6 + ("useful", "useful", "not necessary")
            )
        else:
            response = bank.response(responses[cells["response"]])
            key = response.spectrum_position
            placed = key
            if abs(key) == 1 and rng.random() < harsher:
                placed = 2 * key
            elif rng.random() < noise:
                placed = max(-2, min(2, key + rng.choice((-1, 1))))
            cells["position"] = str(placed)
            item = bank.item(vignettes[cells["vignette"]])
            cells["best"] = "x" if response.response_id == item.best.response_id else ""
            if response.safety_note and rng.random() < 0.7:
                cells["unsafe"], cells["unsafe_reason"] = "x", "could harm this client at risk"
        rows.append(cells)
    write_atomically(sheet, _csv(rows), encoding="utf-8-sig")
    return sheet
