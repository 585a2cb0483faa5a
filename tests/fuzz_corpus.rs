//! Replays the committed fuzz corpus (`fuzz/corpus/`) under plain `cargo test`, without
//! libFuzzer: every `open_cookie` input through [`KeyRing::open_at`], every `cookie_header`
//! input as a request through the layer, with the fuzz targets' assertions (simplified).
//! Regression inputs saved into those folders are covered the same way.
//!
//! The fixtures (keys, input format) mirror `fuzz/src/lib.rs`. The packaged crate has no
//! `fuzz/` folder; these tests then do nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use tower::ServiceExt as _;
use tower_sessions_sealed::{Key, KeyRing, MAX_SET_COOKIE_LEN, Session, SessionManagerLayer};

/// The fuzz fixtures' keys (`fuzz/src/lib.rs`): public test keys.
const PRIMARY_KEY: &[u8; 32] = b"fuzz-primary-key-0123456789abcde";
const OLDER_KEY: &[u8; 32] = b"fuzz-older-key---0123456789abcde";
/// The `open_cookie` target's fixed "now", 2026-01-01T00:00:00Z.
const NOW_UNIX: i64 = 1_767_225_600;
/// Fixtures `fixture-0` … `fixture-3` open as `id`; 4 (expired), 5 (sealed for `other`)
/// and 6 (foreign key) do not.
const FIXTURES: usize = 7;
const OPENING_FIXTURES: usize = 4;
/// `cookie_header` input format limits, and the layer's candidate cap.
const MAX_HEADERS: usize = 8;
const MAX_EXPANSIONS_PER_HEADER: usize = 8;
const MAX_CANDIDATES: usize = 4;

fn ring() -> KeyRing {
    let key = |bytes: &[u8; 32]| Key::try_from(&bytes[..]).unwrap();
    KeyRing::new(vec![key(PRIMARY_KEY), key(OLDER_KEY)]).unwrap()
}

/// The files of `fuzz/corpus/<target>`, sorted by name; `None` without a `fuzz/` folder.
fn corpus(target: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    if !fuzz.is_dir() {
        eprintln!("no fuzz/ folder (packaged crate?): corpus not replayed");
        return None;
    }
    let dir: PathBuf = fuzz.join("corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    Some(files)
}

/// The fixture cookie values, from `fuzz/corpus/open_cookie/fixture-<n>`.
fn fixtures(files: &[(String, Vec<u8>)]) -> Vec<String> {
    (0..FIXTURES)
        .map(|n| {
            let name = format!("fixture-{n}");
            let (_, bytes) = files
                .iter()
                .find(|(file, _)| *file == name)
                .unwrap_or_else(|| panic!("open_cookie corpus lacks {name}"));
            String::from_utf8(bytes.clone()).unwrap()
        })
        .collect()
}

#[test]
fn open_cookie_corpus() {
    let Some(files) = corpus("open_cookie") else {
        return;
    };
    let ring = ring();
    let now = OffsetDateTime::from_unix_timestamp(NOW_UNIX).unwrap();
    let fixtures = fixtures(&files);
    for (n, value) in fixtures.iter().enumerate() {
        assert_eq!(
            ring.open_at("id", value, now).is_some(),
            n < OPENING_FIXTURES,
            "fixture-{n}: stale corpus? Regenerate it (fuzz/README.md)"
        );
    }
    for (file, bytes) in &files {
        let lossy = String::from_utf8_lossy(bytes).into_owned();
        for value in [lossy, URL_SAFE_NO_PAD.encode(bytes)] {
            for name in ["id", "other"] {
                let Some(opened) = ring.open_at(name, &value, now) else {
                    continue;
                };
                assert!(
                    fixtures.contains(&value),
                    "{file}: a non-fixture value opened as {name:?}"
                );
                let resealed = ring.seal(name, &opened).unwrap();
                let reopened = ring.open_at(name, &resealed, now).unwrap();
                assert!(reopened == opened, "{file}: re-sealed record differs");
            }
        }
    }
}

/// The `cookie_header` input format: optional leading `+` (inserting route), header
/// values separated by `\n`, `@<digit>` replaced by a fixture cookie value.
fn parse_header_input(data: &[u8], fixtures: &[String]) -> (bool, Vec<Vec<u8>>) {
    let (insert, rest) = match data.split_first() {
        Some((b'+', rest)) => (true, rest),
        _ => (false, data),
    };
    let headers = rest
        .split(|b| *b == b'\n')
        .take(MAX_HEADERS)
        .map(|raw| {
            let mut out = Vec::new();
            let mut expansions = 0;
            let mut i = 0;
            while let Some(&b) = raw.get(i) {
                match raw.get(i + 1) {
                    Some(d)
                        if b == b'@'
                            && d.is_ascii_digit()
                            && expansions < MAX_EXPANSIONS_PER_HEADER =>
                    {
                        let fixture = &fixtures[usize::from(d - b'0') % fixtures.len()];
                        out.extend_from_slice(fixture.as_bytes());
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
    (insert, headers)
}

async fn describe(session: &Session) -> String {
    let id = session
        .id()
        .map_or_else(|| "-".to_owned(), |id| id.0.to_string());
    let value = session.get_value("foo").await.unwrap();
    format!(
        "{id} {}",
        value.map_or_else(|| "-".to_owned(), |v| v.to_string())
    )
}

#[tokio::test]
async fn cookie_header_corpus() {
    let (Some(files), Some(cookie_files)) = (corpus("open_cookie"), corpus("cookie_header")) else {
        return;
    };
    let fixtures = fixtures(&files);
    let ring = Arc::new(ring());
    let app = Router::new()
        .route(
            "/read",
            get(|session: Session| async move { describe(&session).await }),
        )
        .route(
            "/insert",
            get(|session: Session| async move {
                let before = describe(&session).await;
                session.insert("foo", 42).await.unwrap();
                before
            }),
        )
        .layer(SessionManagerLayer::new(Arc::clone(&ring)));

    for (file, bytes) in &cookie_files {
        let (insert, headers) = parse_header_input(bytes, &fixtures);
        let mut request = Request::builder().uri(if insert { "/insert" } else { "/read" });
        let mut sent = Vec::new();
        for raw in &headers {
            if let Ok(value) = HeaderValue::from_bytes(raw) {
                request = request.header(header::COOKIE, value);
                sent.push(raw);
            }
        }
        let now = OffsetDateTime::now_utc();

        // The authentic ids among the first MAX_CANDIDATES cookies named `id`.
        let mut ids = Vec::new();
        let mut candidates = 0;
        'headers: for raw in &sent {
            // RFC 6265: split at `;` and the first `=`, trim only SP and HTAB.
            for pair in raw.split(|b| *b == b';') {
                let Some(eq) = pair.iter().position(|b| *b == b'=') else {
                    continue;
                };
                let wsp: &[char] = &[' ', '\t'];
                let name = String::from_utf8_lossy(&pair[..eq]);
                if name.trim_matches(wsp) != "id" {
                    continue;
                }
                candidates += 1;
                if candidates > MAX_CANDIDATES {
                    break 'headers;
                }
                let value = String::from_utf8_lossy(&pair[eq + 1..]);
                if let Some(sealed) = ring.open_at("id", value.trim_matches(wsp), now) {
                    ids.push(sealed.record.id.0.to_string());
                }
            }
        }
        ids.sort();
        ids.dedup();

        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        for set_cookie in response.headers().get_all(header::SET_COOKIE) {
            assert!(set_cookie.len() <= MAX_SET_COOKIE_LEN, "{file}");
        }
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        let (seen_id, _foo) = body.split_once(' ').unwrap();
        match ids.as_slice() {
            [one] => assert_eq!(seen_id, one, "{file}"),
            _ => assert_eq!(seen_id, "-", "{file}: authentic ids {ids:?}"),
        }
    }
}
