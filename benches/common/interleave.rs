//! How the benches with many cases in one process measure them: criterion one group per
//! family, the `--driver` loop callgrind and dhat count, and `--interleaved`, every case
//! round-robin in short slices (a new random order each round) so that background load hits
//! every case alike. Used by the revocation and storage benches.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::json;
use tokio::runtime::Runtime;

/// A primed and checked case: one measured iteration, and a check after each measurement.
pub(crate) trait Measure {
    /// One measured iteration: exactly what every timing covers.
    fn once(&self) -> impl Future<Output = ()>;

    /// Panics if the measurement invalidated the case (called after each batch or slice).
    fn after(&self) {}
}

/// `family/variant` split at the first `/`.
pub(crate) fn split_id(id: &str) -> (&str, &str) {
    id.split_once('/').unwrap_or((id, id))
}

/// `<criterion's usual directory>/<bench>`: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `<target>/criterion` from this executable's path
/// (`<target>/release/deps/<bench>-*`), as criterion finds it.
pub(crate) fn criterion_dir(bench: &str) -> PathBuf {
    let base = if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("criterion")
    };
    base.join(bench)
}

/// Criterion as the store benches configure it (1 s warm-up, 3 s, 50 samples), writing to
/// [`criterion_dir`]`(bench)`.
pub(crate) fn criterion(bench: &str) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .output_directory(&criterion_dir(bench))
        .configure_from_args()
}

/// One criterion group per family, one function per variant, in `ids` order; `prepare`
/// primes and checks a case (it panics naming the case if anything is off).
pub(crate) fn bench_families<P: Measure>(
    c: &mut Criterion,
    rt: &Runtime,
    ids: &[String],
    mut prepare: impl FnMut(usize) -> P,
) {
    let mut families: Vec<&str> = Vec::new();
    for id in ids {
        let family = split_id(id).0;
        if !families.contains(&family) {
            families.push(family);
        }
    }
    for family in families {
        let mut group = c.benchmark_group(family);
        for (i, id) in ids.iter().enumerate() {
            if split_id(id).0 != family {
                continue;
            }
            group.bench_function(split_id(id).1, |b| {
                let prepared = prepare(i);
                b.to_async(rt).iter_custom(|iters| {
                    let prepared = &prepared;
                    async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            prepared.once().await;
                        }
                        let elapsed = start.elapsed();
                        prepared.after();
                        elapsed
                    }
                });
            });
        }
        group.finish();
    }
}

/// `--driver`: `n` iterations of a prepared case in one `block_on`.
pub(crate) fn drive<P: Measure>(rt: &Runtime, prepared: &P, n: u64) {
    driver_loop(rt, prepared, n);
    prepared.after();
}

/// The measured loop of `--driver`; not inlined so that callgrind can name it
/// (`--toggle-collect='*driver_loop*'`).
#[inline(never)]
fn driver_loop<P: Measure>(rt: &Runtime, prepared: &P, n: u64) {
    rt.block_on(async {
        for _ in 0..n {
            prepared.once().await;
        }
    });
}

/// `--interleaved <rounds> <slice>`: every case in one process, round-robin. Each round runs
/// every case for one slice (about `slice`, in batches of 8 iterations), in a new random
/// order, and records its time per iteration; round 0 warms up and is not recorded. Before a
/// case's slice, `refresh(i, &prepared[i])` may return a newly prepared case to use instead
/// (outside the slice). Prints (JSON lines) the median, p10 and p90 over the rounds per case.
pub(crate) fn interleaved<P: Measure>(
    rt: &Runtime,
    ids: &[String],
    mut prepared: Vec<P>,
    rounds: usize,
    slice: Duration,
    mut refresh: impl FnMut(usize, &P) -> Option<P>,
) {
    let mut per_iter: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); ids.len()];
    // A new order every round (xorshift, fixed seed): a case never always follows the same
    // one, so what a case leaves behind (a server still busy, pings in flight) falls on all.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for round in 0..=rounds {
        for k in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(k, (seed % (k as u64 + 1)) as usize);
        }
        for &i in &order {
            if let Some(fresh) = refresh(i, &prepared[i]) {
                prepared[i] = fresh;
            }
            let p = &prepared[i];
            let (n, elapsed) = rt.block_on(async {
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed() < slice {
                    for _ in 0..8 {
                        p.once().await;
                    }
                    n += 8;
                }
                (n, start.elapsed())
            });
            p.after();
            if round > 0 {
                per_iter[i].push(elapsed.as_nanos() as f64 / n as f64);
            }
        }
    }
    for (id, mut xs) in ids.iter().zip(per_iter) {
        xs.sort_by(f64::total_cmp);
        let q = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
        println!(
            "{}",
            json!({
                "id": id, "rounds": xs.len(), "slice_ms": slice.as_millis() as u64,
                "median_ns": q(0.5), "p10_ns": q(0.1), "p90_ns": q(0.9),
            })
        );
    }
}

/// The two arguments after `flag` on the command line (`flag <a> <b>`), if `flag` is there;
/// panics with `usage` if they are missing or do not parse.
pub(crate) fn flag_args<A: FromStr, B: FromStr>(
    args: &[String],
    flag: &str,
    usage: &str,
) -> Option<(A, B)> {
    let at = args.iter().position(|a| a == flag)?;
    let a = args.get(at + 1).and_then(|v| v.parse().ok());
    let b = args.get(at + 2).and_then(|v| v.parse().ok());
    match (a, b) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => panic!("usage: {flag} {usage}"),
    }
}
