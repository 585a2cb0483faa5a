//! A small login demo: stateless, encrypted cookie sessions with axum 0.8.
//!
//! ```text
//! cargo run --example demo                                   # throw-away key (see warning)
//! SESSION_KEYS=$(cargo run -q --example keygen) cargo run --example demo
//! DEMO_ADDR=127.0.0.1:8080 cargo run --example demo          # another address
//! ```
//!
//! Then open <http://127.0.0.1:3000> and log in as `ada` / `lovelace` or `grace` / `hopper`.
//! The dashboard counts your visits; the count lives in the encrypted cookie, not on the
//! server, so every instance started with the same `SESSION_KEYS` sees the same session.
//!
//! Routes:
//!
//! - `GET /`: the dashboard when logged in (user, visit counter, session expiry), otherwise
//!   a redirect to `/login`;
//! - `GET /login`: the login form; `POST /login` (form fields `username`, `password`) logs
//!   in (a new session id, against session fixation) or shows the form again with `401`;
//! - `POST /logout`: empties the session (the response removes the cookie) and redirects to
//!   `/login`.
//!
//! Logging follows `RUST_LOG` (default `info,tower_sessions_sealed=debug`, which shows why
//! a cookie was rejected). Ctrl-C (or SIGTERM) stops the server gracefully.

use std::fmt::Write as _;
use std::process::ExitCode;

use axum::Form;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::{Choice, ConstantTimeEq as _};
use time::{Duration, OffsetDateTime, UtcOffset};
use tower_sessions_sealed::{
    Expiry, KeyRing, KeyRingError, SameSite, Session, SessionManagerLayer,
};
use tracing_subscriber::EnvFilter;

/// The environment variable holding the key ring (`newest,older,...`).
const KEYS_VAR: &str = "SESSION_KEYS";
/// The environment variable overriding the listening address.
const ADDR_VAR: &str = "DEMO_ADDR";
const DEFAULT_ADDR: &str = "127.0.0.1:3000";
const DEFAULT_LOG: &str = "info,tower_sessions_sealed=debug";

/// Session keys used by the demo.
const USER_KEY: &str = "user";
const VISITS_KEY: &str = "visits";

/// The demo's user database: name and password, in plain text because it is a demo. A real
/// application stores password hashes (argon2, scrypt, bcrypt) and verifies those.
const USERS: &[(&str, &str)] = &[("ada", "lovelace"), ("grace", "hopper")];

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let keys = load_keys()?;

    let layer = SessionManagerLayer::new(keys)
        .with_name("id")
        // `Secure` cookies are only sent over https. This demo serves plain http on
        // localhost, so it turns `Secure` off; never do this for a deployed service (keep the
        // default `true` behind TLS).
        .with_secure(false)
        // `Lax`, not the default `Strict`: the cookie must accompany top-level navigations
        // such as the redirect after the login form's POST.
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(30)))
        // However active the user, a login lasts at most 8 hours.
        .with_max_lifetime(Duration::hours(8));
    layer
        .check()
        .map_err(|err| format!("session layer configuration: {err}"))?;

    let app = router().layer(layer);

    let addr = std::env::var(ADDR_VAR).unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|err| format!("cannot listen on {addr} (set {ADDR_VAR} to change it): {err}"))?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("cannot read the listening address: {err}"))?;
    tracing::info!("demo listening on http://{local} (users: ada/lovelace, grace/hopper)");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|err| format!("server error: {err}"))?;
    tracing::info!("demo stopped");
    Ok(())
}

/// The key ring from `SESSION_KEYS`, or a throw-away key (with a loud warning) if the
/// variable is not set. A set but invalid variable is an error: silently falling back to a
/// random key would log everybody out and split sessions between instances.
fn load_keys() -> Result<KeyRing, String> {
    match KeyRing::from_env(KEYS_VAR) {
        Ok(keys) => {
            tracing::info!(keys = keys.len(), "session keys loaded from {KEYS_VAR}");
            Ok(keys)
        }
        Err(KeyRingError::MissingVar { .. }) => {
            eprintln!(
                "\n\
                 ************************************************************************\n\
                 * WARNING: {KEYS_VAR} is not set; using a random key for this process.\n\
                 *\n\
                 *  - every session is lost when the demo restarts;\n\
                 *  - sessions are NOT shared with other instances (each has its own key).\n\
                 *\n\
                 * Generate a key and pass it to every instance:\n\
                 *\n\
                 *   export {KEYS_VAR}=$(cargo run -q --example keygen)\n\
                 *   cargo run --example demo\n\
                 ************************************************************************\n"
            );
            Ok(KeyRing::generate())
        }
        // The error names the variable and the position/length of a bad entry, never a key.
        Err(err) => Err(format!("invalid session keys: {err}")),
    }
}

/// The demo's routes, without the session layer.
fn router() -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A session operation failed: answer `500` and log why (never the session's content).
struct AppError(tower_sessions_sealed::session::Error);

impl From<tower_sessions_sealed::session::Error> for AppError {
    fn from(err: tower_sessions_sealed::session::Error) -> Self {
        Self(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "session error");
        (StatusCode::INTERNAL_SERVER_ERROR, "session error\n").into_response()
    }
}

async fn dashboard(session: Session) -> Result<Response, AppError> {
    let Some(user) = session.get::<String>(USER_KEY).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let visits = session
        .get::<u64>(VISITS_KEY)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    session.insert(VISITS_KEY, visits).await?;

    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Hello, {user}!</h1>\n\
         <p>Dashboard visits this session: <strong id=\"visits\">{visits}</strong></p>\n\
         <p>Session expires at <span id=\"expiry\">{expiry}</span> unless you come back \
         (30 minutes of inactivity; 8 hours after login at most).</p>\n\
         <p>Reload the page to count another visit. Everything above is stored in the \
         encrypted <code>id</code> cookie, not on the server.</p>\n\
         <form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>\n",
        user = escape_html(&user),
        expiry = format_utc(session.expiry_date()),
    );
    Ok(Html(page("Dashboard", &body)).into_response())
}

async fn login_page(session: Session) -> Result<Response, AppError> {
    if session.get::<String>(USER_KEY).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(Html(login_form(None, "")).into_response())
}

/// The login form's fields.
#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(session: Session, Form(form): Form<LoginForm>) -> Result<Response, AppError> {
    let Some(user) = authenticate(&form.username, &form.password) else {
        tracing::info!("failed login");
        let html = login_form(Some("Unknown user or wrong password."), &form.username);
        return Ok((StatusCode::UNAUTHORIZED, Html(html)).into_response());
    };
    // A new session id on every change of privilege, so an id planted before login (session
    // fixation) is worth nothing afterwards. `cycle_id` keeps the data.
    session.cycle_id().await?;
    session.insert(USER_KEY, user).await?;
    session.insert(VISITS_KEY, 0u64).await?;
    tracing::info!(user, "logged in");
    Ok(Redirect::to("/").into_response())
}

async fn logout(session: Session) -> Result<Response, AppError> {
    // Empties the session: the response removes the cookie. A copy of the cookie taken
    // before this stays valid until it expires (a known limit of stateless sessions).
    session.flush().await?;
    Ok(Redirect::to("/login").into_response())
}

/// The demo user with these credentials. Every user is checked and every comparison runs
/// in constant time (for equal lengths), so the response time does not tell which user
/// exists or how much of a password matched.
fn authenticate(username: &str, password: &str) -> Option<&'static str> {
    let mut found = None;
    for &(name, secret) in USERS {
        let matches: Choice = name.as_bytes().ct_eq(username.as_bytes())
            & secret.as_bytes().ct_eq(password.as_bytes());
        if bool::from(matches) {
            found = Some(name);
        }
    }
    found
}

fn login_form(error: Option<&str>, username: &str) -> String {
    let error = error
        .map(|message| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>\n",
                escape_html(message)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in</h1>\n{error}\
         <form method=\"post\" action=\"/login\">\n\
         <label>User <input name=\"username\" value=\"{username}\" autocomplete=\"username\"></label>\n\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\n\
         <button type=\"submit\">Log in</button>\n\
         </form>\n\
         <p>Demo users: <code>ada</code> / <code>lovelace</code>, <code>grace</code> / <code>hopper</code>.</p>\n",
        username = escape_html(username),
    );
    page("Log in", &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} · tower-sessions-sealed demo</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}\
         .error{{color:#b00}}label{{display:block;margin:.5em 0}}</style>\
         </head><body>\n{body}</body></html>\n",
        title = escape_html(title),
    )
}

/// `date` as `YYYY-MM-DD hh:mm:ss UTC`.
fn format_utc(date: OffsetDateTime) -> String {
    let date = date.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second()
    )
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_in_utc() {
        let date = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(format_utc(date), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn authenticates_only_exact_credentials() {
        assert_eq!(authenticate("ada", "lovelace"), Some("ada"));
        assert_eq!(authenticate("grace", "hopper"), Some("grace"));
        for (user, password) in [
            ("ada", "hopper"),
            ("grace", "lovelace"),
            ("ada", "lovelac"),
            ("ada", "lovelacee"),
            ("Ada", "lovelace"),
            ("", ""),
        ] {
            assert_eq!(authenticate(user, password), None, "{user}/{password}");
        }
    }
}
