"""Name, for the instructor, code in a submission that reaches into the interpreter.

This decides no score: scores are computed where submission code cannot reach
(:mod:`.trusted`). It tells the instructor which cell tried, so an attempt is seen, not
only defeated. It reads the student's own code (answer cells and added cells) as text.
"""

from __future__ import annotations

import ast
import builtins

#: Modules whose attributes a submission has no business replacing.
WATCHED = {
    "builtins",
    "sys",
    "grader",
    "pandas",
    "numpy",
    "IPython",
    "importlib",
    "nbformat",
    "json",
    "os",
}
SHADOWED = {name for name in dir(builtins) if not name.startswith("_")}


def tampering(source: str) -> list[str]:
    """What in ``source`` reaches into the interpreter, each with its line."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    modules, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {
                (a.asname or a.name).split(".")[0]: a.name.split(".")[0] for a in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules |= {(a.asname or a.name): node.module.split(".")[0] for a in node.names}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = _root(target)
                if (
                    isinstance(target, (ast.Attribute, ast.Subscript))
                    and modules.get(root) in WATCHED
                ):
                    found.append(
                        f"line {line}: replaces part of {modules[root]} "
                        f"({ast.unparse(target)[:60]})"
                    )
                elif isinstance(target, ast.Name) and target.id in SHADOWED:
                    found.append(f"line {line}: shadows the built-in {target.id}")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in SHADOWED:
            found.append(f"line {line}: shadows the built-in {node.name}")
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if (
                name in ("setattr", "delattr")
                and node.args
                and modules.get(_root(node.args[0])) in WATCHED
            ):
                found.append(f"line {line}: {name} on {modules[_root(node.args[0])]}")
            elif (
                name.endswith(("events.register", "set_hook", "register_post_execute"))
                or name == "get_ipython"
            ):
                found.append(f"line {line}: reaches into IPython ({name})")
        elif isinstance(node, ast.Attribute) and node.attr in (
            "meta_path",
            "path_hooks",
            "modules",
            "__builtins__",
            "displayhook",
            "excepthook",
            "showtraceback",
        ):
            found.append(f"line {line}: touches {ast.unparse(node)[:60]}")
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            found.append(f"line {line}: touches __builtins__")
    return sorted(set(found), key=lambda s: int(s.split()[1].rstrip(":")))


def _root(node) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else ""
