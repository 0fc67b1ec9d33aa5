"""Run the cohort's hub: JupyterHub as root and one formgrader per course as its grader account.

The formgraders are the hub's (external) services, one per course, as in nbgrader's
multi-course setup. They are started here rather than by the hub because the hub gives a
managed service ten seconds to answer and then exits, and a Jupyter server with nbgrader
can take longer than that on a busy two-core machine.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grader.errors import GraderError
from grader.hub import (
    HubSettings,
    course_directory,
    formgrader_environment,
    grader_account,
    is_loopback,
    read_roster,
)


def run_hub(
    settings: HubSettings,
    config: Path,
    ip: str = "127.0.0.1",
    port: int = 8000,
    *,
    log: Callable[[str], None],
) -> int:
    """Start the formgraders and JupyterHub; stop them all when the hub stops or on Ctrl-C."""
    if os.geteuid() != 0:
        raise GraderError("the hub must run as root: it starts each user's server as that user.")
    if settings.auth == "dummy" and not is_loopback(ip):
        raise GraderError(
            f"the trial (dummy) login is refused on {ip or 'all interfaces'}: anyone "
            f"could log in as anyone. Use --ip 127.0.0.1, or real authentication "
            f"(HUB_AUTH=pam or an OAuth authenticator; README 'For a cohort')."
        )
    roster = read_roster(settings.roster)
    signal.signal(signal.SIGTERM, _interrupt)  # so that `finally` stops the children
    bin_dir = Path(sys.executable).parent
    children: list[subprocess.Popen] = []
    try:
        for offset, course in enumerate(roster.courses):
            account = pwd.getpwnam(grader_account(course))
            children.append(
                subprocess.Popen(
                    [
                        str(bin_dir / "dialectic-singleuser"),
                        "--ip=127.0.0.1",
                        f"--port={settings.service_port + offset}",
                    ],
                    cwd=course_directory(course),
                    env=formgrader_environment(settings, course, offset),
                    user=account.pw_uid,
                    group=account.pw_gid,
                    extra_groups=os.getgrouplist(account.pw_name, account.pw_gid),
                )
            )
            log(f"formgrader of {course} started as {account.pw_name}")
        hub = subprocess.Popen(
            [str(bin_dir / "jupyterhub"), "-f", str(config), "--ip", ip, "--port", str(port)],
            cwd=settings.root / "state",
            env={**os.environ, **settings.to_environment()},
        )
        children.append(hub)
        log(
            f"JupyterHub starting on http://{ip}:{port}/ (Ctrl-C stops the hub and the formgraders)"
        )
        if settings.auth == "dummy":
            kept = settings.root / "state" / "trial-password"
            log(
                f"Trial login: any roster name, the password in {kept} "
                f"(or $DIALECTIC_HUB_TRIAL_PASSWORD)"
            )
        return hub.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(children)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
