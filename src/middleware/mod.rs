//! The tower middleware: the layer, its service and response future, and the per-request
//! shim that hands tower-sessions' `Session` its record.
//!
//! It knows no concrete store: server-side work goes through [`crate::backends`].
//!
//! - [`layer`]: `SessionManagerLayer`, the builder users configure.
//! - [`config`]: the validated configuration and the cookie's attributes.
//! - [`service`]: `SessionManager`, reading the request's cookie and opening it.
//! - [`future`]: the response future: revocation check, the handler, the `Set-Cookie`.
//! - [`request_store`]: the per-request `SessionStore` the `Session` loads from and saves to.
//! - [`chunks`]: one sealed value spread over several cookies.
//! - [`body`]: the response body type.

pub(crate) mod body;
#[warn(clippy::indexing_slicing)] // parses untrusted input
pub(crate) mod chunks;
pub(crate) mod config;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod request_store;
#[warn(clippy::indexing_slicing)] // parses untrusted input
pub(crate) mod service;
