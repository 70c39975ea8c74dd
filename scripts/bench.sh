#!/usr/bin/env bash
# Benchmarks the control plane: requests/s of authenticated GETs and the daemon's idle RSS.
# Targets (issue 2): >= 3,000 req/s for /version on this 2-core machine; idle RSS < 60 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
VIREOD=${VIREOD:-.build/release/vireod}
VIREO=${VIREO:-.build/release/vireo}
DURATION=${BENCH_SECONDS:-10}

data=$(mktemp -d /tmp/vireo-bench.XXXXXX)
pid=""
cleanup() {
    # VMs the benchmark started (by their pidfiles), then the daemon.
    for f in "$data"/run/qemu/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VIREOD" --data-dir "$data" --listen "127.0.0.1:$port" --node bench --auth-failure-delay 0 --log-level warning \
    2>"$data/vireod.log" &
pid=$!
for _ in $(seq 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$port/api2/json/version" && break
    sleep 0.1
done
export VIREO_DATA_DIR=$data
"$VIREO" pveum user add bench@pve --password bench-password >/dev/null
"$VIREO" pveum acl modify / --users bench@pve --roles Administrator >/dev/null
secret=$("$VIREO" pveum user token add bench@pve wrk --privsep 0 --output-format json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
auth="Authorization: PVEAPIToken=bench@pve!wrk=$secret"

sleep 2
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

run() {
    local path=$1
    local out
    out=$(wrk -t2 -c32 -d"${DURATION}s" -H "$auth" "https://127.0.0.1:$port/api2/json$path")
    local rps non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-32s %10s req/s%s\n' "GET $path" "$rps" "${non2xx:+  (non-2xx: $non2xx)}"
}

echo "vireo control-plane benchmark ($(nproc) cores, wrk -t2 -c32 -d${DURATION}s, API token auth, HTTPS)"
run /version
run /cluster/resources
loaded_rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
printf '%-32s %10.1f MB\n' "idle RSS after start" "$(echo "$idle_rss / 1024" | bc -l)"
printf '%-32s %10.1f MB\n' "RSS after the load" "$(echo "$loaded_rss / 1024" | bc -l)"
echo "targets: >= 3000 req/s for /version; idle RSS < 60 MB"
echo
.venv/bin/python scripts/bench_storage.py "$port" "bench@pve!wrk=$secret" bench "$data"
echo
.venv/bin/python scripts/bench_vm.py "$port" "bench@pve!wrk=$secret" bench "$data"
echo
.venv/bin/python scripts/bench_network.py "$VIREOD"
echo
.venv/bin/python scripts/bench_firewall.py "$VIREOD"
echo
.venv/bin/python scripts/bench_diagnose.py "$port" "bench@pve!wrk=$secret" bench "$data"
echo
.venv/bin/python scripts/bench_ui.py "$port" bench@pve bench-password bench "bench@pve!wrk=$secret"
echo
# Three more daemons with their etcd members: a cluster of its own, beside the benchmark daemon.
.venv/bin/python scripts/bench_cluster.py "$VIREOD" "$VIREO"
