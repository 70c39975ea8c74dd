# Sourced by the guest build scripts. require_packages PKG...: every package installed, or the
# missing ones installed with apt-get when VIREO_INSTALL_MISSING=1 (as root), else a clear error.
# Needs the caller's log and die functions.
require_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "${VIREO_INSTALL_MISSING:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        die "missing Debian packages: ${missing[*]}
  install them with: apt-get install -y ${missing[*]}
  (or run this script as root with VIREO_INSTALL_MISSING=1)"
    fi
}
