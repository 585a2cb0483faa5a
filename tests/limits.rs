//! Known limits, enforced: no `Set-Cookie` over the budget (3072 bytes by default, never
//! over 4096) is ever emitted, an explicit `save()` reports the size and the limit, and
//! racing requests both succeed (last `Set-Cookie` wins).

mod common;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use tower_sessions_sealed::{
    DEFAULT_COOKIE_BUDGET, KeyRing, MAX_SET_COOKIE_LEN, Session, SessionManagerLayer,
};

use common::*;

fn app() -> Router {
    app_with(SessionManagerLayer::new(KeyRing::generate()))
}

fn app_with(layer: SessionManagerLayer) -> Router {
    routes()
        .route(
            "/big/{n}",
            get(|session: Session, Path(n): Path<usize>| async move {
                session.insert("big", "x".repeat(n)).await.unwrap();
            }),
        )
        .route(
            "/explicit_save/{n}",
            get(|session: Session, Path(n): Path<usize>| async move {
                session.insert("small", 1).await.unwrap();
                session.insert("big", "x".repeat(n)).await.unwrap();
                match session.save().await {
                    Ok(()) => "saved".to_owned(),
                    Err(err) => {
                        // The handler can react: drop the big value and carry on.
                        session.remove_value("big").await.unwrap();
                        format!("not saved: {err}")
                    }
                }
            }),
        )
        .layer(layer)
}

#[tokio::test]
async fn oversize_sessions_answer_500_and_keep_the_previous_cookie() {
    let app = app();
    let cookie = set_cookie(&get_with(&app, "/insert", None).await).unwrap();
    let response = get_with(&app, "/big/5000", Some(&pair(&cookie))).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookies(&response).is_empty(),
        "the client keeps its previous cookie"
    );
    let body = body_string(response).await;
    assert!(body.len() < 100 && body.contains("session"), "{body:?}");
    // The previous cookie is untouched and still works.
    let response = get_with(&app, "/get", Some(&pair(&cookie))).await;
    assert_eq!(body_string(response).await, "42");
}

#[tokio::test]
async fn the_largest_session_that_fits_uses_the_budget_and_no_more() {
    assert_eq!(DEFAULT_COOKIE_BUDGET, 3072);
    let small = largest_fit(app(), DEFAULT_COOKIE_BUDGET).await;
    assert!(
        small > 2100,
        "about 2 KB of data fits the default budget, got {small}"
    );
    let full = largest_fit(
        app_with(SessionManagerLayer::new(KeyRing::generate()).with_cookie_budget(4096)),
        MAX_SET_COOKIE_LEN,
    )
    .await;
    assert!(
        full > 2900,
        "about 3 KB of data fits in 4096 bytes, got {full}"
    );
}

/// The largest `big` value that `app` carries in one cookie, checking that its
/// `Set-Cookie` is within `limit` bytes and close to it, and that one byte more fails.
async fn largest_fit(app: Router, limit: usize) -> usize {
    let fits = |n: usize| {
        let app = app.clone();
        async move { get_with(&app, &format!("/big/{n}"), None).await }
    };
    let (mut lo, mut hi) = (0, 4096);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if fits(mid).await.status() == StatusCode::OK {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let ok = fits(lo).await;
    let header = ok.headers()["set-cookie"].as_bytes().len();
    assert!(header <= limit, "{header}");
    assert!(
        header > limit - 8,
        "{header}: the limit is used, not undershot"
    );
    assert_eq!(
        fits(lo + 1).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    lo
}

#[tokio::test]
async fn explicit_save_reports_the_size_and_the_limit() {
    let app = app();
    let response = get_with(&app, "/explicit_save/6000", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response).expect("the reduced session is saved");
    let body = body_string(response).await;
    assert!(body.starts_with("not saved: "), "{body}");
    assert!(body.contains("3072-byte limit"), "{body}");
    let size: usize = body
        .split_whitespace()
        .find_map(|word| word.parse().ok())
        .expect("the message names the size");
    assert!(size > 3072, "{body}");
    let response = get_with(&app, "/get_value", Some(&pair(&cookie))).await;
    assert_eq!(body_string(response).await, "None");

    let response = get_with(&app, "/explicit_save/10", None).await;
    assert!(set_cookie(&response).is_some());
    assert_eq!(body_string(response).await, "saved");
}

/// Two requests racing on one cookie both succeed; each answers from the state the cookie
/// carried, and whichever `Set-Cookie` the browser stores last wins (the other increment
/// is lost). This is the documented limit of any cookie-carried session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_both_succeed_and_the_last_cookie_wins() {
    let app = app();
    let first = get_with(&app, "/counter", None).await;
    let jar = pair(&set_cookie(&first).unwrap());
    let (a, b) = tokio::join!(
        get_with(&app, "/counter", Some(&jar)),
        get_with(&app, "/counter", Some(&jar))
    );
    let (cookie_a, cookie_b) = (set_cookie(&a).unwrap(), set_cookie(&b).unwrap());
    assert_eq!(body_string(a).await, "2");
    assert_eq!(body_string(b).await, "2");
    for cookie in [cookie_a, cookie_b] {
        let response = get_with(&app, "/counter", Some(&pair(&cookie))).await;
        assert_eq!(body_string(response).await, "3");
    }
}

/// Operators hear about sessions close to the budget once, with the size, before users hit
/// the limit.
#[tokio::test]
async fn sessions_near_the_budget_are_logged_once() {
    let app = app();
    let captured = Captured::default();
    {
        let _guard = captured.install();
        for _ in 0..3 {
            let response = get_with(&app, "/big/2100", None).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        get_with(&app, "/big/100", None).await;
    }
    let log = captured.text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("within 10% of the 3072-byte budget"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    let size: usize = warnings[0]
        .split_whitespace()
        .find_map(|word| word.strip_prefix("size=").and_then(|n| n.parse().ok()))
        .expect("the size is logged");
    assert!((2765..=3072).contains(&size), "{size}");
}
