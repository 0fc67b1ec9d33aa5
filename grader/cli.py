"""The ``dialectic`` command: a thin layer that parses arguments and calls the library.

Defaults that the library defines (worker counts, seeds, how many disagreements to list)
are read from the library function's own signature, not repeated here (:class:`_LibraryDefault`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
from pathlib import Path

from grader import __version__
from grader.errors import GraderError
from grader.lazy import skip_iri_grammar


def main(argv: list[str] | None = None) -> int:
    skip_iri_grammar()  # nbgrader's and Jupyter's imports would build it for 1.7 s, unused
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        for name, value in vars(args).items():
            if isinstance(value, _LibraryDefault):
                setattr(args, name, value.value)
        return args.run(args) or 0
    except GraderError as exc:
        print(f"dialectic {args.command}: {exc}", file=sys.stderr)
        return 1


class _LibraryDefault:
    """An option's default as a library function defines it, e.g. ``autograde_cohort``'s workers.

    Reading it imports the library module, which takes seconds for some commands, so it is
    read only when that command runs or its help is shown (argparse formats ``%(default)s``
    with ``str``).
    """

    def __init__(self, function: str, parameter: str):
        self.function, self.parameter = function, parameter
        """``module:function`` and the name of its parameter."""

    @property
    def value(self):
        module, name = self.function.split(":")
        function = getattr(importlib.import_module(module), name)
        return inspect.signature(function).parameters[self.parameter].default

    def __str__(self) -> str:
        return str(self.value)


#: The top-level help: every command, in the course's four parts (see grader/__init__.py).
DESCRIPTION = """\
Tools of the empathic-dialectic course. `dialectic COMMAND --help` says more about each.

content:      validate-data, student-bank, generate-physiology, data-dictionary,
              items (expert review of the keys, and their history)
learners:     answers (check or recover an answer file), site (the course website)
grading:      sync-tests, autograde, simulate-cohort, demo, ratings (blind second
              ratings of written answers), rate, rater-embeddings (the formative rater)
instructors:  report (the cohort report), export (grades for Canvas or research)
deployment:   hub (the cohort's JupyterHub)"""


def _course_option() -> argparse.ArgumentParser:
    """The --course option every command that works on a course directory shares."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--course",
        type=Path,
        default=Path.cwd(),
        help="nbgrader course directory (default: the current folder)",
    )
    return parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialectic",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    course = _course_option()

    validate = commands.add_parser(
        "validate-data",
        help="validate the item bank and the physiology data; print counts",
        description="Validate every table against its data dictionary and the item bank against "
        "the keying rubric, then print counts per area, difficulty and split. "
        "Exits 1 and names each problem (file, row, column) when anything is wrong.",
    )
    validate.add_argument("--json", action="store_true", help="print the counts as JSON")
    validate.add_argument("--bank", type=Path, help="item-bank folder (default: the course's)")
    validate.set_defaults(run=_validate_data)

    student = commands.add_parser(
        "student-bank",
        help="write the student edition of the item bank (no assessment keys)",
        description="Write a copy of the item bank in which every assessment key (spectrum "
        "positions, levels, ratings, strategies, rationales, rupture and attachment "
        "keys of assessment items) is blank. Point DIALECTIC_ITEM_BANK at it in a "
        "student environment.",
    )
    student.add_argument("out", type=Path, help="folder to write (created if missing)")
    student.set_defaults(run=_student_bank)

    physio = commands.add_parser(
        "generate-physiology",
        help="regenerate the synthetic physiological-synchrony dataset",
        description="Run the seeded generator in grader.physiology and write dyads.csv, "
        "episodes.csv and samples.csv.gz. With --check, write nothing and exit 1 "
        "if the committed files differ from the generator's output.",
    )
    physio.add_argument("--seed", type=int, help="random seed (default: the committed dataset's)")
    physio.add_argument("--out", type=Path, help="folder to write (default: datasets/physiology)")
    physio.add_argument("--check", action="store_true", help="compare instead of writing")
    physio.set_defaults(run=_generate_physiology)

    datadoc = commands.add_parser(
        "data-dictionary",
        help="write datasets/DATA_DICTIONARY.md from the schema files",
        description="Render every *.schema.yaml under datasets/ as one Markdown data dictionary. "
        "With --check, write nothing and exit 1 if the committed file is out of date.",
    )
    datadoc.add_argument("--check", action="store_true", help="compare instead of writing")
    datadoc.set_defaults(run=_data_dictionary)

    sync = commands.add_parser(
        "sync-tests",
        help="rewrite the exercises' item test cells from the one convention",
        description="Every autograded item's test cell in exercises/ is generated by "
        "grader.gradecells.item_test_source. Rewrite the cells that differ, or with "
        "--check write nothing and exit 1 naming them.",
    )
    sync.add_argument("--check", action="store_true", help="compare instead of writing")
    sync.set_defaults(run=_sync_tests)

    cohort = commands.add_parser(
        "simulate-cohort",
        parents=[course],
        help="write synthetic student submissions into submitted/",
        description="Simulate a cohort handing in ASSIGNMENT: students of differing ability, some "
        "leaning collusive or confrontational, some half done or blank, with written "
        "answers of varying quality. Needs release/ASSIGNMENT (run nbgrader "
        "generate_assignment first). Deterministic for a seed.",
    )
    cohort.add_argument("assignment", help="assignment id, e.g. m07_alliance_and_the_spectrum")
    cohort.add_argument(
        "--students",
        type=int,
        default=_LibraryDefault("grader.simulate:simulate_cohort", "students"),
        help="number of students (default %(default)s)",
    )
    cohort.add_argument(
        "--seed",
        type=int,
        default=_LibraryDefault("grader.simulate:simulate_cohort", "seed"),
        help="random seed (default %(default)s)",
    )
    cohort.set_defaults(run=_simulate_cohort)

    autograde = commands.add_parser(
        "autograde",
        parents=[course],
        help="autograde every submission of an assignment in parallel",
        description="Grade each submission of each ASSIGNMENT with nbgrader's own autograde, "
        "several at once, and write the same per-cell scores into the course's gradebook that "
        "`nbgrader autograde` would. Submissions graded in an earlier run are skipped (use "
        "--force to regrade); manual grades are never overwritten. A submission nbgrader cannot "
        "grade is recorded with its reason and 0 points and flagged. Each item is scored in this "
        "process from responses.json as submitted, and each code task's checks run here on "
        "values its kernel hands out as data, so a submission's code cannot change its own "
        "grade. Each notebook's kernel runs sandboxed (Linux): no network; the instructor's item "
        "bank (it sees the student edition), the gradebook, source notebooks and other "
        "submissions hidden; nothing writable but its own folder; limits on CPU, memory, file "
        "size and processes. What this machine cannot give is printed once at the start.",
    )
    autograde.add_argument(
        "assignment",
        nargs="+",
        help="assignment id(s), e.g. m07_alliance_and_the_spectrum; several share one queue",
    )
    autograde.add_argument(
        "--workers",
        type=int,
        default=_LibraryDefault("grader.autograde:autograde_cohort", "workers"),
        help="submissions graded at once (default: one per CPU core, %(default)s here)",
    )
    autograde.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="seconds a single cell may run (default: the course's Execute.timeout in "
        "nbgrader_config.py)",
    )
    autograde.add_argument(
        "--feedback",
        choices=("scores", "full"),
        default=_LibraryDefault("grader.autograde:autograde_cohort", "feedback"),
        help="what graded notebooks and feedback show of each item: its points only "
        "(scores, the default: no assessment key reaches students) or its points "
        "and rationale (full: better teaching, but the keys then circulate)",
    )
    autograde.add_argument("--force", action="store_true", help="regrade submissions graded before")
    autograde.add_argument(
        "--no-sandbox",
        dest="sandboxed",
        action="store_false",
        help="keep only the limits and timeouts: student code can then reach the "
        "network and read what you can (for a platform where the sandbox fails)",
    )
    autograde.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask distributed cluster (e.g. tcp://host:8786) instead of "
        "local workers; the course directory must be on a shared file system and "
        "each Dask worker must run one thread",
    )
    autograde.set_defaults(run=_autograde)

    demo = commands.add_parser(
        "demo",
        help="run the whole instructor pipeline on a simulated cohort",
        description="Build every assignment, release it, simulate a cohort, autograde, generate "
        "feedback and export grades, with real nbgrader, in a scratch course directory. "
        "Prints where the results are.",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-course"),
        help="scratch course directory (default: demo-course)",
    )
    demo.add_argument(
        "--students",
        type=int,
        default=_LibraryDefault("grader.demo:run_demo", "students"),
        help="students per assignment (default %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=_LibraryDefault("grader.demo:run_demo", "seed"),
        help="random seed of the cohort (default %(default)s)",
    )
    demo.add_argument(
        "--assignment",
        action="append",
        dest="only",
        help="run only this assignment (repeatable; default: all)",
    )
    demo.set_defaults(run=_demo)

    report = commands.add_parser(
        "report",
        parents=[course],
        help="write the cohort report (one self-contained HTML file)",
        description="Read the gradebook and the collected answers of a course directory and write "
        "one HTML file that works offline: cohort view, item analysis with flags, rater "
        "agreement and competency profiles.",
    )
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write")
    report.add_argument(
        "--db-url", help="gradebook database URL (default: the course's gradebook.db)"
    )
    report.add_argument(
        "--pseudonymize",
        action="store_true",
        help="show students by stable pseudonyms instead of ids and names",
    )
    report.set_defaults(run=_report)

    export = commands.add_parser(
        "export",
        parents=[course],
        help="export grades for Canvas or as a pseudonymous research CSV",
        description="canvas: Canvas's gradebook import format (names and ids, one column per "
        "assignment). csv: long-format scores under stable pseudonyms, never names or emails.",
    )
    export.add_argument("--format", choices=["canvas", "csv"], required=True, help="output format")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument(
        "--db-url", help="gradebook database URL (default: the course's gradebook.db)"
    )
    export.set_defaults(run=_export)

    answers = commands.add_parser(
        "answers",
        help="check or recover a learner's responses.json",
        description="check: say whether FOLDER/responses.json is readable and how many items "
        "it answers. recover: set a damaged responses.json aside (in FOLDER/.dialectic/) "
        "and rebuild it from the journal of every answer saved there, naming any answer "
        "that could not be restored. Nothing is ever deleted. Exits 1 when the folder or "
        "file is missing, the file is damaged (check), or an answer could not be restored.",
    )
    answers.add_argument("action", choices=["check", "recover"], help="what to do")
    answers.add_argument(
        "folder",
        type=Path,
        nargs="?",
        default=Path.cwd(),
        help="folder holding responses.json (default: the current folder)",
    )
    answers.set_defaults(run=_answers)

    site = commands.add_parser(
        "site",
        help="build the course website (static HTML, practice items work without Python)",
        description="Execute every course module and render it with Jupyter Book 1 into a static "
        "website: charts as images, practice items answered in the browser with "
        "feedback precomputed by grader.scoring, a progress page, and answers kept in "
        "the browser and downloadable as responses.json. Fails on any cell error, "
        "assessment item or broken link.",
    )
    site.add_argument(
        "--out", type=Path, default=Path("_site"), help="folder to write (default: _site)"
    )
    site.add_argument(
        "--course", type=Path, default=None, help="course notebooks (default: course/)"
    )
    site.add_argument(
        "--workers",
        type=int,
        default=_LibraryDefault("grader.site:build", "workers"),
        help="notebooks executed at once (default %(default)s)",
    )
    site.set_defaults(run=_site)

    _ratings_parser(commands, course)
    _items_parser(commands, course)
    _hub_parser(commands)
    return parser


def _hub_parser(commands) -> None:
    from grader.hub import DEFAULT_ROOT, HubSettings

    defaults = HubSettings(root=DEFAULT_ROOT, roster=Path("roster.csv"))
    hub = commands.add_parser(
        "hub",
        help="set up the cohort's JupyterHub on this machine (as root)",
        description="Make the Unix accounts and course directories a cohort's JupyterHub needs "
        "(`make hub` runs both, then starts the hub). The roster is a CSV with the "
        "columns username, course, role (student or instructor).",
    )
    actions = hub.add_subparsers(dest="action", metavar="ACTION", required=True)
    users = actions.add_parser(
        "users",
        help="create the roster's Unix accounts that are missing",
        description="Create a Unix account (home mode 0700) for each user in the roster and a "
        "grader-COURSE account for each course, unless it exists. Removes no one. "
        "A bad roster is refused whole, naming each bad row.",
    )
    users.add_argument("--roster", type=Path, required=True, help="roster CSV")
    users.add_argument(
        "--home-base", type=Path, help="folder for new homes (default: useradd's, /home)"
    )
    users.set_defaults(run=_hub_users)
    courses = actions.add_parser(
        "courses",
        help="lay out the exchange, the shared config and each course directory",
        description="Create the hub's root folder: nbgrader's exchange (mode 1777), the nbgrader "
        "config every server reads, the student and instructor editions of the data, "
        "and ~grader-COURSE/COURSE for each course (existing course work is kept).",
    )
    courses.add_argument("--roster", type=Path, required=True, help="roster CSV")
    courses.add_argument(
        "--root",
        type=Path,
        default=defaults.root,
        help=f"the hub's root folder (default {defaults.root})",
    )
    courses.set_defaults(run=_hub_courses)
    start = actions.add_parser(
        "start",
        help="run JupyterHub and each course's formgrader (as root; Ctrl-C stops all)",
        description="Start one formgrader per course as its grader account, then JupyterHub with "
        "CONFIG. The trial login (--auth dummy) is "
        "refused unless --ip is a loopback address. DIALECTIC_HUB_ADMIN_TOKEN, when set, "
        "adds a service that may start servers and mint user tokens (for scripts).",
    )
    start.add_argument("--roster", type=Path, required=True, help="roster CSV")
    start.add_argument(
        "--root",
        type=Path,
        default=defaults.root,
        help=f"the hub's root folder (default {defaults.root})",
    )
    start.add_argument(
        "--config",
        type=Path,
        default=Path("hub/jupyterhub_config.py"),
        help="JupyterHub config file (default hub/jupyterhub_config.py)",
    )
    start.add_argument(
        "--ip",
        default=_LibraryDefault("grader.hub_run:run_hub", "ip"),
        help="address to listen on (default %(default)s)",
    )
    start.add_argument(
        "--port",
        type=int,
        default=_LibraryDefault("grader.hub_run:run_hub", "port"),
        help="port (default %(default)s)",
    )
    start.add_argument(
        "--auth",
        choices=["dummy", "pam"],
        default=defaults.auth,
        help="dummy: one shared trial password, loopback only (default); pam: Unix passwords",
    )
    start.add_argument(
        "--service-port",
        type=int,
        default=defaults.service_port,
        help=f"first formgrader's port, one more per course (default {defaults.service_port})",
    )
    start.add_argument(
        "--api-port",
        type=int,
        default=defaults.hub_api_port,
        help=f"the hub's internal API port (default {defaults.hub_api_port})",
    )
    start.add_argument(
        "--proxy-api-port",
        type=int,
        default=defaults.proxy_api_port,
        help=f"the proxy's API port (default {defaults.proxy_api_port})",
    )
    start.add_argument(
        "--proxy", default=_default_proxy(), help="configurable-http-proxy executable"
    )
    start.set_defaults(run=_hub_start)


def _ratings_parser(commands, course: argparse.ArgumentParser) -> None:
    ratings = commands.add_parser(
        "ratings",
        help="blind rating sheets for written answers, and agreement between raters",
        description="nbgrader keeps one manual score per cell. To measure agreement between "
        "raters, export a blind rating sheet per rater (a CSV any spreadsheet opens), have each "
        "rater score the written answers on the four rubric criteria, import the sheets, and "
        "compute the agreement. Ratings live in COURSE/ratings/.",
    )
    actions = ratings.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        parents=[course],
        help="write a blind rating sheet for one rater",
        description="Write a CSV with one row per answered written answer (from autograded/): a "
        "pseudonymous answer_id, the assignment, the vignette, the answer text, an empty "
        "column per rubric criterion and a comment column, in shuffled order, with no "
        "student id, name or score. Instructions and the rubric go to FILE.README.txt.",
    )
    export.add_argument("--rater", required=True, help="name of the rater the sheet is for")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--assignment", help="only this assignment (default: all)")
    export.set_defaults(run=_ratings_export)

    imp = actions.add_parser(
        "import",
        parents=[course],
        help="check a filled sheet and store its ratings",
        description="Check every row of a filled rating sheet and store the good rows' scores in "
        "COURSE/ratings/ratings.csv. Each bad row (unknown answer_id, a score that is not "
        "a whole number 1-5, edited answer text, a repeated row) is printed with its row "
        "number and reason and stores nothing. A score that differs from one already "
        "stored for the same rater is kept as stored unless --replace is given. Exits 1 "
        "if any row was bad or any score conflicted; the good rows are stored anyway.",
    )
    imp.add_argument("file", type=Path, help="the filled CSV sheet")
    imp.add_argument("--rater", required=True, help="name of the rater who filled it")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="replace stored scores of this rater that the sheet changes",
    )
    imp.set_defaults(run=_ratings_import)

    simulate = actions.add_parser(
        "simulate",
        parents=[course],
        help="write a sheet filled by a simulated rater (demo and tests)",
        description="Export a sheet and fill it as a plausible rater would: each answer's true "
        "level from the item bank's keys for the candidate response it reproduces (3 when "
        "unknown), plus a small bias per rater and noise per score, kept within 1-5. "
        "Deterministic for a seed. Import it like any other sheet.",
    )
    simulate.add_argument("--rater", required=True, help="name of the simulated rater")
    simulate.add_argument("--out", type=Path, required=True, help="CSV file to write")
    simulate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    simulate.add_argument("--assignment", help="only this assignment (default: all)")
    simulate.set_defaults(run=_ratings_simulate)

    agreement = actions.add_parser(
        "agreement",
        parents=[course],
        help="agreement between raters, per rubric criterion",
        description="For each rubric criterion: the ICC (two-way random effects, absolute "
        "agreement, single rater: Shrout & Fleiss ICC(2,1)) with its 95% CI and Koo & Li (2016) "
        "reading, Cohen's quadratic-weighted kappa (two raters) with the Landis & Koch reading, "
        "and Krippendorff's ordinal alpha; then the answers the raters disagree on most, for a "
        "consensus discussion. Coefficients need at least 5 answers rated by every rater.",
    )
    agreement.add_argument("--json", action="store_true", help="print the results as JSON")
    agreement.add_argument(
        "--top",
        type=int,
        default=_LibraryDefault("grader.agreement:largest_disagreements", "n"),
        help="how many of the largest disagreements to list (default %(default)s)",
    )
    agreement.set_defaults(run=_ratings_agreement)

    rate = commands.add_parser(
        "rate",
        help="read written responses with the formative rater (machine reading, not a grade)",
        description="Read each row of IN (a CSV with the columns id,item_id,text) with the "
        "formative rater and write it to OUT with position (empty when the rater is unsure), "
        "p_-2 ... p_+2, carkhuff_level, resonance, regulation, unsure (the reasons) and error. A "
        "row that cannot be read (unknown item id, empty text, more than 2,000 characters) is "
        "named with its reason and kept in OUT with the error; the rest are rated, and the "
        "command then exits 1. The rater is trained only on practice keys and the exemplar "
        "corpus: a formative estimate, never a grade or a clinical judgement.",
    )
    rate.add_argument(
        "--in", dest="inp", type=Path, required=True, metavar="IN", help="CSV to read"
    )
    rate.add_argument("--out", type=Path, required=True, metavar="OUT", help="CSV to write")
    rate.set_defaults(run=_rate)

    embeddings = commands.add_parser(
        "rater-embeddings",
        help="regenerate the rater's shipped embedding cache",
        description="Embed every training text of the rater (practice responses and exemplars) and "
        "write grader/rater_model/embeddings.npz, so that the rater loads without "
        "embedding them first. Run after editing a practice response or an exemplar's text.",
    )
    embeddings.set_defaults(run=_rater_embeddings)


def _items_parser(commands, course: argparse.ArgumentParser) -> None:
    items = commands.add_parser(
        "items",
        help="the item bank's keys: expert review by a panel, and the history of changed keys",
        description="Validate the item bank's keys with a panel of your own faculty (`items "
        "review`), and see how an item's keys changed across its versions (`items history`).",
    )
    actions = items.add_subparsers(dest="action", metavar="ACTION", required=True)
    history = actions.add_parser(
        "history",
        help="the recorded key changes of one item, and its keys at a version",
        description="Print every recorded change of an item's keys (version, response, old and "
        "new value, reason). With --version, print the keys as they stood at that version, to "
        "explain a grade given before a change.",
    )
    history.add_argument("item", help="item id, e.g. rw-022")
    history.add_argument("--version", type=int, help="print the keys as they stood at this version")
    history.set_defaults(run=_items_history)

    review = actions.add_parser(
        "review",
        help="blind expert review of the keys: export sheets, import them, report",
        description="A content-validity review by a panel of clinicians. Export one blind sheet "
        "per reviewer (vignettes and shuffled responses under codes, no keys), have each "
        "reviewer place every response on the spectrum, pick the best, rate each vignette's "
        "relevance (1-4) and whether it is essential, and flag unsafe responses; import each "
        "sheet; then report the panel's figures (I-CVI, S-CVI, Lawshe's CVR, Krippendorff's "
        "alpha) and the keys the panel disagrees with. Ratings live in COURSE/item-review/.",
    )
    steps = review.add_subparsers(dest="step", metavar="STEP", required=True)
    export = steps.add_parser(
        "export",
        parents=[course],
        help="write one blind review sheet per reviewer",
        description="Write review-R01.csv ... review-RNN.csv and README.txt into --out. Each "
        "sheet holds the chosen vignettes, each followed by its responses in an order of its "
        "own, under codes that cannot be looked up in the public bank, with no key.",
    )
    export.add_argument("--reviewers", type=int, required=True, help="how many reviewers (sheets)")
    export.add_argument("--out", type=Path, required=True, help="folder to write the sheets into")
    export.add_argument("--area", help="only vignettes of this area (e.g. rupture_withdrawal)")
    export.add_argument(
        "--sample", type=int, help="a random sample of this many vignettes (default: all)"
    )
    export.add_argument("--seed", type=int, help="seed of the sample and of each sheet's order")
    export.set_defaults(run=_review_export)

    imp = steps.add_parser(
        "import",
        parents=[course],
        help="check a filled review sheet and store its ratings",
        description="Check every row of a filled review sheet and store the good rows in "
        "COURSE/item-review/reviews.csv. Each bad row (unknown code, a position not in -2..2, "
        "relevance not in 1-4, two responses marked best, unsafe without a reason, edited text) "
        "is printed with its row number and reason and stores nothing. Exits 1 if any row was "
        "bad or any rating conflicted with a stored one; the good rows are stored anyway.",
    )
    imp.add_argument("file", type=Path, help="the filled CSV sheet")
    imp.add_argument(
        "--reviewer", help="the reviewer's pseudonym (default: from the file name, review-R01.csv)"
    )
    imp.add_argument(
        "--replace", action="store_true", help="replace this reviewer's stored ratings that differ"
    )
    imp.set_defaults(run=_review_import)

    simulate = steps.add_parser(
        "simulate",
        parents=[course],
        help="fill an exported sheet as a simulated reviewer would (demo and tests)",
        description="Fill a sheet in place: each placement is the key, moved one step away from "
        "attuned with probability --harsher when the key is one step off, plus a little noise; "
        "the keyed best is marked; relevance 3-4. Deterministic for a seed.",
    )
    simulate.add_argument("file", type=Path, help="an exported sheet")
    simulate.add_argument(
        "--seed",
        type=int,
        default=_LibraryDefault("grader.item_review:simulate_sheet", "seed"),
        help="random seed (default %(default)s)",
    )
    simulate.add_argument(
        "--harsher",
        type=float,
        default=_LibraryDefault("grader.item_review:simulate_sheet", "harsher"),
        help="chance that a one-step key is placed two steps off (default %(default)s)",
    )
    simulate.set_defaults(run=_review_simulate)

    report = steps.add_parser(
        "report",
        parents=[course],
        help="the panel's figures as HTML and CSV; optionally record them in the bank",
        description="Write the report (HTML) and report.bank.csv, report.vignettes.csv and "
        "report.responses.csv beside it. With --record, write each vignette's figures (panel "
        "size, I-CVI, best and key agreement, date) into the bank's vignettes.csv and mark it "
        "expert_reviewed.",
    )
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")
    report.add_argument("--record", action="store_true", help="record the figures in the item bank")
    report.add_argument("--bank", type=Path, help="item-bank folder (default: the course's)")
    report.set_defaults(run=_review_report)


def _items_history(args) -> int:
    from grader.itembank import load_bank
    from grader.key_history import item_history, keys_at, load_history

    bank = load_bank()
    item = bank.item(args.item)
    if args.version is not None:
        keys = keys_at(bank, args.item, args.version)
        print(f"Keys of {args.item} at version {args.version} (now at version {item.version}):")
        for response_id, values in keys.items():
            print(
                f"  {response_id}: position {values['spectrum_position']}, Carkhuff "
                f"{values['carkhuff_level']}, resonance {values['resonance']}, regulation "
                f"{values['regulation']}"
            )
        return 0
    changes = item_history(load_history(bank.directory), args.item)
    if changes.empty:
        print(f"{args.item} is at version {item.version}; no key change is recorded.")
        return 0
    print(f"{args.item} is at version {item.version}. Recorded key changes:")
    for c in changes.to_dict("records"):
        what = f"v{c['version']} {c['response_id']} {c['column']}"
        if c["column"] not in ("rationale", "safety_note"):
            what += f" {c['old_value']} -> {c['new_value']}"
        print(f"  {what}: {c['reason']} ({c['changed_on']})")
    return 0


def _review_export(args) -> int:
    from grader.item_review import export_sheets

    report = export_sheets(
        args.course, args.reviewers, args.out, area=args.area, sample=args.sample, seed=args.seed
    )
    print(
        f"Wrote {len(report.sheets)} blind review sheet(s) of {len(report.vignettes)} vignettes "
        f"and {report.responses} responses to {args.out}:"
    )
    for sheet in report.sheets:
        print(f"  {sheet}")
    print(f"Instructions for the reviewers: {report.readme}")
    return 0


def _review_import(args) -> int:
    from grader.item_review import import_sheet

    return _imported(
        import_sheet(args.course, args.file, args.reviewer, replace=args.replace), "ratings"
    )


def _review_simulate(args) -> int:
    from grader.item_review import simulate_sheet

    print(
        f"Filled {simulate_sheet(args.file, args.seed, course=args.course, harsher=args.harsher)} "
        "as a simulated reviewer."
    )
    return 0


def _review_report(args) -> int:
    from grader.item_review import load_reviews
    from grader.itembank import load_bank
    from grader.review_report import record_in_bank, review_tables, write_report

    bank = load_bank(args.bank)
    tables = review_tables(load_reviews(args.course), bank)
    written = write_report(tables, args.out, bank=bank)
    print(f"Review of {len(tables.vignettes)} vignettes by {len(tables.reviewers)} reviewers:")
    for row in tables.bank.itertuples():
        print(f"  {row.figure}: {row.value} {row._3}".rstrip())
    print("Wrote " + ", ".join(str(p) for p in written))
    if args.record:
        recorded = record_in_bank(tables, bank)
        print(
            f"Recorded the figures of {len(recorded)} vignette(s) in "
            f"{bank.directory / 'vignettes.csv'}."
        )
    return 0


def _validate_data(args) -> int:
    from grader.exemplars import load_exemplars
    from grader.itembank import load_bank
    from grader.physiology import load as load_physiology

    bank = load_bank(args.bank)
    counts = bank.counts()
    exemplar_vignettes, exemplars = load_exemplars(bank=bank)
    counts["exemplars"] = {
        "vignettes": int(len(exemplar_vignettes)),
        "responses": int(len(exemplars)),
    }
    physiology = load_physiology()
    counts["physiology"] = {
        "dyads": int(len(physiology.dyads)),
        "episodes": int(len(physiology.episodes)),
        "samples": int(len(physiology.samples)),
    }
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    print(
        f"Item bank ({counts['edition']} edition): {counts['vignettes']} vignettes, "
        f"{counts['responses']} candidate responses - valid."
    )
    for label, key in (("area", "by_area"), ("difficulty", "by_difficulty"), ("split", "by_split")):
        print(f"\nBy {label}:")
        for name, n in counts[key].items():
            print(f"  {name:<24}{n:>4}")
    p = counts["physiology"]
    e = counts["exemplars"]
    print(
        f"\nRater exemplars: {e['responses']} keyed responses, "
        f"{e['vignettes']} exemplar vignettes - valid."
    )
    print(
        f"\nPhysiology: {p['dyads']} dyads, {p['episodes']} labelled episodes, "
        f"{p['samples']:,} samples - valid."
    )
    return 0


def _rate(args) -> int:
    from tqdm import tqdm

    from grader.rate_file import rate_file

    with tqdm(desc="rating", unit="response", disable=None) as bar:

        def done(n, total):
            bar.total = total
            bar.update(1)

        report = rate_file(args.inp, args.out, progress=done)
    for problem in report.problems:
        print(f"dialectic rate: {problem}", file=sys.stderr)
    print(
        f"Rated {report.rated} of {report.rows} responses ({report.unsure} unsure) into "
        f"{args.out}. A formative machine reading: not a grade."
    )
    if report.problems:
        print(
            f"{len(report.problems)} row(s) could not be rated; "
            "their reasons are in the error column.",
            file=sys.stderr,
        )
        return 1
    return 0


def _rater_embeddings(args) -> int:
    from grader.rater import write_shipped_cache

    print(f"Wrote {write_shipped_cache()}.")
    return 0


def _student_bank(args) -> int:
    from grader.editions import write_student_edition

    out = write_student_edition(args.out)
    print(f"Student edition written to {out} (assessment keys removed, validated).")
    return 0


def _generate_physiology(args) -> int:
    import shutil
    import tempfile

    from grader import paths, physiology

    seed = physiology.DEFAULT_SEED if args.seed is None else args.seed
    out = args.out or paths.physiology_dir()
    data = physiology.generate(seed)
    if not args.check:
        physiology.write(data, out)
        if out.resolve() != paths.physiology_dir().resolve():  # keep the copy self-describing
            for schema in paths.physiology_dir().glob("*.schema.yaml"):
                shutil.copyfile(schema, out / schema.name)
        print(
            f"Wrote {len(data.dyads)} dyads, {len(data.episodes)} episodes to {out} (seed {seed})."
        )
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        physiology.write(data, Path(scratch))
        differing = [
            f.name
            for f in sorted(Path(scratch).iterdir())
            if not (out / f.name).exists() or _content(out / f.name) != _content(f)
        ]
    if differing:
        print(
            f"{out}: {', '.join(differing)} differ from the generator's output (seed {seed}).",
            file=sys.stderr,
        )
        return 1
    print(f"{out} matches the generator's output (seed {seed}).")
    return 0


def _content(path: Path) -> bytes:
    """A file's bytes, decompressed when gzipped: zlib versions may compress differently."""
    import gzip

    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def _sync_tests(args) -> int:
    from grader.gradecells import sync_item_tests
    from grader.paths import REPO_ROOT

    stale = {
        path: sync_item_tests(path, write=not args.check)
        for path in sorted((REPO_ROOT / "exercises").glob("m*/*.ipynb"))
    }
    stale = {path: cells for path, cells in stale.items() if cells}
    for path, cells in stale.items():
        print(
            f"{path.relative_to(REPO_ROOT)}: "
            f"{'differs' if args.check else 'rewrote'} "
            f"{', '.join(cells)}"
        )
    if not stale:
        print("Every item test cell matches grader.gradecells.item_test_source.")
    return 1 if stale and args.check else 0


def _data_dictionary(args) -> int:
    from grader import paths
    from grader.dictionary import render_data_dictionary

    root = paths.datasets_dir()
    target = root / "DATA_DICTIONARY.md"
    text = render_data_dictionary(root)
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date: run `dialectic data-dictionary`.", file=sys.stderr)
            return 1
        print(f"{target} is up to date.")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"Wrote {target}.")
    return 0


def _simulate_cohort(args) -> int:
    from tqdm import tqdm

    from grader.simulate import simulate_cohort

    with tqdm(total=args.students, desc=f"simulating {args.assignment}", unit="student") as bar:
        cohort = simulate_cohort(
            args.course,
            args.assignment,
            args.students,
            args.seed,
            progress=lambda student: bar.update(),
        )
    kinds = {k: sum(s.completion == k for s in cohort) for k in ("complete", "half", "blank")}
    print(
        f"Wrote {len(cohort)} submissions to {args.course / 'submitted'} "
        f"({kinds['complete']} complete, {kinds['half']} half done, {kinds['blank']} blank)."
    )
    return 0


def _autograde(args) -> int:
    from tqdm import tqdm

    from grader.autograde import autograde_cohort, check_isolation, submissions

    report = check_isolation(args.course, args.timeout, args.sandboxed)
    print(report.summary(), file=sys.stderr if report.missing else sys.stdout)
    total = sum(len(submissions(args.course, a)) for a in args.assignment)
    with tqdm(total=total, desc="autograde", unit="submission") as bar:

        def done(outcome):
            bar.set_postfix_str(f"{outcome.assignment} {outcome.student_id}: {outcome.status}")
            bar.update()

        outcomes = autograde_cohort(
            args.course,
            args.assignment,
            workers=args.workers,
            timeout=args.timeout,
            force=args.force,
            scheduler=args.scheduler,
            sandboxed=args.sandboxed,
            feedback=args.feedback,
            progress=done,
        )
    counts = {k: sum(o.status == k for o in outcomes) for k in ("graded", "failed", "skipped")}
    print(
        f"{counts['graded']} graded, {counts['failed']} could not be graded (0 points, flagged), "
        f"{counts['skipped']} already graded (use --force to regrade)."
    )
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  {outcome.assignment} {outcome.student_id} FAILED: {outcome.reason}")
        for note in outcome.notes:
            print(f"  {outcome.assignment} {outcome.student_id} note: {note}")
    return 1 if counts["failed"] else 0


def _site(args) -> int:
    import time

    from grader import site

    started = time.monotonic()
    out = site.build(
        args.out,
        course=args.course or site.COURSE_DIR,
        workers=args.workers,
        report=lambda message: print(message, flush=True),
    )
    print(f"Website built in {time.monotonic() - started:.0f} s: open {out / 'index.html'}")
    return 0


def _hub_users(args) -> int:
    from grader.hub import add_users, read_roster

    report = add_users(read_roster(args.roster), home_base=args.home_base)
    print(
        f"Created {len(report.created)} account(s): {', '.join(report.created) or 'none'}; "
        f"{len(report.existing)} already existed and were left as they are."
    )
    return 0


def _hub_courses(args) -> int:
    from grader.hub import read_roster, setup_courses

    for directory in setup_courses(read_roster(args.roster), args.root):
        print(f"Course directory {directory}")
    print(f"Exchange and shared nbgrader config under {args.root}")
    return 0


def _default_proxy() -> str:
    """The hub environment's own configurable-http-proxy (make hub-env puts it beside it)."""
    beside = Path(sys.executable).parent.parent / "proxy/node_modules/.bin/configurable-http-proxy"
    return str(beside) if beside.exists() else "configurable-http-proxy"


def _hub_start(args) -> int:
    from grader.hub import HubSettings
    from grader.hub_run import run_hub

    settings = HubSettings(
        root=args.root.resolve(),
        roster=args.roster.resolve(),
        auth=args.auth,
        proxy=args.proxy,
        service_port=args.service_port,
        hub_api_port=args.api_port,
        proxy_api_port=args.proxy_api_port,
        admin_token=os.environ.get("DIALECTIC_HUB_ADMIN_TOKEN") or None,
    )
    return run_hub(settings, args.config.resolve(), ip=args.ip, port=args.port, log=print)


def _demo(args) -> int:
    import time

    from tqdm import tqdm

    from grader.demo import FINAL_STEPS, STEPS, assignments, run_demo
    from grader.wording import counted

    chosen = args.only or assignments()
    started = time.monotonic()
    with tqdm(total=len(chosen) * len(STEPS) + len(FINAL_STEPS), desc="demo", unit="step") as bar:

        def step(assignment, name):
            bar.set_postfix_str(f"{assignment}: {name}")
            bar.update()

        result = run_demo(
            args.out, students=args.students, seed=args.seed, only=args.only, step=step
        )
    minutes = (time.monotonic() - started) / 60
    print(
        f"\nDemo finished in {minutes:.1f} min: {counted(len(result.assignments), 'assignment')}, "
        f"{counted(args.students, 'simulated student')} each."
    )
    print(f"  course directory: {result.course.resolve()}")
    print(f"  gradebook:        {(result.course / 'gradebook.db').resolve()}")
    print(f"  grades (CSV):     {result.grades_csv.resolve()}")
    print(f"  feedback (HTML):  {result.feedback.resolve()}/<student>/<assignment>/")
    print(f"  cohort report:    {result.report.resolve()}")
    print(f"  formgrader:       cd {result.course} && jupyter lab   (Nbgrader > Formgrader)")
    return 0


def _report(args) -> int:
    from tqdm import tqdm

    from grader.report import STEPS, build_report

    with tqdm(total=len(STEPS), desc="report", unit="step") as bar:

        def step(name):
            bar.set_postfix_str(name)
            bar.update()

        out = build_report(
            args.course, args.out, db_url=args.db_url, pseudonymize=args.pseudonymize, progress=step
        )
    print(f"Report written to {out.resolve()}")
    return 0


def _export(args) -> int:
    from grader.analytics import load_cohort
    from grader.hand_grading import AWAITING_HAND_GRADING
    from grader.lms_export import export_grades
    from grader.wording import counted

    done = export_grades(load_cohort(args.course, args.db_url), args.course, args.format, args.out)
    print(f"Grades written to {done.path.resolve()} ({args.format}).")
    if len(done.awaiting):
        where = (
            "left blank in the file" if args.format == "canvas" else "scored on graded points only"
        )
        print(
            f"{counted(len(done.awaiting), 'grade')} {where}, with answers {AWAITING_HAND_GRADING}:"
        )
        for assignment, rows in done.awaiting.groupby("assignment"):
            print(f"  {assignment}: {', '.join(rows['student_id'])}")
    return 0


def _answers(args) -> int:
    from grader.answers import AnswerStore
    from grader.wording import counted

    store = AnswerStore(args.folder)
    if args.action == "check":
        document = store.check()
        print(
            f"{store.path}: readable; {counted(len(document['answers']), 'item')} answered, "
            f"{counted(len(document['reflections']), 'reflection')}."
        )
        return 0
    done = store.recover()
    if done is None:
        print(f"{store.path} is readable: nothing to recover, nothing changed.")
        return 0
    if done.set_aside:
        print(f"The damaged file was moved to {done.set_aside}.")
    else:
        print(f"{store.path} was missing.")
    print(
        f"Restored {store.path} from {counted(done.saves_replayed, 'saved answer')}: "
        f"{counted(done.answers, 'item')} answered, {counted(done.reflections, 'reflection')}."
    )
    if done.not_recovered:
        print(
            f"Could not recover: {', '.join(done.not_recovered)}. Answer these again.",
            file=sys.stderr,
        )
        return 1
    return 0


def _sheet_written(report, rater: str, simulated: bool = False) -> None:
    kind = "simulated ratings by" if simulated else "a blind sheet for"
    print(
        f"Wrote {kind} {rater}: {report.rows} answers "
        f"({', '.join(report.assignments)}) to {report.sheet}."
    )
    print(f"Instructions and rubric: {report.readme}")
    if report.unanswered:
        print(
            f"{report.unanswered} written-answer cell(s) left unanswered by students were skipped."
        )


def _ratings_export(args) -> int:
    from grader.ratings import export_sheet

    _sheet_written(
        export_sheet(args.course, args.rater, args.out, assignment=args.assignment), args.rater
    )
    return 0


def _ratings_simulate(args) -> int:
    from grader.ratings import simulate_ratings

    report = simulate_ratings(
        args.course, args.rater, args.seed, args.out, assignment=args.assignment
    )
    _sheet_written(report, args.rater, simulated=True)
    return 0


def _ratings_import(args) -> int:
    from grader.ratings import import_sheet

    return _imported(
        import_sheet(args.course, args.file, args.rater, replace=args.replace), "scores"
    )


def _imported(report, what: str) -> int:
    """Print what a sheet import (ratings or item review) stored and refused;
    exit 1 on any refusal."""
    print(
        f"{report.sheet} ({report.rater}): {report.rows} rows read; {report.added} {what} added, "
        f"{report.unchanged} unchanged, {report.replaced} replaced"
        + (f"; {report.unrated} row(s) had no {what}" if report.unrated else "")
        + "."
    )
    for warning in report.warnings:
        print(f"Note: {warning}")
    if report.bad_rows:
        rows = report.bad_row_numbers
        print(
            f"\n{len(rows)} bad row(s), nothing stored from them (row "
            "1 is the first row under the header):",
            file=sys.stderr,
        )
        for problem in report.bad_rows:
            print(f"  {problem}", file=sys.stderr)
    if report.conflicts:
        print(
            f"\n{len(report.conflicts)} of the {what} differ from ones already stored and were "
            "not changed (import again with --replace to take this sheet's):",
            file=sys.stderr,
        )
        for problem in report.conflicts:
            print(f"  {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def _ratings_agreement(args) -> int:
    from grader.agreement import (
        agreement_record,
        agreement_table,
        agreement_text,
        largest_disagreements,
    )
    from grader.ratings import load_ratings

    stored = load_ratings(args.course)
    table = agreement_table(stored)
    worst = largest_disagreements(stored, n=args.top)
    if args.json:
        print(json.dumps(agreement_record(stored, table, worst), indent=2))
        return 0
    if stored.empty:
        print(
            f"No ratings stored in {args.course / 'ratings'} yet: export sheets with "
            "`dialectic ratings export`, then import the filled ones."
        )
        return 0
    print(agreement_text(stored, table, worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
