"""Blind rating sheets for written answers, and the store of every rater's scores.

nbgrader keeps one manual score per cell, so a second rater's per-criterion scores, which
agreement statistics need, live in ``<course>/ratings/``:

1. :func:`export_sheet` writes a CSV for one rater: one row per answered written answer,
   in shuffled order, under a pseudonymous ``answer_id`` (no student id, name, nbgrader
   score or other rater's scores), with empty columns for the four rubric criteria, and
   ``<sheet>.README.txt`` beside it with the instructions, the rubric anchors and the
   vignettes the answers respond to.
2. The rater fills it in any spreadsheet program.
3. :func:`import_sheet` checks every row, reports each bad one by row number and reason,
   and stores the good ones in ``ratings.csv`` (long format; see ``ratings.schema.yaml``).
   A stored score is never silently overwritten: a different value for the same rater,
   answer and criterion is a conflict unless ``replace`` is given.

:func:`simulate_ratings` fills a sheet as a plausible rater would, for the demo and tests.
"""

from __future__ import annotations

import csv
import io
import random
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from grader.atomic_file import write_atomically
from grader.dictionary import load_dictionary, read_table
from grader.errors import GraderError, Problem
from grader.file_lock import locked
from grader.itembank import ItemBank, load_bank
from grader.rubric import CRITERION_KEYS, as_markdown
from grader.written_answers import WrittenAnswer, collect, normalized

RATINGS_DIR = "ratings"
STORE_FILE = "ratings.csv"
SCHEMA = Path(__file__).with_name("ratings.schema.yaml")
SHEET_COLUMNS = ("answer_id", "assignment", "vignette", "answer", *CRITERION_KEYS, "comment")
STORE_COLUMNS = (
    "answer_id",
    "assignment",
    "grade_id",
    "rater",
    "criterion",
    "score",
    "imported_at",
)
RATER_PATTERN = re.compile(r"\w[\w .'-]{0,59}")
_SCORE = re.compile(r"([1-5])(?:\.0*)?")  # spreadsheets may write a typed 4 back as 4.0


class RatingSheetError(GraderError, ValueError):
    """A rating sheet that cannot be read at all (not CSV, wrong encoding, wrong columns)."""


@dataclass(frozen=True)
class SheetReport:
    """What :func:`export_sheet` or :func:`simulate_ratings` wrote."""

    sheet: Path
    readme: Path
    rows: int
    unanswered: int
    """Written-answer cells skipped because the student left them empty."""
    assignments: tuple[str, ...]


@dataclass
class ImportReport:
    """What :func:`import_sheet` found and stored. Row numbers count data rows from 1."""

    sheet: Path
    rater: str
    rows: int = 0
    """Non-blank data rows read."""
    unrated: int = 0
    """Valid rows in which the rater gave no score at all."""
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    bad_rows: list[Problem] = field(default_factory=list)
    """One entry per problem; a row with any problem stores nothing."""
    conflicts: list[Problem] = field(default_factory=list)
    """Scores that differ from ones already stored and were kept as stored (no ``replace``)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_row_numbers(self) -> list[int]:
        return sorted({p.row for p in self.bad_rows if p.row is not None})

    @property
    def ok(self) -> bool:
        return not self.bad_rows and not self.conflicts


def ratings_dir(course: Path | str) -> Path:
    return Path(course) / RATINGS_DIR


# -- export ---------------------------------------------------------------------------------


def export_sheet(
    course: Path | str,
    rater: str,
    out: Path | str,
    assignment: str | None = None,
    seed: int | None = None,
) -> SheetReport:
    """Write a blind rating sheet for ``rater`` to ``out`` and its README beside it.

    Rows are shuffled from ``seed`` (default: from the rater's name, so each rater gets a
    different but repeatable order and no order follows the student list).
    """
    rater = check_rater(rater)
    collected = collect(course, assignment)
    answers = _ordered(collected.answers, rater, seed)
    if not answers:
        where = f"assignment {assignment}" if assignment else "any assignment"
        raise GraderError(
            f"No answered written answers in {Path(course) / 'autograded'} for {where} "
            f"({collected.unanswered} left unanswered): nothing to rate."
        )
    return _write_sheet(Path(out), answers, {}, collected.unanswered)


def _ordered(answers: Iterable[WrittenAnswer], rater: str, seed: int | None) -> list[WrittenAnswer]:
    ordered = sorted(answers, key=lambda a: a.answer_id)
    random.Random(f"sheet:{rater}" if seed is None else f"sheet:{seed}").shuffle(ordered)
    return ordered


def _write_sheet(
    out: Path, answers: list[WrittenAnswer], scores: dict[str, dict[str, int]], unanswered: int
) -> SheetReport:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for a in answers:
        given = scores.get(a.answer_id, {})
        writer.writerow(
            [
                a.answer_id,
                a.assignment,
                a.vignette,
                a.text,
                *(given.get(k, "") for k in CRITERION_KEYS),
                "",
            ]
        )
    # utf-8-sig: the byte-order mark makes Excel read accented text as UTF-8
    write_atomically(out, buffer.getvalue(), encoding="utf-8-sig")
    readme = out.with_name(out.name + ".README.txt")
    write_atomically(readme, _readme(out.name, answers), encoding="utf-8")
    return SheetReport(
        out, readme, len(answers), unanswered, tuple(sorted({a.assignment for a in answers}))
    )


def _readme(sheet: str, answers: list[WrittenAnswer]) -> str:
    bank = _bank_or_none()
    vignettes = sorted({a.vignette for a in answers if a.vignette})
    title = f"How to rate {sheet}"
    lines = [
        title,
        "=" * len(title),
        "",
        "Each row is one trainee's written answer to a client vignette: what they would say",
        "to the client. Rate each answer on the four criteria of the rubric below, each with a",
        "whole number from 1 to 5 (3 = an average trainee response). Leave a cell empty if you",
        "cannot judge that criterion; use the comment column for anything you want to note.",
        "",
        "Rate blind and alone: the sheet does not say whose answer it is, and the rows are in",
        "an order of their own. Do not discuss answers with the other rater before both have",
        "handed in their sheet.",
        "",
        "Please do not change the answer_id, assignment, vignette or answer columns, add or",
        "remove columns, or sort single columns (sort whole rows if you must): the import",
        "checks every row and refuses rows that no longer match what was exported.",
        "Save as CSV (UTF-8), keeping the file name, and hand the file back.",
        "",
        "The rubric (each criterion 1-5, with an anchor at every level)",
        "--------------------------------------------------------------",
        "",
        as_markdown(),
        "",
    ]
    if vignettes:
        lines += ["The vignettes", "-------------", ""]
        for item_id in vignettes:
            if bank is None or item_id not in bank:
                lines += [f"{item_id}: (not in the item bank)", ""]
                continue
            item = bank.item(item_id)
            setting = item.setting.replace("_", " ")
            lines += [
                f"{item_id} ({setting}; client aged {item.client_age}, {item.client_background})",
                f"  Context: {item.session_context}",
                f'  The client says: "{item.client_statement}"',
                "",
            ]
    return "\n".join(lines)


# -- import ---------------------------------------------------------------------------------


def import_sheet(
    course: Path | str, path: Path | str, rater: str, replace: bool = False
) -> ImportReport:
    """Check every row of a filled sheet and store the good rows' scores for ``rater``.

    Bad rows (unknown answer_id, a score that is not a whole number 1-5, answer text or
    other exported columns changed, a repeated answer_id, more cells than columns) are
    reported by row number and reason and store nothing; the other rows are stored. An
    empty score cell stores nothing and deletes nothing.
    """
    rater = check_rater(rater)
    path = Path(path)
    header, records = _read_sheet(path)
    report = ImportReport(path, rater)
    extra = [c for c in header if c not in SHEET_COLUMNS]
    if extra:
        report.warnings.append(
            f"{path}: column(s) {', '.join(map(repr, extra))} are not part of the "
            "sheet and were ignored"
        )
    known = collect(course).by_id()
    candidates: dict[int, tuple[WrittenAnswer, dict[str, int]]] = {}
    for row, record, overflow in records:
        report.rows += 1
        problems = _row_problems(path, row, record, overflow, known)
        if problems:
            report.bad_rows += problems
            continue
        answer = known[record["answer_id"].strip()]
        scores = {k: _score(record[k]) for k in CRITERION_KEYS if record[k].strip()}
        candidates[row] = (answer, scores)
    _reject_repeats(path, records, candidates, report)
    ratings = [(row, answer, scores) for row, (answer, scores) in sorted(candidates.items())]
    report.unrated = sum(1 for _, _, scores in ratings if not scores)
    if any(scores for _, _, scores in ratings):
        _store(course, rater, ratings, replace, report)
        _keep_copy(course, path, rater)
    return report


def _read_sheet(
    path: Path,
    columns: tuple[str, ...] = SHEET_COLUMNS,
    export_command: str = "dialectic ratings export",
) -> tuple[list[str], list[tuple[int, dict[str, str], list[str]]]]:
    """The header and the non-blank rows (row number, cells by column, cells past the header).

    ``columns`` are the sheet's columns, the first of which identifies a sheet (the item
    review's sheets are read here too).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise RatingSheetError(f"{path}: no such file") from exc
    except OSError as exc:
        raise RatingSheetError(f"{path}: cannot be read ({exc.strerror})") from exc
    if data.startswith(b"PK\x03\x04"):
        raise RatingSheetError(
            f"{path}: is a spreadsheet workbook (e.g. .xlsx), not a CSV file. In the "
            "spreadsheet program, use Save As > CSV UTF-8."
        )
    if b"\x00" in data[:4096]:
        raise RatingSheetError(f"{path}: is not a text file, so not a CSV rating sheet.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RatingSheetError(
            f"{path}: is not UTF-8 text (byte {exc.start} cannot be read). Save it "
            "again as CSV UTF-8; other encodings would garble accented answers."
        ) from exc
    if not text.strip():
        raise RatingSheetError(f"{path}: is empty.")
    delimiter = _delimiter(path, text, columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise RatingSheetError(
            f"{path}: is not valid CSV near line {reader.line_num}: {exc}"
        ) from exc
    header = [h.strip() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise RatingSheetError(
            f"{path}: is missing the column(s) {', '.join(missing)}. Export a new sheet "
            f"with `{export_command}` and copy the scores into it."
        )
    repeated = sorted({h for h in header if header.count(h) > 1 and h})
    if repeated:
        raise RatingSheetError(f"{path}: has the column(s) {', '.join(repeated)} more than once.")
    records = []
    for number, cells in enumerate(rows[1:], start=1):
        if not any(c.strip() for c in cells):
            continue  # spreadsheets often leave blank rows at the end
        padded = cells + [""] * (len(header) - len(cells))  # and drop trailing empty cells
        overflow = [c for c in cells[len(header) :] if c.strip()]
        records.append((number, dict(zip(header, padded[: len(header)], strict=True)), overflow))
    return header, records


def _delimiter(path: Path, text: str, columns: tuple[str, ...] = SHEET_COLUMNS) -> str:
    """Comma, or the semicolon or tab some spreadsheet locales save CSV with."""
    first = text.splitlines()[0]
    for delimiter in (",", ";", "\t"):
        if columns[0] in (c.strip() for c in next(csv.reader([first], delimiter=delimiter))):
            return delimiter
    raise RatingSheetError(
        f"{path}: is not a rating sheet: its first line has no {columns[0]} column "
        f"(a sheet starts with {','.join(columns)})."
    )


def _row_problems(
    path: Path,
    row: int,
    record: dict[str, str],
    overflow: list[str],
    known: dict[str, WrittenAnswer],
) -> list[Problem]:
    source = str(path)
    problems = []

    def problem(message: str, column: str | None = None) -> None:
        problems.append(Problem(source, message, row=row, column=column))

    if overflow:
        problem(f"has {len(overflow)} more cell(s) than the sheet has columns")
    aid = record["answer_id"].strip()
    answer = known.get(aid)
    if not aid:
        problem("has no answer_id", "answer_id")
    elif answer is None:
        problem(
            f"answer_id {aid!r} is not a written answer of this course (a typo, or a sheet from "
            "another course?)",
            "answer_id",
        )
    else:
        for column, expected in (("assignment", answer.assignment), ("vignette", answer.vignette)):
            if record[column].strip() != expected:
                problem(
                    f"is {record[column].strip()!r} but answer {aid} belongs to {expected!r} "
                    "(were single columns sorted or edited?)",
                    column,
                )
        if normalized(record["answer"]) != normalized(answer.text):
            problem(
                "the answer text differs from the exported answer; ratings must be of the text "
                "as the student wrote it",
                "answer",
            )
    for key in CRITERION_KEYS:
        raw = record[key].strip()
        if raw and _score(raw) is None:
            try:
                outside = float(raw).is_integer()
            except ValueError:
                outside = False
            problem(
                f"score {raw!r} "
                + ("is outside the scale 1-5" if outside else "is not a whole number from 1 to 5"),
                key,
            )
    return problems


def _score(raw: str) -> int | None:
    """The score in a valid cell (see :func:`_row_problems`), else None."""
    match = _SCORE.fullmatch(raw.strip())
    return int(match.group(1)) if match else None


def _reject_repeats(path: Path, records, candidates: dict, report: ImportReport) -> None:
    """Keep the first of identical repeated rows; refuse every copy when they disagree."""
    rows_of: dict[str, list[int]] = {}
    for row, record, _ in records:
        aid = record["answer_id"].strip()
        if aid:
            rows_of.setdefault(aid, []).append(row)
    for aid, rows in rows_of.items():
        if len(rows) < 2:
            continue
        valid = [r for r in rows if r in candidates]
        differ = len({tuple(sorted(candidates[r][1].items())) for r in valid}) > 1
        for r in rows:
            others = ", ".join(str(o) for o in rows if o != r)
            if differ and r in candidates:
                report.bad_rows.append(
                    Problem(
                        str(path),
                        f"answer_id {aid} is also on row(s) {others} "
                        "with different scores; keep one row",
                        row=r,
                        column="answer_id",
                    )
                )
                del candidates[r]
            elif r != rows[0]:
                report.bad_rows.append(
                    Problem(
                        str(path),
                        f"repeats answer_id {aid} of row {rows[0]}",
                        row=r,
                        column="answer_id",
                    )
                )
                candidates.pop(r, None)
    report.bad_rows.sort(key=lambda p: p.row or 0)


def _store(
    course: Path | str,
    rater: str,
    ratings: list[tuple[int, WrittenAnswer, dict[str, int]]],
    replace: bool,
    report: ImportReport,
) -> None:
    folder = ratings_dir(course)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with locked(folder / ".lock"):  # two imports at once must not lose each other's ratings
        stored = load_ratings(course)
        table: dict[tuple[str, str, str], dict] = {
            (r["answer_id"], r["rater"], r["criterion"]): r
            for r in stored.astype({"criterion": str, "score": object}).to_dict("records")
        }
        for row, answer, scores in ratings:
            for criterion, score in scores.items():
                key = (answer.answer_id, rater, criterion)
                old = table.get(key)
                if old is not None and int(old["score"]) == score:
                    report.unchanged += 1
                    continue
                if old is not None and not replace:
                    report.conflicts.append(
                        Problem(
                            str(report.sheet),
                            f"{rater} already rated {answer.answer_id} {old['score']} (imported "
                            f"{old['imported_at']}); this sheet says {score}. Kept "
                            f"{old['score']}: import with --replace to take the new score",
                            row=row,
                            column=criterion,
                        )
                    )
                    continue
                if old is None:
                    report.added += 1
                else:
                    report.replaced += 1
                table[key] = {
                    "answer_id": answer.answer_id,
                    "assignment": answer.assignment,
                    "grade_id": answer.grade_id,
                    "rater": rater,
                    "criterion": criterion,
                    "score": score,
                    "imported_at": now,
                }
        order = {k: i for i, k in enumerate(CRITERION_KEYS)}
        rows = sorted(
            table.values(),
            key=lambda r: (
                r["assignment"],
                r["grade_id"],
                r["answer_id"],
                r["rater"],
                order[r["criterion"]],
            ),
        )
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=STORE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(folder / STORE_FILE, buffer.getvalue(), encoding="utf-8")


def _keep_copy(course: Path | str, sheet: Path, rater: str, folder: Path | None = None) -> None:
    """Keep the imported sheet (with its comments, which the store has no column for)."""
    folder = folder or ratings_dir(course) / "sheets"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    shutil.copyfile(sheet, folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', rater)}-{stamp}.csv")


# -- the store ------------------------------------------------------------------------------


def load_ratings(course: Path | str) -> pd.DataFrame:
    """Every stored rating, validated against ``ratings.schema.yaml`` (empty if none yet)."""
    path = ratings_dir(course) / STORE_FILE
    if not path.exists():
        empty = {c: pd.Series(dtype="string") for c in STORE_COLUMNS}
        empty["criterion"] = pd.Series(pd.Categorical([], categories=list(CRITERION_KEYS)))
        empty["score"] = pd.Series(dtype="Int64")
        return pd.DataFrame(empty)
    return read_table(path, load_dictionary(SCHEMA))


def check_rater(rater: str) -> str:
    """A rater's name as stored: letters, digits, spaces, . ' - and _; at most 60 characters."""
    name = (rater or "").strip()
    if not RATER_PATTERN.fullmatch(name):
        raise GraderError(
            f"rater name {rater!r} is not usable: use letters, digits, spaces, . ' - or _ "
            "(at most 60 characters), e.g. --rater 'A. Rivera'"
        )
    return name


# -- simulation -----------------------------------------------------------------------------

#: Which key of a candidate response stands in for each criterion's "true" level.
#: Carkhuff's scale is the empathy rubric; resonance (feeling into the client's state) is
#: closest to felt warmth; regulation (steadying, opening, not defending) to rupture repair.
#: The bond has no key of its own: the mean of the three.
TRUE_LEVEL = {
    "empathy": ("carkhuff_level",),
    "warmth": ("resonance",),
    "repair": ("regulation",),
    "bond": ("carkhuff_level", "resonance", "regulation"),
}
FALLBACK_LEVEL = 3
RATER_BIAS_SD, RATER_NOISE_SD = 0.3, 0.6


def simulate_ratings(
    course: Path | str, rater: str, seed: int, out: Path | str, assignment: str | None = None
) -> SheetReport:
    """A sheet filled as a plausible rater would: the answer's true level, bias and noise.

    Simulated answers are the text of one of the vignette's candidate responses, whose
    keys give its true level on each criterion (3 when the text is not a candidate's or
    the bank carries no keys). Each rater has a small bias (leniency or severity) and
    every score some noise; scores are rounded and kept within 1-5.
    """
    rater = check_rater(rater)
    collected = collect(course, assignment)
    answers = _ordered(collected.answers, rater, seed)
    if not answers:
        raise GraderError(
            f"No answered written answers in {Path(course) / 'autograded'}: nothing to rate."
        )
    bank = _bank_or_none()
    rng = random.Random(f"simulate:{seed}:{rater}")
    bias = rng.gauss(0, RATER_BIAS_SD)
    scores = {}
    for a in answers:
        truth = _true_levels(a, bank)
        scores[a.answer_id] = {
            k: min(5, max(1, round(truth[k] + bias + rng.gauss(0, RATER_NOISE_SD))))
            for k in CRITERION_KEYS
        }
    return _write_sheet(Path(out), answers, scores, collected.unanswered)


def _true_levels(answer: WrittenAnswer, bank: ItemBank | None) -> dict[str, float]:
    response = None
    if bank is not None and answer.vignette in bank:
        text = normalized(answer.text)
        response = next(
            (r for r in bank.item(answer.vignette).responses if normalized(r.text) == text), None
        )
    levels = {}
    for criterion, keys in TRUE_LEVEL.items():
        known = [
            getattr(response, k)
            for k in keys
            if response is not None and getattr(response, k) is not None
        ]
        levels[criterion] = sum(known) / len(known) if known else FALLBACK_LEVEL
    return levels


def _bank_or_none() -> ItemBank | None:
    """The item bank, or None where it cannot be loaded: sheets must not depend on it."""
    try:
        return load_bank()
    except GraderError:
        return None
