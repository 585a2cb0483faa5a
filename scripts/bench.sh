#!/usr/bin/env bash
# Runs every benchmark of this crate and regenerates BENCHMARKS.md and docs/bench-chart.svg.
#
#   scripts/bench.sh                  # everything (~30 min on a 2-vCPU machine)
#   ONLY=revocation scripts/bench.sh  # only the revocation bench (~15-20 min); the report
#                                     # reuses the other results of the last run
#   ONLY=storage scripts/bench.sh     # only the storage bench (overflow, chunks; ~8 min)
#   ONLY=load scripts/bench.sh        # only scripts/load-compare.sh (end to end, sockets)
#   ONLY=classic scripts/bench.sh     # only the middleware + primitives benches
#   SKIP_REVOCATION=1 scripts/bench.sh # everything but the revocation bench (reuses its
#                                     # results of the last run, if any)
#   SKIP_STORAGE=1, SKIP_LOAD=1       # likewise for the storage bench and the load run
#   SKIP_SERIES=1 scripts/bench.sh    # the middleware bench without its size-series cases
#                                     # (`series/...`), which keep their last results
#   SKIP_CRITERION=1 scripts/bench.sh # reuse the criterion results already in target/criterion
#   SKIP_VALGRIND=1 scripts/bench.sh  # reuse the callgrind/dhat results from the last run
#   SKIP_SIZES=1 scripts/bench.sh     # reuse the cookie sizes from the last run
#   REPORT_ONLY=1 scripts/bench.sh    # only regenerate the report from the last results
#   REUSE_BUILD=1 SKIP_VALGRIND=1 scripts/bench.sh
#                                     # re-measure time (criterion, sizes, timing) with the
#                                     # executables of the last build, e.g. when other jobs
#                                     # loaded the machine during the first run
#
# Steps:
#   1. build the benches (`cargo bench --no-run`), find the four bench executables;
#   2. criterion: the middleware, primitives and revocation bench executables from step 1,
#      run as `cargo bench --bench <name>` runs them (results in
#      target/criterion/<group>/<function>/new/{estimates,sample}.json; the revocation
#      bench's under target/criterion/revocation/, since some of its ids are also
#      middleware ids);
#   3. cookie sizes (`middleware --sizes`, `revocation --sizes`) and the floor cross-check
#      (`primitives --check`); `revocation --interleaved`: every revocation case round-robin
#      in short slices, so that background load hits them alike; `revocation --timing`: wall
#      and CPU time per request of this process and of the store servers, natively, for
#      every revocation case;
#   4. callgrind: instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1), whole program,
#      for every middleware case, every primitive and every revocation case
#      (`--driver <id> <N>`);
#   5. dhat: heap blocks and bytes per request, the same difference, every middleware and
#      revocation case;
#   6. callgrind profiles of sealed/steady_rw, steady_ro and rw_3KB, and of the revocation
#      cases in PROFILE_REV_CASES, restricted to the request loop
#      (`--toggle-collect=*driver_loop*`), annotated with callgrind_annotate;
#   7. the storage bench (overflow to a store, chunks): criterion (target/criterion/storage/),
#      `storage --sizes`, `storage --interleaved`, callgrind and dhat per case (`--driver`);
#   8. scripts/load-compare.sh, if it is there: end to end over real sockets (its own
#      report fragment, bench-report/load-section.md);
#   9. scripts/bench_report.py writes BENCHMARKS.md, docs/bench-chart.svg and
#      docs/bench-size-series.svg.
#
# Raw results go to target/bench-report/ (each part's files are wiped when that part
# runs again), so every run starts clean; only the criterion history in target/criterion
# accumulates, and the report reads only the ids the benches list now. The revocation
# bench's files are rev-* (and profile-rev/), the storage bench's storage-*, so that
# ONLY=revocation or ONLY=storage keeps the others.
#
# The revocation bench starts private PostgreSQL and Redis servers on loopback
# (tests/support/servers.rs; scripts/install-test-deps.sh installs them), one per process.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

N1=${N1:-1000}          # middleware requests, small run
N2=${N2:-5000}          # middleware requests, large run
P1=${P1:-2000}          # primitive iterations, small run
P2=${P2:-10000}         # primitive iterations, large run
# Cases profiled with callgrind_annotate for "Where the time goes" (the first in full).
PROFILE_CASES=${PROFILE_CASES:-sealed/steady_rw sealed/steady_ro sealed/rw_3KB}
RN1=${RN1:-300}         # revocation requests, small run
RN2=${RN2:-1500}        # revocation requests, large run
TIMING_SECS=${TIMING_SECS:-2}  # revocation --timing: seconds per case
INTERLEAVED_ROUNDS=${INTERLEAVED_ROUNDS:-100}  # revocation --interleaved: rounds ...
INTERLEAVED_SLICE_MS=${INTERLEAVED_SLICE_MS:-20} # ... of one slice per case
# Revocation cases profiled with callgrind_annotate (self cost by crate).
PROFILE_REV_CASES=${PROFILE_REV_CASES:-sealed/steady_rw sealed_rev_memory/steady_rw sealed_rev_postgres/steady_rw ts_postgres/steady_rw sealed_rev_redis/steady_rw ts_redis/steady_rw}
SN1=${SN1:-300}         # storage requests, small run
SN2=${SN2:-1500}        # storage requests, large run
MW_ROUNDS=${MW_ROUNDS:-40}   # middleware --interleaved: rounds ...
MW_SLICE_MS=${MW_SLICE_MS:-15} # ... of one slice per case
STORAGE_ROUNDS=${STORAGE_ROUNDS:-100}      # storage --interleaved: rounds ...
STORAGE_SLICE_MS=${STORAGE_SLICE_MS:-20}   # ... of one slice per case
STORAGE_DHAT=${STORAGE_DHAT:-1}            # storage: dhat too (empty: callgrind only)

# Which parts run: the middleware + primitives benches ("classic"), the revocation bench,
# the storage bench and the end-to-end load run.
RUN_CLASSIC=1
RUN_REV=1
RUN_STORAGE=1
RUN_LOAD=1
case "${ONLY:-}" in
  "") ;;
  revocation) RUN_CLASSIC= RUN_STORAGE= RUN_LOAD= ;;
  storage) RUN_CLASSIC= RUN_REV= RUN_LOAD= ;;
  load) RUN_CLASSIC= RUN_REV= RUN_STORAGE= ;;
  classic | middleware) RUN_REV= RUN_STORAGE= RUN_LOAD= ;;
  *) echo "ONLY=$ONLY: expected revocation, storage, load or classic" >&2; exit 1 ;;
esac
[ -z "${SKIP_REVOCATION:-}" ] || RUN_REV=
[ -z "${SKIP_STORAGE:-}" ] || RUN_STORAGE=
[ -z "${SKIP_LOAD:-}" ] || RUN_LOAD=

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
OUT="$TARGET_DIR/bench-report"
mkdir -p "$OUT"

log() { printf '\n==> %s\n' "$*" >&2; }

# --- 1. build --------------------------------------------------------------------------
if [ -z "${REUSE_BUILD:-}" ]; then
  log "building benches"
  cargo bench --no-run --message-format=json 2>"$OUT/build.log" >"$OUT/build.json" || {
    cat "$OUT/build.log" >&2
    exit 1
  }
fi
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
if [ -n "${REUSE_BUILD:-}" ]; then
  # The executables the last build recorded (not rebuilt: the sources may have moved on).
  MW=$(sed -n 's/^middleware=//p' "$OUT/meta-build.env")
  PR=$(sed -n 's/^primitives=//p' "$OUT/meta-build.env")
  RV=$(sed -n 's/^revocation=//p' "$OUT/meta-rev-build.env")
  ST=$(sed -n 's/^storage=//p' "$OUT/meta-storage-build.env" 2>/dev/null || true)
  log "reusing the executables of the last build"
else
  MW=$(exe middleware | tail -1)
  PR=$(exe primitives | tail -1)
  RV=$(exe revocation | tail -1)
  ST=$(exe storage | tail -1)
fi
[ -x "$MW" ] && [ -x "$PR" ] && [ -x "$RV" ] && [ -x "$ST" ] ||
  { echo "bench executables not found" >&2; exit 1; }
echo "middleware: $MW" >&2
echo "primitives: $PR" >&2
echo "revocation: $RV" >&2
echo "storage: $ST" >&2
if [ -z "${REPORT_ONLY:-}" ] && [ -z "${REUSE_BUILD:-}" ] && [ -n "$RUN_CLASSIC" ]; then
  # What was built: the commit, and whether src/ or the manifest had uncommitted changes.
  {
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock benches 2>/dev/null | wc -l)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "middleware=$MW"
    echo "primitives=$PR"
  } >"$OUT/meta-build.env"
fi
if [ -z "${REPORT_ONLY:-}" ] && [ -z "${REUSE_BUILD:-}" ] && [ -n "$RUN_REV" ]; then
  {
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock benches 2>/dev/null | wc -l)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "revocation=$RV"
  } >"$OUT/meta-rev-build.env"
fi
if [ -z "${REPORT_ONLY:-}" ] && [ -z "${REUSE_BUILD:-}" ] && [ -n "$RUN_STORAGE" ]; then
  {
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock benches 2>/dev/null | wc -l)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "storage=$ST"
  } >"$OUT/meta-storage-build.env"
fi

if [ -n "${REPORT_ONLY:-}" ]; then
  SKIP_CRITERION=1
  SKIP_VALGRIND=1
  SKIP_SIZES=1
  RUN_LOAD=
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

ids() { python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$1"; }
# The middleware cases this run measures: all, or without the size series (SKIP_SERIES=1).
mw_ids() { ids "$OUT/cases.jsonl" | { if [ -n "${SKIP_SERIES:-}" ]; then grep -v '/series_' || true; else cat; fi; }; }
safe() { echo "$1" | tr '/' '~'; }
"$MW" --list >"$OUT/cases.jsonl"
"$PR" --list >"$OUT/prims.jsonl"
"$RV" --list >"$OUT/rev-cases.jsonl"
"$ST" --list >"$OUT/storage-cases.jsonl"

# A middleware case that fails its checks (a panic naming it) is recorded in failed.tsv
# (id, phase, the panic message) and left out; the other cases still run.
failed() { # id phase log exit-status
  local why
  why=$(grep -m1 -A1 'panicked at' "$3" | tail -1 | tr '\t' ' ')
  printf '%s\t%s\t%s\n' "$1" "$2" "${why:-exit status $4}" >>"$OUT/failed.tsv"
  echo "  $1: FAILED ($2): ${why:-exit status $4}" >&2
}

# Callgrind (and dhat) of every case whose id is on stdin, N1 and N2 requests each, whole
# program (a store bench's servers are other processes: valgrind does not follow them). A
# case whose run fails its checks is recorded in failed.tsv under <phase> and left out.
#   <ids> | valgrind_cases <phase> <kind> <exe> <dir> <callgrind.tsv> <dhat.tsv or ""> N1 N2
valgrind_cases() {
  local phase=$1 kind=$2 bin=$3 dir=$4 cg_tsv=$5 dhat_tsv=$6 n1=$7 n2=$8 id s n ir total rc
  local -a list
  mapfile -t list
  sed -i "/\t$phase\t/d" "$OUT/failed.tsv" 2>/dev/null || true
  for id in "${list[@]}"; do
    s=$(safe "$id")
    for n in "$n1" "$n2"; do
      rc=0
      valgrind --tool=callgrind --callgrind-out-file="$dir/$s.$n.out" \
        "$bin" --driver "$id" "$n" 2>"$dir/$s.$n.log" || rc=$?
      if [ "$rc" != 0 ]; then
        failed "$id" "$phase" "$dir/$s.$n.log" "$rc"
        rm -f "$dir/$s.$n.out"
        continue 2
      fi
      ir=$(sed -n 's/^summary: //p' "$dir/$s.$n.out")
      printf '%s\t%s\t%s\t%s\n' "$kind" "$id" "$n" "$ir" >>"$cg_tsv"
      rm -f "$dir/$s.$n.out"
      [ -n "$dhat_tsv" ] || continue
      valgrind --tool=dhat --dhat-out-file=/dev/null \
        "$bin" --driver "$id" "$n" 2>"$dir/$s.$n.dhat.log"
      total=$(sed -n 's/^==[0-9]*== Total: *\([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p' \
        "$dir/$s.$n.dhat.log" | tr -d ,)
      printf '%s\t%s\t%s\n' "$id" "$n" "${total// /$'\t'}" >>"$dhat_tsv"
    done
    echo "  $id" >&2
  done
}

# --- 2. criterion ----------------------------------------------------------------------
if [ -z "${SKIP_CRITERION:-}" ] && [ -n "$RUN_CLASSIC" ]; then
  phase_start criterion
  # The executables built in step 1, run as `cargo bench` would run them: every phase then
  # measures the same build, even if src/ changes while this script runs.
  sed -i '/\tcriterion\t/d' "$OUT/failed.tsv" 2>/dev/null || true
  # The middleware bench one case per process (a criterion filter that matches only it), so
  # that a case failing its checks does not take the others with it.
  log "criterion: $(basename "$MW"), one case per process"
  : >"$OUT/criterion-middleware.log"
  for id in $(mw_ids); do
    one="$OUT/criterion-one.log"
    rc=0
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "$MW" --bench "^${id}\$") >"$one" 2>&1 || rc=$?
    cat "$one" >>"$OUT/criterion-middleware.log"
    grep -E '^[a-z_]+/[A-Za-z0-9_]+ +time:' "$one" >&2 || true
    [ "$rc" = 0 ] || failed "$id" criterion "$one" "$rc"
  done
  log "criterion: $(basename "$PR")"
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "$PR" --bench) 2>&1 |
    tee "$OUT/criterion-primitives.log" |
    { grep -E '^[a-z_]+/[A-Za-z0-9_]+ +time:' >&2 || true; }
  phase_end criterion "command=<bench executable> --bench (as cargo bench --bench middleware / primitives)"
fi
if [ -z "${SKIP_CRITERION:-}" ] && [ -n "$RUN_REV" ]; then
  phase_start rev-criterion
  log "criterion: $(basename "$RV")"
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "$RV" --bench) 2>&1 |
    tee "$OUT/criterion-revocation.log" |
    { grep -E '^[a-z_]+/[A-Za-z0-9_]+ +time:' >&2 || true; }
  phase_end rev-criterion "command=<bench executable> --bench (as cargo bench --bench revocation)"
fi

# --- 3. sizes --------------------------------------------------------------------------
if [ -z "${SKIP_SIZES:-}" ] && [ -n "$RUN_CLASSIC" ]; then
  phase_start sizes
  log "cookie sizes and floor check"
  "$MW" --sizes >"$OUT/sizes.jsonl"
  "$PR" --check >"$OUT/floor_check.jsonl"
  log "middleware: every steady case interleaved, $MW_ROUNDS rounds of ${MW_SLICE_MS} ms slices"
  "$MW" --interleaved "$MW_ROUNDS" "$MW_SLICE_MS" >"$OUT/interleaved.jsonl" \
    2>"$OUT/interleaved.log"
  phase_end sizes "interleaved_rounds=$MW_ROUNDS" "interleaved_slice_ms=$MW_SLICE_MS"
fi
if [ -z "${SKIP_SIZES:-}" ] && [ -n "$RUN_REV" ]; then
  phase_start rev-timing
  log "revocation: cookie sizes, and wall/CPU time per request (${TIMING_SECS} s per case)"
  "$RV" --sizes >"$OUT/rev-sizes.jsonl"
  log "revocation: every case interleaved, $INTERLEAVED_ROUNDS rounds of ${INTERLEAVED_SLICE_MS} ms slices"
  "$RV" --interleaved "$INTERLEAVED_ROUNDS" "$INTERLEAVED_SLICE_MS" \
    >"$OUT/rev-interleaved.jsonl" 2>"$OUT/rev-interleaved.log"
  : >"$OUT/rev-timing.jsonl"
  for id in $(ids "$OUT/rev-cases.jsonl"); do
    "$RV" --timing "$id" "$TIMING_SECS" >>"$OUT/rev-timing.jsonl" 2>"$OUT/rev-timing.log"
  done
  phase_end rev-timing "timing_secs=$TIMING_SECS" "interleaved_rounds=$INTERLEAVED_ROUNDS" \
    "interleaved_slice_ms=$INTERLEAVED_SLICE_MS"
fi

# --- 4-6. valgrind ---------------------------------------------------------------------
if [ -z "${SKIP_VALGRIND:-}" ] && [ -n "$RUN_CLASSIC" ]; then
  command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
  phase_start valgrind
  rm -rf "$OUT/callgrind" "$OUT/dhat" "$OUT/profile"
  mkdir -p "$OUT/callgrind" "$OUT/profile"
  if [ -n "${SKIP_SERIES:-}" ]; then
    # Keep the size series' results of the last run.
    for f in callgrind.tsv dhat.tsv; do
      grep -P '/series_' "$OUT/$f" >"$OUT/$f.keep" 2>/dev/null || true
      mv "$OUT/$f.keep" "$OUT/$f"
    done
  else
    : >"$OUT/callgrind.tsv"
    : >"$OUT/dhat.tsv"
  fi

  log "callgrind + dhat: middleware cases (N=$N1 and N=$N2)"
  mw_ids | valgrind_cases valgrind middleware "$MW" "$OUT/callgrind" "$OUT/callgrind.tsv" \
    "$OUT/dhat.tsv" "$N1" "$N2"

  log "callgrind: primitives (N=$P1 and N=$P2)"
  mkdir -p "$OUT/callgrind/primitives"
  ids "$OUT/prims.jsonl" | valgrind_cases primitives-valgrind primitives "$PR" \
    "$OUT/callgrind/primitives" "$OUT/callgrind.tsv" "" "$P1" "$P2"

  for case in $PROFILE_CASES; do
    log "profile: $case (request loop only, N=$N2)"
    prof="$OUT/profile/$(safe "$case")"
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*driver_loop*' \
      --callgrind-out-file="$prof.out" "$MW" --driver "$case" "$N2" 2>"$prof.log" || {
      failed "$case" valgrind "$prof.log" "$?"
      rm -f "$prof.out"
      continue
    }
    callgrind_annotate --auto=no --inclusive=yes --threshold=99.9 "$prof.out" \
      >"$prof.inclusive.txt" 2>/dev/null
    callgrind_annotate --auto=no --inclusive=no --threshold=99.9 "$prof.out" \
      >"$prof.exclusive.txt" 2>/dev/null
  done
  phase_end valgrind "profile_cases=$PROFILE_CASES" "profile_n=$N2" \
    "n1=$N1" "n2=$N2" "p1=$P1" "p2=$P2" "valgrind=$(valgrind --version)"
fi

if [ -z "${SKIP_VALGRIND:-}" ] && [ -n "$RUN_REV" ]; then
  command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
  phase_start rev-valgrind
  rm -rf "$OUT/rev-callgrind" "$OUT/rev-dhat" "$OUT/profile-rev"
  mkdir -p "$OUT/rev-callgrind" "$OUT/profile-rev"
  : >"$OUT/rev-callgrind.tsv"
  : >"$OUT/rev-dhat.tsv"

  # Only this process is measured: the PostgreSQL and Redis servers are other processes
  # (valgrind does not follow children), and the kernel is never counted.
  log "callgrind + dhat: revocation cases (N=$RN1 and N=$RN2)"
  ids "$OUT/rev-cases.jsonl" | valgrind_cases rev-valgrind revocation "$RV" \
    "$OUT/rev-callgrind" "$OUT/rev-callgrind.tsv" "$OUT/rev-dhat.tsv" "$RN1" "$RN2"

  for case in $PROFILE_REV_CASES; do
    log "profile: $case (request loop only, N=$RN2)"
    prof="$OUT/profile-rev/$(safe "$case")"
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*driver_loop*' \
      --callgrind-out-file="$prof.out" "$RV" --driver "$case" "$RN2" 2>"$prof.log"
    callgrind_annotate --auto=no --inclusive=yes --threshold=99.9 "$prof.out" \
      >"$prof.inclusive.txt" 2>/dev/null
    callgrind_annotate --auto=no --inclusive=no --threshold=99.9 "$prof.out" \
      >"$prof.exclusive.txt" 2>/dev/null
  done
  phase_end rev-valgrind "profile_cases=$PROFILE_REV_CASES" "profile_n=$RN2" \
    "n1=$RN1" "n2=$RN2" "valgrind=$(valgrind --version)"
fi

# --- 7. storage: overflow to a store, chunks ---------------------------------------------
if [ -n "$RUN_STORAGE" ] && [ -z "${SKIP_CRITERION:-}" ]; then
  phase_start storage-criterion
  log "criterion: $(basename "$ST")"
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "$ST" --bench) 2>&1 |
    tee "$OUT/criterion-storage.log" |
    { grep -E '^[a-z_]+/[A-Za-z0-9_]+ +time:' >&2 || true; }
  phase_end storage-criterion "command=<bench executable> --bench (as cargo bench --bench storage)"
fi
if [ -n "$RUN_STORAGE" ] && [ -z "${SKIP_SIZES:-}" ]; then
  phase_start storage-timing
  log "storage: cookie sizes; every case interleaved, $STORAGE_ROUNDS rounds of ${STORAGE_SLICE_MS} ms slices"
  "$ST" --sizes >"$OUT/storage-sizes.jsonl"
  "$ST" --interleaved "$STORAGE_ROUNDS" "$STORAGE_SLICE_MS" \
    >"$OUT/storage-interleaved.jsonl" 2>"$OUT/storage-interleaved.log"
  phase_end storage-timing "interleaved_rounds=$STORAGE_ROUNDS" \
    "interleaved_slice_ms=$STORAGE_SLICE_MS"
fi
if [ -n "$RUN_STORAGE" ] && [ -z "${SKIP_VALGRIND:-}" ]; then
  command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
  phase_start storage-valgrind
  rm -rf "$OUT/storage-callgrind" "$OUT/storage-dhat"
  mkdir -p "$OUT/storage-callgrind"
  : >"$OUT/storage-callgrind.tsv"
  : >"$OUT/storage-dhat.tsv"
  # As for revocation: this process only (the servers are other processes).
  log "callgrind${STORAGE_DHAT:+ + dhat}: storage cases (N=$SN1 and N=$SN2)"
  ids "$OUT/storage-cases.jsonl" | valgrind_cases storage-valgrind storage "$ST" \
    "$OUT/storage-callgrind" "$OUT/storage-callgrind.tsv" \
    "${STORAGE_DHAT:+$OUT/storage-dhat.tsv}" "$SN1" "$SN2"
  phase_end storage-valgrind "n1=$SN1" "n2=$SN2" "dhat=${STORAGE_DHAT:-no}" \
    "valgrind=$(valgrind --version)"
fi

# --- 8. end to end over real sockets (scripts/load-compare.sh, its own report fragment) ----
if [ -n "$RUN_LOAD" ]; then
  if [ -x "$ROOT/scripts/load-compare.sh" ]; then
    log "end to end: scripts/load-compare.sh"
    CARGO_TARGET_DIR="$TARGET_DIR" "$ROOT/scripts/load-compare.sh" >&2 ||
      echo "scripts/load-compare.sh failed (exit $?); the report says so" >&2
  else
    log "end to end: scripts/load-compare.sh is not there; skipped"
  fi
fi

# --- 9. report -------------------------------------------------------------------------
log "report"
python3 "$ROOT/scripts/bench_report.py" --out "$OUT" --criterion "$TARGET_DIR/criterion" \
  --repo "$ROOT"
