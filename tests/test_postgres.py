"""The analytics read a PostgreSQL gradebook exactly as they read SQLite.

A throwaway PostgreSQL server (Debian's postgresql, on the machine image) runs on loopback
for this module only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import analytics

pytestmark = pytest.mark.slow
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    assert found, f"PostgreSQL's {name} is missing: install Debian's postgresql package"
    return str(found)


@pytest.fixture(scope="module")
def postgres_url():
    root = Path(tempfile.mkdtemp(prefix="dialectic-pg-"))
    root.chmod(0o755)
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    # initdb refuses to run as root: hand the cluster to the postgres system user
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_owner:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [*as_owner, _tool("initdb"), "-D", str(data), "-A", "trust", "-U", "grader"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_owner,
            _tool("pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {sockets}",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_owner, _tool("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_and_sqlite_gradebooks_read_the_same(postgres_url, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    import report as bench

    lite, pg = tmp_path / "lite", tmp_path / "pg"
    lite.mkdir()
    pg.mkdir()
    bench.build_gradebook(lite, 40, seed=5)
    bench.build_gradebook(pg, 40, seed=5, url=postgres_url)
    from_sqlite = analytics.load_cohort(lite)
    from_postgres = analytics.load_cohort(pg, postgres_url)
    key = ["student_id", "assignment", "grade_id"]
    a = from_sqlite.grades.sort_values(key).reset_index(drop=True)[
        key + ["score", "max_score", "kind"]
    ]
    b = from_postgres.grades.sort_values(key).reset_index(drop=True)[
        key + ["score", "max_score", "kind"]
    ]
    assert len(a) == 40 * a.groupby(["assignment", "grade_id"]).ngroups  # every student, every cell
    assert a.equals(b)
    assert analytics.item_analysis(from_sqlite).equals(analytics.item_analysis(from_postgres))
