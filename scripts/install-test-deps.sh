#!/usr/bin/env bash
# Installs the servers that the integration tests start privately (tests/support/servers.rs):
# redis-server (+ redis-cli), the PostgreSQL server binaries, headless Chromium and
# chromedriver, all from Debian packages; and PyNaCl from PyPI for tests/python_interop.rs.
# Idempotent: what is already there is left alone.
# Prints one line per dependency ("found" or "installed").
#
# The packages' own system services are never left running: a policy-rc.d that refuses
# service starts is in place while installing (unless one already exists), and any system
# redis/postgres that a package started anyway is stopped, so that nothing holds ports.
#
# Usage: scripts/install-test-deps.sh   (as root, or with sudo available)
set -euo pipefail

log() { echo "install-test-deps: $*"; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=()
fi
as_root() { "${SUDO[@]}" "$@"; }

# PyNaCl (libsodium) from PyPI, for the Python implementation of the wire format that
# tests/python_interop.rs runs (tests/python/tss_sealed.py). Checked first, because the
# system packages below may all be present already.
PYNACL_VERSION=1.6.2
if ! command -v python3 >/dev/null 2>&1; then
    log "python3: missing; install Python 3 with pip (tests/python_interop.rs needs it)" >&2
    exit 1
elif python3 -c 'import nacl.bindings' >/dev/null 2>&1; then
    log "pynacl: found"
elif python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "pynacl==$PYNACL_VERSION"; then
    log "pynacl: installed"
else
    log "pynacl: pip install pynacl==$PYNACL_VERSION failed" >&2
    exit 1
fi

# The server binaries of the newest PostgreSQL under /usr/lib/postgresql, if any.
pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
have_postgres() { pg_bindir >/dev/null || { command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; }; }
have_chromium() { [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; }
have_chromedriver() { [ -x /usr/bin/chromedriver ] || command -v chromedriver >/dev/null 2>&1; }

# name | check function | Debian packages
deps=(
    "redis-server|have_redis|redis-server redis-tools"
    "postgresql|have_postgres|postgresql"
    "chromium|have_chromium|chromium"
    "chromium-driver|have_chromedriver|chromium-driver"
)

missing=()
packages=()
for entry in "${deps[@]}"; do
    IFS='|' read -r name check pkgs <<<"$entry"
    if "$check"; then
        log "$name: found"
    else
        missing+=("$name|$check")
        # shellcheck disable=SC2206 # word splitting of the package list is intended
        packages+=($pkgs)
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    log "missing: ${packages[*]}; not root and no sudo, install them with apt-get" >&2
    exit 1
fi

# Keep the packages' postinst scripts from starting system services (there is no init
# system here, and the tests run their own servers on their own ports).
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup_policy() {
    if [ "$created_policy" -eq 1 ]; then
        as_root rm -f "$policy"
    fi
}
trap cleanup_policy EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# installed by scripts/install-test-deps.sh while installing\nexit 101\n' |
        as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
log "installing: ${packages[*]}"
if ! apt_install "${packages[@]}"; then
    log "apt-get install failed; running apt-get update and trying again"
    as_root apt-get update
    apt_install "${packages[@]}"
fi

cleanup_policy
created_policy=0

# Stop any system server that a package started despite the policy.
if command -v service >/dev/null 2>&1; then
    as_root service redis-server stop >/dev/null 2>&1 || true
    as_root service postgresql stop >/dev/null 2>&1 || true
fi
for pidfile in /run/redis/redis-server.pid /var/run/redis/redis-server.pid; do
    if [ -s "$pidfile" ]; then
        as_root kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
done
if command -v pg_lsclusters >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver cluster _port status _rest; do
        case "$status" in
        online*) as_root pg_ctlcluster --mode fast "$ver" "$cluster" stop || true ;;
        esac
    done
fi

status=0
for entry in "${missing[@]}"; do
    IFS='|' read -r name check <<<"$entry"
    if "$check"; then
        log "$name: installed"
    else
        log "$name: still missing after apt-get install" >&2
        status=1
    fi
done
exit "$status"
