"""The runtime's JSON (``_json``'s scanner and encoder, without importing ``json``): the same text
and values as ``json`` with the runtime's options, the same kinds of errors, and a fresh runtime
that never imports ``json``, ``re``, ``enum``, ``functools`` or ``signal`` (each a few ms of every
fresh sandbox's start). Run on every interpreter the runtime supports here."""

from __future__ import annotations

import json
import math
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.agent.runtime.conftest import AGENT_DIR

VALUES = [
    None,
    True,
    0,
    -7,
    2**70,
    1.5,
    -0.0,
    1e300,
    "",
    "plain",
    'quote " backslash \\ tab \t newline \n nul \x00',
    "héllo ✓ 😀",
    [],
    {},
    [1, [2, [3, {"a": None}]]],
    {"args": [1, "two", 3.0], "kwargs": {"k": {"nested": [True, False]}}},
    {"ключ": "значение", "": 0},
]
TEXTS = [
    '{"args":[],"kwargs":{}}',
    '  \n\t{"a" : [1, 2.5e3, -0, "x\\u00e9\\ud83d\\ude00"]}\r\n ',
    "[NaN, Infinity, -Infinity]",
    '"just a string"',
    "12345678901234567890123",
    "null",
]
BAD_TEXTS = ["", "   ", "{not json", '{"a": 1} trailing', "[1, 2", '{"a" 1}', "'single'", "[1,]"]
# The interpreters the runtime must run on (>= 3.9) that this machine has.
PYTHONS = [
    p
    for p in (
        Path("/usr/bin/python3"),
        *(Path(f"/root/.pyenv/versions/{v}/bin/python3") for v in ("3.9.18", "3.10.13", "3.12.1", "3.13.0")),
    )
    if p.exists()
]
CHECK = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from runtime import plainjson
    for text in sys.argv[3:]:  # first, while nothing has imported json
        try:
            plainjson.loads(text)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % text)
    import json, math
    values, texts = json.loads(sys.argv[2])

    def same(a, b):
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and a == b

    for value in values:
        expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        assert plainjson.dumps(value, allow_nan=False) == expected, value
        assert same(plainjson.loads(expected), json.loads(expected)), value
    for text in texts:
        assert same(plainjson.loads(text), json.loads(text)), text
    print("ok", sys.version_info[:2])
    """
)


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: p.parent.parent.name)
def test_it_writes_and_reads_what_json_does(python: Path) -> None:
    cases = json.dumps([VALUES, TEXTS])
    done = subprocess.run(
        [str(python), "-I", "-S", "-c", CHECK, str(AGENT_DIR), cases, *BAD_TEXTS],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_values_json_cannot_carry_raise_the_errors_json_raises() -> None:
    from agent.runtime import plainjson

    with pytest.raises(ValueError, match="Out of range float"):
        plainjson.dumps([1.0, math.nan], allow_nan=False)
    assert plainjson.dumps(math.inf) == "Infinity"  # allowed unless refused, as json.dumps
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        plainjson.dumps({"a": {1, 2}})
    with pytest.raises(TypeError, match="keys must be str"):
        plainjson.dumps({(1, 2): "tuple key"})
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        plainjson.dumps(circular)
    with pytest.raises(ValueError, match="Extra data: char 9"):
        plainjson.loads('{"a": 1} x')
    with pytest.raises(ValueError, match="Expecting value"):
        plainjson.loads("   ")


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: p.parent.parent.name)
def test_a_fresh_runtime_imports_none_of_the_slow_modules(python: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import runtime.__main__, runtime.payloads;"
        "print(','.join(sorted({'json', 're', 'enum', 'functools', 'signal', 'struct', 'typing'} & set(sys.modules))))"
    )
    done = subprocess.run(
        [str(python), "-I", "-S", "-c", code, str(AGENT_DIR)], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
