//! [`SessionManagerLayer`]: the builder, with every builder method of tower-sessions'
//! `SessionManagerLayer` plus the key ring and lifetime settings.

use std::borrow::Cow;
use std::sync::Arc;

use cookie::SameSite;
use time::Duration;
use tower_layer::Layer;
use tower_sessions_core::Expiry;
use tower_sessions_core::session_store::SessionStore;

use crate::backends::overflow::Overflow;
use crate::backends::revocation::{Revocation, Revoker, StoreHandle, Subject};
use crate::error::ConfigError;
use crate::key::KeyRing;
use crate::middleware::config::Config;
use crate::middleware::service::{SessionManager, Shared};

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

    /// Turns on revocation: tombstones for ended sessions (and revoked subjects) are kept in
    /// `store`, any tower-sessions `SessionStore` (0.14): `MemoryStore`, `SqliteStore` or
    /// `PostgresStore` (tower-sessions-sqlx-store 0.15), `RedisStore`
    /// (tower-sessions-redis-store 0.16), or your own.
    ///
    /// - A session that ends (`Session::delete`, `flush`, `cycle_id`, or emptied by
    ///   `remove`/`clear`) gets a tombstone for its old id; the response that ended it is sent
    ///   only after the tombstone is written. From then on every copy of that cookie opens as
    ///   a fresh session and is removed. (An emptied session's cookie is removed; without
    ///   revocation the layer seals the empty session, as tower-sessions does.)
    /// - Every authentic cookie is checked before the inner service is called: one store
    ///   lookup per request (two, run concurrently, with a
    ///   [subject](Self::with_revocation_subject)), or at most one per
    ///   [interval](Self::with_revalidate_every).
    /// - A store error fails closed: the request is answered `503 Service Unavailable`
    ///   without calling the inner service and without touching the cookie, and the error
    ///   is logged (see [`dangerous_revocation_fail_open`](Self::dangerous_revocation_fail_open)).
    /// - Tombstones expire with the cookies they reject. Redis drops them itself (`EXAT`);
    ///   the SQL stores need their `ExpiredDeletion::delete_expired` (a background task, or
    ///   a scheduled call where background tasks freeze, as on AWS Lambda); `MemoryStore`
    ///   never deletes expired records, so its memory grows with every logout (a few
    ///   hundred bytes each) until the process restarts.
    ///
    /// Cookies are then sealed as format version 2 ([`VERSION_REVOCATION`](crate::VERSION_REVOCATION)),
    /// which adds the session's exact creation time and its last check; version 1 cookies
    /// are still read.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default());
    /// assert!(layer.check().is_ok());
    /// assert!(layer.revoker().is_some());
    /// ```
    #[must_use]
    pub fn with_revocation<S: SessionStore>(self, store: S) -> Self {
        self.configure(|config| {
            config.revocation.store = Some(StoreHandle(Arc::new(store)));
        })
    }

    /// The largest `Set-Cookie` header value the layer emits, name, value and attributes
    /// included (default [`DEFAULT_COOKIE_BUDGET`](crate::DEFAULT_COOKIE_BUDGET), 3072
    /// bytes; between 512 and [`MAX_SET_COOKIE_LEN`](crate::MAX_SET_COOKIE_LEN), 4096,
    /// which browsers enforce).
    ///
    /// The default leaves room behind a default nginx: its `proxy_buffer_size` (4 KB on
    /// x86-64, also ingress-nginx's default) must hold the whole response header block, so a
    /// 4 KB cookie already makes it answer `502 upstream sent too big header`. Other limits:
    /// Apache `LimitRequestFieldSize` 8190 per header, AWS ALB 32 KB of response headers,
    /// Cloudflare 16 KB per header. Raise the budget only if every proxy in front allows it.
    ///
    /// A session that does not fit makes `Session::save` fail with an error naming the size
    /// and the budget (the layer then answers `500` without `Set-Cookie`), unless
    /// [`with_chunks`](Self::with_chunks) or [`with_overflow`](Self::with_overflow) carries
    /// it. The layer logs a warning once when a session comes within 10 % of the budget.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_cookie_budget(4000);
    /// assert!(layer.check().is_ok());
    /// assert!(SessionManagerLayer::new(KeyRing::generate()).with_cookie_budget(5000).check().is_err());
    /// ```
    #[must_use]
    pub fn with_cookie_budget(self, bytes: usize) -> Self {
        self.configure(|config| config.budget = bytes)
    }

    /// Carries a session too large for one cookie over up to `cookies` cookies (`name`,
    /// `name.1`, ..., at most [`MAX_CHUNKS`](crate::MAX_CHUNKS); default 1: no chunking),
    /// each within the [cookie budget](Self::with_cookie_budget), all of them within the
    /// [request budget](Self::with_request_cookie_budget). For store-less deployments that
    /// need more than about 2 KB of session data.
    ///
    /// The session is sealed once and cut; the first cookie says how many parts follow, so
    /// parts of different writes, missing, extra or reordered parts never combine into a
    /// session (any such mix is a fresh one). Every write removes the chunks it does not
    /// use, up to the cap, and removal removes them all.
    ///
    /// Where only one `Set-Cookie` survives (an AWS ALB without multi-value headers, VPC
    /// Lattice), chunking breaks: use overflow there. API Gateway caps the whole request
    /// line and headers at 10 KB.
    ///
    /// With [`with_overflow`](Self::with_overflow) too, chunking applies first: a session is
    /// carried in one cookie if it fits, else in chunks if they fit, and only then in the
    /// store.
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate()).with_chunks(2);
    /// assert!(layer.check().is_ok());
    /// assert!(SessionManagerLayer::new(KeyRing::generate()).with_chunks(9).check().is_err());
    /// ```
    #[must_use]
    pub fn with_chunks(self, cookies: usize) -> Self {
        self.configure(|config| config.chunks = cookies)
    }

    /// The most bytes the session's cookies may take in the `Cookie` header the browser
    /// sends back: every `name=value` pair and the `; ` between them (default
    /// [`DEFAULT_REQUEST_COOKIE_BUDGET`](crate::DEFAULT_REQUEST_COOKIE_BUDGET), 7168, under
    /// the common 8 KB request-header limits of nginx, Apache and S3, with room for the
    /// site's other cookies; API Gateway allows 10 KB for the whole request line and
    /// headers). Matters with [`with_chunks`](Self::with_chunks).
    ///
    /// ```
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_chunks(3)
    ///     .with_request_cookie_budget(9000);
    /// assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_request_cookie_budget(self, bytes: usize) -> Self {
        self.configure(|config| config.request_budget = bytes)
    }

    /// Keeps sessions too large for the cookie in `store` (any tower-sessions
    /// `SessionStore`, the same one as [`with_revocation`](Self::with_revocation) or
    /// another), sealed at rest as [`SealedStore`](crate::SealedStore) seals records; the
    /// cookie then carries a sealed reference (a cookie value of about 110 characters). Sessions that fit stay in
    /// the cookie and never touch the store.
    ///
    /// - Reading an overflowed session costs one store lookup, before the inner service is
    ///   called (concurrently with the revocation check).
    /// - A session that grows past the cookie limit moves to the store; one that shrinks
    ///   back moves into the cookie and its record is deleted. Deleting, flushing or cycling
    ///   an overflowed session deletes its record (and revokes it, with revocation).
    /// - Expiry and the maximum lifetime hold exactly as for cookie sessions: the record
    ///   expires with the cookie, and is rewritten whenever the cookie is re-sealed.
    /// - A record that is missing or does not open is a fresh session; a store error is
    ///   answered `503` without `Set-Cookie` (fail closed, as for revocation).
    ///
    /// Without it, a session that does not fit makes `Session::save` fail with an error
    /// naming the size and the limit.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let store = MemoryStore::default();
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(store.clone())
    ///     .with_overflow(store);
    /// assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_overflow<S: SessionStore>(self, store: S) -> Self {
        self.configure(|config| config.overflow = Some(StoreHandle(Arc::new(store))))
    }

    /// Names where a session keeps its subject (the user id), for "log out everywhere":
    /// [`Revoker::revoke_subject`] then ends every session of that subject created before
    /// the call. Needs [`with_revocation`](Self::with_revocation).
    ///
    /// Sessions are judged by when their id was issued, so issue a new id at login
    /// (`Session::cycle_id`, as axum-login does): a session that gained its subject
    /// without one would be revoked by a revocation that happened before the login.
    ///
    /// Without a [maximum lifetime](Self::with_max_lifetime), a session's sealed expiry is
    /// capped by the layer's own [`with_expiry`](Self::with_expiry) (the `OnInactivity`
    /// window, the `AtDateTime` instant, or else the
    /// [session-end lifetime](Self::with_session_end_lifetime)), so that no cookie outlives
    /// the tombstone of its subject: a per-request `Session::set_expiry` longer than that
    /// is shortened. Set a maximum lifetime to lift this cap.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer, Subject};
    ///
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default())
    ///     .with_revocation_subject(Subject::key("axum-login.data").field("user_id"));
    /// assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_revocation_subject(self, subject: Subject) -> Self {
        self.configure(|config| config.revocation.subject = Some(subject))
    }

    /// Amortizes the revocation check: the cookie carries when the store was last
    /// consulted, and the store is asked again only once `every` has passed (the response
    /// to that request re-seals the cookie with the new time). Default: every request.
    /// Needs [`with_revocation`](Self::with_revocation).
    ///
    /// A revocation then takes effect within `every`: a copy of a revoked cookie is accepted
    /// until its last check is `every` old. Writing tombstones is not amortized: an ended
    /// session's own response always waits for it.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default())
    ///     .with_revalidate_every(time::Duration::seconds(60));
    /// assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn with_revalidate_every(self, every: Duration) -> Self {
        self.configure(|config| config.revocation.revalidate_every = Some(every))
    }

    /// When the revocation store fails, let requests through as if nothing were revoked
    /// (logged at `warn`), instead of answering `503` (default `false`: fail closed).
    ///
    /// # Security
    ///
    /// While the store is down, a revoked cookie is accepted, and a logout's tombstone that
    /// could not be written is lost: copies of that cookie stay valid. Only for
    /// applications that prefer availability to revocation.
    ///
    /// ```
    /// use tower_sessions::MemoryStore;
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default())
    ///     .dangerous_revocation_fail_open(true);
    /// assert!(layer.check().is_ok());
    /// ```
    #[must_use]
    pub fn dangerous_revocation_fail_open(self, fail_open: bool) -> Self {
        self.configure(|config| config.revocation.fail_open = fail_open)
    }

    /// A handle that revokes sessions outside any request (see [`Revoker`]), or `None`
    /// without [`with_revocation`](Self::with_revocation) (or with an invalid
    /// configuration). Take it from the finished layer: it uses the expiry settings made
    /// before the call.
    ///
    /// ```
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// assert!(SessionManagerLayer::new(KeyRing::generate()).revoker().is_none());
    /// ```
    #[must_use]
    pub fn revoker(&self) -> Option<Revoker> {
        let shared = self.shared.as_ref().ok()?;
        shared
            .revocation
            .as_ref()
            .map(|r| Revoker::new(Arc::clone(r)))
    }

    /// Checks the configuration as [`Layer::layer`] will.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the problem: an invalid cookie name, path or domain, a
    /// `__Host-`/`__Secure-` name without the attributes browsers require, `SameSite=None`
    /// without `Secure`, a non-positive duration or out-of-range share, or a revocation
    /// setting without [`with_revocation`](Self::with_revocation).
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
    let revocation = Revocation::compile(config)?;
    let overflow = config
        .overflow
        .as_ref()
        .map(|store| Arc::new(Overflow::new(store, Arc::clone(keys), &config.name)));
    Ok(Arc::new(Shared {
        keys: Arc::clone(keys),
        config: config.clone(),
        cookie,
        revocation,
        overflow,
        near_budget_warned: std::sync::atomic::AtomicBool::new(false),
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
