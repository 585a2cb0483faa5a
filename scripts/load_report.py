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


def derive(row: dict, clk_tck: int) -> dict:
    """The reported figures of one measured run of a case."""
    d: dict = {}
    for phase in ("rw", "ro"):
        requests = row.get(f"{phase}_requests") or 0
        wall_s = (row.get(f"{phase}_duration_us") or 0) / 1e6
        # Exact run time from schedstat when recorded, else the tick-sampled utime + stime.
        if f"{phase}_server_run_ns" in row:
            server_s = row[f"{phase}_server_run_ns"] / 1e9
            redis_s = (row.get(f"{phase}_redis_run_ns") or 0) / 1e9
        else:
            server_s = (row.get(f"{phase}_server_cpu_ticks") or 0) / clk_tck
            redis_s = (row.get(f"{phase}_redis_cpu_ticks") or 0) / clk_tck
        client_wall = row.get(f"{phase}_client_wall_s") or 0
        client_s = (row.get(f"{phase}_client_user_s") or 0) + (row.get(f"{phase}_client_sys_s") or 0)
        wait_ns = row.get(f"{phase}_server_runq_wait_ns")
        d[f"{phase}_rps"] = row.get(f"{phase}_rps")
        d[f"{phase}_p50_ms"] = row.get(f"{phase}_lat_p50_us", 0) / 1000
        d[f"{phase}_p99_ms"] = row.get(f"{phase}_lat_p99_us", 0) / 1000
        d[f"{phase}_cpu_us"] = server_s * 1e6 / requests if requests else None
        d[f"{phase}_cpu_redis_us"] = (server_s + redis_s) * 1e6 / requests if requests and redis_s else None
        d[f"{phase}_server_busy"] = (server_s + redis_s) / wall_s * 100 if wall_s else None
        d[f"{phase}_client_busy"] = client_s / client_wall * 100 if client_wall else None
        busy = row.get(f"{phase}_machine_busy_ticks")
        # Same (tick-sampled) accounting as /proc/stat's busy time.
        ours = ((row.get(f"{phase}_server_cpu_ticks") or 0) + (row.get(f"{phase}_redis_cpu_ticks") or 0)) / clk_tck + client_s
        d[f"{phase}_other_cores"] = max(0.0, busy / clk_tck - ours) / wall_s if busy is not None and wall_s else None
        d[f"{phase}_runq_wait"] = wait_ns / (wall_s * 1e9) * 100 if wait_ns is not None and wall_s else None
    n = row.get("mem_requests") or 0
    before = row.get("rss_before_sessions_kb")
    after = row.get("rss_after_sessions_kb")
    d["sessions"] = n
    d["rss_start_mb"] = (row.get("rss_start_kb") or 0) / 1024
    d["rss_before_mb"] = before / 1024 if before is not None else None
    d["rss_after_mb"] = after / 1024 if after is not None else None
    d["growth_kb"] = (after - before) * 1000 / n if n and before is not None and after is not None else None
    d["login_cpu_us"] = (row.get("mem_server_cpu_ticks") or 0) / clk_tck * 1e6 / n if n else None
    rb = row.get("redis_rss_before_sessions_kb") or 0
    ra = row.get("redis_rss_after_sessions_kb") or 0
    d["redis_before_mb"] = rb / 1024 if ra else None
    d["redis_after_mb"] = ra / 1024 if ra else None
    d["redis_growth_kb"] = (ra - rb) * 1000 / n if ra and n else None
    keys = row.get("redis_keys_after")
    d["redis_keys"] = keys if isinstance(keys, int) else None
    return d


def median(values: list):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def spread(values: list) -> float | None:
    """Half the range over the median, in %, or None with fewer than two values."""
    values = [v for v in values if v is not None]
    m = median(values)
    if len(values) < 2 or not m:
        return None
    return (max(values) - min(values)) / 2 / m * 100


def fmt(x, digits=0, suffix=""):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}{suffix}"


def ratio(x, ref):
    if x is None or ref in (None, 0):
        return "–"
    return f"{x / ref:.2f}×"


def with_spread(x, sp, digits=0):
    if x is None:
        return "–"
    return fmt(x, digits) + (f" ±{sp:.0f} %" if sp is not None else "")


def render(path: Path, out: Path) -> None:
    meta, rows, end = load(path)
    clk = int(meta.get("clk_tck", 100))
    sessions = int(meta.get("sessions", 0))
    rounds = int(meta.get("rounds", 1))
    order: list[str] = []
    by_case: dict[str, list[dict]] = {}
    for row in rows:
        row["_sessions"] = sessions
        if row["case"] not in by_case:
            order.append(row["case"])
        by_case.setdefault(row["case"], []).append(row)
    failed = {c: [f"round {r.get('round', '?')}: {p}" for r in rs for p in problems(r)] for c, rs in by_case.items()}
    failed = {c: why for c, why in failed.items() if why}
    derived = {c: [derive(r, clk) for r in rs] for c, rs in by_case.items() if c not in failed}
    quiet_cores = float(meta.get("quiet_cores", 0.3))

    def chosen(ds: list[dict], key: str) -> list[dict]:
        """The rounds a figure is taken from: for a steady phase's figures, the rounds in
        which other processes used less than `quiet_cores` cores during that phase, when
        there are any; otherwise (and for the memory figures) every round."""
        phase = key.split("_", 1)[0]
        if phase not in ("rw", "ro"):
            return ds
        quiet = [d for d in ds if d[f"{phase}_other_cores"] is not None and d[f"{phase}_other_cores"] < quiet_cores]
        return quiet or ds

    agg = {c: {k: median([d[k] for d in chosen(ds, k)]) for k in ds[0]} for c, ds in derived.items()}
    spreads = {c: {k: spread([d[k] for d in chosen(ds, k)]) for k in ds[0]} for c, ds in derived.items()}
    quiet_count = {
        c: {p: sum(1 for d in ds if d[f"{p}_other_cores"] is not None and d[f"{p}_other_cores"] < quiet_cores) for p in ("rw", "ro")}
        for c, ds in derived.items()
    }
    total_count = {c: len(ds) for c, ds in derived.items()}
    ref = agg.get(REFERENCE, {})
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
        f"- {rounds} round(s), the cases interleaved (each round starts one case further on). "
        "A steady-phase figure is the median over the case's *quiet rounds*, those in which "
        f"other processes used less than {quiet_cores} cores during that phase, when it has "
        "any, else over all its rounds (quiet rounds 0/n: measured while the machine was busy, "
        "so compare it with care); memory figures are medians over all rounds"
        + (". ± is half the range over those rounds, in % of the median." if rounds > 1 else ".")
    )
    w(
        f"- Load average at start {meta.get('loadavg_start', '?')}, at end "
        f"{end.get('loadavg_end', '?')}: the machine may be shared, and other work then takes "
        "time from either core."
    )
    w(
        "- CPU µs/req: the time the server's threads ran over the phase "
        "(`/proc/<pid>/task/*/schedstat`, in ns) divided by wrk's request count; "
        "\"+ Redis\" adds redis-server's. Busy: that CPU time over the phase's wall time "
        "(server side incl. Redis / client, % of one core); a client near 100 % would mean the "
        "client, not the server, limited req/s. Run-queue wait: time the server's threads were "
        "ready but another process held the core (`/proc/<pid>/task/*/schedstat`), in % of "
        "the phase; when it is high, req/s and latency measure the shared machine as much as "
        "the server, and CPU µs/req is the figure to compare. Other load: CPU time of every "
        "other process during the phase (`/proc/stat` busy time minus the server's, Redis's "
        "and wrk's), in cores. Before each case the script waited up to "
        f"{meta.get('quiet_wait_s', '?')} s for other processes to use less than "
        f"{meta.get('quiet_cores', '?')} cores."
    )
    w(
        "- Ratios are to this crate (`sealed`): req/s ratio > 1 is faster than this crate, "
        "latency and CPU ratio > 1 is slower / costlier."
    )
    w("")

    for phase, title in (("rw", "Steady read + write (`GET /`)"), ("ro", "Steady read-only (`GET /ro`)")):
        w(f"### {title}")
        w("")
        w(
            "| case | req/s | ×sealed | p50 ms | p99 ms | ×sealed p99 | CPU µs/req | ×sealed | "
            "+ Redis µs/req | busy server / client | run-queue wait | other load | quiet rounds |"
        )
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for case in order:
            if case not in agg:
                continue
            a, sp = agg[case], spreads[case]
            k = lambda name: f"{phase}_{name}"  # noqa: E731
            w(
                f"| {LABELS.get(case, case)} | {with_spread(a[k('rps')], sp[k('rps')])} | "
                f"{ratio(a[k('rps')], ref.get(k('rps')))} | {fmt(a[k('p50_ms')], 2)} | "
                f"{fmt(a[k('p99_ms')], 2)} | {ratio(a[k('p99_ms')], ref.get(k('p99_ms')))} | "
                f"{with_spread(a[k('cpu_us')], sp[k('cpu_us')], 1)} | "
                f"{ratio(a[k('cpu_us')], ref.get(k('cpu_us')))} | {fmt(a[k('cpu_redis_us')], 1)} | "
                f"{fmt(a[k('server_busy')], 0, ' %')} / {fmt(a[k('client_busy')], 0, ' %')} | "
                f"{fmt(a[k('runq_wait')], 0, ' %')} | {fmt(a[k('other_cores')], 2)} | "
                f"{quiet_count[case][phase]}/{total_count[case]} |"
            )
        w("")

    w(f"### Server memory after {sessions:,} distinct sessions")
    w("")
    w(
        f"{sessions:,} first visits (`GET /login/0` without a cookie, typical payload), each a new "
        "session, right after the two steady phases (a few more, up to one per connection, were "
        "in flight when wrk stopped; growth is divided by the answers counted). RSS is `VmRSS` "
        "of the server process (and of redis-server for the Redis cases), in MB, at the server's "
        "start (after the sanity check), before the sessions and after them. CPU µs/login is the "
        f"server's utime + stime (`/proc/<pid>/stat`, {1e6 / clk:,.0f} µs ticks) per first visit."
    )
    w("")
    w(
        "| case | RSS start | before | after | KB / 1000 sessions | ×sealed RSS after | "
        "CPU µs/login | Redis MB before → after | Redis KB / 1000 sessions | Redis keys after |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in order:
        if case not in agg:
            continue
        a = agg[case]
        redis = (
            f"{a['redis_before_mb']:,.1f} → {a['redis_after_mb']:,.1f}"
            if a["redis_after_mb"] is not None
            else "–"
        )
        w(
            f"| {LABELS.get(case, case)} | {fmt(a['rss_start_mb'], 1)} | {fmt(a['rss_before_mb'], 1)} | "
            f"{fmt(a['rss_after_mb'], 1)} | {fmt(a['growth_kb'], 1)} | "
            f"{ratio(a['rss_after_mb'], ref.get('rss_after_mb'))} | {fmt(a['login_cpu_us'], 1)} | "
            f"{redis} | {fmt(a['redis_growth_kb'], 1)} | {fmt(a['redis_keys'])} |"
        )
    w("")
    if failed:
        w("**Failed cases** (left out of the tables: a run had socket errors, non-200 answers, "
          "wrong counters or missing cookies):")
        w("")
        for case, why in failed.items():
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
