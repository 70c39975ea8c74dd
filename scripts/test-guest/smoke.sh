#!/usr/bin/env bash
# Smoke test of the Vireo test guest ISO: boots it twice under TCG with a
# 64 MiB qcow2 virtio disk and no network, and checks the ready marker, the
# console commands, the disk marker (written on boot 1, found on boot 2) and
# the ACPI power-down through QMP. Exits 0 only if every check passes.
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

REQUIRED_PACKAGES="qemu-system-x86 qemu-utils socat"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
iso=${1:-$repo/.cache/test-guest/vireo-test-guest.iso}
ready_timeout=${READY_TIMEOUT:-120}

for c in qemu-system-x86_64 qemu-img socat; do
    command -v "$c" >/dev/null || { echo "smoke: $c not found; install: apt-get install -y $REQUIRED_PACKAGES" >&2; exit 2; }
done
[ -f "$iso" ] || { echo "smoke: ISO not found: $iso (run scripts/build-test-guest.sh)" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vireo-smoke.XXXXXX")
qemu_pid=""
socat_pid=""

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

boot() { # name: starts QEMU and the console client, waits for the ready marker
    local name=$1 start i
    rm -f "$T/serial.sock" "$T/qmp.sock" "$T/in"
    : > "$log"
    start=$(now)
    qemu-system-x86_64 -accel tcg -m 256 -nographic -monitor none \
        -chardev "socket,id=ser0,path=$T/serial.sock,server=on,wait=off" -serial chardev:ser0 \
        -qmp "unix:$T/qmp.sock,server=on,wait=off" \
        -cdrom "$iso" -boot d \
        -drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
        -nic none </dev/null >"$T/qemu.out" 2>&1 &
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

qemu-img create -q -f qcow2 "$T/disk.qcow2" 64M

# ---- boot 1: fresh disk ----------------------------------------------------
boot "boot 1"
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
powerdown "boot 1"

# ---- boot 2: the marker must survive ---------------------------------------
boot "boot 2"
line=$(wait_for '^VIREO-DISK-(WROTE|FOUND) ' 5) || fail "boot 2: no disk marker line"
[ "$line" = "VIREO-DISK-FOUND $marker" ] || fail "boot 2: expected 'VIREO-DISK-FOUND $marker', got '$line'"
ok "boot 2: $line"
powerdown "boot 2"

echo "smoke: boot time (QEMU start to VIREO-GUEST-READY, TCG): boot 1 ${boot1_time}s, boot 2 ${boot_time}s"
echo "smoke: 1 passed, 0 failed"
