"""grader: the item bank, scoring, answer store and tools of the empathic-dialectic course.

Notebooks and instructors call this package; nothing in a notebook re-implements it.
"""

__version__ = "0.1.0"
