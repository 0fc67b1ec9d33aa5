"""Benchmark: how quickly `make lab` starts and a course module runs, against a baseline.

    .venv/bin/python benchmarks/startup.py [--baseline COMMIT] [--modules 01 05 ...] [--repeat 2]

Times, in the same run, for this tree ("now") and for the baseline commit ("before", by
default the last commit before the fast start-up work):

- `make lab` to its printed URL, warm (each started --repeat times, the fastest counted).
  Before: the old recipe's two steps, `jupyter labextension list` and then `jupyter lab`
  on course/ with nbgrader's server extensions; now: `make lab` itself.
- a module's first cell (the widget and chart imports), in a fresh Python that has already
  imported IPython and ipykernel, as a kernel has.
- Run All of a module on a fresh kernel (nbclient; the kernel's start included). "Now" runs
  the kernel as `make lab`'s server starts it, so it draws no static chart images (JupyterLab
  draws the charts: grader.lab.LIVE_CHARTS); `--with-images` times it drawing them too, as
  a kernel under JupyterHub or nbconvert does.

The baseline's grader/ and datasets/ are taken with `git archive` and put first on the
kernel's PYTHONPATH. Targets: URL <= 5 s, first cell <= 1.5 s, Run All <= 4 s. Wall times
stretch on a busy machine, so the load average and the CPU seconds are printed too; compare
ratios across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from grader.lab import LIVE_CHARTS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: The last commit before `make lab` and the first cells were made fast.
DEFAULT_BASELINE = "eb8a96c"
TARGETS = {"url": 5.0, "first_cell": 1.5, "run_all": 4.0}

FIRST_CELL_PROBE = """
import json, sys, time
import IPython, ipykernel.ipkernel  # a kernel has these before the first cell
source = sys.argv[1]
wall, cpu = time.perf_counter(), time.process_time()
exec(compile(source, "<first cell>", "exec"), {})
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""

RUN_ALL_PROBE = """
import json, sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
wall = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(json.dumps({"wall": time.perf_counter() - wall, "errors": len(errors)}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _baseline_tree(commit: str, into: Path) -> Path:
    """grader/, datasets/ and course/ as they were at ``commit``."""
    archive = subprocess.run(
        ["git", "archive", commit, "grader", "datasets", "course"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _env(scratch: Path, pythonpath: Path | None = None, live_charts: bool = False) -> dict:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(scratch / "config"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("JUPYTER_CONFIG_PATH", None)
    name, value = LIVE_CHARTS
    env.pop(name, None)
    if live_charts:
        env[name] = value
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _time_to_url(command: list[str], port: int, env: dict, cwd: Path) -> float:
    """Seconds from starting ``command`` until it prints the server's URL; then stop it."""
    url = re.compile(rf"http://127\.0\.0\.1:{port}/\S*token=")
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        for line in process.stdout:
            if url.search(line):
                return time.perf_counter() - started
        raise RuntimeError(f"{' '.join(command)} exited without printing its URL")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def lab_start(scratch: Path, repeat: int) -> dict:
    """Warm start to URL: the old recipe (labextension list + jupyter lab) and `make lab`."""
    env = _env(scratch)
    server = ["--no-browser", "--ServerApp.ip=127.0.0.1"]
    before, listing, now = [], [], []
    for _ in range(repeat + 1):  # the first round warms the disk cache and is not counted
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "jupyter"), "labextension", "list"], env=env, capture_output=True, check=True
        )
        listed = time.perf_counter() - started
        port = _free_port()
        old = [
            str(BIN / "jupyter"),
            "lab",
            "--ServerApp.root_dir=course",
            "--allow-root",
            *server,
            f"--ServerApp.port={port}",
        ]
        before.append(listed + _time_to_url(old, port, env, ROOT))
        listing.append(listed)
        port = _free_port()
        args = " ".join([*server, f"--ServerApp.port={port}"])
        now.append(
            _time_to_url(["make", "--no-print-directory", "lab", f"ARGS={args}"], port, env, ROOT)
        )
    return {"before": min(before[1:]), "now": min(now[1:]), "listing": min(listing[1:])}


def _first_cell(module: Path) -> str:
    nb = json.loads(module.read_text(encoding="utf-8"))
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def first_cell(module: Path, scratch: Path, pythonpath: Path | None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CELL_PROBE, _first_cell(module)],
        cwd=scratch,
        env=_env(scratch, pythonpath),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def run_all(
    module: Path, scratch: Path, pythonpath: Path | None, live_charts: bool = False
) -> dict:
    folder = Path(tempfile.mkdtemp(dir=scratch))  # its own responses.json
    cpu_before = os.times()
    out = subprocess.run(
        [sys.executable, "-c", RUN_ALL_PROBE, str(module), str(folder)],
        cwd=folder,
        env=_env(scratch, pythonpath, live_charts),
        capture_output=True,
        text=True,
        check=True,
    )
    cpu_after = os.times()
    result = json.loads(out.stdout.splitlines()[-1])
    result["cpu"] = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    return result


def _row(label: str, before: float, now: float, target: float, extra: str = "") -> str:
    verdict = "meets" if now <= target else "misses"
    return (
        f"{label:<38} before {before:6.2f} s   now {now:6.2f} s   {before / now:5.2f}x faster"
        f"   ({verdict} the {target:g} s target){extra}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help=f"commit to compare with (default {DEFAULT_BASELINE})",
    )
    parser.add_argument(
        "--modules",
        nargs="*",
        default=None,
        help="module numbers to run, e.g. 01 05 (default: all nine)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="warm starts of each server (default 2)"
    )
    parser.add_argument("--skip-lab", action="store_true", help="time the notebooks only")
    parser.add_argument(
        "--with-images",
        action="store_true",
        help="now's kernels draw static chart images, as under JupyterHub (default: as make lab)",
    )
    args = parser.parse_args(argv)
    modules = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
    if args.modules:
        modules = [m for m in modules if m.name[:2] in set(args.modules)]
    print(
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"baseline {args.baseline}"
    )
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        scratch = Path(tmp)
        base = _baseline_tree(args.baseline, scratch / "baseline")
        if not args.skip_lab:
            lab = lab_start(scratch, args.repeat)
            print(
                _row(
                    "make lab to its URL (warm)",
                    lab["before"],
                    lab["now"],
                    TARGETS["url"],
                    f"; the old labextension listing alone: {lab['listing']:.2f} s",
                )
            )
        for module in modules:
            # "before" runs the module as it was then: it may use widgets added since
            old = base / "course" / module.name
            b, n = first_cell(old, scratch, base), first_cell(module, scratch, None)
            print(
                _row(
                    f"{module.stem[:24]}: first cell",
                    b["wall"],
                    n["wall"],
                    TARGETS["first_cell"],
                    f"; CPU {b['cpu']:.2f} -> {n['cpu']:.2f} s",
                )
            )
            live = not args.with_images
            b, n = run_all(old, scratch, base), run_all(module, scratch, None, live)
            if b["errors"] or n["errors"]:
                print(f"  {module.name}: {b['errors']} errors before, {n['errors']} now")
            print(
                _row(
                    f"{module.stem[:24]}: Run All, fresh kernel",
                    b["wall"],
                    n["wall"],
                    TARGETS["run_all"],
                    f"; CPU {b['cpu']:.2f} -> {n['cpu']:.2f} s",
                )
            )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
