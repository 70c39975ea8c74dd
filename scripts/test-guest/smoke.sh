#!/usr/bin/env bash
# Smoke test of the Vireo test guest ISO: boots it twice under TCG with a
# 64 MiB qcow2 virtio disk (boot 1 with QEMU user-mode networking, its
# parameters in the SMBIOS serial; boot 2 without network), and checks the
# ready marker, the console commands (the network ones against socat peers on
# 127.0.0.1, which the guest reaches as 10.0.2.2), the disk marker (written on
# boot 1, found on boot 2) and the ACPI power-down through QMP. Exits 0 only
# if every check passes.
#   usage: smoke.sh [ISO]   (default <repo>/.cache/test-guest/vireo-test-guest.iso)
#   env:   READY_TIMEOUT (s, default 120), KEEP_LOGS=1 to keep the temp dir
#
# How the serial console is driven (the approach for tests to copy):
#   QEMU serves the serial port on a unix socket, the way Vireo does for
#   `serial0: socket`:  -chardev socket,id=ser0,path=S,server=on,wait=off
#   -serial chardev:ser0. Output written while no client is connected is
#   dropped, so connect as soon as the socket file appears (the guest needs
#   seconds to boot). One persistent client (socat here) appends everything it
#   reads to console.log and sends what is written to a FIFO; a command is one
#   line ending in "\n". The guest prints lines ending in "\r\n" and does not
#   echo input. Waits look only at the log past the offset taken before the
#   command was sent.
#   QMP: -qmp unix:Q,server=on,wait=off; each request is a fresh connection
#   sending {"execute":"qmp_capabilities"} then the command.
set -euo pipefail

REQUIRED_PACKAGES="qemu-system-x86 qemu-utils socat python3"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
iso=${1:-$repo/.cache/test-guest/vireo-test-guest.iso}
ready_timeout=${READY_TIMEOUT:-120}

for c in qemu-system-x86_64 qemu-img socat python3; do
    command -v "$c" >/dev/null || { echo "smoke: $c not found; install: apt-get install -y $REQUIRED_PACKAGES" >&2; exit 2; }
done
[ -f "$iso" ] || { echo "smoke: ISO not found: $iso (run scripts/build-test-guest.sh)" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vireo-smoke.XXXXXX")
qemu_pid=""
socat_pid=""
peer_pids=()   # host-side socat peers of the network checks

stop_pid() { # pid: TERM, then KILL after 3 s; reaps it
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for i in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    exec 3>&- 2>/dev/null || true
    local p
    for p in "${peer_pids[@]}"; do stop_pid "$p"; done
    peer_pids=()
    stop_pid "$socat_pid"; socat_pid=""
    stop_pid "$qemu_pid"; qemu_pid=""
    if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "smoke: logs kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log=$T/console.log
fail() { # to stderr: it may run inside $(...)
    {
        echo "smoke: FAIL: $*"
        if [ -f "$log" ]; then
            echo "---- console (last 30 lines) ----"
            tail -n 30 "$log" | tr -d '\r'
            echo "---------------------------------"
        fi
        if [ -s "$T/qemu.out" ]; then echo "---- qemu output ----"; cat "$T/qemu.out"; fi
    } >&2
    exit 1
}
ok() { echo "smoke: ok: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
offset() { stat -c %s "$log"; }

# wait_for REGEX TIMEOUT [OFFSET]: waits until a console line past OFFSET
# matches REGEX (extended, whole line without \r); prints that line.
wait_for() {
    local re=$1 timeout=$2 from=${3:-0} deadline line
    deadline=$(awk -v n="$(now)" -v t="$timeout" 'BEGIN { printf "%.0f", n + t }')
    while :; do
        line=$(tail -c "+$((from + 1))" "$log" | tr -d '\r' | grep -a -m 1 -E "$re" || true)
        [ -n "$line" ] && { echo "$line"; return 0; }
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        if [ -n "$qemu_pid" ] && ! kill -0 "$qemu_pid" 2>/dev/null; then return 1; fi
        sleep 0.1
    done
}
send() { printf '%s\n' "$1" >&3; }
# ask LINE REGEX: sends LINE, prints the first reply line matching REGEX.
ask() {
    local from line
    from=$(offset)
    send "$1"
    line=$(wait_for "$2" 20 "$from") || fail "no reply matching '$2' to '$1'"
    echo "$line"
}
qmp() { # command name; prints QEMU's replies
    { printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$1"; sleep 1; } |
        socat - "UNIX-CONNECT:$T/qmp.sock" 2>&1
}

boot() { # name [QEMU network args, default -nic none]: starts QEMU and the console client, waits for the ready marker
    local name=$1 start i
    shift
    [ $# -gt 0 ] || set -- -nic none
    rm -f "$T/serial.sock" "$T/qmp.sock" "$T/in"
    : > "$log"
    start=$(now)
    qemu-system-x86_64 -accel tcg -m 256 -nographic -monitor none \
        -chardev "socket,id=ser0,path=$T/serial.sock,server=on,wait=off" -serial chardev:ser0 \
        -qmp "unix:$T/qmp.sock,server=on,wait=off" \
        -cdrom "$iso" -boot d \
        -drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
        "$@" </dev/null >"$T/qemu.out" 2>&1 &
    qemu_pid=$!
    for i in $(seq 100); do
        [ -S "$T/serial.sock" ] && break
        kill -0 "$qemu_pid" 2>/dev/null || fail "$name: QEMU exited at start"
        sleep 0.05
    done
    [ -S "$T/serial.sock" ] || fail "$name: no serial socket"
    mkfifo "$T/in"
    exec 3<>"$T/in"
    socat "UNIX-CONNECT:$T/serial.sock" - <"$T/in" >>"$log" 2>"$T/socat.err" &
    socat_pid=$!
    wait_for '^VIREO-GUEST-READY$' "$ready_timeout" >/dev/null || fail "$name: no VIREO-GUEST-READY within ${ready_timeout}s"
    boot_time=$(elapsed "$start")
    ok "$name: VIREO-GUEST-READY after ${boot_time}s (QEMU start to marker, TCG)"
}

powerdown() { # name: ACPI power button through QMP; QEMU must exit within 30 s
    local name=$1 start reply i rc
    start=$(now)
    reply=$(qmp system_powerdown)
    [ "$(grep -o '"return"' <<<"$reply" | wc -l)" -eq 2 ] || fail "$name: QMP system_powerdown: $reply"
    for i in $(seq 300); do
        [ "$(awk '{ print $3 }' "/proc/$qemu_pid/stat" 2>/dev/null || echo gone)" = Z ] && break
        kill -0 "$qemu_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$qemu_pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$qemu_pid/stat" 2>/dev/null)" != Z ]; then
        fail "$name: QEMU still running 30 s after system_powerdown"
    fi
    rc=0; wait "$qemu_pid" || rc=$?
    qemu_pid=""
    [ "$rc" -eq 0 ] || fail "$name: QEMU exited with $rc"
    exec 3>&-
    stop_pid "$socat_pid"; socat_pid=""
    grep -a -q '^VIREO-POWEROFF' "$log" || fail "$name: QEMU exited but VIREO-POWEROFF was not printed"
    ok "$name: system_powerdown -> VIREO-POWEROFF, QEMU exited after $(elapsed "$start")s"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# ask_within LINE REGEX SECONDS: ask, and the reply must come within SECONDS.
ask_within() {
    local start line
    start=$(now)
    line=$(ask "$1" "$2") || exit 1
    awk -v a="$start" -v b="$(now)" -v m="$3" 'BEGIN { exit !(b - a <= m) }' ||
        fail "'$1' took $(elapsed "$start")s (limit $3 s)"
    echo "$line"
}

qemu-img create -q -f qcow2 "$T/disk.qcow2" 64M

# Host side of the network checks (guest sees 127.0.0.1 as 10.0.2.2): a TCP
# peer that sends one line, a UDP receiver; hostfwd ports to guest 8001/8002.
greet_port=$(free_port); udp_port=$(free_port); fwd_listen=$(free_port); fwd_echo=$(free_port)
socat "TCP-LISTEN:$greet_port,bind=127.0.0.1,reuseaddr,fork" SYSTEM:'echo HELLO-SMOKE' 2>/dev/null &
peer_pids+=($!)
: > "$T/udp.out"
socat -u "UDP-RECV:$udp_port,bind=127.0.0.1" "OPEN:$T/udp.out,append" 2>/dev/null &
peer_pids+=($!)

# ---- boot 1: fresh disk, user-mode network ---------------------------------
boot "boot 1" -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$fwd_listen-:8001,hostfwd=tcp:127.0.0.1:$fwd_echo-:8002" \
    -smbios "type=1,serial=vireo.ip=10.0.2.15/24;vireo.gw=10.0.2.2"
boot1_time=$boot_time
line=$(wait_for '^VIREO-DISK-(WROTE|FOUND) ' 5) || fail "boot 1: no disk marker line"
case "$line" in
    "VIREO-DISK-WROTE "*) marker=${line#VIREO-DISK-WROTE }; ok "boot 1: $line" ;;
    *) fail "boot 1: fresh disk but got '$line'" ;;
esac
[ -n "$marker" ] || fail "boot 1: empty disk marker"
line=$(ask uptime '^VIREO-UPTIME [0-9]+(\.[0-9]+)?$'); ok "$line"
line=$(ask "echo smoke-echo-42" '^smoke-echo-42$'); ok "echo -> $line"
line=$(ask tick '^VIREO-TICK [0-9]+$'); ok "tick -> $line"
line=$(ask read-disk '^VIREO-DISK-'); [ "$line" = "VIREO-DISK-FOUND $marker" ] || fail "read-disk: '$line'"; ok "read-disk -> $line"

# network commands (the firewall tests use them; see README)
grep -a -q '^VIREO-NET eth0 10.0.2.15/24' "$log" || fail "boot 1: no 'VIREO-NET eth0 10.0.2.15/24' (SMBIOS serial parameters)"
ok "boot 1: VIREO-NET eth0 10.0.2.15/24 (parameters from the SMBIOS serial)"
line=$(ask_within "listen 8001" '^VIREO-LISTEN' 4); [ "$line" = "VIREO-LISTEN 8001" ] || fail "listen: '$line'"
reply=$(socat -T 5 - "TCP:127.0.0.1:$fwd_listen" </dev/null 2>&1 | tr -d '\r' || true)
[[ "$reply" =~ ^VIREO-GUEST\ vireo-guest\ [0-9.]+$ ]] || fail "listen 8001: connection got '$reply'"
ok "$line -> a connection got '$reply'"
line=$(ask_within "echo-listen 8002" '^VIREO-ECHO-LISTEN' 4); [ "$line" = "VIREO-ECHO-LISTEN 8002" ] || fail "echo-listen: '$line'"
reply=$(printf 'smoke-echo-1\nsmoke-echo-2\n' | socat -T 5 -t 3 - "TCP:127.0.0.1:$fwd_echo" 2>&1 | tr '\n' ' ' || true)
[ "$reply" = "smoke-echo-1 smoke-echo-2 " ] || fail "echo-listen 8002: echoed '$reply'"
ok "$line -> echoed '$reply'"
line=$(ask_within "connect 10.0.2.2 $greet_port" '^VIREO-CONNECT' 4)
[ "$line" = "VIREO-CONNECT ok HELLO-SMOKE" ] || fail "connect: '$line'"; ok "connect -> $line"
line=$(ask_within "connect 10.0.2.99 $greet_port" '^VIREO-CONNECT' 4)   # nobody answers ARP there
[ "$line" = "VIREO-CONNECT fail" ] || fail "connect to nobody: '$line'"; ok "connect to nobody -> $line"
line=$(ask_within "ping 10.0.2.2" '^VIREO-PING' 4)   # slirp answers echo requests to its gateway address
[ "$line" = "VIREO-PING ok" ] || fail "ping: '$line'"; ok "ping 10.0.2.2 -> $line"
line=$(ask_within "udp-send 10.0.2.2 $udp_port smoke udp text" '^VIREO-UDP' 4)
[ "$line" = "VIREO-UDP-SENT" ] || fail "udp-send: '$line'"
for i in $(seq 30); do grep -q 'vireo: smoke udp text$' "$T/udp.out" && break; sleep 0.1; done
grep -q 'vireo: smoke udp text$' "$T/udp.out" || fail "udp-send: received '$(cat "$T/udp.out")'"
ok "udp-send -> $line, received '$(cat "$T/udp.out")'"
line=$(ask_within "add-ip 10.0.2.50/24" '^VIREO-IP' 2); [ "$line" = "VIREO-IP-ADDED 10.0.2.50/24" ] || fail "add-ip: '$line'"; ok "add-ip -> $line"
line=$(ask_within "connect-from 10.0.2.99 10.0.2.2 $greet_port" '^VIREO-CONNECT' 4)
[ "$line" = "VIREO-CONNECT ok HELLO-SMOKE" ] || fail "connect-from: '$line'"; ok "connect-from 10.0.2.99 -> $line"
line=$(ask_within "del-ip 10.0.2.50/24" '^VIREO-IP' 2); [ "$line" = "VIREO-IP-DELETED 10.0.2.50/24" ] || fail "del-ip: '$line'"; ok "del-ip -> $line"
line=$(ask_within "set-mac 52:54:00:12:34:57" '^VIREO-MAC' 3); [ "$line" = "VIREO-MAC 52:54:00:12:34:57" ] || fail "set-mac: '$line'"
line=$(ask_within "connect 10.0.2.2 $greet_port" '^VIREO-CONNECT' 4)
[ "$line" = "VIREO-CONNECT ok HELLO-SMOKE" ] || fail "connect after set-mac: '$line'"; ok "set-mac 52:54:00:12:34:57, then connect -> $line"
powerdown "boot 1"

# ---- boot 2: the marker must survive ---------------------------------------
boot "boot 2"
line=$(wait_for '^VIREO-DISK-(WROTE|FOUND) ' 5) || fail "boot 2: no disk marker line"
[ "$line" = "VIREO-DISK-FOUND $marker" ] || fail "boot 2: expected 'VIREO-DISK-FOUND $marker', got '$line'"
ok "boot 2: $line"
powerdown "boot 2"

echo "smoke: boot time (QEMU start to VIREO-GUEST-READY, TCG): boot 1 ${boot1_time}s, boot 2 ${boot_time}s"
echo "smoke: 1 passed, 0 failed"
