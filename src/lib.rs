//! Stateless, encrypted cookie sessions for tower and axum, with the tower-sessions API.
//!
//! The whole session record is serialized with postcard, sealed with XChaCha20-Poly1305
//! under a rotating [`KeyRing`] derived with HKDF-SHA256, and carried in the cookie. Nothing
//! is stored on the server: every instance that has the keys (one environment variable)
//! shares the sessions. Handlers use the real [`tower_sessions_core::Session`] (re-exported
//! as [`Session`]), so tower-sessions code and crates built on it, such as `axum-login`,
//! work unchanged.
//!
//! # Example (axum)
//!
//! ```
//! use axum::{Router, routing::get};
//! use tower_sessions_sealed::{Expiry, KeyRing, Session, SessionManagerLayer};
//!
//! async fn counter(session: Session) -> String {
//!     let n: usize = session.get("n").await.unwrap().unwrap_or_default();
//!     session.insert("n", n + 1).await.unwrap();
//!     n.to_string()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: KeyRing::from_env("SESSION_KEYS")?
//! let keys = KeyRing::generate();
//! let layer = SessionManagerLayer::new(keys)
//!     .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
//! let app: Router = Router::new().route("/", get(counter)).layer(layer);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aead;
#[cfg(feature = "axum-login")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum-login")))]
pub mod axum_login;
mod body;
mod config;
mod error;
mod future;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod layer;
mod payload;
mod seal;
mod service;
mod store;

pub use body::ResponseBody;
pub use config::MAX_SET_COOKIE_LEN;
pub use error::{ConfigError, Error, ErrorKind, KeyError, KeyRingError};
pub use future::ResponseFuture;
pub use key::{Key, KeyRing};
pub use layer::SessionManagerLayer;
pub use payload::{MAX_DEPTH, SealedRecord};
pub use seal::{MAX_VALUE_LEN, VERSION};
pub use service::SessionManager;

pub use cookie;
pub use cookie::SameSite;
pub use tower_sessions_core::session::{self, Expiry, Id, Record};
pub use tower_sessions_core::{Session, session_store};
