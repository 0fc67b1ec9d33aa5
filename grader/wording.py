"""Words for numbers in what people read: "1 assignment", "3 assignments"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one: ``counted(1, "item")`` is "1 item"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
