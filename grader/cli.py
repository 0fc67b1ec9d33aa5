"""The ``dialectic`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import json
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

    answers = commands.add_parser(
        "answers", help="check or recover a learner's responses.json",
        description="Check that a responses.json is readable, or set a damaged one aside and "
                    "restore its last good backup. Nothing is ever deleted.")
    answers.add_argument("action", choices=["check", "recover"], help="what to do")
    answers.add_argument("folder", type=Path, nargs="?", default=Path.cwd(),
                         help="folder holding responses.json (default: the current folder)")
    answers.set_defaults(run=_answers)
    return parser


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


def _demo(args) -> int:
    import time

    from tqdm import tqdm

    from grader.pipeline import STEPS, assignments, run_demo

    chosen = args.only or assignments()
    started = time.monotonic()
    with tqdm(total=len(chosen) * len(STEPS), desc="demo", unit="step") as bar:
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
    print(f"  formgrader:       cd {result.course} && jupyter lab   (Nbgrader > Formgrader)")
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


if __name__ == "__main__":
    sys.exit(main())
