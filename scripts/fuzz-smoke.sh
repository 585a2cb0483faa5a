#!/usr/bin/env bash
# Bounded fuzz smoke run: every cargo-fuzz target for FUZZ_SECONDS (default 30) each, on
# stable Rust (no sanitizer). Exits non-zero, naming the target, on any crash, panic,
# timeout or OOM; the failing input is left under fuzz/artifacts/<target>/.
#
# Usage (from anywhere in the repository): scripts/fuzz-smoke.sh
# New corpus entries go to fuzz/target/fuzz-corpus/<target>/ (ignored by git); the
# committed seeds in fuzz/corpus/<target>/ are only read.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
targets="$(cargo fuzz list)"
if [ -z "$targets" ]; then
    echo "fuzz-smoke: no fuzz targets found" >&2
    exit 1
fi

# Build once up front, so that a build failure is reported as such.
cargo fuzz build --sanitizer none

for t in $targets; do
    work="$root/fuzz/target/fuzz-corpus/$t"
    mkdir -p "$work"
    corpora=("$work")
    if [ -d "$root/fuzz/corpus/$t" ]; then
        corpora+=("$root/fuzz/corpus/$t")
    fi
    echo "fuzz-smoke: $t for ${seconds}s"
    if ! cargo fuzz run --sanitizer none "$t" "${corpora[@]}" -- \
        -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048; then
        echo "fuzz-smoke: FAILED: fuzz target $t (artifacts in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
done
echo "fuzz-smoke: all targets passed:" $targets
