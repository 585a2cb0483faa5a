//! Key rotation without logging anyone out, step by step, in one process (no server).
//!
//! ```text
//! cargo run --example rotation
//! ```
//!
//! Each step builds the app with the key ring a deployment would read from `SESSION_KEYS`
//! and sends it requests with `tower::ServiceExt::oneshot`, as a browser would:
//!
//! 1. `SESSION_KEYS=<old>`: a user logs in; the cookie is sealed under `old`.
//! 2. `SESSION_KEYS=<old>,<new>` (stage the new key **second** on every instance): the old
//!    cookie opens and is left alone; new cookies are still sealed under `old`, so instances
//!    that have not been updated yet can read everything.
//! 3. `SESSION_KEYS=<new>,<old>` (promote, once every instance knows `new`): the old cookie
//!    still opens, and the response re-seals it under `new` (a different `Set-Cookie`, same
//!    session id and data).
//! 4. `SESSION_KEYS=<new>` (after the longest session lifetime): the re-sealed cookie opens;
//!    a cookie that was never re-sealed does not (fresh session, cookie removed).
//!
//! The two keys are generated on each run with `Key::generate().to_base64()` and printed
//! so the commands are concrete. Printing keys is fine for this throw-away demonstration
//! only: real keys are secrets and belong in a secret store, never in logs.
//!
//! The program checks every claim above and exits with status 1 if one does not hold.

use std::process::ExitCode;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use tower_sessions_sealed::cookie::Cookie;
use tower_sessions_sealed::{Key, KeyRing, Session, SessionManagerLayer};

/// What one request returned: the body and the session `Set-Cookie`, if any.
struct Outcome {
    body: String,
    set_cookie: Option<Cookie<'static>>,
}

impl Outcome {
    /// The new cookie value, if the response set one (not a removal).
    fn new_cookie(&self) -> Option<&str> {
        self.set_cookie
            .as_ref()
            .map(Cookie::value)
            .filter(|value| !value.is_empty())
    }

    fn removes_cookie(&self) -> bool {
        self.set_cookie
            .as_ref()
            .is_some_and(|cookie| cookie.value().is_empty())
    }
}

/// The key ids of `old` and `new`, to name the key a cookie was sealed under.
struct KeyNames {
    old: [u8; 4],
    new: [u8; 4],
}

impl KeyNames {
    fn of(&self, value: &str) -> &'static str {
        match cookie_kid(value) {
            Some(kid) if kid == self.old => "old",
            Some(kid) if kid == self.new => "new",
            _ => "an unknown key",
        }
    }

    fn describe(&self, outcome: &Outcome) -> String {
        match (&outcome.set_cookie, outcome.new_cookie()) {
            (None, _) => "no Set-Cookie (the browser keeps its cookie)".to_owned(),
            (Some(_), None) => "Set-Cookie removes the cookie".to_owned(),
            (Some(_), Some(value)) => format!(
                "Set-Cookie: id={}... sealed under {}",
                preview(value),
                self.of(value)
            ),
        }
    }
}

/// Collects failed expectations instead of stopping at the first.
#[derive(Default)]
struct Checks {
    failed: usize,
}

impl Checks {
    fn expect(&mut self, ok: bool, claim: &str) {
        if ok {
            println!("   ok: {claim}");
        } else {
            println!("   UNEXPECTED: {claim} does not hold");
            self.failed += 1;
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(0) => {
            println!("\nEvery step behaved as described.");
            ExitCode::SUCCESS
        }
        Ok(failed) => {
            println!("\n{failed} expectation(s) failed.");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("rotation: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<usize, String> {
    let old = Key::generate().to_base64();
    let new = Key::generate().to_base64();
    let (old, new) = (old.as_str(), new.as_str());
    let names = KeyNames {
        old: kid_of(old)?,
        new: kid_of(new)?,
    };
    let mut checks = Checks::default();

    println!("Two keys, as `cargo run --example keygen` prints them (shown only because this");
    println!("is a throw-away demonstration; real keys are secrets and never belong in logs):");
    println!("  old = {old}");
    println!("  new = {new}");

    // Step 1.
    let env = old.to_owned();
    step(1, "today: one key", &env, old, new);
    let app = deploy(&env)?;
    let login = send(&app, "/login", None).await?;
    println!(" - ada logs in: {}", names.describe(&login));
    let Some(original) = login.new_cookie().map(str::to_owned) else {
        return Err("the login response set no session cookie".to_owned());
    };
    checks.expect(
        names.of(&original) == "old",
        "the login cookie is sealed under old",
    );

    // Step 2.
    let env = format!("{old},{new}");
    step(
        2,
        "stage: add the new key second, on every instance",
        &env,
        old,
        new,
    );
    let app = deploy(&env)?;
    let seen = send(&app, "/whoami", Some(&original)).await?;
    println!(
        " - ada's cookie: {:?}, {}",
        seen.body,
        names.describe(&seen)
    );
    checks.expect(seen.body == "ada", "the old cookie opens");
    checks.expect(
        seen.set_cookie.is_none(),
        "it is not re-sealed (old still seals)",
    );
    let fresh = send(&app, "/login", None).await?;
    println!(" - someone logs in: {}", names.describe(&fresh));
    checks.expect(
        fresh
            .new_cookie()
            .is_some_and(|value| names.of(value) == "old"),
        "new sessions are still sealed under old, which instances not yet updated can open",
    );

    // Step 3.
    let env = format!("{new},{old}");
    step(
        3,
        "promote: move the new key first, once every instance has it",
        &env,
        old,
        new,
    );
    let app = deploy(&env)?;
    let id_before = send(&app, "/id", Some(&original)).await?.body;
    let promoted = send(&app, "/whoami", Some(&original)).await?;
    println!(
        " - ada's cookie: {:?}, {}",
        promoted.body,
        names.describe(&promoted)
    );
    checks.expect(promoted.body == "ada", "the old cookie still opens");
    let Some(resealed) = promoted.new_cookie().map(str::to_owned) else {
        checks.expect(false, "the response re-seals the cookie");
        return Ok(checks.failed);
    };
    checks.expect(
        resealed != original,
        "the response carries a different cookie...",
    );
    checks.expect(names.of(&resealed) == "new", "...sealed under new");
    let id_after = send(&app, "/id", Some(&resealed)).await?.body;
    println!(" - session id before: {id_before}, after: {id_after}");
    checks.expect(
        id_before == id_after && id_after != "None",
        "the session id is kept",
    );
    let data = send(&app, "/whoami", Some(&resealed)).await?;
    checks.expect(
        data.body == "ada" && data.set_cookie.is_none(),
        "the data is kept, and the re-sealed cookie needs no further re-sealing",
    );

    // Step 4.
    let env = new.to_owned();
    step(
        4,
        "retire: drop the old key after the longest session lifetime",
        &env,
        old,
        new,
    );
    let app = deploy(&env)?;
    let kept = send(&app, "/whoami", Some(&resealed)).await?;
    println!(
        " - ada's re-sealed cookie: {:?}, {}",
        kept.body,
        names.describe(&kept)
    );
    checks.expect(kept.body == "ada", "the re-sealed cookie opens");
    let lost = send(&app, "/whoami", Some(&original)).await?;
    println!(
        " - a copy of the step-1 cookie: {:?}, {}",
        lost.body,
        names.describe(&lost)
    );
    checks.expect(
        lost.body == "anonymous",
        "a cookie still sealed under old no longer opens (fresh session)",
    );
    checks.expect(lost.removes_cookie(), "and the response removes it");
    println!(
        "   Users who made a request while the ring was <new>,<old> were moved to the new \
         key; a cookie not seen since then now starts a fresh session."
    );

    Ok(checks.failed)
}

fn step(n: usize, title: &str, env: &str, old: &str, new: &str) {
    let shown = env.replace(old, "<old>").replace(new, "<new>");
    println!("\nStep {n}: {title}");
    println!("   SESSION_KEYS={shown}");
    println!("   (literally: SESSION_KEYS={env})");
}

/// The ring a deployment reads from `SESSION_KEYS=env`, and the app built with it.
fn deploy(env: &str) -> Result<Router, String> {
    let ring: KeyRing = env.parse().map_err(|err| format!("key ring: {err}"))?;
    let layer = SessionManagerLayer::new(ring);
    layer
        .check()
        .map_err(|err| format!("session layer configuration: {err}"))?;
    Ok(Router::new()
        .route(
            "/login",
            get(|session: Session| async move {
                session.cycle_id().await?;
                session.insert("user", "ada").await?;
                Ok::<_, SessionError>("ada")
            }),
        )
        .route(
            "/whoami",
            get(|session: Session| async move {
                let user = session.get::<String>("user").await?;
                Ok::<_, SessionError>(user.unwrap_or_else(|| "anonymous".to_owned()))
            }),
        )
        .route(
            "/id",
            get(|session: Session| async move {
                match session.id() {
                    Some(id) => id.to_string(),
                    None => "None".to_owned(),
                }
            }),
        )
        .layer(layer))
}

/// A session error as a `500` (none happens in this program).
struct SessionError(tower_sessions_sealed::session::Error);

impl From<tower_sessions_sealed::session::Error> for SessionError {
    fn from(err: tower_sessions_sealed::session::Error) -> Self {
        Self(err)
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.0.to_string()).into_response()
    }
}

/// One request to `app`, with the session cookie `cookie` if given.
async fn send(app: &Router, path: &str, cookie: Option<&str>) -> Result<Outcome, String> {
    let mut request = Request::builder().uri(path);
    if let Some(value) = cookie {
        request = request.header(header::COOKIE, format!("id={value}"));
    }
    let request = request
        .body(Body::empty())
        .map_err(|err| format!("request: {err}"))?;
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|err| format!("{path}: {err}"))?;
    let mut set_cookie = None;
    for value in response.headers().get_all(header::SET_COOKIE) {
        let text = value
            .to_str()
            .map_err(|err| format!("{path}: Set-Cookie: {err}"))?;
        let cookie =
            Cookie::parse(text.to_owned()).map_err(|err| format!("{path}: Set-Cookie: {err}"))?;
        if cookie.name() == "id" {
            set_cookie = Some(cookie);
        }
    }
    if !response.status().is_success() {
        return Err(format!("{path}: status {}", response.status()));
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("{path}: body: {err}"))?
        .to_bytes();
    Ok(Outcome {
        body: String::from_utf8_lossy(&bytes).into_owned(),
        set_cookie,
    })
}

/// The first characters of a cookie value, enough to tell two apart.
fn preview(value: &str) -> &str {
    value.get(..16).unwrap_or(value)
}

/// The key id a cookie names (bytes 1..5 of the decoded value; not secret), if it decodes.
fn cookie_kid(value: &str) -> Option<[u8; 4]> {
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    bytes.get(1..5)?.try_into().ok()
}

/// The key id of the single key in `env`.
fn kid_of(env: &str) -> Result<[u8; 4], String> {
    let ring: KeyRing = env.parse().map_err(|err| format!("key ring: {err}"))?;
    ring.key_ids()
        .next()
        .ok_or_else(|| "empty key ring".to_owned())
}
