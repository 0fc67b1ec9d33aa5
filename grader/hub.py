"""The cohort's JupyterHub on one machine: roster, Unix accounts, course folders, hub config.

The shape is nbgrader's documented multi-course setup on JupyterHub: each course ``C`` has a
Unix account ``grader-C`` that owns the course directory (gradebook, sources, submissions)
and runs that course's formgrader as a hub service named ``C``; hub group ``formgrade-C``
may open it, hub group ``nbgrader-C`` sees the course in the Assignments tab. Every user's
own server runs as that user (``LocalProcessSpawner``), from an environment outside
``/root`` that every user can read. Configuration lives under the hub's root folder and
reaches the servers through ``JUPYTER_CONFIG_PATH``, never ``/etc/jupyter``.
"""

from __future__ import annotations

import csv
import grp
import ipaddress
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError
from grader.paths import REPO_ROOT, datasets_dir

ROLES = ("student", "instructor")
ROSTER_COLUMNS = ("username", "course", "role")
#: Unix user names the roster may use: what Debian's useradd accepts, kept to lowercase.
USERNAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
#: nbgrader course ids become hub group, service and folder names.
COURSE_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,30}")
#: Accounts below this uid belong to the system; a roster names people.
FIRST_PERSON_UID = 1000
GRADERS_GROUP = "dialectic-graders"
#: Where ``make hub`` keeps the exchange, the shared config and the hub's state.
DEFAULT_ROOT = Path("/srv/dialectic-hub")


@dataclass(frozen=True)
class Enrolment:
    """One roster row: a user's role in one course."""

    username: str
    course: str
    role: str


@dataclass
class Roster:
    """Everyone on the hub and what they do in which course."""

    enrolments: list[Enrolment]

    @property
    def courses(self) -> list[str]:
        return sorted({e.course for e in self.enrolments})

    @property
    def usernames(self) -> list[str]:
        return sorted({e.username for e in self.enrolments})

    def members(self, course: str, role: str) -> list[str]:
        return sorted(e.username for e in self.enrolments if e.course == course and e.role == role)

    @property
    def instructors(self) -> list[str]:
        return sorted({e.username for e in self.enrolments if e.role == "instructor"})


def grader_account(course: str) -> str:
    """The Unix account that owns ``course``'s directory and runs its formgrader."""
    return f"grader-{course}"


def read_roster(path: Path | str) -> Roster:
    """Read and check a roster CSV (columns username, course, role); name each bad row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GraderError(f"{path}: cannot read the roster ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise GraderError(f"{path}: the roster is not UTF-8 text.") from exc
    reader = csv.DictReader(text.splitlines())
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        raise GraderError(
            f"{path}: the roster lacks the column(s) {', '.join(missing)}; "
            f"its first line must name {', '.join(ROSTER_COLUMNS)}."
        )
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    enrolments = []
    for row_number, row in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        problem = _row_problem(values, seen)
        if problem:
            problems.append(f"{path} row {row_number}: {problem}")
            continue
        seen[(values["username"], values["course"])] = values["role"]
        enrolments.append(Enrolment(values["username"], values["course"], values["role"]))
    if problems:
        raise GraderError(
            "the roster has problems; nothing was changed:\n  " + "\n  ".join(problems)
        )
    if not enrolments:
        raise GraderError(f"{path}: the roster names nobody.")
    return Roster(enrolments)


def _row_problem(values: dict[str, str], seen: dict[tuple[str, str], str]) -> str | None:
    username, course, role = (values.get(c, "") for c in ROSTER_COLUMNS)
    if not USERNAME.fullmatch(username):
        return (
            f"username {username!r} is not a usable Unix user name (a lowercase letter, then up "
            f"to 31 lowercase letters, digits, '-' or '_')"
        )
    if username.startswith("grader-"):
        return f"username {username!r} is reserved: grader-COURSE accounts are made for each course"
    if not COURSE_ID.fullmatch(course):
        return (
            f"course {course!r} is not a usable course id (a lowercase letter or digit, then up "
            f"to 30 lowercase letters, digits or '_'; it names hub groups and folders)"
        )
    if role not in ROLES:
        return f"role {role!r} must be one of {', '.join(ROLES)}"
    earlier = seen.get((username, course))
    if earlier is not None and earlier != role:
        return f"{username} is both {earlier} and {role} in {course}; choose one"
    return None


# -- Unix accounts ---------------------------------------------------------------------------


@dataclass
class AccountReport:
    """What ``add_users`` did: accounts created and accounts that were already there."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def add_users(roster: Roster, home_base: Path | None = None) -> AccountReport:
    """Create the Unix accounts the roster names and each course's grader account.

    Adds only missing accounts and removes none. A new home is made mode 0700, so no student
    can read another's work. Refuses (before creating anything) a name that belongs to a
    system account.
    """
    wanted = roster.usernames + [grader_account(c) for c in roster.courses]
    report = AccountReport()
    for name in wanted:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid < FIRST_PERSON_UID:
            raise GraderError(
                f"{name!r} is a system account (uid {entry.pw_uid}); a roster names "
                f"people. Nothing was changed."
            )
    _require_root("create Unix accounts")
    for name in wanted:
        try:
            pwd.getpwnam(name)
        except KeyError:
            command = ["useradd", "--create-home", "--shell", "/bin/bash", "--user-group"]
            if home_base is not None:
                command += ["--base-dir", str(home_base)]
            _run([*command, name])
            os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
            report.created.append(name)
        else:
            report.existing.append(name)
    _ensure_group(GRADERS_GROUP, [grader_account(c) for c in roster.courses])
    return report


def remove_users(names: list[str]) -> None:
    """Delete accounts and their homes (used by the tests for the accounts they made)."""
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        _run(["userdel", "--remove", name], ok_codes=(0, 12))


def _ensure_group(name: str, members: list[str]) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run(["groupadd", "--system", name])
    for member in members:
        _run(["usermod", "--append", "--groups", name, member])


# -- the hub's root folder and the course directories -------------------------------------


@dataclass(frozen=True)
class HubLayout:
    """Where a hub keeps what its users share; everything lives under ``root``."""

    root: Path

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange (mode 1777, as nbgrader expects), one folder per course inside."""
        return self.root / "exchange"

    @property
    def jupyter_config(self) -> Path:
        """The nbgrader config every server reads (through ``JUPYTER_CONFIG_PATH``)."""
        return self.root / "jupyter"

    @property
    def student_datasets(self) -> Path:
        """The course data with the student edition of the item bank (no assessment keys)."""
        return self.root / "datasets-student"

    @property
    def instructor_datasets(self) -> Path:
        """The course data with the assessment keys: group dialectic-graders only."""
        return self.root / "datasets-instructor"

    @property
    def state(self) -> Path:
        """The hub's own database, cookie secret and trial password (root only)."""
        return self.root / "state"


def course_directory(course: str) -> Path:
    """``~grader-COURSE/COURSE``: inside a 0700 home, so no student can read it."""
    try:
        home = pwd.getpwnam(grader_account(course)).pw_dir
    except KeyError:
        raise GraderError(
            f"there is no account {grader_account(course)} for course {course}: "
            f"run `dialectic hub users --roster ROSTER` first."
        ) from None
    return Path(home) / course


def setup_courses(roster: Roster, root: Path | str) -> list[Path]:
    """Lay out the hub's shared folders and one course directory per course in the roster.

    Safe to rerun: an existing course directory keeps its gradebook, sources and
    submissions; only its nbgrader_config.py is rewritten. Returns the course directories.
    """
    _require_root("set up the hub's folders")
    layout = HubLayout(Path(root))
    for folder, mode in (
        (layout.root, 0o755),
        (layout.exchange, 0o1777),
        (layout.jupyter_config, 0o755),
        (layout.state, 0o700),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    (layout.jupyter_config / "nbgrader_config.py").write_text(
        _shared_config(layout, roster.courses), encoding="utf-8"
    )
    _write_datasets(layout)
    made = []
    for course in roster.courses:
        account = pwd.getpwnam(grader_account(course))
        directory = course_directory(course)
        if not (directory / "exercises").exists():
            shutil.copytree(
                REPO_ROOT / "exercises",
                directory / "exercises",
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "README.md"),
            )
        (directory / "nbgrader_config.py").write_text(
            _course_config(course, directory), encoding="utf-8"
        )
        _chown_tree(directory, account.pw_uid, account.pw_gid)
        os.chmod(directory, 0o700)
        os.chmod(account.pw_dir, 0o700)
        made.append(directory)
    return made


def _shared_config(layout: HubLayout, courses: list[str]) -> str:
    return (
        "# Written by `dialectic hub courses`; rewritten on every run.\n"
        "# Read by every user's server through JUPYTER_CONFIG_PATH (never /etc/jupyter).\n"
        "from nbgrader.auth import JupyterHubAuthPlugin\n\n"
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(layout.exchange)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "c.Authenticator.plugin_class = JupyterHubAuthPlugin\n"
        f"c.NbGrader.course_titles = {{{', '.join(f'{c!r}: {c!r}' for c in courses)}}}\n"
    )


def _course_config(course: str, directory: Path) -> str:
    base = (REPO_ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    return (
        base + "\n# The hub's course: written by `dialectic hub courses`.\n"
        f"c.CourseDirectory.root = {str(directory)!r}\n"
        f"c.CourseDirectory.course_id = {course!r}\n"
    )


def _write_datasets(layout: HubLayout) -> None:
    """Two copies of the course data: keys for graders only, the student edition for all."""
    from grader.editions import write_student_edition

    source = datasets_dir()
    for target in (layout.instructor_datasets, layout.student_datasets):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(layout.student_datasets / "item_bank")
    write_student_edition(layout.student_datasets / "item_bank")
    _chmod_tree(layout.student_datasets, 0o644, 0o755)
    graders = grp.getgrnam(GRADERS_GROUP).gr_gid
    _chown_tree(layout.instructor_datasets, 0, graders)
    _chmod_tree(layout.instructor_datasets, 0o640, 0o750)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _chmod_tree(top: Path, file_mode: int, dir_mode: int) -> None:
    os.chmod(top, dir_mode)
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            os.chmod(os.path.join(folder, name), dir_mode)
        for name in files:
            os.chmod(os.path.join(folder, name), file_mode)


# -- the JupyterHub configuration --------------------------------------------------------------


@dataclass
class HubSettings:
    """What ``hub/jupyterhub_config.py`` reads from the environment (``make hub`` sets it)."""

    root: Path
    """The hub's root folder (``DIALECTIC_HUB_ROOT``, default /srv/dialectic-hub)."""
    roster: Path
    """The roster CSV (``DIALECTIC_HUB_ROSTER``)."""
    auth: str = "dummy"
    """``dummy`` (a trial on loopback only, one shared password) or ``pam`` (Unix passwords)."""
    proxy: str = "configurable-http-proxy"
    """The configurable-http-proxy executable (``DIALECTIC_HUB_PROXY``)."""
    service_port: int = 9990
    """The first course's formgrader port; the next course takes the next port."""
    hub_api_port: int = 8081
    """The hub's internal API port (``DIALECTIC_HUB_API_PORT``)."""
    proxy_api_port: int = 8001
    """The proxy's own API port (``DIALECTIC_HUB_PROXY_API_PORT``)."""
    admin_token: str | None = None
    """When set (``DIALECTIC_HUB_ADMIN_TOKEN``), a service ``dialectic-admin`` with this token
    may start servers and mint user tokens: scripted trials and the tests use it."""

    @classmethod
    def from_environment(cls, environ=os.environ) -> HubSettings:
        """Settings from DIALECTIC_HUB_* variables, the defaults for those not set."""
        default = cls(root=DEFAULT_ROOT, roster=Path("roster.csv"))

        def get(key: str, fallback):
            return type(fallback)(environ.get(f"DIALECTIC_HUB_{key}") or fallback)

        return cls(
            root=Path(get("ROOT", str(default.root))),
            roster=Path(get("ROSTER", str(default.roster))),
            auth=get("AUTH", default.auth),
            proxy=get("PROXY", default.proxy),
            service_port=get("SERVICE_PORT", default.service_port),
            hub_api_port=get("API_PORT", default.hub_api_port),
            proxy_api_port=get("PROXY_API_PORT", default.proxy_api_port),
            admin_token=environ.get("DIALECTIC_HUB_ADMIN_TOKEN") or None,
        )

    def to_environment(self) -> dict[str, str]:
        """The DIALECTIC_HUB_* variables ``from_environment`` reads back."""
        values = {
            "ROOT": self.root,
            "ROSTER": self.roster,
            "AUTH": self.auth,
            "PROXY": self.proxy,
            "SERVICE_PORT": self.service_port,
            "API_PORT": self.hub_api_port,
            "PROXY_API_PORT": self.proxy_api_port,
            "ADMIN_TOKEN": self.admin_token or "",
        }
        return {f"DIALECTIC_HUB_{key}": str(value) for key, value in values.items()}


def configure(c, settings: HubSettings) -> None:
    """Fill JupyterHub's config object ``c`` for the roster's courses."""
    roster = read_roster(settings.roster)
    layout = HubLayout(settings.root)
    bin_dir = Path(sys.executable).parent
    c.JupyterHub.db_url = f"sqlite:///{layout.state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(layout.state / "jupyterhub_cookie_secret")
    c.JupyterHub.hub_port = settings.hub_api_port
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(layout.state / "proxy.pid")

    if settings.auth == "dummy":
        c.JupyterHub.authenticator_class = "grader.hub_auth.LoopbackTrialAuthenticator"
        c.DummyAuthenticator.password = _trial_password(layout)
    elif settings.auth == "pam":
        c.JupyterHub.authenticator_class = "pam"
    else:
        raise GraderError(
            f"DIALECTIC_HUB_AUTH is {settings.auth!r}; use 'pam' (or 'dummy' for a "
            f"trial on 127.0.0.1), or set another authenticator in jupyterhub_config.py."
        )
    c.Authenticator.allowed_users = set(roster.usernames)

    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    # jupyterhub-singleuser without its unused grammar build (grader.singleuser)
    c.Spawner.cmd = [str(bin_dir / "dialectic-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = {
        "JUPYTER_CONFIG_PATH": str(layout.jupyter_config),
        "DIALECTIC_DATASETS": str(layout.student_datasets),
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
    }

    groups: dict[str, dict] = {"instructors": {"users": roster.instructors}}
    roles: list[dict] = [
        {
            "name": "instructor",
            "groups": ["instructors"],
            "scopes": ["admin:users", "admin:servers"],
        },
        # nbgrader's course list asks the hub for the user's groups with the server's token.
        {"name": "server", "scopes": ["inherit"]},
    ]
    services: list[dict] = []
    for offset, course in enumerate(roster.courses):
        account = grader_account(course)
        groups[f"formgrade-{course}"] = {"users": [*roster.members(course, "instructor"), account]}
        groups[f"nbgrader-{course}"] = {"users": roster.members(course, "student")}
        roles.append(
            {
                "name": f"formgrade-{course}",
                "groups": [f"formgrade-{course}"],
                "scopes": [f"access:services!service={course}"],
            }
        )
        roles.append(
            {
                "name": f"nbgrader-{course}",
                "groups": [f"nbgrader-{course}"],
                "scopes": ["list:services", f"read:services!service={course}"],
            }
        )
        # The formgrader asks the hub which courses its account grades (nbgrader's plugin).
        roles.append(
            {
                "name": f"formgrader-{course}",
                "services": [course],
                "scopes": [
                    f"read:users:name!user={account}",
                    f"read:users:groups!user={account}",
                    "list:services",
                    f"read:services!service={course}",
                ],
            }
        )
        # An external service: `dialectic hub start` runs it as the grader account (the hub
        # would give a managed one only ten seconds to start, too few on a busy machine).
        services.append(
            {
                "name": course,
                "url": formgrader_url(settings, offset),
                "api_token": service_token(layout, course),
                "oauth_no_confirm": True,
            }
        )
    if settings.admin_token:
        services.append({"name": "dialectic-admin", "api_token": settings.admin_token})
        roles.append(
            {
                "name": "dialectic-admin",
                "services": ["dialectic-admin"],
                "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"],
            }
        )
    c.JupyterHub.load_groups = groups
    c.JupyterHub.load_roles = roles
    c.JupyterHub.services = services


def formgrader_url(settings: HubSettings, offset: int) -> str:
    """Where course number ``offset`` (in roster order) serves its formgrader."""
    return f"http://127.0.0.1:{settings.service_port + offset}"


def service_token(layout: HubLayout, course: str) -> str:
    """The API token of ``course``'s formgrader service: made once, kept root-only."""
    kept = layout.state / f"service-{course}.token"
    if not kept.exists():
        layout.state.mkdir(parents=True, exist_ok=True)
        kept.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        os.chmod(kept, 0o600)
    return kept.read_text(encoding="utf-8").strip()


def formgrader_environment(settings: HubSettings, course: str, offset: int) -> dict[str, str]:
    """What ``course``'s formgrader needs to serve as the hub's service ``course``."""
    layout = HubLayout(settings.root)
    account = pwd.getpwnam(grader_account(course))
    prefix = f"/services/{course}/"
    scopes = json.dumps([f"access:services!service={course}"])
    bin_dir = Path(sys.executable).parent
    return {
        "JUPYTERHUB_SERVICE_NAME": course,
        "JUPYTERHUB_API_TOKEN": service_token(layout, course),
        "JUPYTERHUB_CLIENT_ID": f"service-{course}",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{settings.hub_api_port}/hub/api",
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": formgrader_url(settings, offset),
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_USER": account.pw_name,
        "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        "JUPYTER_CONFIG_PATH": str(layout.jupyter_config),
        "DIALECTIC_DATASETS": str(layout.instructor_datasets),
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": account.pw_dir,
        "USER": account.pw_name,
        "LOGNAME": account.pw_name,
        "SHELL": account.pw_shell,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, '' (all interfaces) and names."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _trial_password(layout: HubLayout) -> str:
    """The trial's shared password: $DIALECTIC_HUB_TRIAL_PASSWORD or one made and kept once."""
    given = os.environ.get("DIALECTIC_HUB_TRIAL_PASSWORD")
    if given:
        return given
    kept = layout.state / "trial-password"
    if not kept.exists():
        layout.state.mkdir(parents=True, exist_ok=True)
        kept.write_text(secrets.token_urlsafe(12) + "\n", encoding="utf-8")
        os.chmod(kept, 0o600)
    return kept.read_text(encoding="utf-8").strip()


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise GraderError(f"only root can {what}; run it with sudo (the hub itself runs as root).")


def _run(command: list[str], ok_codes: tuple[int, ...] = (0,)) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in ok_codes:
        raise GraderError(
            f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}"
        )
