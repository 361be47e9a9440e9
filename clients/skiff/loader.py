"""Load a user's app file (`skiff deploy app.py`) as the module the runtime will import it as."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from skiff.app import App
from skiff.exceptions import Error, InvalidRequest


def load_app(path: Path) -> App:
    """Import `path` as the module named by its stem and return the one `skiff.App` defined in it."""
    source = path.resolve()
    if not source.is_file() or source.suffix != ".py":
        raise InvalidRequest(f"{path} is not a Python file; pass the file that defines your skiff.App")
    module_name = source.stem
    if not module_name.isidentifier():
        raise InvalidRequest(
            f"{path.name} cannot be imported as a module; rename it to {module_name.replace('-', '_')}.py"
        )
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) != str(source):
        raise InvalidRequest(f"{path.name} has the name of an installed module ({module_name}); rename the file")
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise InvalidRequest(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    if str(source.parent) not in sys.path:
        sys.path.insert(0, str(source.parent))  # the app's sibling modules import each other
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise Error(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    found = [value for value in vars(module).values() if isinstance(value, App)]
    if len(found) != 1:
        names = ", ".join(repr(app.name) for app in found)
        raise InvalidRequest(f"{path} must define exactly one skiff.App; found {len(found)} {names}".rstrip())
    return found[0]
