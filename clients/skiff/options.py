"""A function's options (`@app.function(gpu=..., memory=...)`), checked when the function is decorated.

The ranges are the server's (`skiff.toml` is checked again on deploy); a value out of range fails
at decoration time with the allowed range in the message, as the server would say it.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skiff.exceptions import FieldError, InvalidRequest
from skiff.schedules import Schedule, schedule_problems
from skiff.secrets import SECRET_NAME, Secret


@dataclass(frozen=True)
class Bound:
    """The allowed closed range of a numeric option, and its unit."""

    low: float
    high: float
    unit: str
    integer: bool = True

    def describe(self) -> str:
        low, high = (int(self.low), int(self.high)) if self.integer else (self.low, self.high)
        return f"allowed {low}..{high} ({self.unit})"


# The server's ranges (api/deployments/options.py), copied: the SDK never imports the server.
FUNCTION_NUMBERS: dict[str, Bound] = {
    "cpu": Bound(0.125, 64, "CPU cores", integer=False),
    "memory": Bound(128, 262_144, "MiB"),
    "timeout": Bound(1, 86_400, "seconds per attempt"),
    "min_containers": Bound(0, 1000, "containers"),
    "max_containers": Bound(1, 1000, "containers"),
    "buffer_containers": Bound(0, 100, "containers"),
    "max_inputs": Bound(1, 1000, "concurrent inputs per container"),
    "scaledown_window": Bound(2, 86_400, "seconds"),
    "max_pending": Bound(1, 1_000_000, "queued calls"),
}
RETRY_NUMBERS: dict[str, Bound] = {
    "max_retries": Bound(0, 10, "retries"),
    "backoff_coefficient": Bound(1.0, 10.0, "multiplier", integer=False),
    "initial_delay": Bound(0.0, 60.0, "seconds", integer=False),
    "max_delay": Bound(1.0, 3600.0, "seconds", integer=False),
}
PYTHON_MINORS = range(9, 15)
MAX_GPU_OPTIONS = 8
GPU_COUNTS = range(1, 9)
MAX_REQUIREMENTS = 200
MAX_ENV_VARS = 128
MAX_ENV_VALUE_CHARS = 4096
MAX_PRELOADS = 64
MAX_FUNCTION_SECRETS = 16
RESERVED_ENV = frozenset(
    {
        "PATH", "HOME", "USER", "SHELL", "TMPDIR", "VIRTUAL_ENV",
        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE",
        "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
    }
)  # fmt: skip
RESERVED_ENV_PREFIXES = ("SKIFF_", "LD_")

FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_PYTHON = re.compile(r"3\.(\d{1,2})")
_BASE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_GPU_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Image:
    """The environment a function runs in: a Python version or a node-provided base, plus pip packages."""

    python: str | None = None
    pip: Sequence[str] = ()
    base: str | None = None

    def problems(self, path: str) -> list[FieldError]:
        found: list[FieldError] = []
        if self.python is not None and self.base is not None:
            found.append(FieldError(path, "set either python or base, not both: a base brings its own Python"))
        if self.python is not None:
            match = _PYTHON.fullmatch(self.python) if isinstance(self.python, str) else None
            if match is None or int(match.group(1)) not in PYTHON_MINORS:
                allowed = f'allowed 3.{PYTHON_MINORS.start}..3.{PYTHON_MINORS.stop - 1} written as "3.N"'
                found.append(FieldError(f"{path}.python", f"{self.python!r} is not a supported Python; {allowed}"))
        if self.base is not None and not (isinstance(self.base, str) and _BASE.fullmatch(self.base)):
            rule = "use lower-case letters, digits, '.', '_' and '-' (at most 64 characters), e.g. \"torch\""
            found.append(FieldError(f"{path}.base", f"{self.base!r} is not a valid base name; {rule}"))
        if isinstance(self.pip, str) or len(self.pip) > MAX_REQUIREMENTS:
            found.append(FieldError(f"{path}.pip", f"expected a list of at most {MAX_REQUIREMENTS} requirements"))
            return found
        for index, line in enumerate(self.pip):
            if not isinstance(line, str) or not line.strip():
                found.append(FieldError(f"{path}.pip[{index}]", f"{line!r} is not a requirement such as 'pillow>=10'"))
            elif line.strip().startswith("-"):
                found.append(FieldError(f"{path}.pip[{index}]", f"{line!r}: pip options are not allowed"))
        return found


@dataclass(frozen=True)
class Retries:
    """How failed attempts are retried: exponential backoff from `initial_delay` up to `max_delay`."""

    max_retries: int
    backoff_coefficient: float = 2.0
    initial_delay: float = 1.0
    max_delay: float = 60.0

    def problems(self, path: str) -> list[FieldError]:
        found = [
            problem
            for key, bound in RETRY_NUMBERS.items()
            if (problem := number_problem(getattr(self, key), f"{path}.{key}", bound)) is not None
        ]
        if not found and self.initial_delay > self.max_delay:
            message = f"{self.initial_delay} is more than max_delay ({self.max_delay})"
            found.append(FieldError(f"{path}.initial_delay", message))
        return found

    def to_manifest(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "backoff_coefficient": float(self.backoff_coefficient),
            "initial_delay": float(self.initial_delay),
            "max_delay": float(self.max_delay),
        }


@dataclass(frozen=True)
class FunctionOptions:
    """What `@app.function(...)` was given; None means the server's default."""

    image: Image | None = None
    gpu: str | Sequence[str] | None = None
    cpu: float | None = None
    memory: int | None = None
    timeout: int | None = None
    retries: int | Retries | None = None
    min_containers: int | None = None
    max_containers: int | None = None
    buffer_containers: int | None = None
    max_inputs: int | None = None
    scaledown_window: int | None = None
    max_pending: int | None = None
    preload: Sequence[str] = ()
    zygote: bool | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    setup: str | Callable[..., Any] | None = None
    secrets: Sequence[Secret | str] = ()
    schedule: Schedule | None = None  # not in skiff.toml: applied through the schedules API after a deploy

    def problems(self, path: str) -> list[FieldError]:
        """Every problem with these options, each named by its `skiff.toml` key path."""
        found = [
            problem
            for key, bound in FUNCTION_NUMBERS.items()
            if (value := getattr(self, key)) is not None
            and (problem := number_problem(value, f"{path}.{key}", bound)) is not None
        ]
        low, high = self.min_containers, self.max_containers
        if not found and low is not None and high is not None and low > high:
            message = f"{low} is more than max_containers ({high}); min_containers must be <= max_containers"
            found.append(FieldError(f"{path}.min_containers", message))
        if self.image is not None:
            found += self.image.problems(path)
        found += gpu_problems(self.gpu, f"{path}.gpu")
        found += _retries_problems(self.retries, f"{path}.retries")
        found += _env_problems(self.env, f"{path}.env")
        found += _preload_problems(self.preload, f"{path}.preload")
        found += _secrets_problems(self.secrets, f"{path}.secrets")
        found += schedule_problems(self.schedule, f"{path}.schedule")
        zygote: object = self.zygote  # typed bool, but callers may pass anything
        if zygote is not None and not isinstance(zygote, bool):
            found.append(FieldError(f"{path}.zygote", f"expected True or False, got {zygote!r}"))
        if isinstance(self.setup, str) and not is_entrypoint(self.setup):
            message = f"{self.setup!r} is not of the form module:function, e.g. 'models:load_weights'"
            found.append(FieldError(f"{path}.setup", message))
        return found

    def to_manifest(self) -> dict[str, Any]:
        """The `[functions.NAME]` keys these options set (handler and setup are added by the caller)."""
        table: dict[str, Any] = {}
        if self.image is not None:
            if self.image.python is not None:
                table["python"] = self.image.python
            if self.image.base is not None:
                table["base"] = self.image.base
            if self.image.pip:
                table["requirements"] = list(self.image.pip)
        for key, bound in FUNCTION_NUMBERS.items():
            value = getattr(self, key)
            if value is not None:
                table[key] = int(value) if bound.integer else float(value)
        if self.gpu is not None:
            table["gpu"] = self.gpu if isinstance(self.gpu, str) else list(self.gpu)
        if isinstance(self.retries, Retries):
            table["retries"] = self.retries.to_manifest()
        elif self.retries is not None:
            table["retries"] = self.retries
        if self.preload:
            table["preload"] = list(self.preload)
        if self.zygote is not None:
            table["zygote"] = self.zygote
        if self.env:
            table["env"] = dict(self.env)
        return table | _secrets_table(self.secrets)


def number_problem(value: object, path: str, bound: Bound) -> FieldError | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or (bound.integer and not isinstance(value, int)):
        kind = "an integer" if bound.integer else "a number"
        return FieldError(path, f"expected {kind}, got {type(value).__name__} {value!r}; {bound.describe()}")
    if not bound.low <= value <= bound.high:  # NaN fails this too
        return FieldError(path, f"{value} is out of range; {bound.describe()}")
    return None


def gpu_problems(value: object, path: str) -> list[FieldError]:
    """`"H100"`, `"H100:2"`, `"any"`, or a list of them in order of preference."""
    if value is None:
        return []
    if isinstance(value, str):
        return _gpu_item_problems(value, path)
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_GPU_OPTIONS:
        forms = f'"MODEL", "MODEL:COUNT", "any" or a list of 1..{MAX_GPU_OPTIONS} of them, e.g. ["H100", "A100-80GB"]'
        return [FieldError(path, f"expected {forms}; got {value!r}")]
    found: list[FieldError] = []
    for index, item in enumerate(value):
        found += _gpu_item_problems(item, f"{path}[{index}]")
    return found


def _gpu_item_problems(item: object, path: str) -> list[FieldError]:
    if not isinstance(item, str):
        return [FieldError(path, f'expected a string such as "H100" or "H100:2", got {item!r}')]
    model, sep, count = item.partition(":")
    if _GPU_MODEL.fullmatch(model) is None:
        return [FieldError(path, f'{item!r} is not a GPU request; use "MODEL", "MODEL:COUNT" or "any", e.g. "H100:2"')]
    if sep and not (count.isdigit() and len(count) <= 3 and int(count) in GPU_COUNTS):
        allowed = f"allowed {GPU_COUNTS.start}..{GPU_COUNTS.stop - 1}"
        return [FieldError(path, f"GPU count {count!r} is out of range; {allowed}")]
    return []


def _retries_problems(value: object, path: str) -> list[FieldError]:
    if value is None:
        return []
    if isinstance(value, Retries):
        return value.problems(path)
    if isinstance(value, int) and not isinstance(value, bool):
        problem = number_problem(value, path, RETRY_NUMBERS["max_retries"])
        return [problem] if problem else []
    return [FieldError(path, f"expected an integer or skiff.Retries(max_retries=...), got {value!r}")]


def _env_problems(env: object, path: str) -> list[FieldError]:
    if not isinstance(env, Mapping) or len(env) > MAX_ENV_VARS:
        return [FieldError(path, f"expected a dict of at most {MAX_ENV_VARS} names to string values")]
    found: list[FieldError] = []
    for name, text in env.items():
        if not isinstance(name, str) or _ENV_NAME.fullmatch(name) is None:
            found.append(FieldError(f"{path}.{name}", f"{name!r} is not a valid variable name"))
        elif name.upper().startswith(RESERVED_ENV_PREFIXES) or name.upper() in RESERVED_ENV:
            found.append(FieldError(f"{path}.{name}", f"{name!r} is reserved: Skiff or the sandbox sets it"))
        elif not isinstance(text, str) or len(text) > MAX_ENV_VALUE_CHARS or "\x00" in text:
            message = f"expected a string of at most {MAX_ENV_VALUE_CHARS} characters without NUL"
            found.append(FieldError(f"{path}.{name}", message))
    return found


def _preload_problems(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) > MAX_PRELOADS:
        return [FieldError(path, f'expected a list of at most {MAX_PRELOADS} module names, e.g. ["numpy", "torch"]')]
    return [
        FieldError(f"{path}[{index}]", f'{module!r} is not a module name such as "numpy" or "pkg.mod"')
        for index, module in enumerate(value)
        if not (isinstance(module, str) and is_dotted_name(module))
    ]


def _secrets_table(secrets: Sequence[Secret | str]) -> dict[str, Any]:
    names = [s.name if isinstance(s, Secret) else s for s in secrets]
    return {"secrets": list(dict.fromkeys(names))} if names else {}


def _secrets_problems(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str | Secret) or not isinstance(value, Sequence) or len(value) > MAX_FUNCTION_SECRETS:
        example = '[skiff.Secret.from_name("db")]'
        return [FieldError(path, f"expected a list of at most {MAX_FUNCTION_SECRETS} secrets, e.g. {example}")]
    return [
        FieldError(f"{path}[{index}]", f"{item!r} is not a secret: use skiff.Secret.from_name(NAME) or the name")
        for index, item in enumerate(value)
        if not isinstance(item, Secret) and not (isinstance(item, str) and SECRET_NAME.fullmatch(item))
    ]


def is_dotted_name(value: str) -> bool:
    return all(_IDENTIFIER.fullmatch(part) and not keyword.iskeyword(part) for part in value.split("."))


def is_entrypoint(value: str) -> bool:
    module, sep, function = value.partition(":")
    return bool(sep) and is_dotted_name(module) and _IDENTIFIER.fullmatch(function) is not None


def check(problems: list[FieldError], what: str) -> None:
    """Raise `InvalidRequest` listing every problem, if there are any."""
    if problems:
        raise InvalidRequest(f"invalid options for {what}:", errors=problems)
