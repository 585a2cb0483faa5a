#!/usr/bin/env python3
"""Writes BENCHMARKS.md, docs/bench-chart.svg and docs/bench-size-series.svg from the results
of scripts/bench.sh.

Inputs (all under --out, normally target/bench-report, plus --criterion):
  cases.jsonl, prims.jsonl       the ids the bench binaries list (only these are reported)
  <criterion>/<group>/<fn>/new/{estimates,sample}.json
  interleaved.jsonl              middleware --interleaved (median, p10, p90 per case)
  callgrind.tsv                  kind, id, N, Ir(N) (whole program)
  dhat.tsv                       id, N, bytes(N), blocks(N)
  sizes.jsonl, floor_check.jsonl cookie sizes, floor cross-check
  profile/{inclusive,exclusive}.txt   callgrind_annotate of the request loop
  rev-*, storage-*               the revocation and storage benches' results (same shapes)
  load-section.md                scripts/load-compare.sh's end-to-end section (verbatim)
  meta-*.env                     start/end time and load of each phase
and docs/bench-notes.md (hand-written analysis, included verbatim).

Only the standard library is used; the chart is an SVG written by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import operator
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

# ------------------------------------------------------------------------------------------
# Descriptions

DESCRIPTIONS = {
    "baseline/rw": "same routes, no session layer (handler answers `1`)",
    "ts_memory/fresh": "tower-sessions 0.14 + MemoryStore, no cookie: creates a session",
    "ts_memory/steady_ro": "… steady, read-only (typical payload)",
    "ts_memory/steady_rw": "… steady, read + write (typical payload)",
    "ts_memory/rw_counter": "… steady, read + write (counter only)",
    "ts_memory/rw_1KB": "… steady, read + write, ~1 KB of data",
    "ts_memory/rw_3KB": "… steady, read + write, ~3 KB of data",
    "tsc_private/fresh": "tower-sessions-cookie-store 0.5 private, no cookie",
    "tsc_private/steady_ro": "… steady, read-only (typical payload)",
    "tsc_private/steady_rw": "… steady, read + write (typical payload)",
    "tsc_private/rw_counter": "… steady, read + write (counter only)",
    "tsc_private/rw_1KB": "… steady, read + write, ~1 KB of data",
    "jar_private/ro_counter": "axum-extra PrivateCookieJar, counter cookie, read-only",
    "jar_private/rw_counter": "… counter cookie, read + write",
    "jar_private/rw_typed_100B": "… typical payload as JSON in one cookie, read + write",
    "jar_private/ro_typed_100B": "… typical payload as JSON in one cookie, read-only",
    "api_floor/steady_ro": "session-API floor: the real `Session` over a store that hands out a "
                           "one-entry record built in advance; no cookie, no crypto "
                           "(benches/common/api_floor.rs), read-only",
    "api_floor/steady_rw": "… read + write (`Session::save` to a store that keeps nothing)",
    "sealed/fresh": "**this crate**, no cookie: creates a session",
    "sealed/steady_ro": "**this crate**, steady, read-only (typical payload)",
    "sealed/steady_rw": "**this crate**, steady, read + write (typical payload)",
    "sealed/rw_counter": "**this crate**, steady, read + write (counter only)",
    "sealed/rotated_ro": "**this crate**, cookie under an older key, read-only (re-seal)",
    "sealed/rw_1KB": "**this crate**, steady, read + write, ~1 KB of data",
    "sealed/rw_3KB": "**this crate**, steady, read + write, ~3 KB of data, "
                     "`.with_cookie_budget(4096)` (its ~4 KB cookie exceeds the default "
                     "3072-byte budget)",
}

FAMILY_LABEL = {
    "baseline": "baseline (no session)",
    "ts_memory": "tower-sessions + MemoryStore",
    "tsc_private": "tower-sessions-cookie-store (private)",
    "jar_private": "axum-extra PrivateCookieJar",
    "api_floor": "session-API floor (no cookie, no crypto)",
    "sealed": "tower-sessions-sealed (this crate)",
}

FAMILY_COLOR = {
    "baseline": "#9e9e9e",
    "ts_memory": "#4e79a7",
    "tsc_private": "#e15759",
    "jar_private": "#f28e2b",
    "api_floor": "#bab0ac",
    "sealed": "#59a14f",
    "sealed_rev": "#b6d7a8",
}

REV_FAMILY_LABEL = {
    "baseline": "baseline (no session)",
    "sealed": "this crate, no revocation",
    "sealed_rev": "this crate + with_revocation(store)",
    "ts_memory": "tower-sessions 0.14 + the same store",
}


SHAPES = [("token as string", ""), ("token as bytes", "@bytes"), ("numeric", "@numeric")]
SHAPE_WHAT = {
    "@bytes": "payload shape *token as bytes* (the CSRF token as 32 bytes: a JSON array of "
              "32 numbers)",
    "@numeric": "payload shape *numeric* (numbers and nested arrays of integers and floats, "
                "~2× the typical JSON)",
}


def is_series(case_id: str) -> bool:
    return case_id.split("/", 1)[-1].startswith("series_")


def describe(case_id: str, data_json: int | None = None) -> str:
    """The description of a middleware case: the table above, the shape variants and the
    size series generated from it."""
    if case_id in DESCRIPTIONS:
        return DESCRIPTIONS[case_id]
    if "@" in case_id:
        base, shape = case_id.split("@", 1)
        return f"{DESCRIPTIONS.get(base, base)}; {SHAPE_WHAT.get('@' + shape, shape)}"
    if is_series(case_id):
        family = case_id.split("/", 1)[0]
        what = (f"{data_json} B of session data as JSON" if data_json is not None else "")
        if case_id.endswith("/series_0B"):
            what = f"the counter alone ({data_json} B as JSON)"
        return f"{FAMILY_LABEL.get(family, family)}, size series, steady read + write: {what}"
    return ""


def counterpart(case_id: str) -> str | None:
    """Our case to compare another case with (same request, same session data)."""
    family, variant = case_id.split("/", 1)
    if family in ("baseline", "sealed"):
        return None
    if "@" in case_id:
        base, shape = case_id.split("@", 1)
        cp = counterpart(base)
        return f"{cp}@{shape}" if cp else None
    if is_series(case_id):
        return f"sealed/{variant}"
    mapping = {
        "fresh": "sealed/fresh",
        "steady_ro": "sealed/steady_ro",
        "steady_rw": "sealed/steady_rw",
        "rw_counter": "sealed/rw_counter",
        "rw_1KB": "sealed/rw_1KB",
        "rw_3KB": "sealed/rw_3KB",
        "rw_typed_100B": "sealed/steady_rw",
        "ro_typed_100B": "sealed/steady_ro",
        "ro_counter": "sealed/steady_ro",
    }
    return mapping.get(variant)


# ------------------------------------------------------------------------------------------
# Loading


def load_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_env(path: Path) -> dict:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def sanitize(part: str) -> str:
    return re.sub(r'[?"/\\*<>:|^]', "_", part)


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def criterion_result(crit: Path, bench_id: str) -> dict | None:
    group, function = bench_id.split("/", 1)
    base = crit / sanitize(group) / sanitize(function) / "new"
    est_path, sample_path = base / "estimates.json", base / "sample.json"
    if not est_path.exists() or not sample_path.exists():
        return None
    est = json.loads(est_path.read_text())
    sample = json.loads(sample_path.read_text())
    per_iter = [t / i for t, i in zip(sample["times"], sample["iters"]) if i]
    return {
        "median": est["median"]["point_estimate"],
        "median_lo": est["median"]["confidence_interval"]["lower_bound"],
        "median_hi": est["median"]["confidence_interval"]["upper_bound"],
        "p10": percentile(per_iter, 0.10),
        "p90": percentile(per_iter, 0.90),
        "samples": len(per_iter),
        "mtime": est_path.stat().st_mtime,
    }


def phase_epoch(meta: dict, phase: str) -> float | None:
    """When a phase of the last run started (meta-<phase>.env), as a Unix time."""
    started = (meta.get(phase) or {}).get("started")
    if not started:
        return None
    try:
        return dt.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        return None


def fresh_result(crit: Path, bench_id: str, since: float | None) -> dict:
    """criterion's result for `bench_id`, unless it is older than the phase that should have
    written it (a case that failed keeps its previous run's files)."""
    res = criterion_result(crit, bench_id) or {}
    if res and since is not None and res["mtime"] < since - 1:
        return {}
    return res


def load_callgrind(path: Path) -> dict[tuple[str, str], float]:
    """(kind, id) -> Ir per iteration, from the two runs with different N."""
    runs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 4 or not parts[3].strip():
                continue
            kind, bench_id, n, ir = parts
            runs.setdefault((kind, bench_id), []).append((int(n), int(ir)))
    out = {}
    for key, pts in runs.items():
        pts.sort()
        if len(pts) >= 2 and pts[-1][0] != pts[0][0]:
            (n1, i1), (n2, i2) = pts[0], pts[-1]
            out[key] = (i2 - i1) / (n2 - n1)
    return out


def load_dhat(path: Path) -> dict[str, tuple[float, float]]:
    """id -> (blocks per request, bytes per request)."""
    runs: dict[str, list[tuple[int, int, int]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 4 or not parts[3].strip():
                continue
            bench_id, n, nbytes, blocks = parts
            runs.setdefault(bench_id, []).append((int(n), int(nbytes), int(blocks)))
    out = {}
    for bench_id, pts in runs.items():
        pts.sort()
        if len(pts) >= 2 and pts[-1][0] != pts[0][0]:
            (n1, b1, k1), (n2, b2, k2) = pts[0], pts[-1]
            out[bench_id] = ((k2 - k1) / (n2 - n1), (b2 - b1) / (n2 - n1))
    return out


LINE_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$")


def parse_annotate(path: Path) -> list[tuple[int, str, str]]:
    """(Ir, source file, function) rows of callgrind_annotate output."""
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text(errors="replace").splitlines():
        m = LINE_RE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        rest = m.group(3)
        if rest.startswith("PROGRAM TOTALS"):
            continue
        rest = re.sub(r"\s+\[[^\]]*\]$", "", rest)
        if ":" in rest:
            file, func = rest.split(":", 1)
            # `file:function`: a file path has no ':'; the function starts at the first one.
        else:
            file, func = "", rest
        rows.append((ir, file, func))
    return rows


# ------------------------------------------------------------------------------------------
# Formatting


def us(ns: float | None) -> str:
    return "–" if ns is None else f"{ns / 1000:.2f}"


def nsf(ns: float | None) -> str:
    if ns is None:
        return "–"
    return f"{ns:,.0f}".replace(",", " ")


def num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}".replace(",", " ")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}×"


def short_fn(name: str, width: int = 110) -> str:
    """A readable function name: drop hashes and long generic arguments."""
    name = re.sub(r"::h[0-9a-f]{16}", "", name)
    # Collapse nested generics beyond the first level.
    out, depth = [], 0
    for ch in name:
        if ch == "<":
            depth += 1
            if depth == 3:
                out.append("<…>")
            if depth >= 3:
                continue
        elif ch == ">":
            depth -= 1
            if depth >= 2:
                continue
        elif depth >= 3:
            continue
        out.append(ch)
    name = "".join(out).replace("<…>>", "<…>")
    if len(name) > width:
        name = name[: width - 1] + "…"
    return name.replace("|", "\\|")


# ------------------------------------------------------------------------------------------
# Machine


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine(repo: Path) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines()
                  if l.startswith("model name")), platform.processor())
    flags_line = next((l for l in cpuinfo.splitlines() if l.startswith("flags")), "")
    flags = set(flags_line.split(":", 1)[1].split()) if flags_line else set()
    wanted = ["avx2", "avx512f", "aes", "pclmulqdq", "sha_ni", "vaes", "bmi2", "adx"]
    mem = ""
    if Path("/proc/meminfo").exists():
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    rev = sh("git", "-C", str(repo), "rev-parse", "--short", "HEAD")
    dirty = sh("git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "mem": mem,
        "kernel": platform.release(),
        "rustc": sh("rustc", "-V"),
        "valgrind": sh("valgrind", "--version"),
        "git": f"`{rev}`" + (" (with uncommitted changes)" if dirty else ""),
    }


# ------------------------------------------------------------------------------------------
# The chart


def svg_chart(rows: list[dict], path: Path, rev_rows: list[dict] | None = None) -> None:
    """Two panels per block: median time per request (p10–p90 whisker) and instructions per
    request. The first block is the middleware bench; the second (if any) the revocation
    bench, on its own scales (its network cases take far longer)."""
    row_h, left, panel_w, gap, right = 22, 250, 400, 120, 40
    width = left + panel_w + gap + panel_w + right
    out: list[str] = []
    y = 0
    y = chart_block(out, rows, y, "Per-request cost, axum 0.8 in-process (lower is better)",
                    FAMILY_LABEL, row_h, left, panel_w, gap, width)
    if rev_rows:
        y = chart_block(out, rev_rows, y + 10,
                        "Revocation: steady read + write, typical payload, per store "
                        "(interleaved run; lower is better)", REV_FAMILY_LABEL, row_h, left, panel_w, gap, width,
                        ir_note="in this process only; servers not counted")
    height = y + 10
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + out + ["</svg>"]) + "\n")


def family_color(family: str) -> str:
    if family in FAMILY_COLOR:
        return FAMILY_COLOR[family]
    if family.startswith("sealed_rev_"):
        return FAMILY_COLOR["sealed_rev"]
    if family.startswith("ts_"):
        return FAMILY_COLOR["ts_memory"]
    return "#777"


def chart_block(out: list[str], rows: list[dict], y0: int, title: str, legend: dict,
                row_h: int, left: int, panel_w: int, gap: int, width: int,
                ir_note: str = "callgrind") -> int:
    """Draws one block starting at y0; returns the y where it ends."""
    top = y0 + 70
    max_t = max((r["p90"] or r["median"] or 0) for r in rows) or 1
    max_ir = max((r["ir"] or 0) for r in rows) or 1
    x2 = left + panel_w + gap
    out += [
        f'<text x="{left}" y="{y0 + 22}" font-size="15" font-weight="bold">'
        f'{html.escape(title)}</text>',
        f'<text x="{left}" y="{top - 12}" font-weight="bold">median µs / request '
        '(whisker: p10–p90 of samples)</text>',
        f'<text x="{x2}" y="{top - 12}" font-weight="bold">instructions / request '
        f'({html.escape(ir_note)}, thousands)</text>',
    ]

    def ticks(x0: float, scale_max: float, fmt) -> None:
        step = nice_step(scale_max / 5)
        v = 0.0
        while v <= scale_max * 1.0001:
            x = x0 + v / scale_max * panel_w
            out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                       f'y2="{top + row_h * len(rows)}" stroke="#e0e0e0"/>')
            out.append(f'<text x="{x:.1f}" y="{top + row_h * len(rows) + 16}" '
                       f'text-anchor="middle" fill="#555">{fmt(v)}</text>')
            v += step

    scale_t = nice_ceiling(max_t / 1000)
    scale_ir = nice_ceiling(max_ir / 1000)
    ticks(left, scale_t, lambda v: f"{v:g}")
    ticks(x2, scale_ir, lambda v: f"{v:g}")
    base = next((r for r in rows if r["id"] == "baseline/rw"), None)
    for i, r in enumerate(rows):
        y = top + i * row_h
        color = family_color(r["family"])
        weight = ' font-weight="bold"' if r["family"].startswith("sealed") else ""
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end"{weight}>'
                   f'{html.escape(r["id"])}</text>')
        if r["median"] is not None:
            w = r["median"] / 1000 / scale_t * panel_w
            out.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                       f'fill="{color}"/>')
            if r["p10"] is not None and r["p90"] is not None:
                xa = left + r["p10"] / 1000 / scale_t * panel_w
                xb = left + r["p90"] / 1000 / scale_t * panel_w
                ym = y + row_h / 2
                out.append(f'<line x1="{xa:.1f}" y1="{ym}" x2="{xb:.1f}" y2="{ym}" '
                           'stroke="#222" stroke-width="1"/>')
                out.append(f'<line x1="{xa:.1f}" y1="{ym - 4}" x2="{xa:.1f}" y2="{ym + 4}" '
                           'stroke="#222"/>')
                out.append(f'<line x1="{xb:.1f}" y1="{ym - 4}" x2="{xb:.1f}" y2="{ym + 4}" '
                           'stroke="#222"/>')
            label_x = left + max(w, (r["p90"] or 0) / 1000 / scale_t * panel_w) + 4
            out.append(f'<text x="{label_x:.1f}" y="{y + 15}" fill="#333">'
                       f'{r["median"] / 1000:.2f}</text>')
        if r["ir"] is not None:
            w = r["ir"] / 1000 / scale_ir * panel_w
            out.append(f'<rect x="{x2}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                       f'fill="{color}"/>')
            out.append(f'<text x="{x2 + w + 4:.1f}" y="{y + 15}" fill="#333">'
                       f'{r["ir"] / 1000:.1f}k</text>')
    if base and base["median"] is not None:
        xb = left + base["median"] / 1000 / scale_t * panel_w
        out.append(f'<line x1="{xb:.1f}" y1="{top - 4}" x2="{xb:.1f}" '
                   f'y2="{top + row_h * len(rows)}" stroke="#555" stroke-dasharray="4 3"/>')
    if base and base["ir"] is not None:
        xb = x2 + base["ir"] / 1000 / scale_ir * panel_w
        out.append(f'<line x1="{xb:.1f}" y1="{top - 4}" x2="{xb:.1f}" '
                   f'y2="{top + row_h * len(rows)}" stroke="#555" stroke-dasharray="4 3"/>')
    # Legend (wrapped; ~7 px per character).
    lx, ly = 20, top + row_h * len(rows) + 46
    for family, label in legend.items():
        item_w = 16 + 7 * len(label) + 24
        if lx + item_w > width - 10:
            lx, ly = 20, ly + 20
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
                   f'fill="{family_color(family)}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{html.escape(label)}</text>')
        lx += item_w
    return ly + 14


def nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def nice_ceiling(value: float) -> float:
    step = nice_step(value / 5)
    n = int(value / step) + 1
    return n * step


# ------------------------------------------------------------------------------------------
# Where the time goes

COMPONENTS = [
    # (label, regex on the function name): the largest inclusive cost of a match. Inlined or
    # renamed functions show as "–"; the crate and self-cost tables below do not depend on
    # names.
    ("`SessionManager::call`: read the cookie, open it, build the `Session`",
     r"tower_sessions_sealed::service::SessionManager<S> as tower_service::Service"),
    ("└ `read_session_cookie` (header scan + `KeyRing::open_detailed`)",
     r"tower_sessions_sealed::service::read_session_cookie$"),
    ("　└ `KeyRing::open_detailed` (b64 decode + AEAD open + payload decode)",
     r"KeyRing>::open_detailed$"),
    ("　　└ `payload::decode` (postcard → `HashMap<String, Value>`)",
     r"^tower_sessions_sealed::payload::decode$"),
    ("handler: `Session::get` (loads the record from the store on first use)",
     r"^tower_sessions_core::session::Session::get::"),
    ("handler: `Session::insert`", r"^tower_sessions_core::session::Session::insert(_value)?::"),
    ("`ResponseFuture::poll`: after the handler (decide, save, headers)",
     r"tower_sessions_sealed::future::ResponseFuture<[^>]*> as core::future::future::Future>::poll$"),
    ("└ `Pending::finish_modified` (is_empty, `Session::save`)",
     r"tower_sessions_sealed::future::Pending::finish_modified"),
    ("　└ `RequestStore::save` (seal + build the `Set-Cookie`)",
     r"RequestStore as tower_sessions_core::session_store::SessionStore>::save"),
    ("　　└ `KeyRing::seal_view` (payload encode + AEAD seal + b64 encode)",
     r"KeyRing>::seal_view$"),
    ("`Pending::apply` (Vary, Set-Cookie, Cache-Control headers)",
     r"tower_sessions_sealed::future::Pending::apply$"),
    ("dropping the `Pending` state (Session, store, record)",
     r"drop_in_place<tower_sessions_sealed::future::Pending>$"),
]

BORING = re.compile(
    r"(lang_start|__rust_begin_short_backtrace|libc_start|below main|^main$|::main$|"
    r"driver_loop|block_on|enter_runtime|Scoped<T>::set|CoreGuard|0x0000)")


def fn_crate(func: str) -> str:
    """The crate a function name belongs to (`<a::B as c::D>::f` -> a)."""
    name = func.lstrip("<&*")
    name = re.sub(r"^(dyn |mut |const )", "", name)
    return name.split("::", 1)[0] if "::" in name else name


def crate_of(file: str, func: str) -> str:
    m = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+[^/]*/", file)
    if m:
        return m.group(1)
    m = re.search(r"/rust/deps/([A-Za-z0-9_\-]+?)-\d+\.\d+", file)
    if m:
        return f"{m.group(1)} (std's)"
    owner = fn_crate(func)
    if "/rustc/" in file:
        if owner in ("core", "alloc", "std", "__rustc"):
            return "Rust standard library"
        return f"Rust standard library, inlined into {owner}"
    if "benches/" in file:
        return "bench harness (request + body)"
    if file.startswith("./") or re.match(r"^(_int_\w+|malloc\w*|free|realloc|calloc|__mem\w+)$",
                                          func):
        return "glibc (malloc/free/memcpy)"
    if owner == "tower_sessions_sealed" or (file.startswith("src/") or "/main/src/" in file):
        return "tower-sessions-sealed"
    return f"other ({owner})"


def where_time_goes(out_dir: Path, case: str, n: int, sub: str = "profile") -> dict:
    stem = out_dir / sub / case.replace("/", "~")
    incl = parse_annotate(Path(f"{stem}.inclusive.txt"))
    excl = parse_annotate(Path(f"{stem}.exclusive.txt"))
    if not incl or not excl or not n:
        return {}
    total = sum(ir for ir, _, _ in excl)
    by_fn: dict[str, int] = {}
    for ir, _, func in incl:
        base = re.sub(r"'\d+$", "", func)
        by_fn[base] = max(by_fn.get(base, 0), ir)
    components = []
    for label, pattern in COMPONENTS:
        rx = re.compile(pattern)
        matches = [ir for f, ir in by_fn.items() if rx.search(f)]
        components.append((label, max(matches) if matches else None))
    top = [(ir, f) for f, ir in sorted(by_fn.items(), key=lambda kv: -kv[1])
           if not BORING.search(f) and ir < total * 0.995]
    crates: dict[str, int] = {}
    selfcost: dict[str, int] = {}
    for ir, file, func in excl:
        c = crate_of(file, func)
        crates[c] = crates.get(c, 0) + ir
        selfcost[func] = selfcost.get(func, 0) + ir
    return {
        "case": case,
        "total": total,
        "n": n,
        "components": components,
        "top": top[:30],
        "crates": sorted(crates.items(), key=lambda kv: -kv[1]),
        "self": sorted(selfcost.items(), key=lambda kv: -kv[1])[:20],
        "self_all": list(selfcost.items()),
    }


def render_profile(w, wt: dict, full: bool) -> None:
    n, total = wt["n"], wt["total"]
    w(f"### `{wt['case']}`: {num(total / n)} Ir per request")
    w("")
    w(f"Collected only inside the request loop (`--toggle-collect='*driver_loop*'`, {n} "
      "requests), so the baseline request (routing, handler, body) is included. "
      "Reproduce with `callgrind_annotate --auto=no --inclusive=yes "
      f"target/bench-report/profile/{wt['case'].replace('/', '~')}.out`.")
    w("")
    w("| component (inclusive) | Ir / request | % of the request |")
    w("|---|---:|---:|")
    for label, value in wt["components"]:
        if value is None:
            w(f"| {label} | – | – |")
        else:
            w(f"| {label} | {num(value / n)} | {value / total * 100:.1f} % |")
    w("")
    w("Self cost by crate (exclusive Ir attributed by source file, so code inlined from a "
      "crate counts for that crate; standard-library code is named by the function it was "
      "inlined into):")
    w("")
    w("| crate | Ir / request | % |")
    w("|---|---:|---:|")
    for crate, value in wt["crates"][:18]:
        w(f"| {crate} | {num(value / n)} | {value / total * 100:.1f} % |")
    w("")
    w("Top functions by self cost:")
    w("")
    w("| Ir / request | % | function |")
    w("|---:|---:|---|")
    for func, value in wt["self"][:15]:
        w(f"| {num(value / n)} | {value / total * 100:.1f} % | `{short_fn(func)}` |")
    w("")
    if full:
        w("<details><summary>Top inclusive functions (runtime and future-plumbing frames "
          "above the request omitted)</summary>")
        w("")
        w("| Ir / request | % | function |")
        w("|---:|---:|---|")
        for value, func in wt["top"]:
            w(f"| {num(value / n)} | {value / total * 100:.1f} % | `{short_fn(func)}` |")
        w("")
        w("</details>")
        w("")


# ------------------------------------------------------------------------------------------
# Revocation

STORE_LABEL = {
    "memory": "MemoryStore",
    "sqlite": "SqliteStore",
    "postgres": "PostgresStore",
    "redis": "RedisStore",
    "postgres_noping": "PostgresStore, pool without the acquire ping",
}

# The run whose BENCHMARKS.md holds the stateless-path reference (the last run before
# revocation existed): the commit that committed that file.
STATELESS_REF = "933412e"


def rev_description(case: dict) -> str:
    family, variant, backend = case["family"], case["variant"], case.get("backend")
    store = STORE_LABEL.get(backend or "", backend or "")
    if case["id"] == "baseline/rw":
        return "same routes, no session layer"
    if case["id"] == "sealed/steady_rw":
        return "**this crate, no revocation** (the reference)"
    if family.startswith("sealed_rev_"):
        return {
            "steady_rw": f"`with_revocation({store})`: one lookup per request",
            "revalidate_60s": "… + `with_revalidate_every(60 s)`: no lookup within the interval",
            "subject": "… + `with_revocation_subject`: two concurrent lookups",
        }.get(variant, variant)
    if family.startswith("ts_"):
        return f"tower-sessions 0.14 + {store}: `load` + `save` per request"
    if family.startswith("store_"):
        return {
            "lookup": f"`{store}::load` of a missing id alone (one revocation lookup)",
            "load_save": f"`{store}::load` + `save` of the typical record alone",
        }.get(variant, variant)
    return ""


def recorded_benchmarks(repo: Path, ref: str) -> dict:
    """Ir per request and the sealed/steady_rw profile components from BENCHMARKS.md as
    committed at `ref` (read with `git show`, nothing is built)."""
    text = sh("git", "-C", str(repo), "show", f"{ref}:BENCHMARKS.md")
    if not text:
        return {}
    m = re.search(r"from commit `([0-9a-f]+)`", text)
    date = re.search(r"Built and measured (\S+)", text)
    irs: dict[str, float] = {}
    sec = text.split("## Instructions per request (callgrind)", 1)
    if len(sec) == 2:
        for line in sec[1].split("\n## ", 1)[0].splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and "/" in cells[0]:
                try:
                    irs[cells[0].strip("*")] = float(cells[1].replace(" ", "").replace(",", ""))
                except ValueError:
                    pass
    components: dict[str, float] = {}
    prof = text.split("### `sealed/steady_rw`:", 1)
    if len(prof) == 2:
        for line in prof[1].split("Self cost by crate", 1)[0].splitlines():
            # Only ASCII spaces: the labels' indentation is U+3000, which str.strip() drops.
            cells = [c.strip(" ") for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[1].replace(" ", "").isdigit():
                components[cells[0]] = float(cells[1].replace(" ", ""))
    selfcost: dict[str, float] = {}
    if len(prof) == 2:
        part = prof[1].split("Top functions by self cost:", 1)
        if len(part) == 2:
            for line in part[1].split("<details>", 1)[0].splitlines():
                cells = [c.strip(" ") for c in line.strip().strip("|").split("|")]
                if len(cells) == 3 and cells[0].replace(" ", "").isdigit():
                    selfcost[cells[2].strip("`")] = float(cells[0].replace(" ", ""))
    return {"ref": ref, "commit": m.group(1) if m else "?", "date": date.group(1) if date else "?",
            "ir": irs, "components": components, "self": selfcost}


def rev_target(name: str, what: str, limit: float, values: dict[str, float | None],
               whole: str = "", extra: str = "") -> tuple:
    """A revocation target: holds only if median, p10 and Ir all are within the limit."""
    shown = {k: v for k, v in values.items()}
    have = [v for v in shown.values() if v is not None]
    if not have:
        status = "not measured"
    elif len(have) < len(shown):
        missing = [k for k, v in shown.items() if v is None]
        status = f"incomplete (no {', '.join(missing)})"
    elif all(v <= limit for v in have):
        worst = max(have)
        status = f"**met** ({(1 - worst / limit) * 100:.0f} % under the limit at worst)"
    else:
        over = [k for k, v in shown.items() if v is not None and v > limit]
        status = f"**missed** ({' and '.join(over)} over the limit)"
    return (name, what, f"≤ {limit:g}×", shown, status, whole, extra)


def store_bench_rows(out_dir: Path, crit: Path, meta: dict, bench: str, prefix: str,
                     extra: dict[str, dict]) -> list[dict]:
    """The rows of a store bench (revocation, storage): its listed cases with criterion's
    median/p10/p90 (`<crit>/<bench>/`), the interleaved run's (`<prefix>-interleaved.jsonl`),
    Ir (`<prefix>-callgrind.tsv`, kind `bench`) and allocations (`<prefix>-dhat.tsv`) per
    request, and each `extra` table's entry for the case under its key."""
    cases = load_jsonl(out_dir / f"{prefix}-cases.jsonl")
    ir = load_callgrind(out_dir / f"{prefix}-callgrind.tsv")
    allocs = load_dhat(out_dir / f"{prefix}-dhat.tsv")
    inter = {t["id"]: t for t in load_jsonl(out_dir / f"{prefix}-interleaved.jsonl")}
    since = phase_epoch(meta, f"{prefix}-criterion")
    rows = []
    for c in cases:
        res = fresh_result(crit / bench, c["id"], since)
        il = inter.get(c["id"], {})
        rows.append({
            **c,
            "median": res.get("median"), "p10": res.get("p10"), "p90": res.get("p90"),
            "imed": il.get("median_ns"), "ip10": il.get("p10_ns"), "ip90": il.get("p90_ns"),
            "ir": ir.get((bench, c["id"])),
            "allocs": allocs.get(c["id"], (None, None))[0],
            "bytes": allocs.get(c["id"], (None, None))[1],
            **{k: table.get(c["id"]) for k, table in extra.items()},
        })
    return rows


def over_base(base: dict):
    """`over(row, key)`: the row's `key` minus the baseline's (None if either is missing)."""
    def over(r: dict, key: str) -> float | None:
        if not r or r.get(key) is None or base.get(key) is None:
            return None
        return r[key] - base[key]
    return over


def revocation_section(w, out_dir: Path, crit: Path, repo: Path, classic_by_id: dict,
                       meta: dict, components_now: dict[str, float],
                       self_now: dict[str, float]) -> tuple[list[dict], list[tuple]]:
    cases = load_jsonl(out_dir / "rev-cases.jsonl")
    if not cases:
        w("(no revocation results: run `scripts/bench.sh` without `SKIP_REVOCATION`)")
        w("")
        return [], []
    timing = {t["id"]: t for t in load_jsonl(out_dir / "rev-timing.jsonl")}
    sizes = {t["id"]: t for t in load_jsonl(out_dir / "rev-sizes.jsonl")}
    inter = {t["id"]: t for t in load_jsonl(out_dir / "rev-interleaved.jsonl")}
    rows = store_bench_rows(out_dir, crit, meta, "revocation", "rev", {"timing": timing})
    by = {r["id"]: r for r in rows}
    base = by.get("baseline/rw", {})
    ref = by.get("sealed/steady_rw", {})
    over = over_base(base)

    def oratio(a: dict, b: dict, key: str) -> float | None:
        return ratio(over(a, key), over(b, key))

    backends = []
    for r in rows:
        if r.get("backend") and r["backend"] not in backends:
            backends.append(r["backend"])

    # The interleaved run's median and p10 where there is one (the ratios between cases hold
    # up better under background load), else criterion's.
    have_il = bool(inter) and base.get("imed") is not None
    MED, P10, P90 = ("imed", "ip10", "ip90") if have_il else ("median", "p10", "p90")
    src = "interleaved" if have_il else "criterion"

    def tvals(a: dict, b: dict) -> dict:
        return {"median": oratio(a, b, MED), "p10": oratio(a, b, P10), "Ir": oratio(a, b, "ir")}

    def crit_pair(a: dict, b: dict) -> str:
        if not have_il:
            return ""
        return (f"{fmt_ratio(oratio(a, b, 'median'))} / {fmt_ratio(oratio(a, b, 'p10'))}")

    # Profiles of some revocation cases (request loop only), and the software SHA-256 in them.
    vg = meta.get("rev-valgrind") or {}
    prof_n = int(vg.get("profile_n", "0") or 0)
    profiles = [where_time_goes(out_dir, c, prof_n, sub="profile-rev")
                for c in (vg.get("profile_cases") or "").split()]
    profiles = [p for p in profiles if p]
    sha = {p["case"]: sum(v for c, v in p["crates"] if "sha2" in c) / p["n"] for p in profiles}
    sha = {k: v for k, v in sha.items() if v > 0}

    # ---- targets ----
    targets = []
    adjusted = []
    for b in ("postgres", "redis"):
        ours, theirs = by.get(f"sealed_rev_{b}/steady_rw", {}), by.get(f"ts_{b}/steady_rw", {})
        if not ours or not theirs:
            continue
        targets.append(rev_target(
            f"revocation on {STORE_LABEL[b]} vs tower-sessions + {STORE_LABEL[b]}",
            f"(sealed_rev_{b}/steady_rw − baseline) ÷ (ts_{b}/steady_rw − baseline)", 0.6,
            tvals(ours, theirs), fmt_ratio(ratio(ours.get(MED), theirs.get(MED))),
            crit_pair(ours, theirs)))
        o_ir, t_ir = over(ours, "ir"), over(theirs, "ir")
        s_ir = sha.get(f"sealed_rev_{b}/steady_rw")
        if o_ir is not None and t_ir and s_ir:
            adjusted.append(f"{STORE_LABEL[b]} {fmt_ratio((o_ir - s_ir) / t_ir)}")
    for b in backends:
        rv = by.get(f"sealed_rev_{b}/revalidate_60s")
        if not rv:
            continue
        targets.append(rev_target(
            f"`revalidate_60s` on {STORE_LABEL[b]} vs no revocation",
            f"(sealed_rev_{b}/revalidate_60s − baseline) ÷ (sealed/steady_rw − baseline)", 1.1,
            tvals(rv, ref), fmt_ratio(ratio(rv.get(MED), ref.get(MED))), crit_pair(rv, ref)))

    # ---- stateless path ----
    rec = recorded_benchmarks(repo, STATELESS_REF)
    now_ir = classic_by_id.get("sealed/steady_rw", {}).get("ir")
    then_ir = rec.get("ir", {}).get("sealed/steady_rw")
    stateless = None
    if now_ir is not None and then_ir:
        d = now_ir / then_ir - 1
        stateless = (d, abs(d) <= 0.02)

    rb = read_env(out_dir / "meta-rev-build.env")
    w("Revocation (`with_revocation(store)`) on every backend, measured side by side with "
      "tower-sessions 0.14 keeping the same session in the same store, by "
      "`benches/revocation.rs` in one run"
      + (f" (built {rb.get('built', '?').replace('T', ' ').replace('Z', ' UTC')} from commit "
         f"`{rb.get('commit', '?')}`"
         + (", with uncommitted changes in src/, benches/ or the manifest" if
            int(rb.get("dirty", "0") or 0) else "") + ")" if rb else "")
      + ". Same app, handlers and typical payload as above (steady read + write: read "
      "`counter`, write `counter + 1`, typical payload in the session), plus a `GET /logout` "
      "route; the current-thread runtime also has its I/O and timer drivers. Ratios use this "
      "bench's own `baseline/rw` and `sealed/steady_rw`, measured in the same process minutes "
      "before the revocation cases.")
    w("")
    w("* Stores: `MemoryStore` (tower-sessions 0.14); `SqliteStore` (tower-sessions-sqlx-store "
      "0.15, sqlx 0.8, a file in a temp dir, WAL, `synchronous = NORMAL`); `PostgresStore` on "
      "a private PostgreSQL server on loopback (`fsync`, `synchronous_commit` and "
      "`full_page_writes` off); `RedisStore` (tower-sessions-redis-store 0.16, fred 10, a pool "
      "of 2) on a private Redis server on loopback, no persistence. The servers are started by "
      "`tests/support/servers.rs`, one per bench process. sqlx pools keep their defaults, so "
      "every `acquire` first pings the connection (`test_before_acquire`) and every release "
      "pings it again (sqlx 0.8 always does, in a spawned task): a PostgreSQL query through "
      "the pool is three round trips, one of them in the background, for both layers alike. "
      "`postgres_noping` is the same server through a second pool with "
      "`test_before_acquire(false)`, again for both layers.")
    w("* Revocation cases check before the handler: `store.load(tombstone id)` of an id that "
      "does not exist (nobody logged out), one per request, two concurrent ones with a "
      "subject, none within the interval with `with_revalidate_every(60 s)`. Live sessions "
      "never write. tower-sessions loads the record (the cookie holds only its id) and saves "
      "it again, since the handler changed it.")
    w("* Every case is primed and checked before it is timed: status 200, a `Set-Cookie`, a "
      "counter ≥ 2 that goes up when the response's cookie is sent back, and for "
      "tower-sessions also with the same cookie (the session really is in the store); the "
      "store calls per request are counted on the same configuration over a counting wrapper "
      "of the same store (the column *store calls*); revocation is really on: after a logout "
      "the old cookie opens as a fresh session (for `revalidate_60s` on a layer over the same "
      "store that checks every request, while the amortized layer still accepts it within the "
      "interval, as documented).")
    w(f"* *Ir* and allocations per request: `(X(N2) − X(N1)) / (N2 − N1)` with N1 = "
      f"{vg.get('n1', '?')}, N2 = {vg.get('n2', '?')} (`revocation --driver`). **Callgrind and "
      "dhat count only this process, in user space**: the PostgreSQL and Redis servers' work "
      "and the kernel's (sockets, wakeups) are not in the Ir column; SQLite runs in-process "
      "(sqlx's worker thread) and is. For the network stores Ir is the client-side CPU cost, "
      "still a fair measure of what the layer itself costs, but not of the request's time.")
    for phase, label in (("rev-criterion", "criterion"), ("rev-timing", "timing"),
                         ("rev-valgrind", "callgrind/dhat")):
        m = meta.get(phase) or {}
        if m:
            w(f"* {label} phase: {m.get('started', '?')} → {m.get('finished', '?')}, load "
              f"average {m.get('loadavg_start', '?')} at the start, "
              f"{m.get('loadavg_end', '?')} at the end.")
    w("")

    il_meta = meta.get("rev-timing") or {}
    w("### Revocation targets")
    w("")
    w("Each ratio is on the overhead above `baseline/rw` (as the targets above), on median, "
      "p10 and Ir; a target holds only if all three are within the limit. "
      + (f"Median and p10 come from the interleaved run (`revocation --interleaved`: every "
         f"case in one process, round-robin, {il_meta.get('interleaved_rounds', '?')} rounds "
         f"of one ~{il_meta.get('interleaved_slice_ms', '?')} ms slice per case in a new "
         "random order each round; the median and 10th percentile over the rounds of each case's time per "
         "request), so that the load other jobs put on this shared machine hits the compared "
         "cases alike; criterion's median and p10, measured one case after the other, are "
         "shown next to them." if have_il else "Median and p10 are criterion's."))
    w("")
    w("| target | measured as | limit | median | p10 | Ir | status | criterion median / p10 | "
      "whole request (median) |")
    w("|---|---|---:|---:|---:|---:|---|---|---:|")
    for name, what, limit, vals, status, whole, extra in targets:
        w(f"| {name} | {what} | {limit} | {fmt_ratio(vals.get('median'))} | "
          f"{fmt_ratio(vals.get('p10'))} | {fmt_ratio(vals.get('Ir'))} | {status} | {extra} | "
          f"{whole} |")
    if rec:
        lbl = (f"callgrind Ir of the middleware bench's `sealed/steady_rw` now ÷ the "
               f"{num(then_ir) if then_ir else '?'} Ir recorded in BENCHMARKS.md at "
               f"`{rec['ref']}` (run of {rec['date']} on commit `{rec['commit']}`)")
        if stateless:
            d, ok = stateless
            st = (f"**met** ({d * 100:+.2f} %)" if ok else f"**missed** ({d * 100:+.2f} %)")
            w(f"| no revocation store: the stateless path unchanged | {lbl} | within ± 2 % | "
              f"– | – | {now_ir / then_ir:.4f}× | {st} | | see below |")
        else:
            w(f"| no revocation store: the stateless path unchanged | {lbl} | within ± 2 % | "
              "– | – | – | not measured | | |")
    w("")
    if adjusted:
        w("The Ir ratios include valgrind's software SHA-256 for the tombstone id (see "
          "[below](#revocation-where-the-instructions-go-this-process-only)); natively sha2 "
          "uses SHA-NI. With those instructions taken out of ours, the Ir ratios would be: "
          + "; ".join(adjusted) + ", still above the limit.")
        w("")
    if stateless:
        targets.append(("stateless path (no store) vs the recorded run", "", "± 2 %",
                        {"Ir": now_ir / then_ir}, "met" if stateless[1] else "missed", "", ""))

    w("### Revocation: time, instructions and allocations per request")
    w("")
    w(f"*Median*, *p10*, *p90*: {src}"
      + (" (criterion's median and p10 in the next columns; the interleaved times run higher "
         "than criterion's, since every slice starts cold after another case and the "
         "servers' leftover work falls on all cases: read absolute times from criterion, "
         "ratios from the interleaved run)" if have_il else "")
      + ". *Overhead* = case − `baseline/rw` (median). *vs ref.* = that overhead ÷ the "
      "overhead of `sealed/steady_rw` (this crate without revocation). *Store calls*: loads + "
      "writes per request, counted at setup.")
    w("")
    w("| case | what | store calls | median µs | p10 µs | p90 µs | criterion median µs | "
      "criterion p10 µs | overhead µs | vs ref. | Ir / request | Δ Ir vs baseline | "
      "allocations (Δ) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if not r.get("request"):
            continue
        name = f"**{r['id']}**" if r["family"].startswith("sealed") else r["id"]
        calls = f"{r['loads']} + {r['writes']}" if r.get("backend") else "–"
        vs = fmt_ratio(oratio(r, ref, MED)) if r["id"] not in ("baseline/rw",) else ""
        w(f"| {name} | {rev_description(r)} | {calls} | {us(r[MED])} | {us(r[P10])} | "
          f"{us(r[P90])} | {us(r['median'])} | {us(r['p10'])} | {us(over(r, MED))} | {vs} | "
          f"{num(r['ir'])} | {num(over(r, 'ir'))} | {num(r['allocs'], 1)} "
          f"({num(over(r, 'allocs'), 1)}) |")
    w("")

    # Ours vs theirs, per backend.
    w(f"Per backend, overhead above the baseline (median / p10 / Ir; median and p10 {src}):")
    w("")
    w("| store | revocation ÷ tower-sessions | revalidate_60s ÷ no revocation | "
      "subject ÷ revocation | revocation − no revocation (µs, median) |")
    w("|---|---|---|---|---:|")
    for b in backends:
        rv, ts = by.get(f"sealed_rev_{b}/steady_rw", {}), by.get(f"ts_{b}/steady_rw", {})
        r60, sj = by.get(f"sealed_rev_{b}/revalidate_60s", {}), by.get(f"sealed_rev_{b}/subject", {})
        if not rv:
            continue

        def three(a: dict, c: dict) -> str:
            if not a or not c:
                return "–"
            return " / ".join(fmt_ratio(oratio(a, c, k)) for k in (MED, P10, "ir"))
        w(f"| {STORE_LABEL.get(b, b)} | {three(rv, ts)} | {three(r60, ref)} | {three(sj, rv)} | "
          f"{us(ratio_diff(rv, ref, MED))} |")
    w("")

    # Store calls alone.
    w("The store calls alone, outside any request (`store_<backend>/…`: the same store "
      f"handles, called in a loop), against what they add to a request ({src} median and "
      "p10):")
    w("")
    w("| store | `load` of a missing id: median µs (p10) | Ir | revocation − no revocation "
      "(µs, median) | `load` + `save`: median µs (p10) | Ir | tower-sessions request µs "
      "(median) |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for b in backends:
        lk, ls = by.get(f"store_{b}/lookup", {}), by.get(f"store_{b}/load_save", {})
        if not lk and not ls:
            continue
        rv, ts = by.get(f"sealed_rev_{b}/steady_rw", {}), by.get(f"ts_{b}/steady_rw", {})
        w(f"| {STORE_LABEL.get(b, b)} | {us(lk.get(MED))} ({us(lk.get(P10))}) | "
          f"{num(lk.get('ir'))} | {us(ratio_diff(rv, ref, MED))} | "
          f"{us(ls.get(MED))} ({us(ls.get(P10))}) | {num(ls.get('ir'))} | "
          f"{us(ts.get(MED))} |")
    w("")

    # Where the time goes: wall vs CPU.
    tm = [r for r in rows if r.get("timing") and r.get("loads")
          and r.get("backend") in ("sqlite", "postgres", "postgres_noping", "redis")]
    if tm:
        w("Where the time goes (`revocation --timing`, natively, "
          f"{(meta.get('rev-timing') or {}).get('timing_secs', '?')} s per case after a "
          "warm-up): wall time per request against the CPU time (user + system, from "
          "`/proc/<pid>/stat`, 10 ms ticks) of this process and of the server processes "
          "(the PostgreSQL postmaster and its backends; redis-server). *Wall − CPU* is the "
          "rest: time in which neither side computes (waiting for wakeups and the loopback); "
          "it is negative where the two sides compute at the same time (2 vCPUs: the "
          "server answers one ping while this process works on the request).")
        w("")
        w("| case | wall µs / request | this process: user µs | this process: system µs | "
          "server CPU µs | wall − CPU µs |")
        w("|---|---:|---:|---:|---:|---:|")
        for r in tm:
            t = r["timing"]
            idle = t["wall_ns"] - t["self_cpu_ns"] - t["server_cpu_ns"]
            w(f"| {r['id']} | {us(t['wall_ns'])} | {us(t.get('self_user_ns'))} | "
              f"{us(t.get('self_system_ns'))} | "
              f"{us(t['server_cpu_ns']) if t.get('server_pids') else '–'} | {us(idle)} |")
        w("")

    # Cookie sizes.
    if sizes:
        w("`Set-Cookie` of a steady read + write with the typical payload (`revocation "
          "--sizes`): with revocation the cookie is format v2 (the session's exact creation "
          "time and, with `with_revalidate_every`, its last check):")
        w("")
        w("| case | Set-Cookie B | Cookie B |")
        w("|---|---:|---:|")
        for sid, sz in sizes.items():
            w(f"| {sid} | {sz['set_cookie']} | {sz['cookie_header']} |")
        w("")

    # The stateless path.
    w("### The stateless path (no revocation store)")
    w("")
    if rec:
        since = sh("git", "-C", str(repo), "log", "--oneline", f"{rec['commit']}..HEAD", "--",
                   "src")
        n_src = len([l for l in since.splitlines() if l.strip()])
        w(f"No other commit can be built here, so the reference is the BENCHMARKS.md committed "
          f"at `{rec['ref']}` (measured {rec['date']} from commit `{rec['commit']}`, before "
          f"revocation, on this machine, same toolchain), read with `git show`. The middleware "
          f"bench's cases are unchanged since. Cases that run none of this crate's code "
          f"(`baseline/rw`, `ts_memory/*`, `tsc_private/*`, `jar_private/*`) show what changed "
          f"around it: the dependency versions are the same, but the dev-dependencies added "
          f"since (sqlx, fred, fantoccini, lambda_http) unify extra features into shared "
          f"crates. {n_src} commits have changed `src/` since `{rec['commit']}` (`git log "
          f"{rec['commit']}..HEAD -- src`): revocation, format v2, overflow, the cookie budget "
          f"and chunking all touch the request path, so a Δ here is their sum, not "
          f"revocation's alone.")
        w("")
        w("| case | Ir / request now | recorded | Δ Ir | Δ % |")
        w("|---|---:|---:|---:|---:|")
        for cid in ["baseline/rw", "ts_memory/steady_rw", "tsc_private/steady_rw",
                    "jar_private/rw_counter"] + [k for k in classic_by_id if
                                                 k.startswith("sealed/")]:
            a = classic_by_id.get(cid, {}).get("ir")
            b = rec["ir"].get(cid)
            name = f"**{cid}**" if cid.startswith("sealed/") else cid
            if a is None or b is None:
                w(f"| {name} | {num(a)} | {num(b)} | – | – |")
            else:
                w(f"| {name} | {num(a)} | {num(b)} | {a - b:+,.0f} | {(a / b - 1) * 100:+.2f} % |"
                  .replace(",", " "))
        w("")
        comp_now = components_now
        if rec.get("components") and comp_now:
            w("`sealed/steady_rw` profile components (request loop only, see *Where the time "
              "goes* above) now and recorded:")
            w("")
            w("| component (inclusive) | now | recorded | Δ |")
            w("|---|---:|---:|---:|")
            for label, then in rec["components"].items():
                now = comp_now.get(label)
                w(f"| {label} | {num(now)} | {num(then)} | "
                  f"{'–' if now is None else f'{now - then:+,.0f}'.replace(',', ' ')} |")
            w("")
        if rec.get("self") and self_now:
            w("Self cost of the functions that were the recorded top 15 (same profile):")
            w("")
            w("| function | now | recorded | Δ |")
            w("|---|---:|---:|---:|")
            for name, then in rec["self"].items():
                now = self_now.get(name)
                w(f"| `{name}` | {num(now)} | {num(then)} | "
                  f"{'–' if now is None else f'{now - then:+,.0f}'.replace(',', ' ')} |")
            w("")
        ours_rev = ref.get("ir")
        mw = classic_by_id.get("sealed/steady_rw", {}).get("ir")
        if ours_rev is not None and mw is not None:
            w(f"The revocation bench's own `sealed/steady_rw` (one more route, a runtime with "
              f"I/O and timer drivers) runs {num(ours_rev)} Ir against the middleware bench's "
              f"{num(mw)}: the harness, not the layer, accounts for that difference.")
            w("")
    else:
        w(f"(the reference BENCHMARKS.md at `{STATELESS_REF}` could not be read with git)")
        w("")

    # Profiles.
    if profiles:
        w("### Revocation: where the instructions go (this process only)")
        w("")
        w(f"Self cost by crate inside the request loop (`--toggle-collect='*driver_loop*'`, "
          f"{prof_n} requests; the servers' work is not counted). Reproduce with "
          "`callgrind_annotate --auto=no target/bench-report/profile-rev/<case>.out`.")
        w("")
        names = [p["case"] for p in profiles]
        crates_all: dict[str, dict[str, float]] = {}
        for p in profiles:
            for crate, value in p["crates"]:
                crates_all.setdefault(crate, {})[p["case"]] = value / p["n"]
        order = sorted(crates_all, key=lambda c: -max(crates_all[c].values()))[:18]
        w("| crate | " + " | ".join(f"`{n}`" for n in names) + " |")
        w("|---|" + "---:|" * len(names))
        w("| **total Ir / request** | " + " | ".join(num(p["total"] / p["n"]) for p in profiles)
          + " |")
        for crate in order:
            w(f"| {crate} | " + " | ".join(num(crates_all[crate].get(n)) for n in names) + " |")
        w("")
        if sha:
            w("The tombstone id is a SHA-256 (sha2). Valgrind's virtual CPU has no SHA-NI, so "
              "under callgrind sha2 runs its software rounds: "
              + ", ".join(f"{num(v)} Ir per request in `{k}`" for k, v in sha.items())
              + ". Natively this CPU has SHA-NI and sha2 uses it, for a fraction of those "
              "instructions; the Ir of the revocation cases overstate that part.")
            w("")
    if have_il:
        # The chart's revocation block shows what the targets use.
        rows = [{**r, "median": r["imed"], "p10": r["ip10"], "p90": r["ip90"]} for r in rows]
    return rows, targets


def ratio_diff(a: dict, b: dict, key: str) -> float | None:
    if not a or not b or a.get(key) is None or b.get(key) is None:
        return None
    return a[key] - b[key]


# ------------------------------------------------------------------------------------------
# Cost against session size


SERIES_FAMILIES = ["sealed", "ts_memory", "tsc_private"]


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(intercept, slope, R²) of the least-squares line through `points`."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    if sxx == 0:
        return None
    slope = sxy / sxx
    icept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - (icept + slope * x)) ** 2 for x, y in points)
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    return icept, slope, r2


def series_section(w, rows: list[dict], over, sizes: list[dict], svg_path: Path) -> None:
    """The size series: a table, least-squares lines with R², and docs/bench-size-series.svg."""
    series = {f: sorted((r for r in rows if r["family"] == f and is_series(r["id"])
                         and r.get("data_json") is not None), key=lambda r: r["data_json"])
              for f in SERIES_FAMILIES}
    w("## Cost against session size")
    w("")
    if not any(series.values()):
        w("(no size series in this run)")
        w("")
        return
    cookie = {s["id"]: s for s in sizes if s.get("kind") == "series"}
    # Time: the p10 of the interleaved run where there is one (the series cases in one
    # process, round-robin), else criterion's p10; p10 moves least under background load.
    tkey = "ip10" if any(r.get("ip10") is not None for f in series.values() for r in f) else "p10"
    tlabel = "p10 µs (interleaved)" if tkey == "ip10" else "p10 µs (criterion)"
    budget = next((s.get("budget") for s in cookie.values() if s.get("budget")), None)
    w("Steady read + write (`GET /`: read `counter`, write `counter + 1`) with the session "
      "holding the counter alone (`series_0B`), then the typical payload plus a filler "
      "string, up to the largest session whose `Set-Cookie` this crate still emits under its "
      f"default cookie budget ({budget or '?'} bytes; found by bisection when the cases are "
      "listed). The same data in tower-sessions + MemoryStore and in "
      "tower-sessions-cookie-store. *x* is the session data as one JSON object. The lines are "
      f"least-squares fits of Ir and of the {tlabel} against x; R² near 1 means the "
      "cost grows linearly with the session's size (tower-sessions + MemoryStore keeps the "
      "data server-side and moves only an id, so its cost hardly depends on x and a line "
      "explains little of what little it varies).")
    w("")
    w("![Cost against session size: instructions and median time per request]"
      "(docs/bench-size-series.svg)")
    w("")
    xs = sorted({r["data_json"] for f in series.values() for r in f})
    by = {(r["family"], r["data_json"]): r for f in series.values() for r in f}
    sealed_cookie = {r["data_json"]: cookie.get(r["id"], {}) for r in series["sealed"]}
    w("| data JSON B | this crate's Set-Cookie B | " + " | ".join(
        f"{f} Ir" for f in SERIES_FAMILIES) + " | " + " | ".join(
        f"{f} {tlabel}" for f in SERIES_FAMILIES) + " | this crate ÷ ts_memory (Δ Ir) | "
        "this crate ÷ tsc_private (Δ Ir) |")
    w("|---:|---:|" + "---:|" * (2 * len(SERIES_FAMILIES) + 2))
    for x in xs:
        cells = [str(x), str(sealed_cookie.get(x, {}).get("set_cookie") or "–")]
        cells += [num(by.get((f, x), {}).get("ir")) for f in SERIES_FAMILIES]
        cells += [us(by.get((f, x), {}).get(tkey)) for f in SERIES_FAMILIES]
        ours = by.get(("sealed", x), {})
        for f in ("ts_memory", "tsc_private"):
            cells.append(fmt_ratio(ratio(over(ours, "ir"), over(by.get((f, x), {}), "ir"))))
        w("| " + " | ".join(cells) + " |")
    w("")
    fits = {}
    w("| family | measure | at 0 B | per KB of data | R² | points |")
    w("|---|---|---:|---:|---:|---:|")
    for f in SERIES_FAMILIES:
        for key, label, scale, unit in (("ir", "Ir / request", 1, ""),
                                        (tkey, tlabel, 1000, "")):
            pts = [(r["data_json"], r[key] / scale) for r in series[f] if r.get(key) is not None]
            fit = least_squares(pts)
            fits[(f, key)] = fit
            if fit is None:
                w(f"| {f} | {label} | – | – | – | {len(pts)} |")
                continue
            icept, slope, r2 = fit
            digits = 0 if key == "ir" else 3
            w(f"| {f} | {label} | {num(icept, digits)} | {num(slope * 1024, digits)} | "
              f"{r2:.4f} | {len(pts)} |")
    w("")
    svg_series(series, fits, svg_path, budget, tkey, tlabel)


def svg_series(series: dict, fits: dict, path: Path, budget, tkey: str, tlabel: str) -> None:
    """Two panels, Ir and time (`tkey`, µs) against the session's JSON size: each family's
    points and its least-squares line."""
    left, top, pw, ph, gap = 70, 60, 420, 260, 90
    width = left + pw + gap + pw + 30
    height = top + ph + 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
           'font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">Steady read + write '
           'against session size (up to the default cookie budget'
           + (f', {budget} B' if budget else '') + '; lower is better)</text>']
    all_x = [r["data_json"] for f in series.values() for r in f]
    max_x = nice_ceiling(max(all_x) if all_x else 1)
    for panel, (key, title, scale) in enumerate((("ir", "instructions / request "
                                                 "(callgrind, thousands)", 1000),
                                                (tkey, f"{tlabel} / request", 1000))):
        x0 = left + panel * (pw + gap)
        vals = [r[key] / scale for f in series.values() for r in f if r.get(key) is not None]
        max_y = nice_ceiling(max(vals) if vals else 1)
        out.append(f'<text x="{x0}" y="{top - 12}" font-weight="bold">{html.escape(title)}'
                   '</text>')
        step_y = nice_step(max_y / 5)
        v = 0.0
        while v <= max_y * 1.0001:
            y = top + ph - v / max_y * ph
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" '
                       'stroke="#e0e0e0"/>')
            out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                       f'{v:g}</text>')
            v += step_y
        step_x = nice_step(max_x / 5)
        v = 0.0
        while v <= max_x * 1.0001:
            x = x0 + v / max_x * pw
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" '
                       'stroke="#f0f0f0"/>')
            out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle" '
                       f'fill="#555">{v:g}</text>')
            v += step_x
        out.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 34}" text-anchor="middle">'
                   'session data as JSON (bytes)</text>')
        out.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                   'stroke="#999"/>')

        def pt(x: float, y: float) -> tuple[float, float]:
            return x0 + x / max_x * pw, top + ph - y / max_y * ph
        for f, rs in series.items():
            color = family_color(f)
            fit = fits.get((f, key))
            if fit and rs:
                icept, slope, _ = fit
                xa, xb = rs[0]["data_json"], rs[-1]["data_json"]
                # The fits are in Ir and in µs (series_section); the panels in kIr and µs.
                k = (1 if key == "ir" else 1000) / scale
                (ax, ay), (bx, by_) = (pt(xa, (icept + slope * xa) * k),
                                       pt(xb, (icept + slope * xb) * k))
                out.append(f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by_:.1f}" '
                           f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3"/>')
            for r in rs:
                if r.get(key) is None:
                    continue
                cx, cy = pt(r["data_json"], r[key] / scale)
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{color}"/>')
    lx, ly = left, top + ph + 62
    for f in SERIES_FAMILIES:
        fit = fits.get((f, "ir"))
        label = FAMILY_LABEL.get(f, f) + (f" (Ir: R² {fit[2]:.3f})" if fit else "")
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
                   f'fill="{family_color(f)}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{html.escape(label)}</text>')
        lx += 16 + 7 * len(label) + 24
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


# ------------------------------------------------------------------------------------------
# Storage: overflow and chunks


def storage_description(case: dict) -> str:
    cid, backend = case["id"], case.get("backend")
    store = STORE_LABEL.get(backend or "", backend or "")
    kib = f"~{case.get('data_json', 0) / 1024:.1f} KB" if case.get("data_json") else ""
    if cid == "baseline/rw":
        return "same routes, no session layer"
    if cid == "sealed/steady_rw":
        return "**this crate, no overflow** (typical payload; the reference for (b))"
    if cid.startswith("sealed_overflow_") and case["variant"] == "steady_rw":
        return f"`with_overflow({store})`, typical payload: fits, never touches the store"
    if cid.startswith("sealed_overflow_") and case["variant"].endswith("no_chunks"):
        return f"`with_overflow({store})`, {kib} of data, no chunking: kept in the store"
    if cid.startswith("sealed_overflow_"):
        return f"`with_overflow({store})`, {kib} of data: kept sealed in the store"
    if cid.startswith("ts_"):
        return f"tower-sessions 0.14 + {store}, the same {kib} of data"
    if cid.startswith("sealed_chunks/"):
        return f"`with_chunks(2)`, {kib} of data in two cookies (default budget)"
    if cid.startswith("tsc_private/"):
        return (f"tower-sessions-cookie-store 0.5 private, {kib} of data in one cookie "
                "over 4096 B (its `max_cookie_bytes` raised; **browsers drop it**)")
    return ""


def storage_section(w, out_dir: Path, crit: Path, meta: dict) -> tuple[list[dict], list[tuple]]:
    """The "Storage: overflow and chunks" section (benches/storage.rs); returns its rows and
    its targets (as rev_target tuples)."""
    cases = load_jsonl(out_dir / "storage-cases.jsonl")
    if not cases:
        w("(no storage results: run `ONLY=storage scripts/bench.sh`)")
        w("")
        return [], []
    inter = {t["id"]: t for t in load_jsonl(out_dir / "storage-interleaved.jsonl")}
    sizes = {t["id"]: t for t in load_jsonl(out_dir / "storage-sizes.jsonl")}
    rows = store_bench_rows(out_dir, crit, meta, "storage", "storage", {"size": sizes})
    by = {r["id"]: r for r in rows}
    base = by.get("baseline/rw", {})
    have_il = bool(inter) and base.get("imed") is not None
    MED, P10, P90 = ("imed", "ip10", "ip90") if have_il else ("median", "p10", "p90")
    src = "interleaved" if have_il else "criterion"
    over = over_base(base)

    def oratio(a: dict, b: dict, key: str) -> float | None:
        return ratio(over(a, key), over(b, key))

    def three(a: dict, b: dict) -> str:
        if not a or not b:
            return "–"
        return " / ".join(fmt_ratio(oratio(a, b, k)) for k in (MED, P10, "ir"))

    sb = read_env(out_dir / "meta-storage-build.env")
    il_meta = meta.get("storage-timing") or {}
    vg = meta.get("storage-valgrind") or {}
    w("Overflow to a store (`with_overflow(store)`) and chunking (`with_chunks(n)`), measured "
      "by `benches/storage.rs` in one run"
      + (f" (built {sb.get('built', '?').replace('T', ' ').replace('Z', ' UTC')} from commit "
         f"`{sb.get('commit', '?')}`"
         + (", with uncommitted changes in src/, benches/ or the manifest" if
            int(sb.get("dirty", "0") or 0) else "") + ")" if sb else "")
      + ". Same app and handlers as above (steady read + write), the session primed with "
      "the typical payload plus a filler string to the size named; the runtime has its I/O "
      "and timer drivers. Stores: `MemoryStore`; `PostgresStore` (sqlx's default pool, "
      "which pings every connection on acquire) on a private PostgreSQL server and "
      "`RedisStore` (fred, a pool of 2) on a private Redis server, both on loopback "
      "(`tests/support/backends.rs`). Ratios are on the overhead above this bench's own "
      "`baseline/rw`, on median, p10 and callgrind Ir.")
    w("")
    w("* Every case is primed and checked before it is timed: status 200, the expected number "
      "of `Set-Cookie`s (for chunks, that the client keeps and sends back both), each within "
      "4096 B except tower-sessions-cookie-store's (which must exceed it: the case is about "
      "that cookie), a counter ≥ 2 that goes up when the response's cookies are sent back, "
      "and the store calls per request, counted on the same configuration over a counting "
      "wrapper of the same store (column *store calls*).")
    w(f"* Median and p10: {src}"
      + (f" (`storage --interleaved`: every case in one process, round-robin, "
         f"{il_meta.get('interleaved_rounds', '?')} rounds of one "
         f"~{il_meta.get('interleaved_slice_ms', '?')} ms slice per case in a new random "
         "order each round; criterion's, measured one case after the other, beside them)"
         if have_il else "")
      + f". *Ir* and allocations per request: `(X(N2) − X(N1)) / (N2 − N1)` with N1 = "
      f"{vg.get('n1', '?')}, N2 = {vg.get('n2', '?')} (`storage --driver`); this process "
      "only, in user space: the PostgreSQL and Redis servers' work is not counted.")
    for phase, label in (("storage-criterion", "criterion"), ("storage-timing", "interleaved"),
                         ("storage-valgrind", "callgrind/dhat")):
        m = meta.get(phase) or {}
        if m:
            w(f"* {label} phase: {m.get('started', '?')} → {m.get('finished', '?')}, load "
              f"average {m.get('loadavg_start', '?')} at the start, "
              f"{m.get('loadavg_end', '?')} at the end.")
    w("")

    # ---- (b) target ----
    targets = []
    ref = by.get("sealed/steady_rw", {})
    fit = by.get("sealed_overflow_redis/steady_rw", {})
    if ref and fit:
        targets.append(rev_target(
            "a session that fits, `with_overflow(RedisStore)` vs no overflow",
            "(sealed_overflow_redis/steady_rw − baseline) ÷ (sealed/steady_rw − baseline)",
            1.05, {"median": oratio(fit, ref, MED), "p10": oratio(fit, ref, P10),
                   "Ir": oratio(fit, ref, "ir")},
            fmt_ratio(ratio(fit.get(MED), ref.get(MED))),
            f"{fmt_ratio(oratio(fit, ref, 'median'))} / {fmt_ratio(oratio(fit, ref, 'p10'))}"
            if have_il else ""))

    w("### Storage: time, instructions and allocations per request")
    w("")
    w(f"*Median*, *p10*, *p90*: {src}. *Overhead* = case − `baseline/rw` (median). *Store "
      "calls*: loads + writes per request, counted at setup. *Cookies*: `Set-Cookie`s of a "
      "steady read + write, the longest, and the `Cookie` header sent back (`storage "
      "--sizes`).")
    w("")
    w("| case | what | store calls | Set-Cookies: n, longest / total B | Cookie B | "
      "median µs | p10 µs | p90 µs | criterion median µs | criterion p10 µs | overhead µs | "
      "Ir / request | Δ Ir vs baseline | allocations (Δ) |")
    w("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        name = f"**{r['id']}**" if r["family"].startswith("sealed") else r["id"]
        calls = f"{r['loads']} + {r['writes']}" if r.get("backend") else "–"
        sz = r.get("size") or {}
        ck = (f"{sz['set_cookies']}: {sz['set_cookie_max']} / {sz['set_cookie_total']}"
              + (" ⚠ > 4096" if sz["set_cookie_max"] > 4096 else "")) if sz else "–"
        w(f"| {name} | {storage_description(r)} | {calls} | {ck} | "
          f"{sz.get('cookie_header', '–')} | {us(r[MED])} | {us(r[P10])} | {us(r[P90])} | "
          f"{us(r['median'])} | {us(r['p10'])} | {us(over(r, MED))} | {num(r['ir'])} | "
          f"{num(over(r, 'ir'))} | {num(r['allocs'], 1)} ({num(over(r, 'allocs'), 1)}) |")
    w("")

    # ---- (a) ~10 KB overflowed vs tower-sessions on the same store ----
    w("#### (a) ~10 KB overflowed to a store vs tower-sessions on the same store")
    w("")
    w("Overhead above the baseline, this crate ÷ tower-sessions 0.14 with the same store and "
      "the same data (both `load` + `save` per request; ours also seals and opens the record "
      f"and a small reference cookie). Median and p10 {src}; no limit was set for this pair.")
    w("")
    w("| store | overflow ÷ tower-sessions: median / p10 / Ir | whole request (median) | "
      "overflow − tower-sessions (µs, median) | Δ Ir |")
    w("|---|---|---:|---:|---:|")
    for b in ("redis", "postgres"):
        ov, ts = by.get(f"sealed_overflow_{b}/rw_10KB", {}), by.get(f"ts_{b}/rw_10KB", {})
        if not ov or not ts:
            continue
        d = ratio_diff(ov, ts, MED)
        dir_ = ratio_diff(ov, ts, "ir")
        w(f"| {STORE_LABEL.get(b, b)} | {three(ov, ts)} | "
          f"{fmt_ratio(ratio(ov.get(MED), ts.get(MED)))} | {us(d)} | "
          f"{'–' if dir_ is None else f'{dir_:+,.0f}'.replace(',', ' ')} |")
    w("")

    # ---- (b) ----
    w("#### (b) A session that fits, with overflow configured, vs the layer without it")
    w("")
    w("Target ≤ 1.05× on the overhead above the baseline, on median, p10 and Ir alike (a "
      "target met on one measure only is missed). Overflow is configured on Redis; the "
      "session fits in the cookie, so the layer must not touch the store (0 calls, counted "
      "at setup).")
    w("")
    w("| target | measured as | limit | median | p10 | Ir | status | criterion median / p10 | "
      "whole request (median) |")
    w("|---|---|---:|---:|---:|---:|---|---|---:|")
    for name, what, limit, vals, status, whole, extra in targets:
        w(f"| {name} | {what} | {limit} | {fmt_ratio(vals.get('median'))} | "
          f"{fmt_ratio(vals.get('p10'))} | {fmt_ratio(vals.get('Ir'))} | {status} | {extra} | "
          f"{whole} |")
    if not targets:
        w("| a session that fits, with overflow vs without | – | ≤ 1.05× | – | – | – | "
          "not measured | | |")
    w("")

    # ---- (c) ~6 KB: chunks vs one oversized cookie vs overflow ----
    ch = by.get("sealed_chunks/rw_6KB", {})
    w("#### (c) ~6 KB of cookies: two chunks vs one oversized cookie vs overflow")
    w("")
    w("The same ~4.2 KB of session data (as JSON): this crate chunked in two cookies (each "
      "within the default 3072-byte budget), tower-sessions-cookie-store in one cookie of "
      "over 4096 bytes (its limit raised so that it emits it at all: **browsers drop a "
      "cookie that large**, so that row is what it would cost if they did not), and this "
      "crate without chunking, overflowed to MemoryStore or Redis (one small cookie, `load` "
      "+ `save`). Ratios: the case's overhead above the baseline ÷ the chunked case's "
      f"(median / p10 / Ir; median and p10 {src}).")
    w("")
    w("| case | Set-Cookies | longest Set-Cookie B | all Set-Cookies B | Cookie B | "
      "median µs | p10 µs | Ir / request | ÷ chunks: median / p10 / Ir |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for cid in ("sealed_chunks/rw_6KB", "tsc_private/rw_6KB",
                "sealed_overflow_memory/rw_6KB_no_chunks",
                "sealed_overflow_redis/rw_6KB_no_chunks"):
        r = by.get(cid)
        if not r:
            continue
        sz = r.get("size") or {}
        longest = sz.get("set_cookie_max")
        flag = " ⚠ > 4096, dropped by browsers" if longest and longest > 4096 else ""
        name = f"**{cid}**" if cid.startswith("sealed") else cid
        w(f"| {name} | {sz.get('set_cookies', '–')} | {longest or '–'}{flag} | "
          f"{sz.get('set_cookie_total', '–')} | {sz.get('cookie_header', '–')} | "
          f"{us(r[MED])} | {us(r[P10])} | {num(r['ir'])} | "
          f"{'' if cid == 'sealed_chunks/rw_6KB' else three(r, ch)} |")
    w("")
    if have_il:
        rows = [{**r, "median": r["imed"], "p10": r["ip10"], "p90": r["ip90"],
                 "crit_median": r["median"]} for r in rows]
    return rows, targets


def load_section(w, out_dir: Path) -> None:
    """The section "End to end over real sockets": the fragment scripts/load-compare.sh
    writes (bench-report/load-section.md), verbatim; under this heading unless the fragment
    opens with the same heading itself."""
    heading = "## End to end over real sockets"
    frag = out_dir / "load-section.md"
    text = frag.read_text().strip() if frag.exists() else ""
    if not text.startswith(heading):
        w(heading)
        w("")
    if not text:
        w("Not run (`ONLY=load scripts/bench.sh` runs `scripts/load-compare.sh`, which writes "
          "`target/bench-report/load-section.md`).")
    else:
        w(text)
    w("")


# ------------------------------------------------------------------------------------------
# The report


def lower_bound_table(w, by_id: dict, over, pmed, prim_ir: dict) -> None:
    """What any layer that seals this format and hands handlers the real `Session` costs at
    least: the raw floor of the shape plus the session-API floor (`api_floor/*`), against
    each issue-12 limit, in Ir and in criterion medians."""
    w("A lower bound for any layer that seals this wire format and hands handlers the real "
      "`tower_sessions_core::Session`: the raw floor above (base64url, AEAD, postcard, the "
      "values as a serde enum) plus the session-API floor (`api_floor/*`: the `Session` per "
      "request, its extension insert, the handler's `get` (and `insert`), `Session::save`, "
      "the drop, over a store that hands out a one-entry record built in advance (criterion's "
      "long runs exhaust the pool of 16 384 and clone it then, so its times are a little "
      "high); no header read or written). "
      "It undercounts: a real layer also reads the `Cookie` header, builds the "
      "`HashMap<String, Value>` of every entry (SipHash per key) where the floor builds a "
      "serde enum, and writes `Set-Cookie`. A limit below the bound cannot be met by any such "
      "layer; *room* is what the limit leaves above the bound for that unmeasured work.")
    w("")
    w("| shape | target | limit (Δ Ir) | bound (Δ Ir) = floor + API floor | bound ÷ limit | "
      "room (limit − bound) | ours (Δ Ir) | ours − bound | limit (µs) | bound (µs) | "
      "bound ÷ limit (µs) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    def floor(fid: str, key: str) -> float | None:
        return prim_ir.get(fid) if key == "ir" else pmed(fid)

    def opt(op, a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else op(a, b)

    api_ro, api_rw = by_id.get("api_floor/steady_ro", {}), by_id.get("api_floor/steady_rw", {})
    for shape, sfx in SHAPES:
        fo, fr = f"floor_open/100B{sfx}", f"floor_rw/100B{sfx}"
        # (target, floor, API floor, ours, limit factor, the case the limit is a share of;
        # none: the floor itself)
        rows = (
            ("read-only ≤ 1.3× the raw open floor", fo, api_ro, f"sealed/steady_ro{sfx}", 1.3,
             None),
            ("read+write ≤ 1.0× tower-sessions + MemoryStore", fr, api_rw,
             f"sealed/steady_rw{sfx}", 1.0, f"ts_memory/steady_rw{sfx}"),
            ("read+write ≤ 0.35× tower-sessions-cookie-store", fr, api_rw,
             f"sealed/steady_rw{sfx}", 0.35, f"tsc_private/steady_rw{sfx}"),
        )
        for label, fid, api, ours_id, factor, theirs in rows:
            def limit(key: str) -> float | None:
                base = floor(fo, key) if theirs is None else over(by_id.get(theirs, {}), key)
                return None if base is None else factor * base
            lim_ir, lim_t = limit("ir"), limit("median")
            b_ir = opt(operator.add, floor(fid, "ir"), over(api, "ir"))
            b_t = opt(operator.add, floor(fid, "median"), over(api, "median"))
            ours_ir = over(by_id.get(ours_id, {}), "ir")
            w(f"| {shape} | {label} | {num(lim_ir)} | {num(b_ir)} = {num(floor(fid, 'ir'))} + "
              f"{num(over(api, 'ir'))} | {fmt_ratio(ratio(b_ir, lim_ir))} | "
              f"{num(opt(operator.sub, lim_ir, b_ir))} | {num(ours_ir)} | "
              f"{num(opt(operator.sub, ours_ir, b_ir))} | "
              f"{us(lim_t)} | {us(b_t)} | {fmt_ratio(ratio(b_t, lim_t))} |")
    w("")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="target/bench-report")
    ap.add_argument("--criterion", required=True, type=Path, help="target/criterion")
    ap.add_argument("--repo", required=True, type=Path)
    args = ap.parse_args()
    out_dir, crit, repo = args.out, args.criterion, args.repo

    cases = load_jsonl(out_dir / "cases.jsonl")
    prims = load_jsonl(out_dir / "prims.jsonl")
    ir = load_callgrind(out_dir / "callgrind.tsv")
    allocs = load_dhat(out_dir / "dhat.tsv")
    sizes = load_jsonl(out_dir / "sizes.jsonl")
    floor_check = load_jsonl(out_dir / "floor_check.jsonl")
    meta = {p: read_env(out_dir / f"meta-{p}.env")
            for p in ("criterion", "sizes", "valgrind", "rev-criterion", "rev-timing",
                      "rev-valgrind", "storage-criterion", "storage-timing",
                      "storage-valgrind")}
    mach = machine(repo)
    build = read_env(out_dir / "meta-build.env")
    if build.get("commit"):
        dirty = int(build.get("dirty", "0") or 0)
        mach["git"] = f"`{build['commit']}`" + (" (with uncommitted changes in src/, benches/ "
                                                "or the manifest)" if dirty else "")
    notes_path = repo / "docs" / "bench-notes.md"
    notes = notes_path.read_text() if notes_path.exists() else ""

    # Middleware rows.
    rows = []
    crit_since = phase_epoch(meta, "criterion")
    mw_il = {t["id"]: t for t in load_jsonl(out_dir / "interleaved.jsonl")}
    for c in cases:
        res = fresh_result(crit, c["id"], crit_since)
        il = mw_il.get(c["id"], {})
        rows.append({
            "id": c["id"], "family": c["family"], "data_json": c.get("data_json"),
            "imed": il.get("median_ns"), "ip10": il.get("p10_ns"), "ip90": il.get("p90_ns"),
            "median": res.get("median"), "p10": res.get("p10"), "p90": res.get("p90"),
            "lo": res.get("median_lo"), "hi": res.get("median_hi"),
            "ir": ir.get(("middleware", c["id"])),
            "allocs": allocs.get(c["id"], (None, None))[0],
            "bytes": allocs.get(c["id"], (None, None))[1],
        })
    by_id = {r["id"]: r for r in rows}
    base = by_id.get("baseline/rw", {})

    def over(r: dict, key: str) -> float | None:
        if r.get(key) is None or base.get(key) is None:
            return None
        return r[key] - base[key]

    prim_res = {p["id"]: fresh_result(crit, p["id"], crit_since) or None for p in prims}
    prim_ir = {p["id"]: ir.get(("primitives", p["id"])) for p in prims}

    def pmed(pid: str, key: str = "median") -> float | None:
        res = prim_res.get(pid)
        return res[key] if res else None

    missing = [r["id"] for r in rows if r["median"] is None]
    missing += [p for p, res in prim_res.items() if res is None]
    # Cases that failed their checks (scripts/bench.sh: failed.tsv, id / phase / message).
    failures: dict[str, tuple[list[str], str]] = {}
    failed_path = out_dir / "failed.tsv"
    if failed_path.exists():
        for line in failed_path.read_text().splitlines():
            parts = line.split("\t", 2)
            if len(parts) == 3:
                phases, why = failures.setdefault(parts[0], ([], parts[2]))
                if parts[1] not in phases:
                    phases.append(parts[1])

    # Cookie sizes.
    cookie = {(s["store"], s["size"]): s for s in sizes if s.get("kind") == "cookie"}
    maxfit = {s["store"]: s for s in sizes if s.get("kind") == "maxfit"}
    data_rows = [s for s in sizes if s.get("kind") == "data"]

    # ---- targets ----
    targets = []

    def target(name: str, ours: float | None, theirs: float | None, limit: float,
               unit: str, checks: list[tuple[str, float | None]], what: str) -> None:
        r = ratio(ours, theirs)
        detail = [f"{label}: {fmt_ratio(value)}" for label, value in checks]
        if r is None:
            status = "not measured"
            by = ""
        elif r <= limit:
            status = "**met**"
            by = f"{(1 - r / limit) * 100:.0f} % under the limit"
        else:
            status = "**missed**"
            need = ours - limit * theirs
            by = (f"{(r / limit - 1) * 100:.0f} % over the limit; ours must lose "
                  f"{need:,.0f} {unit}".replace(",", " "))
        disagree = [label for label, value in checks
                    if r is not None and value is not None and (value <= limit) != (r <= limit)]
        if disagree:
            status += f" (borderline: {' and '.join(disagree)} say the opposite)"
        targets.append((name, what, f"≤ {limit:g}×", fmt_ratio(r), status, by, detail))

    # Per payload shape (issue 12): on median, p10 and Ir alike. Ratios between middleware
    # cases take median and p10 from the interleaved run where there is one; the floor
    # ratio compares criterion with criterion (the primitives are not interleaved).
    have_mil = bool(mw_il) and base.get("imed") is not None
    TMED, TP10 = ("imed", "ip10") if have_mil else ("median", "p10")
    shape_targets = []
    for shape, sfx in SHAPES:
        ro, rw = by_id.get(f"sealed/steady_ro{sfx}", {}), by_id.get(f"sealed/steady_rw{sfx}", {})
        for label, theirs_id, limit in (("tower-sessions + MemoryStore", "ts_memory", 1.0),
                                        ("tower-sessions-cookie-store", "tsc_private", 0.35)):
            th = by_id.get(f"{theirs_id}/steady_rw{sfx}", {})
            vals = {"median": ratio(over(rw, TMED), over(th, TMED)),
                    "p10": ratio(over(rw, TP10), over(th, TP10)),
                    "Ir": ratio(over(rw, "ir"), over(th, "ir"))}
            crit_pair = (f"{fmt_ratio(ratio(over(rw, 'median'), over(th, 'median')))} / "
                         f"{fmt_ratio(ratio(over(rw, 'p10'), over(th, 'p10')))}")
            shape_targets.append((shape, *rev_target(
                f"steady read+write vs {label}",
                f"(sealed/steady_rw{sfx} − baseline) ÷ ({theirs_id}/steady_rw{sfx} − baseline)",
                limit, vals, fmt_ratio(ratio(rw.get(TMED), th.get(TMED))), crit_pair)))
        fid = f"floor_open/100B{sfx}"
        vals = {"median": ratio(over(ro, "median"), pmed(fid)),
                "p10": ratio(over(ro, "p10"), pmed(fid, "p10")),
                "Ir": ratio(over(ro, "ir"), prim_ir.get(fid))}
        shape_targets.append((shape, *rev_target(
            "steady read-only vs the raw open floor",
            f"(sealed/steady_ro{sfx} − baseline) ÷ {fid} (criterion medians and p10 both)",
            1.3, vals, f"{nsf(over(ro, 'median'))} ns ÷ {nsf(pmed(fid))} ns", "")))
    ours_c = cookie.get(("sealed", "100B"), {}).get("set_cookie_median")
    tsc_c = cookie.get(("tsc_private", "100B"), {}).get("set_cookie_median")
    target("cookie bytes, typical payload, vs tower-sessions-cookie-store",
           ours_c, tsc_c, 0.6, "bytes", [],
           f"whole `Set-Cookie`: {ours_c} B ÷ {tsc_c} B")

    # ---- revocation (written into its own list, placed below) ----
    vg0 = meta.get("valgrind") or {}
    wt0 = where_time_goes(out_dir, "sealed/steady_rw", int(vg0.get("profile_n", "0") or 0))
    components_now = {label: value / wt0["n"] for label, value in wt0.get("components", [])
                      if value is not None} if wt0 else {}
    self_now: dict[str, float] = {}
    for func, value in (wt0.get("self_all", []) if wt0 else []):
        key = short_fn(func).replace("\\|", "|")
        self_now[key] = self_now.get(key, 0) + value / wt0["n"]
    rev_md: list[str] = []
    rev_rows, rev_targets = revocation_section(rev_md.append, out_dir, crit, repo, by_id, meta,
                                               components_now, self_now)
    st_md: list[str] = []
    st_rows, st_targets = storage_section(st_md.append, out_dir, crit, meta)

    # ---- write ----
    md: list[str] = []
    w = md.append
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w("# Benchmarks")
    w("")
    w("<!-- Generated by scripts/bench.sh (scripts/bench_report.py); do not edit by hand. "
      "Hand-written analysis lives in docs/bench-notes.md and is included below. -->")
    w("")
    built = build.get("built", "").replace("T", " ").replace("Z", " UTC")
    w(f"Built and measured {built or '?'} from commit {mach['git']}; report generated {now}. "
      "Per-request cost of this crate's "
      "`SessionManagerLayer` against the alternatives, on one axum 0.8 app shape driven "
      "in-process (`Router::clone().oneshot(request)` on a current-thread tokio runtime, body "
      "collected; no hyper, no sockets). Handlers read `counter` from the session and write "
      "`counter + 1` (read-only variants only read it). Session data: the *typical payload* "
      "(user id, a 16-char name, 3 roles, a 32-byte CSRF token as 43 base64url chars, a "
      "counter), optionally with a filler string to reach ~1 KB or ~3 KB; every steady case "
      "also runs with two more payload shapes (`…@bytes`: the CSRF token as 32 bytes, which "
      "serde writes as an array of numbers; `…@numeric`: numbers and nested arrays of "
      "integers and floats, ~2× the typical JSON), and a size series (`…/series_<n>B`) runs "
      "from the counter alone to the default cookie budget. Every case is primed "
      "and checked before it is timed (status 200, `Set-Cookie` present or absent as "
      "expected, counter ≥ 2 in steady state).")
    w("")
    w("![Per-request cost: median time and instructions per request](docs/bench-chart.svg)")
    w("")
    if failures:
        w("> **Incomplete run: cases that failed their checks** (panicked while priming or "
          "checking, so they were not measured):")
        for fid, (phases, why) in failures.items():
            w(f"> * `{fid}` ({', '.join(phases)}): {why.strip()}")
        w("")
    missing = [m for m in missing if m not in failures]
    if missing:
        w(f"> **Incomplete run:** no criterion results for {', '.join(missing)}.")
        w("")

    w("## Machine and command")
    w("")
    w(f"* CPU: {mach['cpu']}, {mach['cpus']} vCPUs ({', '.join(mach['flags'])}), {mach['mem']} RAM; "
      f"Linux {mach['kernel']}")
    w(f"* Toolchain: {mach['rustc']}, `cargo bench` profile (release + "
      "`debug = \"line-tables-only\"`); {0}".format(mach["valgrind"]))
    w("* Command: `scripts/bench.sh` (the knobs are at the top of the script). It builds with "
      "`cargo bench --no-run`, runs the `middleware`, `primitives`, `revocation` and "
      "`storage` bench executables as `cargo bench --bench <name>` would (so every phase "
      "measures the same build), then the cookie-size and floor checks, the interleaved runs "
      "(`--interleaved`) and the revocation cases' wall/CPU timing, callgrind and dhat on the "
      "executables' `--driver` mode, `scripts/load-compare.sh` (end to end), and this report. "
      "Parts can run alone (`ONLY=classic|revocation|storage|load`), the others' last "
      "results reused.")
    w("* Criterion 0.8: middleware and revocation 1 s warm-up, 3 s measurement, 50 samples; "
      "primitives 1 s, 2 s, 50 samples. *Median* is criterion's median of per-sample ns/iteration; *p10* and "
      "*p90* are percentiles of the same per-sample values.")
    w("* Every phase ran the executables of the one build named above; each lists its own start "
      "and end, so a phase measured again later with the same executables (`REUSE_BUILD=1`, "
      "e.g. after other jobs loaded the machine) shows its own time.")
    for phase, label in (("criterion", "criterion"), ("valgrind", "callgrind/dhat")):
        m = meta.get(phase) or {}
        if m:
            w(f"* {label} phase: {m.get('started', '?')} → {m.get('finished', '?')}, load "
              f"average {m.get('loadavg_start', '?')} at the start, {m.get('loadavg_end', '?')} "
              "at the end.")
    vg = meta.get("valgrind") or {}
    w(f"* Instructions and allocations per request are `(X(N2) − X(N1)) / (N2 − N1)` over two "
      f"whole-program runs of `--driver <case> N` (N1 = {vg.get('n1', '?')}, N2 = "
      f"{vg.get('n2', '?')} requests; primitives {vg.get('p1', '?')} and {vg.get('p2', '?')} "
      "iterations), so start-up, priming and checks cancel out.")
    w("* The machine is shared and noisy: a case's median can move by 1.3× or more between "
      "runs. Use p10 and the instruction counts for comparisons. Callgrind does not count "
      "time in the kernel (no request path here makes a syscall); under valgrind ring runs its "
      "AVX2 ChaCha20-Poly1305 assembly, the path it also selects natively on an AVX2 CPU.")
    w("")

    w("## Targets")
    w("")
    w("Per payload shape (*token as string*: the typical payload; *token as bytes*: the same "
      "fields with the CSRF token as 32 bytes; *numeric*: numbers and nested arrays), as "
      "ratios of the overhead above `baseline/rw` in one run, on median, p10 and callgrind Ir "
      "alike: a target holds only if all three are within the limit. "
      + ("Median and p10 of the read+write ratios come from the interleaved run "
         f"(`middleware --interleaved`: every steady case in one process, round-robin, "
         f"{(meta.get('sizes') or {}).get('interleaved_rounds', '?')} rounds of one "
         f"~{(meta.get('sizes') or {}).get('interleaved_slice_ms', '?')} ms slice per case, "
         "a new random order each round), so that background load hits the compared cases "
         "alike; criterion's are beside them. " if have_mil else
         "Median and p10 are criterion's. ")
      + "The read-only floor ratio divides criterion's overhead by the primitive's criterion "
      "time (the floor for each shape: base64url decode + AEAD open + postcard decode of the "
      "same record, `benches/primitives.rs`).")
    w("")
    w("| payload shape | target | measured as | limit | median | p10 | Ir | status | "
      "criterion median / p10 | whole request (median) |")
    w("|---|---|---|---:|---:|---:|---:|---|---|---:|")
    for shape, name, what, limit, vals, status, whole, extra in shape_targets:
        w(f"| {shape} | {name} | {what} | {limit} | {fmt_ratio(vals.get('median'))} | "
          f"{fmt_ratio(vals.get('p10'))} | {fmt_ratio(vals.get('Ir'))} | {status} | {extra} | "
          f"{whole} |")
    w("")
    w("| target | measured as | limit | ours ÷ theirs (median) | status | margin | cross-checks |")
    w("|---|---|---:|---:|---|---|---|")
    for name, what, limit, r, status, by, detail in targets:
        w(f"| {name} | {what} | {limit} | {r} | {status} | {by} | {'; '.join(detail)} |")
    w("")
    w("The limits are goals, not timed tests. Why a missed target is missed is discussed "
      "under [What stands in the way](#what-stands-in-the-way).")
    w("")
    if rev_targets:
        w("Revocation targets (details under [Revocation](#revocation); each holds only if "
          "median, p10 and Ir agree):")
        w("")
        for name, _, limit, vals, status, *_ in rev_targets:
            shown = ", ".join(f"{k} {fmt_ratio(v) if k != 'Ir' or limit != '± 2 %' else f'{v:.4f}×'}"
                              for k, v in vals.items())
            w(f"* {name} ({limit}): {shown}: {status}")
        w("")
    if st_targets:
        w("Storage target (details under [Storage: overflow and chunks]"
          "(#storage-overflow-and-chunks); it holds only if median, p10 and Ir agree):")
        w("")
        for name, _, limit, vals, status, *_ in st_targets:
            shown = ", ".join(f"{k} {fmt_ratio(v)}" for k, v in vals.items())
            w(f"* {name} ({limit}): {shown}: {status}")
        w("")

    w("## Time per request")
    w("")
    w("Overhead = case − baseline (median). *× ours* = that overhead ÷ the overhead of our "
      "comparable case (same request, same session data; named in the last column): above 1 "
      "means the other implementation costs more than ours.")
    w("")
    w("*Interleaved* columns: the same case in `middleware --interleaved` (first visits are "
      "not interleaved); its times run higher than criterion's, since every slice starts "
      "cold after another case: read absolute times from criterion, ratios from either.")
    w("")
    w("| case | what | median µs | p10 µs | p90 µs | overhead µs | × ours | ours | "
      "interleaved median µs | interleaved p10 µs |")
    w("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        cp = counterpart(r["id"])
        x = ratio(over(r, "median"), over(by_id.get(cp, {}), "median")) if cp else None
        name = f"**{r['id']}**" if r["family"] == "sealed" else r["id"]
        w(f"| {name} | {describe(r['id'], r.get('data_json'))} | {us(r['median'])} | "
          f"{us(r['p10'])} | "
          f"{us(r['p90'])} | {us(over(r, 'median'))} | {fmt_ratio(x) if cp else ''} | "
          f"{cp or ''} | {us(r.get('imed'))} | {us(r.get('ip10'))} |")
    w("")
    w("`jar_private/ro_counter` reads a counter-only cookie but is compared with our "
      "typical-payload read; `jar_private/rw_typed_100B` holds the typical payload as JSON "
      "(a typed struct, no tower-sessions data model).")
    w("")

    w("## Instructions per request (callgrind)")
    w("")
    w("| case | Ir / request | Δ Ir vs baseline | × ours (Δ Ir) | ours |")
    w("|---|---:|---:|---:|---|")
    for r in rows:
        cp = counterpart(r["id"])
        x = ratio(over(r, "ir"), over(by_id.get(cp, {}), "ir")) if cp else None
        name = f"**{r['id']}**" if r["family"] == "sealed" else r["id"]
        w(f"| {name} | {num(r['ir'])} | {num(over(r, 'ir'))} | {fmt_ratio(x) if cp else ''} | "
          f"{cp or ''} |")
    w("")

    series_section(w, rows, over, sizes, repo / "docs" / "bench-size-series.svg")

    w("## Heap allocations per request (dhat)")
    w("")
    w("Blocks allocated (and bytes) per request, from `valgrind --tool=dhat` on the same "
      "driver runs; every `malloc`/`realloc`/`calloc` counts, whatever its size.")
    w("")
    w("| case | allocations / request | Δ vs baseline | bytes / request | Δ bytes vs baseline |")
    w("|---|---:|---:|---:|---:|")
    for r in rows:
        name = f"**{r['id']}**" if r["family"] == "sealed" else r["id"]
        w(f"| {name} | {num(r['allocs'], 1)} | {num(over(r, 'allocs'), 1)} | "
          f"{num(r['bytes'])} | {num(over(r, 'bytes'))} |")
    w("")
    pairs = [("sealed/fresh", "ts_memory/fresh"), ("sealed/steady_ro", "ts_memory/steady_ro"),
             ("sealed/steady_rw", "ts_memory/steady_rw")]
    w("Ours vs tower-sessions + MemoryStore (allocations per request above the baseline): " +
      "; ".join(f"{a.split('/')[1]}: {num(over(by_id.get(a, {}), 'allocs'), 1)} vs "
                f"{num(over(by_id.get(b, {}), 'allocs'), 1)}" for a, b in pairs) + ".")
    w("")

    w("## Cookie bytes")
    w("")
    w("Whole `Set-Cookie` header value (name, value and attributes; all stores use `Path=/`, "
      "`HttpOnly`, `Secure`, `SameSite=Strict`) sent by a steady read + write request, median "
      "of 41. Ours has a fixed length for given data; `PrivateCookieJar` varies with the "
      "nonce (percent-encoded base64), and tower-sessions-cookie-store by a few bytes between "
      "runs (its JSON holds the random session id as a decimal number). *Cookie* is the "
      "request header the browser sends back.")
    w("")
    sizes_labels = [d["size"] for d in data_rows]
    hdr = " | ".join(f"{s} data ({d['data_json']} B JSON): Set-Cookie / Cookie"
                     for s, d in zip(sizes_labels, data_rows))
    w(f"| store | {hdr} |")
    w("|---|" + "---:|" * len(sizes_labels))
    for store, label in (("sealed", "**this crate**"), ("tsc_private", "tower-sessions-cookie-store"),
                         ("jar_private_typed", "PrivateCookieJar (JSON)"),
                         ("ts_memory", "tower-sessions + MemoryStore (id only)")):
        cells = []
        for s in sizes_labels:
            c = cookie.get((store, s), {})
            if "set_cookie_median" in c:
                v = c["set_cookie_median"]
                over4k = " ⚠ > 4096" if v > 4096 else ""
                cells.append(f"{v} / {c['cookie_header']}{over4k}")
            else:
                cells.append("does not fit")
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    if ours_c and tsc_c:
        w(f"Typical payload: ours {ours_c} B vs tower-sessions-cookie-store {tsc_c} B = "
          f"**{ours_c / tsc_c:.2f}×**.")
        w("")
    w("**Largest session data that still fits** (typical payload + a filler string; a "
      "first request that writes it, `Set-Cookie` ≤ 4096 B, the RFC 6265 minimum browsers "
      "keep):")
    w("")
    w("| store | largest data that fits (JSON bytes) | its Set-Cookie | largest the layer accepts | its Set-Cookie |")
    w("|---|---:|---:|---:|---:|")
    for store, label in (("sealed", "**this crate**"), ("tsc_private", "tower-sessions-cookie-store")):
        m = maxfit.get(store)
        if not m:
            continue
        f, a = m.get("fits") or {}, m.get("accepted") or {}
        w(f"| {label} | {f.get('data_json', '–')} | {f.get('set_cookie', '–')} | "
          f"{a.get('data_json', '–')} | {a.get('set_cookie', '–')} |")
    w("")
    ours_max = ((maxfit.get("sealed") or {}).get("accepted") or {}).get("set_cookie")
    w("tower-sessions-cookie-store checks `max_cookie_bytes` (4096) against its JSON+base64 "
      "value *before* encrypting and base64-encoding it again, so it accepts data whose "
      "cookie then exceeds 4096 B and is dropped by browsers. This crate refuses (answers 500) "
      "anything whose whole `Set-Cookie` would exceed its cookie budget"
      + (f" (the largest it accepted here: a {ours_max}-byte `Set-Cookie`)" if ours_max else "")
      + ".")
    w("")

    w("## The floor: postcard + XChaCha20-Poly1305 + base64url")
    w("")
    aead_name = floor_check[0]["aead"] if floor_check else "?"
    opens = all(fc.get("floor_opens_crate_cookie") for fc in floor_check) if floor_check else False
    w("`benches/primitives.rs` rebuilds the crate's wire format v1 with plain serde + postcard "
      "(a serde enum that postcard encodes exactly as the crate encodes session values) and no "
      "checks beyond the AEAD tag. The *raw open floor* is base64url decode + AEAD open + "
      "postcard decode; the *seal floor* is postcard encode + nonce (`rand` 0.8 `thread_rng`) "
      "+ AEAD seal + base64url encode; *rw* is open, counter + 1, seal. The AEAD is the "
      f"crate's default backend composition ({aead_name}). "
      + ("`primitives --check` confirms that the floor opens and decodes cookies sealed by the "
         "crate, byte for byte, so both work on the same bytes. " if opens else
         "**`primitives --check` could not open the crate's cookies with the floor: the wire "
         "format changed; the floor still measures the v1 layout.** ")
      + "`crate_*` rows are the crate's public `KeyRing::open` / `KeyRing::seal` on the "
      "same records.")
    w("")
    w("| size | plaintext B | floor open | floor seal | floor rw | crate `open` | crate `seal` | "
      "crate open ÷ floor | crate seal ÷ floor | floor open (RustCrypto AEAD) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    fc_by = {fc["size"]: fc for fc in floor_check}
    shape_labels = [f"100B{sfx}" for _, sfx in SHAPES if sfx]
    for size in ["minimal"] + sizes_labels + shape_labels:
        def cell(pid: str) -> str:
            m = pmed(pid)
            if m is None:
                return "–"
            i = prim_ir.get(pid)
            return f"{nsf(m)} ns" + (f" ({num(i / 1000, 1)}k Ir)" if i else "")
        w(f"| {size} | {fc_by.get(size, {}).get('plaintext', '–')} | {cell('floor_open/' + size)} | "
          f"{cell('floor_seal/' + size)} | {cell('floor_rw/' + size)} | "
          f"{cell('crate_open/' + size)} | {cell('crate_seal/' + size)} | "
          f"{fmt_ratio(ratio(pmed('crate_open/' + size), pmed('floor_open/' + size)))} | "
          f"{fmt_ratio(ratio(pmed('crate_seal/' + size), pmed('floor_seal/' + size)))} | "
          f"{cell('floor_open_rustcrypto/' + size)} |")
    w("")
    w("AEAD alone (in place, same plaintext lengths): the crate's default composition vs "
      "RustCrypto `chacha20poly1305::XChaCha20Poly1305` (reference, default build, no "
      "RUSTFLAGS).")
    w("")
    w("| size | default seal | default open | RustCrypto seal | RustCrypto open |")
    w("|---|---:|---:|---:|---:|")
    for size in ["minimal"] + sizes_labels + shape_labels:
        w(f"| {size} | {nsf(pmed('aead_default_seal/' + size))} ns | "
          f"{nsf(pmed('aead_default_open/' + size))} ns | "
          f"{nsf(pmed('aead_rustcrypto_seal/' + size))} ns | "
          f"{nsf(pmed('aead_rustcrypto_open/' + size))} ns |")
    w("")
    w("Parts of the floor, and what the tower-sessions data model adds (`to_json_map`: "
      "building the `HashMap<String, serde_json::Value>` a `Record` must hold from the decoded "
      "values; `clone_mirror`: cloning the decoded values once):")
    w("")
    part_names = ["part_b64_decode", "part_postcard_de", "part_to_json_map", "part_clone_mirror",
                  "part_postcard_ser"]
    w("| size | " + " | ".join(p.removeprefix("part_") for p in part_names) + " |")
    w("|---|" + "---:|" * len(part_names))
    for size in sizes_labels + shape_labels:
        w(f"| {size} | " + " | ".join(f"{nsf(pmed(p + '/' + size))} ns" for p in part_names) + " |")
    w("")
    w(f"A 24-byte nonce from `thread_rng`: {nsf(pmed('part_nonce/thread_rng_24B'))} ns.")
    w("")
    w("Our middleware overhead over the floor (same data):")
    w("")
    w("| our case | overhead µs (median) | floor | floor µs | overhead ÷ floor | Δ Ir ÷ floor Ir |")
    w("|---|---:|---|---:|---:|---:|")
    for case_id, floor_id in (("sealed/steady_ro", "floor_open/100B"),
                              ("sealed/steady_rw", "floor_rw/100B"),
                              ("sealed/steady_ro@bytes", "floor_open/100B@bytes"),
                              ("sealed/steady_rw@bytes", "floor_rw/100B@bytes"),
                              ("sealed/steady_ro@numeric", "floor_open/100B@numeric"),
                              ("sealed/steady_rw@numeric", "floor_rw/100B@numeric"),
                              ("sealed/rw_1KB", "floor_rw/1KB"),
                              ("sealed/rw_3KB", "floor_rw/3KB")):
        r = by_id.get(case_id, {})
        w(f"| {case_id} | {us(over(r, 'median'))} | {floor_id} | {us(pmed(floor_id))} | "
          f"{fmt_ratio(ratio(over(r, 'median'), pmed(floor_id)))} | "
          f"{fmt_ratio(ratio(over(r, 'ir'), prim_ir.get(floor_id)))} |")
    w("")

    lower_bound_table(w, by_id, over, pmed, prim_ir)

    prof_n = int(vg.get("profile_n", "0") or 0)
    w("## Where the time goes")
    w("")
    profiles = [where_time_goes(out_dir, c, prof_n)
                for c in (vg.get("profile_cases") or "sealed/steady_rw").split()]
    profiles = [p for p in profiles if p]
    if not profiles:
        w("(no profile in this run: run `scripts/bench.sh` without `SKIP_VALGRIND`)")
        w("")
    for i, wt in enumerate(profiles):
        render_profile(w, wt, full=(i == 0))
    w("## Revocation")
    w("")
    md.extend(rev_md)
    w("## Storage: overflow and chunks")
    w("")
    md.extend(st_md)
    load_section(w, out_dir)
    w("## What stands in the way")
    w("")
    if notes:
        w(notes.strip())
    else:
        w("(docs/bench-notes.md is missing)")
    w("")
    w("## Reproduce")
    w("")
    w("```sh")
    w("scripts/bench.sh                                   # everything, ~30 min")
    w("cargo bench --bench middleware -- sealed/          # criterion, one family")
    w("cargo bench --bench middleware -- --test           # every case once (checks only)")
    w("B=$(ls -t target/release/deps/middleware-* | grep -v '\\.d$' | head -1)")
    w("$B --list                                          # case ids")
    w("valgrind --tool=callgrind $B --driver sealed/steady_rw 5000")
    w("valgrind --tool=dhat --dhat-out-file=/dev/null $B --driver ts_memory/steady_rw 5000")
    w("$B --sizes                                         # cookie sizes (JSON lines)")
    w("$B --interleaved 40 15                             # steady cases round-robin")
    w("SKIP_SERIES=1 ONLY=classic scripts/bench.sh        # without the size series")
    w("ONLY=revocation scripts/bench.sh                   # only the revocation bench (+ report)")
    w("cargo bench --bench revocation -- sealed_rev_redis/  # criterion, one family")
    w("cargo bench --bench revocation -- --test           # every revocation case once (checks)")
    w("R=$(ls -t target/release/deps/revocation-* | grep -v '\\.d$' | head -1)")
    w("valgrind --tool=callgrind $R --driver sealed_rev_postgres/steady_rw 1500")
    w("$R --timing ts_redis/steady_rw 2                   # wall vs CPU of this process and server")
    w("ONLY=storage scripts/bench.sh                      # only the storage bench (+ report)")
    w("cargo bench --bench storage -- --test              # every storage case once (checks)")
    w("S=$(ls -t target/release/deps/storage-* | grep -v '\\.d$' | head -1)")
    w("valgrind --tool=callgrind $S --driver sealed_chunks/rw_6KB 1500")
    w("$S --interleaved 20 20                             # every storage case round-robin")
    w("ONLY=load scripts/bench.sh                         # end to end over sockets (+ report)")
    w("```")
    w("")
    w("Raw results of the last run: `target/bench-report/` (criterion: `target/criterion/`).")
    w("")

    (repo / "BENCHMARKS.md").write_text("\n".join(md))
    svg_chart([r for r in rows if "@" not in r["id"] and not is_series(r["id"])],
              repo / "docs" / "bench-chart.svg",
              [r for r in rev_rows if r.get("request")])

    summary = {
        "generated": now, "machine": mach, "rows": rows, "targets": [
            {"name": t[0], "limit": t[2], "ratio": t[3], "status": t[4], "margin": t[5]}
            for t in targets],
        "shape_targets": [{"shape": t[0], "name": t[1], "limit": t[3], "ratios": t[4],
                           "status": t[5]} for t in shape_targets],
        "primitives": {k: {"median": pmed(k), "p10": pmed(k, "p10"), "ir": prim_ir.get(k)}
                       for k in prim_res},
    }
    summary["revocation"] = {"rows": rev_rows, "targets": [
        {"name": t[0], "limit": t[2], "ratios": t[3], "status": t[4]} for t in rev_targets]}
    summary["storage"] = {"rows": st_rows, "targets": [
        {"name": t[0], "limit": t[2], "ratios": t[3], "status": t[4]} for t in st_targets]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {repo / 'BENCHMARKS.md'} and {repo / 'docs' / 'bench-chart.svg'}")
    for t in targets:
        print(f"  {t[0]}: {t[3]} (limit {t[2]}) {t[4].replace('*', '')} {t[5]}")
    for t in shape_targets:
        shown = ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} –" for k, v in t[4].items())
        print(f"  [{t[0]}] {t[1]}: {shown} (limit {t[3]}) {t[5].replace('*', '')}")
    for t in rev_targets + st_targets:
        shown = ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} –" for k, v in t[3].items())
        print(f"  {t[0]}: {shown} (limit {t[2]}) {t[4].replace('*', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
