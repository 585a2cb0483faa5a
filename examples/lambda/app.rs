//! The Lambda example's application: routes, handlers and the session layer, without the
//! Lambda runtime. `main.rs` serves it with `lambda_http::run`; `tests/lambda.rs` includes
//! this file (`#[path = "../examples/lambda/app.rs"] mod app;`) and feeds it API Gateway,
//! Function URL and ALB events through `lambda_http`'s own conversions.
//!
//! Routes, as the demo's (`examples/demo`), answered in plain text:
//!
//! - `POST /login` (form fields `username`, `password`): a new session id (against session
//!   fixation), the user and a visit counter at 0; `401` for an unknown user or password;
//! - `GET /`: the user and the visit counter, counted up on every call; `401` when not
//!   logged in;
//! - `POST /logout`: empties the session; the response removes the cookie.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::Form;
use axum::http::{Response, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use time::Duration;
use tower::Service;
use tower_sessions_sealed::{Expiry, KeyRing, SameSite, Session, SessionManagerLayer};

/// The session key holding the logged-in user's name.
pub(crate) const USER_KEY: &str = "user";
/// The session key holding the visit counter.
pub(crate) const VISITS_KEY: &str = "visits";

/// The example's users and passwords, in plain text because it is an example. A real
/// application stores password hashes (argon2, scrypt, bcrypt) and verifies those.
const USERS: &[(&str, &str)] = &[("ada", "lovelace"), ("grace", "hopper")];

/// The session layer as the example configures it.
///
/// Nothing here needs a background task (Lambda freezes the process between invocations,
/// so a task would not run): the session lives in the cookie, sealed under `keys`.
pub(crate) fn session_layer(keys: KeyRing) -> SessionManagerLayer {
    SessionManagerLayer::new(keys)
        .with_name("id")
        // API Gateway, Function URLs and an ALB's HTTPS listener serve https only, so the
        // default `Secure` stays on.
        .with_secure(true)
        // `Lax`: the cookie goes along with top-level navigations (a link into the app) but
        // not with cross-site POSTs, so another site cannot submit the logout form.
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(30)))
        // However active the user, a login lasts at most 8 hours.
        .with_max_lifetime(Duration::hours(8))
}

/// The routes with the session layer.
pub(crate) fn router(keys: KeyRing) -> Router {
    Router::new()
        .route("/", get(counter))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(session_layer(keys))
}

/// The service `lambda_http::run` serves: the router behind [`StripStage`].
pub(crate) fn app(keys: KeyRing) -> StripStage<Router> {
    StripStage(router(keys))
}

/// Removes the API Gateway stage (`/prod`) from the request path before routing.
///
/// `lambda_http` prepends the stage of a REST API (and of an HTTP API on a named stage) to
/// the path, unless the function's environment sets `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`;
/// an HTTP API's `rawPath` carries a named stage either way. Taking it off here lets the
/// routes be `/`, `/login`, `/logout` on every trigger, with or without that variable. (It
/// wraps the router rather than being a `Router::layer`, because axum routes before its
/// layers run.) The session cookie's `Path=/` covers the stage's URLs too.
#[derive(Clone, Debug)]
pub(crate) struct StripStage<S>(pub(crate) S);

impl<S> Service<lambda_http::Request> for StripStage<S>
where
    S: Service<lambda_http::Request, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: lambda_http::Request) -> Self::Future {
        if let Some(uri) = without_stage(&request) {
            *request.uri_mut() = uri;
        }
        self.0.call(request)
    }
}

/// The request's URI without a leading `/{stage}`, if it has one.
fn without_stage(request: &lambda_http::Request) -> Option<Uri> {
    let stage = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.stage.as_deref(),
        RequestContext::ApiGatewayV2(context) => context.stage.as_deref(),
        _ => None,
    }?;
    if stage.is_empty() || stage == "$default" {
        return None;
    }
    let path = request.uri().path();
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    let rest = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None, // `/prod2/...` is not under the stage `prod`
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// A session operation failed: `500`, and the reason in the log (never the session).
pub(crate) struct AppError(tower_sessions_sealed::session::Error);

impl From<tower_sessions_sealed::session::Error> for AppError {
    fn from(err: tower_sessions_sealed::session::Error) -> Self {
        Self(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        tracing::error!(error = %self.0, "session error");
        (StatusCode::INTERNAL_SERVER_ERROR, "session error\n").into_response()
    }
}

/// The login form's fields.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
}

async fn login(
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<axum::response::Response, AppError> {
    let Some(user) = authenticate(&form.username, &form.password) else {
        tracing::info!("failed login");
        return Ok((StatusCode::UNAUTHORIZED, "unknown user or wrong password\n").into_response());
    };
    // A new id on every change of privilege: an id planted before login is worth nothing.
    session.cycle_id().await?;
    session.insert(USER_KEY, user).await?;
    session.insert(VISITS_KEY, 0u64).await?;
    tracing::info!(user, "logged in");
    Ok(format!("logged in as {user}\n").into_response())
}

async fn counter(session: Session) -> Result<axum::response::Response, AppError> {
    let Some(user) = session.get::<String>(USER_KEY).await? else {
        return Ok((StatusCode::UNAUTHORIZED, "not logged in\n").into_response());
    };
    let visits = session
        .get::<u64>(VISITS_KEY)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    session.insert(VISITS_KEY, visits).await?;
    Ok(format!("{user}: visit {visits}\n").into_response())
}

async fn logout(session: Session) -> Result<axum::response::Response, AppError> {
    // Empties the session: the response removes the cookie. Stateless, a copy of the cookie
    // taken before this stays valid until it expires (`with_revocation` ends that; see
    // the README's "Deploying to AWS Lambda" for stores on Lambda).
    session.flush().await?;
    Ok("logged out\n".into_response())
}

/// The user named `username` if `password` is theirs. Compares in constant time, and
/// compares a password even for an unknown user, so timing tells neither.
fn authenticate(username: &str, password: &str) -> Option<&'static str> {
    let mut found = None;
    for (user, expected) in USERS {
        let name_ok = user.as_bytes().ct_eq(username.as_bytes());
        let password_ok = expected.as_bytes().ct_eq(password.as_bytes());
        if bool::from(name_ok & password_ok) {
            found = Some(*user);
        }
    }
    found
}
