"""Heavy libraries wait until they are used, so a module's first cell returns at once."""

from __future__ import annotations

import json
import subprocess
import sys

from grader.lazy import LazyModule, lazy_import

HEAVY = ("pandas", "numpy", "altair", "jsonschema", "vl_convert")


def _imported_after(code: str) -> dict:
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_first_cells_of_the_modules_import_no_heavy_library():
    imported = _imported_after(
        "from grader.widgets import ChoiceItem, SpectrumItem\nfrom grader import charts, progress"
    )
    assert not any(imported.values()), imported


def test_a_chart_imports_altair_with_the_course_renderer():
    imported = _imported_after(
        "from grader import charts\nimport altair\n"
        "charts.alliance_variance()\nassert altair.renderers.active == charts.RENDERER"
    )
    assert imported["altair"] and imported["pandas"]


def test_importing_the_chart_modules_switches_no_renderer():
    """The renderer is switched by drawing a chart, or by asking for it: never by an import."""
    _imported_after(
        "import altair\nfrom grader import charts, cohort_view, progress\nassert "
        "altair.renderers.active == 'default', altair.renderers.active\nwith "
        "charts.use_course_renderer():\n    assert altair.renderers.active == "
        "charts.RENDERER\nassert altair.renderers.active == "
        "'default'\ncohort_view.module_progress\nassert altair.renderers.active == 'default'"
    )


def test_lazy_module_imports_on_first_use_and_runs_its_hook_once():
    seen = []
    module = lazy_import("email.mime.audio", then=seen.append)  # not imported by pytest itself
    assert isinstance(module, LazyModule) and seen == []
    assert module.MIMEAudio.__name__ == "MIMEAudio"
    assert module.MIMEAudio is sys.modules["email.mime.audio"].MIMEAudio
    assert [m.__name__ for m in seen] == ["email.mime.audio"]


def test_an_imported_module_is_returned_as_it_is():
    seen = []
    assert lazy_import("json", then=seen.append) is json and seen == [json]
