#!/usr/bin/env bash
# Prepares .gpu-carry/ for bench/gpu_node.sh on a GPU node that has no network (../shared/GPU_NODE.md):
# cp312 wheels of Skiff's dependencies the node lacks, the pgserver wheel (Postgres's own binaries), and
# Debian's packages of bubblewrap and Redis. Run it here, where PyPI and Debian are reachable; it prints
# what the folder weighs (a device call carries 64 MiB at most, the working tree included).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARRY=.gpu-carry
PYTHON=${PYTHON:-.venv/bin/python}
rm -rf "$CARRY" && mkdir -p "$CARRY/whl" "$CARRY/deb"

# The node's image holds these (the device tool's KINDS.md, "Python packages already there"): not carried.
# boto3 and its kin are imported only for an S3 blob store, which the check does not use.
ON_NODE="anyio attrs certifi click cloudpickle h11 httpcore httpx idna jinja2 markdown_it_py markupsafe mdurl
msgpack numpy nvidia_ml_py packaging prometheus_client psutil pygments python_dateutil pyyaml rich shellingham six
typer typing_extensions urllib3 uvloop boto3 botocore s3transfer jmespath"

"$PYTHON" - > "$CARRY/requirements.txt" <<'EOF'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"]))
print("pgserver")
EOF
platforms=()
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
  manylinux2014_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$tag")
done
"$PYTHON" -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d "$CARRY/whl" -c constraints.txt -r "$CARRY/requirements.txt" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
for name in $ON_NODE; do
  find "$CARRY/whl" -maxdepth 1 -iname "${name}-[0-9]*.whl" -delete
done
(cd "$CARRY/deb" && apt-get download -q bubblewrap redis-tools libjemalloc2 liblzf1 >/dev/null)
echo "$CARRY: $(ls "$CARRY/whl" | wc -l) wheels, $(ls "$CARRY/deb" | wc -l) packages, $(du -sh "$CARRY" | cut -f1)"
