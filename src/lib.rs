//! Stateless, encrypted cookie sessions for tower and axum, with the tower-sessions API.
//!
//! The whole session record is serialized with postcard, sealed with XChaCha20-Poly1305
//! under a rotating [`KeyRing`] derived with HKDF-SHA256, and carried in the cookie. Nothing
//! is stored on the server: every instance that has the keys (one environment variable)
//! shares the sessions. Handlers use the real `tower_sessions_core::Session` (re-exported
//! as [`Session`]), so tower-sessions code and crates built on it, such as `axum-login`,
//! work unchanged.
//!
//! # Example (axum)
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt as _;
//! use tower_sessions_sealed::{Expiry, KeyRing, Session, SessionManagerLayer};
//!
//! async fn counter(session: Session) -> String {
//!     let n: usize = session.get("n").await.unwrap().unwrap_or_default();
//!     session.insert("n", n + 1).await.unwrap();
//!     n.to_string()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: KeyRing::from_env("SESSION_KEYS")?
//! let keys = KeyRing::generate();
//! let layer = SessionManagerLayer::new(keys)
//!     .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
//! let app = Router::new().route("/", get(counter)).layer(layer);
//!
//! let response = app.clone().oneshot(Request::new(Body::empty())).await?;
//! let cookie = response.headers()["set-cookie"].to_str()?;
//! assert!(cookie.starts_with("id="));
//! let pair = cookie.split(';').next().unwrap_or_default().to_owned();
//!
//! let request = Request::builder().header("cookie", pair).body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! let body = axum::body::to_bytes(response.into_body(), 64).await?;
//! assert_eq!(body, "1");
//! # Ok(())
//! # }
//! ```
//!
//! # Example (plain tower)
//!
//! The layer wraps any `tower::Service<http::Request<_>>`; the `Session` is in the request
//! extensions. `examples/plain_tower.rs` serves this with hyper.
//!
//! ```
//! use std::convert::Infallible;
//! use tower::{Layer as _, ServiceExt as _, service_fn};
//! use tower_sessions_sealed::{KeyRing, Session, SessionManagerLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = SessionManagerLayer::new(KeyRing::generate()).layer(service_fn(
//!     |request: http::Request<String>| async move {
//!         let session = request.extensions().get::<Session>().cloned();
//!         if let Some(session) = session {
//!             session.insert("seen", true).await.ok();
//!         }
//!         Ok::<_, Infallible>(http::Response::new(String::from("hello")))
//!     },
//! ));
//! let response = service.oneshot(http::Request::new(String::new())).await?;
//! assert!(response.headers().contains_key("set-cookie"));
//! # Ok(())
//! # }
//! ```
//!
//! # Revocation (optional)
//!
//! Stateless, a copied cookie is valid until its sealed expiry. With
//! [`SessionManagerLayer::with_revocation`] and any tower-sessions store, a session that
//! ends leaves a tombstone and every copy of its cookie is refused; a [`Revoker`] ends all
//! sessions of a user ("log out everywhere"). Live sessions stay in the cookie: the store
//! holds only tombstones.
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt as _;
//! use tower_sessions::MemoryStore;
//! use tower_sessions_sealed::{KeyRing, Session, SessionManagerLayer, Subject};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = SessionManagerLayer::new(KeyRing::generate())
//!     .with_revocation(MemoryStore::default()) // or SqliteStore, PostgresStore, RedisStore
//!     .with_revocation_subject(Subject::key("user"));
//! let revoker = layer.revoker().expect("revocation is on");
//! let app = Router::new()
//!     .route("/login", get(|s: Session| async move { s.insert("user", "ada").await.unwrap() }))
//!     .route("/me", get(|s: Session| async move {
//!         s.get::<String>("user").await.unwrap().unwrap_or_default()
//!     }))
//!     .layer(layer);
//!
//! let response = app.clone().oneshot(Request::get("/login").body(Body::empty())?).await?;
//! let cookie = response.headers()["set-cookie"].to_str()?;
//! let pair = cookie.split(';').next().unwrap_or_default().to_owned();
//!
//! revoker.revoke_subject("ada").await?; // log ada out everywhere
//!
//! let request = Request::get("/me").header("cookie", pair).body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! let body = axum::body::to_bytes(response.into_body(), 64).await?;
//! assert_eq!(body, "", "the revoked cookie is a fresh session");
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | what it gives |
//! |---|---|---|
//! | `axum-core` | yes | `Session` is an axum extractor |
//! | `ring` | yes | XChaCha20-Poly1305 from ring's ChaCha20-Poly1305 and RustCrypto's HChaCha20 (fast) |
//! | `pure-rust` | no | RustCrypto's `chacha20poly1305` (for targets ring does not build on); same bytes |
//! | `axum-login` | no | `axum_login::AuthManagerLayerBuilder` for this layer |
//!
//! # Security
//!
//! Cookies are sealed with XChaCha20-Poly1305 under keys derived once with HKDF-SHA256; the
//! format version, key id and cookie name are authenticated, and the expiry is sealed
//! inside, so the cookie's `Max-Age` is only a hint. Any cookie that does not open, for any
//! reason, is a fresh session and is removed; the reason goes to `tracing` at debug level,
//! without the cookie. Keys, cookie values and session data never appear in `Debug` output,
//! error messages or logs. The threat model and operational guidance are in `SECURITY.md`.
//!
//! # Known limits
//!
//! - Without revocation, a copied cookie is valid until its sealed expiry and logout cannot
//!   revoke copies; with it, revocation takes effect on the next request (or within the
//!   [`with_revalidate_every`](SessionManagerLayer::with_revalidate_every) interval).
//! - A client can send back an older cookie that is still valid (rollback).
//! - Concurrent requests that change the session race: the last `Set-Cookie` wins.
//! - About 2 KB of session data fits in the default 3072-byte cookie budget
//!   ([`with_cookie_budget`](SessionManagerLayer::with_cookie_budget), at most the browsers'
//!   4096 bytes; [`with_chunks`](SessionManagerLayer::with_chunks) and
//!   [`with_overflow`](SessionManagerLayer::with_overflow) carry more); a session that does not
//!   fit makes `Session::save` return an error naming the size, otherwise the layer answers
//!   `500` without `Set-Cookie`.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum-login")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum-login")))]
pub mod axum_login;
#[warn(clippy::indexing_slicing)] // reads records from a store
mod backends;
mod error;
mod format;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod middleware;

pub use backends::revocation::{Revoker, Subject};
pub use backends::sealed_store::SealedStore;
pub use error::{ConfigError, Error, ErrorKind, KeyError, KeyRingError, RevocationError};
pub use format::payload::{MAX_DEPTH, SealedRecord};
pub use format::seal::{
    MAX_VALUE_LEN, VERSION, VERSION_REVOCATION, VERSION_REVOCATION_UNSIGNED_ARRAYS,
    VERSION_UNSIGNED_ARRAYS,
};
pub use key::{Key, KeyRing};
pub use middleware::body::ResponseBody;
pub use middleware::config::{
    DEFAULT_COOKIE_BUDGET, DEFAULT_REQUEST_COOKIE_BUDGET, MAX_CHUNKS, MAX_SET_COOKIE_LEN,
};
pub use middleware::future::ResponseFuture;
pub use middleware::layer::SessionManagerLayer;
pub use middleware::service::SessionManager;

pub use cookie;
pub use cookie::SameSite;
pub use tower_sessions_core::session::{self, Expiry, Id, Record};
pub use tower_sessions_core::{Session, session_store};
