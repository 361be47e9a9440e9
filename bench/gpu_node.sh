#!/usr/bin/env bash
# Runs bench/gpu_check.py on a lent GPU node (no network, no Postgres, Redis or bubblewrap; a python3 that
# holds torch): from the folder bench/gpu_carry.sh prepared here. On the device tool:
#   run(command="bash bench/gpu_node.sh", carry=[".gpu-carry"], timeout_s=540)
# PYTHON names another interpreter and EXTRA_PYTHONPATH adds to its path (to try this on a machine without a GPU,
# with --cpu). Arguments go to gpu_check.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARRY=${CARRY:-.gpu-carry}
PYTHON=${PYTHON:-python3}
W=$(mktemp -d /tmp/skiff-gpu-node-XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT

"$PYTHON" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir \
  --target "$W/site" "$CARRY"/whl/*.whl
for package in "$CARRY"/deb/*.deb; do dpkg -x "$package" "$W/deb"; done
if [ ! -x /usr/bin/bwrap ]; then  # the agent runs /usr/bin/bwrap; the machine is given back after the check
  install -m 755 "$W/deb/usr/bin/bwrap" /usr/bin/bwrap
fi
# Debian ships the Redis server as redis-check-rdb: under the name redis-server it serves.
mkdir -p "$W/bin"
cat > "$W/bin/redis-server" <<WRAP
#!/usr/bin/env bash
LD_LIBRARY_PATH=$W/deb/usr/lib/x86_64-linux-gnu exec -a redis-server $W/deb/usr/bin/redis-check-rdb "\$@"
WRAP
chmod 755 "$W/bin/redis-server"
chmod -R a+rX "$W/site/pgserver/pginstall"
export SKIFF_PG_BINDIR=$W/site/pgserver/pginstall/bin
export PATH=$W/bin:$PATH
export PYTHONPATH=$W/site:$PWD:$PWD/clients:$PWD/clients/python${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH}
export PYTHONUNBUFFERED=1
echo "kernel $(uname -r), $("$PYTHON" -V 2>&1) at $("$PYTHON" -c 'import sys; print(sys.prefix)')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=index,name,memory.used,memory.total --format=csv
rc=0
"$PYTHON" bench/gpu_check.py "$@" || rc=$?
# On the device tool, the servers' logs come back in $OUT (a failed start says why only there).
if [ -n "${OUT:-}" ]; then
  for log in /tmp/skiff-gpu-check-*/{agent,api,scheduler}.log; do
    [ -f "$log" ] && tail -c 4000000 "$log" >"$OUT/$(basename "$log")"
  done
fi
exit $rc
