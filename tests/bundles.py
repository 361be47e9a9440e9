"""Bundles built in tests: source files plus a `skiff.toml`, as tar.gz or zip bytes."""

from __future__ import annotations

import io
import tarfile
import textwrap
import zipfile

HELLO_SOURCE = """
def hello(name="world"):
    print(f"saying hello to {name}")
    return {"greeting": f"hello {name}"}

def boom():
    raise ValueError("no such thing")
"""

HELLO_MANIFEST = """
[functions.hello]
handler = "app:hello"

[functions.boom]
handler = "app:boom"
"""


def make_bundle(files: dict[str, str], manifest: str, *, fmt: str = "tar.gz") -> bytes:
    contents = {"skiff.toml": textwrap.dedent(manifest), **{k: textwrap.dedent(v) for k, v in files.items()}}
    buffer = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in sorted(contents.items()):
                archive.writestr(name, text)
        return buffer.getvalue()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, text in sorted(contents.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def hello_bundle(**extra_files: str) -> bytes:
    return make_bundle({"app.py": HELLO_SOURCE, **extra_files}, HELLO_MANIFEST)
