"""nbgrader's own command line, 1.7 seconds sooner.

    python -m grader.nbgrader_cli autograde m07_alliance_and_the_spectrum

Exactly ``nbgrader ARGS``, except that jsonschema does not build the IRI grammar that
nbgrader's imports (through nbformat and jupyter-events) would otherwise build on every
command and never use (:func:`grader.lazy.skip_iri_grammar`). :func:`grader.demo.nbgrader`
and the tests run nbgrader this way; an instructor can too.
"""

from __future__ import annotations

import sys

from grader.lazy import skip_iri_grammar


def main() -> int | None:
    skip_iri_grammar()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    return nbgrader_main()


if __name__ == "__main__":
    sys.exit(main())
