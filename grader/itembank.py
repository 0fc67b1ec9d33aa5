"""The scored vignette item bank: loading, validation against the keying rubric, typed access.

    >>> from grader.itembank import load_bank
    >>> bank = load_bank()
    >>> item = bank.item("rw-014")
    >>> item.best.text           # the keyed best response (instructor edition, or practice items)

Every table is checked against its data dictionary, then the whole bank against the rules
of ``datasets/item_bank/KEYING_RUBRIC.md``. Any problem names the file, row, column and item.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from grader import paths
from grader.dictionary import Dictionary, check_frame, load_dictionary, safe_load, typed
from grader.errors import DataValidationError, KeyUnavailableError, Problem, UnknownItemError
from grader.key_history import HISTORY_FILE, check_history, load_history
from grader.lazy import lazy_import

pd = lazy_import("pandas")

#: Item-bank format this code reads (``schema_version`` in bank.yaml and the dictionaries).
SCHEMA_VERSION = 1

AREAS = (
    "empathic_process",
    "intersubjectivity",
    "rupture_withdrawal",
    "rupture_confrontation",
    "attachment",
)
AREA_PREFIX = {
    "empathic_process": "ep",
    "intersubjectivity": "is",
    "rupture_withdrawal": "rw",
    "rupture_confrontation": "rc",
    "attachment": "at",
}
_AREA_NAMES = {
    "rupture_withdrawal": "Withdrawal ruptures",
    "rupture_confrontation": "Confrontation ruptures",
}


def area_name(area: str) -> str:
    """A content area as people say it: "Empathic process", "Withdrawal ruptures"."""
    return _AREA_NAMES.get(area, area.replace("_", " ").capitalize())


DIFFICULTIES = ("beginner", "intermediate", "advanced")
SPLITS = ("practice", "assessment")
PATTERNS = ("secure", "dismissing", "preoccupied")
WITHDRAWAL_MARKERS = (
    "denial",
    "minimal_response",
    "abstract_communication",
    "avoidant_storytelling",
    "deferential_appeasing",
    "content_affect_split",
    "self_criticism_hopelessness",
)
CONFRONTATION_MARKERS = (
    "complaint_about_therapist",
    "rejecting_intervention",
    "complaint_about_activities",
    "complaint_about_parameters",
    "complaint_about_progress",
    "defending_self",
    "control_pressure",
)
MARKERS = {"withdrawal": WITHDRAWAL_MARKERS, "confrontation": CONFRONTATION_MARKERS}
#: What each 3RS marker looks like, in the course's words (after Eubanks, Muran & Safran 2015).
MARKER_DESCRIPTIONS = {
    "denial": (
        "the client says nothing is wrong, or that a feeling the moment plainly holds is absent"
    ),
    "minimal_response": "short, closed answers or silence where the client had been talking",
    "abstract_communication": (
        "vague, intellectual or general talk that keeps feeling and the therapist at a distance"
    ),
    "avoidant_storytelling": (
        "shifting to stories or other topics that lead away from "
        "the painful matter or the relationship"
    ),
    "deferential_appeasing": (
        "going along, agreeing or pleasing the therapist instead of saying what is felt"
    ),
    "content_affect_split": "painful content told with a smile, a laugh or no feeling at all",
    "self_criticism_hopelessness": (
        "turning the strain inward: blaming oneself or giving up on therapy or on oneself"
    ),
    "complaint_about_therapist": (
        "direct criticism of the therapist as a person or of their competence"
    ),
    "rejecting_intervention": "dismissing or refusing what the therapist has just offered",
    "complaint_about_activities": (
        "objecting to the tasks of therapy, such as homework, exercises or the method"
    ),
    "complaint_about_parameters": (
        "objecting to the frame: times, fees, length, cancellations, rules"
    ),
    "complaint_about_progress": "protesting that therapy is not helping or not helping fast enough",
    "defending_self": "justifying oneself against what is heard as the therapist's judgement",
    "control_pressure": (
        "trying to control the session or push the therapist to act, decide or agree"
    ),
}
EDITIONS = ("instructor", "student")


@dataclass(frozen=True)
class Response:
    """One candidate therapist response. Key fields are None in the student edition."""

    response_id: str
    item_id: str
    text: str
    spectrum_position: int | None
    carkhuff_level: int | None
    resonance: int | None
    regulation: int | None
    resolution_strategy: str | None
    rationale: str | None
    safety_note: str | None = None
    """Why the response could harm this client, when it could (see KEYING_RUBRIC.md)."""

    @property
    def letter(self) -> str:
        return self.response_id.rsplit("-", 1)[1]


@dataclass(frozen=True)
class Vignette:
    """One item of the bank with its candidate responses in display order."""

    item_id: str
    version: int
    area: str
    difficulty: str
    split: str
    setting: str
    client_age: int
    client_gender: str
    client_background: str
    presenting_problem: str
    session_context: str
    client_statement: str
    client_affect: str
    affect_intensity: int
    rupture_type: str | None
    marker_3rs: str | None
    therapist_reaction: str | None
    attachment_pattern: str | None
    framework_refs: str
    author: str
    review_status: str
    review_panel_size: int | None
    review_icvi: float | None
    review_best_agreement: float | None
    review_key_agreement: float | None
    reviewed_on: str | None
    provenance: str
    license: str
    responses: tuple[Response, ...]

    @property
    def has_keys(self) -> bool:
        """False for assessment items in the student edition of the bank."""
        return all(r.spectrum_position is not None for r in self.responses)

    @property
    def best(self) -> Response:
        """The keyed best response: attuned, with the highest Carkhuff level."""
        self.require_keys()
        attuned = [r for r in self.responses if r.spectrum_position == 0]
        return max(attuned, key=lambda r: r.carkhuff_level or 0)

    def response(self, response_id: str) -> Response:
        for r in self.responses:
            if r.response_id == response_id:
                return r
        raise UnknownItemError(
            f"Item {self.item_id} has no response {response_id!r}; its responses are "
            f"{', '.join(r.response_id for r in self.responses)}."
        )

    def require_keys(self) -> None:
        if not self.has_keys:
            raise KeyUnavailableError(
                f"Item {self.item_id} is an assessment item and this is the student edition "
                "of the item bank, which carries no assessment keys. It is scored at autograde."
            )


class ItemBank:
    """The loaded, validated bank: typed frames plus item look-up by id."""

    def __init__(
        self, directory: Path, edition: str, vignettes: pd.DataFrame, responses: pd.DataFrame
    ):
        self.directory = directory
        self.edition = edition
        self.vignettes = vignettes
        self.responses = responses
        self._items = _build_items(vignettes, responses)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def item(self, item_id: str) -> Vignette:
        """The vignette with this id; a misspelt id fails with the nearest real ids."""
        try:
            return self._items[item_id]
        except KeyError:
            raise UnknownItemError(
                _unknown_message("item", item_id, list(self._items), self.directory)
            ) from None

    def response(self, response_id: str) -> Response:
        """A candidate response by its id, e.g. ``"rw-014-c"``."""
        item_id = response_id.rsplit("-", 1)[0] if response_id.count("-") == 2 else response_id
        if item_id not in self._items:
            all_ids = self.responses["response_id"].tolist()
            raise UnknownItemError(
                _unknown_message("response", response_id, all_ids, self.directory)
            )
        return self._items[item_id].response(response_id)

    def ids(
        self, *, area: str | None = None, split: str | None = None, difficulty: str | None = None
    ) -> list[str]:
        """Item ids in bank order, optionally filtered; a misspelt filter value fails."""
        for name, value, allowed in (
            ("area", area, AREAS),
            ("split", split, SPLITS),
            ("difficulty", difficulty, DIFFICULTIES),
        ):
            if value is not None and value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        return [
            v.item_id
            for v in self._items.values()
            if (area is None or v.area == area)
            and (split is None or v.split == split)
            and (difficulty is None or v.difficulty == difficulty)
        ]

    def counts(self) -> dict:
        """The summary ``dialectic validate-data`` prints."""
        v = self.vignettes
        return {
            "edition": self.edition,
            "vignettes": int(len(v)),
            "responses": int(len(self.responses)),
            "by_area": _count(v["area"], AREAS),
            "by_difficulty": _count(v["difficulty"], DIFFICULTIES),
            "by_split": _count(v["split"], SPLITS),
            "by_area_and_split": {
                area: _count(v.loc[v["area"] == area, "split"], SPLITS) for area in AREAS
            },
        }


_CACHE: dict[tuple, ItemBank] = {}


def load_bank(directory: Path | str | None = None) -> ItemBank:
    """Load and validate the item bank (cached until its files change)."""
    directory = Path(directory) if directory is not None else paths.item_bank_dir()
    files = [directory / n for n in ("bank.yaml", "vignettes.csv", "responses.csv", HISTORY_FILE)]
    # content hashes, not mtimes: an edit within one clock tick must not be served stale
    stamp = tuple(
        (str(f), hashlib.blake2b(f.read_bytes()).hexdigest() if f.exists() else None) for f in files
    )
    if stamp not in _CACHE:
        _CACHE.clear()
        _CACHE[stamp] = _load(directory)
    return _CACHE[stamp]


def dictionaries(directory: Path | None = None) -> tuple[Dictionary, Dictionary]:
    """The vignette and response dictionaries of a bank folder."""
    directory = Path(directory) if directory is not None else paths.item_bank_dir()
    return (
        load_dictionary(directory / "vignettes.schema.yaml"),
        load_dictionary(directory / "responses.schema.yaml"),
    )


def _load(directory: Path) -> ItemBank:
    manifest_path = directory / "bank.yaml"
    try:
        manifest = safe_load(manifest_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise DataValidationError(
            [Problem(str(manifest_path), "does not exist; is this an item-bank folder?")]
        ) from None
    except yaml.YAMLError as exc:
        raise DataValidationError(
            [Problem(str(manifest_path), f"is not valid YAML: {exc}")]
        ) from exc
    edition = manifest.get("edition")
    problems = []
    if manifest.get("schema_version") != SCHEMA_VERSION:
        problems.append(
            Problem(
                str(manifest_path),
                f"schema_version is {manifest.get('schema_version')!r}; "
                f"this grader reads {SCHEMA_VERSION}",
            )
        )
    if edition not in EDITIONS:
        problems.append(
            Problem(str(manifest_path), f"edition is {edition!r}; use one of {', '.join(EDITIONS)}")
        )
    vdict, rdict = dictionaries(directory)
    for d in (vdict, rdict):
        if d.schema_version != SCHEMA_VERSION:
            problems.append(
                Problem(
                    f"{directory / d.file}",
                    f"dictionary schema_version {d.schema_version} is not {SCHEMA_VERSION}",
                )
            )
    if problems:
        raise DataValidationError(problems)
    raw_v = _read_raw(directory / vdict.file)
    raw_r = _read_raw(directory / rdict.file)
    relaxed_v = set(vdict.key_columns) if edition == "student" else set()
    relaxed_r = set(rdict.key_columns) if edition == "student" else set()
    check_frame(raw_v, vdict, str(directory / vdict.file), relaxed=relaxed_v)
    check_frame(raw_r, rdict, str(directory / rdict.file), relaxed=relaxed_r)
    vignettes, responses = typed(raw_v, vdict), typed(raw_r, rdict)
    problems = check_keying(vignettes, responses, directory, edition, vdict, rdict)
    if edition == "instructor" and not problems:
        # the student edition carries no changelog: it would hold assessment keys
        problems = check_history(load_history(directory), vignettes, responses, directory)
    if problems:
        raise DataValidationError(problems)
    return ItemBank(directory, edition, vignettes, responses)


def _read_raw(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8"
        )
    except FileNotFoundError:
        raise DataValidationError([Problem(str(path), "does not exist")]) from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError([Problem(str(path), f"cannot be parsed as CSV: {exc}")]) from exc


def check_keying(
    vignettes: pd.DataFrame,
    responses: pd.DataFrame,
    directory: Path,
    edition: str,
    vdict: Dictionary,
    rdict: Dictionary,
) -> list[Problem]:
    """Check the rules of KEYING_RUBRIC.md that tie rows and tables together."""
    vfile, rfile = str(directory / vdict.file), str(directory / rdict.file)
    problems: list[Problem] = []

    def vproblem(row: int, column: str, message: str) -> None:
        problems.append(
            Problem(
                vfile, message, row=row + 1, column=column, item_id=vignettes.at[row, "item_id"]
            )
        )

    def rproblem(row: int, column: str, message: str) -> None:
        problems.append(
            Problem(
                rfile, message, row=row + 1, column=column, item_id=responses.at[row, "item_id"]
            )
        )

    # plain records, not iterrows/.loc: this runs on every load of the bank, in every kernel
    records = responses.to_dict("records")
    rows_of_item: dict[str, list[int]] = {}
    for row, record in enumerate(records):
        rows_of_item.setdefault(record["item_id"], []).append(row)
    known = set(vignettes["item_id"])
    for row, record in enumerate(records):
        item_id = record["item_id"]
        if item_id not in known:
            rproblem(row, "item_id", f"names item {item_id!r}, which is not in {vdict.file}")
        elif not record["response_id"].startswith(item_id + "-"):
            rproblem(
                row, "response_id", f"{record['response_id']!r} does not start with its item id"
            )

    required_keys = [c.name for c in rdict.columns if c.key and c.required]
    for row, v in enumerate(vignettes.to_dict("records")):
        item_id, area = v["item_id"], v["area"]
        if not item_id.startswith(AREA_PREFIX[area] + "-"):
            vproblem(row, "area", f"area {area!r} needs the id prefix {AREA_PREFIX[area]!r}")
        keyed = edition == "instructor" or v["split"] == "practice"
        key_values = [v[c] for c in vdict.key_columns]
        if not keyed and any(pd.notna(x) for x in key_values):
            vproblem(row, "split", "student edition carries an assessment key for this item")
        if keyed:
            _vignette_rules(v, lambda col, msg, r=row: vproblem(r, col, msg))
        if area == "attachment" and pd.isna(v["therapist_reaction"]):
            vproblem(
                row, "therapist_reaction", "attachment items need the therapist's inner reaction"
            )
        if area != "attachment" and pd.notna(v["therapist_reaction"]):
            vproblem(row, "therapist_reaction", "only attachment items carry a therapist reaction")
        _review_rules(v, lambda col, msg, r=row: vproblem(r, col, msg))
        item_rows = rows_of_item.get(item_id, [])
        letters = [records[r]["response_id"].rsplit("-", 1)[1] for r in item_rows]
        if not 4 <= len(item_rows) <= 5:
            vproblem(row, "item_id", f"has {len(item_rows)} candidate responses; 4 or 5 are needed")
        elif letters != list("abcde"[: len(letters)]):
            rproblem(
                item_rows[0],
                "response_id",
                f"letters of item {item_id} are {letters}; use a, b, c... in order",
            )
        item_responses = [(r, records[r]) for r in item_rows]
        if keyed:
            key_missing = [
                r for r, resp in item_responses if any(pd.isna(resp[c]) for c in required_keys)
            ]
            for r in key_missing:
                rproblem(r, "spectrum_position", "a keyed item's response is missing key values")
            if not key_missing and len(item_rows) >= 2:
                for r, col, msg in _response_rules(item_responses, area):
                    rproblem(r, col, msg)
        else:
            for r, resp in item_responses:
                if any(pd.notna(resp[c]) for c in rdict.key_columns):
                    rproblem(
                        r, "split", "student edition carries an assessment key for this response"
                    )
    return problems


#: The columns holding the figures of an item's latest expert review.
REVIEW_COLUMNS = (
    "review_panel_size",
    "review_icvi",
    "review_best_agreement",
    "review_key_agreement",
    "reviewed_on",
)


def _review_rules(v: dict, report) -> None:
    """An expert-reviewed item carries its panel's figures; an unreviewed one carries none."""
    given = [c for c in REVIEW_COLUMNS if pd.notna(v[c])]
    if v["review_status"] == "expert_reviewed" and len(given) != len(REVIEW_COLUMNS):
        missing = [c for c in REVIEW_COLUMNS if c not in given]
        report(
            missing[0],
            f"an expert-reviewed item needs its panel's figures; {', '.join(missing)} empty",
        )
    elif v["review_status"] == "author_keyed" and given:
        report(
            given[0],
            "an author-keyed item has had no expert review, so it carries no review figures",
        )


def _vignette_rules(v: dict, report) -> None:
    area, rupture, marker = v["area"], v["rupture_type"], v["marker_3rs"]
    if area == "rupture_withdrawal" and rupture != "withdrawal":
        report("rupture_type", "rupture-withdrawal items must have rupture_type withdrawal")
    if area == "rupture_confrontation" and rupture != "confrontation":
        report("rupture_type", "rupture-confrontation items must have rupture_type confrontation")
    if rupture == "none" and marker != "none":
        report("marker_3rs", f"marker {marker!r} given but rupture_type is none")
    if rupture in MARKERS and marker not in MARKERS[rupture]:
        report(
            "marker_3rs", f"{marker!r} is not a {rupture} marker ({', '.join(MARKERS[rupture])})"
        )
    pattern = v["attachment_pattern"]
    if area == "attachment" and pd.isna(pattern):
        report("attachment_pattern", "attachment items need the therapist's attachment pattern")
    if area != "attachment" and pd.notna(pattern):
        report("attachment_pattern", "only attachment items carry an attachment pattern")


def _response_rules(rows: list[tuple[int, dict]], area: str) -> list[tuple[int, str, str]]:
    """The rules tying an item's candidate responses together; ``rows`` are (row, record) pairs."""
    out = []
    first = rows[0][0]
    positions = [int(resp["spectrum_position"]) for _, resp in rows]
    if not (any(p < 0 for p in positions) and 0 in positions and any(p > 0 for p in positions)):
        out.append(
            (
                first,
                "spectrum_position",
                "responses must span the spectrum (collusive, attuned, "
                f"confrontational); positions are {positions}",
            )
        )
    for r, resp in rows:
        pos, level = int(resp["spectrum_position"]), int(resp["carkhuff_level"])
        if pos != 0 and level > 2:
            out.append(
                (
                    r,
                    "carkhuff_level",
                    f"a non-attuned response (position {pos:+d}) is "
                    f"subtractive: level 1 or 2, not {level}",
                )
            )
        if pos == 0 and level < 3:
            out.append((r, "carkhuff_level", f"an attuned response is level 3 to 5, not {level}"))
        if pos == 0 and (resp["resonance"] < 3 or resp["regulation"] < 3):
            out.append(
                (r, "resonance", "an attuned response needs resonance and regulation of at least 3")
            )
    top = max(int(resp["carkhuff_level"]) for _, resp in rows)
    at_top = [(r, resp) for r, resp in rows if int(resp["carkhuff_level"]) == top]
    if len(at_top) != 1 or int(at_top[0][1]["spectrum_position"]) != 0:
        out.append(
            (
                first,
                "carkhuff_level",
                "exactly one response must be the keyed best: attuned, "
                "with a Carkhuff level above every other",
            )
        )
    else:
        r, best = at_top[0]
        if best["resonance"] < 4 or best["regulation"] < 4:
            out.append(
                (
                    r,
                    "resonance",
                    "the keyed best response needs resonance and regulation of at least 4",
                )
            )
        if area.startswith("rupture") and best["resolution_strategy"] == "none":
            out.append(
                (
                    r,
                    "resolution_strategy",
                    "the keyed best response to a rupture names a 3RS resolution strategy",
                )
            )
    return out


def _build_items(vignettes: pd.DataFrame, responses: pd.DataFrame) -> dict[str, Vignette]:
    by_item: dict[str, list[Response]] = {}
    response_fields = [f.name for f in fields(Response)]
    for record in responses.to_dict("records"):
        by_item.setdefault(record["item_id"], []).append(
            Response(**{k: _plain(record[k]) for k in response_fields})
        )
    vignette_fields = [f.name for f in fields(Vignette) if f.name != "responses"]
    items = {}
    for record in vignettes.to_dict("records"):
        values = {k: _plain(record[k]) for k in vignette_fields}
        items[record["item_id"]] = Vignette(
            **values, responses=tuple(by_item.get(record["item_id"], ()))
        )
    return items


def _plain(value):
    """pandas' missing values and numpy scalars as plain Python values."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return str(value) if not isinstance(value, (int, float, bool)) else value


def _count(series: pd.Series, order: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(series.dropna().astype(str))
    return {k: int(counts.get(k, 0)) for k in order}


def _unknown_message(kind: str, wanted: str, known: list[str], directory: Path) -> str:
    close = difflib.get_close_matches(str(wanted), known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"No {kind} {wanted!r} in the item bank at {directory}.{hint}"
