//! Optional server-side backends, over any `tower_sessions_core::SessionStore` (0.14).
//!
//! The stateless cookie stays the default and the fast path: nothing here runs unless a
//! store is configured on the layer. The layer knows no concrete store; these modules speak
//! the `SessionStore` trait only, and are written against the differences between the
//! published stores (see `tombstone.rs`).
//!
//! - [`revocation`]: tombstones for ended sessions and revoked subjects, checked before the
//!   handler runs.
//! - [`overflow`]: sessions too large for the cookie, kept in the store and referred to by
//!   the cookie.
//! - [`sealed_store`]: a `SessionStore` wrapper that keeps session data sealed at rest, for
//!   tower-sessions' own layer.

pub(crate) mod overflow;
pub(crate) mod revocation;
pub(crate) mod sealed_store;
pub(crate) mod tombstone;
