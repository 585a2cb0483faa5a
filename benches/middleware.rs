//! Per-request cost of session middleware on one axum 0.8 app shape, driven in-process.
//!
//! Cases (see `common::cases`): the baseline without a session layer; tower-sessions 0.14 +
//! `MemoryStore`; tower-sessions-cookie-store 0.5 (private); axum-extra `PrivateCookieJar`;
//! and this crate (fresh, steady read-only, steady read+write, a cookie under an older key,
//! ~100 B / ~1 KB / ~3 KB of session data, the last with the cookie budget raised to 4096).
//! Every steady case again for two more payload shapes (`…@bytes`: the CSRF token as 32
//! bytes, an array of numbers; `…@numeric`: numbers and nested arrays), and a size series
//! (`…/series_<n>B`: 0 to the default cookie budget) for this crate, tower-sessions and
//! tower-sessions-cookie-store. Each case is primed and verified before it is timed.
//!
//! Modes (the first matching argument wins; otherwise criterion runs):
//!
//! - `--driver <case-id> <N>`: prime and verify the case, then send `N` requests of it
//!   without criterion and exit. `scripts/bench.sh` runs this under
//!   `valgrind --tool=callgrind` and `--tool=dhat` for two values of `N` and takes the
//!   difference, so start-up, priming and verification cancel out.
//! - `--interleaved <rounds> <slice-ms>`: every case but the first visits in one process,
//!   round-robin in slices, a new random order each round (`common::interleave`); prints
//!   (JSON) the median, p10 and p90 over the rounds per case, for ratios that hold up under
//!   background load.
//! - `--sizes`: print cookie sizes (JSON lines): the whole `Set-Cookie` for the typical
//!   payload under each store, and the largest session data that still fits.
//! - `--list`: print the cases (JSON lines).
//!
//! ```sh
//! cargo bench --bench middleware                 # criterion, every case
//! cargo bench --bench middleware -- sealed/      # criterion filter
//! cargo bench --bench middleware -- --test       # each case once (a quick check)
//! ```

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::json;

use common::interleave::{self, flag_args};
use common::{Prepared, Prime, Size};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--driver") {
        let id = args.get(at + 1).expect("--driver <case-id> <N>");
        let n: u64 = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .expect("--driver <case-id> <N>");
        driver(id, n);
        return;
    }
    if let Some((rounds, slice)) = flag_args(&args, "--interleaved", "<rounds> <slice-ms>") {
        interleaved(rounds, Duration::from_millis(slice));
        return;
    }
    if args.iter().any(|a| a == "--sizes") {
        sizes();
        return;
    }
    if args.iter().any(|a| a == "--list") {
        for case in common::cases() {
            println!(
                "{}",
                json!({
                    "id": case.id,
                    "family": case.family(),
                    "variant": case.variant(),
                    "path": case.path,
                    "prime": format!("{:?}", case.prime),
                    "shape": case.shape().map(common::Shape::label),
                    "data_json": case.data_json(),
                    "set_cookie": case.set_cookie,
                })
            );
        }
        return;
    }

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    bench_all(&mut criterion);
    criterion.final_summary();
}

/// One criterion group per family, one function per variant.
fn bench_all(c: &mut Criterion) {
    let rt = common::runtime();
    let cases = common::cases();
    let mut families: Vec<&str> = Vec::new();
    for case in &cases {
        if !families.contains(&case.family()) {
            families.push(case.family());
        }
    }
    for family in families {
        let mut group = c.benchmark_group(family);
        for case in cases.iter().filter(|c| c.family() == family) {
            group.bench_function(case.variant(), |b| {
                // Primes and verifies once; panics (naming the case) if anything is off.
                let prepared = rt.block_on(common::prepare(case));
                let fresh = matches!(case.prime, Prime::Fresh);
                b.to_async(&rt).iter_custom(|iters| {
                    let prepared = &prepared;
                    async move {
                        // First visits grow server-side stores: start each batch from a new
                        // app, built outside the timed region.
                        let app = if fresh {
                            (prepared.case.build)()
                        } else {
                            prepared.app.clone()
                        };
                        let cookie = prepared.cookie.as_ref();
                        let path = prepared.case.path;
                        let start = Instant::now();
                        for _ in 0..iters {
                            black_box(common::request(&app, path, cookie).await);
                        }
                        start.elapsed()
                    }
                });
            });
        }
        group.finish();
    }
}

/// `--interleaved`: every case that reuses its cookie (all but first visits, whose server-side
/// stores would grow), round-robin in slices.
fn interleaved(rounds: usize, slice: Duration) {
    let rt = common::runtime();
    let cases: Vec<_> = common::cases()
        .into_iter()
        .filter(|c| !matches!(c.prime, Prime::Fresh))
        .collect();
    let ids: Vec<String> = cases.iter().map(|c| c.id.to_owned()).collect();
    let prepared = cases
        .iter()
        .map(|c| rt.block_on(common::prepare(c)))
        .collect();
    interleave::interleaved(&rt, &ids, prepared, rounds, slice, |_, _| None);
}

/// `--driver`: prime, verify, then `n` requests in one `block_on`.
fn driver(id: &str, n: u64) {
    let case = common::case(id).unwrap_or_else(|| panic!("no case {id:?}; see --list"));
    let rt = common::runtime();
    let prepared = rt.block_on(common::prepare(&case));
    driver_loop(&rt, &prepared, n);
    eprintln!("driver: {id} x {n} done");
}

/// The measured loop of `--driver`; not inlined so that callgrind can name it
/// (`--toggle-collect='*driver_loop*'`).
#[inline(never)]
fn driver_loop(rt: &tokio::runtime::Runtime, prepared: &Prepared, n: u64) {
    rt.block_on(async {
        let cookie = prepared.cookie.as_ref();
        for _ in 0..n {
            black_box(common::request(&prepared.app, prepared.case.path, cookie).await);
        }
    });
}

// ---------------------------------------------------------------------------------------
// --sizes

/// A store in the size tables: (label, app, session cookie name).
type Subject = (&'static str, fn() -> axum::Router, &'static str);

/// The stores compared in the size tables.
fn size_subjects() -> Vec<Subject> {
    vec![
        ("sealed", common::app_sealed, "id"),
        ("tsc_private", common::app_tsc_private, "session"),
        ("ts_memory", common::app_ts_memory, "id"),
        ("jar_private_typed", common::app_jar_private_typed, "s"),
    ]
}

/// Lengths of the session's `Set-Cookie` header value (the whole header value: name, value
/// and attributes) over `tries` read+write requests with the steady cookie, sorted.
async fn steady_set_cookie_lengths(
    build: fn() -> axum::Router,
    name: &str,
    filler: usize,
    tries: usize,
) -> Option<(Vec<usize>, usize)> {
    let app = build();
    let mut jar = common::Jar::default();
    let (login, _) = common::full_request(&app, &format!("/login/{filler}"), None).await;
    if !login.status().is_success() {
        return None;
    }
    jar.update(&login);
    let cookie = jar.header()?;
    let mut lengths = Vec::new();
    for _ in 0..tries {
        let (response, _) = common::full_request(&app, "/", Some(&cookie)).await;
        if !response.status().is_success() {
            return None;
        }
        let len = common::set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))?
            .len();
        lengths.push(len);
    }
    lengths.sort_unstable();
    Some((lengths, cookie.len()))
}

/// Whether a first `GET /login/{filler}` succeeds (`accepted`), and whether every
/// `Set-Cookie` it sends is within the browser limit (`fits`), over `tries` attempts.
async fn login_fits(
    build: fn() -> axum::Router,
    filler: usize,
    tries: usize,
) -> (bool, bool, usize) {
    let app = build();
    let mut accepted = true;
    let mut fits = true;
    let mut longest = 0;
    for _ in 0..tries {
        let (response, _) = common::full_request(&app, &format!("/login/{filler}"), None).await;
        let set = common::set_cookies(&response);
        if !response.status().is_success() || set.is_empty() {
            accepted = false;
            fits = false;
            continue;
        }
        let len = set.iter().map(String::len).max().unwrap_or(0);
        longest = longest.max(len);
        if len > common::BROWSER_COOKIE_LIMIT {
            fits = false;
        }
    }
    (accepted, fits, longest)
}

/// Largest filler for which `pred` holds (monotone: true then false), by bisection.
async fn largest<F, Fut>(mut pred: F) -> Option<usize>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if !pred(0).await {
        return None;
    }
    let (mut lo, mut hi) = (0usize, 8192usize);
    if pred(hi).await {
        return Some(hi);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if pred(mid).await {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

fn median(sorted: &[usize]) -> usize {
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// `--sizes`: JSON lines for `scripts/bench_report.py`.
fn sizes() {
    let rt = common::runtime();
    rt.block_on(async {
        for size in Size::ALL {
            let filler = size.filler();
            println!(
                "{}",
                json!({"kind": "data", "size": size.label(), "filler": filler,
                       "data_json": common::data_json_len(filler)})
            );
            for (label, build, name) in size_subjects() {
                let row = match steady_set_cookie_lengths(build, name, filler, 41).await {
                    Some((lengths, cookie_header)) => json!({
                        "kind": "cookie", "store": label, "size": size.label(),
                        "data_json": common::data_json_len(filler),
                        "set_cookie_min": lengths.first(),
                        "set_cookie_median": median(&lengths),
                        "set_cookie_max": lengths.last(),
                        "cookie_header": cookie_header,
                    }),
                    None => json!({
                        "kind": "cookie", "store": label, "size": size.label(),
                        "data_json": common::data_json_len(filler),
                        "error": "does not fit / not accepted",
                    }),
                };
                println!("{row}");
            }
        }
        // The size series: this crate's steady Set-Cookie at each point (typical payload +
        // filler; the first point is the counter alone, `series_0B`).
        for case in common::cases()
            .into_iter()
            .filter(|c| c.variant().starts_with("series_"))
        {
            let filler = match case.prime {
                Prime::Data(_, filler) => Some(filler),
                _ => None,
            };
            let (set_cookie, cookie_header) = match filler {
                Some(filler) => steady_set_cookie_lengths(case.build, "id", filler, 3)
                    .await
                    .map(|(l, c)| (median(&l), c))
                    .unzip(),
                None => (None, None),
            };
            println!(
                "{}",
                json!({
                    "kind": "series", "id": case.id, "family": case.family(),
                    "data_json": case.data_json(),
                    "set_cookie": if case.family() == "sealed" { set_cookie } else { None },
                    "cookie_header": if case.family() == "sealed" { cookie_header } else { None },
                    "budget": tower_sessions_sealed::DEFAULT_COOKIE_BUDGET,
                })
            );
        }
        for (label, build, _) in size_subjects() {
            if label != "sealed" && label != "tsc_private" {
                // ts_memory keeps the data server-side; the jar has no size check of its
                // own and its percent-encoded length varies from one seal to the next.
                continue;
            }
            let fits = largest(|filler| async move { login_fits(build, filler, 5).await.1 }).await;
            let accepted =
                largest(|filler| async move { login_fits(build, filler, 5).await.0 }).await;
            let describe = |filler: Option<usize>| async move {
                match filler {
                    Some(f) => {
                        let (_, _, longest) = login_fits(build, f, 5).await;
                        json!({"filler": f, "data_json": common::data_json_len(f),
                               "set_cookie": longest})
                    }
                    None => json!(null),
                }
            };
            println!(
                "{}",
                json!({
                    "kind": "maxfit", "store": label,
                    "limit": common::BROWSER_COOKIE_LIMIT,
                    "fits": describe(fits).await,
                    "accepted": describe(accepted).await,
                })
            );
        }
    });
}
