//! `axum-login` on sealed cookies (feature `axum-login`): the same
//! `AuthManagerLayerBuilder::new(backend, session_layer).build()` as axum-login's, taking
//! this crate's [`SessionManagerLayer`].
//!
//! axum-login's own builder is written for tower-sessions' concrete layer type, so it cannot
//! take this one; its `AuthManager` service, `AuthSession` extractor and every handler work
//! unchanged. Migrating an axum-login app changes one import:
//!
//! ```diff
//! -use axum_login::AuthManagerLayerBuilder;
//! +use tower_sessions_sealed::axum_login::AuthManagerLayerBuilder;
//! ```
//!
//! ```
//! # use std::collections::HashMap;
//! use axum_login::{AuthUser, AuthnBackend, UserId};
//! use tower_sessions_sealed::{KeyRing, SessionManagerLayer, axum_login::AuthManagerLayerBuilder};
//!
//! #[derive(Debug, Clone)]
//! struct User { id: i64, pw_hash: Vec<u8> }
//!
//! impl AuthUser for User {
//!     type Id = i64;
//!     fn id(&self) -> i64 { self.id }
//!     fn session_auth_hash(&self) -> &[u8] { &self.pw_hash }
//! }
//!
//! #[derive(Debug, Clone, Default)]
//! struct Backend { users: HashMap<i64, User> }
//!
//! impl AuthnBackend for Backend {
//!     type User = User;
//!     type Credentials = (i64, String);
//!     type Error = std::convert::Infallible;
//!
//!     async fn authenticate(&self, (id, _pw): Self::Credentials) -> Result<Option<User>, Self::Error> {
//!         Ok(self.users.get(&id).cloned())
//!     }
//!     async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
//!         Ok(self.users.get(id).cloned())
//!     }
//! }
//!
//! let session_layer = SessionManagerLayer::new(KeyRing::generate());
//! let auth_layer = AuthManagerLayerBuilder::new(Backend::default(), session_layer).build();
//! let app: axum::Router = axum::Router::new().layer(auth_layer);
//! # let _ = app;
//! ```

use axum_login::{AuthManager, AuthnBackend};
use tower_layer::Layer;

use crate::backends::revocation::Subject;
use crate::middleware::layer::SessionManagerLayer;
use crate::middleware::service::SessionManager;

/// The session data key axum-login uses by default.
const DEFAULT_DATA_KEY: &str = "axum-login.data";

/// Where axum-login keeps the logged-in user's id: the `user_id` field of its data under
/// `data_key` (axum-login's default is `"axum-login.data"`). Give it to
/// [`SessionManagerLayer::with_revocation_subject`] so that
/// [`Revoker::revoke_subject(&user.id())`](crate::Revoker::revoke_subject) logs that user
/// out everywhere.
///
/// ```
/// use tower_sessions::MemoryStore;
/// use tower_sessions_sealed::{KeyRing, SessionManagerLayer, Subject, axum_login};
///
/// let layer = SessionManagerLayer::new(KeyRing::generate())
///     .with_revocation(MemoryStore::default())
///     .with_revocation_subject(axum_login::subject("axum-login.data"));
/// assert_eq!(
///     axum_login::subject("axum-login.data"),
///     Subject::key("axum-login.data").field("user_id")
/// );
/// # assert!(layer.check().is_ok());
/// ```
#[must_use]
pub fn subject(data_key: &'static str) -> Subject {
    Subject::key(data_key).field("user_id")
}

/// Builds an [`AuthManagerLayer`]: axum-login's `AuthManager` inside this crate's session
/// layer. Mirrors `axum_login::AuthManagerLayerBuilder`.
///
/// See the [module example](self).
#[derive(Debug, Clone)]
pub struct AuthManagerLayerBuilder<Backend> {
    backend: Backend,
    session_layer: SessionManagerLayer,
    data_key: Option<&'static str>,
}

impl<Backend: AuthnBackend> AuthManagerLayerBuilder<Backend> {
    /// A builder for `backend` on top of `session_layer`.
    ///
    /// See the [module example](self).
    pub fn new(backend: Backend, session_layer: SessionManagerLayer) -> Self {
        Self {
            backend,
            session_layer,
            data_key: None,
        }
    }

    /// The session key axum-login keeps its data under (default `"axum-login.data"`).
    ///
    /// See the [module example](self).
    #[must_use]
    pub fn with_data_key(mut self, data_key: &'static str) -> Self {
        self.data_key = Some(data_key);
        self
    }

    /// The layer.
    ///
    /// See the [module example](self).
    pub fn build(self) -> AuthManagerLayer<Backend> {
        AuthManagerLayer {
            backend: self.backend,
            session_layer: self.session_layer,
            data_key: self.data_key.unwrap_or(DEFAULT_DATA_KEY),
        }
    }
}

/// axum-login's `AuthManager` wrapped in this crate's [`SessionManager`]. Built by
/// [`AuthManagerLayerBuilder`].
///
/// See the [module example](self).
#[derive(Debug, Clone)]
pub struct AuthManagerLayer<Backend> {
    backend: Backend,
    session_layer: SessionManagerLayer,
    data_key: &'static str,
}

impl<S, Backend: AuthnBackend> Layer<S> for AuthManagerLayer<Backend> {
    type Service = SessionManager<AuthManager<S, Backend>>;

    fn layer(&self, inner: S) -> Self::Service {
        let auth = AuthManager::new(inner, self.backend.clone(), self.data_key);
        self.session_layer.layer(auth)
    }
}
