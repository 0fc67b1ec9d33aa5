"""The exceptions grader raises, each saying which file and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

#: How many problems a validation message lists before summarising the rest.
SHOWN_PROBLEMS = 25


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data file: where it is and what it is."""

    source: str
    message: str
    row: int | None = None
    """1-based data row (the header is not counted)."""
    column: str | None = None
    item_id: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.item_id:
            where.append(f"item {self.item_id}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class GraderError(Exception):
    """Base class of every error grader raises on purpose."""


class DataValidationError(GraderError, ValueError):
    """A data file or data dictionary does not meet its dictionary or keying rules."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:SHOWN_PROBLEMS]]
        hidden = len(self.problems) - len(lines)
        if hidden:
            lines.append(f"... and {hidden} more problems")
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} data {noun}:\n  " + "\n  ".join(lines))


class UnknownItemError(GraderError, KeyError):
    """An item or response id that is not in the bank (usually a typo)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class KeyUnavailableError(GraderError, LookupError):
    """The bank in use is the student edition, which carries no key for this item."""


class AnswerError(GraderError, ValueError):
    """An answer that does not fit the item or task it is given for."""


class AnswerStoreError(GraderError):
    """The answer file is unreadable, malformed, or of a newer format."""
