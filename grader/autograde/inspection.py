"""Look at a submission before nbgrader does: what makes it ungradable, what to note, what to
repair.

Fatal: a notebook of the assignment missing (renamed?) or not a readable notebook. Noted:
files nbgrader will leave out for their size; test cells edited (nbgrader restores them).
Repaired here, in the scratch copy only, because nbgrader 0.9.6 stops on them (``KeyError``)
and would score the whole submission 0: test cells deleted (put back where the released
notebook has them; jupyter/nbgrader#1682) and grade ids duplicated by copied cells (the
first keeps its id, copies become plain cells; #1083).
"""

from __future__ import annotations

from pathlib import Path

from nbgrader import api
from sqlalchemy import create_engine, select

from grader.autograde.tampering import tampering
from grader.gradecells import without_hidden_tests


def inspect_submission(
    folder: Path, gradebook: Path, assignment: str, max_file_kb: int, release: Path | None = None
) -> tuple[str, list[str]]:
    """Check, and repair in place, a scratch copy of a submission: a reason it cannot be graded ("")
    and notes.

    See the module's docstring for what is fatal, noted and repaired; ``release`` is the
    released copy of the assignment, which says where a deleted test cell stood.
    """
    import nbformat

    engine = create_engine(f"sqlite:///{gradebook}")
    try:
        with engine.connect() as connection:
            expected = (
                connection.execute(
                    select(api.Notebook.name)
                    .join(api.Assignment)
                    .where(api.Assignment.name == assignment)
                )
                .scalars()
                .all()
            )
            locked = connection.execute(
                select(
                    api.Notebook.name,
                    api.SourceCell.name,
                    api.SourceCell.source,
                    api.GradeCell.max_score,
                    api.SourceCell.cell_type,
                )
                .join(api.Notebook, api.SourceCell.notebook_id == api.Notebook.id)
                .join(api.Assignment)
                .join(
                    api.GradeCell,
                    (api.GradeCell.name == api.SourceCell.name)
                    & (api.GradeCell.notebook_id == api.Notebook.id),
                )
                .where(api.Assignment.name == assignment, api.SourceCell.locked.is_(True))
            ).all()
            known = set(
                connection.execute(
                    select(api.Notebook.name, api.SourceCell.name)
                    .join(api.Notebook, api.SourceCell.notebook_id == api.Notebook.id)
                    .join(api.Assignment)
                    .where(api.Assignment.name == assignment)
                ).all()
            )
    finally:
        engine.dispose()
    notes: list[str] = []
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [f"{name}.ipynb" for name in expected if f"{name}.ipynb" not in present]
    if missing:
        extra = [p for p in present if p[:-6] not in expected]
        found = (
            f"; found {', '.join(extra)} instead (renamed?)"
            if extra
            else "; it holds no other notebook"
        )
        return (
            f"missing notebook {', '.join(missing)}{found}. Rename it and regrade with --force.",
            notes,
        )
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.stat().st_size > max_file_kb * 1024:
            notes.append(
                f"{path.relative_to(folder)} is {path.stat().st_size / 1e6:.1f} MB, over the "
                f"course's {max_file_kb} KB limit: nbgrader left it out of grading"
            )
    tests = {
        (nb, cell): (without_hidden_tests(source or ""), points, kind)
        for nb, cell, source, points, kind in locked
    }
    for name in expected:
        path = folder / f"{name}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
            ids = [_grade_id(c) for c in nb.cells]
        except Exception as error:  # noqa: BLE001 - nbformat raises many kinds; all mean unreadable
            return (
                f"{name}.ipynb is not a readable notebook: "
                f"{type(error).__name__}: {str(error)[:300]}",
                notes,
            )
        duplicated = sorted({i for i in ids if i and ids.count(i) > 1})
        if duplicated:
            notes.append(
                f"{name}.ipynb: grade ids used by more than one cell (copied cells?), "
                f"nbgrader grades the first: {', '.join(duplicated)}"
            )
            seen = set()
            for cell in nb.cells:
                grade_id = _grade_id(cell)
                if grade_id in seen:
                    del cell.metadata["nbgrader"]
                seen.add(grade_id)
        added = [
            str(i + 1) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _grade_id(c)
        ]
        if added:
            notes.append(
                f"{name}.ipynb: code cells the release does not have (cell {', '.join(added)}): "
                "they ran in the sandbox like the rest; the grader's scores do not depend on them"
            )
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("solution") or not _grade_id(cell)):
                for finding in tampering(_source(cell)):
                    notes.append(f"{name}.ipynb, cell {index + 1}, {finding}")
        ours = [cell for (nb_name, cell) in tests if nb_name == name]
        unknown = [c for c in nb.cells if _grade_id(c) and (name, _grade_id(c)) not in known]
        if unknown:
            notes.append(
                f"{name}.ipynb: cells with grade ids the assignment does not have (renamed?), "
                f"graded as plain cells: {', '.join(_grade_id(c) for c in unknown)}"
            )
            for cell in unknown:
                del cell.metadata["nbgrader"]
        changed = [
            c
            for c in nb.cells
            if (name, _grade_id(c)) in tests
            and _metadata_changed(c, *tests[(name, _grade_id(c))][1:])
        ]
        if changed:
            notes.append(
                f"{name}.ipynb: test cells whose type, points or grading flags were changed, "
                f"restored from the instructor's copy: {', '.join(_grade_id(c) for c in changed)}"
            )
            for cell in (
                changed
            ):  # nbgrader restores source and points but not the flags (GetGrades then fails)
                _, points, kind = tests[(name, _grade_id(cell))]
                cell.cell_type = kind
                cell.metadata["nbgrader"] = _test_metadata(_grade_id(cell), points)
                if kind == "code":
                    cell.setdefault("outputs", [])
                    cell.setdefault("execution_count", None)
                else:
                    cell.pop("outputs", None)
                    cell.pop("execution_count", None)
        mine = {_grade_id(c): _source(c) for c in nb.cells if _grade_id(c)}
        deleted = [t for t in ours if t not in mine]
        edited = [t for t in ours if t in mine and _lines(mine[t]) != _lines(tests[(name, t)][0])]
        if deleted:
            notes.append(
                f"{name}.ipynb: test cells deleted, restored from the instructor's copy: "
                f"{', '.join(deleted)}"
            )
            released = release / f"{name}.ipynb" if release else None
            _restore(nb, deleted, {t: tests[(name, t)] for t in deleted}, released)
        if edited:
            notes.append(
                f"{name}.ipynb: test cells edited, restored from the instructor's copy: "
                f"{', '.join(edited)}"
            )
        if duplicated or deleted or unknown or changed:
            nbformat.write(nb, path)
    return "", notes


def _restore(nb, deleted: list[str], cells: dict, released: Path | None) -> None:
    """Put deleted test cells back, each after the cell it follows in the released notebook."""
    import nbformat

    order = []
    if released is not None and released.exists():
        order = [_grade_id(c) for c in nbformat.read(released, as_version=4).cells]
    for grade_id in deleted:
        source, points, kind = cells[grade_id]
        cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(
            source
        )
        cell.metadata["nbgrader"] = _test_metadata(grade_id, points)
        position = len(nb.cells)
        if grade_id in order:
            before = [g for g in order[: order.index(grade_id)] if g]
            here = [_grade_id(c) for c in nb.cells]
            for previous in reversed(before):
                if previous in here:
                    position = here.index(previous) + 1
                    break
            else:
                position = 0
        nb.cells.insert(position, cell)


def _test_metadata(grade_id: str, points) -> dict:
    return {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }


def _metadata_changed(cell, points, kind) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    try:
        same_points = float(meta.get("points", -1)) == float(points)
    except (TypeError, ValueError):
        same_points = False
    return (
        cell.cell_type != kind
        or not same_points
        or meta.get("grade") is not True
        or bool(meta.get("solution"))
        or meta.get("locked") is not True
    )


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(source: str) -> list[str]:
    return [line.rstrip() for line in source.splitlines() if line.strip()]
