"""A Jupyter server on the hub (a student's own, or a course's formgrader), 1.2 seconds sooner.

    dialectic-singleuser [jupyterhub-singleuser's options]

Exactly ``jupyterhub-singleuser``, except that jsonschema does not build the IRI grammar
that the Jupyter server's imports would otherwise build at every start and never use
(:func:`grader.lazy.skip_iri_grammar`). The hub starts every server this way
(:func:`grader.hub.configure`, :func:`grader.hub_run.run_hub`), which saves the hub's
machine over a second of CPU for every student who logs in. It is a console script,
not ``python -m``, so that nothing in a student's home folder can stand in for it.
"""

from __future__ import annotations

import sys

from grader.lazy import skip_iri_grammar


def main() -> int | None:
    skip_iri_grammar()
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main()


if __name__ == "__main__":
    sys.exit(main())
