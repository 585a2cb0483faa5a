//! Expiry: the sealed expiry decides, Max-Age is a hint that is never negative, sliding
//! `OnInactivity` renewals, the absolute lifetime cap, and the `OnSessionEnd` lifetime.
//!
//! Cookies "from the past" are made with the public sealing API under the layer's own keys,
//! so no test waits for a clock.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use time::{Duration, OffsetDateTime};
use tower_sessions_sealed::{Expiry, Id, KeyRing, Record, SealedRecord, SessionManagerLayer};

use common::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn app(
    keys: &Arc<KeyRing>,
    configure: impl FnOnce(SessionManagerLayer) -> SessionManagerLayer,
) -> Router {
    routes().layer(configure(SessionManagerLayer::new(Arc::clone(keys))))
}

/// A cookie value as the layer would have sealed it: id 7, `foo = 42`.
fn sealed_cookie(
    keys: &KeyRing,
    expiry_date: OffsetDateTime,
    created_at: OffsetDateTime,
) -> String {
    let mut data = HashMap::new();
    data.insert("foo".to_owned(), serde_json::json!(42));
    let record = SealedRecord {
        record: Record {
            id: Id(7),
            data,
            expiry_date,
        },
        created_at,
    };
    format!("id={}", keys.seal("id", &record).unwrap())
}

fn opened(keys: &KeyRing, response: &axum::http::Response<axum::body::Body>) -> SealedRecord {
    let cookie = set_cookie(response).expect("a Set-Cookie");
    keys.open("id", cookie.value())
        .expect("the Set-Cookie opens")
}

fn close_to(actual: OffsetDateTime, expected: OffsetDateTime) -> bool {
    (actual - expected).abs() <= Duration::seconds(2)
}

#[tokio::test]
async fn on_session_end_has_no_max_age_but_a_sealed_two_week_expiry() {
    let keys = Arc::new(KeyRing::generate());
    for layer_expiry in [None, Some(Expiry::OnSessionEnd)] {
        let app = app(&keys, |l| match layer_expiry {
            Some(expiry) => l.with_expiry(expiry),
            None => l,
        });
        let response = get_with(&app, "/insert", None).await;
        assert_eq!(set_cookie(&response).unwrap().max_age(), None);
        let sealed = opened(&keys, &response);
        assert!(close_to(
            sealed.record.expiry_date,
            now() + Duration::weeks(2)
        ));
    }
    let app = app(&keys, |l| l.with_session_end_lifetime(Duration::hours(3)));
    let sealed = opened(&keys, &get_with(&app, "/insert", None).await);
    assert!(close_to(
        sealed.record.expiry_date,
        now() + Duration::hours(3)
    ));
}

#[tokio::test]
async fn a_session_past_its_sealed_expiry_is_fresh_and_removed() {
    let keys = Arc::new(KeyRing::generate());
    let app = app(&keys, |l| {
        l.with_expiry(Expiry::OnInactivity(Duration::hours(1)))
    });
    let cookie = sealed_cookie(
        &keys,
        now() - Duration::seconds(1),
        now() - Duration::hours(2),
    );
    let response = get_with(&app, "/get_value", Some(&cookie)).await;
    assert!(set_cookie(&response).is_some_and(|c| is_removal(&c)));
    assert_eq!(body_string(response).await, "None");
    // Even if the browser ignored Max-Age: the cookie's Max-Age is only a hint.
    let response = get_with(&app, "/id", Some(&cookie)).await;
    assert_eq!(body_string(response).await, "None");
}

#[tokio::test]
async fn on_inactivity_slides_once_a_share_of_the_window_has_passed() {
    let keys = Arc::new(KeyRing::generate());
    let window = Duration::hours(1);
    let app = app(&keys, |l| l.with_expiry(Expiry::OnInactivity(window)));

    // Sealed 5 minutes ago: less than the default quarter of the window, no re-issue.
    let fresh = sealed_cookie(&keys, now() + window - Duration::minutes(5), now());
    let response = get_with(&app, "/get", Some(&fresh)).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(body_string(response).await, "42");

    // Sealed 20 minutes ago: a read counts as activity and the cookie is re-issued.
    let stale = sealed_cookie(&keys, now() + window - Duration::minutes(20), now());
    let response = get_with(&app, "/get", Some(&stale)).await;
    let cookie = set_cookie(&response).expect("re-issued on activity");
    let secs = cookie.max_age().unwrap().whole_seconds();
    assert!((3599..=3601).contains(&secs), "{secs}");
    let sealed = opened(&keys, &response);
    assert!(close_to(sealed.record.expiry_date, now() + window));
    assert_eq!(sealed.record.id, Id(7));
    assert_eq!(sealed.record.data["foo"], 42);

    // Also on a route that does not touch the session.
    let response = get_with(&app, "/", Some(&stale)).await;
    assert!(set_cookie(&response).is_some());
}

#[tokio::test]
async fn the_refresh_share_is_configurable() {
    let keys = Arc::new(KeyRing::generate());
    let window = Duration::hours(1);
    let cookie = sealed_cookie(&keys, now() + window - Duration::minutes(20), now());
    let lazy = app(&keys, |l| {
        l.with_expiry(Expiry::OnInactivity(window))
            .with_refresh_after(0.5)
    });
    assert!(set_cookies(&get_with(&lazy, "/get", Some(&cookie)).await).is_empty());
    let eager = app(&keys, |l| {
        l.with_expiry(Expiry::OnInactivity(window))
            .with_refresh_after(0.0)
    });
    let recent = sealed_cookie(&keys, now() + window - Duration::seconds(5), now());
    assert!(set_cookie(&get_with(&eager, "/get", Some(&recent)).await).is_some());
}

#[tokio::test]
async fn the_absolute_lifetime_holds_across_renewals() {
    let keys = Arc::new(KeyRing::generate());
    let app = app(&keys, |l| {
        l.with_expiry(Expiry::OnInactivity(Duration::hours(8)))
            .with_max_lifetime(Duration::days(1))
    });

    // Issued 23 h 30 min ago: a write re-seals, but not beyond the lifetime.
    let created = now() - Duration::hours(23) - Duration::minutes(30);
    let cookie = sealed_cookie(&keys, now() + Duration::hours(7), created);
    let response = get_with(&app, "/counter", Some(&cookie)).await;
    let set = set_cookie(&response).expect("written");
    let secs = set.max_age().unwrap().whole_seconds();
    assert!(
        (1795..=1801).contains(&secs),
        "Max-Age {secs} should be the ~30 min left"
    );
    let sealed = opened(&keys, &response);
    assert!(close_to(
        sealed.record.expiry_date,
        created + Duration::days(1)
    ));
    assert!(close_to(sealed.created_at, created));

    // Unmodified requests near the cap do not re-issue a cookie that cannot gain anything.
    let capped = format!("id={}", set.value());
    assert!(set_cookies(&get_with(&app, "/get", Some(&capped)).await).is_empty());

    // Issued more than a day ago (by a server whose cap was longer): refused.
    let old = sealed_cookie(&keys, now() + Duration::hours(1), now() - Duration::days(2));
    let response = get_with(&app, "/get_value", Some(&old)).await;
    assert!(set_cookie(&response).is_some_and(|c| is_removal(&c)));
    assert_eq!(body_string(response).await, "None");
}

#[tokio::test]
async fn cycle_id_starts_a_new_lifetime() {
    let keys = Arc::new(KeyRing::generate());
    let app = app(&keys, |l| l.with_max_lifetime(Duration::days(1)));
    let created = now() - Duration::hours(20);
    let cookie = sealed_cookie(&keys, now() + Duration::hours(4), created);
    let sealed = opened(&keys, &get_with(&app, "/cycle_id", Some(&cookie)).await);
    assert_ne!(sealed.record.id, Id(7));
    assert!(close_to(sealed.created_at, now()));
    assert!(close_to(
        sealed.record.expiry_date,
        now() + Duration::days(1)
    ));
}

#[tokio::test]
async fn at_date_time_in_the_past_never_gives_a_negative_max_age() {
    let keys = Arc::new(KeyRing::generate());
    let app = app(&keys, |l| {
        l.with_expiry(Expiry::AtDateTime(now() - Duration::hours(1)))
    });
    let response = get_with(&app, "/insert", None).await;
    let cookie = set_cookie(&response).unwrap();
    assert_eq!(cookie.max_age(), Some(Duration::ZERO));
    // And what was sealed does not open: the sealed expiry decides.
    assert!(keys.open("id", cookie.value()).is_none());
}

#[tokio::test]
async fn at_date_time_counts_down_and_does_not_slide() {
    let keys = Arc::new(KeyRing::generate());
    let at = now() + Duration::hours(5);
    let app = app(&keys, |l| {
        l.with_expiry(Expiry::AtDateTime(at)).with_always_save(true)
    });
    let first = get_with(&app, "/insert", None).await;
    let first_sealed = opened(&keys, &first);
    let cookie = pair(&set_cookie(&first).unwrap());
    let second = get_with(&app, "/get", Some(&cookie)).await;
    let second_sealed = opened(&keys, &second);
    assert_eq!(
        first_sealed.record.expiry_date,
        second_sealed.record.expiry_date
    );
    assert!(close_to(second_sealed.record.expiry_date, at));
}
