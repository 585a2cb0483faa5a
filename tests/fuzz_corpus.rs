//! Replays the committed fuzz corpus (`fuzz/corpus/`) under plain `cargo test`, without
//! libFuzzer: every `open_cookie` input through [`KeyRing::open_at`], every `cookie_header`
//! input as a request through the layer, checked against the same model the fuzz targets
//! use (`fuzz/src/lib.rs`, included below). Regression inputs saved into those folders are
//! covered the same way.
//!
//! This file is left out of the published package, like `fuzz/`.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code, unreachable_pub)]
mod model;

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use tower::ServiceExt as _;
use tower_sessions_sealed::{KeyRing, MAX_SET_COOKIE_LEN};

use model::{COOKIE_NAME, OTHER_NAME, expected_session, fixtures, parse_header_input, ring};

/// The files of `fuzz/corpus/<target>`, sorted by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
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
    files
}

#[test]
fn open_cookie_corpus() {
    let files = corpus("open_cookie");
    let ring: &KeyRing = ring();
    let now = model::now();
    // The committed fixture files are the model's fixtures, byte for byte.
    for (n, fixture) in fixtures().iter().enumerate() {
        let name = format!("fixture-{n}");
        let (_, bytes) = files
            .iter()
            .find(|(file, _)| *file == name)
            .unwrap_or_else(|| panic!("open_cookie corpus lacks {name}"));
        assert_eq!(
            bytes,
            fixture.value.as_bytes(),
            "{name}: stale corpus? Regenerate it (fuzz/README.md)"
        );
    }
    for (file, bytes) in &files {
        let lossy = String::from_utf8_lossy(bytes).into_owned();
        for value in [lossy, URL_SAFE_NO_PAD.encode(bytes)] {
            for name in [COOKIE_NAME, OTHER_NAME] {
                let opened = ring.open_at(name, &value, now);
                let fixture = fixtures().iter().find(|f| f.value == value);
                match (opened, fixture) {
                    (None, Some(fixture)) => {
                        assert!(!fixture.opens(name, now), "{file}: a fixture did not open");
                    }
                    (None, None) => {}
                    (Some(_), None) => panic!("{file}: a non-fixture value opened as {name:?}"),
                    (Some(opened), Some(fixture)) => {
                        assert!(fixture.opens(name, now), "{file}: opened as {name:?}");
                        assert!(opened == fixture.sealed, "{file}: opened record differs");
                        let resealed = ring.seal(name, &opened).unwrap();
                        let reopened = ring.open_at(name, &resealed, now).unwrap();
                        assert!(reopened == opened, "{file}: re-sealed record differs");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn cookie_header_corpus() {
    let app = model::test_app();
    for (file, bytes) in &corpus("cookie_header") {
        let input = parse_header_input(bytes);
        let mut request = Request::builder().uri(if input.insert { "/insert" } else { "/read" });
        let mut sent: Vec<&[u8]> = Vec::new();
        for raw in &input.headers {
            if let Ok(value) = HeaderValue::from_bytes(raw) {
                request = request.header(header::COOKIE, value);
                sent.push(raw);
            }
        }
        let (expected, authentic_ids) = expected_session(&sent, OffsetDateTime::now_utc());

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
        match expected {
            Some(sealed) => assert_eq!(seen_id, sealed.record.id.0.to_string(), "{file}"),
            None => assert_eq!(seen_id, "-", "{file}: authentic ids {authentic_ids:?}"),
        }
    }
}
