"""Heavy libraries imported on first use, so that a notebook's first cell returns at once.

A course module's first cell imports the widgets and the charts. pandas, altair (whose
jsonschema import alone builds dozens of grammars) and vl-convert take seconds to import
and are needed only when an item or a chart is drawn, so those modules bind them with
:func:`lazy_import` instead of ``import``.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Callable


class LazyModule(types.ModuleType):
    """Stands in for a module and imports it when one of its attributes is first read."""

    def __init__(
        self,
        name: str,
        then: Callable[[types.ModuleType], None] | None = None,
        before: Callable[[], None] | None = None,
    ):
        super().__init__(name)
        self._then = then
        self._before = before
        self._module: types.ModuleType | None = None
        self._lock = threading.Lock()

    def _load(self) -> types.ModuleType:
        with self._lock:
            if self._module is None:
                if self._before is not None:
                    self._before()
                module = importlib.import_module(self.__name__)
                if self._then is not None:
                    self._then(module)
                # later reads find the attributes here and skip __getattr__
                self.__dict__.update(
                    {k: v for k, v in vars(module).items() if not k.startswith("__")}
                )
                self._module = module
        return self._module

    def __getattr__(self, attribute: str):
        return getattr(self._load(), attribute)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self.__name__!r}, {state}>"


def lazy_import(
    name: str,
    then: Callable[[types.ModuleType], None] | None = None,
    before: Callable[[], None] | None = None,
) -> types.ModuleType:
    """The module ``name``, imported when first used; ``before()`` runs just before that
    import and ``then(module)`` once after it.

    A module that is already imported costs nothing to use, so it is returned (after
    ``then``) at once: whatever ``then`` sets up is then in place from this call on.
    """
    if name in sys.modules:
        module = sys.modules[name]
        if then is not None:
            then(module)
        return module
    return LazyModule(name, then, before)


def skip_iri_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax``, which builds a parser for 2 s.

    jsonschema imports it, if it is installed (jupyter-events has it installed), only to
    check the "iri" and "iri-reference" string formats. No vega-lite spec and no Jupyter
    server event schema uses them, and altair checks no formats, yet the import was half of
    drawing a module's first chart in a kernel, and a third of JupyterLab's start. A process
    that has already imported jsonschema is left as it is.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # None: "import rfc3987_syntax" fails
