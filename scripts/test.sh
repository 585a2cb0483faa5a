#!/usr/bin/env bash
# The project's test command: installs the test servers' packages if missing
# (scripts/install-test-deps.sh), then runs `cargo test --all-features` with any extra
# arguments given, e.g. `scripts/test.sh --test servers -- --nocapture`.
#
# The tests start private redis/postgres/chromedriver servers in directories named
# tss-test-* (tests/support/servers.rs) under a fresh ${TMPDIR:-/tmp}/tss-run-* directory of
# this run, and stop them when done. Whatever a
# crashed or killed test process left running there is killed afterwards, also when the
# tests fail or are interrupted, and those directories are removed. The exit status is
# cargo's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="${TMPDIR:-/tmp}"
tmp="${tmp%/}"
# A directory of this run's own, so that cleaning up never touches another run's servers
# (a second test run, or the benchmarks, on the same machine).
run_dir="$(mktemp -d "$tmp/tss-run-XXXXXX")"
# mktemp makes it 0700; the PostgreSQL server runs as the postgres user and must reach its
# data directory inside.
chmod 755 "$run_dir"
export TMPDIR="$run_dir"
marker="$run_dir/tss-test-"

# Pids of the test servers left running: the processes whose command line mentions a path
# under the marker (the harness passes each server its directory), those named by a server's
# pidfile there and running in that directory, and all their descendants (postgres rewrites
# its children's process titles; Chromium has helper processes).
leftover_pids() {
    local -A ppid_of=()
    local -A found=()
    local dir pid ppid stat rest changed pidfile piddir cwd
    local -a args
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        [ "$pid" = "$$" ] && continue
        # (builtins only: no fork per process)
        mapfile -d '' -t args 2>/dev/null <"$dir/cmdline" || continue
        if [[ "${args[*]}" == *"$marker"* ]]; then
            found[$pid]=1
        fi
        read -r stat 2>/dev/null <"$dir/stat" || continue
        rest="${stat##*) }" # the fields after "pid (comm) "
        read -r _ ppid _ <<<"$rest"
        ppid_of[$pid]="$ppid"
    done
    for pidfile in "$marker"*/redis.pid "$marker"*/data/postmaster.pid; do
        [ -f "$pidfile" ] || continue
        read -r pid 2>/dev/null <"$pidfile" || continue
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || continue
        piddir="$(dirname "$pidfile")"
        if [[ "$cwd" == "$piddir" || "$cwd" == "$piddir/"* ]]; then
            found[$pid]=1
        fi
    done
    changed=1
    while [ "$changed" -eq 1 ]; do
        changed=0
        for pid in "${!ppid_of[@]}"; do
            if [ -z "${found[$pid]:-}" ] && [ -n "${found[${ppid_of[$pid]}]:-}" ]; then
                found[$pid]=1
                changed=1
            fi
        done
    done
    echo "${!found[@]}"
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pids _i
    pids="$(leftover_pids)"
    if [ -n "$pids" ]; then
        echo "test.sh: stopping leftover test servers: $pids" >&2
        # shellcheck disable=SC2086 # one pid per word
        kill -TERM $pids 2>/dev/null || true
        for _i in $(seq 50); do
            pids="$(leftover_pids)"
            [ -z "$pids" ] && break
            sleep 0.1
        done
        if [ -n "$pids" ]; then
            echo "test.sh: killing $pids" >&2
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -rf "$run_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$root"
scripts/install-test-deps.sh
cargo test --all-features "$@"
