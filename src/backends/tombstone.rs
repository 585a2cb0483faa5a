//! Tombstones: the records revocation keeps in a `SessionStore`, their ids, and the one
//! write that is correct on every published store.
//!
//! A tombstone is an ordinary tower-sessions [`Record`], so any store can hold it:
//!
//! | field | value |
//! |---|---|
//! | `id` | the first 16 bytes of SHA-256 over a domain label, the cookie name and the session id (or the subject), little-endian: never a live session's id, and the same on every instance |
//! | `data` | `{"tower-sessions-sealed.revoked": <unix nanoseconds>}`: when the session was ended, or, for a subject, the instant before which its sessions are revoked |
//! | `expiry_date` | when no cookie it could reject is still valid; the store's own expiry removes it then |
//!
//! The stores disagree on `create` and `save` (research: `serverless-stores.md` §B):
//!
//! | | Memory, SQLite, PostgreSQL, MySQL | Redis 0.16 |
//! |---|---|---|
//! | `create` of an existing id | picks another id, silently | `NX`: an error (nil reply) |
//! | `save` of a missing id | inserts | `XX`: an error, never inserts |
//! | expired records | kept but hidden from `load` (SQL until `delete_expired`) | gone (TTL) |
//!
//! So a record at a fixed id has no portable insert call. [`put`] loads first: an existing
//! record is merged and `save`d (an update, which every store accepts); a missing one is
//! `create`d, and if the store moved it to another id (the id was held by a record `load`
//! hides, such as an expired tombstone), the stray copy is deleted and the record `save`d
//! (those stores upsert). A `create` that fails (Redis: another instance wrote the same
//! tombstone in between) is retried from the `load`.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

/// The data key of a tombstone.
pub(crate) const REVOKED_KEY: &str = "tower-sessions-sealed.revoked";

/// Domain label of tombstone ids.
const ID_LABEL: &[u8] = b"tower-sessions-sealed revocation v1";

/// How many times [`put`] starts over after a write lost a race.
const ATTEMPTS: usize = 3;

/// What a tombstone stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One session id.
    Session,
    /// Every session of a subject created before the tombstone's instant.
    Subject,
    /// Not a tombstone: the record of a session whose data overflowed the cookie.
    Overflow,
}

/// The tombstone id for `key` (a session id's 16 bytes, or a subject) under the cookie
/// `namespace`: applications with different cookie names never see each other's tombstones.
pub(crate) fn id(kind: Kind, namespace: &str, key: &[u8]) -> Id {
    let label: &[u8] = match kind {
        Kind::Session => b"session",
        Kind::Subject => b"subject",
        Kind::Overflow => b"overflow",
    };
    let mut hash = Sha256::new();
    hash.update(ID_LABEL);
    hash.update([0]);
    hash.update(label);
    hash.update((namespace.len() as u64).to_le_bytes());
    hash.update(namespace.as_bytes());
    hash.update(key);
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    Id(i128::from_le_bytes(bytes))
}

/// A tombstone record.
pub(crate) fn record(id: Id, instant: OffsetDateTime, expiry_date: OffsetDateTime) -> Record {
    let mut data = HashMap::with_capacity(1);
    data.insert(REVOKED_KEY.to_owned(), Value::from(nanos(instant)));
    Record {
        id,
        data,
        expiry_date,
    }
}

/// The instant a tombstone carries, if the record is one.
pub(crate) fn instant(record: &Record) -> Option<i64> {
    record.data.get(REVOKED_KEY)?.as_i64()
}

/// Unix nanoseconds, clamped to `i64` (years 1677 to 2262).
pub(crate) fn nanos(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// Two tombstones for the same id combined: the later instant, the later expiry. A record
/// that is not a tombstone (nothing this crate wrote) is replaced.
fn merge(existing: &Record, new: &Record) -> Record {
    let mut merged = new.clone();
    if let (Some(old), Some(fresh)) = (instant(existing), instant(new)) {
        merged
            .data
            .insert(REVOKED_KEY.to_owned(), Value::from(old.max(fresh)));
        merged.expiry_date = existing.expiry_date.max(new.expiry_date);
    }
    merged
}

/// Writes `tombstone` at its id, merged with any tombstone already there, on any store.
pub(crate) async fn put(store: &dyn SessionStore, tombstone: &Record) -> session_store::Result<()> {
    let mut moved = false;
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        match store.load(&tombstone.id).await? {
            Some(existing) => match store.save(&merge(&existing, tombstone)).await {
                Ok(()) => return Ok(()),
                // Redis `XX`: it expired between the load and the save; start over.
                Err(err) => last_error = Some(err),
            },
            // The id is held by a record `load` hides: an upserting store; overwrite it.
            None if moved => return store.save(tombstone).await,
            None => {
                let mut created = tombstone.clone();
                match store.create(&mut created).await {
                    Ok(()) if created.id == tombstone.id => return Ok(()),
                    Ok(()) => {
                        store.delete(&created.id).await?;
                        moved = true;
                    }
                    // Redis `NX`: another writer got there first; the next load sees it.
                    Err(err) => last_error = Some(err),
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        session_store::Error::Backend("tombstone write kept losing races".to_owned())
    }))
}

/// Polls both futures until both are done (two store lookups in one round trip's time).
pub(crate) async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    poll_fn(move |cx| {
        if out_a.is_none()
            && let Poll::Ready(value) = a.as_mut().poll(cx)
        {
            out_a = Some(value);
        }
        if out_b.is_none()
            && let Poll::Ready(value) = b.as_mut().poll(cx)
        {
            out_b = Some(value);
        }
        if out_a.is_some()
            && out_b.is_some()
            && let (Some(a), Some(b)) = (out_a.take(), out_b.take())
        {
            return Poll::Ready((a, b));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_separate_kinds_namespaces_and_keys() {
        let a = id(Kind::Session, "id", &7i128.to_le_bytes());
        assert_eq!(a, id(Kind::Session, "id", &7i128.to_le_bytes()));
        assert_ne!(a, id(Kind::Subject, "id", &7i128.to_le_bytes()));
        assert_ne!(a, id(Kind::Session, "other", &7i128.to_le_bytes()));
        assert_ne!(a, id(Kind::Session, "id", &8i128.to_le_bytes()));
        assert_ne!(a, Id(7));
    }

    #[test]
    fn merge_keeps_the_later_instant_and_expiry() {
        let t = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let old = record(Id(1), t(100), t(1000));
        let new = record(Id(1), t(50), t(500));
        let merged = merge(&old, &new);
        assert_eq!(instant(&merged), Some(nanos(t(100))));
        assert_eq!(merged.expiry_date, t(1000));
        let foreign = Record {
            id: Id(1),
            data: HashMap::new(),
            expiry_date: t(9999),
        };
        assert_eq!(merge(&foreign, &new), new);
    }
}
