"""JupyterLab as `make lab` starts it: the same `jupyter lab`, two seconds sooner.

    python -m grader.lab [jupyter lab's options]

The Jupyter server imports jsonschema (through jupyter-events), which in turn imports
``rfc3987_syntax`` and builds a grammar for IRIs that nothing here checks
(:func:`grader.lazy.skip_iri_grammar`). Started through this module, the server skips that
import; everything else is JupyterLab's own ``main``.
"""

from __future__ import annotations

import sys

from grader.lazy import skip_iri_grammar


def main() -> int:
    skip_iri_grammar()
    from jupyterlab.labapp import main as lab_main

    return lab_main()


if __name__ == "__main__":
    sys.exit(main())
