#!/usr/bin/env bash
# Regenerates the Python client from openapi.yaml (into clients/python/skiff_client, or into $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-clients/python/skiff_client}
PATH="$PWD/.venv/bin:$PATH" openapi-python-client generate --path openapi.yaml --output-path "$out" \
  --overwrite --fail-on-warning --meta none --config clients/openapi-python-client.yaml
