"""What a grading kernel may see, for how long, and a check that it really is so.

The kernel sees the Python environment, the ``grader`` package, the physiology data and
the *student edition* of the item bank (written once per run, every assessment key blank).
Everything else in the course directory and in this checkout is covered, the instructor
item bank included, wherever it lives.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader import paths, sandbox

#: Seconds a single cell may run when the course's nbgrader_config.py does not say.
DEFAULT_TIMEOUT = 120
#: What the kernel sees of the machine besides its Python, grader and the physiology data: the
#: system folders a Python process needs. Everything else (/home, /root, /srv, /opt, /var,
#: /run, /work, other checkouts and copies of the bank...) is covered.
SYSTEM = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
)
#: A whole submission may take this many cell timeouts (plus a minute) before its worker is killed.
WALL_CLOCK_CELLS = 20


def course_timeout(course: Path) -> int:
    """The course's ``Execute.timeout`` from its ``nbgrader_config.py``, as nbgrader reads it."""
    from traitlets.config import PyFileConfigLoader

    config_file = Path(course) / "nbgrader_config.py"
    if not config_file.exists():
        return DEFAULT_TIMEOUT
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    return int(config.Execute.get("timeout", DEFAULT_TIMEOUT))


def wall_clock(timeout: int) -> int:
    """Seconds one submission may take in all."""
    return timeout * WALL_CLOCK_CELLS + 60


def grading_policy(
    course: Path, timeout: int, sandboxed: bool = True, student_bank: Path | None = None
) -> sandbox.Policy:
    """The sandbox of a grading kernel: what it must not see, and its limits.

    An allow-list: the kernel sees the system folders (:data:`SYSTEM`), its Python
    environment, the ``grader`` package, the physiology data and ``student_bank`` (bound
    back, read-only). Everything else on the machine is covered, down to the file: the
    course directory, this checkout, the instructor item bank wherever it lives, any other
    copy of it, home folders. The kernel's own folder is bound back, writable, by the worker.
    """
    needed = [
        Path(p).resolve()
        for p in (
            sys.prefix,
            sys.base_prefix,
            Path(sandbox.__file__).parent,
            paths.physiology_dir(),
        )
    ]
    shown = needed + [Path(p) for p in SYSTEM if Path(p).exists()]
    hide = {str(p) for p in _all_but(Path("/"), shown)}
    for private in ("/tmp", "/var/tmp", "/dev/shm"):  # the sandbox gives the kernel empty ones
        hide.discard(private)
    for secret in (
        Path(course).resolve(),
        paths.item_bank_dir().resolve(),
    ):  # even under a shown folder
        if not any(secret == Path(h) or Path(h) in secret.parents for h in hide):
            hide.add(str(secret))
    visible = [str(n) for n in needed] + (
        [str(Path(student_bank).resolve())] if student_bank else []
    )
    return sandbox.Policy(
        hide=sorted(hide), visible=visible, cpu_seconds=wall_clock(timeout), namespaces=sandboxed
    )


def _all_but(base: Path, needed: list[Path]) -> list[Path]:
    """The entries to cover so that nothing under ``base`` shows but the ``needed`` paths."""
    inside = [n for n in needed if n == base or base in n.parents]
    if not inside:
        return [base]
    if base in inside or not base.is_dir():
        return []
    covered = []
    for entry in sorted(base.iterdir()):
        if any(n == entry or entry in n.parents for n in inside):
            covered += _all_but(entry, inside)
        else:
            covered.append(entry)
    return covered


def check_isolation(
    course: Path | str, timeout: int | None = None, sandboxed: bool = True
) -> sandbox.Report:
    """What the grading sandbox really gives on this machine, tried from inside it.

    Besides the sandbox's own probe (network, hidden files, read-only mounts), a second
    sandboxed process looks for assessment keys where a student's code would: the bank it
    is given, the instructor bank's files, and every item-bank table it can find.
    """
    from grader.editions import write_student_edition

    course = Path(course).resolve()
    timeout = timeout or course_timeout(course)
    probe = course / ".dialectic" / "sandbox-check"
    shutil.rmtree(probe, ignore_errors=True)
    (probe / "hidden").mkdir(parents=True)
    (probe / "hidden" / "gradebook.db").write_text("not for students")
    (probe / "own").mkdir()
    bank = write_student_edition(probe / "student-bank")
    policy = grading_policy(course, timeout, sandboxed, bank)
    policy.writable = [str(probe / "own")]
    # a place the kernel can see but must not write: the grader package (not hidden, not /tmp)
    outside = Path(sandbox.__file__).parent / f".sandbox-check-{os.getpid()}"
    try:
        report = sandbox.check(policy, probe / "hidden", outside)
        problem = keys_visible(policy, bank, [Path("/")])
        if problem:
            report.missing["keys"] = problem
        else:
            report.applied.append("keys")
        return report
    finally:
        shutil.rmtree(probe, ignore_errors=True)
        outside.unlink(missing_ok=True)


_KEY_PROBE = """
import json, os, sys
from pathlib import Path
instructor, roots = Path(sys.argv[1]), sys.argv[2:]
seen = {"instructor_bank": {}, "tables": {}}
for name in ("responses.csv", "vignettes.csv"):
    try:
        seen["instructor_bank"][name] = (instructor / name).read_text(
            encoding="utf-8", errors="replace")
    except OSError as e:
        seen["instructor_bank"][name] = ""
for root in roots:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs
                   if os.path.join(folder, d) not in ("/proc", "/sys", "/dev", "/usr")]
        for name in files:
            if name in ("responses.csv", "vignettes.csv"):
                path = os.path.join(folder, name)
                try:
                    seen["tables"][path] = Path(path).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    pass
try:
    from grader.itembank import load_bank
    bank = load_bank()
    seen["bank"] = {"edition": bank.edition, "directory": str(bank.directory)}
except Exception as e:
    seen["bank"] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(seen))
"""


def keys_visible(policy: sandbox.Policy, student_bank: Path, roots: list[Path]) -> str:
    """Why a sandboxed kernel could read an assessment key, or "" when it cannot.

    The probe reports what it could read; the judgement is made here, against the
    instructor bank, so the keys themselves never enter the sandbox.
    """
    from grader.itembank import load_bank

    instructor = load_bank(paths.item_bank_dir())
    secrets = _assessment_secrets(instructor)
    env = {
        **os.environ,
        sandbox.POLICY_ENV: policy.to_env(),
        paths.ITEM_BANK_ENV: str(student_bank),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.sandbox",
            "--",
            sys.executable,
            "-c",
            _KEY_PROBE,
            str(instructor.directory),
            *map(str, roots),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    sandbox.reap()
    if done.returncode != 0 or not done.stdout.strip():
        return f"the key probe failed: {done.stderr[-800:]}"
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    if seen["bank"].get("edition") != "student":
        return f"the kernel's item bank is not the student edition: {seen['bank']}"
    readable = {f"instructor bank {name}": text for name, text in seen["instructor_bank"].items()}
    readable |= seen["tables"]
    for where, text in readable.items():
        found = [s for s in secrets if s in text]
        if found:
            return f"{where} holds {len(found)} assessment key(s) the kernel can read"
    return ""


def _assessment_secrets(bank) -> list[str]:
    """Strings only an assessment key holds: the rationales of assessment responses."""
    responses = bank.responses
    assessment = set(
        bank.vignettes.loc[bank.vignettes["split"].astype(str) == "assessment", "item_id"]
    )
    rationales = (
        responses.loc[responses["item_id"].isin(assessment), "rationale"].dropna().astype(str)
    )
    return [text[:60] for text in rationales if len(text) >= 30]
