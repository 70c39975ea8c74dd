#!/usr/bin/env bash
# Extracts the web UI's third-party code from pinned Debian packages, without installing them
# (their Depends pull nodejs and more): `apt-get download` into a temp dir, `dpkg-deb -x`, copy
# what is served, bundle xterm.js as an ES module with Debian's esbuild, delete the .debs.
#
#   scripts/ui-vendor.sh [OUT_DIR]     (default: <repo>/ui/vendor, git-ignored)
#
# OUT_DIR/novnc/{core,vendor/pako}/**   noVNC's ES modules as in /usr/share/novnc/ (`novnc`)
# OUT_DIR/xterm/xterm.mjs               xterm.js + fit addon, one ES module: export { Terminal, fit }
#                                       (`node-xterm` lib/xterm.js, `libjs-xterm` addons/fit/fit.js)
# OUT_DIR/xterm/xterm.css
# OUT_DIR/<name>/copyright              the packages' Debian copyright files
# OUT_DIR/VERSIONS                      package, version, sha256 of each .deb
#
# Nothing is done when OUT_DIR/VERSIONS already matches the pins below.
set -euo pipefail

# The pins. libjs-xterm is built from the same source as node-xterm and holds the addons that
# node-xterm's lib/addons symlink points to. A changed pin needs the new .deb's sha256
# (`apt-cache show PKG=VERSION | grep SHA256`).
NOVNC_VERSION="1:1.3.0-1"
NOVNC_SHA256="5ff8b8c93c1c6cc911e01bfa77d12d4098e1904f738a996040c8095e02492ebb"
XTERM_VERSION="3.8.1+~cs0.9.0-1+deb12u1"
NODE_XTERM_SHA256="c949c5031705e57dd10c7338f04d8ea595900e3420f2ecf3c7ea88f3982dc18a"
LIBJS_XTERM_SHA256="34c9e0736972f045612f34758d5856e4c0d6762c8740b2a019dac8b0781137c0"

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/ui/vendor}"

die() { echo "ui-vendor: $*" >&2; exit 1; }

pins() {
    printf '%s %s %s\n' \
        novnc "$NOVNC_VERSION" "$NOVNC_SHA256" \
        node-xterm "$XTERM_VERSION" "$NODE_XTERM_SHA256" \
        libjs-xterm "$XTERM_VERSION" "$LIBJS_XTERM_SHA256"
}

served=(novnc/core/rfb.js novnc/vendor/pako/lib/zlib/inflate.js novnc/copyright
        xterm/xterm.mjs xterm/xterm.css xterm/copyright)

up_to_date() {
    [ -f "$out/VERSIONS" ] || return 1
    [ "$(grep -v '^#' "$out/VERSIONS")" = "$(pins)" ] || return 1
    local f
    for f in "${served[@]}"; do [ -s "$out/$f" ] || return 1; done
}

if up_to_date; then
    exit 0
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs apt-get and dpkg-deb (Debian)"
command -v esbuild >/dev/null || die "needs Debian's esbuild: apt-get install esbuild (scripts/install-deps.sh does)"

work="$(mktemp -d /tmp/vireo-ui-vendor.XXXXXX)"
staging=""
cleanup() {
    rm -rf "$work"
    [ -z "$staging" ] || rm -rf "$staging"
}
trap cleanup EXIT

# Downloads PKG=VERSION into $work/debs, checks its sha256 against the pin, extracts it into
# $work/root. Fails naming the package and what the archive has when the pin is gone.
fetch() {
    local pkg="$1" version="$2" sha="$3" deb actual offered
    offered="$(apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u)"
    if ! grep -qxF "$version" <<<"$offered"; then
        die "the archive has no $pkg $version (pinned in $0); it offers: $(paste -sd' ' <<<"$offered" | sed 's/^$/nothing (apt-get update?)/')"
    fi
    (cd "$work/debs" && apt-get download -qq "$pkg=$version" >/dev/null) \
        || die "apt-get download $pkg=$version failed"
    deb="$(ls "$work/debs/${pkg}_"*.deb)"
    actual="$(sha256sum "$deb" | cut -d' ' -f1)"
    [ "$actual" = "$sha" ] || die "$pkg $version: sha256 $actual, pinned $sha (in $0)"
    dpkg-deb -x "$deb" "$work/root"
    rm -f "$deb"
}

mkdir -p "$work/debs" "$work/root"
# apt drops privileges to _apt for downloads; let it write there (else it warns and runs as root).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chmod 711 "$work"
    chown _apt "$work/debs"
fi
fetch novnc "$NOVNC_VERSION" "$NOVNC_SHA256"
fetch node-xterm "$XTERM_VERSION" "$NODE_XTERM_SHA256"
fetch libjs-xterm "$XTERM_VERSION" "$LIBJS_XTERM_SHA256"

mkdir -p "$(dirname "$out")"
staging="$(mktemp -d "$(dirname "$out")/.ui-vendor.XXXXXX")"
chmod 755 "$staging"
root="$work/root"

# noVNC: core and pako exactly as packaged; core imports ../vendor/pako/lib/zlib/*.js.
mkdir -p "$staging/novnc/vendor"
cp -a "$root/usr/share/novnc/core" "$staging/novnc/core"
cp -a "$root/usr/share/novnc/vendor/pako" "$staging/novnc/vendor/pako"
cp "$root/usr/share/doc/novnc/copyright" "$staging/novnc/copyright"

# xterm.js: node-xterm's CommonJS build plus the fit addon, bundled as one ES module.
xterm_lib="$root/usr/share/nodejs/xterm/lib"
fit_js="$root/usr/share/javascript/xterm/addons/fit/fit.js"
[ -f "$xterm_lib/xterm.js" ] && [ -f "$fit_js" ] || die "node-xterm/libjs-xterm $XTERM_VERSION: lib/xterm.js or addons/fit/fit.js not where expected"
cat >"$work/entry.js" <<EOF
import Terminal from '$xterm_lib/xterm.js';
import * as fit from '$fit_js';
export { Terminal, fit };
EOF
mkdir -p "$staging/xterm"
esbuild "$work/entry.js" --bundle --format=esm --minify --log-level=warning \
    --banner:js="/* xterm.js ${XTERM_VERSION%%+*} with its fit addon, from Debian node-xterm and libjs-xterm $XTERM_VERSION; MIT (Expat), see copyright */" \
    --outfile="$staging/xterm/xterm.mjs"
cp "$xterm_lib/xterm.css" "$staging/xterm/xterm.css"
cp "$root/usr/share/doc/node-xterm/copyright" "$staging/xterm/copyright"

{
    echo "# package version sha256 of the .deb; written by scripts/ui-vendor.sh, xterm.mjs bundled by esbuild $(esbuild --version)"
    pins
} >"$staging/VERSIONS"

rm -rf "$out"
mv "$staging" "$out"
staging=""
echo "ui-vendor: noVNC $NOVNC_VERSION and xterm.js $XTERM_VERSION extracted into $out"
