"""benchmarks/suite_cpu.py charges each test file the CPU of the processes its tests start."""

from __future__ import annotations

import re

import pytest

from grader.paths import REPO_ROOT

pytest_plugins = ["pytester"]

#: Burns about half a second of CPU, then idles until it is killed.
BURNER = (
    "import time\\nend = time.process_time() + 0.5\\n"
    "while time.process_time() < end: pass\\ntime.sleep(60)"
)

STARTS = f"""
import os, subprocess, sys, time

def test_leaves_a_busy_process_running():
    process = subprocess.Popen([sys.executable, "-c", "{BURNER}"])
    os.environ["BURNER_PID"] = str(process.pid)
    ticks = os.sysconf("SC_CLK_TCK")
    while True:  # until it has burned its half second; it is left running, never waited for
        fields = open(f"/proc/{{process.pid}}/stat").read().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / ticks >= 0.45:
            break
        time.sleep(0.05)
"""

STOPS = """
import os, signal

def test_stops_it():
    pid = int(os.environ["BURNER_PID"])
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # its CPU now counts among this process's ended children
"""


def _table(output: str) -> dict[str, float]:
    return {
        name: float(cpu)
        for cpu, name in re.findall(r"^\s*([\d.]+)\s+[\d.]+%\s+[\d.]+\s+(\S+\.py)$", output, re.M)
    }


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["one process", "xdist"])
def test_a_running_process_is_charged_to_the_test_that_ran_it(pytester, monkeypatch, workers):
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makepyfile(test_a_starts=STARTS, test_b_stops=STOPS)
    result = pytester.runpytest_subprocess(
        "-p", "benchmarks.suite_cpu", "-p", "no:cacheprovider", *workers
    )
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    assert "CPU by test file" in output and "the machine was busy" in output, output
    table = _table(output)
    assert 0.4 <= table.get("test_a_starts.py", 0) < 5, output
    assert table.get("test_b_stops.py", 1) < 0.3, output
