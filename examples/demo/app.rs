//! The demo's routes and handlers, without the session layer's store: `main.rs` serves them
//! with the store it picked, and `tests/browser.rs` includes this file
//! (`#[path = "../examples/demo/app.rs"] mod app;`) to drive the same pages in a browser.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use subtle::{Choice, ConstantTimeEq as _};
use time::{Duration, OffsetDateTime, UtcOffset};
use tower_sessions_sealed::session_store::SessionStore;
use tower_sessions_sealed::{
    Expiry, KeyRing, Revoker, SameSite, Session, SessionManagerLayer, Subject,
};

/// The session key holding the logged-in user's name; also the revocation subject, so
/// "log out everywhere" revokes every session whose `user` is that name.
pub(crate) const USER_KEY: &str = "user";
/// The session key holding the dashboard's visit counter.
const VISITS_KEY: &str = "visits";

/// The demo's user database: name and password, in plain text because it is a demo. A real
/// application stores password hashes (argon2, scrypt, bcrypt) and verifies those.
const USERS: &[(&str, &str)] = &[("ada", "lovelace"), ("grace", "hopper")];

/// Revocation as the dashboard shows and uses it.
#[derive(Clone, Debug)]
pub(crate) struct Revocation {
    /// Revokes a user's sessions ("log out everywhere").
    pub(crate) revoker: Revoker,
    /// Where the tombstones are kept, for the dashboard (never with a password).
    pub(crate) store: String,
}

/// The handlers' shared state.
#[derive(Clone, Debug)]
struct AppState {
    revocation: Option<Arc<Revocation>>,
}

/// The session layer without revocation, as the demo configures it.
pub(crate) fn session_layer(keys: KeyRing) -> SessionManagerLayer {
    SessionManagerLayer::new(keys)
        .with_name("id")
        // `Secure` cookies are only sent over https. This demo serves plain http on
        // localhost, so it turns `Secure` off; never do this for a deployed service (keep the
        // default `true` behind TLS).
        .with_secure(false)
        // `Lax`, not the default `Strict`: the cookie must accompany top-level navigations
        // such as the redirect after the login form's POST. `Lax` still keeps it off
        // cross-site POSTs, so another site cannot submit the logout forms (CSRF).
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(30)))
        // However active the user, a login lasts at most 8 hours.
        .with_max_lifetime(Duration::hours(8))
}

/// `layer` with revocation on `store`: an ended session's id gets a tombstone there, and the
/// user name under [`USER_KEY`] is the subject that "log out everywhere" revokes. Every
/// request is checked against the store (the default); `with_revalidate_every` would check
/// at most once per interval instead, and a revocation would then take up to that long.
pub(crate) fn with_revocation<S: SessionStore>(
    layer: SessionManagerLayer,
    store: S,
) -> SessionManagerLayer {
    layer
        .with_revocation(store)
        .with_revocation_subject(Subject::key(USER_KEY))
}

/// The demo's routes, without the session layer.
pub(crate) fn router(revocation: Option<Revocation>) -> Router {
    let state = AppState {
        revocation: revocation.map(Arc::new),
    };
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .with_state(state)
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

async fn dashboard(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
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
         <p>Reload the page to count another visit. Your session (name, counter, expiry) is \
         stored in the encrypted <code>id</code> cookie, not on the server.</p>\n",
        user = escape_html(&user),
        expiry = format_utc(session.expiry_date()),
    );
    match &state.revocation {
        Some(revocation) => {
            let _ = write!(
                body,
                "<p id=\"revocation\">Revocation: <strong>on</strong>, store: \
                 <code id=\"revocation-store\">{store}</code>. The server keeps only a \
                 tombstone for each ended session: after a logout, a copy of the cookie is \
                 refused. <em>Log out everywhere</em> also ends your sessions in other \
                 browsers.</p>\n\
                 <form method=\"post\" action=\"/logout\"><button id=\"logout\" \
                 type=\"submit\">Log out</button></form>\n\
                 <form method=\"post\" action=\"/logout-everywhere\"><button \
                 id=\"logout-everywhere\" type=\"submit\">Log out everywhere</button></form>\n",
                store = escape_html(&revocation.store),
            );
        }
        None => {
            body.push_str(
                "<p id=\"revocation\">Revocation: <strong>off</strong>. The server keeps \
                 nothing: a copy of the cookie taken before a logout stays valid until it \
                 expires.</p>\n\
                 <form method=\"post\" action=\"/logout\"><button id=\"logout\" \
                 type=\"submit\">Log out</button></form>\n",
            );
        }
    }
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
    // fixation) is worth nothing afterwards. `cycle_id` keeps the data. With revocation, the
    // new id also dates the session after any earlier "log out everywhere" of this user.
    session.cycle_id().await?;
    session.insert(USER_KEY, user).await?;
    session.insert(VISITS_KEY, 0u64).await?;
    tracing::info!(user, "logged in");
    Ok(Redirect::to("/").into_response())
}

async fn logout(session: Session) -> Result<Response, AppError> {
    // Empties the session: the response removes the cookie. With revocation on, the layer
    // also writes a tombstone for the session's id, so a copy of the cookie taken before
    // this is refused; without it, such a copy stays valid until it expires (a known limit
    // of stateless sessions).
    session.flush().await?;
    Ok(Redirect::to("/login").into_response())
}

async fn logout_everywhere(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, AppError> {
    let Some(revocation) = &state.revocation else {
        return Ok((
            StatusCode::NOT_IMPLEMENTED,
            "revocation is off in this demo: log out everywhere is not available\n",
        )
            .into_response());
    };
    let Some(user) = session.get::<String>(USER_KEY).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    // Every session of `user` created before now is refused from its next request on, in
    // every browser; a later login is not affected.
    if let Err(err) = revocation.revoker.revoke_subject(&user).await {
        tracing::error!(error = %err, user, "log out everywhere failed");
        let body = "<h1>Not logged out</h1>\n\
                    <p class=\"error\" role=\"alert\">The revocation store is unavailable, so \
                    your other sessions could not be ended. You are still logged in; try \
                    again in a moment.</p>\n\
                    <p><a href=\"/\">Back to the dashboard</a></p>\n";
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            Html(page("Not logged out", body)),
        )
            .into_response());
    }
    session.flush().await?;
    tracing::info!(user, "logged out everywhere");
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
         <button id=\"login\" type=\"submit\">Log in</button>\n\
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
         .error{{color:#b00}}label{{display:block;margin:.5em 0}}\
         form{{display:inline-block;margin-right:1em}}</style>\
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
