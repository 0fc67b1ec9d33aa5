"""What the instructor should hear about a graded submission, and why one failed."""

from __future__ import annotations

from pathlib import Path

#: Errors from student code worth the instructor's eye: the sandbox refusing something, or a limit.
SYSTEM_ERRORS = {
    "OSError",
    "PermissionError",
    "FileNotFoundError",
    "IsADirectoryError",
    "ConnectionError",
    "ConnectionRefusedError",
    "gaierror",
    "MemoryError",
    "BlockingIOError",
}


def run_notes(folder: Path, timeout: int) -> list[str]:
    """Cells of the graded notebooks that timed out or hit the sandbox, for the instructor.

    Ordinary wrong or missing answers (a test cell raising) are the grade itself, not noted.
    """
    import nbformat

    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                name = output.get("ename") if output.get("output_type") == "error" else None
                if name in ("CellTimeoutError", "KeyboardInterrupt"):
                    notes.append(
                        f"{path.name}, {where}: still running after {timeout} s, interrupted"
                    )
                elif name == "HandInError":
                    notes.append(f"{path.name}, {where}: {output.get('evalue')}"[:300])
                elif name in SYSTEM_ERRORS:
                    notes.append(f"{path.name}, {where}: {name}: {str(output.get('evalue'))[:200]}")
    return notes


def failure_reason(log: str) -> str:
    """The most telling lines of a failed nbgrader run."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    telling = [
        line
        for line in lines
        if any(
            k in line
            for k in (
                "Error",
                "error",
                "Exception",
                "not valid",
                "missing",
                "Timeout",
                "timed out",
                "Kernel died",
            )
        )
    ]
    chosen = [line for line in telling if "Please see" not in line and "Traceback" not in line][-3:]
    return " | ".join(chosen or lines[-2:])[:600] or "nbgrader autograde failed without a message"
