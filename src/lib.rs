//! Stateless, encrypted cookie sessions for tower and axum, with the tower-sessions API.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aead;
mod error;
mod key;
mod payload;
mod seal;

pub use error::{Error, ErrorKind, KeyError, KeyRingError};
pub use key::{Key, KeyRing};
pub use payload::{MAX_DEPTH, SealedRecord};
pub use seal::{MAX_VALUE_LEN, VERSION};
pub use tower_sessions_core::session::{self, Expiry, Id, Record};
pub use tower_sessions_core::{Session, session_store};
