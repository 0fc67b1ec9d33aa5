"""Static images of an assignment's charts, drawn once per run instead of once per submission.

Graded notebooks and the feedback made from them are read without JavaScript, so every chart
in them needs a static SVG beside its vega-lite spec. A kernel that draws that SVG pays for
starting vl-convert's JavaScript engine: about a fifth of an assignment kernel's CPU time, the
same chart for every student. So for a cohort, the grader runs each assignment's release
notebook once, unsandboxed (it is the instructor's own), records the SVG of every chart it
draws under the hash of the chart's spec, and the kernels that run the submissions leave
their images out (:data:`grader.charts.CHART_IMAGES_ENV`). Before a graded notebook is merged
into the course, the coordinating process gives each of its charts the image recorded for
its spec. The release notebooks run in a background thread (:class:`ReferenceImages`) while
the workers grade, so no worker waits for them.

Only specs the release notebook itself drew get an image: a spec a submission made up is
never rendered outside its sandbox (vega can fetch URLs and read files). Such a chart keeps
its spec, shows no image in the feedback, and the instructor is told.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat

from grader import paths
from grader.charts import CHART_IMAGES_ENV

#: Below this many submissions of an assignment in one run, the kernels draw their own
#: images: the release notebook's extra run would cost more than it saves.
FROM_SUBMISSIONS = 4
SVG = "image/svg+xml"


def spec_key(spec: dict) -> str:
    """A chart's identity: the hash of its spec, keys in a fixed order."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8")).hexdigest()


def _charts(nb) -> list[dict]:
    """Every output of ``nb`` that carries a vega-lite spec."""
    return [
        output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if any(k.startswith("application/vnd.vegalite") for k in output.get("data", {}))
    ]


def _spec(data: dict) -> dict:
    return next(v for k, v in data.items() if k.startswith("application/vnd.vegalite"))


def reference_images(release: Path, student_bank: Path, timeout: int) -> dict[str, str]:
    """Run the release notebooks of one assignment; return {spec key: SVG} of their charts.

    The run sees what a submission's kernel sees (nbgrader's autograde marker, the student
    edition of the bank) so that its charts are the ones an honest submission draws. Item
    cells find no answers here and say so; that does not matter, and errors do not stop it.
    """
    from nbclient import NotebookClient

    images: dict[str, str] = {}
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde", paths.ITEM_BANK_ENV: str(student_bank)}
    env.pop(CHART_IMAGES_ENV, None)
    with tempfile.TemporaryDirectory(prefix="dialectic-charts-") as scratch:
        folder = Path(shutil.copytree(release, Path(scratch) / release.name))
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(folder)}},
            ).execute(env=env)
            for data in _charts(nb):
                if SVG in data:
                    images[spec_key(_spec(data))] = data[SVG]
    return images


def add_images(nb, images: dict[str, str]) -> int:
    """Give each chart of ``nb`` that lacks one the image recorded for its spec.

    Returns how many charts had no recorded image (a chart the release notebook never drew).
    """
    unknown = 0
    for data in _charts(nb):
        if SVG in data:
            continue
        image = images.get(spec_key(_spec(data)))
        if image is None:
            unknown += 1
        else:
            data[SVG] = image
    return unknown


class ReferenceImages:
    """The release notebooks of several assignments, run one after another in a background
    thread; each graded notebook is given its images when it is merged.

    Use as a context manager: leaving it waits for (or, after an error, abandons) the run.
    """

    def __init__(self, course: Path, student_bank: Path, timeout: int):
        self._course, self._bank, self._timeout = course, student_bank, timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-images")
        self._runs: dict[str, Future] = {}

    def draw(self, assignment: str) -> None:
        """Start drawing ``assignment``'s charts (queued behind any assignment before it)."""
        release = self._course / "release" / assignment
        self._runs[assignment] = self._pool.submit(
            reference_images, release, self._bank, self._timeout
        )

    def drawn_for(self, assignment: str) -> bool:
        return assignment in self._runs

    def add_to(self, assignment: str, folder: Path) -> list[str]:
        """Give the charts of every graded notebook in ``folder`` their recorded images.

        Waits for the assignment's release run. Returns notes for the instructor: charts the
        release never drew, or a release run that failed (the charts then keep no image).
        """
        try:
            images = self._runs[assignment].result()
        except Exception as error:  # noqa: BLE001 - the grades stand; only images are missing
            return [
                f"the charts have no static image in feedback: the release notebook of "
                f"{assignment} could not be run to draw them ({type(error).__name__}: {error})"
            ]
        notes = []
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            if not _charts(nb):
                continue  # nothing to add: the graded file stays as the worker wrote it
            unknown = add_images(nb, images)
            if unknown:
                notes.append(
                    f"{path.name}: {unknown} chart(s) that the assignment itself does not draw "
                    "(made by the submission's code) are shown without a static image in "
                    "feedback"
                )
            mode = path.stat().st_mode  # nbgrader leaves graded files read-only (0444)
            path.chmod(mode | stat.S_IWUSR)
            nbformat.write(nb, path)
            path.chmod(mode)
        return notes

    def __enter__(self) -> ReferenceImages:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
