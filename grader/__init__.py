"""grader: the item bank, scoring, answer store and tools of the empathic-dialectic course.

Notebooks and instructors call this package; nothing in a notebook re-implements it. Its
modules make four parts. The learner's side imports nothing from grading or analytics, so
a learner's kernel loads only what a learner uses (``tests/test_layout.py`` checks it); the
instructor's tools on the content (the expert review) and the demo use the others freely.

**Content**: what is taught and scored.
  ``itembank`` (the scored vignettes), ``dictionary`` (data dictionaries and table
  validation), ``editions`` (the student edition, without assessment keys), ``key_history``,
  ``physiology`` (the synthetic synchrony data), ``exemplars`` (the rater's training
  corpus), ``rubric`` (for written answers), ``paths``; the expert review of the keys:
  ``item_review``, ``content_validity``, ``review_report``.

**The learner's side**: what runs in a learner's kernel or browser.
  ``answers`` (``responses.json``: the store, and the one owner of its format),
  ``scoring`` (the one place items are scored), ``choices`` (where a chosen response sits,
  and the lean of many choices: one rule for learners and instructors), ``widgets``,
  ``charts``, ``progress``, ``grading`` (what test cells call), ``handin`` (values leave
  the kernel as data), the formative rater (``rater``, ``encoder``, ``rater_view``), and
  the course website (``site``, ``static_items``, ``static_html``).

**Grading**: the instructor's side of nbgrader.
  ``gradecells`` (grade-id and test-cell conventions), ``autograde/`` (grading that
  submission code cannot forge; its own map is in its ``__init__``), ``sandbox``,
  ``feedback``, ``hand_grading``, ``written_answers``, ``ratings`` and ``agreement``
  (blind second ratings and inter-rater statistics), ``machine_reader`` and ``rate_file``
  (the rater as a labelled machine reading), ``pseudonyms``; ``simulate`` (the cohort
  simulator: synthetic submissions for tests, benchmarks and the demo) and ``demo`` (the
  whole pipeline on a simulated cohort, ``make demo``).

**Instructor analytics**: a real cohort after grading.
  ``analytics`` (``load_cohort`` reads the gradebook and the collected answers into a
  ``GradedCohort``; item analysis, profiles), ``cohort_view`` (charts and the profile
  picker for a graded cohort), ``tables``, ``report`` (the one-file HTML report),
  ``lms_export`` (Canvas and research CSVs).

Shared by all: ``errors``, ``atomic_file`` (every file written in one step),
``file_lock`` (every lock between processes), ``lazy``, ``wording``; ``cli`` (the thin
``dialectic`` command); ``lab`` (JupyterLab as ``make lab`` starts it); ``nbgrader_cli``
(nbgrader's own command, started without an unused grammar build); ``hub``,
``hub_auth``, ``hub_run``, ``singleuser`` (the cohort's JupyterHub and the servers it starts).

Old names kept working, with a DeprecationWarning: ``grader.cohort`` (now ``simulate``),
``grader.pipeline`` (now ``demo``), ``analytics.CohortData`` (now ``GradedCohort``).
"""

__version__ = "0.1.0"
