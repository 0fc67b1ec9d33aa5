"""The student edition of the item bank: every assessment key removed.

Practice keys may be seen by learners; assessment keys are instructor-only. A student
JupyterHub image (or any other student-facing deployment) ships the folder written by
:func:`write_student_edition` and points ``DIALECTIC_ITEM_BANK`` at it. There, widgets
still show assessment items, but scoring them raises ``KeyUnavailableError``: they are
scored only at autograde, in the instructor's environment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml

from grader.errors import GraderError
from grader.itembank import ItemBank, dictionaries, load_bank

#: Files of a bank folder that carry no keys and are copied as they are.
KEY_FREE_FILES = ("vignettes.schema.yaml", "responses.schema.yaml", "KEYING_RUBRIC.md")


def student_tables(bank: ItemBank) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bank's two tables as raw strings, with assessment keys blanked."""
    vdict, rdict = dictionaries(bank.directory)
    vignettes = _raw(bank.directory / vdict.file)
    responses = _raw(bank.directory / rdict.file)
    assessment = set(vignettes.loc[vignettes["split"] == "assessment", "item_id"])
    vignettes.loc[vignettes["item_id"].isin(assessment), vdict.key_columns] = ""
    responses.loc[responses["item_id"].isin(assessment), rdict.key_columns] = ""
    return vignettes, responses


def write_student_edition(out_dir: Path | str, bank: ItemBank | None = None) -> Path:
    """Write the student edition of ``bank`` (default: the configured bank) into ``out_dir``.

    Refuses to write into the instructor bank's own folder, and validates what it wrote.
    """
    bank = bank or load_bank()
    if bank.edition != "instructor":
        raise GraderError(
            f"{bank.directory} is already a student edition; start from the instructor bank."
        )
    out_dir = Path(out_dir)
    if out_dir.resolve() == bank.directory.resolve():
        raise GraderError("The student edition must go to another folder than the instructor bank.")
    out_dir.mkdir(parents=True, exist_ok=True)
    vignettes, responses = student_tables(bank)
    vdict, rdict = dictionaries(bank.directory)
    vignettes.to_csv(out_dir / vdict.file, index=False, lineterminator="\n")
    responses.to_csv(out_dir / rdict.file, index=False, lineterminator="\n")
    for name in KEY_FREE_FILES:
        if (bank.directory / name).exists():
            shutil.copyfile(bank.directory / name, out_dir / name)
    manifest = {"schema_version": 1, "edition": "student"}
    (out_dir / "bank.yaml").write_text(
        "# Student edition: assessment keys removed. Written by `dialectic student-bank`.\n"
        + yaml.safe_dump(manifest, sort_keys=False),
        encoding="utf-8",
    )
    load_bank(out_dir)  # fails loudly if a key slipped through or the copy is malformed
    return out_dir


def _raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
