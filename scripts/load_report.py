#!/usr/bin/env python3
"""The raw results and the report of scripts/load-compare.sh (end to end over real sockets).

    load_report.py record <load.jsonl> key=value ...   append one JSON line (numbers parsed)
    load_report.py render <load.jsonl> <out.md>         write the markdown fragment

load.jsonl holds, for one run: a `meta` line (machine, pinning, command, start time), one
line per case (its sanity check, then `rw_*` for the steady read+write phase, `ro_*` for
the read-only phase, `mem_*` for the memory phase: wrk's counters and latency percentiles in
µs, the server's and Redis's utime+stime deltas in clock ticks, the client's CPU time, VmRSS
in KB) or a `failed` reason, and an `end` line.

The fragment starts at heading level ### so that it can be included verbatim under
BENCHMARKS.md's "End to end over real sockets".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REFERENCE = "sealed"

LABELS = {
    "sealed": "**this crate** (stateless)",
    "sealed_rev_redis": "this crate + revocation on Redis",
    "ts_memory": "tower-sessions + MemoryStore",
    "ts_redis": "tower-sessions + RedisStore",
    "tsc_private": "tower-sessions-cookie-store (private)",
    "baseline": "no session layer (reference floor)",
}

ERROR_KEYS = (
    "errors_connect",
    "errors_read",
    "errors_write",
    "errors_timeout",
    "errors_status",
    "non200",
    "mismatch",
    "nocookie",
    "noslot",
)

NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_value(text: str):
    if NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text


def record(path: Path, pairs: list[str]) -> None:
    row = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"load_report.py record: not key=value: {pair!r}")
        row[key] = parse_value(value)
    line = json.dumps(row, sort_keys=True)
    with path.open("a") as f:
        f.write(line + "\n")
    print(line)


def load(path: Path) -> tuple[dict, list[dict], dict]:
    meta, end, cases = {}, {}, []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("meta"):
            meta = row
        elif row.get("end"):
            end = row
        else:
            cases.append(row)
    return meta, cases, end


def problems(row: dict) -> list[str]:
    """Why a measured case does not count (empty when every check passed)."""
    if "failed" in row:
        return [str(row["failed"])]
    out = []
    for phase in ("rw", "ro", "mem"):
        if f"{phase}_requests" not in row:
            out.append(f"{phase}: no wrk summary")
            continue
        for key in ERROR_KEYS:
            if key == "nocookie" and row.get("case") == "baseline":
                continue  # no session layer, no cookie to expect
            n = row.get(f"{phase}_{key}", 0)
            if n:
                out.append(f"{phase}: {key}={n}")
    if row.get("mem_requests", 0) < row.get("_sessions", 0):
        out.append(f"mem: only {row.get('mem_requests')} sessions")
    return out


def cpu_us_per_request(row: dict, phase: str, who: str, clk_tck: int) -> float | None:
    ticks = row.get(f"{phase}_{who}_cpu_ticks")
    requests = row.get(f"{phase}_requests")
    if ticks is None or not requests:
        return None
    return ticks * 1e6 / clk_tck / requests


def core_busy(row: dict, phase: str, clk_tck: int) -> tuple[float | None, float | None]:
    """Share of one core the server (+ Redis) and the client used during a steady phase."""
    wall = row.get(f"{phase}_duration_us", 0) / 1e6
    if not wall:
        return None, None
    server = (row.get(f"{phase}_server_cpu_ticks", 0) + row.get(f"{phase}_redis_cpu_ticks", 0)) / clk_tck
    client_wall = row.get(f"{phase}_client_wall_s") or 0
    client = None
    if client_wall:
        client = (row.get(f"{phase}_client_user_s", 0) + row.get(f"{phase}_client_sys_s", 0)) / client_wall
    return server / wall, client


def fmt(x, digits=0, suffix=""):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}{suffix}"


def ratio(x, ref):
    if x is None or ref in (None, 0):
        return "–"
    return f"{x / ref:.2f}×"


def render(path: Path, out: Path) -> None:
    meta, rows, end = load(path)
    clk = int(meta.get("clk_tck", 100))
    sessions = int(meta.get("sessions", 0))
    for row in rows:
        row["_sessions"] = sessions
    ok = {r["case"]: r for r in rows if not problems(r)}
    ref = ok.get(REFERENCE)
    lines: list[str] = []
    w = lines.append

    w(
        "One real axum 0.8 / hyper 1 server per case (`benches/load_server.rs`, tokio "
        "current-thread runtime) on 127.0.0.1, driven by wrk "
        f"{meta.get('wrk', '?')} with {meta.get('threads')} thread and "
        f"{meta.get('connections')} connections for {meta.get('duration_s')} s per phase. "
        "Every case serves the same routes and handlers as the in-process benches: "
        "`GET /login/0` writes the typical payload into a fresh session, `GET /` reads the "
        "counter and writes counter + 1, `GET /ro` reads it. Each concurrent request slot is its "
        "own session: it logs in once, then keeps its cookie (applying every `Set-Cookie`); "
        "every answer is checked (status 200, counter exactly the slot's previous value + 1, or "
        "unchanged for `/ro`), and before the load curl checks that `/login/0`, `/`, `/`, `/ro` "
        "answer 1, 2, 3, 3."
    )
    w("")
    w(
        f"- Command: `{meta.get('command', '?')}` at git `{meta.get('git', '?')}`, "
        f"{meta.get('started', '?')} – {end.get('finished', '?')}."
    )
    w(f"- Machine: {meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), Linux {meta.get('kernel', '?')}.")
    w(
        f"- Pinning: {meta.get('pinning', '?')}. The Redis cases run their private "
        "`redis-server` (no persistence, fred pool of 2) on the server's core: the store is "
        "part of the server side, which has one core in total."
    )
    w(
        f"- Load average at start {meta.get('loadavg_start', '?')}, at end "
        f"{end.get('loadavg_end', '?')}: the machine is shared, so other work may have taken "
        "time from either core."
    )
    w(
        "- CPU µs/request: the server process's utime + stime (`/proc/<pid>/stat`, "
        f"{1e6 / clk:,.0f} µs ticks) over the phase divided by wrk's request count; "
        "\"+ Redis\" adds redis-server's. Core busy: that CPU time over the phase's wall time "
        "(server side incl. Redis / client). A client near 100 % means the client, not the "
        "server, limited req/s. Server run-queue wait: time the server's threads were ready "
        "but another process held the core (`/proc/<pid>/task/*/schedstat`), as a share of the "
        "phase; when it is high, req/s and latency measure the shared machine more than the "
        "server, and CPU µs/request is the figure to compare."
    )
    w(
        "- Ratios are to this crate (`sealed`): req/s ratio > 1 is faster than this crate, "
        "latency and CPU ratio > 1 is slower / costlier."
    )
    w("")

    failed = [(r["case"], problems(r)) for r in rows if problems(r)]
    for phase, title in (("rw", "Steady read + write (`GET /`)"), ("ro", "Steady read-only (`GET /ro`)")):
        w(f"### {title}")
        w("")
        w(
            "| case | req/s | ×sealed | p50 ms | p99 ms | ×sealed p99 | CPU µs/req | ×sealed | "
            "+ Redis µs/req | core busy server / client | server run-queue wait |"
        )
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            case = row["case"]
            if case not in ok:
                continue
            rps = row.get(f"{phase}_rps")
            p50 = row.get(f"{phase}_lat_p50_us")
            p99 = row.get(f"{phase}_lat_p99_us")
            cpu = cpu_us_per_request(row, phase, "server", clk)
            redis = cpu_us_per_request(row, phase, "redis", clk)
            total = None if cpu is None else cpu + (redis or 0)
            server_busy, client_busy = core_busy(row, phase, clk)
            wall_ns = row.get(f"{phase}_duration_us", 0) * 1000
            wait_ns = row.get(f"{phase}_server_runq_wait_ns")
            wait = wait_ns / wall_ns * 100 if wait_ns is not None and wall_ns else None
            r_rps = ref.get(f"{phase}_rps") if ref else None
            r_p99 = ref.get(f"{phase}_lat_p99_us") if ref else None
            r_cpu = cpu_us_per_request(ref, phase, "server", clk) if ref else None
            w(
                f"| {LABELS.get(case, case)} | {fmt(rps)} | {ratio(rps, r_rps)} | "
                f"{fmt(p50 / 1000 if p50 is not None else None, 2)} | "
                f"{fmt(p99 / 1000 if p99 is not None else None, 2)} | {ratio(p99, r_p99)} | "
                f"{fmt(cpu, 1)} | {ratio(cpu, r_cpu)} | "
                f"{fmt(total, 1) if row.get(f'{phase}_redis_cpu_ticks') else '–'} | "
                f"{fmt(server_busy * 100 if server_busy is not None else None, 0, ' %')} / "
                f"{fmt(client_busy * 100 if client_busy is not None else None, 0, ' %')} | "
                f"{fmt(wait, 0, ' %')} |"
            )
        w("")

    w(f"### Server memory after {sessions:,} distinct sessions")
    w("")
    w(
        f"{sessions:,} first visits (`GET /login/0` without a cookie, typical payload), each a new "
        "session, right after the two steady phases. RSS is `VmRSS` of the server process (and of "
        "redis-server for the Redis cases), in MB; growth is per 1000 sessions created."
    )
    w("")
    w(
        "| case | RSS at start | before | after | growth KB / 1000 sessions | ×sealed RSS after | "
        "Redis before → after | Redis KB / 1000 sessions |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    r_after = ref.get("rss_after_sessions_kb") if ref else None
    for row in rows:
        case = row["case"]
        if case not in ok:
            continue
        n = row.get("mem_requests") or 0
        before = row.get("rss_before_sessions_kb")
        after = row.get("rss_after_sessions_kb")
        growth = (after - before) * 1000 / n if n and before is not None and after is not None else None
        rb = row.get("redis_rss_before_sessions_kb") or 0
        ra = row.get("redis_rss_after_sessions_kb") or 0
        redis = f"{rb / 1024:,.1f} → {ra / 1024:,.1f}" if ra else "–"
        redis_growth = fmt((ra - rb) * 1000 / n, 1) if ra and n else "–"
        w(
            f"| {LABELS.get(case, case)} | {fmt(row.get('rss_start_kb', 0) / 1024, 1)} | "
            f"{fmt(before / 1024, 1)} | {fmt(after / 1024, 1)} | {fmt(growth, 1)} | "
            f"{ratio(after, r_after)} | {redis} | {redis_growth} |"
        )
    w("")
    if failed:
        w("**Failed cases** (not in the tables above; their numbers do not count):")
        w("")
        for case, why in failed:
            w(f"- `{case}`: {'; '.join(why)}")
        w("")
    out.write_text("\n".join(lines))


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "record":
        record(Path(argv[1]), argv[2:])
    elif len(argv) == 3 and argv[0] == "render":
        render(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
