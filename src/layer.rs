//! [`SessionManagerLayer`]: the builder, with every builder method of tower-sessions'
//! `SessionManagerLayer` plus the key ring and lifetime settings.

use std::borrow::Cow;
use std::sync::Arc;

use cookie::SameSite;
use time::Duration;
use tower_layer::Layer;
use tower_sessions_core::Expiry;

use crate::config::Config;
use crate::error::ConfigError;
use crate::key::KeyRing;
use crate::service::{SessionManager, Shared};

/// Layer that gives every request a `Session` carried in a sealed cookie.
///
/// A layer cannot exist without keys: [`SessionManagerLayer::new`] takes the [`KeyRing`].
/// Defaults are tower-sessions' (cookie `id`, `Path=/`, `HttpOnly`, `Secure`,
/// `SameSite=Strict`, no `Expiry`), plus: `OnSessionEnd` sessions are sealed for two weeks
/// ([`with_session_end_lifetime`](Self::with_session_end_lifetime)), no absolute lifetime
/// cap ([`with_max_lifetime`](Self::with_max_lifetime)), and `OnInactivity` cookies are
/// re-issued on activity once a quarter of the window has passed
/// ([`with_refresh_after`](Self::with_refresh_after)).
///
/// The configuration is checked when the layer is applied to a service (at start-up): an
/// impossible cookie (for example `__Host-` with a `Domain`) panics there with a message
/// naming the problem. Call [`check`](Self::check) to get that as an error instead.
///
/// ```
/// use time::Duration;
/// use tower_sessions_sealed::{Expiry, KeyRing, SessionManagerLayer, cookie::SameSite};
///
/// let layer = SessionManagerLayer::new(KeyRing::generate())
///     .with_name("__Host-session")
///     .with_same_site(SameSite::Lax)
///     .with_expiry(Expiry::OnInactivity(Duration::hours(8)))
///     .with_max_lifetime(Duration::days(7));
/// assert!(layer.check().is_ok());
/// ```
///
/// See the [crate-level example](crate).
#[derive(Debug, Clone)]
pub struct SessionManagerLayer {
    keys: Arc<KeyRing>,
    config: Config,
    /// Checked configuration and prepared cookie strings, rebuilt by every builder so that
    /// [`Layer::layer`] (which axum may call per request on an unfinished router) only
    /// clones an `Arc`.
    shared: Result<Arc<Shared>, ConfigError>,
}

impl SessionManagerLayer {
    /// A layer sealing sessions under `keys` (a [`KeyRing`] or an `Arc<KeyRing>`).
    ///
    /// ```
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let layer = SessionManagerLayer::new(KeyRing::generate());
    /// # let _ = layer;
    /// ```
    pub fn new(keys: impl Into<Arc<KeyRing>>) -> Self {
        let keys = keys.into();
        let config = Config::default();
        let shared = compile(&keys, &config);
        Self {
            keys,
            config,
            shared,
        }
    }

    /// Applies a change to the configuration and prepares it again.
    fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self.shared = compile(&self.keys, &self.config);
        self
    }

    /// Replaces the key ring (for example with one that has a new key first).
    ///
    /// ```
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let rotated: KeyRing = "0b8yTyWmc2NI0LlPzc3vDkQqfT64sOWn5jH1oWc0DRg".parse().unwrap();
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_keys(rotated);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_keys(mut self, keys: impl Into<Arc<KeyRing>>) -> Self {
        self.keys = keys.into();
        self.configure(|_| {})
    }

    /// The cookie's name (default `id`). `__Host-` names need `Secure`, `Path=/` and no
    /// domain; `__Secure-` names need `Secure`.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_name("__Host-session");
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_name<N: Into<Cow<'static, str>>>(self, name: N) -> Self {
        self.configure(|config| config.name = name.into())
    }

    /// Whether the cookie is `HttpOnly` (default `true`).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_http_only(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.configure(|config| config.http_only = http_only)
    }

    /// The cookie's `SameSite` (default `Strict`). `SameSite::None` needs `Secure`.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer, cookie::SameSite};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_same_site(SameSite::Lax);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.configure(|config| config.same_site = same_site)
    }

    /// How sessions expire (default: none, which behaves as `OnSessionEnd`).
    ///
    /// - `OnSessionEnd`: a browser-session cookie (no `Max-Age`); the sealed record still
    ///   expires after [`with_session_end_lifetime`](Self::with_session_end_lifetime).
    /// - `OnInactivity(d)`: expires `d` after the last activity. Any request carrying a valid
    ///   session counts as activity; the cookie is re-issued once the share set by
    ///   [`with_refresh_after`](Self::with_refresh_after) of `d` has passed.
    /// - `AtDateTime(t)`: expires at `t`, a fixed instant for every session (`Max-Age` is
    ///   never negative: after `t` new sessions get `Max-Age=0`).
    ///
    /// The sealed expiry decides; `Max-Age` is only a hint to the browser.
    ///
    /// ```
    /// # use tower_sessions_sealed::{Expiry, KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_expiry(self, expiry: Expiry) -> Self {
        self.configure(|config| config.expiry = Some(expiry))
    }

    /// Whether the cookie is `Secure` (default `true`).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// // Plain-http development only.
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_secure(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_secure(self, secure: bool) -> Self {
        self.configure(|config| config.secure = secure)
    }

    /// The cookie's `Path` (default `/`).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_path("/app");
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_path<P: Into<Cow<'static, str>>>(self, path: P) -> Self {
        self.configure(|config| config.path = path.into())
    }

    /// The cookie's `Domain` (default none: a host-only cookie, which is safer).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_domain("example.com");
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_domain<D: Into<Cow<'static, str>>>(self, domain: D) -> Self {
        self.configure(|config| config.domain = Some(domain.into()))
    }

    /// Re-issue the cookie on every response to a request with a valid session (default
    /// `false`), as tower-sessions' `with_always_save`. With `OnInactivity`, sliding expiry
    /// already works without it.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_always_save(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_always_save(self, always_save: bool) -> Self {
        self.configure(|config| config.always_save = always_save)
    }

    /// An absolute cap on a session's life, counted from when its id was issued (a fresh
    /// session or `cycle_id`, for example at login), that holds across every sliding
    /// renewal (default: none).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_max_lifetime(time::Duration::days(30));
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_max_lifetime(self, max_lifetime: Duration) -> Self {
        self.configure(|config| config.max_lifetime = Some(max_lifetime))
    }

    /// How long an `OnSessionEnd` (or no-expiry) session stays valid after it was last
    /// saved (default two weeks). Its cookie has no `Max-Age`, so the browser drops it at
    /// the end of its session; this bounds replay of a copied cookie.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_session_end_lifetime(time::Duration::days(1));
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_session_end_lifetime(self, lifetime: Duration) -> Self {
        self.configure(|config| config.session_end_lifetime = lifetime)
    }

    /// For `Expiry::OnInactivity(d)`: re-issue the cookie of an unmodified session once
    /// re-sealing would extend its expiry by at least `share × d` (default `0.25`). `0.0`
    /// re-issues on every request; `1.0` only when the session has almost expired. Smaller
    /// shares track inactivity more exactly at the cost of more `Set-Cookie` headers: with
    /// the default, a session expires between `0.75 × d` and `d` after the last request.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_refresh_after(0.5);
    /// # assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_refresh_after(self, share: f64) -> Self {
        self.configure(|config| config.refresh_after = share)
    }

    /// Checks the configuration as [`Layer::layer`] will.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the problem: an invalid cookie name, path or domain, a
    /// `__Host-`/`__Secure-` name without the attributes browsers require, `SameSite=None`
    /// without `Secure`, or a non-positive duration or out-of-range share.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_name("bad name");
    /// assert!(layer.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        self.shared.as_ref().map(|_| ()).map_err(Clone::clone)
    }
}

fn compile(keys: &Arc<KeyRing>, config: &Config) -> Result<Arc<Shared>, ConfigError> {
    let cookie = config.compile()?;
    Ok(Arc::new(Shared {
        keys: Arc::clone(keys),
        config: config.clone(),
        cookie,
    }))
}

impl<S> Layer<S> for SessionManagerLayer {
    type Service = SessionManager<S>;

    /// # Panics
    ///
    /// If the configuration is invalid (see [`SessionManagerLayer::check`]): this happens
    /// while the application is being assembled, never while serving a request.
    fn layer(&self, inner: S) -> Self::Service {
        match &self.shared {
            Ok(shared) => SessionManager::new(inner, Arc::clone(shared)),
            Err(err) => panic!("{err}"),
        }
    }
}
