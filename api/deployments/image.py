"""A function's environment: Python version or node-provided base, plus pip requirements.

The image spec is canonical (normalised, sorted requirements) so that equal environments hash to
the same `image_key`, which agents use to build an environment once per node and reuse it.
"""

from __future__ import annotations

import hashlib
import re

import msgspec
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

IMAGE_SPEC_VERSION = 1  # bump when the canonical form changes, so old cache keys stop matching
DEFAULT_PYTHON = "3.11"
PYTHON_MINORS = range(9, 15)  # the in-sandbox runtime supports Python >= 3.9
MAX_REQUIREMENTS = 200
MAX_REQUIREMENT_CHARS = 1000

_PYTHON = re.compile(r"3\.(\d{1,2})")
_BASE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")


class ImageSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What an environment is built from: exactly one of `python` or `base`, plus requirements."""

    python: str | None = None
    base: str | None = None
    requirements: tuple[str, ...] = ()


def image_key(spec: ImageSpec) -> str:
    """sha256 hex of the spec's canonical JSON: the environment cache key on every node."""
    document = {
        "version": IMAGE_SPEC_VERSION,
        "python": spec.python,
        "base": spec.base,
        "requirements": sorted(set(spec.requirements)),
    }
    return hashlib.sha256(msgspec.json.encode(document, order="sorted")).hexdigest()


def python_problem(version: str) -> str | None:
    """Why `version` is not an allowed `python` value, or None when it is."""
    match = _PYTHON.fullmatch(version)
    if match is None or int(match.group(1)) not in PYTHON_MINORS:
        return (
            f"{version!r} is not a supported Python version; "
            f'allowed 3.{PYTHON_MINORS.start}..3.{PYTHON_MINORS.stop - 1} written as "3.N"'
        )
    return None


def base_problem(name: str) -> str | None:
    """Why `name` is not a valid node-provided base environment name, or None."""
    if _BASE.fullmatch(name) is None:
        return (
            f"{name!r} is not a valid base name; use lower-case letters, digits, '.', '_' and '-' "
            '(at most 64 characters), e.g. "torch"'
        )
    return None


def canonical_requirement(line: str) -> str:
    """The normal form of one PEP 508 requirement; raises ValueError naming what is refused."""
    text = line.strip()
    if not text:
        raise ValueError("empty requirement")
    if len(text) > MAX_REQUIREMENT_CHARS:
        raise ValueError(f"requirement is longer than {MAX_REQUIREMENT_CHARS} characters")
    if text.startswith("-"):
        raise ValueError(
            f"{text!r}: pip options (-e, -r, --index-url, --extra-index-url, -f, ...) are not allowed; "
            'list plain requirements such as "pillow>=10"'
        )
    if any(ord(ch) < 0x20 for ch in text) or "#" in text:
        raise ValueError(f"{text[:80]!r}: one requirement per entry, without comments or line breaks")
    _refuse_non_index_source(text)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(f"{text!r} is not a PEP 508 requirement ({reason})") from None
    if req.url is not None:
        raise ValueError(
            f"{text!r}: direct URL references are not allowed; "
            "publish the package to an index or put its code in the bundle"
        )
    extras = f"[{','.join(sorted(canonicalize_name(e) for e in req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker is not None else ""
    return f"{canonicalize_name(req.name)}{extras}{req.specifier}{marker}"


def _refuse_non_index_source(text: str) -> None:
    """Local paths and VCS/URL sources install code the deploy never saw."""
    lowered = text.lower()
    if "file:" in lowered:
        raise ValueError(f"{text!r}: file: URLs are not allowed; put local code in the bundle instead")
    if lowered.startswith(_VCS_PREFIXES) or "://" in lowered:
        raise ValueError(
            f"{text!r}: VCS and URL sources are not allowed; "
            "publish the package to an index or put its code in the bundle"
        )
    if text.startswith((".", "/", "~")) or "\\" in text or lowered.endswith(_ARCHIVE_SUFFIXES):
        raise ValueError(f"{text!r}: local paths are not allowed; put local code in the bundle instead")
