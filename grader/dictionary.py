"""Machine-readable data dictionaries and validation of tables against them.

Every table in ``datasets/`` sits next to a ``*.schema.yaml`` file that names each column,
its type, the values it may take and what it means. :func:`read_table` reads a CSV file,
checks every cell against that dictionary and returns a typed pandas frame; any problem is
reported with the file, the row, the column and the offending value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.errors import DataValidationError, Problem
from grader.lazy import lazy_import

pd = lazy_import("pandas")

#: The dictionary format this code reads. Bumped when the schema files change shape.
DICTIONARY_FORMAT = 1

TYPES = ("string", "text", "category", "integer", "number", "boolean")
_BOOLEAN = {"true": True, "false": False}


@dataclass(frozen=True)
class Column:
    """One column of a table, as its dictionary describes it."""

    name: str
    type: str
    meaning: str
    required: bool = True
    """An empty cell is an error when true."""
    allowed: tuple[str, ...] | None = None
    """For ``category`` columns: the only values allowed."""
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    """A regular expression a ``string`` value must match in full."""
    key: bool = False
    """True for assessment-key columns, blanked in the student edition of the bank."""

    def problem_with(self, raw: str) -> str | None:
        """Say what is wrong with one raw cell, or return None when it is valid."""
        if raw == "":
            return "is empty but the column is required" if self.required else None
        if self.type == "category" and raw not in (self.allowed or ()):
            return f"is not one of the allowed values ({', '.join(self.allowed or ())})"
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?\d+", raw):
                return "is not a whole number"
            return self._range_problem(int(raw))
        if self.type == "number":
            try:
                value = float(raw)
            except ValueError:
                return "is not a number"
            return self._range_problem(value)
        if self.type == "boolean" and raw not in _BOOLEAN:
            return "is not true or false"
        if self.pattern and not re.fullmatch(self.pattern, raw):
            return f"does not match the pattern {self.pattern}"
        if raw != raw.strip():
            return "has leading or trailing white space"
        return None

    def _range_problem(self, value: float) -> str | None:
        if self.minimum is not None and value < self.minimum:
            return f"is below the minimum {_plain(self.minimum)}"
        if self.maximum is not None and value > self.maximum:
            return f"is above the maximum {_plain(self.maximum)}"
        return None


@dataclass(frozen=True)
class Dictionary:
    """The data dictionary of one table."""

    table: str
    file: str
    description: str
    schema_version: int
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.table} has no column {name!r}; columns are {', '.join(self.names)}")


def safe_load(text: str):
    """``yaml.safe_load``, with libyaml's C parser when PyYAML has it (ten times faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_dictionary(path: Path) -> Dictionary:
    """Read a ``*.schema.yaml`` file, failing clearly when it is malformed."""
    path = Path(path)
    try:
        raw = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataValidationError([Problem(str(path), f"cannot be read as YAML: {exc}")]) from exc
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise DataValidationError([Problem(str(path), "is not a mapping")])
    if raw.get("dictionary_format") != DICTIONARY_FORMAT:
        problems.append(Problem(str(path), f"dictionary_format must be {DICTIONARY_FORMAT}"))
    for required in ("table", "file", "description", "schema_version", "columns"):
        if required not in raw:
            problems.append(Problem(str(path), f"is missing the field {required!r}"))
    if problems:
        raise DataValidationError(problems)
    columns = []
    for i, spec in enumerate(raw["columns"], start=1):
        where = f"column entry {i}"
        unknown = set(spec) - {
            "name",
            "type",
            "meaning",
            "required",
            "allowed",
            "min",
            "max",
            "pattern",
            "key",
        }
        if unknown:
            problems.append(Problem(str(path), f"{where} has unknown fields {sorted(unknown)}"))
        if spec.get("type") not in TYPES:
            problems.append(
                Problem(str(path), f"{where} has type {spec.get('type')!r}; use one of {TYPES}")
            )
        if not spec.get("meaning"):
            problems.append(Problem(str(path), f"{where} ({spec.get('name')}) has no meaning"))
        if spec.get("type") == "category" and not spec.get("allowed"):
            problems.append(
                Problem(
                    str(path), f"{where} ({spec.get('name')}) is a category with no allowed values"
                )
            )
        columns.append(
            Column(
                name=spec.get("name", ""),
                type=spec.get("type", ""),
                meaning=spec.get("meaning", ""),
                required=bool(spec.get("required", True)),
                allowed=tuple(str(a) for a in spec["allowed"]) if spec.get("allowed") else None,
                minimum=spec.get("min"),
                maximum=spec.get("max"),
                pattern=spec.get("pattern"),
                key=bool(spec.get("key", False)),
            )
        )
    if problems:
        raise DataValidationError(problems)
    return Dictionary(
        table=raw["table"],
        file=raw["file"],
        description=raw["description"],
        schema_version=int(raw["schema_version"]),
        columns=tuple(columns),
        primary_key=tuple(raw.get("primary_key", ())),
    )


def read_table(
    path: Path, dictionary: Dictionary, *, relaxed: set[str] | None = None
) -> pd.DataFrame:
    """Read a CSV table, validate every cell against ``dictionary`` and return typed columns.

    ``relaxed`` names columns whose cells may be empty even when the dictionary requires
    them (the student edition of the bank blanks its assessment keys).
    Raises :class:`DataValidationError` listing every problem found, each naming the file,
    the row (1 = first data row), the column and the value.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8",
            compression="infer",
        )
    except FileNotFoundError as exc:
        raise DataValidationError([Problem(str(path), "does not exist")]) from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise DataValidationError([Problem(str(path), f"cannot be parsed as CSV: {exc}")]) from exc
    check_frame(frame, dictionary, str(path), relaxed=relaxed)
    return typed(frame, dictionary)


def check_frame(
    frame: pd.DataFrame, dictionary: Dictionary, source: str, *, relaxed: set[str] | None = None
) -> None:
    """Validate a frame of raw strings against a dictionary; raise on any problem."""
    relaxed = relaxed or set()
    problems: list[Problem] = []
    missing = [n for n in dictionary.names if n not in frame.columns]
    unexpected = [n for n in frame.columns if n not in dictionary.names]
    if missing:
        problems.append(Problem(source, f"is missing the columns {missing}"))
    if unexpected:
        problems.append(
            Problem(source, f"has columns the dictionary does not describe: {unexpected}")
        )
    if problems:
        raise DataValidationError(problems)
    for column in dictionary.columns:
        values = frame[column.name].tolist()
        # A cell's verdict depends on its text alone: judge each distinct text once (the
        # physiology samples repeat a few thousand values over 144,000 rows).
        verdicts = {raw: column.problem_with(raw) for raw in set(values)}
        if column.name in relaxed:
            verdicts[""] = None
        if not any(verdicts.values()):
            continue
        for row, raw in enumerate(values, start=1):
            if problem := verdicts[raw]:
                problems.append(
                    Problem(source, f"value {raw!r} {problem}", row=row, column=column.name)
                )
    if dictionary.primary_key:
        key = list(dictionary.primary_key)
        duplicated = frame.duplicated(subset=key, keep="first")
        for row in [i + 1 for i, dup in enumerate(duplicated) if dup]:
            value = "/".join(frame.iloc[row - 1][key])
            problems.append(
                Problem(source, f"repeats the {'+'.join(key)} {value!r}", row=row, column=key[0])
            )
    if problems:
        raise DataValidationError(problems)


def typed(frame: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """Convert a validated frame of strings into the dictionary's types."""
    out = pd.DataFrame(index=frame.index)
    for column in dictionary.columns:
        raw = frame[column.name]
        missing = raw == ""
        if column.type == "integer":
            values: Any = pd.array(
                [None if m else int(v) for v, m in zip(raw, missing, strict=True)], dtype="Int64"
            )
        elif column.type == "number":
            # numpy's string-to-float cast, ten times faster than to_numeric on the physiology
            # samples; every text here has already been checked to be a number
            values = raw.mask(missing, "nan").astype("float64").astype("Float64")
        elif column.type == "boolean":
            values = pd.array(
                [None if m else _BOOLEAN[v] for v, m in zip(raw, missing, strict=True)],
                dtype="boolean",
            )
        elif column.type == "category":
            values = pd.Categorical(
                raw.where(~missing, None), categories=list(column.allowed or ())
            )
        else:
            values = raw.where(~missing, None).astype("string")
        out[column.name] = values
    return out


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def to_markdown(dictionary: Dictionary) -> str:
    """The dictionary as a Markdown section a person can read."""
    lines = [
        f"### `{dictionary.file}` (schema version {dictionary.schema_version})",
        "",
        " ".join(dictionary.description.split()),
        "",
    ]
    if dictionary.primary_key:
        lines += [f"Primary key: {', '.join(f'`{k}`' for k in dictionary.primary_key)}.", ""]
    lines += [
        "| column | type | values | required | key | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in dictionary.columns:
        if c.allowed:
            values = ", ".join(f"`{a}`" for a in c.allowed)
        elif c.minimum is not None or c.maximum is not None:
            low = "" if c.minimum is None else _plain(c.minimum)
            high = "" if c.maximum is None else _plain(c.maximum)
            values = f"{low}..{high}"
        elif c.pattern:
            values = f"`{c.pattern}`"
        else:
            values = ""
        meaning = " ".join(c.meaning.split()).replace("|", "\\|")
        values = values.replace("|", "\\|")
        lines.append(
            f"| `{c.name}` | {c.type} | {values} | {'yes' if c.required else 'no'} | "
            f"{'yes' if c.key else ''} | {meaning} |"
        )
    return "\n".join(lines) + "\n"


#: First line of the generated DATA_DICTIONARY.md.
GENERATED_HEADER = (
    "<!-- Generated by `dialectic data-dictionary` from the "
    "*.schema.yaml files; do not edit by hand. -->"
)


def render_data_dictionary(root: Path) -> str:
    """DATA_DICTIONARY.md for every ``*.schema.yaml`` below ``root``, folder by folder."""
    root = Path(root)
    parts = [
        GENERATED_HEADER,
        "",
        "# Data dictionary",
        "",
        "Every table in `datasets/`, column by column. Columns marked *key* are assessment",
        "keys: the student edition of the item bank leaves them empty for assessment items.",
        "",
    ]
    for folder in sorted({p.parent for p in root.rglob("*.schema.yaml")}):
        parts += [f"## `{folder.relative_to(root)}/`", ""]
        for schema in sorted(folder.glob("*.schema.yaml")):
            parts.append(to_markdown(load_dictionary(schema)))
    return "\n".join(parts)
