"""The ``dialectic`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grader import __version__
from grader.errors import GraderError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except GraderError as exc:
        print(f"dialectic {args.command}: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialectic",
        description="Tools of the empathic-dialectic course: validate the item bank and data, "
                    "write the student edition of the bank, manage answer files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate-data", help="validate the item bank and the physiology data; print counts",
        description="Validate every table against its data dictionary and the item bank against "
                    "the keying rubric, then print counts per area, difficulty and split. "
                    "Exits 1 and names each problem (file, row, column) when anything is wrong.")
    validate.add_argument("--json", action="store_true", help="print the counts as JSON")
    validate.add_argument("--bank", type=Path, help="item-bank folder (default: the course's)")
    validate.set_defaults(run=_validate_data)

    student = commands.add_parser(
        "student-bank", help="write the student edition of the item bank (no assessment keys)",
        description="Write a copy of the item bank in which every assessment key (spectrum "
                    "positions, levels, ratings, strategies, rationales, rupture and attachment "
                    "keys of assessment items) is blank. Point DIALECTIC_ITEM_BANK at it in a "
                    "student environment.")
    student.add_argument("out", type=Path, help="folder to write (created if missing)")
    student.set_defaults(run=_student_bank)

    physio = commands.add_parser(
        "generate-physiology", help="regenerate the synthetic physiological-synchrony dataset",
        description="Run the seeded generator in grader.physiology and write dyads.csv, "
                    "episodes.csv and samples.csv.gz. With --check, write nothing and exit 1 "
                    "if the committed files differ from the generator's output.")
    physio.add_argument("--seed", type=int, help="random seed (default: the committed dataset's)")
    physio.add_argument("--out", type=Path, help="folder to write (default: datasets/physiology)")
    physio.add_argument("--check", action="store_true", help="compare instead of writing")
    physio.set_defaults(run=_generate_physiology)

    datadoc = commands.add_parser(
        "data-dictionary", help="write datasets/DATA_DICTIONARY.md from the schema files",
        description="Render every *.schema.yaml under datasets/ as one Markdown data dictionary. "
                    "With --check, write nothing and exit 1 if the committed file is out of date.")
    datadoc.add_argument("--check", action="store_true", help="compare instead of writing")
    datadoc.set_defaults(run=_data_dictionary)

    cohort = commands.add_parser(
        "simulate-cohort", help="write synthetic student submissions into submitted/",
        description="Simulate a cohort handing in ASSIGNMENT: students of differing ability, some "
                    "leaning collusive or confrontational, some half done or blank, with written "
                    "answers of varying quality. Needs release/ASSIGNMENT (run nbgrader "
                    "generate_assignment first). Deterministic for a seed.")
    cohort.add_argument("assignment", help="assignment id, e.g. m07_alliance_and_the_spectrum")
    cohort.add_argument("--students", type=int, default=30, help="number of students (default 30)")
    cohort.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    cohort.add_argument("--course", type=Path, default=Path.cwd(),
                        help="nbgrader course directory (default: the current folder)")
    cohort.set_defaults(run=_simulate_cohort)

    autograde = commands.add_parser(
        "autograde", help="autograde every submission of an assignment in parallel",
        description="Grade each submission of each ASSIGNMENT with nbgrader's own autograde, several at "
                    "once, and write the same per-cell scores into the course's gradebook that "
                    "`nbgrader autograde` would. Submissions graded in an earlier run are skipped "
                    "(use --force to regrade); manual grades are never overwritten. A submission "
                    "nbgrader cannot grade is recorded with its reason and 0 points and flagged. Each "
                    "notebook's kernel runs sandboxed (Linux): no network; the gradebook, source "
                    "notebooks and other submissions hidden; nothing writable but its own folder; "
                    "limits on CPU, memory, file size and processes. What this machine cannot give is "
                    "printed once at the start.")
    autograde.add_argument("assignment", nargs="+",
                           help="assignment id(s), e.g. m07_alliance_and_the_spectrum; several share one queue")
    autograde.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                           help="submissions graded at once (default: the number of CPU cores)")
    autograde.add_argument("--timeout", type=int, default=60, help="seconds a single cell may run (default 60)")
    autograde.add_argument("--course", type=Path, default=Path.cwd(), help="course directory (default: here)")
    autograde.add_argument("--force", action="store_true", help="regrade submissions graded before")
    autograde.add_argument("--no-sandbox", dest="sandboxed", action="store_false",
                           help="keep only the limits and timeouts: student code can then reach the "
                                "network and read what you can (for a platform where the sandbox fails)")
    autograde.add_argument("--scheduler", metavar="ADDRESS",
                           help="grade on a Dask distributed cluster (e.g. tcp://host:8786) instead of "
                                "local workers; the course directory must be on a shared file system and "
                                "each Dask worker must run one thread")
    autograde.set_defaults(run=_autograde)

    demo = commands.add_parser(
        "demo", help="run the whole instructor pipeline on a simulated cohort",
        description="Build every assignment, release it, simulate a cohort, autograde, generate "
                    "feedback and export grades, with real nbgrader, in a scratch course directory. "
                    "Prints where the results are.")
    demo.add_argument("--out", type=Path, default=Path("demo-course"),
                      help="scratch course directory (default: demo-course)")
    demo.add_argument("--students", type=int, default=30, help="students per assignment (default 30)")
    demo.add_argument("--seed", type=int, default=1, help="random seed of the cohort (default 1)")
    demo.add_argument("--assignment", action="append", dest="only",
                      help="run only this assignment (repeatable; default: all)")
    demo.set_defaults(run=_demo)

    report = commands.add_parser(
        "report", help="write the cohort report (one self-contained HTML file)",
        description="Read the gradebook and the collected answers of a course directory and write "
                    "one HTML file that works offline: cohort view, item analysis with flags, rater "
                    "agreement and competency profiles.")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write")
    report.add_argument("--course", type=Path, default=Path.cwd(), help="course directory (default: here)")
    report.add_argument("--db-url", help="gradebook database URL (default: the course's gradebook.db)")
    report.add_argument("--pseudonymize", action="store_true",
                        help="show students by stable pseudonyms instead of ids and names")
    report.set_defaults(run=_report)

    export = commands.add_parser(
        "export", help="export grades for Canvas or as a pseudonymous research CSV",
        description="canvas: Canvas's gradebook import format (names and ids, one column per "
                    "assignment). csv: long-format scores under stable pseudonyms, never names or emails.")
    export.add_argument("--format", choices=["canvas", "csv"], required=True, help="output format")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--course", type=Path, default=Path.cwd(), help="course directory (default: here)")
    export.add_argument("--db-url", help="gradebook database URL (default: the course's gradebook.db)")
    export.set_defaults(run=_export)

    answers = commands.add_parser(
        "answers", help="check or recover a learner's responses.json",
        description="Check that a responses.json is readable, or set a damaged one aside and "
                    "restore its last good backup. Nothing is ever deleted.")
    answers.add_argument("action", choices=["check", "recover"], help="what to do")
    answers.add_argument("folder", type=Path, nargs="?", default=Path.cwd(),
                         help="folder holding responses.json (default: the current folder)")
    answers.set_defaults(run=_answers)

    _ratings_parser(commands)
    _hub_parser(commands)
    return parser


def _hub_parser(commands) -> None:
    from grader.hub import DEFAULT_ROOT, HubSettings

    defaults = HubSettings(root=DEFAULT_ROOT, roster=Path("roster.csv"))
    hub = commands.add_parser(
        "hub", help="set up the cohort's JupyterHub on this machine (as root)",
        description="Make the Unix accounts and course directories a cohort's JupyterHub needs "
                    "(`make hub` runs both, then starts the hub). The roster is a CSV with the "
                    "columns username, course, role (student or instructor).")
    actions = hub.add_subparsers(dest="action", metavar="ACTION", required=True)
    users = actions.add_parser(
        "users", help="create the roster's Unix accounts that are missing",
        description="Create a Unix account (home mode 0700) for each user in the roster and a "
                    "grader-COURSE account for each course, unless it exists. Removes no one. "
                    "A bad roster is refused whole, naming each bad row.")
    users.add_argument("--roster", type=Path, required=True, help="roster CSV")
    users.add_argument("--home-base", type=Path, help="folder for new homes (default: useradd's, /home)")
    users.set_defaults(run=_hub_users)
    courses = actions.add_parser(
        "courses", help="lay out the exchange, the shared config and each course directory",
        description="Create the hub's root folder: nbgrader's exchange (mode 1777), the nbgrader "
                    "config every server reads, the student and instructor editions of the data, "
                    "and ~grader-COURSE/COURSE for each course (existing course work is kept).")
    courses.add_argument("--roster", type=Path, required=True, help="roster CSV")
    courses.add_argument("--root", type=Path, default=defaults.root,
                         help=f"the hub's root folder (default {defaults.root})")
    courses.set_defaults(run=_hub_courses)
    start = actions.add_parser(
        "start", help="run JupyterHub and each course's formgrader (as root; Ctrl-C stops all)",
        description="Start one formgrader per course as its grader account, then JupyterHub with "
                    "CONFIG. The trial login (--auth dummy) is "
                    "refused unless --ip is a loopback address. DIALECTIC_HUB_ADMIN_TOKEN, when set, "
                    "adds a service that may start servers and mint user tokens (for scripts).")
    start.add_argument("--roster", type=Path, required=True, help="roster CSV")
    start.add_argument("--root", type=Path, default=defaults.root, help=f"the hub's root folder (default {defaults.root})")
    start.add_argument("--config", type=Path, default=Path("hub/jupyterhub_config.py"),
                       help="JupyterHub config file (default hub/jupyterhub_config.py)")
    start.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    start.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    start.add_argument("--auth", choices=["dummy", "pam"], default=defaults.auth,
                       help="dummy: one shared trial password, loopback only (default); pam: Unix passwords")
    start.add_argument("--service-port", type=int, default=defaults.service_port,
                       help=f"first formgrader's port, one more per course (default {defaults.service_port})")
    start.add_argument("--api-port", type=int, default=defaults.hub_api_port,
                       help=f"the hub's internal API port (default {defaults.hub_api_port})")
    start.add_argument("--proxy-api-port", type=int, default=defaults.proxy_api_port,
                       help=f"the proxy's API port (default {defaults.proxy_api_port})")
    start.add_argument("--proxy", default=_default_proxy(), help="configurable-http-proxy executable")
    start.set_defaults(run=_hub_start)


def _ratings_parser(commands) -> None:
    ratings = commands.add_parser(
        "ratings", help="blind rating sheets for written answers, and agreement between raters",
        description="nbgrader keeps one manual score per cell. To measure agreement between raters, "
                    "export a blind rating sheet per rater (a CSV any spreadsheet opens), have each "
                    "rater score the written answers on the four rubric criteria, import the sheets, "
                    "and compute the agreement. Ratings live in COURSE/ratings/.")
    actions = ratings.add_subparsers(dest="action", metavar="ACTION", required=True)
    course_help = "nbgrader course directory (default: the current folder)"

    export = actions.add_parser(
        "export", help="write a blind rating sheet for one rater",
        description="Write a CSV with one row per answered written answer (from autograded/): a "
                    "pseudonymous answer_id, the assignment, the vignette, the answer text, an empty "
                    "column per rubric criterion and a comment column, in shuffled order, with no "
                    "student id, name or score. Instructions and the rubric go to FILE.README.txt.")
    export.add_argument("--rater", required=True, help="name of the rater the sheet is for")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--assignment", help="only this assignment (default: all)")
    export.add_argument("--course", type=Path, default=Path.cwd(), help=course_help)
    export.set_defaults(run=_ratings_export)

    imp = actions.add_parser(
        "import", help="check a filled sheet and store its ratings",
        description="Check every row of a filled rating sheet and store the good rows' scores in "
                    "COURSE/ratings/ratings.csv. Each bad row (unknown answer_id, a score that is not "
                    "a whole number 1-5, edited answer text, a repeated row) is printed with its row "
                    "number and reason and stores nothing. A score that differs from one already "
                    "stored for the same rater is kept as stored unless --replace is given. Exits 1 "
                    "if any row was bad or any score conflicted; the good rows are stored anyway.")
    imp.add_argument("file", type=Path, help="the filled CSV sheet")
    imp.add_argument("--rater", required=True, help="name of the rater who filled it")
    imp.add_argument("--replace", action="store_true",
                     help="replace stored scores of this rater that the sheet changes")
    imp.add_argument("--course", type=Path, default=Path.cwd(), help=course_help)
    imp.set_defaults(run=_ratings_import)

    simulate = actions.add_parser(
        "simulate", help="write a sheet filled by a simulated rater (demo and tests)",
        description="Export a sheet and fill it as a plausible rater would: each answer's true level "
                    "from the item bank's keys for the candidate response it reproduces (3 when "
                    "unknown), plus a small bias per rater and noise per score, kept within 1-5. "
                    "Deterministic for a seed. Import it like any other sheet.")
    simulate.add_argument("--rater", required=True, help="name of the simulated rater")
    simulate.add_argument("--out", type=Path, required=True, help="CSV file to write")
    simulate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    simulate.add_argument("--assignment", help="only this assignment (default: all)")
    simulate.add_argument("--course", type=Path, default=Path.cwd(), help=course_help)
    simulate.set_defaults(run=_ratings_simulate)

    agreement = actions.add_parser(
        "agreement", help="agreement between raters, per rubric criterion",
        description="For each rubric criterion: the ICC (two-way random effects, absolute agreement, "
                    "single rater: Shrout & Fleiss ICC(2,1)) with its 95% CI and Koo & Li (2016) "
                    "reading, Cohen's quadratic-weighted kappa (two raters) with the Landis & Koch "
                    "reading, and Krippendorff's ordinal alpha; then the answers the raters disagree "
                    "on most, for a consensus discussion. Coefficients need at least 5 answers rated "
                    "by every rater.")
    agreement.add_argument("--course", type=Path, default=Path.cwd(), help=course_help)
    agreement.add_argument("--json", action="store_true", help="print the results as JSON")
    agreement.add_argument("--top", type=int, default=10,
                           help="how many of the largest disagreements to list (default 10)")
    agreement.set_defaults(run=_ratings_agreement)


def _validate_data(args) -> int:
    from grader.itembank import load_bank
    from grader.physiology import load as load_physiology

    counts = load_bank(args.bank).counts()
    physiology = load_physiology()
    counts["physiology"] = {
        "dyads": int(len(physiology.dyads)),
        "episodes": int(len(physiology.episodes)),
        "samples": int(len(physiology.samples)),
    }
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    print(f"Item bank ({counts['edition']} edition): {counts['vignettes']} vignettes, "
          f"{counts['responses']} candidate responses - valid.")
    for label, key in (("area", "by_area"), ("difficulty", "by_difficulty"), ("split", "by_split")):
        print(f"\nBy {label}:")
        for name, n in counts[key].items():
            print(f"  {name:<24}{n:>4}")
    p = counts["physiology"]
    print(f"\nPhysiology: {p['dyads']} dyads, {p['episodes']} labelled episodes, "
          f"{p['samples']:,} samples - valid.")
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
        print(f"Wrote {len(data.dyads)} dyads, {len(data.episodes)} episodes to {out} (seed {seed}).")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        physiology.write(data, Path(scratch))
        differing = [f.name for f in sorted(Path(scratch).iterdir())
                     if not (out / f.name).exists() or _content(out / f.name) != _content(f)]
    if differing:
        print(f"{out}: {', '.join(differing)} differ from the generator's output (seed {seed}).",
              file=sys.stderr)
        return 1
    print(f"{out} matches the generator's output (seed {seed}).")
    return 0


def _content(path: Path) -> bytes:
    """A file's bytes, decompressed when gzipped: zlib versions may compress differently."""
    import gzip

    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


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

    from grader.cohort import simulate_cohort

    with tqdm(total=args.students, desc=f"simulating {args.assignment}", unit="student") as bar:
        cohort = simulate_cohort(args.course, args.assignment, args.students, args.seed,
                                 progress=lambda student: bar.update())
    kinds = {k: sum(s.completion == k for s in cohort) for k in ("complete", "half", "blank")}
    print(f"Wrote {len(cohort)} submissions to {args.course / 'submitted'} "
          f"({kinds['complete']} complete, {kinds['half']} half done, {kinds['blank']} blank).")
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
        outcomes = autograde_cohort(args.course, args.assignment, workers=args.workers,
                                    timeout=args.timeout, force=args.force, scheduler=args.scheduler,
                                    sandboxed=args.sandboxed, progress=done)
    counts = {k: sum(o.status == k for o in outcomes) for k in ("graded", "failed", "skipped")}
    print(f"{counts['graded']} graded, {counts['failed']} could not be graded (0 points, flagged), "
          f"{counts['skipped']} already graded (use --force to regrade).")
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  {outcome.assignment} {outcome.student_id} FAILED: {outcome.reason}")
        for note in outcome.notes:
            print(f"  {outcome.assignment} {outcome.student_id} note: {note}")
    return 1 if counts["failed"] else 0


def _hub_users(args) -> int:
    from grader.hub import add_users, read_roster

    report = add_users(read_roster(args.roster), home_base=args.home_base)
    print(f"Created {len(report.created)} account(s): {', '.join(report.created) or 'none'}; "
          f"{len(report.existing)} already existed and were left as they are.")
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

    settings = HubSettings(root=args.root.resolve(), roster=args.roster.resolve(), auth=args.auth,
                           proxy=args.proxy, service_port=args.service_port,
                           hub_api_port=args.api_port, proxy_api_port=args.proxy_api_port,
                           admin_token=os.environ.get("DIALECTIC_HUB_ADMIN_TOKEN") or None)
    return run_hub(settings, args.config.resolve(), ip=args.ip, port=args.port, log=print)


def _demo(args) -> int:
    import time

    from tqdm import tqdm

    from grader.pipeline import FINAL_STEPS, STEPS, assignments, run_demo

    chosen = args.only or assignments()
    started = time.monotonic()
    with tqdm(total=len(chosen) * len(STEPS) + len(FINAL_STEPS), desc="demo", unit="step") as bar:
        def step(assignment, name):
            bar.set_postfix_str(f"{assignment}: {name}")
            bar.update()
        result = run_demo(args.out, students=args.students, seed=args.seed, only=args.only, step=step)
    minutes = (time.monotonic() - started) / 60
    print(f"\nDemo finished in {minutes:.1f} min: {len(result.assignments)} assignments, "
          f"{args.students} simulated students each.")
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
        out = build_report(args.course, args.out, db_url=args.db_url, pseudonymize=args.pseudonymize,
                           progress=step)
    print(f"Report written to {out.resolve()}")
    return 0


def _export(args) -> int:
    from grader.analytics import load_cohort
    from grader.lms_export import export_grades

    out = export_grades(load_cohort(args.course, args.db_url), args.course, args.format, args.out)
    print(f"Grades written to {out.resolve()} ({args.format}).")
    return 0


def _answers(args) -> int:
    from grader.answers import AnswerStore

    store = AnswerStore(args.folder)
    if args.action == "check":
        document = store.load()
        print(f"{store.path}: readable; {len(document['answers'])} items answered, "
              f"{len(document['reflections'])} reflections.")
        return 0
    aside = store.recover()
    restored = "restored from the backup" if store.path.exists() else "no good backup; starting empty"
    print(f"Damaged file moved to {aside}; {restored}.")
    return 0


def _sheet_written(report, rater: str, simulated: bool = False) -> None:
    kind = "simulated ratings by" if simulated else "a blind sheet for"
    print(f"Wrote {kind} {rater}: {report.rows} answers ({', '.join(report.assignments)}) to {report.sheet}.")
    print(f"Instructions and rubric: {report.readme}")
    if report.unanswered:
        print(f"{report.unanswered} written-answer cell(s) left unanswered by students were skipped.")


def _ratings_export(args) -> int:
    from grader.ratings import export_sheet

    _sheet_written(export_sheet(args.course, args.rater, args.out, assignment=args.assignment), args.rater)
    return 0


def _ratings_simulate(args) -> int:
    from grader.ratings import simulate_ratings

    report = simulate_ratings(args.course, args.rater, args.seed, args.out, assignment=args.assignment)
    _sheet_written(report, args.rater, simulated=True)
    return 0


def _ratings_import(args) -> int:
    from grader.ratings import import_sheet

    report = import_sheet(args.course, args.file, args.rater, replace=args.replace)
    print(f"{report.sheet} ({report.rater}): {report.rows} rows read; {report.added} scores added, "
          f"{report.unchanged} unchanged, {report.replaced} replaced"
          + (f"; {report.unrated} row(s) had no scores" if report.unrated else "") + ".")
    for warning in report.warnings:
        print(f"Note: {warning}")
    if report.bad_rows:
        rows = report.bad_row_numbers
        print(f"\n{len(rows)} bad row(s), nothing stored from them (row 1 is the first row under the header):",
              file=sys.stderr)
        for problem in report.bad_rows:
            print(f"  {problem}", file=sys.stderr)
    if report.conflicts:
        print(f"\n{len(report.conflicts)} score(s) differ from ones already stored and were not changed "
              "(import again with --replace to take this sheet's):", file=sys.stderr)
        for problem in report.conflicts:
            print(f"  {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def _ratings_agreement(args) -> int:
    from grader.agreement import agreement_table, largest_disagreements
    from grader.ratings import load_ratings

    stored = load_ratings(args.course)
    table = agreement_table(stored)
    worst = largest_disagreements(stored, n=args.top)
    raters = sorted(stored["rater"].unique())
    if args.json:
        print(json.dumps({"raters": raters, "answers": int(stored["answer_id"].nunique()),
                          "agreement": json.loads(table.to_json(orient="records")),
                          "largest_disagreements": json.loads(worst.to_json(orient="records"))},
                         indent=2))
        return 0
    if stored.empty:
        print(f"No ratings stored in {args.course / 'ratings'} yet: export sheets with "
              "`dialectic ratings export`, then import the filled ones.")
        return 0
    print(f"Agreement of {len(raters)} rater(s) ({', '.join(raters)}) on "
          f"{stored['answer_id'].nunique()} written answers.\n")
    print(f"{'criterion':<10}{'n':>4}  {'ICC(2,1) [95% CI]':<52}{'weighted kappa':<26}alpha (ordinal)")
    for row in table.itertuples():
        icc = _number(row.icc, row.icc_label)
        if not _missing(row.icc) and not _missing(row.icc_ci_low):
            icc = f"{row.icc:.2f} [{row.icc_ci_low:.2f}, {row.icc_ci_high:.2f}] {row.icc_label}"
            if row.icc_ci_label != row.icc_label:
                icc += f" (CI {row.icc_ci_label})"
        print(f"{row.criterion:<10}{row.n:>4}  {icc:<52}{_number(row.kappa, row.kappa_label):<26}"
              f"{_number(row.alpha, row.alpha_label)}")
    print("\nICC(2,1): two-way random effects, absolute agreement, single rater (Shrout & Fleiss 1979),")
    print("read by Koo & Li (2016), who advise judging by the whole CI. Kappa: quadratic weights,")
    print("read by Landis & Koch (1977). Alpha: Krippendorff, ordinal (>= .800 reliable, >= .667 tentative).")
    notes = [f"  {row.criterion}: {row.note}" for row in table.itertuples() if row.note]
    if notes:
        print("\nNotes:\n" + "\n".join(notes))
    if not worst.empty:
        criteria = [c for c in table["criterion"] if any(col.startswith(f"{c} (") for col in worst.columns)]
        print(f"\nLargest disagreements (scores as {' / '.join(raters)}):")
        print(f"  {'answer_id':<12}{'assignment':<34}{'diff':>5}  " + "".join(f"{c:<12}" for c in criteria))
        for record in worst.to_dict("records"):
            cells = "".join(f"{' / '.join(_score(record.get(f'{c} ({r})')) for r in raters):<12}"
                            for c in criteria)
            print(f"  {record['answer_id']:<12}{str(record.get('assignment', '')):<34}"
                  f"{int(record['difference']):>5}  {cells}")
    return 0


def _missing(value) -> bool:
    import pandas as pd

    return value is None or pd.isna(value)


def _number(value, label: str) -> str:
    return label if _missing(value) else f"{value:.2f} {label}"


def _score(value) -> str:
    return "-" if _missing(value) else str(int(value))


if __name__ == "__main__":
    sys.exit(main())
