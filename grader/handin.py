"""Values handed out of a student's kernel as data only, for checks the kernel cannot reach.

A code task's test cell ends with ``hand_in(name=value)``. Under ``dialectic autograde`` the
value is written here as JSON into a folder the grader names (``$DIALECTIC_HANDIN``), and the
trusted grading process, outside the sandbox, decodes it and runs the cell's checks on it.
JSON carries no code: unlike pickle, decoding it cannot run anything the student wrote, and a
value that merely *claims* to be right (an object whose ``==`` always succeeds, a patched
DataFrame) arrives as the plain numbers and labels it really holds.

The format, one file per name (``NAME.json``)::

    {"schema_version": 1, "name": "spectrum_summary", "value": <encoded>}

where an encoded value is a JSON scalar, or an object tagged by ``"$"``: ``float`` (nan and
infinities), ``list``, ``tuple``, ``dict``, ``series`` or ``frame``. Series and frames keep
their index and column labels (tagged too, so integer labels stay integers), names and dtypes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from grader.atomic_file import write_atomically
from grader.errors import GraderError

#: The environment variable naming the folder hand-ins go to; unset outside ``dialectic autograde``.
HANDIN_ENV = "DIALECTIC_HANDIN"
SCHEMA_VERSION = 1
#: Largest hand-in file read back (bytes): the checked values of a course task are small.
MAX_BYTES = 8 << 20
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: dtypes restored as they were; any other dtype comes back as Python objects.
DTYPES = {"int64", "int32", "float64", "float32", "bool", "object", "str", "string"}


class HandInError(GraderError):
    """A value that cannot be handed in, or a hand-in file that cannot be read."""


def write(folder: Path | str, name: str, value) -> Path:
    """Encode ``value`` and write it as ``folder/NAME.json`` (replacing an earlier hand-in)."""
    if not NAME.fullmatch(name):
        raise HandInError(f"{name!r} cannot be handed in: use a plain variable name.")
    document = {"schema_version": SCHEMA_VERSION, "name": name, "value": encode(value)}
    return write_atomically(Path(folder) / f"{name}.json", json.dumps(document, allow_nan=False))


def read_all(folder: Path | str) -> dict:
    """Every value handed in to ``folder``, by name. Malformed files raise, naming the file."""
    values = {}
    for path in sorted(Path(folder).glob("*.json")):
        values |= read_file(path)
    return values


def read_file(path: Path) -> dict:
    """``{name: value}`` from one hand-in file; a malformed file raises, naming it."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise HandInError(f"{path.name} is {size} bytes, over the {MAX_BYTES} limit.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        name = document["name"]
        if document.get("schema_version") != SCHEMA_VERSION or f"{name}.json" != path.name:
            raise ValueError("not a hand-in of this format")
        return {name: decode(document["value"])}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise HandInError(
            f"{path.name}: not a readable hand-in ({type(error).__name__}: {error})."
        ) from None


def encode(value):
    """A JSON-ready form of ``value``, built only from the numbers and labels it holds."""
    import numpy as np

    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"$": "float", "v": repr(number)}
    if isinstance(value, str):  # a str subclass: keep only its characters
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return {
            "$": type(value).__name__ if type(value) in (list, tuple) else "list",
            "v": [encode(v) for v in value],
        }
    if isinstance(value, dict):
        return {"$": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    import pandas as pd

    if isinstance(value, pd.Series):
        return {
            "$": "series",
            "name": encode(value.name),
            "index": _index(value.index),
            "dtype": str(value.dtype),
            "v": [encode(v) for v in value.tolist()],
        }
    if isinstance(value, pd.DataFrame):
        return {
            "$": "frame",
            "index": _index(value.index),
            "columns": _index(value.columns),
            "dtypes": [str(d) for d in value.dtypes],
            "v": [[encode(v) for v in value.iloc[:, j].tolist()] for j in range(value.shape[1])],
        }
    raise HandInError(
        f"a {type(value).__name__} cannot be handed in: use numbers, strings, lists, "
        "dicts, pandas Series or DataFrames."
    )


def decode(data):
    """The value ``encode`` wrote (a plain Python, numpy-free value, Series or DataFrame)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    tag = data["$"]
    if tag == "float":
        return float({"nan": "nan", "inf": "inf", "-inf": "-inf"}[data["v"]])
    if tag in ("list", "tuple"):
        items = [decode(v) for v in data["v"]]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in data["v"]}
    import pandas as pd

    if tag == "series":
        series = pd.Series(
            [decode(v) for v in data["v"]],
            index=_labels(data["index"]),
            name=_hashable(decode(data["name"])),
            dtype=object,
        )
        return _typed(series, data["dtype"])
    if tag == "frame":
        columns = _labels(data["columns"])
        if len(columns) != len(data["v"]) or len(columns) != len(data["dtypes"]):
            raise ValueError("a frame's columns, values and dtypes differ in number")
        index = _labels(data["index"])
        frame = pd.DataFrame(
            {
                j: _typed(pd.Series([decode(v) for v in column], index=index, dtype=object), dtype)
                for j, (column, dtype) in enumerate(zip(data["v"], data["dtypes"], strict=True))
            },
            index=index,
        )
        frame.columns = columns
        return frame
    raise ValueError(f"unknown tag {tag!r}")


def _index(index) -> dict:
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        return {
            "levels": [
                [encode(v) for v in index.get_level_values(i).tolist()]
                for i in range(index.nlevels)
            ],
            "names": [encode(n) for n in index.names],
        }
    return {
        "v": [encode(v) for v in index.tolist()],
        "name": encode(index.name),
        "dtype": str(index.dtype),
    }


def _labels(data: dict):
    import pandas as pd

    if "levels" in data:
        levels = [[_hashable(decode(v)) for v in level] for level in data["levels"]]
        return pd.MultiIndex.from_arrays(
            levels, names=[_hashable(decode(n)) for n in data["names"]]
        )
    index = pd.Index(
        [_hashable(decode(v)) for v in data["v"]],
        name=_hashable(decode(data["name"])),
        dtype=object,
    )
    return (
        index.astype(data["dtype"])
        if data["dtype"] in DTYPES and len(index)
        else index.infer_objects()
    )


def _typed(series, dtype: str):
    if dtype in DTYPES:
        try:
            return series.astype(dtype)
        except (ValueError, TypeError):
            return series.infer_objects()
    return series.infer_objects()


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value
