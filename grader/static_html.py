"""Static HTML of an executed notebook, with every widget shown as its text fallback.

nbconvert prefers a widget's live view, which renders blank in a static page unless the
widget state was saved. This exporter prefers HTML and text instead, so each item appears
as its vignette, its candidate responses and the learner's saved answer.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

#: nbconvert's HTML priority without the live widget view.
STATIC_PRIORITY = [
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/latex",
    "text/plain",
]


def to_static_html(notebook: nbformat.NotebookNode | Path | str) -> str:
    """The notebook (a node or a path to an executed .ipynb) as a self-contained HTML page."""
    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(Path(notebook), as_version=4)
    config = Config({"NbConvertBase": {"display_data_priority": STATIC_PRIORITY}})
    body, _ = HTMLExporter(config=config, template_name="lab").from_notebook_node(notebook)
    return body
