#!/usr/bin/env bash
# Builds vireo-test-guest.iso, a tiny BIOS-bootable guest for Vireo's VM tests,
# from Debian packages only: the cloud kernel (linux-image-cloud-amd64) and
# busybox-static, fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into a temporary directory (nothing is installed, /boot is
# untouched). Output, in $1 (default <repo>/.cache/test-guest):
#   vireo-test-guest.iso   isolinux ISO, kernel command line "console=ttyS0"
#   vmlinuz, initrd.gz     the same kernel and initramfs, for direct boot
#                          (qemu -kernel/-initrd/-append "console=ttyS0 vireo.ip=...")
#   debs/                  the downloaded packages (reused on the next run)
# Idempotent: rebuilds only when this script, the guest's init or the
# packages changed. Prints the ISO's path last.
# Build tools come from REQUIRED_PACKAGES; with VIREO_INSTALL_MISSING=1, run as
# root, the missing ones are installed with apt-get.
set -euo pipefail

REQUIRED_PACKAGES="apt dpkg cpio gzip xorriso isolinux syslinux-common"
KERNEL_META=linux-image-cloud-amd64
BUSYBOX_PKG=busybox-static
# Loaded in this order by /init (after the dependencies of each, which are
# added automatically); "name:a=1,b=2" passes module parameters. The SCSI ones
# are for virtio-scsi disks (sda); the cloud kernel has no AHCI nor LSI driver.
# scsi_mod keeps its asynchronous scan: a synchronous one walks all 256
# virtio-scsi targets before insmod returns (about 7 s under TCG).
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
failover net_failover virtio_net virtio_blk evdev button
scsi_common scsi_mod sd_mod virtio_scsi"

die() { echo "build-test-guest: error: $*" >&2; exit 1; }
log() { echo "build-test-guest: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
init_src=$here/test-guest/init
out=${1:-$repo/.cache/test-guest}
[ -f "$init_src" ] || die "guest init not found: $init_src"

# ---- build tools ----------------------------------------------------------
# shellcheck source=lib/require-packages.sh
. "$here/lib/require-packages.sh"
# shellcheck disable=SC2086
require_packages $REQUIRED_PACKAGES
isolinux_bin=/usr/lib/ISOLINUX/isolinux.bin
isohybrid_mbr=/usr/lib/ISOLINUX/isohdpfx.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "$isolinux_bin" "$isohybrid_mbr" "$ldlinux"; do
    [ -f "$f" ] || die "$f not found (packages isolinux, syslinux-common)"
done

# ---- packages: download once into $out/debs --------------------------------
mkdir -p "$out/debs"
out=$(cd "$out" && pwd)
debs=$out/debs

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'; }
# Prints the path of package $1's .deb in $debs, downloading the candidate
# version if it is not there yet; offline, falls back to a cached one.
fetch() {
    local pkg=$1 ver file
    ver=$(candidate "$pkg")
    if [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
        file="$debs/${pkg}_${ver//:/%3a}_amd64.deb"
        if [ ! -s "$file" ]; then
            log "downloading $pkg $ver"
            (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:amd64" >/dev/null) ||
                die "apt-get download $pkg failed"
        fi
        [ -s "$file" ] || die "apt-get download $pkg did not produce $file"
    else
        file=$(ls -1 "$debs/${pkg}"_*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
        [ -n "$file" ] || die "apt does not know $pkg: run 'apt-get update' (as root) first"
        log "apt does not know $pkg; using cached $(basename "$file")"
    fi
    echo "$file"
}
kernel_pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true)
if [ -z "$kernel_pkg" ]; then
    cached=$(ls -1 "$debs"/linux-image-[0-9]*-cloud-amd64_*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$cached" ] || die "apt does not know $KERNEL_META: run 'apt-get update' (as root) first"
    kernel_pkg=$(basename "$cached"); kernel_pkg=${kernel_pkg%%_*}
fi
kernel_deb=$(fetch "$kernel_pkg")
busybox_deb=$(fetch "$BUSYBOX_PKG")

# ---- up to date? -----------------------------------------------------------
iso=$out/vireo-test-guest.iso
stamp=$( { sha256sum "${BASH_SOURCE[0]}" "$init_src" | cut -d' ' -f1; basename "$kernel_deb"; basename "$busybox_deb"; } | sha256sum | cut -d' ' -f1)
if [ -s "$iso" ] && [ -s "$out/initrd.gz" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "up to date ($(du -h "$iso" | cut -f1))"
    echo "$iso"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-test-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- unpack ----------------------------------------------------------------
log "unpacking $(basename "$kernel_deb") and $(basename "$busybox_deb")"
dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
vmlinuz=
for f in "$work"/kernel/boot/vmlinuz-*; do [ -f "$f" ] && vmlinuz=$f && break; done
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $(basename "$kernel_deb")"
kver=${vmlinuz##*/vmlinuz-}
moddir=
for d in "$work/kernel/lib/modules/$kver" "$work/kernel/usr/lib/modules/$kver"; do [ -d "$d" ] && moddir=$d && break; done
[ -n "$moddir" ] || die "no modules directory for $kver in $(basename "$kernel_deb")"
bb=$work/busybox/bin/busybox
[ -x "$bb" ] || die "no /bin/busybox in $(basename "$busybox_deb")"

# ---- initramfs tree --------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc/vireo,lib/modules}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
applets=$("$root/bin/busybox" --list 2>/dev/null || true)
[ -n "$applets" ] || applets="sh ash cat dd echo grep awk sed tr cut head wc ip nc insmod mount mkdir hostname stty sleep sync poweroff udhcpc printf"
for a in $applets; do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
install -m 0755 "$init_src" "$root/init"
echo "$kver" > "$root/etc/vireo/kernel"

# Modules: stored uncompressed (busybox insmod loads plain .ko files) as
# /lib/modules/<name>.ko; dependencies (read from the .modinfo section) first.
declare -A seen=()
modlist=$root/etc/vireo/modules
: > "$modlist"
builtin_mods=() missing_mods=()
find_ko() {
    local n=$1 alt=${1//_/-}
    find "$moddir" -type f \( -name "$n.ko" -o -name "$n.ko.*" -o -name "$alt.ko" -o -name "$alt.ko.*" \) | head -n 1
}
add_module() {
    local spec=$1 name args="" src dst deps d
    name=${spec%%:*}
    [ "$name" = "$spec" ] || args=${spec#*:}
    [ -z "${seen[$name]:-}" ] || return 0
    seen[$name]=1
    src=$(find_ko "$name")
    if [ -z "$src" ]; then
        if grep -Eq "/(${name}|${name//_/-})\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
            builtin_mods+=("$name")
        else
            missing_mods+=("$name")
        fi
        return 0
    fi
    dst=$root/lib/modules/$name.ko
    case "$src" in
        *.ko) cp "$src" "$dst" ;;
        *.ko.xz) command -v xz >/dev/null || die "$src is xz-compressed: install xz-utils"; xz -dc "$src" > "$dst" ;;
        *.ko.zst) command -v zstd >/dev/null || die "$src is zstd-compressed: install zstd"; zstd -qdc "$src" > "$dst" ;;
        *.ko.gz) gzip -dc "$src" > "$dst" ;;
        *) die "unknown module compression: $src" ;;
    esac
    deps=$(tr '\0' '\n' < "$dst" | sed -n 's/^depends=//p' | head -n 1)
    for d in ${deps//,/ }; do add_module "$d"; done
    echo "$name${args:+ ${args//,/ }}" >> "$modlist"
}
for spec in $MODULES; do add_module "$spec"; done
[ ${#builtin_mods[@]} -eq 0 ] || log "built into the kernel: ${builtin_mods[*]}"
[ ${#missing_mods[@]} -eq 0 ] || log "not in the kernel package (skipped): ${missing_mods[*]}"

# ---- initramfs archive -----------------------------------------------------
# One newc entry written by hand: /dev/console must exist before devtmpfs is
# mounted (the kernel opens it for init), and mknod would need root.
newc_entry() { # name mode-hex rdevmajor rdevminor inode
    local name=$1 namesize=$((${#1} + 1)) pad
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$5" "0x$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
    printf '%s\0' "$name"
    pad=$(( (4 - (110 + namesize) % 4) % 4 ))
    [ $pad -eq 0 ] || head -c "$pad" /dev/zero
}
(
    cd "$root"
    find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet
    newc_entry dev/console 2180 5 1 900001   # 0020600: char device, rw-------
    newc_entry TRAILER!!! 0 0 0 0
) | gzip -9 -n > "$work/initrd.gz"

# ---- ISO -------------------------------------------------------------------
iso_root=$work/iso
mkdir -p "$iso_root/isolinux" "$iso_root/boot"
cp "$isolinux_bin" "$ldlinux" "$iso_root/isolinux/"
cp "$vmlinuz" "$iso_root/boot/vmlinuz"
cp "$work/initrd.gz" "$iso_root/boot/initrd.gz"
cat > "$iso_root/isolinux/isolinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT vireo
PROMPT 0
TIMEOUT 0
LABEL vireo
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.gz
  APPEND console=ttyS0
EOF
log "packing ISO (kernel $kver)"
xorriso -as mkisofs -quiet -o "$work/out.iso" -V VIREO_TEST_GUEST -J -R \
    -isohybrid-mbr "$isohybrid_mbr" -c isolinux/boot.cat -b isolinux/isolinux.bin \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$iso_root" >/dev/null 2>"$work/xorriso.log" ||
    { cat "$work/xorriso.log" >&2; die "xorriso failed"; }

cp "$vmlinuz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$work/initrd.gz" "$out/initrd.gz.tmp" && mv "$out/initrd.gz.tmp" "$out/initrd.gz"
mv "$work/out.iso" "$iso"
echo "$stamp" > "$out/.stamp"
log "built $(du -h "$iso" | cut -f1): kernel $kver, modules: $(cut -d' ' -f1 "$modlist" | tr '\n' ' ')"
echo "$iso"
