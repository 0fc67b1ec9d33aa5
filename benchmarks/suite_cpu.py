"""Where the test suite's time goes: CPU seconds and wall seconds by test file.

    make test ARGS="-p benchmarks.suite_cpu"

A pytest plugin. When the run ends it prints, for every test file, the CPU time its tests
and fixtures used (the pytest process itself, every process it started, and theirs) and the
wall time they took, then the machine's busy and idle time over the run. On a machine whose
cores are all busy, the suite's time is its CPU seconds divided by the cores: the table says
which files that time is spent in, so that making a file cheaper shows how much it saves.

How a test's CPU is counted: at its start and at its end, the CPU of this process, of its
children that have ended (``RUSAGE_CHILDREN``) and of every live descendant, including what
their own ended children used (``/proc``). A server started in one test and stopped in a later
one is charged, bit by bit, to the tests during which it ran. A process whose parent never
waits for it (a kernel killed with its server's process group, say) is charged until the last
reading before it ended; what it used after that is missed, so the figures are a floor.
Under pytest-xdist each worker counts its own tests and the controller adds them up.
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict

import pytest

_TICKS = os.sysconf("SC_CLK_TCK")
_KEY = "suite_cpu"


def _descendants_cpu(root: int) -> float:
    """CPU seconds of every live descendant of ``root`` and of their ended, waited children."""
    children, cpu = defaultdict(list), {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it ended while we read
        pid = int(entry.name)
        children[int(fields[1])].append(pid)  # fields[1] is the parent's pid
        cpu[pid] = sum(int(f) for f in fields[11:15]) / _TICKS  # utime stime cutime cstime
    total, todo = 0.0, list(children[root])
    while todo:
        pid = todo.pop()
        total += cpu[pid]
        todo += children[pid]
    return total


def _cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        own.ru_utime
        + own.ru_stime
        + ended.ru_utime
        + ended.ru_stime
        + _descendants_cpu(os.getpid())
    )


def _machine_jiffies() -> tuple[int, int]:
    """(busy, idle) clock ticks of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values[:8]) - idle, idle


class SuiteCpu:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.started = time.monotonic()
        self.jiffies = _machine_jiffies()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        cpu, wall = _cpu_now(), time.monotonic()
        yield
        spent = self.files[item.nodeid.split("::")[0]]
        spent[0] += _cpu_now() - cpu
        spent[1] += time.monotonic() - wall

    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workeroutput"):  # an xdist worker: hand the figures over
            self.config.workeroutput[_KEY] = dict(self.files)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        for name, (cpu, wall) in getattr(node, "workeroutput", {}).get(_KEY, {}).items():
            self.files[name][0] += cpu
            self.files[name][1] += wall

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workeroutput"):
            return
        write = terminalreporter.write_line
        wall = time.monotonic() - self.started
        (busy, idle), (busy_then, idle_then) = _machine_jiffies(), self.jiffies
        busy, idle = busy - busy_then, idle - idle_then
        cores = os.cpu_count() or 1
        total = sum(cpu for cpu, _ in self.files.values())
        terminalreporter.section("CPU by test file (benchmarks/suite_cpu.py)")
        write(f"{'CPU s':>8} {'share':>6} {'wall s':>8}  test file")
        for name, (cpu, spent) in sorted(self.files.items(), key=lambda kv: -kv[1][0]):
            write(f"{cpu:8.1f} {cpu / (total or 1):6.1%} {spent:8.1f}  {name}")
        write(f"{total:8.1f} {'':6} {'':8}  all test files")
        write(
            f"the run took {wall:.0f} s on {cores} cores ({wall * cores:.0f} core-seconds): "
            f"the machine was busy {busy / _TICKS:.0f} s and idle {idle / _TICKS:.0f} s "
            f"(counted above: {total:.0f} s; the rest is what the count misses, see this "
            "module's docstring, and anything else running on the machine)"
        )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SuiteCpu(config), "suite-cpu-table")
