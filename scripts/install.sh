#!/usr/bin/env bash
# Installs what Skiff needs on Debian 12, and only what is missing: the Debian packages, then the
# Python environment in .venv, built from Debian's /usr/bin/python3 (never a pyenv shim), then the
# npm packages of the TypeScript client and of the tests' S3 server.
# Safe to run again: it does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(postgresql redis-server bubblewrap iproute2 python3 python3-venv make curl ca-certificates git)
BUILD_PACKAGES=(python3-dev build-essential)  # only if a dependency has no wheel for this machine
PYTHON=/usr/bin/python3
VENV=.venv
STAMP=$VENV/.skiff-install-stamp

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages "$@" | xargs)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "Skiff needs these Debian packages; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $missing" >&2
    echo "then run $0 again." >&2
    exit 1
  fi
  say "installing Debian packages: $missing"
  # Skiff runs its own Postgres and Redis in its state directory; the system's cluster and service
  # are never used, so keep the packages from creating or starting them.
  local added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    added_policy=yes
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  if [[ " $missing " == *" postgresql "* ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-common
    as_root sed -ri 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
  fi
  # shellcheck disable=SC2086  # one word per package
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  if [ -n "$added_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
}

venv_is_sound() {
  [ -x "$VENV/bin/python" ] && grep -qx "home = $(dirname "$PYTHON")" "$VENV/pyvenv.cfg" 2>/dev/null \
    && "$VENV/bin/python" -c "import sys" 2>/dev/null
}

install_python() {
  if ! venv_is_sound; then
    say "creating $VENV from $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local wanted
  wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    return 0
  fi
  say "installing Python dependencies into $VENV"
  local pip=("$VENV/bin/pip" install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]')
  local output
  output=$(mktemp)
  if ! "${pip[@]}" 2>&1 | tee "$output"; then
    if ! grep -qiE "failed building wheel|failed to build|Python\.h|command '(gcc|cc|c\+\+)'" "$output"; then
      rm -f "$output"
      exit 1
    fi
    say "a dependency has no wheel for this machine; installing a compiler and trying again"
    install_packages "${BUILD_PACKAGES[@]}"
    "${pip[@]}"
  fi
  rm -f "$output"
  echo "$wanted" >"$STAMP"
}

install_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    install_packages nodejs npm
  fi
}

# npm ci in $1, again only when its package-lock.json changed; the stamp lives in node_modules, so
# a removed node_modules is installed again.
npm_ci_once() {
  local dir=$1 what=$2 lock=$1/package-lock.json stamp=$1/node_modules/.skiff-install-stamp wanted
  [ -f "$lock" ] || return 0
  install_node
  wanted=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  say "installing $what (npm ci --prefix $dir)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  echo "$wanted" >"$stamp"
}

install_packages "${PACKAGES[@]}"
install_python
npm_ci_once clients/typescript "the TypeScript client's dependencies"
# The blob store tests run a real S3 server: s3rver, an npm package pinned in tests/s3.
npm_ci_once tests/s3 "the tests' S3 server"
say "ready: make run starts Skiff, make test runs the tests"
