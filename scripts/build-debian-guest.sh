#!/usr/bin/env bash
# Builds debian-guest.qcow2, a small BIOS-bootable Debian 12 (bookworm) disk
# image for Vireo's guest-agent and cloud-init tests, from Debian packages only
# (mmdebstrap, minbase variant plus the packages below, no recommends).
# Output, in $1 (default <repo>/.cache/debian-guest):
#   debian-guest.qcow2   2 GiB MBR disk, one ext4 partition (label
#                        debian-root) booted by extlinux with no menu; kernel
#                        command line "console=tty0 console=ttyS0,115200n8
#                        net.ifnames=0": boot log and login prompt on the
#                        serial port, first NIC named eth0
# The guest runs cloud-init (datasources NoCloud, ConfigDrive, None; network
# config applied by ifupdown), qemu-guest-agent (started by udev when the
# virtio-serial port org.qemu.guest_agent.0 appears) and sshd (host keys made
# on first boot). Root has no password: give users through cloud-init.
# It boots from virtio-blk, virtio-scsi, IDE or NVMe disks; the seed (volume
# label cidata or config-2) on an IDE or SCSI CD-ROM. Use it through an
# overlay so that it stays unmodified, e.g.
#   qemu-img create -f qcow2 -F qcow2 -b debian-guest.qcow2 overlay.qcow2
#   qemu-system-x86_64 -accel tcg -m 512 -display none -serial file:serial.log \
#     -drive file=overlay.qcow2,if=virtio -drive file=seed.iso,media=cdrom \
#     -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
#     -device virtio-net-pci,netdev=n0 \
#     -chardev socket,path=qga.sock,server=on,wait=off,id=qga0 \
#     -device virtio-serial -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0
# Idempotent: rebuilds only when this script changed (the packages are
# whatever bookworm has at build time; delete the image to refresh them).
# Prints the image's path last. Needs root (mmdebstrap's root mode, a loop
# device and a mount) and the Debian archive (VIREO_DEBIAN_MIRROR and
# VIREO_DEBIAN_SECURITY_MIRROR override deb.debian.org). Build tools come
# from REQUIRED_PACKAGES; with VIREO_INSTALL_MISSING=1 the missing ones are
# installed with apt-get.
set -euo pipefail

REQUIRED_PACKAGES="mmdebstrap e2fsprogs fdisk mount extlinux syslinux-common qemu-utils"
SUITE=bookworm
MIRROR=${VIREO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VIREO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# udev loads the virtio modules and starts qemu-guest-agent; dbus is for
# logind, hostnamectl and friends; ifupdown applies cloud-init's network
# config (see the customize hook), resolvconf its nameservers and search
# domains (ifupdown alone ignores them); cloud-guest-utils is growpart, for
# cloud-init's growpart module after a disk resize.
PACKAGES="systemd-sysv udev dbus linux-image-cloud-amd64 initramfs-tools
cloud-init cloud-guest-utils qemu-guest-agent openssh-server
ifupdown resolvconf netbase iproute2 sudo"
# The initramfs gets only these (plus their dependencies): the disk drivers
# (ext4 and NVMe are built into the cloud kernel), and the CD-ROM ones: the
# NoCloud/ConfigDrive seed must be visible to blkid when cloud-init's
# generator runs (ds-identify, before udev loads modules), else cloud-init is
# disabled for the boot.
INITRAMFS_MODULES="virtio_pci virtio_blk virtio_scsi sd_mod sr_mod ata_piix ata_generic"
# Units that only cost boot time (or run later and disturb tests) here.
MASKED_UNITS="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
e2scrub_all.timer e2scrub_reap.service fstrim.timer"
DISK_MIB=2048
CMDLINE="ro console=tty0 console=ttyS0,115200n8 net.ifnames=0"

die() { echo "build-debian-guest: error: $*" >&2; exit 1; }
log() { echo "build-debian-guest: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$repo/.cache/debian-guest}
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap root mode, losetup, mount)"

# ---- build tools ----------------------------------------------------------
# shellcheck source=lib/require-packages.sh
. "$here/lib/require-packages.sh"
# shellcheck disable=SC2086
require_packages $REQUIRED_PACKAGES
mbr_bin=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$mbr_bin" ] || die "$mbr_bin not found (package syslinux-common)"
merged_usr_hooks=/usr/share/mmdebstrap/hooks/merged-usr
[ -d "$merged_usr_hooks" ] || die "$merged_usr_hooks not found (package mmdebstrap)"

# ---- up to date? -----------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
# One build at a time per output folder (parallel test workers): the others
# wait, then find the image up to date.
exec 9>"$out/.lock"
flock 9
image=$out/debian-guest.qcow2
stamp=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
if [ -s "$image" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "up to date ($(du -h "$image" | cut -f1))"
    echo "$image"
    exit 0
fi

# ---- cleanup, on success and failure alike ---------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-debian-guest.XXXXXX")
loop=
cleanup() {
    # Whatever is still mounted below $work (our mount point, or what an
    # interrupted mmdebstrap left in the chroot: /proc, /sys, /dev), deepest
    # first, before anything is deleted; rm never crosses into a mount.
    awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
    [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
    # Retried: when mmdebstrap itself was killed, its dpkg may still be
    # writing into the chroot for a moment.
    local i
    for i in 1 2 3 4 5; do
        rm -rf --one-file-system "$work" 2>/dev/null && break
        sleep 1
    done
    [ ! -e "$work" ] || log "could not remove $work"
    rm -f "$image.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rootfs=$work/rootfs
root_uuid=$(cat /proc/sys/kernel/random/uuid)

# ---- mmdebstrap hooks ------------------------------------------------------
# Before the kernel is installed, so that its postinst builds the small
# initramfs only once (MODULES=most would put in every storage driver: 15 MB,
# slow to unpack under TCG; dep mode would look at the build host's disks).
cat > "$work/essential-hook" <<'EOF'
#!/bin/sh
set -eu
r=$1
mkdir -p "$r/etc/initramfs-tools/conf.d" "$r/usr/share/initramfs-tools/modules.d"
printf 'MODULES=list\nRESUME=none\n' > "$r/etc/initramfs-tools/conf.d/vireo.conf"
# /etc/initramfs-tools/modules is a conffile: this directory is read as well.
printf '%s\n' $VIREO_INITRAMFS_MODULES > "$r/usr/share/initramfs-tools/modules.d/vireo"
EOF

# With every package installed, /proc, /sys and /dev still mounted (systemctl).
cat > "$work/customize-hook" <<'EOF'
#!/bin/sh
set -eu
r=$1
kernel=$(cd "$r/boot" && ls vmlinuz-* | sort -V | tail -n 1)
kver=${kernel#vmlinuz-}
[ -f "$r/boot/initrd.img-$kver" ] || { echo "no initrd.img-$kver" >&2; exit 1; }

# (mmdebstrap copied the build host's hostname.)
echo debian-guest > "$r/etc/hostname"
cat > "$r/etc/hosts" <<CFG
127.0.0.1	localhost
127.0.1.1	debian-guest
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
CFG
# No fsck at boot (pass 0): it costs seconds under TCG, and the journal
# covers a guest that was killed.
echo "UUID=$VIREO_ROOT_UUID / ext4 errors=remount-ro 0 0" > "$r/etc/fstab"
# The build host's resolver means nothing in the guest: resolvconf made
# /etc/resolv.conf a link into /run, and kept the host's file as "original".
rm -f "$r/etc/resolvconf/resolv.conf.d/original"
[ -L "$r/etc/resolv.conf" ] || : > "$r/etc/resolv.conf"
# cloud-init's locale module regenerates locales (slow) unless the requested
# locale (default: the system's) is already the system's.
echo LANG=C.UTF-8 > "$r/etc/default/locale"

# extlinux boots the kernel by its file name (no symlink lookups), at once.
mkdir -p "$r/boot/extlinux"
cat > "$r/boot/extlinux/extlinux.conf" <<CFG
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  LINUX /boot/vmlinuz-$kver
  INITRD /boot/initrd.img-$kver
  APPEND root=UUID=$VIREO_ROOT_UUID $VIREO_CMDLINE
CFG

# cloud-init: only local datasources, so that nothing waits for a metadata
# server; None keeps the modules running (users, ssh keys) if a seed is
# there but unusable. The network config goes to ifupdown
# (/etc/network/interfaces.d/50-cloud-init, brought up by networking.service,
# which cloud-init.service waits for), not systemd-networkd: networkd holds a
# static link in "configuring" until an IPv6 router advertisement comes or its
# 12 s solicitation timeout ends, and cloud-init waits for that.
# Host keys: ed25519 and ecdsa only; RSA and DSA keys take seconds each to
# make under TCG. /etc/hosts gets the hostname from meta-data (sudo looks it
# up). All of these can be overridden by user-data.
cat > "$r/etc/cloud/cloud.cfg.d/90_vireo.cfg" <<CFG
datasource_list: [ NoCloud, ConfigDrive, None ]
system_info:
  network:
    renderers: [ eni ]
ssh_genkeytypes: [ ed25519, ecdsa ]
manage_etc_hosts: true
CFG

# qemu-guest-agent needs nothing here: its udev rule (SYSTEMD_WANTS) starts
# it when the virtio-serial port org.qemu.guest_agent.0 appears.

# QEMU's default TCG CPU shows SVM: udev would load kvm_amd for nothing.
printf 'blacklist kvm_amd\nblacklist kvm_intel\nblacklist kvm\n' > "$r/etc/modprobe.d/vireo-no-kvm.conf"

# SSH host keys: none baked in. cloud-init's ssh module makes them before
# sshd starts; this unit covers boots where cloud-init is disabled (no
# datasource found) so that sshd never starts without keys.
rm -f "$r"/etc/ssh/ssh_host_*
cat > "$r/etc/systemd/system/ssh-hostkeys.service" <<CFG
[Unit]
Description=Generate missing SSH host keys
After=cloud-init.service
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
CFG
chroot "$r" systemctl enable -q ssh-hostkeys.service
chroot "$r" systemctl mask -q $VIREO_MASKED_UNITS

# First boot state: machine-id made at boot, no logs nor caches of the build.
: > "$r/etc/machine-id"
rm -f "$r/var/lib/dbus/machine-id"
# (mmdebstrap leaves the .debs in its cache once a hook ran apt-get, as the
# merged-usr one does.)
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r"/var/log/apt/* "$r"/tmp/* "$r"/var/tmp/*
find "$r/var/log" -type f -exec truncate -s 0 {} +
EOF
chmod +x "$work/essential-hook" "$work/customize-hook"

# ---- root filesystem -------------------------------------------------------
log "mmdebstrap $SUITE into $rootfs"
include=$(echo $PACKAGES | tr ' ' ,)
# On this build host, mmdebstrap with this package set empties the host's
# /var/lib/apt/lists (the cause is not found yet; a bare mmdebstrap does not).
# It runs in a mount namespace of its own with a scratch tmpfs there, so the
# host's lists stay as they are (the build itself uses apt state in the chroot).
VIREO_INITRAMFS_MODULES=$INITRAMFS_MODULES VIREO_ROOT_UUID=$root_uuid \
VIREO_CMDLINE=$CMDLINE VIREO_MASKED_UNITS=$(echo $MASKED_UNITS) \
unshare --mount --propagation private \
    sh -c 'mount -t tmpfs vireo-apt-lists /var/lib/apt/lists && exec "$@"' sh \
mmdebstrap --quiet --mode=root --variant=minbase --include="$include" \
    --hook-dir="$merged_usr_hooks" \
    --essential-hook="$work/essential-hook" \
    --customize-hook="$work/customize-hook" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$SUITE" "$rootfs" \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb $SECURITY_MIRROR $SUITE-security main" >"$work/mmdebstrap.log" 2>&1 ||
    { tail -n 40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (its log's end above)"; }
kver=$(cd "$rootfs/boot" && ls vmlinuz-* | sort -V | tail -n 1); kver=${kver#vmlinuz-}

# ---- disk ------------------------------------------------------------------
# MBR with one bootable partition from 1 MiB to the end. No partition device
# is needed (this build host's kernel may lack partition tables altogether,
# so no losetup --partscan): the filesystem is made from the tree, in place
# at the partition's offset (mkfs.ext4 -d -E offset), and mounted through a
# loop device with that offset only for extlinux, which must write its boot
# sector and ldlinux.sys through a mounted filesystem. It then records sectors
# relative to the filesystem; at boot, the partition's offset comes from the
# MBR code (mbr.bin hands the partition entry over).
disk=$work/disk.raw
part_offset=$((1024 * 1024))
part_bytes=$(( (DISK_MIB - 1) * 1024 * 1024 ))
truncate -s "${DISK_MIB}M" "$disk"
log "mkfs.ext4 ($(du -sh "$rootfs" | cut -f1) of files)"
mkfs.ext4 -q -F -L debian-root -U "$root_uuid" -E offset=$part_offset -d "$rootfs" \
    "$disk" $((part_bytes / 1024))k
loop=$(losetup --find --show --offset $part_offset --sizelimit $part_bytes "$disk")
mkdir "$work/mnt"
mount -t ext4 "$loop" "$work/mnt"
extlinux --install "$work/mnt/boot/extlinux" >/dev/null 2>"$work/extlinux.log" ||
    { cat "$work/extlinux.log" >&2; die "extlinux --install failed"; }
umount "$work/mnt"
losetup -d "$loop"
loop=
# After mkfs, which may wipe what it takes for old signatures.
# (sfdisk notes the ext4 signature in the new partition: that is the point.)
echo "start=2048, type=83, bootable" |
    sfdisk --quiet --wipe-partitions never --label dos "$disk" >/dev/null 2>&1 ||
    die "sfdisk failed on $disk"
dd if="$mbr_bin" of="$disk" bs=440 count=1 conv=notrunc status=none

# ---- image -----------------------------------------------------------------
# zstd-compressed clusters: a third of the size, 2 s to write; QEMU >= 5.1
# reads them (writes go to the overlay, uncompressed).
qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd "$disk" "$image.tmp"
mv "$image.tmp" "$image"
echo "$stamp" > "$out/.stamp"
log "built $(du -h "$image" | cut -f1) (virtual ${DISK_MIB} MiB): kernel $kver"
echo "$image"
