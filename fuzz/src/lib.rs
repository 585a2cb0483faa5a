//! Fixtures shared by the fuzz targets and the seed-corpus generator
//! (`examples/make_corpus.rs`): a fixed key ring, a table of cookies sealed under it with
//! fixed nonces (so the committed corpus is reproducible and holds valid cookies), the
//! input format of the `cookie_header` target, the app it drives, and a reference model of
//! which session a request's `Cookie` headers should yield.
//!
//! The main crate's `tests/fuzz_corpus.rs` includes this file (`#[path]`), so the corpus
//! replay under `cargo test` and the fuzz targets check against one model.
//!
//! The keys here are public test keys: never use them outside fuzzing.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower_sessions_sealed::session::{Id, Record};
use tower_sessions_sealed::{Key, KeyRing, SealedRecord, Session, SessionManagerLayer};

/// The session cookie name (the layer's default).
pub const COOKIE_NAME: &str = "id";
/// Another cookie name: cookies sealed for it must not open as [`COOKIE_NAME`].
pub const OTHER_NAME: &str = "other";

/// The ring's sealing key.
pub const PRIMARY_KEY: &[u8; 32] = b"fuzz-primary-key-0123456789abcde";
/// The ring's second (older) key: cookies sealed under it open and are re-sealed.
pub const OLDER_KEY: &[u8; 32] = b"fuzz-older-key---0123456789abcde";
/// A key outside the ring.
pub const FOREIGN_KEY: &[u8; 32] = b"fuzz-foreign-key-0123456789abcde";

/// 2026-01-01T00:00:00Z: the fixed "now" of the `open_cookie` target.
pub const NOW_UNIX: i64 = 1_767_225_600;
/// 2025-01-01T00:00:00Z: when every fixture session was created.
pub const CREATED_UNIX: i64 = 1_735_689_600;
/// 2100-01-01T00:00:00Z: the expiry of the fixtures that open (far enough for the layer,
/// which uses the real clock).
pub const FAR_FUTURE_UNIX: i64 = 4_102_444_800;
/// 2000-01-01T00:00:00Z: the expiry of the expired fixture.
pub const PAST_UNIX: i64 = 946_684_800;

/// In `cookie_header` inputs, `@` followed by a digit `d` stands for the value of
/// `fixtures()[d % fixtures().len()]`.
pub const PLACEHOLDER: u8 = b'@';
/// At most this many placeholders are expanded per header (the rest stay literal), so
/// that the expanded headers stay far below the layer's 64 KiB inspection budget.
pub const MAX_EXPANSIONS_PER_HEADER: usize = 8;
/// At most this many `Cookie` headers per `cookie_header` input.
pub const MAX_HEADERS: usize = 8;
/// The layer tries at most this many cookies named like the session cookie
/// (`service::MAX_CANDIDATES`).
pub const MAX_CANDIDATES: usize = 4;

/// Which key a fixture is sealed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealer {
    /// The ring's first key.
    Primary,
    /// The ring's older key.
    Older,
    /// A key not in the ring.
    Foreign,
}

/// One cookie sealed with a fixed nonce.
#[derive(Debug)]
pub struct Fixture {
    /// The cookie name it was sealed for.
    pub name: &'static str,
    /// The key it was sealed under.
    pub sealer: Sealer,
    /// What it carries.
    pub sealed: SealedRecord,
    /// The cookie value.
    pub value: String,
}

impl Fixture {
    /// Whether [`ring()`] opens it as cookie `name` at `now`.
    pub fn opens(&self, name: &str, now: OffsetDateTime) -> bool {
        self.name == name && self.sealer != Sealer::Foreign && self.sealed.record.expiry_date > now
    }
}

/// A unix timestamp as a date (panics outside `time`'s range: constants only).
pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("timestamp in range")
}

/// [`NOW_UNIX`] as a date.
pub fn now() -> OffsetDateTime {
    at(NOW_UNIX)
}

fn key(bytes: &[u8; 32]) -> Key {
    Key::try_from(&bytes[..]).expect("32-byte key")
}

/// The ring every target opens with: [`PRIMARY_KEY`], then [`OLDER_KEY`].
pub fn ring() -> &'static Arc<KeyRing> {
    static RING: OnceLock<Arc<KeyRing>> = OnceLock::new();
    RING.get_or_init(|| {
        Arc::new(KeyRing::new(vec![key(PRIMARY_KEY), key(OLDER_KEY)]).expect("valid ring"))
    })
}

fn record(id: i128, data: Value, expiry_unix: i64) -> SealedRecord {
    let Value::Object(map) = data else {
        panic!("fixture data must be an object")
    };
    SealedRecord {
        record: Record {
            id: Id(id),
            data: map.into_iter().collect::<HashMap<_, _>>(),
            expiry_date: at(expiry_unix),
        },
        created_at: at(CREATED_UNIX),
    }
}

/// The fixture cookies. Indexes 0–3 open as [`COOKIE_NAME`] (index 2 under the older
/// key); 4 is expired, 5 is sealed for [`OTHER_NAME`], 6 under [`FOREIGN_KEY`].
pub fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let older = KeyRing::new(vec![key(OLDER_KEY)]).expect("valid ring");
        let foreign = KeyRing::new(vec![key(FOREIGN_KEY)]).expect("valid ring");
        let long_text = "fuzz ".repeat(120);
        let table = [
            (
                COOKIE_NAME,
                Sealer::Primary,
                record(1, json!({}), FAR_FUTURE_UNIX),
            ),
            (
                COOKIE_NAME,
                Sealer::Primary,
                record(2, json!({ "foo": 1 }), FAR_FUTURE_UNIX),
            ),
            (
                COOKIE_NAME,
                Sealer::Older,
                record(
                    -3,
                    json!({
                        "foo": "bar",
                        "n": null, "t": true, "neg": -7, "f": 1.5,
                        "nested": { "a": [1, [2, { "b": [] }], {}], "ключ": "значение" }
                    }),
                    FAR_FUTURE_UNIX,
                ),
            ),
            (
                COOKIE_NAME,
                Sealer::Primary,
                record(
                    i128::MAX,
                    json!({ "foo": [long_text], "user": 42 }),
                    FAR_FUTURE_UNIX,
                ),
            ),
            (
                COOKIE_NAME,
                Sealer::Primary,
                record(5, json!({ "foo": "expired" }), PAST_UNIX),
            ),
            (
                OTHER_NAME,
                Sealer::Primary,
                record(6, json!({ "foo": "other" }), FAR_FUTURE_UNIX),
            ),
            (
                COOKIE_NAME,
                Sealer::Foreign,
                record(7, json!({ "foo": "foreign" }), FAR_FUTURE_UNIX),
            ),
        ];
        table
            .into_iter()
            .enumerate()
            .map(|(index, (name, sealer, sealed))| {
                let by = match sealer {
                    Sealer::Primary => &**ring(),
                    Sealer::Older => &older,
                    Sealer::Foreign => &foreign,
                };
                let nonce = [u8::try_from(index).expect("small index") + 1; 24];
                let value = by
                    .dangerous_seal_with_nonce(name, &sealed, nonce)
                    .expect("fixture seals");
                Fixture {
                    name,
                    sealer,
                    sealed,
                    value,
                }
            })
            .collect()
    })
}

/// A decoded `cookie_header` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInput {
    /// Whether the request goes to the route that inserts `foo` (else the read-only one).
    pub insert: bool,
    /// Raw `Cookie` header values, placeholders expanded (not necessarily valid header
    /// values: the caller skips those `HeaderValue::from_bytes` refuses).
    pub headers: Vec<Vec<u8>>,
}

/// Decodes a `cookie_header` input: an optional leading `+` selects the inserting route;
/// the rest is split at `\n` into at most [`MAX_HEADERS`] header values (a `\n` can never
/// be part of one); in each, `@<digit>` is replaced by a fixture cookie value.
pub fn parse_header_input(data: &[u8]) -> HeaderInput {
    let (insert, rest) = match data.split_first() {
        Some((b'+', rest)) => (true, rest),
        _ => (false, data),
    };
    let fixtures = fixtures();
    let headers = rest
        .split(|b| *b == b'\n')
        .take(MAX_HEADERS)
        .map(|raw| {
            let mut out = Vec::with_capacity(raw.len());
            let mut expansions = 0;
            let mut i = 0;
            while let Some(&b) = raw.get(i) {
                match raw.get(i + 1) {
                    Some(d)
                        if b == PLACEHOLDER
                            && d.is_ascii_digit()
                            && expansions < MAX_EXPANSIONS_PER_HEADER =>
                    {
                        let fixture = &fixtures[usize::from(d - b'0') % fixtures.len()];
                        out.extend_from_slice(fixture.value.as_bytes());
                        expansions += 1;
                        i += 2;
                    }
                    _ => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            out
        })
        .collect();
    HeaderInput { insert, headers }
}

/// What the layer should make of a request's `Cookie` headers (given in order, already
/// accepted as header values), by the documented rules: cookies named [`COOKIE_NAME`] are
/// tried in order, at most [`MAX_CANDIDATES`] of them; those that open at `now` are
/// authentic; one authentic id → that session; several different ids → none.
///
/// Returns the expected record (the first authentic one), and the distinct ids of all
/// authentic cookies that were tried. Assumes the headers are under the layer's header-count and byte budgets
/// (inputs of this target are).
pub fn expected_session(
    headers: &[&[u8]],
    now: OffsetDateTime,
) -> (Option<SealedRecord>, Vec<i128>) {
    let mut candidates = 0;
    let mut authentic: Vec<SealedRecord> = Vec::new();
    'headers: for header in headers {
        for (name, value) in rfc6265_pairs(header) {
            if name != COOKIE_NAME.as_bytes() {
                continue;
            }
            candidates += 1;
            if candidates > MAX_CANDIDATES {
                break 'headers;
            }
            let value = String::from_utf8_lossy(&value);
            if let Some(sealed) = ring().open_at(COOKIE_NAME, &value, now) {
                authentic.push(sealed);
            }
        }
    }
    let mut ids: Vec<i128> = authentic.iter().map(|s| s.record.id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let session = match ids.len() {
        1 => authentic.into_iter().next(),
        _ => None,
    };
    (session, ids)
}

/// The `name=value` pairs of one `Cookie` header as RFC 6265 §5.2/§4.2.1 defines them:
/// split at `;`, then at the first `=`; only SP and HTAB are trimmed (not Unicode
/// whitespace). A deliberately simple, independent model of the layer's scanner.
pub fn rfc6265_pairs(header: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let wsp = |b: &u8| *b == b' ' || *b == b'\t';
    let trim = |s: &[u8]| -> Vec<u8> {
        let start = s.iter().position(|b| !wsp(b)).unwrap_or(s.len());
        let end = s.iter().rposition(|b| !wsp(b)).map_or(start, |i| i + 1);
        s[start..end.max(start)].to_vec()
    };
    header
        .split(|b| *b == b';')
        .filter_map(|pair| {
            let eq = pair.iter().position(|b| *b == b'=')?;
            Some((trim(&pair[..eq]), trim(&pair[eq + 1..])))
        })
        .collect()
}

/// The ids of the fixtures that open as [`COOKIE_NAME`] at `now`.
pub fn valid_ids(now: OffsetDateTime) -> Vec<i128> {
    fixtures()
        .iter()
        .filter(|f| f.opens(COOKIE_NAME, now))
        .map(|f| f.sealed.record.id.0)
        .collect()
}

/// The session as the handler saw it: `<id or -> <foo or ->`.
pub async fn describe(session: &Session) -> String {
    let id = session
        .id()
        .map_or_else(|| "-".to_owned(), |id| id.0.to_string());
    let value = session
        .get_value("foo")
        .await
        .expect("the store never fails");
    format!(
        "{id} {}",
        value.map_or_else(|| "-".to_owned(), |v| v.to_string())
    )
}

/// The app the `cookie_header` target drives: `/read` answers [`describe`], `/insert` does
/// too and then inserts `foo = 42`; behind `SessionManagerLayer` with [`ring()`].
pub fn test_app() -> Router {
    Router::new()
        .route(
            "/read",
            get(|session: Session| async move { describe(&session).await }),
        )
        .route(
            "/insert",
            get(|session: Session| async move {
                let before = describe(&session).await;
                session
                    .insert("foo", 42)
                    .await
                    .expect("the store never fails");
                before
            }),
        )
        .layer(SessionManagerLayer::new(Arc::clone(ring())))
}
