# shellcheck shell=bash
# Sourced by scripts/check-rules and scripts/e2e: make Debian's promtool, prometheus, amtool and
# prometheus-alertmanager available, installing the packages once if they are missing. The
# packages' own services are stopped again if the install started them: the scripts run their
# own instances on loopback ports.

ensure_prometheus_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
    command -v amtool >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1 \
        || missing+=(prometheus-alertmanager)
    [ ${#missing[@]} -eq 0 ] && return 0

    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "error: ${missing[*]} not installed, and not root (install: apt-get install ${missing[*]})" >&2
            return 1
        }
        sudo=(sudo)
    fi
    echo "installing ${missing[*]} (Debian packages)" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || return 1
    if command -v systemctl >/dev/null 2>&1; then
        local unit
        for unit in prometheus prometheus-alertmanager; do
            if systemctl is-active --quiet "$unit" 2>/dev/null; then
                "${sudo[@]}" systemctl stop "$unit" || true
            fi
        done
    fi
}
