//! The demo (`examples/demo`) in a real browser: headless Chromium driven through
//! chromedriver (`tests/support/servers.rs`) by fantoccini, against the demo's own router and
//! session layer with revocation on SQLite (in memory), served on a loopback port. The
//! browser keeps and sends the cookie itself; the test only copies it and puts a copy back,
//! as someone who stole it would.
//!
//! A missing chromium or chromedriver fails these tests with the install command
//! (`scripts/install-test-deps.sh`).

#[path = "../examples/demo/app.rs"]
mod app;
#[path = "support/servers.rs"]
mod servers;

use std::future::Future;
use std::time::Duration;

use fantoccini::cookies::Cookie;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use servers::ChromeDriver;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_sessions_sealed::KeyRing;
use tower_sessions_sqlx_store::SqliteStore;
use tower_sessions_sqlx_store::sqlx::SqlitePool;

/// The demo's name for its session cookie.
const COOKIE: &str = "id";
/// How long a page may take to appear after a click or a navigation.
const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The demo served on `127.0.0.1:<free port>` in this runtime, as `examples/demo/main.rs`
/// builds it, with the tombstones in an in-memory SQLite database.
struct Demo {
    base: String,
    server: JoinHandle<()>,
}

impl Demo {
    async fn start() -> Demo {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        let layer = app::with_revocation(app::session_layer(KeyRing::generate()), store);
        layer.check().unwrap();
        let revocation = app::Revocation {
            revoker: layer.revoker().unwrap(),
            store: "SQLite sqlite::memory:".to_owned(),
        };
        let router = app::router(Some(revocation)).layer(layer);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Demo { base, server }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A new browser session (its own Chromium and profile) on `driver`.
async fn browser(driver: &ChromeDriver) -> Client {
    ClientBuilder::new(HttpConnector::new())
        .capabilities(driver.capabilities())
        .connect(&driver.url())
        .await
        .unwrap_or_else(|err| panic!("cannot start a Chromium session: {err}"))
}

/// Runs `scenario` with `count` browser sessions, then closes them all, whether the
/// scenario succeeded, failed or panicked; then reports the scenario's outcome.
async fn with_browsers<F, Fut>(driver: &ChromeDriver, count: usize, scenario: F)
where
    F: FnOnce(Vec<Client>) -> Fut,
    Fut: Future<Output = Result<(), CmdError>> + Send + 'static,
{
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(browser(driver).await);
    }
    // A task, so that a failed assertion (a panic) still lets the sessions be closed.
    let outcome = tokio::spawn(scenario(clients.clone())).await;
    let mut closed = Vec::new();
    for client in clients {
        closed.push(client.close().await);
    }
    match outcome {
        Ok(result) => result.unwrap_or_else(|err| panic!("WebDriver command failed: {err}")),
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
    for result in closed {
        result.unwrap_or_else(|err| panic!("cannot close the browser session: {err}"));
    }
}

/// Fills in and submits the login form (the browser must be on `/login`), and waits for the
/// dashboard.
async fn log_in(c: &Client, user: &str, password: &str) -> Result<(), CmdError> {
    c.find(Locator::Css("input[name=username]"))
        .await?
        .send_keys(user)
        .await?;
    c.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(password)
        .await?;
    c.find(Locator::Id("login")).await?.click().await?;
    wait_for(c, "visits", "the dashboard").await?;
    assert_dashboard(c, user).await
}

/// Waits until the page has an element with this id, or panics saying what the browser
/// shows instead.
async fn wait_for(c: &Client, id: &str, page: &str) -> Result<(), CmdError> {
    match c
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Id(id))
        .await
    {
        Ok(_) => Ok(()),
        Err(CmdError::WaitTimeout) => {
            let url = c.current_url().await?;
            let text = c.find(Locator::Css("body")).await?.text().await?;
            panic!("expected {page} (an element #{id}), but the browser shows {url}:\n{text}");
        }
        Err(err) => Err(err),
    }
}

/// The browser shows the dashboard of `user`.
async fn assert_dashboard(c: &Client, user: &str) -> Result<(), CmdError> {
    assert_eq!(c.current_url().await?.path(), "/");
    assert!(
        c.title().await?.starts_with("Dashboard"),
        "{}",
        c.source().await?
    );
    let heading = c.find(Locator::Css("h1")).await?.text().await?;
    assert_eq!(heading, format!("Hello, {user}!"));
    let revocation = c.find(Locator::Id("revocation")).await?.text().await?;
    assert!(revocation.starts_with("Revocation: on"), "{revocation}");
    Ok(())
}

/// Waits for the login page and checks that it is one, with no session cookie left.
async fn assert_login_page(c: &Client) -> Result<(), CmdError> {
    wait_for(c, "login", "the login page").await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    assert!(
        c.title().await?.starts_with("Log in"),
        "{}",
        c.source().await?
    );
    assert!(
        session_cookie(c).await?.is_none(),
        "the session cookie should be gone"
    );
    Ok(())
}

/// The visit counter on the dashboard.
async fn visits(c: &Client) -> Result<u64, CmdError> {
    let text = c.find(Locator::Id("visits")).await?.text().await?;
    Ok(text
        .parse()
        .unwrap_or_else(|_| panic!("visit counter {text:?}")))
}

/// The browser's session cookie for the current page, if any.
async fn session_cookie(c: &Client) -> Result<Option<Cookie<'static>>, CmdError> {
    Ok(c.get_all_cookies()
        .await?
        .into_iter()
        .find(|cookie| cookie.name() == COOKIE))
}

/// Replaces the browser's session cookie by `copy` (same name, value, path and domain).
async fn put_back(c: &Client, copy: &Cookie<'static>) -> Result<(), CmdError> {
    c.delete_cookie(COOKIE).await?;
    c.add_cookie(copy.clone()).await?;
    let now = c.get_named_cookie(COOKIE).await?;
    assert_eq!(now.value(), copy.value(), "the copy is back in the browser");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_refuses_a_copy_of_the_cookie() {
    let driver = ChromeDriver::start();
    let demo = Demo::start().await;
    let (login, home) = (demo.url("/login"), demo.url("/"));
    with_browsers(&driver, 1, |clients| async move {
        let c = &clients[0];
        c.goto(&login).await?;
        assert_login_page(c).await?;
        log_in(c, "grace", "hopper").await?;
        assert_eq!(visits(c).await?, 1);
        c.refresh().await?;
        c.refresh().await?;
        assert_eq!(visits(c).await?, 3, "two reloads, two more visits");
        let expiry = c.find(Locator::Id("expiry")).await?.text().await?;
        assert!(expiry.ends_with(" UTC"), "{expiry}");

        let copy = c.get_named_cookie(COOKIE).await?;
        assert_eq!(copy.path(), Some("/"));
        assert_eq!(copy.http_only(), Some(true));
        // Control: putting a copy back works while the session is alive (so the refusal
        // below is the server's doing, not a cookie the browser would not send).
        put_back(c, &copy).await?;
        c.refresh().await?;
        assert_dashboard(c, "grace").await?;
        assert_eq!(visits(c).await?, 4);
        let copy = c.get_named_cookie(COOKIE).await?;

        c.find(Locator::Id("logout")).await?.click().await?;
        assert_login_page(c).await?;

        // The copy taken before the logout is refused: a fresh session, the cookie removed.
        put_back(c, &copy).await?;
        c.goto(&home).await?;
        assert_login_page(c).await?;

        // A new login works as before.
        log_in(c, "grace", "hopper").await?;
        assert_eq!(visits(c).await?, 1);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_ends_every_session_of_the_user() {
    let driver = ChromeDriver::start();
    let demo = Demo::start().await;
    let (login, home) = (demo.url("/login"), demo.url("/"));
    // Two browsers (two profiles, two cookie jars): ada on her laptop and on her phone.
    with_browsers(&driver, 2, |clients| async move {
        let (laptop, phone) = (&clients[0], &clients[1]);
        for c in [laptop, phone] {
            c.goto(&login).await?;
            log_in(c, "ada", "lovelace").await?;
        }
        let copy = laptop.get_named_cookie(COOKIE).await?;
        let phone_cookie = phone.get_named_cookie(COOKIE).await?;
        assert_ne!(copy.value(), phone_cookie.value(), "two sessions");

        laptop
            .find(Locator::Id("logout-everywhere"))
            .await?
            .click()
            .await?;
        assert_login_page(laptop).await?;

        // The laptop's old cookie is refused...
        put_back(laptop, &copy).await?;
        laptop.goto(&home).await?;
        assert_login_page(laptop).await?;

        // ...and so is the phone's, which nobody logged out there.
        phone.refresh().await?;
        assert_login_page(phone).await?;

        // Logging in again afterwards is not affected by the revocation.
        log_in(laptop, "ada", "lovelace").await?;
        assert_eq!(visits(laptop).await?, 1);
        Ok(())
    })
    .await;
}
