#!/usr/bin/env bash
# Regenerates the clients from openapi.yaml: the Python client (clients/python/skiff_client) and the
# TypeScript client's types (clients/typescript/src/schema.d.ts).
#
#   gen-clients.sh                               both, into the tree
#   gen-clients.sh DIR                           the Python client only, into DIR
#   gen-clients.sh [--python DIR] [--typescript DIR]
#                                                only the clients named: the Python package into DIR,
#                                                the TypeScript types into DIR/schema.d.ts
# A relative DIR is taken from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo usage: >&2; sed -n '5,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }

python_out="" typescript_out=""
case $# in
  0) python_out=clients/python/skiff_client typescript_out=clients/typescript/src ;;
  1) [[ $1 == -* ]] && usage; python_out=$1 ;;
  *)
    while [ $# -gt 0 ]; do
      [ $# -ge 2 ] || usage
      case $1 in
        --python) python_out=$2 ;;
        --typescript) typescript_out=$2 ;;
        *) usage ;;
      esac
      shift 2
    done
    ;;
esac

if [ -n "$python_out" ]; then
  PATH="$PWD/.venv/bin:$PATH" openapi-python-client generate --path openapi.yaml --output-path "$python_out" \
    --overwrite --fail-on-warning --meta none --config clients/openapi-python-client.yaml
fi

if [ -n "$typescript_out" ]; then
  generator=clients/typescript/node_modules/.bin/openapi-typescript
  if [ ! -x "$generator" ]; then
    echo "$generator is missing: run scripts/install.sh (or npm ci --prefix clients/typescript)" >&2
    exit 1
  fi
  mkdir -p "$typescript_out"
  "$generator" openapi.yaml --output "$typescript_out/schema.d.ts"
fi
