//! Set, read, change and remove session data through a real axum router and real cookies.

mod common;

use common::*;
use tower_sessions_sealed::{KeyRing, SessionManagerLayer};

fn app() -> axum::Router {
    routes().layer(SessionManagerLayer::new(KeyRing::generate()))
}

#[tokio::test]
async fn counter_survives_requests() {
    let app = app();
    let first = get_with(&app, "/counter", None).await;
    let cookie = set_cookie(&first).expect("a write sets the cookie");
    assert_eq!(body_string(first).await, "1");
    let mut jar = pair(&cookie);
    for expected in 2..5 {
        let response = get_with(&app, "/counter", Some(&jar)).await;
        let cookie = set_cookie(&response).expect("a write re-seals");
        assert_eq!(body_string(response).await, expected.to_string());
        jar = pair(&cookie);
    }
}
