"""`skiff.toml`: parse and validate a bundle's manifest into typed function specs.

Every problem is collected and raised at once as `InvalidManifest`, each issue named by its key
path (`functions.thumbnail.memory`) and, for numbers, the allowed range.
"""

from __future__ import annotations

import difflib
import keyword
import re
import tomllib
from collections.abc import Mapping
from typing import Any

import msgspec

from api.deployments.errors import FieldIssue, InvalidManifest
from api.deployments.image import (
    DEFAULT_PYTHON,
    MAX_REQUIREMENTS,
    ImageSpec,
    base_problem,
    canonical_requirement,
    python_problem,
)
from api.deployments.options import (
    FUNCTION_NUMBERS,
    GpuOption,
    Issues,
    RetryPolicy,
    read_bool,
    read_float,
    read_gpu,
    read_int,
    read_retries,
    type_name,
)

MANIFEST_NAME = "skiff.toml"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_FUNCTIONS = 64
MAX_PRELOADS = 64
MAX_ENV_VARS = 128
MAX_ENV_VALUE_CHARS = 4096
MAX_FUNCTION_SECRETS = 16

_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # like app names
# Set by the agent or the sandbox: a function that overrides them escapes or breaks its container.
RESERVED_ENV = frozenset(
    {
        "PATH", "HOME", "USER", "SHELL", "TMPDIR", "VIRTUAL_ENV",
        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE",
        "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
    }
)  # fmt: skip
RESERVED_ENV_PREFIXES = ("SKIFF_", "LD_")
TOP_LEVEL_KEYS = ("functions",)
FUNCTION_KEYS = (
    "handler", "python", "base", "requirements", "setup", "preload", "env", "gpu", "retries", "zygote",
    "secrets", *FUNCTION_NUMBERS,
)  # fmt: skip


class FunctionSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One deployed function: where its code is, what it runs on, and how it scales."""

    name: str
    handler: str
    image: ImageSpec
    setup: str | None = None
    preload: tuple[str, ...] = ()
    cpu: float = 1.0
    memory: int = 1024
    gpu: tuple[GpuOption, ...] = ()
    timeout: int = 300
    retries: RetryPolicy = RetryPolicy()
    min_containers: int = 0
    max_containers: int = 8
    buffer_containers: int = 0
    max_inputs: int = 1
    scaledown_window: int = 60
    # Calls waiting for a container beyond this are refused with 429: backpressure, not an endless queue.
    max_pending: int = 10_000
    zygote: bool = True
    env: dict[str, str] = msgspec.field(default_factory=dict)
    # Names of the workspace's secrets whose variables the containers get; a later one wins on a shared key.
    secrets: tuple[str, ...] = ()

    @property
    def handler_module(self) -> str:
        return self.handler.partition(":")[0]


class Manifest(msgspec.Struct, frozen=True):
    """The parsed `skiff.toml`: functions by name, in the order they were written."""

    functions: dict[str, FunctionSpec]


def parse_manifest(source: bytes | str) -> Manifest:
    """Parse `skiff.toml`; raises InvalidManifest listing every problem found."""
    raw = source.encode() if isinstance(source, str) else source
    if len(raw) > MAX_MANIFEST_BYTES:
        size_issue = f"is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES} bytes (64 KiB)"
        raise InvalidManifest([FieldIssue(MANIFEST_NAME, size_issue)])
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidManifest([FieldIssue(MANIFEST_NAME, f"is not valid UTF-8 ({exc.reason})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidManifest([FieldIssue(MANIFEST_NAME, f"is not valid TOML: {exc}")]) from None
    issues = Issues()
    functions = _read_functions(document, issues)
    if issues:
        raise InvalidManifest(list(issues))
    return Manifest(functions=functions)


def _read_functions(document: dict[str, Any], issues: Issues) -> dict[str, FunctionSpec]:
    _refuse_unknown_keys(document, TOP_LEVEL_KEYS, "", issues)
    tables = document.get("functions")
    if not isinstance(tables, dict) or not tables:
        issues.add("functions", 'at least one function is required, e.g. [functions.hello] handler = "app:hello"')
        return {}
    if len(tables) > MAX_FUNCTIONS:
        issues.add("functions", f"{len(tables)} functions declared; at most {MAX_FUNCTIONS} are allowed")
        return {}
    functions: dict[str, FunctionSpec] = {}
    for name, table in tables.items():
        path = f"functions.{name}"
        if _FUNCTION_NAME.fullmatch(name) is None:
            rule = "use letters, digits, '_' and '-', starting with a letter (at most 64 characters)"
            issues.add(path, f"function name {name!r} is invalid; {rule}")
            continue
        if not isinstance(table, dict):
            issues.add(path, f"expected a table ([functions.{name}]), got {type_name(table)}")
            continue
        spec = _read_function(name, table, path, issues)
        if spec is not None:
            functions[name] = spec
    return functions


def _read_function(name: str, table: dict[str, Any], path: str, issues: Issues) -> FunctionSpec | None:
    before = len(issues)
    _refuse_unknown_keys(table, FUNCTION_KEYS, path, issues)
    handler = _read_entrypoint(table, "handler", path, issues, required=True)
    setup = _read_entrypoint(table, "setup", path, issues, required=False)
    numbers = {
        key: read_int(table, key, f"{path}.{key}", bound, issues)
        for key, bound in FUNCTION_NUMBERS.items()
        if bound.integer
    }
    low, high = numbers["min_containers"], numbers["max_containers"]
    in_range = FUNCTION_NUMBERS["min_containers"].contains(low) and FUNCTION_NUMBERS["max_containers"].contains(high)
    if in_range and low > high:  # out-of-range values are reported once, above
        message = f"{low} is more than max_containers ({high}); min_containers must be <= max_containers"
        issues.add(f"{path}.min_containers", message)
    spec = FunctionSpec(
        name=name,
        handler=handler or "",
        image=_read_image(table, path, issues),
        setup=setup,
        preload=_read_preload(table, f"{path}.preload", issues),
        gpu=read_gpu(table.get("gpu"), f"{path}.gpu", issues),
        retries=read_retries(table.get("retries"), f"{path}.retries", issues),
        zygote=read_bool(table, "zygote", f"{path}.zygote", True, issues),
        env=_read_env(table.get("env", {}), f"{path}.env", issues),
        secrets=_read_secrets(table.get("secrets", []), f"{path}.secrets", issues),
        cpu=read_float(table, "cpu", f"{path}.cpu", FUNCTION_NUMBERS["cpu"], issues),
        memory=numbers["memory"],
        timeout=numbers["timeout"],
        min_containers=numbers["min_containers"],
        max_containers=numbers["max_containers"],
        buffer_containers=numbers["buffer_containers"],
        max_inputs=numbers["max_inputs"],
        scaledown_window=numbers["scaledown_window"],
        max_pending=numbers["max_pending"],
    )
    return spec if len(issues) == before else None


def _refuse_unknown_keys(table: Mapping[str, Any], allowed: tuple[str, ...], path: str, issues: Issues) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            issues.add(
                path or MANIFEST_NAME,
                f"unknown key {key!r}{hint}; allowed keys: {', '.join(sorted(allowed))}",
            )


def _is_dotted_name(value: str) -> bool:
    return all(_IDENTIFIER.fullmatch(part) and not keyword.iskeyword(part) for part in value.split("."))


def _read_entrypoint(table: dict[str, Any], key: str, path: str, issues: Issues, *, required: bool) -> str | None:
    """`module:function`, with an importable dotted module and a plain function name."""
    value = table.get(key)
    if value is None:
        if required:
            issues.add(f"{path}.{key}", 'is required, e.g. handler = "app:main" (module:function)')
        return None
    module, sep, function = value.partition(":") if isinstance(value, str) else ("", "", "")
    if (
        not isinstance(value, str)
        or not sep
        or not _is_dotted_name(module)
        or not _is_dotted_name(function)
        or ("." in function)
    ):
        issues.add(f"{path}.{key}", f'{value!r} is not of the form module:function, e.g. "images:thumbnail"')
        return None
    return value


def _read_image(table: dict[str, Any], path: str, issues: Issues) -> ImageSpec:
    python, base = table.get("python"), table.get("base")
    if python is not None and base is not None:
        issues.add(path, "set either python or base, not both: a base environment brings its own Python")
    for key, value, check in (("python", python, python_problem), ("base", base, base_problem)):
        if value is not None and not isinstance(value, str):
            hint = " (quote it: 3.10 written as a number is 3.1)" if isinstance(value, float) else ""
            issues.add(f"{path}.{key}", f"expected a string, got {type_name(value)}{hint}")
        elif isinstance(value, str) and (problem := check(value)):
            issues.add(f"{path}.{key}", problem)
    requirements = _read_requirements(table.get("requirements", []), f"{path}.requirements", issues)
    if base is not None:
        return ImageSpec(base=base if isinstance(base, str) else None, requirements=requirements)
    return ImageSpec(python=python if isinstance(python, str) else DEFAULT_PYTHON, requirements=requirements)


def _read_requirements(value: object, path: str, issues: Issues) -> tuple[str, ...]:
    if not isinstance(value, list):
        issues.add(path, f"expected a list of strings, got {type_name(value)}")
        return ()
    if len(value) > MAX_REQUIREMENTS:
        issues.add(path, f"{len(value)} requirements; at most {MAX_REQUIREMENTS} are allowed")
        return ()
    canonical: set[str] = set()
    for index, line in enumerate(value):
        if not isinstance(line, str):
            issues.add(f"{path}[{index}]", f"expected a string, got {type_name(line)}")
            continue
        try:
            canonical.add(canonical_requirement(line))
        except ValueError as exc:
            issues.add(f"{path}[{index}]", str(exc))
    return tuple(sorted(canonical))


def _read_preload(table: dict[str, Any], path: str, issues: Issues) -> tuple[str, ...]:
    value = table.get("preload", [])
    if not isinstance(value, list) or len(value) > MAX_PRELOADS:
        issues.add(path, f'expected a list of at most {MAX_PRELOADS} module names, e.g. ["numpy", "torch"]')
        return ()
    modules: list[str] = []
    for index, module in enumerate(value):
        if not isinstance(module, str) or not _is_dotted_name(module):
            issues.add(f"{path}[{index}]", f'{module!r} is not a module name such as "numpy" or "pkg.mod"')
        elif module not in modules:
            modules.append(module)
    return tuple(modules)


def _read_secrets(value: object, path: str, issues: Issues) -> tuple[str, ...]:
    """Secret names only: whether they exist is known when a container starts (one may be created later)."""
    if not isinstance(value, list) or len(value) > MAX_FUNCTION_SECRETS:
        issues.add(path, f'expected a list of at most {MAX_FUNCTION_SECRETS} secret names, e.g. ["db", "openai"]')
        return ()
    names: list[str] = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or _SECRET_NAME.fullmatch(name) is None:
            rule = "lowercase letters, digits and '-', starting with a letter or digit (at most 63 characters)"
            issues.add(f"{path}[{index}]", f"{name!r} is not a secret name: {rule}")
        elif name not in names:
            names.append(name)
    return tuple(names)


def _read_env(value: object, path: str, issues: Issues) -> dict[str, str]:
    if not isinstance(value, dict):
        issues.add(path, f'expected a table such as {{ LOG_LEVEL = "info" }}, got {type_name(value)}')
        return {}
    if len(value) > MAX_ENV_VARS:
        issues.add(path, f"{len(value)} variables; at most {MAX_ENV_VARS} are allowed")
        return {}
    env: dict[str, str] = {}
    for name, text in value.items():
        if problem := env_name_problem(name):
            issues.add(f"{path}.{name}", problem)
        elif not isinstance(text, str):
            issues.add(f"{path}.{name}", f"expected a string, got {type_name(text)}; quote the value")
        elif len(text) > MAX_ENV_VALUE_CHARS or "\x00" in text:
            issues.add(f"{path}.{name}", f"value must be at most {MAX_ENV_VALUE_CHARS} characters without NUL")
        else:
            env[name] = text
    return env


def env_name_problem(name: str) -> str | None:
    if _ENV_NAME.fullmatch(name) is None:
        return f"{name!r} is not a valid variable name; use letters, digits and '_', not starting with a digit"
    if name.upper().startswith(RESERVED_ENV_PREFIXES):
        prefixes = " or ".join(RESERVED_ENV_PREFIXES)
        return f"{name!r} is reserved: names starting with {prefixes} belong to Skiff and the dynamic loader"
    if name.upper() in RESERVED_ENV:
        return f"{name!r} is reserved: the sandbox sets it; reserved names: {', '.join(sorted(RESERVED_ENV))}"
    return None
