//! Reassembly of chunked session cookies (`with_chunks`), whole requests through the
//! layer, against a reference model.
//!
//! Three sessions are written once per process through a layer with `with_chunks(3)`:
//! A (three cookies: `id`, `id.1`, `id.2`), B (two) and C (one). Each input byte then adds
//! one cookie to the request's `Cookie` header, in input order:
//!
//! ```text
//! bits 7-6  which: 0 = A, 1 = B, 2 = C, 3 = junk
//! bits 5-4  part: 0 = the base cookie `id`, 1..=3 = chunk `id.N` (junk: the name)
//! bit 3     flip one character of the value
//! bits 2-0  where to flip
//! ```
//!
//! A part a session does not have, or junk, is a cookie with an arbitrary value. The model
//! (the documented rules): the first four `id` cookies are candidates; a candidate with a
//! `.` is chunked, its count digit says how many parts, and chunk `N` is the first `id.N`
//! cookie; a candidate opens exactly when its (reassembled) value is one that was sealed;
//! two candidates opening to different sessions cancel out. Checked: no panic, status 200,
//! the handler sees exactly the model's session (never a mix), and every `Set-Cookie` is
//! within the 3072-byte budget.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tower_sessions_sealed::{DEFAULT_COOKIE_BUDGET, Session, SessionManagerLayer};
use tower_sessions_sealed_fuzz::{ring, rfc6265_pairs};

/// Blob sizes of sessions A, B and C: three, two and one cookie.
const SIZES: [usize; 3] = [5000, 3000, 100];
const CHUNKS: usize = 3;
const CANDIDATES: usize = 4;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| {
        Router::new()
            .route(
                "/put/{n}",
                get(|session: Session, Path(n): Path<usize>| async move {
                    session.insert("blob", "x".repeat(n)).await.expect("insert");
                }),
            )
            .route(
                "/get",
                get(|session: Session| async move {
                    let blob: Option<String> = session.get("blob").await.ok().flatten();
                    blob.map_or(0, |b| b.len()).to_string()
                }),
            )
            .layer(SessionManagerLayer::new(ring().clone()).with_chunks(CHUNKS))
    })
}

/// The cookies of sessions A, B and C, as (name, value) in part order.
fn written() -> &'static [Vec<(String, String)>; 3] {
    static WRITTEN: OnceLock<[Vec<(String, String)>; 3]> = OnceLock::new();
    WRITTEN.get_or_init(|| {
        SIZES.map(|size| {
            runtime().block_on(async {
                let request = Request::get(format!("/put/{size}"))
                    .body(Body::empty())
                    .expect("request");
                let response = app().clone().oneshot(request).await.expect("infallible");
                response
                    .headers()
                    .get_all(SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter(|v| !v.contains("Max-Age=0"))
                    .filter_map(|v| {
                        let pair = v.split(';').next()?;
                        let (name, value) = pair.split_once('=')?;
                        Some((name.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
        })
    })
}

/// The reassembled values that open, each with its session's blob size.
fn sealed_values() -> Vec<(String, usize)> {
    written()
        .iter()
        .zip(SIZES)
        .map(|(cookies, size)| {
            let mut value = String::new();
            for (index, (_, part)) in cookies.iter().enumerate() {
                let part = if index == 0 && cookies.len() > 1 {
                    part.split_once('.').map_or(part.as_str(), |(_, rest)| rest)
                } else {
                    part
                };
                value.push_str(part);
            }
            (value, size)
        })
        .collect()
}

/// The blob size the documented rules give for this `Cookie` header (0: a fresh session).
fn model(header: &[u8]) -> usize {
    let pairs = rfc6265_pairs(header);
    let mut parts: [Option<&[u8]>; CHUNKS] = [None; CHUNKS];
    let mut bases: Vec<&[u8]> = Vec::new();
    for (name, value) in &pairs {
        if name == b"id" {
            if bases.len() == CANDIDATES {
                // The fifth candidate ends the scan, chunks after it included.
                break;
            }
            bases.push(value);
        } else if let Some(index) = name
            .strip_prefix(b"id.")
            .and_then(|rest| std::str::from_utf8(rest).ok())
            .and_then(|rest| rest.parse::<usize>().ok())
            .filter(|index| (1..CHUNKS).contains(index) && name.len() == 4)
            && parts[index].is_none()
        {
            parts[index] = Some(value);
        }
    }
    let sealed = sealed_values();
    let mut opened: Option<usize> = None;
    for base in bases {
        let value: Option<Vec<u8>> = match base.iter().position(|b| *b == b'.') {
            None => Some(base.to_vec()),
            Some(dot) => {
                let count = match &base[..dot] {
                    [digit @ b'2'..=b'9'] => usize::from(digit - b'0'),
                    _ => 0,
                };
                if (2..=CHUNKS).contains(&count) && parts[1..count].iter().all(Option::is_some) {
                    let mut value = base[dot + 1..].to_vec();
                    for part in &parts[1..count] {
                        value.extend_from_slice(part.unwrap_or_default());
                    }
                    Some(value)
                } else {
                    None
                }
            }
        };
        let Some(size) = value.and_then(|value| {
            sealed
                .iter()
                .find(|(sealed, _)| sealed.as_bytes() == value.as_slice())
                .map(|(_, size)| *size)
        }) else {
            continue;
        };
        match opened {
            None => opened = Some(size),
            Some(first) if first == size => {}
            Some(_) => return 0,
        }
    }
    opened.unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let written = written();
    let mut cookies = Vec::new();
    for &byte in data.iter().take(16) {
        let which = usize::from(byte >> 6);
        let part = usize::from((byte >> 4) & 3);
        let name = if part == 0 {
            "id".to_owned()
        } else {
            format!("id.{part}")
        };
        let mut value = match written.get(which).and_then(|w| w.get(part)) {
            Some((_, value)) => value.clone(),
            None => format!("junk{byte:02x}"),
        };
        if byte & 8 != 0 && !value.is_empty() {
            let at = usize::from(byte & 7) * 37 % value.len();
            let flipped = if value.as_bytes()[at] == b'A' { "B" } else { "A" };
            value.replace_range(at..=at, flipped);
        }
        cookies.push(format!("{name}={value}"));
    }
    let header = cookies.join("; ");
    let expected = model(header.as_bytes());

    let (status, set_cookies, body) = runtime().block_on(async {
        let mut request = Request::get("/get");
        if !header.is_empty() {
            request = request.header(COOKIE, header.as_str());
        }
        let response = app()
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let set_cookies: Vec<usize> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.as_bytes().len())
            .collect();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, set_cookies, body)
    });
    assert_eq!(status, StatusCode::OK);
    let seen: usize = std::str::from_utf8(&body)
        .expect("UTF-8")
        .parse()
        .expect("a number");
    assert_eq!(seen, expected, "cookie header: {header}");
    for len in set_cookies {
        assert!(len <= DEFAULT_COOKIE_BUDGET, "a Set-Cookie of {len} bytes");
    }
});
