"""The cohort's JupyterHub: roster checks, and a real hub on loopback with real Unix users.

The slow tests start JupyterHub from the hub environment `make hub-env` builds (outside
/root, from Debian's Python), create Unix accounts named dlt-* and grader-dlt*, and remove
them afterwards. Students act only through their own single-user servers with their own
tokens; the instructor's steps run as the course's grader account, as in its formgrader's
terminal.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests

from grader.cli import main
from grader.errors import GraderError
from grader.hub import (
    HubLayout,
    HubSettings,
    add_users,
    configure,
    course_directory,
    grader_account,
    is_loopback,
    read_roster,
    remove_users,
    setup_courses,
)
from grader.paths import REPO_ROOT
from grader.simulate import keyed_answers

PREFIX = Path(os.environ.get("DIALECTIC_HUB_PREFIX", "/opt/dialectic-hub"))
ARTIFACTS = REPO_ROOT / "test-artifacts"
ASSIGNMENT = "m07_alliance_and_the_spectrum"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
INSTRUCTOR, OTHER_INSTRUCTOR, STUDENT_A, STUDENT_B = (
    "dlt-ins1",
    "dlt-ins2",
    "dlt-stu-a",
    "dlt-stu-b",
)
COURSE, OTHER_COURSE = "dlt1", "dlt2"
ROSTER = f"""username,course,role
{INSTRUCTOR},{COURSE},instructor
{STUDENT_A},{COURSE},student
{STUDENT_B},{COURSE},student
{OTHER_INSTRUCTOR},{OTHER_COURSE},instructor
{STUDENT_A},{OTHER_COURSE},student
"""
ACCOUNTS = [
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    STUDENT_A,
    STUDENT_B,
    grader_account(COURSE),
    grader_account(OTHER_COURSE),
]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]


# -- the roster (quick) ---------------------------------------------------------------------


def _roster_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_reads_courses_and_roles(tmp_path):
    roster = read_roster(_roster_file(tmp_path, ROSTER))
    assert roster.courses == [COURSE, OTHER_COURSE]
    assert roster.members(COURSE, "student") == [STUDENT_A, STUDENT_B]
    assert roster.instructors == [INSTRUCTOR, OTHER_INSTRUCTOR]


@pytest.mark.parametrize(
    "row, problem",
    [
        ("Ana Lopez,dlt1,student", "username 'Ana Lopez' is not a usable Unix user name"),
        ("ana,Psych 801,student", "course 'Psych 801' is not a usable course id"),
        ("ana,dlt1,teacher", "role 'teacher' must be one of student, instructor"),
        ("grader-dlt1,dlt1,student", "reserved"),
    ],
)
def test_roster_names_the_bad_row_and_its_problem(tmp_path, row, problem):
    path = _roster_file(tmp_path, f"username,course,role\nbea,dlt1,student\n{row}\n")
    with pytest.raises(GraderError) as raised:
        read_roster(path)
    assert f"{path} row 3: " in str(raised.value) and problem in str(raised.value)


def test_roster_refuses_two_roles_in_one_course_and_missing_columns(tmp_path):
    path = _roster_file(tmp_path, "username,course,role\nbea,dlt1,student\nbea,dlt1,instructor\n")
    with pytest.raises(GraderError, match="row 3: bea is both student and instructor in dlt1"):
        read_roster(path)
    path = _roster_file(tmp_path, "user,course\nbea,dlt1\n")
    with pytest.raises(GraderError, match="lacks the column.s. username, role"):
        read_roster(path)


def test_hub_users_cli_refuses_a_bad_roster_and_changes_nothing(tmp_path, capsys):
    path = _roster_file(tmp_path, "username,course,role\ndlt-ok,dlt1,student\nBAD!,dlt1,student\n")
    assert main(["hub", "users", "--roster", str(path)]) == 1
    err = capsys.readouterr().err
    assert "row 3: username 'BAD!'" in err and "nothing was changed" in err
    with pytest.raises(KeyError):
        pwd.getpwnam("dlt-ok")


def test_a_system_account_in_the_roster_is_refused(tmp_path):
    roster = read_roster(_roster_file(tmp_path, "username,course,role\nroot,dlt1,student\n"))
    with pytest.raises(GraderError, match="'root' is a system account"):
        add_users(roster)


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.1.1", True),
        ("0.0.0.0", False),
        ("", False),
        ("10.0.0.5", False),
        ("hub.example.org", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_settings_travel_to_the_hub_through_the_environment():
    settings = HubSettings(
        root=Path("/srv/x"),
        roster=Path("/srv/r.csv"),
        auth="pam",
        service_port=9100,
        hub_api_port=9101,
        proxy_api_port=9102,
        admin_token="t",
    )
    assert HubSettings.from_environment(settings.to_environment()) == settings


def test_hub_config_follows_nbgraders_multi_course_shape(tmp_path):
    from traitlets.config import Config

    c = Config()
    roster = _roster_file(tmp_path, ROSTER)
    configure(c, HubSettings(root=tmp_path / "hub", roster=roster))
    groups = c.JupyterHub.load_groups
    assert groups[f"formgrade-{COURSE}"]["users"] == [INSTRUCTOR, grader_account(COURSE)]
    assert groups[f"nbgrader-{OTHER_COURSE}"]["users"] == [STUDENT_A]
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert roles[f"formgrade-{COURSE}"]["scopes"] == [f"access:services!service={COURSE}"]
    assert [s["name"] for s in c.JupyterHub.services] == [COURSE, OTHER_COURSE]
    assert c.Authenticator.allowed_users == {INSTRUCTOR, OTHER_INSTRUCTOR, STUDENT_A, STUDENT_B}
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(tmp_path / "hub" / "jupyter")
    assert c.Spawner.cmd == [str(Path(sys.executable).parent / "dialectic-singleuser")]
    assert Path(c.Spawner.cmd[0]).is_file()  # installed with the course package
    token = tmp_path / "hub" / "state" / f"service-{COURSE}.token"
    assert oct(token.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(GraderError, match="DIALECTIC_HUB_AUTH is 'none'"):
        configure(Config(), HubSettings(root=tmp_path / "hub", roster=roster, auth="none"))


def test_the_hubs_servers_are_jupyterhub_singleuser_without_the_grammar_build():
    """`dialectic-singleuser` answers as `jupyterhub-singleuser` does and never imports the
    IRI grammar (1.2 s of every student's server start)."""
    probe = (
        "import sys\nsys.argv = ['dialectic-singleuser', '--version']\n"
        "from grader import singleuser\n"
        "try:\n    singleuser.main()\nexcept SystemExit:\n    pass\n"
        "print('grammar built' if sys.modules.get('rfc3987_syntax') else 'no grammar')"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    expected = subprocess.run(
        [str(Path(sys.executable).parent / "jupyterhub-singleuser"), "--version"],
        capture_output=True,
        text=True,
    )
    assert expected.stdout.strip() and done.stdout == expected.stdout + "no grammar\n", (
        done.stdout + done.stderr
    )


# -- a real hub (slow) ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A running JupyterHub and the admin service token the test drives it with."""

    def __init__(self, root: Path, roster: Path):
        self.root, self.roster = root, roster
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_hex(32)
        self.password = secrets.token_urlsafe(12)
        self.log = root / "state" / "hub.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        return {
            "PATH": f"{PREFIX / 'bin'}:/usr/bin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "DIALECTIC_HUB_ADMIN_TOKEN": self.admin_token,
            "DIALECTIC_HUB_TRIAL_PASSWORD": self.password,
        }

    def command(self, ip: str = "127.0.0.1") -> list[str]:
        """What `make hub` runs, on free ports."""
        return [
            str(PREFIX / "bin/dialectic"),
            "hub",
            "start",
            "--roster",
            str(self.roster),
            "--root",
            str(self.root),
            "--config",
            str(REPO_ROOT / "hub/jupyterhub_config.py"),
            "--ip",
            ip,
            "--port",
            str(self.port),
            "--service-port",
            str(_free_port()),
            "--api-port",
            str(_free_port()),
            "--proxy-api-port",
            str(_free_port()),
        ]

    def start(self) -> None:
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the hub exited:\n" + self.log.read_text()[-4000:]
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=10).ok:
                    return
            except requests.RequestException:  # not listening yet, or too busy starting
                pass
            time.sleep(0.5)
        raise AssertionError("the hub did not answer within 90 s:\n" + self.log.read_text()[-4000:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(
            method,
            f"{self.url}/hub/api{path}",
            timeout=60,
            headers={"Authorization": f"token {self.admin_token}"},
            **kwargs,
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def user_token(self, name: str) -> str:
        """Start ``name``'s server (as that Unix user) and mint a token for them."""
        self.api("POST", f"/users/{name}/server")
        deadline = time.monotonic() + 120
        while not self.api("GET", f"/users/{name}").json()["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, (
                f"{name}'s server did not start:\n{self.log.read_text()[-4000:]}"
            )
            time.sleep(0.5)
        return self.api("POST", f"/users/{name}/tokens", json={"note": "test"}).json()["token"]


class Student:
    """A student's own server, reached through the hub with the student's own token."""

    def __init__(self, hub: Hub, name: str):
        self.name, self.base = name, f"{hub.url}/user/{name}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {hub.user_token(name)}"

    def nbgrader(self, action: str, course: str, assignment: str = ASSIGNMENT) -> dict:
        response = self.session.post(
            f"{self.base}/assignments/{action}",
            timeout=120,
            data={"course_id": course, "assignment_id": assignment},
        )
        assert response.ok, f"{self.name} {action}: {response.status_code} {response.text[:500]}"
        result = response.json()
        assert result["success"], f"{self.name} {action}: {result}"
        return result

    def listed(self, course: str) -> list[dict]:
        response = self.session.get(
            f"{self.base}/assignments", params={"course_id": course}, timeout=60
        )
        assert response.ok, response.text
        return response.json()["value"]

    def save(self, path: str, text: str) -> None:
        response = self.session.put(
            f"{self.base}/api/contents/{path}",
            timeout=60,
            json={"type": "file", "format": "text", "content": text},
        )
        assert response.ok, (
            f"{self.name} saving {path}: {response.status_code} {response.text[:300]}"
        )

    def read(self, path: str) -> dict:
        response = self.session.get(f"{self.base}/api/contents/{path}", timeout=60)
        assert response.ok, f"{self.name} reading {path}: {response.status_code}"
        return response.json()


def as_user(
    name: str,
    *command: str,
    cwd: Path | None = None,
    extra_env: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``command`` as Unix user ``name`` with the hub environment first on PATH."""
    entry = pwd.getpwnam(name)
    env = {
        "PATH": f"{PREFIX / 'bin'}:/usr/bin:/bin",
        "HOME": entry.pw_dir,
        "USER": name,
        "LANG": "C.UTF-8",
        **(extra_env or {}),
    }
    result = subprocess.run(
        list(command),
        cwd=cwd or entry.pw_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=os.getgrouplist(name, entry.pw_gid),
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(command)} as {name}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def as_grader(
    hub: Hub, course: str, *command: str, check: bool = True
) -> subprocess.CompletedProcess:
    """What the course's formgrader terminal runs: as grader-COURSE, in the course directory."""
    layout = HubLayout(hub.root)
    return as_user(
        grader_account(course),
        *command,
        cwd=course_directory(course),
        check=check,
        extra_env={
            "JUPYTER_CONFIG_PATH": str(layout.jupyter_config),
            "DIALECTIC_DATASETS": str(layout.instructor_datasets),
        },
    )


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.fail(
            "the hub tests create Unix users and start JupyterHub: run them as root (make test)"
        )
    if not (PREFIX / "bin/jupyterhub").exists():
        pytest.fail(f"no hub environment in {PREFIX}: run `make hub-env` as root (make test does)")
    remove_users(ACCOUNTS)  # leftovers of an interrupted run; the names are the tests' own
    root = Path(tempfile.mkdtemp(prefix="dialectic-hub-test-", dir="/srv"))
    os.chmod(root, 0o755)
    running = None
    try:
        roster = root / "roster.csv"
        roster.write_text(ROSTER, encoding="utf-8")
        report = add_users(read_roster(roster))
        assert sorted(report.created) == sorted(ACCOUNTS)
        setup_courses(read_roster(roster), root)
        running = Hub(root, roster)
        running.start()
        yield running
    finally:
        if running:
            running.stop()
            shutil.copy(running.log, ARTIFACTS / "hub.log") if ARTIFACTS.is_dir() else None
        remove_users(ACCOUNTS)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cohort(hub):
    """The whole round trip in course dlt1; later tests check what it left behind."""
    as_grader(hub, COURSE, "nbgrader", "generate_assignment", ASSIGNMENT)
    as_grader(hub, COURSE, "nbgrader", "release_assignment", ASSIGNMENT)
    students = {name: Student(hub, name) for name in (STUDENT_A, STUDENT_B)}
    released = nbformat.read(
        course_directory(COURSE) / "release" / ASSIGNMENT / NOTEBOOK, as_version=4
    )
    keyed = keyed_answers(released)
    half = dict(keyed, answers=dict(list(keyed["answers"].items())[: len(keyed["answers"]) // 2]))
    answers = {STUDENT_A: keyed, STUDENT_B: half}
    for name, student in students.items():
        assert [a["assignment_id"] for a in student.listed(COURSE)] == [ASSIGNMENT]
        student.nbgrader("fetch", COURSE)
        student.save(f"{COURSE}/{ASSIGNMENT}/responses.json", json.dumps(answers[name], indent=1))
        student.nbgrader("submit", COURSE)
    as_grader(hub, COURSE, "nbgrader", "collect", ASSIGNMENT)
    graded = as_grader(
        hub, COURSE, "dialectic", "autograde", ASSIGNMENT, "--workers", "2", check=False
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hub-autograde.txt").write_text(graded.stdout + graded.stderr, encoding="utf-8")
    assert graded.returncode == 0, (
        f"dialectic autograde as {grader_account(COURSE)}:\n{graded.stdout}\n{graded.stderr}"
    )
    as_grader(hub, COURSE, "nbgrader", "generate_feedback", ASSIGNMENT)
    as_grader(hub, COURSE, "nbgrader", "release_feedback", ASSIGNMENT)
    for student in students.values():
        student.nbgrader("fetch_feedback", COURSE)
    return {"students": students, "autograde": graded}


def _scores(hub: Hub, course: str) -> dict[str, float]:
    code = (
        "import json; from nbgrader.api import Gradebook\n"
        "with Gradebook('sqlite:///gradebook.db') as gb:\n"
        "    print(json.dumps({s.student.id: s.score\n"
        "                      for a in gb.assignments for s in a.submissions}))"
    )
    return json.loads(as_grader(hub, course, "python", "-c", code).stdout)


@pytest.mark.slow
def test_students_submit_through_their_servers_and_are_graded_apart(hub, cohort):
    scores = _scores(hub, COURSE)
    assert set(scores) == {STUDENT_A, STUDENT_B}
    assert scores[STUDENT_A] > scores[STUDENT_B] > 0, scores
    assert "2 graded, 0 could not be graded" in cohort["autograde"].stdout


@pytest.mark.slow
def test_each_student_fetches_only_their_own_feedback(hub, cohort):
    layout = HubLayout(hub.root)
    texts = {}
    for name, student in cohort["students"].items():
        runs = student.read(f"{COURSE}/{ASSIGNMENT}/feedback")["content"]
        assert len(runs) == 1, f"{name} received {len(runs)} feedback folders"
        feedback = student.read(f"{runs[0]['path']}/{ASSIGNMENT}.html")["content"]
        generated = course_directory(COURSE) / "feedback" / name / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert feedback == generated.read_text(encoding="utf-8"), f"{name} got feedback not theirs"
        texts[name] = feedback
    assert texts[STUDENT_A] != texts[STUDENT_B]
    released = sorted(p.name for p in (layout.exchange / COURSE / "feedback").iterdir())
    assert len(released) == 2
    listing = as_user(STUDENT_A, "ls", str(layout.exchange / COURSE / "feedback"), check=False)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr


@pytest.mark.slow
def test_students_cannot_read_each_other_or_the_course(hub, cohort):
    layout = HubLayout(hub.root)
    other_home = pwd.getpwnam(STUDENT_B).pw_dir
    attempts = {
        "the other student's home": ["ls", other_home],
        "the other student's notebook": ["cat", f"{other_home}/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}"],
        "the exchange's inbound folders": ["ls", str(layout.exchange / COURSE / "inbound")],
        "the course directory": ["ls", str(course_directory(COURSE))],
        "the gradebook": ["cat", str(course_directory(COURSE) / "gradebook.db")],
        "the assessment keys": ["ls", str(layout.instructor_datasets)],
    }
    for what, command in attempts.items():
        result = as_user(STUDENT_A, *command, check=False)
        assert result.returncode != 0 and "Permission denied" in result.stderr, (
            f"{STUDENT_A} read {what}"
        )
    assert oct(os.stat(other_home).st_mode & 0o777) == "0o700"


@pytest.mark.slow
def test_formgrader_opens_for_its_instructor_only(hub, cohort):
    instructor = requests.Session()
    instructor.headers["Authorization"] = f"token {hub.user_token(INSTRUCTOR)}"
    assert instructor.get(f"{hub.url}/services/{COURSE}/formgrader", timeout=60).status_code == 200
    assert (
        instructor.get(f"{hub.url}/services/{OTHER_COURSE}/formgrader", timeout=60).status_code
        == 403
    )
    student = cohort["students"][STUDENT_A].session
    assert student.get(f"{hub.url}/services/{COURSE}/formgrader", timeout=60).status_code == 403


@pytest.mark.slow
def test_two_courses_on_one_hub_keep_their_gradebooks_apart(hub, cohort):
    as_grader(hub, OTHER_COURSE, "nbgrader", "generate_assignment", ASSIGNMENT)
    as_grader(hub, OTHER_COURSE, "nbgrader", "release_assignment", ASSIGNMENT)
    a = cohort["students"][STUDENT_A]
    b = cohort["students"][STUDENT_B]
    assert [x["assignment_id"] for x in a.listed(OTHER_COURSE)] == [ASSIGNMENT]
    courses = b.session.get(f"{b.base}/courses", timeout=60).json()
    assert OTHER_COURSE not in json.dumps(courses), (
        f"{STUDENT_B} is offered {OTHER_COURSE}: {courses}"
    )
    a.nbgrader("fetch", OTHER_COURSE)
    a.save(
        f"{OTHER_COURSE}/{ASSIGNMENT}/responses.json",
        json.dumps(
            keyed_answers(
                nbformat.read(
                    course_directory(OTHER_COURSE) / "release" / ASSIGNMENT / NOTEBOOK, as_version=4
                )
            )
        ),
    )
    a.nbgrader("submit", OTHER_COURSE)
    as_grader(hub, OTHER_COURSE, "nbgrader", "collect", ASSIGNMENT)
    as_grader(hub, OTHER_COURSE, "dialectic", "autograde", ASSIGNMENT, "--workers", "1")
    assert set(_scores(hub, OTHER_COURSE)) == {STUDENT_A}
    assert set(_scores(hub, COURSE)) == {STUDENT_A, STUDENT_B}
    other = as_grader(hub, COURSE, "ls", str(course_directory(OTHER_COURSE)), check=False)
    assert other.returncode != 0, "one course's grader account can read the other course"


@pytest.mark.slow
def test_rerunning_the_setup_adds_nobody_and_keeps_the_course(hub, cohort, capsys):
    gradebook = course_directory(COURSE) / "gradebook.db"
    before = gradebook.read_bytes()
    assert main(["hub", "users", "--roster", str(hub.roster)]) == 0
    assert f"Created 0 account(s): none; {len(ACCOUNTS)} already existed" in capsys.readouterr().out
    assert main(["hub", "courses", "--roster", str(hub.roster), "--root", str(hub.root)]) == 0
    assert gradebook.read_bytes() == before
    assert (course_directory(COURSE) / "release" / ASSIGNMENT / NOTEBOOK).exists()


@pytest.mark.slow
@pytest.mark.browser
def test_a_student_logs_in_and_sees_the_assignment(hub, cohort):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", STUDENT_B)
            page.fill("#password_input", hub.password)
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{STUDENT_B}/lab**", timeout=120_000)
            menu = page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True)
            menu.wait_for(timeout=90_000)
            menu.click()
            page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
            tab = page.locator(".lm-TabBar-tabLabel", has_text="Assignments")
            tab.first.wait_for(timeout=30_000)
            # By now the student has fetched and submitted it (the cohort fixture ran first).
            listed = page.locator("#fetched_assignments_list", has_text=ASSIGNMENT)
            listed.wait_for(timeout=60_000)
            submitted = page.locator("#submitted_assignments_list", has_text=ASSIGNMENT)
            page.screenshot(path=str(ARTIFACTS / "hub-assignments-1280.png"))
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.screenshot(path=str(ARTIFACTS / "hub-assignments-1920.png"))
            assert listed.is_visible() and COURSE in listed.inner_text()
            assert "view feedback" in submitted.inner_text()
            assert page.locator(".jp-Dialog, .jp-ErrorPanel").count() == 0
        finally:
            browser.close()


@pytest.mark.slow
def test_the_trial_login_is_refused_off_loopback(hub):
    probe = Hub(hub.root / "probe", hub.roster)
    command = probe.command(ip="0.0.0.0")
    result = subprocess.run(
        command, env=probe.environment(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "the trial (dummy) login is refused on 0.0.0.0" in result.stderr
    # The hub refuses it too, should it be started some other way.
    (probe.root / "state").mkdir(parents=True)
    jupyterhub = [
        str(PREFIX / "bin/jupyterhub"),
        "-f",
        str(REPO_ROOT / "hub/jupyterhub_config.py"),
        "--ip",
        "0.0.0.0",
        "--port",
        str(probe.port),
    ]
    result = subprocess.run(
        jupyterhub,
        cwd=probe.root / "state",
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **probe.environment(),
            "DIALECTIC_HUB_ROOT": str(probe.root),
            "DIALECTIC_HUB_ROSTER": str(hub.roster),
        },
    )
    assert result.returncode != 0
    assert "dummy) authenticator is refused on 0.0.0.0" in result.stdout + result.stderr


# -- Kubernetes (quick): the values file against the Zero to JupyterHub chart's schema ------

K8S = REPO_ROOT / "hub" / "k8s"


def test_values_file_keeps_course_data_out_of_students_servers():
    import yaml

    values = yaml.safe_load((K8S / "values.yaml").read_text(encoding="utf-8"))
    mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert [m["subPath"] for m in mounts] == ["exchange"]
    groups = values["hub"]["config"]["JupyterHub"]["load_groups"]
    for service in values["hub"]["services"]:
        assert f"formgrade-{service}" in groups and f"nbgrader-{service}" in groups
    sidecars = {c["name"]: c for c in values["hub"]["extraContainers"]}
    env = {e["name"]: e.get("value") for e in sidecars["formgrader-psy801"]["env"]}
    assert env["DASK_SCHEDULER"].startswith("tcp://")
    dask = yaml.safe_load((K8S / "dask-values.yaml").read_text(encoding="utf-8"))
    assert dask["worker"]["image"]["repository"] == values["singleuser"]["image"]["name"]
