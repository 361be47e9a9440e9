"""Bundles that should pass: formats, digests, the wrapping directory, handler checks, extraction."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from api.deployments.bundle import extract_bundle, inspect_bundle
from api.deployments.errors import InvalidBundle, InvalidManifest
from api.deployments.members import ArchiveMember, MemberKind
from tests.api.deployments.factories import MANIFEST, Entry, bundle, entries, good_files

FORMATS = ["tar.gz", "tar", "zip"]


def build(fmt: str, files: dict[str, bytes]) -> bytes:
    return bundle(fmt, entries(files))


def problems_of(fmt: str, files: dict[str, bytes]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidBundle) as caught:
        inspect_bundle(io.BytesIO(build(fmt, files)))
    assert caught.value.status == 422
    return [(issue.field, issue.message) for issue in caught.value.errors]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_good_bundle_is_described(fmt: str) -> None:
    data = build(fmt, good_files())
    info = inspect_bundle(io.BytesIO(data))
    assert info.digest == hashlib.sha256(data).hexdigest()
    assert (info.format, info.compressed_bytes, info.root) == (fmt, len(data), "")
    assert info.members == (
        ArchiveMember("skiff.toml", MemberKind.FILE, len(MANIFEST)),
        ArchiveMember("images.py", MemberKind.FILE, len(good_files()["images.py"])),
        ArchiveMember("utils/__init__.py", MemberKind.FILE, 0),
        ArchiveMember("utils/text.py", MemberKind.FILE, len(good_files()["utils/text.py"])),
    )
    assert info.uncompressed_bytes == sum(len(v) for v in good_files().values())
    assert info.manifest.functions["thumbnail"].image.requirements == ("pillow>=10",)
    assert info.warnings == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_identical_bundles_have_identical_digests(fmt: str) -> None:
    first, second = build(fmt, good_files()), build(fmt, good_files())
    assert first == second
    assert inspect_bundle(io.BytesIO(first)).digest == inspect_bundle(io.BytesIO(second)).digest
    changed = build(fmt, {**good_files(), "images.py": b"def thumbnail(p):\n    return None\n"})
    assert inspect_bundle(io.BytesIO(changed)).digest != inspect_bundle(io.BytesIO(first)).digest


def test_the_format_comes_from_magic_bytes_not_from_a_name() -> None:
    formats = {fmt: inspect_bundle(io.BytesIO(build(fmt, good_files()))).format for fmt in FORMATS}
    assert formats == {"tar.gz": "tar.gz", "tar": "tar", "zip": "zip"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("prefix", ["app/", "./app/", "./"])
def test_one_wrapping_directory_becomes_the_root(fmt: str, prefix: str) -> None:
    wrapped = [Entry(prefix.rstrip("/") or ".", kind="dir", mode=0o755)]
    wrapped += [Entry(prefix + name, data) for name, data in good_files().items()]
    info = inspect_bundle(io.BytesIO(bundle(fmt, wrapped)))
    assert info.root == ("app/" if "app" in prefix else "")
    assert [m.path for m in info.members if m.kind is MemberKind.FILE] == list(good_files())


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_a_manifest_the_top_level_entries_are_listed(fmt: str) -> None:
    files = {"a/skiff.toml": MANIFEST, "b/images.py": b""}
    assert problems_of(fmt, files) == [
        (
            "bundle",
            "skiff.toml not found at the bundle root or inside a single top-level directory; top-level entries: a, b",
        )
    ]
    assert "top-level entries: images.py" in problems_of(fmt, {"images.py": b""})[0][1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_problems_come_through_as_invalid_manifest(fmt: str) -> None:
    with pytest.raises(InvalidManifest) as caught:
        inspect_bundle(io.BytesIO(build(fmt, {**good_files(), "skiff.toml": b"[functions.f]\nmemory = 1\n"})))
    assert [i.field for i in caught.value.errors] == ["functions.f.handler", "functions.f.memory"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missing_handler_module_lists_the_modules_found(fmt: str) -> None:
    files = {"skiff.toml": MANIFEST, "app.py": b"", "utils/__init__.py": b"", "data/x.json": b"{}"}
    assert problems_of(fmt, files) == [
        (
            "functions.thumbnail.handler",
            "function 'thumbnail': handler module 'images' not found in bundle; modules found: app, utils",
        )
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_handler_problem_is_reported_at_once(fmt: str) -> None:
    manifest = (
        b'[functions.a]\nhandler = "missing:run"\n'
        b'[functions.b]\nhandler = "broken:run"\nsetup = "nowhere:warm"\n'
        b'[functions.c]\nhandler = "images:nothing_here"\n'
    )
    files = {"skiff.toml": manifest, "images.py": b"def thumbnail(p):\n    return p\n", "broken.py": b"def run(:\n"}
    assert problems_of(fmt, files) == [
        (
            "functions.a.handler",
            "function 'a': handler module 'missing' not found in bundle; modules found: broken, images",
        ),
        ("functions.b.handler", "broken.py:1: SyntaxError: invalid syntax: def run(:"),
        (
            "functions.b.setup",
            "function 'b': setup module 'nowhere' not found in bundle; modules found: broken, images",
        ),
        (
            "functions.c.handler",
            "function 'c': images.py defines no top-level 'nothing_here'; names defined: thumbnail",
        ),
    ]


@pytest.mark.parametrize(
    ("source", "python", "error"),
    [
        (
            b"def thumbnail(p):\n    return p\n\n\nreturn 5\n",
            "3.11",
            "images.py:5: SyntaxError: 'return' outside function",
        ),
        (b"x = 1\nif x\n    pass\n", "3.11", "images.py:2: SyntaxError: expected ':'"),
        (
            b"def thumbnail(p):\n    match p:\n        case _:\n            return p\n",
            "3.9",
            "images.py:4: SyntaxError: Pattern matching is only supported in Python 3.10",
        ),
        (
            b"def thumbnail(p):\n\treturn p\n        pass\n",
            "3.11",
            "images.py:3: SyntaxError: inconsistent use of tabs",
        ),
        (b"def thumbnail(p):\n    return p\x00\n", "3.11", "images.py: cannot be compiled"),
    ],
    ids=["return-outside-function", "missing-colon", "match-before-3.10", "bad-indent", "nul-byte"],
)
def test_syntax_errors_name_file_and_line(source: bytes, python: str, error: str) -> None:
    manifest = f'[functions.thumbnail]\nhandler = "images:thumbnail"\npython = "{python}"\n'.encode()
    [(field, message)] = problems_of("zip", {"skiff.toml": manifest, "images.py": source})
    assert field == "functions.thumbnail.handler" and message.startswith(error), message


@pytest.mark.parametrize(
    "module",
    [
        b"from helpers import thumbnail\n",
        b"from helpers import make as thumbnail\n",
        b"thumbnail = lambda p: p\n",
        b"thumbnail: object = None\n",
        b"try:\n    from fast import thumbnail\nexcept ImportError:\n    def thumbnail(p):\n        return p\n",
        b"if True:\n    class thumbnail:\n        pass\n",
        b"from helpers import *\n",
        b"def __getattr__(name):\n    return print\n",
        b"globals()['thumbnail'] = print\n",
        b"async def thumbnail(p):\n    return p\n",
        b"import os\n\n@staticmethod\ndef thumbnail(p):\n    return p\n",
    ],
)
def test_handlers_bound_in_many_ways_are_found(module: bytes) -> None:
    info = inspect_bundle(io.BytesIO(build("tar.gz", {"skiff.toml": MANIFEST, "images.py": module})))
    assert "thumbnail" in info.manifest.functions


@pytest.mark.parametrize(
    ("handler", "files"),
    [
        ("pkg.sub:run", {"pkg/__init__.py": b"", "pkg/sub.py": b"def run(): pass\n"}),
        ("pkg.sub:run", {"pkg/sub/__init__.py": b"def run(): pass\n"}),
        ("nspkg.mod:run", {"nspkg/mod.py": b"def run(): pass\n"}),
        ("images:run", {"images/__init__.py": b"def run(): pass\n"}),
    ],
)
def test_handler_modules_resolve_like_imports(handler: str, files: dict[str, bytes]) -> None:
    manifest = f'[functions.f]\nhandler = "{handler}"\n'.encode()
    info = inspect_bundle(io.BytesIO(build("zip", {"skiff.toml": manifest, **files})))
    assert info.manifest.functions["f"].handler == handler


@pytest.mark.parametrize(
    ("extra", "warning"),
    [
        ('python = "3.14"', "images.py: syntax not checked: Python 3.14 is newer than"),
        ('base = "torch"', "images.py: syntax not checked: a base environment's Python version"),
    ],
)
def test_code_for_a_newer_python_is_not_judged_by_the_servers_grammar(extra: str, warning: str) -> None:
    manifest = f'[functions.thumbnail]\nhandler = "images:thumbnail"\n{extra}\n'.encode()
    newer = b"type Path = str\n\ndef thumbnail[T](p: T) -> T:\n    return p\n"  # PEP 695, Python 3.12
    info = inspect_bundle(io.BytesIO(build("tar", {"skiff.toml": manifest, "images.py": newer})))
    assert len(info.warnings) == 1 and info.warnings[0].startswith(warning), info.warnings


def test_checking_a_handler_never_runs_it(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    evil = f"open({str(canary)!r}, 'w').write('ran')\ndef thumbnail(p):\n    return p\n".encode()
    inspect_bundle(io.BytesIO(build("zip", {"skiff.toml": MANIFEST, "images.py": evil})))
    assert not canary.exists()


def test_sources_beyond_the_retention_budget_are_read_in_a_second_walk() -> None:
    filler = {f"vendor/m{i}.py": b"# " + b"x" * (1 << 20) + b"\n" for i in range(9)}  # 9 MiB of Python first
    files = {"skiff.toml": MANIFEST, **filler, "images.py": b"def thumbnail(p):\n    return p\n"}
    assert inspect_bundle(io.BytesIO(build("tar.gz", files))).manifest.functions
    broken = {**files, "images.py": b"def thumbnail(p:\n"}
    assert problems_of("tar.gz", broken)[0][1].startswith("images.py:1: SyntaxError")


@pytest.mark.parametrize("fmt", FORMATS)
def test_extract_writes_the_checked_root(fmt: str, tmp_path: Path) -> None:
    files = {**good_files(), "bin/run.sh": b"#!/bin/sh\necho hi\n"}
    members = [
        Entry("app/" + name, data, mode=0o755 if name.endswith(".sh") else 0o644) for name, data in files.items()
    ]
    data = bundle(fmt, members)
    dest = tmp_path / "bundles" / "v1"
    dest.parent.mkdir()
    info = extract_bundle(io.BytesIO(data), dest, expected_digest=hashlib.sha256(data).hexdigest())
    assert info.root == "app/" and info == inspect_bundle(io.BytesIO(data))
    written = {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert written == files
    assert (dest / "bin/run.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "images.py").stat().st_mode & 0o111 == 0
    assert sorted(p.name for p in dest.parent.iterdir()) == ["v1"]  # no staging directory left behind


def test_extract_from_a_path_and_refusals(tmp_path: Path) -> None:
    data = build("tar.gz", good_files())
    archive = tmp_path / "bundle.tgz"
    archive.write_bytes(data)
    extract_bundle(archive, tmp_path / "ok")
    assert (tmp_path / "ok" / "skiff.toml").read_bytes() == MANIFEST
    with pytest.raises(FileExistsError):
        extract_bundle(archive, tmp_path / "ok")
    with pytest.raises(InvalidBundle, match="expected 0000"):
        extract_bundle(archive, tmp_path / "wrong", expected_digest="0" * 64)
    broken = build("tar.gz", {**good_files(), "images.py": b"def thumbnail(:\n"})
    with pytest.raises(InvalidBundle, match="SyntaxError"):
        extract_bundle(io.BytesIO(broken), tmp_path / "broken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tgz", "ok"]
