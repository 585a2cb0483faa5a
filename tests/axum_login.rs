//! axum-login 0.18 on top of this crate's layer: login, protected routes, session-id
//! cycling, logout, revocation (logout, password change, "log out everywhere") and the
//! known limit of stateless logout without it, through a real `Router` with a
//! cookie-keeping client.
//!
//! axum-login's own `AuthManagerLayerBuilder` takes tower-sessions' concrete layer type, so
//! the app is built with `tower_sessions_sealed::axum_login::AuthManagerLayerBuilder`, which
//! has the same shape (feature `axum-login`). Handlers, `AuthSession` and `login_required!`
//! are axum-login's own, unchanged.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_login::{AuthSession, AuthUser, AuthnBackend, login_required};
use cookie::Cookie;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use time::Duration;
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;
use tower_sessions_sealed::axum_login::AuthManagerLayerBuilder;
use tower_sessions_sealed::{Expiry, KeyRing, Revoker, Session, SessionManagerLayer};

/// axum-login's default key for its data in the session.
const DATA_KEY: &str = "axum-login.data";

// --- The application -----------------------------------------------------------------

#[derive(Clone)]
struct User {
    id: u64,
    name: String,
    password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }

    /// Changes when the password changes, which invalidates every session of the user
    /// (axum-login compares it on every request). A real application uses the password
    /// hash here.
    fn session_auth_hash(&self) -> &[u8] {
        self.password.as_bytes()
    }
}

#[derive(Clone, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// In-memory users, shared by every clone of the backend (so a test can change them).
#[derive(Debug, Clone)]
struct Backend {
    users: Arc<Mutex<HashMap<u64, User>>>,
}

impl Backend {
    fn new() -> Self {
        let users = [(1, "ada", "lovelace"), (2, "grace", "hopper")]
            .into_iter()
            .map(|(id, name, password)| {
                let user = User {
                    id,
                    name: name.to_owned(),
                    password: password.to_owned(),
                };
                (id, user)
            })
            .collect();
        Self {
            users: Arc::new(Mutex::new(users)),
        }
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<u64, User>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_password(&self, id: u64, password: &str) {
        if let Some(user) = self.users().get_mut(&id) {
            user.password = password.to_owned();
        }
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = Infallible;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Infallible> {
        let users = self.users();
        let mut found = None;
        for user in users.values() {
            let matches = user.name.as_bytes().ct_eq(creds.username.as_bytes())
                & user.password.as_bytes().ct_eq(creds.password.as_bytes());
            if bool::from(matches) {
                found = Some(user.clone());
            }
        }
        Ok(found)
    }

    async fn get_user(&self, id: &u64) -> Result<Option<User>, Infallible> {
        Ok(self.users().get(id).cloned())
    }
}

type Auth = AuthSession<Backend>;

/// The login page: touches the session, so a session (and its cookie) exists before login,
/// as with a CSRF token or a "return to" URL.
async fn login_page(session: Session) -> impl IntoResponse {
    match session.insert("seen_login_page", true).await {
        Ok(()) => (StatusCode::OK, "login page").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn login(mut auth: Auth, Form(creds): Form<Credentials>) -> impl IntoResponse {
    let user = match auth.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if auth.login(&user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to("/protected").into_response()
}

async fn protected(auth: Auth) -> impl IntoResponse {
    match auth.user {
        Some(user) => format!("hello {}", user.name).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn logout(mut auth: Auth) -> impl IntoResponse {
    match auth.logout().await {
        Ok(Some(user)) => format!("bye {}", user.name).into_response(),
        Ok(None) => "nobody was logged in".into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The session id and the pre-login marker, for the tests.
async fn state(session: Session) -> impl IntoResponse {
    match session.get::<bool>("seen_login_page").await {
        Ok(seen) => format!("{:?} {seen:?}", session.id()).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn app_with(backend: &Backend, expiry: Expiry) -> Router {
    let auth_backend = backend.clone();
    let session_layer = SessionManagerLayer::new(KeyRing::generate())
        .with_secure(true)
        .with_expiry(expiry);
    Router::new()
        .route("/protected", get(protected))
        .route_layer(login_required!(Backend))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout))
        .route("/state", get(state))
        .layer(
            AuthManagerLayerBuilder::new(auth_backend, session_layer)
                .with_data_key(DATA_KEY)
                .build(),
        )
}

fn app(backend: &Backend) -> Router {
    app_with(backend, Expiry::OnInactivity(Duration::hours(1)))
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

/// Changes the logged-in user's password, logs them out everywhere else, and logs this
/// device in again with the new auth hash.
async fn change_password(
    mut auth: Auth,
    Extension(revoker): Extension<Revoker>,
    Form(form): Form<NewPassword>,
) -> impl IntoResponse {
    let Some(user) = auth.user.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    auth.backend.set_password(user.id, &form.password);
    // Every other session of the user ends; this one gets a new id and stays.
    if revoker
        .revoke_subject_except(&user.id, &auth.session)
        .await
        .is_err()
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let Ok(Some(user)) = auth.backend.get_user(&user.id).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if auth.login(&user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    "password changed".into_response()
}

/// The app with revocation on a `MemoryStore`, the subject being axum-login's user id.
fn revoking_app(backend: &Backend) -> (Router, Revoker) {
    let session_layer = SessionManagerLayer::new(KeyRing::generate())
        .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
        .with_revocation(MemoryStore::default())
        .with_revocation_subject(tower_sessions_sealed::axum_login::subject(DATA_KEY));
    let revoker = session_layer.revoker().unwrap();
    let app = Router::new()
        .route("/protected", get(protected))
        .route_layer(login_required!(Backend))
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout))
        .route("/change-password", post(change_password))
        .route("/state", get(state))
        .layer(Extension(revoker.clone()))
        .layer(
            AuthManagerLayerBuilder::new(backend.clone(), session_layer)
                .with_data_key(DATA_KEY)
                .build(),
        );
    (app, revoker)
}

// --- A browser ---------------------------------------------------------------------

/// Keeps the cookies responses set and sends them back, like a browser for one site.
#[derive(Default, Clone)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

/// What a response said about cookies and what it contained.
struct Reply {
    status: StatusCode,
    set_cookies: Vec<Cookie<'static>>,
    location: Option<String>,
    body: String,
}

impl Reply {
    /// The single `Set-Cookie` for the session cookie `id`.
    fn session_cookie(&self) -> Option<&Cookie<'static>> {
        let mut found = self.set_cookies.iter().filter(|c| c.name() == "id");
        let first = found.next();
        assert!(found.next().is_none(), "several session Set-Cookies");
        first
    }
}

fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(Duration::ZERO)
}

impl Browser {
    fn session(&self) -> Option<&str> {
        self.cookies.get("id").map(String::as_str)
    }

    async fn get(&mut self, app: &Router, path: &str) -> Reply {
        self.send(app, Request::get(path), Body::empty()).await
    }

    async fn post_form(&mut self, app: &Router, path: &str, form: &str) -> Reply {
        let request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(app, request, Body::from(form.to_owned())).await
    }

    async fn login(&mut self, app: &Router, user: &str, password: &str) -> Reply {
        self.post_form(
            app,
            "/login",
            &format!("username={user}&password={password}"),
        )
        .await
    }

    async fn send(
        &mut self,
        app: &Router,
        mut request: axum::http::request::Builder,
        body: Body,
    ) -> Reply {
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header(header::COOKIE, header.join("; "));
        }
        let response = app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let reply = read(response).await;
        for cookie in &reply.set_cookies {
            if is_removal(cookie) {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        reply
    }
}

async fn read(response: Response<Body>) -> Reply {
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| Cookie::parse(value.to_str().unwrap().to_owned()).unwrap())
        .collect();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        set_cookies,
        location,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A client that only ever sends this one session cookie (a copy, replayed).
fn replaying(cookie: &str) -> Browser {
    let mut browser = Browser::default();
    browser.cookies.insert("id".to_owned(), cookie.to_owned());
    browser
}

// --- Tests -------------------------------------------------------------------------

#[tokio::test]
async fn protected_refuses_without_login() {
    let app = app(&Backend::new());

    let mut anonymous = Browser::default();
    let reply = anonymous.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.session_cookie().is_none(), "no session was created");

    // A session that exists but is not logged in is refused too.
    let mut visitor = Browser::default();
    visitor.get(&app, "/login").await;
    assert!(visitor.session().is_some());
    let reply = visitor.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_password_is_refused_and_sets_no_cookie() {
    let app = app(&Backend::new());
    let mut browser = Browser::default();

    let reply = browser.login(&app, "ada", "hopper").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.session_cookie().is_none());
    assert_eq!(
        browser.get(&app, "/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_sets_a_session_cookie_and_opens_the_protected_route() {
    let app = app(&Backend::new());
    let mut browser = Browser::default();

    let reply = browser.login(&app, "ada", "lovelace").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location.as_deref(), Some("/protected"));
    let cookie = reply
        .session_cookie()
        .expect("login sets the session cookie");
    assert!(!cookie.value().is_empty());
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert!(cookie.max_age().is_some_and(|age| age > Duration::ZERO));

    let reply = browser.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "hello ada");

    // Another user gets their own session.
    let mut other = Browser::default();
    other.login(&app, "grace", "hopper").await;
    assert_eq!(other.get(&app, "/protected").await.body, "hello grace");
    assert_ne!(other.session(), browser.session());
}

#[tokio::test]
async fn login_cycles_the_session_id() {
    let app = app(&Backend::new());
    let mut browser = Browser::default();

    browser.get(&app, "/login").await;
    let before = browser
        .session()
        .expect("pre-login session cookie")
        .to_owned();
    let state_before = browser.get(&app, "/state").await.body;
    assert!(state_before.starts_with("Some("), "{state_before}");
    assert!(state_before.ends_with(" Some(true)"), "{state_before}");

    let reply = browser.login(&app, "ada", "lovelace").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let after = browser
        .session()
        .expect("post-login session cookie")
        .to_owned();
    assert_ne!(after, before, "login issues a new cookie");

    let state_after = browser.get(&app, "/state").await.body;
    let id = |state: &str| state.split(' ').next().unwrap_or_default().to_owned();
    assert_ne!(id(&state_after), id(&state_before), "login changes the id");
    assert!(
        state_after.ends_with(" Some(true)"),
        "cycle_id keeps the pre-login data: {state_after}"
    );

    // The pre-login cookie (one an attacker could have planted: session fixation) still
    // names the old id, which is not logged in.
    let mut planted = replaying(&before);
    assert_eq!(
        id(&planted.get(&app, "/state").await.body),
        id(&state_before)
    );
    assert_eq!(
        replaying(&before).get(&app, "/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_removes_the_cookie_and_protected_then_refuses() {
    let app = app(&Backend::new());
    let mut browser = Browser::default();
    browser.login(&app, "ada", "lovelace").await;
    assert_eq!(browser.get(&app, "/protected").await.status, StatusCode::OK);

    let reply = browser.get(&app, "/logout").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "bye ada");
    let removal = reply.session_cookie().expect("logout sets a cookie");
    assert!(
        is_removal(removal),
        "removal cookie: empty value, Max-Age=0: {removal}"
    );
    assert_eq!(removal.path(), Some("/"));
    assert!(
        browser.session().is_none(),
        "the browser dropped the cookie"
    );

    let reply = browser.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

/// With revocation on, the known limit is gone: the logout's tombstone makes every copy of
/// the cookie taken before it a fresh session (not logged in), and the copy is removed.
#[tokio::test]
async fn replaying_a_pre_logout_cookie_is_refused_with_revocation() {
    let (app, _revoker) = revoking_app(&Backend::new());
    let mut browser = Browser::default();
    browser.login(&app, "ada", "lovelace").await;
    let copy = browser.session().expect("session cookie").to_owned();
    assert_eq!(browser.get(&app, "/protected").await.body, "hello ada");

    let reply = browser.get(&app, "/logout").await;
    assert_eq!(reply.body, "bye ada");
    assert!(reply.session_cookie().is_some_and(is_removal));

    let mut thief = replaying(&copy);
    let reply = thief.get(&app, "/protected").await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "the copy is refused"
    );
    assert!(
        reply.session_cookie().is_some_and(is_removal),
        "the revoked copy is removed"
    );
    assert_eq!(thief.get(&app, "/state").await.body, "None None");
}

/// The whole life of an account with revocation on: a pre-login session, login on two
/// devices, a password change that logs out everywhere but keeps the device that made it,
/// then logout. Every cookie the devices held before is refused afterwards.
#[tokio::test]
async fn login_password_change_and_logout_refuse_every_earlier_cookie() {
    let backend = Backend::new();
    let (app, _revoker) = revoking_app(&backend);
    let mut laptop = Browser::default();
    let mut earlier = Vec::new();

    laptop.get(&app, "/login").await;
    earlier.push(laptop.session().expect("pre-login cookie").to_owned());
    laptop.login(&app, "ada", "lovelace").await;
    assert_eq!(laptop.get(&app, "/protected").await.body, "hello ada");
    earlier.push(laptop.session().unwrap().to_owned());

    let mut phone = Browser::default();
    phone.login(&app, "ada", "lovelace").await;
    assert_eq!(phone.get(&app, "/protected").await.body, "hello ada");
    earlier.push(phone.session().unwrap().to_owned());
    let mut grace = Browser::default();
    grace.login(&app, "grace", "hopper").await;

    // Change password on the laptop: every session of ada is revoked, the laptop logs in
    // again with the new password.
    let reply = laptop
        .post_form(&app, "/change-password", "password=analytical-engine")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(laptop.get(&app, "/protected").await.body, "hello ada");
    assert_eq!(
        phone.get(&app, "/protected").await.status,
        StatusCode::UNAUTHORIZED,
        "the other device is logged out"
    );
    assert_eq!(grace.get(&app, "/protected").await.body, "hello grace");
    earlier.push(laptop.session().unwrap().to_owned());

    assert_eq!(laptop.get(&app, "/logout").await.body, "bye ada");

    for (n, cookie) in earlier.iter().enumerate() {
        let mut thief = replaying(cookie);
        let reply = thief.get(&app, "/protected").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "cookie {n} opened");
        assert_eq!(
            replaying(cookie).get(&app, "/state").await.body,
            "None None",
            "cookie {n} is a fresh session"
        );
    }
    assert_eq!(grace.get(&app, "/protected").await.body, "hello grace");
}

/// "Log out everywhere" through the subject alone, without changing the auth hash:
/// axum-login would accept these sessions, the layer refuses them.
#[tokio::test]
async fn log_out_everywhere_by_subject_without_an_auth_hash_change() {
    let backend = Backend::new();
    let (app, revoker) = revoking_app(&backend);
    let mut laptop = Browser::default();
    laptop.login(&app, "ada", "lovelace").await;
    let mut phone = Browser::default();
    phone.login(&app, "ada", "lovelace").await;
    let mut grace = Browser::default();
    grace.login(&app, "grace", "hopper").await;

    revoker.revoke_subject(&1u64).await.unwrap();

    for device in [&mut laptop, &mut phone] {
        assert_eq!(
            device.get(&app, "/protected").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(grace.get(&app, "/protected").await.body, "hello grace");
    laptop.login(&app, "ada", "lovelace").await;
    assert_eq!(laptop.get(&app, "/protected").await.body, "hello ada");
}

/// KNOWN LIMIT of stateless sessions, without revocation (README, SECURITY.md): logout
/// removes the cookie from the browser, but the server keeps no list of sessions, so it
/// cannot revoke a copy taken before logout. The copy stays valid until its sealed expiry
/// date. This test documents it: if it ever fails, the limit (and the docs) changed.
#[tokio::test]
async fn without_revocation_a_pre_logout_cookie_still_works_until_expiry() {
    let app = app(&Backend::new());
    let mut browser = Browser::default();
    browser.login(&app, "ada", "lovelace").await;
    let copy = browser.session().expect("session cookie").to_owned();

    let reply = browser.get(&app, "/logout").await;
    assert!(reply.session_cookie().is_some_and(is_removal));
    assert_eq!(
        browser.get(&app, "/protected").await.status,
        StatusCode::UNAUTHORIZED
    );

    let mut thief = replaying(&copy);
    let reply = thief.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::OK, "the copy still opens");
    assert_eq!(reply.body, "hello ada");
}

/// The end of the known limit: a replayed copy stops working at its sealed expiry (here
/// one second of inactivity; expiry dates are sealed rounded up to whole seconds).
#[tokio::test]
async fn a_replayed_pre_logout_cookie_stops_working_once_expired() {
    let app = app_with(&Backend::new(), Expiry::OnInactivity(Duration::seconds(1)));
    let mut browser = Browser::default();
    browser.login(&app, "ada", "lovelace").await;
    let copy = browser.session().expect("session cookie").to_owned();
    browser.get(&app, "/logout").await;
    assert_eq!(
        replaying(&copy).get(&app, "/protected").await.status,
        StatusCode::OK
    );

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let mut thief = replaying(&copy);
    let reply = thief.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.session_cookie().is_some_and(is_removal),
        "the expired cookie is cleared"
    );
}

/// The server-side lever that does exist: axum-login checks the user's
/// `session_auth_hash` on every request, so changing it (a password change, or a
/// per-user "session generation" counter) invalidates every copy of that user's cookies.
#[tokio::test]
async fn changing_the_auth_hash_revokes_copied_cookies() {
    let backend = Backend::new();
    let app = app(&backend);
    let mut browser = Browser::default();
    browser.login(&app, "ada", "lovelace").await;
    let copy = browser.session().expect("session cookie").to_owned();
    assert_eq!(
        replaying(&copy).get(&app, "/protected").await.status,
        StatusCode::OK
    );

    backend.set_password(1, "analytical-engine");

    let mut thief = replaying(&copy);
    let reply = thief.get(&app, "/protected").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.session_cookie().is_some_and(is_removal),
        "axum-login flushes the stale session, so the layer removes the cookie"
    );
    assert_eq!(
        browser.get(&app, "/protected").await.status,
        StatusCode::UNAUTHORIZED,
        "the legitimate browser is logged out too"
    );
    assert_eq!(
        browser.login(&app, "ada", "analytical-engine").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get(&app, "/protected").await.body, "hello ada");
}
