//! Optional server-side backends, over any `tower_sessions_core::SessionStore` (0.14).
//!
//! The stateless cookie stays the default and the fast path: nothing here runs unless a
//! store is configured on the layer. The layer knows no concrete store; these modules speak
//! the `SessionStore` trait only, and are written against the differences between the
//! published stores (see `tombstone.rs`).
//!
//! - [`revocation`]: tombstones for ended sessions and revoked subjects, checked before the
//!   handler runs.

pub(crate) mod revocation;
mod tombstone;
