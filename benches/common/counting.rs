//! Counting what a layer asks of its store (checks only, never timed): a `SessionStore`
//! wrapper that counts loads and writes, and the check that a configuration makes exactly
//! the store calls its case says per steady request. Used by the revocation and storage
//! benches.

use axum::Router;
use axum::http::StatusCode;

use super::steady;

#[path = "../../tests/support/counting_store.rs"]
mod counting_store;
#[allow(unused_imports)] // benches without a store do not use it
pub(crate) use counting_store::Counting;

/// A counting app's counters: (loads, writes) so far.
pub(crate) type Counts = Box<dyn Fn() -> (usize, usize)>;

/// `app` (built over a [`Counting`] store whose counters `counts` reads), primed with
/// `GET /login/{filler}` then `GET /`, makes exactly `expected` (loads, writes) store calls
/// per steady read + write.
///
/// # Panics
///
/// When it does not, or a request fails, naming the case `id`.
pub(crate) async fn check_store_calls(
    id: &str,
    app: &Router,
    counts: &Counts,
    filler: usize,
    expected: (usize, usize),
) {
    const REQUESTS: usize = 4;
    let (_, cookie) = steady::prime(id, app, filler).await;
    let before = counts();
    for _ in 0..REQUESTS {
        let (status, body, _) = steady::with_cookie(app, "/", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{id}: counting app: {body:?}");
    }
    let after = counts();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (expected.0 * REQUESTS, expected.1 * REQUESTS),
        "{id}: store calls (loads, writes) over {REQUESTS} requests"
    );
}
