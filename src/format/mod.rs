//! The cookie's format: what is sealed and how, independent of any web framework.
//!
//! Nothing here knows tower, http or a store; the layer calls in with bytes and records.
//!
//! - [`aead`]: XChaCha20-Poly1305 over two backends (ring, RustCrypto).
//! - [`seal`]: the envelope (`version ‖ kid ‖ nonce ‖ ciphertext`), base64url, per-key HKDF.
//! - [`payload`]: the postcard layout of a session record, format versions 0x01 to 0x04.
//! - [`record_seal`]: records sealed at rest in a store (`SealedStore`, overflow).

pub(crate) mod aead;
#[warn(clippy::indexing_slicing)] // parses untrusted input
pub(crate) mod payload;
#[warn(clippy::indexing_slicing)] // parses stored bytes
pub(crate) mod record_seal;
#[warn(clippy::indexing_slicing)] // parses untrusted input
pub(crate) mod seal;
