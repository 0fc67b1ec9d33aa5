"""The old name of :mod:`grader.simulate` (the cohort simulator), kept so that old imports work."""

import sys
import warnings

from grader import simulate

warnings.warn(
    "grader.cohort is now grader.simulate (the cohort simulator); import it by that name.",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = simulate
