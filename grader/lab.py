"""JupyterLab as `make lab` starts it: the same `jupyter lab`, two seconds sooner.

    python -m grader.lab [jupyter lab's options]

The Jupyter server imports jsonschema (through jupyter-events), which in turn imports
``rfc3987_syntax`` and builds a grammar for IRIs that nothing here checks
(:func:`grader.lazy.skip_iri_grammar`). Started through this module, the server skips that
import, and its kernels leave charts' static images to JupyterLab (:data:`LIVE_CHARTS`);
everything else is JupyterLab's own ``main``.
"""

from __future__ import annotations

import os
import sys

from grader.lazy import skip_iri_grammar

#: grader.charts.CHART_IMAGES_ENV and its "live" value, which the server's kernels inherit:
#: JupyterLab draws the charts, so the kernels draw no static SVG. (Not imported from
#: grader.charts, which would load the item bank's modules into the server.)
LIVE_CHARTS = ("DIALECTIC_CHART_IMAGES", "live")


def main() -> int:
    skip_iri_grammar()
    name, value = LIVE_CHARTS
    os.environ.setdefault(name, value)
    from jupyterlab.labapp import main as lab_main

    return lab_main()


if __name__ == "__main__":
    sys.exit(main())
