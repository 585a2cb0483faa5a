#!/usr/bin/env bash
# Runs every benchmark of this crate and regenerates BENCHMARKS.md and docs/bench-chart.svg.
#
#   scripts/bench.sh                  # everything (~10-15 min on a 2-vCPU machine)
#   SKIP_CRITERION=1 scripts/bench.sh # reuse the criterion results already in target/criterion
#   SKIP_VALGRIND=1 scripts/bench.sh  # reuse the callgrind/dhat results from the last run
#   SKIP_SIZES=1 scripts/bench.sh     # reuse the cookie sizes from the last run
#   REPORT_ONLY=1 scripts/bench.sh    # only regenerate the report from the last results
#
# Steps:
#   1. build the benches (`cargo bench --no-run`), find the two bench executables;
#   2. criterion: the middleware and primitives bench executables from step 1, run as
#      `cargo bench --bench <name>` runs them (results in
#      target/criterion/<group>/<function>/new/{estimates,sample}.json);
#   3. cookie sizes (`middleware --sizes`) and the floor cross-check (`primitives --check`);
#   4. callgrind: instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1), whole program,
#      for every middleware case and every primitive (`--driver <id> <N>`);
#   5. dhat: heap blocks and bytes per request, the same difference, every middleware case;
#   6. callgrind profiles of sealed/steady_rw, steady_ro and rw_3KB restricted to the request
#      loop (`--toggle-collect=*driver_loop*`), annotated with callgrind_annotate;
#   7. scripts/bench_report.py writes BENCHMARKS.md and docs/bench-chart.svg.
#
# Raw results go to target/bench-report/ (wiped at the start of steps 3-6), so every run
# starts clean; only the criterion history in target/criterion accumulates, and the report
# reads only the ids the benches list now.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

N1=${N1:-1000}          # middleware requests, small run
N2=${N2:-5000}          # middleware requests, large run
P1=${P1:-2000}          # primitive iterations, small run
P2=${P2:-10000}         # primitive iterations, large run
# Cases profiled with callgrind_annotate for "Where the time goes" (the first in full).
PROFILE_CASES=${PROFILE_CASES:-sealed/steady_rw sealed/steady_ro sealed/rw_3KB}

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
OUT="$TARGET_DIR/bench-report"
mkdir -p "$OUT"

log() { printf '\n==> %s\n' "$*" >&2; }

# --- 1. build --------------------------------------------------------------------------
log "building benches"
cargo bench --no-run --message-format=json 2>"$OUT/build.log" >"$OUT/build.json" || {
  cat "$OUT/build.log" >&2
  exit 1
}
exe() {
  python3 - "$1" "$OUT/build.json" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
for line in open(path):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == name \
            and "bench" in msg["target"]["kind"] and msg.get("executable"):
        print(msg["executable"])
EOF
}
MW=$(exe middleware | tail -1)
PR=$(exe primitives | tail -1)
[ -x "$MW" ] && [ -x "$PR" ] || { echo "bench executables not found" >&2; exit 1; }
echo "middleware: $MW" >&2
echo "primitives: $PR" >&2
if [ -z "${REPORT_ONLY:-}" ]; then
  # What was built: the commit, and whether src/ or the manifest had uncommitted changes.
  {
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock benches 2>/dev/null | wc -l)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "middleware=$MW"
    echo "primitives=$PR"
  } >"$OUT/meta-build.env"
fi

if [ -n "${REPORT_ONLY:-}" ]; then
  SKIP_CRITERION=1
  SKIP_VALGRIND=1
  SKIP_SIZES=1
fi

# --- meta: one file per phase (start, end, load), so a partial re-run keeps the others ---
phase_start() { # phase name
  {
    echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$OUT/meta-$1.env"
}
phase_end() { # phase name, extra lines...
  local phase=$1
  shift
  {
    echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    for line in "$@"; do echo "$line"; done
  } >>"$OUT/meta-$phase.env"
}

# --- 2. criterion ----------------------------------------------------------------------
if [ -z "${SKIP_CRITERION:-}" ]; then
  phase_start criterion
  # The executables built in step 1, run as `cargo bench` would run them: every phase then
  # measures the same build, even if src/ changes while this script runs.
  for bench in "$MW" "$PR"; do
    log "criterion: $(basename "$bench")"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "$bench" --bench) 2>&1 |
      tee "$OUT/criterion-$(basename "${bench%-*}").log" |
      { grep -E '^[a-z_]+/[A-Za-z0-9_]+ +time:' >&2 || true; }
  done
  phase_end criterion "command=<bench executable> --bench (as cargo bench --bench middleware / primitives)"
fi
"$MW" --list >"$OUT/cases.jsonl"
"$PR" --list >"$OUT/prims.jsonl"

# --- 3. sizes --------------------------------------------------------------------------
if [ -z "${SKIP_SIZES:-}" ]; then
  phase_start sizes
  log "cookie sizes and floor check"
  "$MW" --sizes >"$OUT/sizes.jsonl"
  "$PR" --check >"$OUT/floor_check.jsonl"
  phase_end sizes
fi

# --- 4-6. valgrind ---------------------------------------------------------------------
ids() { python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$1"; }
safe() { echo "$1" | tr '/' '~'; }

if [ -z "${SKIP_VALGRIND:-}" ]; then
  command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
  phase_start valgrind
  rm -rf "$OUT/callgrind" "$OUT/dhat" "$OUT/profile"
  mkdir -p "$OUT/callgrind" "$OUT/dhat" "$OUT/profile"
  : >"$OUT/callgrind.tsv"
  : >"$OUT/dhat.tsv"

  log "callgrind + dhat: middleware cases (N=$N1 and N=$N2)"
  for id in $(ids "$OUT/cases.jsonl"); do
    s=$(safe "$id")
    for n in "$N1" "$N2"; do
      valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/$s.$n.out" \
        "$MW" --driver "$id" "$n" 2>"$OUT/callgrind/$s.$n.log"
      ir=$(sed -n 's/^summary: //p' "$OUT/callgrind/$s.$n.out")
      printf 'middleware\t%s\t%s\t%s\n' "$id" "$n" "$ir" >>"$OUT/callgrind.tsv"
      rm -f "$OUT/callgrind/$s.$n.out"
      valgrind --tool=dhat --dhat-out-file=/dev/null \
        "$MW" --driver "$id" "$n" 2>"$OUT/dhat/$s.$n.log"
      total=$(sed -n 's/^==[0-9]*== Total: *\([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p' \
        "$OUT/dhat/$s.$n.log" | tr -d ,)
      printf '%s\t%s\t%s\n' "$id" "$n" "${total// /$'\t'}" >>"$OUT/dhat.tsv"
    done
    echo "  $id" >&2
  done

  log "callgrind: primitives (N=$P1 and N=$P2)"
  for id in $(ids "$OUT/prims.jsonl"); do
    s=$(safe "$id")
    for n in "$P1" "$P2"; do
      valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/p-$s.$n.out" \
        "$PR" --driver "$id" "$n" 2>"$OUT/callgrind/p-$s.$n.log"
      ir=$(sed -n 's/^summary: //p' "$OUT/callgrind/p-$s.$n.out")
      printf 'primitives\t%s\t%s\t%s\n' "$id" "$n" "$ir" >>"$OUT/callgrind.tsv"
      rm -f "$OUT/callgrind/p-$s.$n.out"
    done
  done

  for case in $PROFILE_CASES; do
    log "profile: $case (request loop only, N=$N2)"
    prof="$OUT/profile/$(safe "$case")"
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*driver_loop*' \
      --callgrind-out-file="$prof.out" "$MW" --driver "$case" "$N2" 2>"$prof.log"
    callgrind_annotate --auto=no --inclusive=yes --threshold=99.9 "$prof.out" \
      >"$prof.inclusive.txt" 2>/dev/null
    callgrind_annotate --auto=no --inclusive=no --threshold=99.9 "$prof.out" \
      >"$prof.exclusive.txt" 2>/dev/null
  done
  phase_end valgrind "profile_cases=$PROFILE_CASES" "profile_n=$N2" \
    "n1=$N1" "n2=$N2" "p1=$P1" "p2=$P2" "valgrind=$(valgrind --version)"
fi

# --- 7. report -------------------------------------------------------------------------
log "report"
python3 "$ROOT/scripts/bench_report.py" --out "$OUT" --criterion "$TARGET_DIR/criterion" \
  --repo "$ROOT"
