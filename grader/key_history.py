"""The changelog of the item bank's keys: every changed key value, its reason and its version.

``datasets/item_bank/key_changes.csv`` holds one row per changed key value of one response
(see ``key_changes.schema.yaml``). Keys change when a review finds them wrong; a grade
given before the change was scored under the old key, and this history is what explains
it. Grades already in a gradebook are not touched: they change only when an instructor
regrades.

The loader checks the history against the bank (:func:`check_history`):

- every change names an item and a response of the bank, and a reason (the dictionary
  requires it);
- the changes of one response's column chain: each starts from the value the previous one
  left, under a strictly higher version;
- the item's current version is at least the version of its latest change, and the
  current key equals the value the latest change left.

    >>> from grader.key_history import keys_at
    >>> keys_at(load_bank(), "rw-022", version=1)   # the keys a version-1 grade was scored with
"""

from __future__ import annotations

from pathlib import Path

from grader.dictionary import Dictionary, load_dictionary, read_table
from grader.errors import GraderError, Problem
from grader.lazy import lazy_import

pd = lazy_import("pandas")

HISTORY_FILE = "key_changes.csv"
HISTORY_SCHEMA = "key_changes.schema.yaml"


def history_dictionary(directory: Path) -> Dictionary:
    return load_dictionary(Path(directory) / HISTORY_SCHEMA)


def load_history(directory: Path | str) -> pd.DataFrame:
    """The changelog of a bank folder, validated against its dictionary (empty if none)."""
    directory = Path(directory)
    dictionary = history_dictionary(directory)
    path = directory / HISTORY_FILE
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="string") for c in dictionary.names})
    return read_table(path, dictionary)


def check_history(
    history: pd.DataFrame, vignettes: pd.DataFrame, responses: pd.DataFrame, directory: Path
) -> list[Problem]:
    """Problems that tie the changelog to the bank's current keys (see the module docstring)."""
    source = str(Path(directory) / HISTORY_FILE)
    problems: list[Problem] = []
    versions = dict(zip(vignettes["item_id"], vignettes["version"].astype(int), strict=True))
    current = responses.set_index("response_id")
    for row, change in enumerate(history.to_dict("records"), start=1):
        item_id, response_id = change["item_id"], change["response_id"]
        if item_id not in versions:
            problems.append(
                Problem(
                    source,
                    f"names item {item_id!r}, which is not in the bank",
                    row=row,
                    column="item_id",
                    item_id=item_id,
                )
            )
        elif not response_id.startswith(item_id + "-") or response_id not in current.index:
            problems.append(
                Problem(
                    source,
                    f"names response {response_id!r}, which is not a response of item {item_id}",
                    row=row,
                    column="response_id",
                    item_id=item_id,
                )
            )
    if problems:
        return problems
    # plain records, not groupby/iterrows: this runs on every load of the instructor bank
    chains: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for row, change in enumerate(history.to_dict("records"), start=1):
        chains.setdefault((change["response_id"], change["column"]), []).append((row, change))
    for (response_id, column), chain in chains.items():
        item_id = chain[0][1]["item_id"]
        chain.sort(
            key=lambda pair: int(pair[1]["version"])
        )  # stable: equal versions keep file order
        previous_row, previous = None, None
        for row, change in chain:
            if previous is not None and int(change["version"]) == int(previous["version"]):
                problems.append(
                    Problem(
                        source,
                        f"changes {response_id} {column} twice in version "
                        f"{change['version']}; record one change per version",
                        row=row,
                        column="version",
                        item_id=item_id,
                    )
                )
            elif previous is not None and _text(change["old_value"]) != _text(
                previous["new_value"]
            ):
                problems.append(
                    Problem(
                        source,
                        f"old_value does not equal the value left by the change "
                        f"in version {previous['version']} (row {previous_row})",
                        row=row,
                        column="old_value",
                        item_id=item_id,
                    )
                )
            previous_row, previous = row, change
        latest_row, latest = chain[-1]
        if int(latest["version"]) > versions[item_id]:
            problems.append(
                Problem(
                    source,
                    f"records a change in version {latest['version']} but item "
                    f"{item_id} is at version {versions[item_id]}: bump the item's version",
                    row=latest_row,
                    column="version",
                    item_id=item_id,
                )
            )
        now = _text(current.at[response_id, column])
        if now != _text(latest["new_value"]):
            problems.append(
                Problem(
                    source,
                    f"the latest change of {response_id} {column} leaves "
                    f"{_text(latest['new_value'])!r}, but responses.csv holds {now!r}: record "
                    "the change (with its reason) or undo the edit",
                    row=latest_row,
                    column="new_value",
                    item_id=item_id,
                )
            )
    return problems


def item_history(history: pd.DataFrame, item_id: str) -> pd.DataFrame:
    """The changes of one item, oldest first."""
    rows = history[history["item_id"] == item_id]
    return rows.sort_values(["version", "response_id"]).reset_index(drop=True)


def keys_at(bank, item_id: str, version: int) -> dict[str, dict[str, str]]:
    """Each response's key values as they stood at ``version`` of the item.

    Starts from the current keys and undoes every change made in a later version, newest
    first. Values are strings, as stored in the changelog.
    """
    item = bank.item(item_id)
    if not 1 <= version <= item.version:
        raise GraderError(
            f"Item {item_id} has versions 1 to {item.version}; there is no version {version}."
        )
    columns = history_dictionary(bank.directory).column("column").allowed or ()
    keys = {r.response_id: {c: _text(getattr(r, c)) for c in columns} for r in item.responses}
    changes = item_history(load_history(bank.directory), item_id)
    for change in changes[changes["version"].astype(int) > version].iloc[::-1].to_dict("records"):
        keys[change["response_id"]][change["column"]] = _text(change["old_value"])
    return keys


def _text(value) -> str:
    """A key value as the changelog stores it: '' for missing, whole numbers without '.0'."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
