"""skiff.toml: defaults, ranges, unknown keys, requirement refusals (B6), GPU forms, all problems at once."""

from __future__ import annotations

import re

import pytest

from api.deployments.errors import FieldIssue, InvalidManifest
from api.deployments.image import ImageSpec, image_key
from api.deployments.manifest import FunctionSpec, parse_manifest
from api.deployments.options import GpuOption, RetryPolicy
from api.errors import Unprocessable

MINIMAL = '[functions.thumbnail]\nhandler = "images:thumbnail"\n'


def function(extra: str = "", name: str = "thumbnail") -> FunctionSpec:
    return parse_manifest(f'[functions.{name}]\nhandler = "images:thumbnail"\n{extra}\n').functions[name]


def problems(source: str) -> list[FieldIssue]:
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(source)
    assert isinstance(caught.value, Unprocessable) and caught.value.status == 422
    return caught.value.errors


def only_problem(extra: str) -> FieldIssue:
    found = problems(MINIMAL + extra + "\n")
    assert len(found) == 1, found
    return found[0]


def test_defaults_for_everything_but_the_handler() -> None:
    assert function() == FunctionSpec(
        name="thumbnail",
        handler="images:thumbnail",
        image=ImageSpec(python="3.11", requirements=()),
        setup=None,
        preload=(),
        cpu=1.0,
        memory=1024,
        gpu=(),
        timeout=300,
        retries=RetryPolicy(max_retries=0),
        min_containers=0,
        max_containers=8,
        buffer_containers=0,
        max_inputs=1,
        scaledown_window=60,
        zygote=True,
        env={},
    )


def test_the_documented_example_parses() -> None:
    spec = function(
        """python = "3.11"
requirements = ["pillow>=10"]
setup = "images:warm_up"
preload = ["numpy"]
cpu = 1.0
memory = 1024
gpu = "H100:1"
timeout = 60
retries = 2
min_containers = 0
max_containers = 8
buffer_containers = 0
max_inputs = 1
scaledown_window = 60
zygote = true
env = { LOG_LEVEL = "info" }"""
    )
    assert spec.setup == "images:warm_up" and spec.preload == ("numpy",)
    assert spec.gpu == (GpuOption("H100", 1),)
    assert spec.retries == RetryPolicy(max_retries=2)
    assert (spec.timeout, spec.env, spec.handler_module) == (60, {"LOG_LEVEL": "info"}, "images")


@pytest.mark.parametrize(
    ("key", "low", "high", "unit"),
    [
        ("cpu", "0.125", "64", "CPU cores"),
        ("memory", "128", "262144", "MiB"),
        ("timeout", "1", "86400", "seconds per attempt"),
        ("min_containers", "0", "1000", "containers"),
        ("max_containers", "1", "1000", "containers"),
        ("buffer_containers", "0", "100", "containers"),
        ("max_inputs", "1", "1000", "concurrent inputs per container"),
        ("scaledown_window", "2", "86400", "seconds"),
        ("retries", "0", "10", "retries"),
    ],
)
def test_numbers_have_explicit_ranges(key: str, low: str, high: str, unit: str) -> None:
    def bump(text: str, step: int) -> str:
        return str(float(text) + step / 1000) if "." in text else str(int(text) + step)

    extra = "max_containers = 1000\n" if key == "min_containers" else ""
    for value in (low, high):
        function(f"{key} = {value}\n{extra}")
    for value in (bump(low, -1), bump(high, +1)):
        issue = only_problem(f"{key} = {value}\n{extra}")
        assert issue.field == f"functions.thumbnail.{key}"
        assert issue.message == f"{value} is out of range; allowed {low}..{high} ({unit})"


def test_the_message_matches_the_documented_shape() -> None:
    issue = only_problem("memory = 64")
    assert str(issue) == "functions.thumbnail.memory: 64 is out of range; allowed 128..262144 (MiB)"


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ('memory = "1024"', "memory", "expected an integer, got string '1024'"),
        ("memory = 1024.0", "memory", "expected an integer, got float"),
        ("timeout = true", "timeout", "expected an integer, got boolean"),
        ('cpu = "2"', "cpu", "expected a number, got string"),
        ("cpu = nan", "cpu", "nan is out of range"),
        ('zygote = "yes"', "zygote", "expected true or false"),
        ("python = 3.10", "python", "quote it"),
        ('python = "2.7"', "python", "not a supported Python version; allowed 3.9..3.14"),
        ('python = "3.8"', "python", "allowed 3.9..3.14"),
        ('python = "3.11.4"', "python", 'written as "3.N"'),
        ('base = "Torch!"', "base", "not a valid base name"),
        ('requirements = "numpy"', "requirements", "expected a list of strings"),
        ("requirements = [1]", "requirements[0]", "expected a string"),
        ('preload = ["numpy", "1bad"]', "preload[1]", "not a module name"),
        ('env = ["A"]', "env", "expected a table"),
        ("min_containers = 9", "min_containers", "min_containers must be <= max_containers"),
        ('setup = "warm"', "setup", "not of the form module:function"),
    ],
)
def test_wrong_values_name_the_field(extra: str, field: str, fragment: str) -> None:
    issue = only_problem(extra)
    assert issue.field == f"functions.thumbnail.{field}"
    assert fragment in issue.message


def test_python_and_base_are_exclusive_and_base_replaces_python() -> None:
    issue = only_problem('python = "3.11"\nbase = "torch"')
    assert issue.field == "functions.thumbnail" and "either python or base" in issue.message
    assert function('base = "torch"').image == ImageSpec(base="torch")
    assert function('python = "3.9"').image == ImageSpec(python="3.9")


@pytest.mark.parametrize(
    ("source", "field", "fragment"),
    [
        (MINIMAL + "memroy = 2048", "functions.thumbnail", "unknown key 'memroy' (did you mean 'memory'?)"),
        (MINIMAL + "image = 'x'", "functions.thumbnail", "allowed keys: base, buffer_containers, cpu"),
        (MINIMAL + "[app]\nname = 'x'", "skiff.toml", "unknown key 'app'; allowed keys: functions"),
        (MINIMAL + "retries = { max_retry = 3 }", "functions.thumbnail.retries", "unknown key 'max_retry'"),
    ],
)
def test_unknown_keys_are_refused_with_the_allowed_ones(source: str, field: str, fragment: str) -> None:
    issue = problems(source)[0]
    assert (issue.field, fragment in issue.message) == (field, True), issue


OPTIONS, FILES, REMOTE, LOCAL = "pip options", "file: URLs", "VCS and URL sources", "local paths"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("-e .", OPTIONS),
        ("-e git+https://github.com/acme/lib#egg=lib", OPTIONS),
        ("--index-url https://evil.example/simple", OPTIONS),
        ("--extra-index-url https://evil.example/simple", OPTIONS),
        ("-i https://evil.example/simple", OPTIONS),
        ("-r other-requirements.txt", OPTIONS),
        ("-f ./wheels", OPTIONS),
        ("--find-links=/tmp", OPTIONS),
        ("--hash=sha256:abc", OPTIONS),
        ("-c constraints.txt", OPTIONS),
        ("file:///tmp/pkg.whl", FILES),
        ("pkg @ file:///tmp/pkg", FILES),
        ("pkg @ file:pkg", FILES),
        ("git+https://github.com/acme/lib", REMOTE),
        ("lib @ git+https://github.com/acme/lib", REMOTE),
        ("https://example.com/pkg-1.0.tar.gz", REMOTE),
        ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl", REMOTE),
        ("./local/pkg", LOCAL),
        ("../sibling", LOCAL),
        ("/abs/path/pkg", LOCAL),
        ("~/pkg", LOCAL),
        ("pkg-1.0-py3-none-any.whl", LOCAL),
        ("dist\\pkg.tar.gz", LOCAL),
        ("numpy # pinned later", "without comments or line breaks"),
        ("numpy\n--index-url https://evil.example", "without comments or line breaks"),
        ("not a requirement!", "is not a PEP 508 requirement"),
        ("x" * 1001, "longer than 1000 characters"),
        ("", "empty requirement"),
    ],
)
def test_requirement_lines_that_are_not_plain_pep508_are_refused(line: str, reason: str) -> None:
    issue = only_problem(f"requirements = [{_toml_string(line)}]")
    assert issue.field == "functions.thumbnail.requirements[0]"
    assert reason in issue.message, issue
    assert repr(line.strip())[:20] in issue.message or not line or len(line) > 1000, issue


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def test_requirements_are_canonical_sorted_and_deduplicated() -> None:
    spec = function(
        'requirements = ["Pillow >= 10", "numpy", "requests[Socks,security] >=2, <3", '
        '"tomli; python_version < \'3.11\'", "pillow>=10"]'
    )
    assert spec.image.requirements == (
        "numpy",
        "pillow>=10",
        "requests[security,socks]<3,>=2",
        'tomli; python_version < "3.11"',
    )


def test_every_bad_requirement_is_reported_not_only_the_first() -> None:
    found = problems(MINIMAL + 'requirements = ["numpy", "-e .", "ok", "--index-url x"]\n')
    assert [i.field for i in found] == [
        "functions.thumbnail.requirements[1]",
        "functions.thumbnail.requirements[3]",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"H100"', (GpuOption("H100", 1),)),
        ('"h100:2"', (GpuOption("H100", 2),)),
        ('"any"', (GpuOption(None, 1),)),
        ('"ANY:4"', (GpuOption(None, 4),)),
        ('"A100-80GB:8"', (GpuOption("A100-80GB", 8),)),
        ('["H100", "a100-80gb"]', (GpuOption("H100", 1), GpuOption("A100-80GB", 1))),
        ('["H100:2", "any:2"]', (GpuOption("H100", 2), GpuOption(None, 2))),
    ],
)
def test_gpu_forms(value: str, expected: tuple[GpuOption, ...]) -> None:
    assert function(f"gpu = {value}").gpu == expected


@pytest.mark.parametrize(
    ("value", "field", "fragment"),
    [
        ('"H100:0"', "gpu", "GPU count '0' is out of range; allowed 1..8"),
        ('"H100:9"', "gpu", "allowed 1..8"),
        ('"H100:two"', "gpu", "GPU count 'two'"),
        ('""', "gpu", "is not a GPU request"),
        ('":2"', "gpu", "is not a GPU request"),
        ('"H 100"', "gpu", "is not a GPU request"),
        ("[]", "gpu", "a list of 1..8"),
        ("true", "gpu", "got boolean"),
        ('["H100", "h100"]', "gpu[1]", "listed twice"),
        ('["H100", 3]', "gpu[1]", "expected a string"),
    ],
)
def test_bad_gpu_requests(value: str, field: str, fragment: str) -> None:
    issue = only_problem(f"gpu = {value}")
    assert issue.field == f"functions.thumbnail.{field}" and fragment in issue.message, issue


def test_retry_policy_table() -> None:
    spec = function(
        "retries = { max_retries = 3, backoff_coefficient = 1.5, initial_delay = 0.5, max_delay = 30,"
        " retry_on_user_error = false }"
    )
    assert spec.retries == RetryPolicy(
        max_retries=3, backoff_coefficient=1.5, initial_delay=0.5, max_delay=30.0, retry_on_user_error=False
    )
    issue = only_problem("retries = { initial_delay = 50, max_delay = 10 }")
    assert issue.field == "functions.thumbnail.retries.initial_delay" and "more than max_delay" in issue.message
    assert only_problem("retries = { max_delay = 9000 }").message.endswith("allowed 1.0..3600.0 (seconds)")
    assert only_problem('retries = "3"').field == "functions.thumbnail.retries"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("PATH", "reserved"),
        ("path", "reserved"),
        ("PYTHONPATH", "reserved"),
        ("LD_PRELOAD", "reserved"),
        ("LD_LIBRARY_PATH", "reserved"),
        ("HOME", "reserved"),
        ("CUDA_VISIBLE_DEVICES", "reserved"),
        ("SKIFF_TOKEN", "names starting with SKIFF_ or LD_"),
        ("skiff_anything", "names starting with SKIFF_"),
        ("1ABC", "not a valid variable name"),
        ("A-B", "not a valid variable name"),
        ("A B", "not a valid variable name"),
        ("X" * 129, "not a valid variable name"),
    ],
)
def test_env_names_are_checked(name: str, fragment: str) -> None:
    issue = only_problem(f'env = {{ "{name}" = "x" }}')
    assert issue.field == f"functions.thumbnail.env.{name}" and fragment in issue.message, issue


def test_env_values_are_strings() -> None:
    assert "quote the value" in only_problem("env = { N = 1 }").message
    assert function('env = { LOG_LEVEL = "debug", _private = "" }').env == {"LOG_LEVEL": "debug", "_private": ""}


@pytest.mark.parametrize("name", ["thumbnail", "embed-v2", "A_b", "x" * 64])
def test_valid_function_names(name: str) -> None:
    assert function(name=name).name == name


@pytest.mark.parametrize("name", ['"bad name"', '"2fast"', '"-x"', '"_x"', '"ünïcode"', '"' + "x" * 65 + '"'])
def test_invalid_function_names(name: str) -> None:
    found = problems(f'[functions.{name}]\nhandler = "a:b"\n')
    assert "function name" in found[0].message and found[0].field == f"functions.{name.strip(chr(34))}"


@pytest.mark.parametrize("handler", ["images:thumbnail", "pkg.sub.mod:run", "_private:_fn"])
def test_valid_handlers(handler: str) -> None:
    assert parse_manifest(f'[functions.f]\nhandler = "{handler}"\n').functions["f"].handler == handler


@pytest.mark.parametrize(
    "handler", ["images.thumbnail", "images:", ":thumbnail", "a-b:c", "class:fn", "a:b.c", "a:b:c", "a..b:c", "a:1x"]
)
def test_invalid_handlers(handler: str) -> None:
    issue = problems(f'[functions.f]\nhandler = "{handler}"\n')[0]
    assert issue.field == "functions.f.handler" and "module:function" in issue.message


def test_a_missing_handler_is_named() -> None:
    issue = problems("[functions.f]\nmemory = 512\n")[0]
    assert issue.field == "functions.f.handler" and "is required" in issue.message


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        '[functions.a]\nhandler = "x:y"\nmemory = 1\ncpu = 0\n'
        '[functions.b]\nhandler = "bad"\ngpu = "H100:0"\nenv = { PATH = "/" }\n'
    )
    assert [i.field for i in found] == [
        "functions.a.memory",
        "functions.a.cpu",
        "functions.b.handler",
        "functions.b.gpu",
        "functions.b.env.PATH",
    ]
    error = InvalidManifest(found)
    assert error.detail.startswith("skiff.toml is invalid (5 problems): functions.a.memory: 1 is out of range")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("", "at least one function is required"),
        ("[functions]\n", "at least one function is required"),
        ("functions = 3\n", "at least one function is required"),
        ("[functions.f\nhandler = 1", "is not valid TOML"),
        ("[functions.f]\nhandler = 'a:b'\nhandler = 'c:d'\n", "is not valid TOML"),
    ],
)
def test_shape_problems(source: str, fragment: str) -> None:
    assert fragment in problems(source)[0].message


def test_toml_errors_carry_the_line() -> None:
    issue = problems('[functions.f]\nhandler = "a:b"\nmemory = = 3\n')[0]
    assert issue.field == "skiff.toml" and re.search(r"line 3", issue.message), issue


def test_non_utf8_manifest() -> None:
    assert "not valid UTF-8" in problems(b"[functions.f]\nhandler = '\xff'\n")[0].message  # type: ignore[arg-type]


def test_caps_on_functions_requirements_and_size() -> None:
    many = "".join(f'[functions.f{i}]\nhandler = "a:b"\n' for i in range(65))
    assert "65 functions declared; at most 64" in problems(many)[0].message
    parse_manifest("".join(f'[functions.f{i}]\nhandler = "a:b"\n' for i in range(64)))
    reqs = ", ".join(f'"pkg{i}"' for i in range(201))
    assert "201 requirements; at most 200" in only_problem(f"requirements = [{reqs}]").message
    padded = MINIMAL + "# " + "x" * (64 * 1024) + "\n"
    issue = problems(padded)[0]
    assert issue.field == "skiff.toml" and "the limit is 65536 bytes (64 KiB)" in issue.message


def test_image_key_is_canonical() -> None:
    a = function('requirements = ["Pillow >= 10", "numpy"]').image
    b = function('requirements = ["numpy", "pillow>=10", "NumPy"]').image
    assert image_key(a) == image_key(b)
    assert re.fullmatch(r"[0-9a-f]{64}", image_key(a))
    assert image_key(a) != image_key(function('python = "3.12"\nrequirements = ["numpy", "pillow>=10"]').image)
    assert image_key(a) != image_key(function('requirements = ["numpy"]').image)
    assert image_key(ImageSpec(base="torch")) != image_key(ImageSpec(python="torch"))


def test_image_key_is_stable_across_releases() -> None:
    """Agents cache environments under this key: changing it silently rebuilds every node's cache."""
    spec = ImageSpec(python="3.11", requirements=("numpy", "pillow>=10"))
    assert image_key(spec) == GOLDEN_IMAGE_KEY


GOLDEN_IMAGE_KEY = "0fdcd8bc33db4a494428425bd7d71afa4f74dfa3b9c218551ffb754f6477193a"
