#!/usr/bin/env bash
# Installs what building and testing Vireo needs on Debian 12, only what is missing.
# Debian packages: apt-get update once, then one apt-get install. Python: a venv in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libpam0g-dev libsqlite3-dev libcrypt-dev python3-venv curl wrk bc sqlite3 openssl qemu-utils qemu-system-x86 btrfs-progs util-linux e2fsprogs fdisk mmdebstrap extlinux xorriso isolinux syslinux-common cpio socat iproute2 iputils-ping gdisk smartmontools lvm2 nfs-common smbclient open-iscsi systemd-journal-remote openssh-client nftables procps librrd-dev pkg-config esbuild chromium chromium-driver etcd-server etcd-client)
# The guest build scripts fetch packages with `apt-get download`: apt must know the archive.
updated=0
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
    echo "apt has no package lists: apt-get update"
    apt-get update -qq
    updated=1
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    [ "$updated" = 1 ] || apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# vireod runs its own etcd member once the node is in a cluster (pvecm create/add): the
# distribution's etcd service, which Debian enables on 2379, would take its port.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
fi

# The web UI's noVNC and xterm.js, from pinned Debian packages into ui/vendor/ (git-ignored).
scripts/ui-vendor.sh

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import proxmoxer, requests, pytest, pve_exporter, prometheus_client, selenium, websocket' 2>/dev/null; then
    echo "installing the API test clients into .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/api/requirements.txt
fi
