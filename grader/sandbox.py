"""A sandbox for the kernel that runs a student's notebook during autograde.

nbgrader runs student code with the instructor's permissions (jupyter/nbgrader#483). Here
the grading kernel is started through ``python -m grader.sandbox -- <kernel command>``,
which, before it becomes the kernel, on Linux:

- enters new mount, network, IPC and UTS namespaces: no network at all (not even
  loopback; the kernel talks to nbgrader over Unix sockets, ``KernelManager.transport =
  "ipc"``);
- hides the folders and files of :class:`Policy` ``hide`` (the gradebook, the instructor's
  source notebooks, every other submission) under empty read-only mounts;
- makes every other mount read-only except the folders of ``writable`` (its own scratch
  folder) and a private, empty ``/tmp``;
- when started as root, drops to the unprivileged user ``nobody``; otherwise it maps
  itself into a user namespace to gain the right to do the above;
- limits CPU time, address space, file size and process count (``setrlimit``).

Whatever cannot be had (not Linux, no namespaces in a container, ...) is skipped and named
in the report that :func:`check` returns, so the caller can say so once, plainly. The
policy arrives in the environment variable ``DIALECTIC_SANDBOX`` (JSON), which is removed
before the kernel starts. This module imports nothing heavy: it runs before every kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

POLICY_ENV = "DIALECTIC_SANDBOX"
NOBODY = 65534

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 0x400, 0x800, 0x200000, 0x1000000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
_FLAG_OF_OPTION = {
    "ro": MS_RDONLY,
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
#: Mounts the kernel keeps as they are: kernel interfaces, and the private ones made here.
_LEAVE_MOUNTS = ("/proc", "/sys", "/dev")
_PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")

PROTECTIONS = {
    "network": "no network (a new, empty network namespace)",
    "hidden": "gradebook, source notebooks and other submissions hidden",
    "read_only": "no writing outside its own scratch folder",
    "user": "runs as an unprivileged user",
    "limits": "limits on CPU time, memory and file size",
    "processes": "a cap on processes and threads",
    "keys": "no assessment key readable (the kernel gets the student edition of the item bank)",
}
#: Each sandboxed process run as root gets a pids cgroup here, named by its pid.
CGROUP = "dialectic-sandbox"
_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")


@dataclass
class Policy:
    """What a grading kernel may see, write and use."""

    hide: list[str] = field(default_factory=list)
    """Folders and files made invisible (replaced by an empty, read-only folder or file)."""
    writable: list[str] = field(default_factory=list)
    """The only folders it may write in (besides a private, empty /tmp)."""
    visible: list[str] = field(default_factory=list)
    """Folders it must still read where a cover would hide them (its Python, under /tmp, say)."""
    cpu_seconds: int = 600
    """CPU seconds for the whole kernel (RLIMIT_CPU); past it the kernel is killed."""
    memory_bytes: int = 4 << 30
    """Writable memory (RLIMIT_DATA; not the address space,
    which V8 in vl-convert reserves by the GB)."""
    file_bytes: int = 16 << 20
    """Largest file it may write (RLIMIT_FSIZE)."""
    processes: int = 256
    """Processes and threads of its user (RLIMIT_NPROC), on top of those running already."""
    namespaces: bool = True
    """Use Linux namespaces (no network, hidden and read-only files, no root). Off: limits only."""

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, value: str) -> Policy:
        return cls(**json.loads(value))


@dataclass
class Report:
    """Which protections a sandboxed process got, and why any is missing."""

    applied: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.missing:
            return "isolation: " + "; ".join(PROTECTIONS[p] for p in self.applied)
        return "isolation NOT available here for: " + "; ".join(
            f"{PROTECTIONS[p]} ({why})" for p, why in self.missing.items()
        )


def enter(policy: Policy) -> Report:
    """Sandbox the calling process as far as this platform allows (call right before exec)."""
    report = Report()
    libc = (
        ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if sys.platform == "linux"
        else None
    )
    root = os.geteuid() == 0
    if root:  # before capabilities go: root is exempt from RLIMIT_NPROC, a cgroup is not
        _process_cgroup(policy, report)
    if libc is not None and not policy.namespaces:
        for protection in ("network", "hidden", "read_only", "user"):
            report.missing[protection] = "turned off (--no-sandbox)"
    elif libc is not None:
        _namespaces(libc, policy, report)
        libc.prctl(
            PR_SET_PDEATHSIG, 9, 0, 0, 0
        )  # die with the grader; after setuid, which clears it
    else:
        for protection in ("network", "hidden", "read_only", "user"):
            report.missing[protection] = f"needs Linux namespaces; this is {sys.platform}"
    _limits(policy, report, nproc=not root)
    return report


def _namespaces(libc, policy: Policy, report: Report) -> None:
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    # judged on the real file system, before any mount changes what a path shows
    unreachable = (
        [p for p in [*_needed_paths(), *policy.visible] if not _world_readable(p)] if root else []
    )
    flags = (
        CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (0 if root else CLONE_NEWUSER)
    )
    if libc.unshare(flags) != 0:
        why = f"unshare failed: {os.strerror(ctypes.get_errno())}"
        for protection in ("network", "hidden", "read_only"):
            report.missing[protection] = why
        if root:
            _drop_root(policy, report, unreachable)
        else:
            report.missing["user"] = why
        return
    if not root:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    report.applied.append("network")
    cwd = os.getcwd()
    try:
        _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
        keep = {
            path: os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            for path in map(_real, policy.writable)
        }
        visible = [*policy.visible, sys.prefix, sys.base_prefix]  # the Python it runs, always
        keep |= {
            path: os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            for path in map(_real, visible)
            if path not in keep and os.path.isdir(path)
        }
        covers = [(path, False) for path in map(_real, policy.hide)]
        covers += [(path, True) for path in _PRIVATE_TMP if os.path.isdir(path)]
        for path, private_tmp in sorted(covers, key=lambda c: len(c[0])):
            _cover(libc, path, keep, private_tmp)
        report.applied.append("hidden")
        for path, fd in keep.items():  # before the read-only pass: a bind copies its source's flags
            _mount(libc, f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            os.close(fd)
        _read_only_everywhere(libc, set(map(_real, policy.writable)) | set(_PRIVATE_TMP))
        os.chdir(cwd)  # the old working directory is the folder under the new mounts, not the bind
        report.applied.append("read_only")
    except OSError as error:
        for protection in ("hidden", "read_only"):
            if protection in report.applied:
                report.applied.remove(protection)
            report.missing[protection] = str(error)
    if root:
        _drop_root(policy, report, unreachable)
    else:
        report.missing["user"] = (
            "not started as root, so it keeps the instructor's user id (inside a read-only view)"
        )


def _cover(libc, path: str, keep: dict[str, int], private_tmp: bool) -> None:
    """Cover ``path`` with an empty folder (read-only unless a private /tmp) or an empty file.

    Mount points are made inside for the writable folders under it, which are bound back later.
    """
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path):
        _mount(libc, "/dev/null", path, None, MS_BIND)
        return
    options = "mode=1777,size=256m" if private_tmp else "mode=0755,size=1m"
    _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for inner in keep:
        if inner.startswith(path + os.sep):
            os.makedirs(inner, exist_ok=True)
    if not private_tmp:
        _mount(libc, None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _read_only_everywhere(libc, writable: set[str]) -> None:
    """Remount every mount of this namespace read-only, keeping the flags it must keep."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        target = fields[4].replace("\\040", " ")
        if target in writable or any(
            target == p or target.startswith(p + "/") for p in _LEAVE_MOUNTS
        ):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in fields[5].split(","):
            flags |= _FLAG_OF_OPTION.get(option, 0)
        if libc.mount(None, target.encode(), None, flags, None) != 0:
            error = ctypes.get_errno()
            if target == "/":
                raise OSError(error, f"cannot make / read-only: {os.strerror(error)}")


def _drop_root(policy: Policy, report: Report, unreachable: list[str]) -> None:
    """Give up root: every capability (so no mount can be undone), and the uid where possible.

    The uid becomes ``nobody`` only when nobody can reach the Python it must run (a Python
    under /root, mode 700, it cannot); otherwise it stays 0 with no capabilities at all,
    which the read-only mounts and hidden folders above still fence in.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if unreachable:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
        if libc.capset(header, data) != 0:
            report.missing["user"] = (
                f"could not drop root's capabilities: {os.strerror(ctypes.get_errno())}"
            )
            return
        report.missing["user"] = (
            f"kept user id 0 without any capability: user nobody cannot read {unreachable[0]}"
        )
        return
    for path in policy.writable:
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.lchown(name, NOBODY, NOBODY)
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        report.applied.append("user")
    except OSError as error:
        report.missing["user"] = f"could not become nobody: {error}"


def _needed_paths() -> list[str]:
    """What the kernel must read: its interpreter, the standard library,
    the environment's packages."""
    import sysconfig

    here = os.path.dirname(os.path.realpath(__file__))
    return [
        os.path.realpath(p)
        for p in (
            sys.executable,
            sysconfig.get_paths()["stdlib"],
            sysconfig.get_paths()["purelib"],
            here,
        )
    ]


def _world_readable(path: str) -> bool:
    """Whether a user with no relation to the owner can reach and read ``path``."""
    import stat

    parts = Path(path).parts
    try:
        for depth in range(1, len(parts) + 1):
            mode = os.stat(Path(*parts[:depth])).st_mode
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def _limits(policy: Policy, report: Report, nproc: bool) -> None:
    limits = [
        (resource.RLIMIT_CPU, policy.cpu_seconds),
        (resource.RLIMIT_DATA, policy.memory_bytes),
        (resource.RLIMIT_FSIZE, policy.file_bytes),
    ]
    try:
        for limit, value in limits:
            _set_limit(limit, value)
        report.applied.append("limits")
    except (OSError, ValueError) as error:
        report.missing["limits"] = str(error)
    if nproc:
        try:
            _set_limit(resource.RLIMIT_NPROC, _tasks_of(os.getuid()) + policy.processes)
            report.applied.append("processes")
        except (OSError, ValueError) as error:
            report.missing["processes"] = str(error)


def _set_limit(limit: int, value: int) -> None:
    hard = resource.getrlimit(limit)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(limit, (value, value))


def _process_cgroup(policy: Policy, report: Report) -> None:
    """Put this process in a new pids cgroup capped at ``policy.processes`` (cgroup v1 or v2)."""
    why = "no cgroup file system with the pids controller"
    for base in _CGROUP_ROOTS:
        parent = os.path.join(base, CGROUP)
        try:
            if not os.path.exists(os.path.join(base, "cgroup.procs")):
                continue
            if os.path.exists(
                os.path.join(base, "cgroup.subtree_control")
            ):  # v2: delegate pids down
                Path(base, "cgroup.subtree_control").write_text("+pids")
                os.makedirs(parent, exist_ok=True)
                Path(parent, "cgroup.subtree_control").write_text("+pids")
            group = os.path.join(parent, str(os.getpid()))
            os.makedirs(group, exist_ok=True)
            Path(group, "pids.max").write_text(str(policy.processes))
            Path(group, "cgroup.procs").write_text(str(os.getpid()))
            report.applied.append("processes")
            return
        except OSError as error:
            why = f"{base}: {error}"
    report.missing["processes"] = (
        f"root is exempt from RLIMIT_NPROC and no pids cgroup could be made ({why})"
    )


def reap() -> None:
    """End what sandboxed processes left behind: kill the members of each pids cgroup whose
    sandboxed process has exited (its orphans), then remove the cgroup."""
    import signal

    for base in _CGROUP_ROOTS:
        parent = Path(base, CGROUP)
        for group in parent.iterdir() if parent.is_dir() else ():
            if not group.name.isdigit() or Path(f"/proc/{group.name}").exists():
                continue
            try:
                for pid in Path(group, "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                group.rmdir()
            except OSError:
                continue  # still emptying; the next reap removes it


def _tasks_of(uid: int) -> int:
    """Processes and threads this user runs now (RLIMIT_NPROC counts threads)."""
    count = 0
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    def encode(text):
        return text.encode() if text is not None else None

    if libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source} on {target}: {os.strerror(error)}")


def _real(path: str) -> str:
    return os.path.realpath(path)


def kernelspec(folder: Path, python: str = sys.executable) -> Path:
    """Write a ``python3`` kernelspec under ``folder`` that starts the kernel sandboxed.

    Put ``folder`` first on ``JUPYTER_PATH`` and notebooks whose kernel is ``python3`` run
    in the sandbox.
    """
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    python,
                    "-m",
                    "grader.sandbox",
                    "--",
                    python,
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "Python 3 (sandboxed grading kernel)",
                "language": "python",
                "env": {
                    "IPYTHONDIR": "/tmp/ipython",
                    "MPLCONFIGDIR": "/tmp/matplotlib",
                    "HOME": "/tmp",
                    "OPENBLAS_NUM_THREADS": "1",
                    "OMP_NUM_THREADS": "1",
                },
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return folder


_PROBE = """
import errno, json, os, socket, sys
hidden, outside = sys.argv[1], sys.argv[2]
seen = {}
try:  # refused would still mean a network; only "unreachable" means none
    socket.create_connection(("127.0.0.1", 9), timeout=2)
    seen["network"] = "connected"
except OSError as e:
    seen["network"] = ("blocked: " if e.errno == errno.ENETUNREACH else "reachable: ") + str(e)
try:
    listed = os.listdir(hidden)
    seen["hidden"] = f"read: {listed}" if listed else "blocked: empty"
except OSError as e:
    seen["hidden"] = f"blocked: {e}"
try:
    with open(outside, "w") as handle:
        handle.write("x")
    seen["read_only"] = "wrote"
except OSError as e:
    seen["read_only"] = f"blocked: {e}"
print(json.dumps(seen))
"""


def check(policy: Policy, hidden: Path, outside: Path, python: str = sys.executable) -> Report:
    """Start a sandboxed Python under ``policy`` and return what the sandbox really gave.

    ``hidden`` is a non-empty folder the policy hides; ``outside`` a file path outside the
    writable folders. The report comes from the sandbox's own account, confirmed by trying
    each escape.
    """
    env = {**os.environ, POLICY_ENV: policy.to_env()}
    done = subprocess.run(
        [
            python,
            "-m",
            "grader.sandbox",
            "--report",
            "--",
            python,
            "-c",
            _PROBE,
            str(hidden),
            str(outside),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    reap()
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) < 2:
        raise RuntimeError(f"the sandbox check failed: {done.stderr[-1500:]}")
    claimed, seen = json.loads(lines[0]), json.loads(lines[-1])
    report = Report(claimed["applied"], claimed["missing"])
    for protection in ("network", "hidden", "read_only"):
        if protection in report.applied and not str(seen[protection]).startswith("blocked"):
            report.applied.remove(protection)
            report.missing[protection] = f"the check got through: {seen[protection]}"
    return report


def main(argv: list[str]) -> None:
    """``python -m grader.sandbox [--report] -- COMMAND...``: sandbox, then exec COMMAND."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit(
            "usage: python -m grader.sandbox [--report] -- COMMAND [ARG...]\n"
            f"Runs COMMAND in a sandbox described by ${POLICY_ENV} (JSON); see grader/sandbox.py."
        )
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    policy = Policy.from_env(os.environ.pop(POLICY_ENV, "{}"))
    report = enter(policy)
    if "--report" in options:
        print(json.dumps(asdict(report)), flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
