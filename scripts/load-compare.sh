#!/usr/bin/env bash
# End to end over real sockets: one real axum/hyper server per case (benches/load_server.rs)
# on 127.0.0.1, driven by wrk for a fixed duration, reported as ratios to this crate.
#
#   scripts/load-compare.sh                        # 10 s per phase, 32 connections, 100000 sessions
#   DURATION=5 SESSIONS=20000 ROUNDS=1 scripts/load-compare.sh
#   CASES="sealed ts_memory" scripts/load-compare.sh
#
# Environment: DURATION (s per steady phase, 10), CONNECTIONS (32), THREADS (wrk threads, 1),
# SESSIONS (distinct sessions in the memory phase, 100000), ROUNDS (3: every case is run
# this many times, the rounds interleaved, and the report takes each figure's median, so
# that other work on a shared machine does not fall on one case only), CASES (default: all
# of `load_server --list`), PORT (first loopback port, 39500; run i uses PORT+i),
# QUIET_WAIT / QUIET_CORES (30 s, 0.3: before each case, wait up to QUIET_WAIT s for other
# processes to use less than QUIET_CORES cores; the report takes each steady figure from the
# rounds that stayed that quiet when there are any, and says how many there were).
#
# Per case:
#   1. start the server pinned to core A (`taskset`), and for the Redis cases first a private
#      redis-server (`load_server --redis`, tests/support/servers.rs) pinned to core A too:
#      the store is part of the server side; core B is the client's;
#   2. check by hand that the session persists: curl GET /login/0 (typical payload, counter
#      1), GET / twice must answer 2 then 3, GET /ro must answer 3 (baseline: 200 and "1");
#   3. steady read+write: wrk pinned to core B for DURATION s with scripts/load-compare.lua:
#      one session per concurrent request, logged in once, its cookie kept and every
#      Set-Cookie applied; every answer must be 200 and the session's counter + 1;
#   4. steady read-only (GET /ro, counter unchanged), the same way;
#   5. memory: SESSIONS first visits (GET /login/0 without a cookie, scripts/load-sessions.lua),
#      the server's RSS (and Redis's) before and after.
# Around each wrk run: the server's (and Redis's) utime+stime from /proc/<pid>/stat, the
# client's CPU time (/usr/bin/time), VmRSS from /proc/<pid>/status. A case with any socket
# error, non-200 answer, wrong counter or missing cookie is recorded as failed.
#
# Writes <target-dir>/bench-report/load.jsonl (raw, one line per case plus a meta line) and
# renders <target-dir>/bench-report/load-section.md with scripts/load_report.py.
# Installs wrk (and time) from Debian's packages if missing; redis-server comes from
# scripts/install-test-deps.sh. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
SESSIONS="${SESSIONS:-100000}"
ROUNDS="${ROUNDS:-3}"
QUIET_WAIT="${QUIET_WAIT:-30}"
QUIET_CORES="${QUIET_CORES:-0.3}"
PORT="${PORT:-39500}"

log() { echo "load-compare: $*" >&2; }

apt_install() {
  if [ "$(id -u)" = 0 ]; then apt-get install -y "$@" >/dev/null; else sudo apt-get install -y "$@" >/dev/null; fi
}
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  apt_install wrk
fi
if [ ! -x /usr/bin/time ]; then
  log "installing time (Debian package)"
  apt_install time
fi

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
OUT="$TARGET_DIR/bench-report"
mkdir -p "$OUT"
JSONL="$OUT/load.jsonl"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tss-load-compare-XXXXXX")

log "building benches/load_server.rs (cargo bench --no-run --bench load_server)"
BIN=$(cargo bench --no-run --bench load_server --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "load_server" and m.get("executable"):
        print(m["executable"])')
[ -x "$BIN" ] || { log "no load_server executable"; exit 1; }
CASES="${CASES:-$("$BIN" --list | cut -f1 | tr '\n' ' ')}"

# Pinning: the server (and its Redis) on the first allowed core, wrk on the second.
read -r CORE_A CORE_B < <(python3 -c '
import os
c = sorted(os.sched_getaffinity(0))
print(c[0], c[1]) if len(c) >= 2 else print("-", "-")')
if [ "$CORE_A" != "-" ] && command -v taskset >/dev/null; then
  SERVER_PIN=(taskset -c "$CORE_A")
  CLIENT_PIN=(taskset -c "$CORE_B")
  PINNING="server (and its Redis) on core $CORE_A, wrk on core $CORE_B (taskset)"
else
  SERVER_PIN=()
  CLIENT_PIN=()
  PINNING="not pinned (fewer than 2 cores or no taskset): client and server share cores"
  log "$PINNING"
fi
CLK_TCK=$(getconf CLK_TCK)

SERVER_PID=""
REDIS_WRAPPER=""
WRK_PID=""
cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  if [ -n "$REDIS_WRAPPER" ]; then
    kill -TERM "$REDIS_WRAPPER" 2>/dev/null || true
    wait "$REDIS_WRAPPER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# Nanoseconds the server's threads spent waiting on a run queue (/proc/<pid>/task/*/schedstat,
# 2nd field): time the server was ready to run but another process had its core.
# Busy clock ticks of the whole machine, all CPUs (/proc/stat: everything but idle and iowait).
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# Before a case: waits (at most QUIET_WAIT s) until the machine is quiet, i.e. other processes
# used less than QUIET_CORES cores over one second; sets QUIET_WAITED and OTHER_CORES_BEFORE.
wait_quiet() {
  local start=$SECONDS b0 b1
  while :; do
    b0=$(machine_busy_ticks)
    sleep 1
    b1=$(machine_busy_ticks)
    OTHER_CORES_BEFORE=$(awk -v t=$((b1 - b0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
    if awk -v c="$OTHER_CORES_BEFORE" -v q="$QUIET_CORES" 'BEGIN {exit !(c < q)}' ||
      [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
      break
    fi
  done
  QUIET_WAITED=$((SECONDS - start))
}
# Nanoseconds the threads of $1 ran (/proc/<pid>/task/*/schedstat, 1st field): exact, unlike
# the tick-sampled utime + stime.
# (awk's %d stops at 2^31 in mawk: print with %.0f.)
run_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
runq_wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f", s}'; }

# The `WRK key=value ...` line of a wrk run's output, prefixed: "rw_requests=... rw_rps=...".
wrk_fields() {
  grep '^WRK ' "$1" | tail -n1 | cut -d' ' -f2- | tr ' ' '\n' | sed "s/^/$2_/" | tr '\n' ' '
}

# Appends a JSON line built from key=value arguments (numbers become numbers).
record() { python3 "$ROOT/scripts/load_report.py" record "$JSONL" "$@"; }

# One steady phase: $1 name (rw|ro), $2 path, $3 check; sets PHASE_FIELDS.
steady_phase() {
  local name=$1 path=$2 check=$3 out="$WORK/$1.txt" tm="$WORK/$1.time"
  local s0 s1 r0=0 r1=0 q0 q1 m0 m1 n0 n1 rn0=0 rn1=0
  m0=$(machine_busy_ticks)
  s0=$(cpu_ticks "$SERVER_PID")
  n0=$(run_ns "$SERVER_PID")
  [ -n "$REDIS_PID" ] && rn0=$(run_ns "$REDIS_PID")
  q0=$(runq_wait_ns "$SERVER_PID")
  [ -n "$REDIS_PID" ] && r0=$(cpu_ticks "$REDIS_PID")
  "${CLIENT_PIN[@]}" /usr/bin/time -f '%e %U %S' -o "$tm" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$ROOT/scripts/load-compare.lua" "$URL" -- "$path" "$check" >"$out" 2>&1 || true
  s1=$(cpu_ticks "$SERVER_PID")
  q1=$(runq_wait_ns "$SERVER_PID")
  n1=$(run_ns "$SERVER_PID")
  [ -n "$REDIS_PID" ] && r1=$(cpu_ticks "$REDIS_PID")
  [ -n "$REDIS_PID" ] && rn1=$(run_ns "$REDIS_PID")
  m1=$(machine_busy_ticks)
  sed 's/^/    /' "$out" >&2
  local wall usr sys
  read -r wall usr sys <"$tm" || { wall=0; usr=0; sys=0; }
  PHASE_FIELDS="$(wrk_fields "$out" "$name")${name}_server_cpu_ticks=$((s1 - s0)) \
${name}_redis_cpu_ticks=$((r1 - r0)) ${name}_server_runq_wait_ns=$((q1 - q0)) ${name}_server_run_ns=$((n1 - n0)) ${name}_redis_run_ns=$((rn1 - rn0)) ${name}_machine_busy_ticks=$((m1 - m0)) ${name}_client_wall_s=$wall ${name}_client_user_s=$usr \
${name}_client_sys_s=$sys ${name}_rss_kb=$(rss_kb "$SERVER_PID")"
}

# Extracts a value from "k=v k=v" text.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n1; }

: >"$JSONL" # this run's lines only
record meta=1 "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "git=$(git rev-parse --short HEAD)" \
  "nproc=$(nproc)" "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
  "kernel=$(uname -r)" "wrk=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f2)" "pinning=$PINNING" \
  "duration_s=$DURATION" "connections=$CONNECTIONS" "threads=$THREADS" "sessions=$SESSIONS" "rounds=$ROUNDS" \
  "quiet_wait_s=$QUIET_WAIT" "quiet_cores=$QUIET_CORES" \
  "command=DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS SESSIONS=$SESSIONS ROUNDS=$ROUNDS scripts/load-compare.sh" \
  "clk_tck=$CLK_TCK" "loadavg_start=$(loadavg)" >/dev/null

i=0
read -r -a CASE_LIST <<<"$CASES"
for ROUND in $(seq 1 "$ROUNDS"); do
# Each round starts one case further on, so no case is always first (or always after Redis).
ORDER=("${CASE_LIST[@]:$(((ROUND - 1) % ${#CASE_LIST[@]}))}" "${CASE_LIST[@]:0:$(((ROUND - 1) % ${#CASE_LIST[@]}))}")
for CASE in "${ORDER[@]}"; do
  i=$((i + 1))
  ADDR="127.0.0.1:$((PORT + i))"
  URL="http://$ADDR"
  REDIS_URL=""
  REDIS_PID=""
  REDIS_WRAPPER=""
  wait_quiet
  log "=== round $ROUND/$ROUNDS: $CASE on $ADDR (other processes: $OTHER_CORES_BEFORE cores, waited ${QUIET_WAITED} s)"
  FAIL=""

  if [[ "$CASE" == *redis* ]]; then
    "${SERVER_PIN[@]}" "$BIN" --redis >"$WORK/redis.out" 2>"$WORK/redis.err" &
    REDIS_WRAPPER=$!
    for _ in $(seq 1 300); do
      grep -q '^REDIS_URL=' "$WORK/redis.out" 2>/dev/null && break
      sleep 0.1
    done
    line=$(grep '^REDIS_URL=' "$WORK/redis.out" || true)
    REDIS_URL=$(field "$line" REDIS_URL)
    REDIS_PID=$(field "$line" REDIS_PID)
    if [ -z "$REDIS_URL" ]; then
      cat "$WORK/redis.err" >&2
      log "$CASE: redis did not start"
      record "case=$CASE" "round=$ROUND" "failed=redis did not start" >/dev/null
      kill -TERM "$REDIS_WRAPPER" 2>/dev/null || true
      wait "$REDIS_WRAPPER" 2>/dev/null || true
      REDIS_WRAPPER=""
      continue
    fi
    log "redis $REDIS_URL (pid $REDIS_PID)"
  fi

  REDIS_URL="$REDIS_URL" RUST_LOG=warn "${SERVER_PIN[@]}" "$BIN" --serve "$CASE" "$ADDR" \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  up=0
  for _ in $(seq 1 200); do
    if curl -fs -o /dev/null "$URL/ro"; then up=1; break; fi
    sleep 0.05
  done
  if [ "$up" = 0 ]; then
    cat "$WORK/server.log" >&2
    FAIL="server did not start"
  fi

  # The session must really persist across requests before anything is measured.
  SANITY=""
  if [ -z "$FAIL" ]; then
    jar="$WORK/cookies"
    rm -f "$jar"
    get() { curl -s -o "$WORK/body" -w '%{http_code}' -b "$jar" -c "$jar" "$URL$1"; printf ' %s' "$(cat "$WORK/body")"; }
    SANITY="$(get /login/0),$(get /),$(get /),$(get /ro)"
    if [ "$CASE" = baseline ]; then want="200 1,200 1,200 1,200 1"; else want="200 1,200 2,200 3,200 3"; fi
    if [ "$SANITY" != "$want" ]; then
      FAIL="sanity check: got [$SANITY], want [$want]"
    fi
    log "sanity (status body for /login/0, /, /, /ro): $SANITY"
  fi

  if [ -n "$FAIL" ]; then
    log "$CASE FAILED: $FAIL"
    record "case=$CASE" "round=$ROUND" "failed=$FAIL" "sanity=$SANITY" >/dev/null
  else
    check=rw
    ro_check=ro
    if [ "$CASE" = baseline ]; then check=none; ro_check=none; fi
    RSS_START=$(rss_kb "$SERVER_PID")
    REDIS_RSS_START=0
    [ -n "$REDIS_PID" ] && REDIS_RSS_START=$(rss_kb "$REDIS_PID")

    steady_phase rw / "$check"
    RW="$PHASE_FIELDS"
    steady_phase ro /ro "$ro_check"
    RO="$PHASE_FIELDS"

    # Memory phase: SESSIONS first visits, no cookie reused.
    RSS_BEFORE=$(rss_kb "$SERVER_PID")
    REDIS_RSS_BEFORE=0
    [ -n "$REDIS_PID" ] && REDIS_RSS_BEFORE=$(rss_kb "$REDIS_PID")
    marker="$WORK/sessions.done"
    rm -f "$marker"
    cap=$((SESSIONS / 500 + 60))
    m0=$(cpu_ticks "$SERVER_PID")
    "${CLIENT_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${cap}s" \
      -s "$ROOT/scripts/load-sessions.lua" "$URL" -- "$SESSIONS" "$marker" >"$WORK/mem.txt" 2>&1 &
    WRK_PID=$!
    while kill -0 "$WRK_PID" 2>/dev/null && [ ! -e "$marker" ]; do sleep 0.05; done
    kill -INT "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" || true
    WRK_PID=""
    m1=$(cpu_ticks "$SERVER_PID")
    sleep 0.5 # let the in-flight answers finish
    sed 's/^/    /' "$WORK/mem.txt" >&2
    RSS_AFTER=$(rss_kb "$SERVER_PID")
    REDIS_RSS_AFTER=0
    REDIS_KEYS=""
    if [ -n "$REDIS_PID" ]; then
      REDIS_RSS_AFTER=$(rss_kb "$REDIS_PID")
      port=${REDIS_URL##*:}
      port=${port%%/*}
      REDIS_KEYS=$(redis-cli -h 127.0.0.1 -p "$port" dbsize 2>/dev/null || echo "")
    fi
    MEM="$(wrk_fields "$WORK/mem.txt" mem)mem_server_cpu_ticks=$((m1 - m0))"

    # shellcheck disable=SC2086 # the field lists are meant to be split into arguments
    record "case=$CASE" "round=$ROUND" "sanity=$SANITY" "addr=$ADDR" "rss_start_kb=$RSS_START" \
      "quiet_waited_s=$QUIET_WAITED" "other_cores_before=$OTHER_CORES_BEFORE" \
      "rss_before_sessions_kb=$RSS_BEFORE" "rss_after_sessions_kb=$RSS_AFTER" \
      "redis_rss_start_kb=$REDIS_RSS_START" "redis_rss_before_sessions_kb=$REDIS_RSS_BEFORE" \
      "redis_rss_after_sessions_kb=$REDIS_RSS_AFTER" "redis_keys_after=$REDIS_KEYS" \
      "loadavg=$(loadavg)" $RW $RO $MEM >&2
  fi

  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  if [ -n "$REDIS_WRAPPER" ]; then
    kill -TERM "$REDIS_WRAPPER" 2>/dev/null || true
    wait "$REDIS_WRAPPER" 2>/dev/null || true
    REDIS_WRAPPER=""
  fi
done
done

record end=1 "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "loadavg_end=$(loadavg)" >/dev/null
python3 "$ROOT/scripts/load_report.py" render "$JSONL" "$OUT/load-section.md"
cat "$OUT/load-section.md"
log "raw: $JSONL; report: $OUT/load-section.md"
