"""The old name of :mod:`grader.demo` (the instructor pipeline on a simulated cohort), kept so
that old imports work."""

import sys
import warnings

from grader import demo

warnings.warn(
    "grader.pipeline is now grader.demo; import it by that name.", DeprecationWarning, stacklevel=2
)
sys.modules[__name__] = demo
