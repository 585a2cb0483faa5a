#!/usr/bin/env bash
# Load test: starts the demo (release build) with a fixed key on 127.0.0.1, drives it with
# wrk through login + dashboard requests that reuse the session cookie, and reports
# requests/s, errors, non-2xx responses and the server's RSS at start and end.
#
#   scripts/load.sh                 # 30 s, 64 connections, 2 threads
#   DURATION=60 CONNECTIONS=128 scripts/load.sh
#
# Not part of the test suite. Installs wrk from Debian's packages if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-30}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ADDR="${ADDR:-127.0.0.1:3900}"
# A fixed, public test key: never use it for anything real.
KEY="ZGVtby1sb2FkLXRlc3Qta2V5LW5vdC1hLXNlY3JldC0xMjM0NTY3ODk"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

cargo build --release --example demo
# The stateless layer by default (DEMO_REVOCATION=on measures revocation on the demo's
# embedded SQLite store).
SESSION_KEYS="$KEY" DEMO_ADDR="$ADDR" DEMO_REVOCATION="${DEMO_REVOCATION:-off}" RUST_LOG=warn \
  target/release/examples/demo &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://$ADDR/login" && break
  sleep 0.1
done
rss() { awk '/VmRSS/ {print $2 " " $3}' "/proc/$SERVER/status"; }
RSS_START=$(rss)

wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s scripts/load.lua "http://$ADDR" \
  | tee /tmp/tss-load.txt

RSS_END=$(rss)
echo "LOAD server_rss_start=${RSS_START// /} server_rss_end=${RSS_END// /}"
echo "LOAD command: DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS scripts/load.sh"
