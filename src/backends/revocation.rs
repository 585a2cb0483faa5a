//! Revocation: a logout that logs out, on any tower-sessions store.
//!
//! With [`SessionManagerLayer::with_revocation`](crate::SessionManagerLayer::with_revocation)
//! the layer keeps tombstones (see `tombstone.rs`) in the given store:
//!
//! - a session that ends (`delete`, `flush`, `cycle_id`, or emptied by `remove`/`clear`) gets
//!   a tombstone for its old id before the response that ended it is sent;
//! - [`Revoker::revoke_subject`] writes one tombstone for a subject (the user id the
//!   application keeps under a configured session key): every session of that subject
//!   created before that instant is revoked; [`Revoker::revoke_session`] revokes one id;
//! - every authentic cookie is checked against both before the handler runs (at most once
//!   per [`with_revalidate_every`](crate::SessionManagerLayer::with_revalidate_every)
//!   interval); a revoked one is a fresh session and its cookie is removed.
//!
//! A tombstone expires when no cookie it could reject is still valid: for a session, the
//! latest sealed expiry a cookie of that session can carry (at least the revoked cookie's,
//! and never past its maximum lifetime); for a subject, the latest expiry of any cookie
//! issued before the revocation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tower_sessions_core::Expiry;
use tower_sessions_core::session::Id;
use tower_sessions_core::session_store::{self, SessionStore};

use super::tombstone::{self, Kind};
use crate::error::{ConfigError, RevocationError};
use crate::format::seal::Opened;
use crate::middleware::config::Config;

/// Where a session keeps its subject: the value that names whose session it is (a user id),
/// so that [`Revoker::revoke_subject`] can end all of that subject's sessions.
///
/// A top-level session key, or a field of the object stored under it. Strings are compared
/// as they are; other values (numbers, say) by their JSON text, so `42` and `"42"` name the
/// same subject. A session without the key (or with `null`) has no subject.
///
/// ```
/// use tower_sessions_sealed::Subject;
///
/// // session.insert("user_id", 42)
/// let plain = Subject::key("user_id");
/// // axum-login keeps `{"user_id": .., "auth_hash": ..}` under "axum-login.data"
/// let nested = Subject::key("axum-login.data").field("user_id");
/// assert_ne!(plain, nested);
/// ```
///
/// See the [crate-level example](crate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    key: Cow<'static, str>,
    field: Option<Cow<'static, str>>,
}

impl Subject {
    /// The subject is the value stored under the session key `key`.
    ///
    /// ```
    /// # use tower_sessions_sealed::Subject;
    /// let subject = Subject::key("user_id");
    /// # let _ = subject;
    /// ```
    #[must_use]
    pub fn key(key: impl Into<Cow<'static, str>>) -> Self {
        Self {
            key: key.into(),
            field: None,
        }
    }

    /// The subject is the field `field` of the object stored under the key.
    ///
    /// ```
    /// # use tower_sessions_sealed::Subject;
    /// let subject = Subject::key("auth").field("user");
    /// # let _ = subject;
    /// ```
    #[must_use]
    pub fn field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The subject's canonical bytes in a session's data.
    fn of(&self, data: &HashMap<String, Value>) -> Option<Vec<u8>> {
        let value = data.get(&*self.key)?;
        let value = match &self.field {
            Some(field) => value.get(&**field)?,
            None => value,
        };
        canonical(value)
    }
}

/// Strings as their bytes, `null` as no subject, anything else as its JSON text.
fn canonical(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        other => serde_json::to_vec(other).ok(),
    }
}

/// A store handle in the configuration; its `Debug` prints nothing of the store (a pool's
/// `Debug` can print connection options).
#[derive(Clone)]
pub(crate) struct StoreHandle(pub(crate) Arc<dyn SessionStore>);

impl fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionStore { .. }")
    }
}

/// The revocation settings of a layer, as the builders set them.
#[derive(Clone, Debug, Default)]
pub(crate) struct RevocationConfig {
    pub(crate) store: Option<StoreHandle>,
    pub(crate) subject: Option<Subject>,
    pub(crate) revalidate_every: Option<Duration>,
    pub(crate) fail_open: bool,
}

/// What the layer knows of a request's authentic cookie, for checking and ending it.
#[derive(Clone, Debug)]
pub(crate) struct CookieSession {
    pub(crate) id: Id,
    created_at: OffsetDateTime,
    expiry_date: OffsetDateTime,
    pub(crate) subject: Option<Vec<u8>>,
}

impl CookieSession {
    /// The parts of an opened cookie that checking and ending it need (the subject only
    /// with `revocation`).
    pub(crate) fn of(opened: &Opened, revocation: Option<&Revocation>) -> Self {
        let record = &opened.sealed.record;
        let subject = revocation
            .and_then(|revocation| revocation.subject.as_ref())
            .and_then(|subject| subject.of(&record.data));
        Self {
            id: record.id,
            created_at: opened.sealed.created_at,
            expiry_date: record.expiry_date,
            subject,
        }
    }
}

/// Revocation, checked and prepared once when the layer is built.
pub(crate) struct Revocation {
    store: Arc<dyn SessionStore>,
    subject: Option<Subject>,
    revalidate_every: Option<Duration>,
    fail_open: bool,
    /// The cookie name: tombstones of layers with other names never collide.
    namespace: Box<str>,
    /// The layer's expiry, to bound how long a cookie issued now can stay valid.
    expiry: Option<Expiry>,
    session_end_lifetime: Duration,
    max_lifetime: Option<Duration>,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("subject", &self.subject)
            .field("revalidate_every", &self.revalidate_every)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl Revocation {
    /// Checks the settings; `None` when no store is configured.
    pub(crate) fn compile(config: &Config) -> Result<Option<Arc<Self>>, ConfigError> {
        let settings = &config.revocation;
        let Some(store) = &settings.store else {
            let set = if settings.subject.is_some() {
                Some("with_revocation_subject")
            } else if settings.revalidate_every.is_some() {
                Some("with_revalidate_every")
            } else if settings.fail_open {
                Some("dangerous_revocation_fail_open")
            } else {
                None
            };
            return match set {
                Some(builder) => Err(ConfigError::new(format!(
                    "{builder} needs a revocation store: call with_revocation(store)"
                ))),
                None => Ok(None),
            };
        };
        if let Some(every) = settings.revalidate_every
            && !every.is_positive()
        {
            return Err(ConfigError::new(format!(
                "revalidation interval {every} must be positive"
            )));
        }
        if let Some(subject) = &settings.subject
            && (subject.key.is_empty() || subject.field.as_deref() == Some(""))
        {
            return Err(ConfigError::new(
                "the revocation subject's session key and field must be non-empty".to_owned(),
            ));
        }
        Ok(Some(Arc::new(Self {
            store: Arc::clone(&store.0),
            subject: settings.subject.clone(),
            revalidate_every: settings.revalidate_every,
            fail_open: settings.fail_open,
            namespace: config.name.clone().into_owned().into_boxed_str(),
            expiry: config.expiry,
            session_end_lifetime: config.session_end_lifetime,
            max_lifetime: config.max_lifetime,
        })))
    }

    /// Whether sessions name a subject.
    pub(crate) fn has_subject(&self) -> bool {
        self.subject.is_some()
    }

    /// The subject of a session with this data.
    pub(crate) fn subject_of(&self, data: &HashMap<String, Value>) -> Option<Vec<u8>> {
        self.subject.as_ref().and_then(|subject| subject.of(data))
    }

    /// Whether a store error lets requests through.
    pub(crate) fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// Whether checks are amortized (and so a check re-seals the cookie with its time).
    pub(crate) fn revalidates(&self) -> bool {
        self.revalidate_every.is_some()
    }

    /// Whether a cookie last checked at `checked_at` must be checked again now. The time is
    /// sealed rounded up to the second, so the store is asked at most once per interval;
    /// a time further ahead than one interval (another instance's clock) counts as due.
    pub(crate) fn check_due(
        &self,
        checked_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> bool {
        match (self.revalidate_every, checked_at) {
            (Some(every), Some(checked)) => {
                !(now < checked.saturating_add(every) && checked < now.saturating_add(every))
            }
            _ => true,
        }
    }

    /// Whether the store holds a tombstone for the cookie's session, or for its subject
    /// from after the session was created. Both lookups run concurrently.
    pub(crate) async fn is_revoked(&self, cookie: &CookieSession) -> session_store::Result<bool> {
        let session_id = tombstone::id(Kind::Session, &self.namespace, &cookie.id.0.to_le_bytes());
        let session = self.store.load(&session_id);
        let Some(subject) = &cookie.subject else {
            return Ok(session.await?.is_some());
        };
        let subject_id = tombstone::id(Kind::Subject, &self.namespace, subject);
        let (session, subject) = tombstone::join(session, self.store.load(&subject_id)).await;
        if session?.is_some() {
            return Ok(true);
        }
        Ok(match subject? {
            None => false,
            // A record at a subject id that is not a tombstone: nothing this crate wrote;
            // refuse rather than guess.
            Some(record) => tombstone::instant(&record)
                .is_none_or(|before| tombstone::nanos(cookie.created_at) < before),
        })
    }

    /// Writes the tombstone of a session that ended at `now`.
    pub(crate) async fn end(
        &self,
        cookie: &CookieSession,
        now: OffsetDateTime,
    ) -> session_store::Result<()> {
        let mut expiry = cookie.expiry_date.max(self.horizon_end(now));
        if let Some(max) = self.max_lifetime {
            expiry = expiry.min(cookie.created_at.saturating_add(max));
        }
        self.write(Kind::Session, &cookie.id.0.to_le_bytes(), now, expiry)
            .await
    }

    /// Caps the sealed expiry of a session saved at `now`, so that no cookie outlives the
    /// subject tombstone a revocation at `now` would write (only with a subject and no
    /// maximum lifetime; a maximum lifetime is already such a cap).
    pub(crate) fn seal_cap(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        if self.subject.is_none() || self.max_lifetime.is_some() {
            return None;
        }
        Some(self.sealed_end(now))
    }

    /// The latest sealed expiry of a cookie sealed at `now` (with the cap of
    /// [`Revocation::seal_cap`]).
    fn sealed_end(&self, now: OffsetDateTime) -> OffsetDateTime {
        if let Some(max) = self.max_lifetime {
            return now.saturating_add(max);
        }
        match self.expiry {
            Some(Expiry::OnInactivity(window)) => now.saturating_add(window),
            Some(Expiry::AtDateTime(at)) => at.max(now),
            Some(Expiry::OnSessionEnd) | None => now.saturating_add(self.session_end_lifetime),
        }
    }

    /// The latest sealed expiry of any cookie that can still be presented unchecked after
    /// `now`: sealed by `now`, or re-sealed without a check within one revalidation
    /// interval after it.
    fn horizon_end(&self, now: OffsetDateTime) -> OffsetDateTime {
        let slack = self.revalidate_every.unwrap_or(Duration::ZERO);
        self.sealed_end(now).saturating_add(slack)
    }

    async fn write(
        &self,
        kind: Kind,
        key: &[u8],
        instant: OffsetDateTime,
        expiry_date: OffsetDateTime,
    ) -> session_store::Result<()> {
        let id = tombstone::id(kind, &self.namespace, key);
        let record = tombstone::record(id, instant, expiry_date);
        tombstone::put(&*self.store, &record).await
    }
}

/// Revokes sessions from anywhere: an admin endpoint, a password-change handler, a job.
/// Get it from [`SessionManagerLayer::revoker`](crate::SessionManagerLayer::revoker) once the
/// layer is configured; it is cheap to clone and shares the layer's store.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_sessions::MemoryStore;
/// use tower_sessions_sealed::{KeyRing, SessionManagerLayer, Subject};
///
/// let layer = SessionManagerLayer::new(KeyRing::generate())
///     .with_revocation(MemoryStore::default())
///     .with_revocation_subject(Subject::key("user_id"));
/// let revoker = layer.revoker().expect("revocation is configured");
///
/// // "Log out everywhere" for user 42: every session created before now is refused.
/// revoker.revoke_subject(&42).await?;
/// # Ok(())
/// # }
/// ```
///
/// See the [crate-level example](crate).
#[derive(Clone, Debug)]
pub struct Revoker {
    revocation: Arc<Revocation>,
}

impl Revoker {
    pub(crate) fn new(revocation: Arc<Revocation>) -> Self {
        Self { revocation }
    }

    /// Revokes every session of `subject` created before now: each of its cookies, on every
    /// device, opens as a fresh session from its next request on (or, with
    /// [`with_revalidate_every`](crate::SessionManagerLayer::with_revalidate_every), within
    /// one interval). Sessions created afterwards (a new login) are not affected, nor are
    /// other subjects' sessions.
    ///
    /// `subject` is compared with the value stored under the layer's
    /// [`Subject`]: strings as they are, anything else by its JSON text. The session of the
    /// request calling this is revoked too: to keep it, use
    /// [`revoke_subject_except`](Self::revoke_subject_except).
    ///
    /// # Errors
    ///
    /// The store failed (the revocation may not have been written; retry), `subject`
    /// cannot be represented as JSON, or the layer has no
    /// [`with_revocation_subject`](crate::SessionManagerLayer::with_revocation_subject) (a
    /// tombstone no session is compared with would revoke nothing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tower_sessions::MemoryStore;
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer, Subject};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default())
    ///     .with_revocation_subject(Subject::key("user"));
    /// layer.revoker().unwrap().revoke_subject("ada").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_subject<T: Serialize + ?Sized>(
        &self,
        subject: &T,
    ) -> Result<(), RevocationError> {
        if self.revocation.subject.is_none() {
            return Err(RevocationError::new(
                "no subject is configured: call with_revocation_subject on the layer",
            ));
        }
        let value = serde_json::to_value(subject)
            .map_err(|_| RevocationError::new("the subject cannot be represented as JSON"))?;
        let key = canonical(&value)
            .ok_or_else(|| RevocationError::new("the subject is null, which names no one"))?;
        let now = OffsetDateTime::now_utc();
        let revocation = &self.revocation;
        revocation
            .write(Kind::Subject, &key, now, revocation.horizon_end(now))
            .await
            .map_err(RevocationError::from)
    }

    /// "Log out everywhere else": revokes every session of `subject` created before now,
    /// then gives `keep` (the session of the request asking, from a password-change
    /// handler say) a new id (`Session::cycle_id`), so that it survives the revocation with
    /// its data. Its old id is revoked when the response is sent, like any `cycle_id`.
    ///
    /// Use this rather than [`revoke_subject`](Self::revoke_subject) followed by a login
    /// that keeps the session id (axum-login's `login` only issues a new id for a session
    /// that was not logged in): a session judged by when its id was issued would otherwise
    /// be revoked too.
    ///
    /// # Errors
    ///
    /// As [`revoke_subject`](Self::revoke_subject); also when `keep` cannot be loaded (its
    /// id is then left as it was, and revoked with the others).
    ///
    /// ```
    /// use axum::{Extension, routing::post};
    /// use tower_sessions_sealed::{Revoker, Session};
    ///
    /// async fn change_password(Extension(revoker): Extension<Revoker>, session: Session) -> &'static str {
    ///     let Ok(Some(user)) = session.get::<String>("user").await else { return "not logged in" };
    ///     // ... store the new password hash ...
    ///     match revoker.revoke_subject_except(&user, &session).await {
    ///         Ok(()) => "password changed; other devices are logged out",
    ///         Err(_) => "try again",
    ///     }
    /// }
    /// let app: axum::Router = axum::Router::new().route("/password", post(change_password));
    /// # let _ = app;
    /// ```
    pub async fn revoke_subject_except<T: Serialize + ?Sized>(
        &self,
        subject: &T,
        keep: &tower_sessions_core::Session,
    ) -> Result<(), RevocationError> {
        self.revoke_subject(subject).await?;
        keep.cycle_id()
            .await
            .map_err(|_| RevocationError::new("the session to keep could not be given a new id"))
    }

    /// Revokes the session with this id (from `Session::id`): every copy of its cookie opens
    /// as a fresh session from its next request on (or within one revalidation interval).
    ///
    /// # Errors
    ///
    /// The store failed (the revocation may not have been written; retry).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tower_sessions::MemoryStore;
    /// # use tower_sessions_sealed::{KeyRing, SessionManagerLayer, session::Id};
    /// let layer = SessionManagerLayer::new(KeyRing::generate())
    ///     .with_revocation(MemoryStore::default());
    /// layer.revoker().unwrap().revoke_session(Id::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn revoke_session(&self, id: Id) -> Result<(), RevocationError> {
        let now = OffsetDateTime::now_utc();
        let revocation = &self.revocation;
        revocation
            .write(
                Kind::Session,
                &id.0.to_le_bytes(),
                now,
                revocation.horizon_end(now),
            )
            .await
            .map_err(RevocationError::from)
    }
}

impl From<session_store::Error> for RevocationError {
    fn from(err: session_store::Error) -> Self {
        Self::new(format!("revocation store failed: {err}"))
    }
}
