"""Where the course's data lives.

In a checkout (the usual editable install) the data is the repository's ``datasets/``
folder. A deployment can point elsewhere: ``DIALECTIC_DATASETS`` names another data
root, and ``DIALECTIC_ITEM_BANK`` names an item-bank folder on its own, e.g. the student
edition written by ``dialectic student-bank`` for a student JupyterHub image.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.errors import GraderError

DATASETS_ENV = "DIALECTIC_DATASETS"
ITEM_BANK_ENV = "DIALECTIC_ITEM_BANK"

#: The repository root when grader is used from a checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    """The data root: ``$DIALECTIC_DATASETS`` or the checkout's ``datasets/``."""
    configured = os.environ.get(DATASETS_ENV)
    root = Path(configured) if configured else REPO_ROOT / "datasets"
    if not root.is_dir():
        how = f"${DATASETS_ENV} is {configured!r}" if configured else f"looked in {root}"
        raise GraderError(
            f"The course data folder was not found ({how}). Install grader from a checkout "
            f"of the course repository, or set {DATASETS_ENV} to its datasets/ folder."
        )
    return root


def item_bank_dir() -> Path:
    """The item-bank folder: ``$DIALECTIC_ITEM_BANK`` or ``<datasets>/item_bank``."""
    configured = os.environ.get(ITEM_BANK_ENV)
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise GraderError(f"${ITEM_BANK_ENV} is {configured!r}, which is not a folder.")
        return path
    return datasets_dir() / "item_bank"


def physiology_dir() -> Path:
    """The folder of the synthetic physiological-synchrony dataset."""
    return datasets_dir() / "physiology"
