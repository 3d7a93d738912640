"""Resolving `"module:callable"` from an experiment: a module file beside it, else an import.

Used by Python tool results and Python scorers alike. `module` may be dotted (`tools.desk`
is `tools/desk.py` beside the experiment file); when no such file exists it is imported from
the import path. A file module is loaded once per process under a name derived from its path.
Every failure (no such module, no such callable, the module raising on import) is a
ConfigError at the table's key, with the closest callable suggested.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from runner.config.tables import Table, closest


@dataclass(frozen=True)
class Resolved:
    """The callable and, when it came from a file beside the experiment, that file."""

    call: Callable[..., object]
    file: Path | None

    def source_hash(self) -> str:
        """A short hash of the module file's bytes ('' for an imported module)."""
        if self.file is None:
            return ""
        return hashlib.sha256(self.file.read_bytes()).hexdigest()[:16]


def resolve_callable(table: Table, key: str, spec: str, base: Path) -> Resolved:
    """The callable `spec` names, with modules looked for under `base` first."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise table.fail(
            key, f'\'{spec}\' is not of the form "module:callable" (e.g. "tools:lookup").'
        )
    path = base.joinpath(*module_name.split(".")).with_suffix(".py")
    module = _module(table, key, module_name, path)
    found = getattr(module, attribute, None)
    if not callable(found):
        names = [n for n in vars(module) if not n.startswith("_") and callable(vars(module)[n])]
        raise table.fail(
            key,
            f"The module '{module_name}' has no callable '{attribute}'.{closest(attribute, names)}",
        )
    return Resolved(found, path if path.is_file() else None)


def _module(table: Table, key: str, name: str, path: Path) -> ModuleType:
    try:
        if path.is_file():
            return _from_file(name, path)
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise table.fail(
            key,
            f"There is no module '{name}': no {path.name} next to the experiment file "
            "and none on the import path.",
        ) from None
    except Exception as exc:  # the user's module failed to import: a config error, not a crash
        raise table.fail(
            key, f"Importing '{name}' raised {type(exc).__name__}: {exc}; fix the module."
        ) from None


def _from_file(name: str, path: Path) -> ModuleType:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    unique = f"beta_runner_module_{digest}_{name.replace('.', '_')}"
    if unique in sys.modules:
        return sys.modules[unique]
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[unique]
        raise
    return module
