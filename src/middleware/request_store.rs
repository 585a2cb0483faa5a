//! The per-request `SessionStore`: holds the record opened from this request's cookie and
//! seals whatever the session saves. It touches no network or disk, except for a session
//! too large for the cookie when overflow is configured (`backends/overflow.rs`).
//!
//! `tower_sessions_core::Session` talks to a store; this one lives for one request:
//!
//! | `Session` calls | this store does |
//! |---|---|
//! | `load(id)` | returns the authenticated record from the cookie if `id` is its id (or the record saved earlier in this request) |
//! | `create(record)` / `save(record)` | seals the record, checks the `Set-Cookie` size, keeps the header for the response; with overflow, a record too large is written to the store and the cookie seals a reference |
//! | `delete(id)` | marks the session deleted: the response removes the cookie unless the session is saved again |

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use http::HeaderValue;
use time::OffsetDateTime;
use tower_sessions_core::Expiry;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use crate::error::{Error, ErrorKind};
use crate::format::payload::{PayloadView, StoreFields};
use crate::format::seal::{MAX_VALUE_LEN, Opened, Plaintext};
use crate::middleware::config::{Config, MAX_SET_COOKIE_LEN, NEAR_BUDGET};
use crate::middleware::service::Shared;

/// A sealed `Set-Cookie` ready for the response.
pub(crate) struct Saved {
    /// The session cookie (the base cookie when chunked).
    pub(crate) header: HeaderValue,
    /// Chunk cookies 1, 2, ... (empty when the session fits in one cookie).
    pub(crate) chunks: Vec<HeaderValue>,
    pub(crate) id: Id,
}

fn to_header(header: Vec<u8>) -> Result<HeaderValue, Error> {
    HeaderValue::try_from(header).map_err(|_| Error::new(ErrorKind::Cipher))
}

struct State {
    /// The expiry kind used when sealing: the layer's, then the session's own at the end of
    /// the request (`Session::set_expiry` is per request, as upstream).
    expiry: Option<Expiry>,
    /// The authenticated record from the request's cookie, until the session loads it (it
    /// is moved, not cloned) or deletes it.
    opened: Option<Record>,
    /// Its plaintext, to decode it again if it is needed after it was moved.
    plaintext: Option<Plaintext>,
    /// The id and sealed expiry the cookie carried (`None` once deleted), and when the id
    /// was issued.
    opened_id: Option<Id>,
    opened_expiry: Option<OffsetDateTime>,
    /// The id `created_at` belongs to (the cookie's, even after it was deleted).
    created_id: Option<Id>,
    created_at: OffsetDateTime,
    saved: Option<Saved>,
    deleted: bool,
    /// When the revocation store last confirmed the cookie's session (sealed again with it).
    checked_at: Option<OffsetDateTime>,
    /// Whether that was during this request.
    checked_now: bool,
    /// The cookie's session overflowed: its record is in the overflow store.
    incoming_stored: bool,
    /// For an overflowed cookie session: a copy of the record loaded from the store (the
    /// plaintext of its cookie holds no data to decode again).
    fallback: Option<Box<Record>>,
    /// A record this request wrote to the overflow store, for a later `load` of its id.
    saved_record: Option<Box<Record>>,
    /// When a new id was issued during this request (every seal of it uses the same time).
    new_created: Option<(Id, OffsetDateTime)>,
    /// An overflow store write failed (the response is then a `503`).
    store_failed: bool,
}

/// When a seal's session was created and until when it is valid.
#[derive(Clone, Copy)]
struct Plan {
    created_at: OffsetDateTime,
    expiry_date: OffsetDateTime,
    same_session: bool,
}

/// The per-request store behind the request's `Session`.
pub(crate) struct RequestStore {
    shared: Arc<Shared>,
    now: OffsetDateTime,
    state: Mutex<State>,
}

impl RequestStore {
    /// `checked_now`: the revocation store confirmed the cookie during this request.
    pub(crate) fn new(
        shared: Arc<Shared>,
        opened: Option<Opened>,
        now: OffsetDateTime,
        checked_now: bool,
    ) -> Self {
        let (opened, plaintext, created_at, fields) = match opened {
            Some(opened) => (
                Some(opened.sealed.record),
                Some(opened.plaintext),
                opened.sealed.created_at,
                opened.revocation.unwrap_or_default(),
            ),
            None => (None, None, now, StoreFields::default()),
        };
        let checked_at = fields.checked_at;
        let incoming_stored = fields.stored && opened.is_some();
        // Its cookie's plaintext holds no data: keep the record loaded from the store.
        let (plaintext, fallback) = if incoming_stored {
            (None, opened.clone().map(Box::new))
        } else {
            (plaintext, None)
        };
        let checked_at = if checked_now { Some(now) } else { checked_at };
        let state = State {
            expiry: shared.config.expiry,
            opened_id: opened.as_ref().map(|record| record.id),
            opened_expiry: opened.as_ref().map(|record| record.expiry_date),
            created_id: opened.as_ref().map(|record| record.id),
            opened,
            plaintext,
            created_at,
            saved: None,
            deleted: false,
            checked_at,
            checked_now,
            incoming_stored,
            fallback,
            saved_record: None,
            new_created: None,
            store_failed: false,
        };
        Self {
            shared,
            now,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something ever did, the state is still
        // consistent (every update is a single assignment).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the expiry kind the next seal uses.
    pub(crate) fn set_expiry(&self, expiry: Option<Expiry>) {
        self.state().expiry = expiry;
    }

    /// The header sealed by the last `save`/`create`, if any.
    pub(crate) fn take_saved(&self) -> Option<Saved> {
        self.state().saved.take()
    }

    /// Whether `delete` was called for this session and nothing was saved since.
    pub(crate) fn is_deleted(&self) -> bool {
        self.state().deleted
    }

    /// Whether the request's cookie session is overflowed (its record is in the store).
    pub(crate) fn incoming_stored(&self) -> bool {
        self.state().incoming_stored
    }

    /// Whether an overflow store write failed during this request.
    pub(crate) fn store_failed(&self) -> bool {
        self.state().store_failed
    }

    /// Whether the revocation store confirmed the cookie during this request.
    pub(crate) fn checked_now(&self) -> bool {
        self.state().checked_now
    }

    /// The expiry date sealed in the request's cookie.
    pub(crate) fn opened_expiry(&self) -> Option<OffsetDateTime> {
        self.state().opened_expiry
    }

    /// Re-seals the unmodified record from the request's cookie with a fresh expiry (sliding
    /// expiry, key rotation, `always_save`).
    pub(crate) fn reseal_opened(&self) -> Option<Result<Saved, Error>> {
        let mut state = self.state();
        let id = state.opened_id?;
        let plan = self.plan(&mut state, id);
        // The record itself if the session never loaded it, else decoded again from the
        // cookie's plaintext (the session took it): never copied.
        let decoded;
        let data = match (&state.opened, &state.fallback, &state.plaintext) {
            (Some(record), _, _) => &record.data,
            (None, Some(record), _) => &record.data,
            (None, None, Some(plaintext)) => {
                decoded = plaintext.decode()?.record;
                &decoded.data
            }
            (None, None, None) => return None,
        };
        Some(self.seal_cookie(&state, &plan, id, data, false))
    }

    /// [`RequestStore::reseal_opened`] for an overflowed session: its record is written
    /// again (with the new expiry) and the reference re-sealed.
    pub(crate) async fn reseal_stored(&self) -> Option<session_store::Result<Saved>> {
        let record = {
            let state = self.state();
            state.opened_id?;
            state
                .opened
                .clone()
                .or_else(|| state.fallback.as_deref().cloned())?
        };
        if let Err(err) = self.save_record(&record).await {
            return Some(Err(err));
        }
        self.take_saved().map(Ok)
    }

    /// What the sealed expiry of a session saved now would be.
    pub(crate) fn next_expiry(&self, expiry: Option<Expiry>) -> OffsetDateTime {
        let created_at = self.state().created_at;
        self.sealed_expiry(expiry, created_at)
    }

    /// The expiry sealed now: the configuration's, capped for subject revocation.
    fn sealed_expiry(&self, expiry: Option<Expiry>, created_at: OffsetDateTime) -> OffsetDateTime {
        let date = self
            .shared
            .config
            .sealed_expiry(expiry, created_at, self.now);
        match self
            .shared
            .revocation
            .as_ref()
            .and_then(|r| r.seal_cap(self.now))
        {
            Some(cap) => date.min(cap),
            None => date,
        }
    }

    async fn save_record(&self, record: &Record) -> session_store::Result<()> {
        let (fits, plan, incoming_stored) = {
            let mut state = self.state();
            if self.shared.revocation.is_some()
                && record.data.is_empty()
                && state.created_id == Some(record.id)
            {
                // With revocation, the cookie's session emptied by `remove`/`clear` ends: the
                // cookie is removed and its id revoked (tower-sessions, and this layer
                // without revocation, keep sealing the empty session).
                state.saved = None;
                state.deleted = true;
                return Ok(());
            }
            let plan = self.plan(&mut state, record.id);
            let fits = self.seal_cookie(&state, &plan, record.id, &record.data, false);
            (fits, plan, state.incoming_stored && plan.same_session)
        };
        let (saved, keep) = match (fits, &self.shared.overflow) {
            (Ok(saved), overflow) => {
                // A chunked cookie cannot be read back from its first header: keep the
                // record for a later `load` in this request.
                let keep = (!saved.chunks.is_empty()).then(|| Box::new(record.clone()));
                if let (true, Some(overflow)) = (incoming_stored, overflow) {
                    // It fits again: back into the cookie, and its record goes.
                    if let Err(err) = overflow.delete(record.id).await {
                        tracing::warn!(
                            error = %err,
                            "the record of a session that moved back into its cookie could \
                             not be deleted; it expires by itself"
                        );
                    }
                    self.state().incoming_stored = false;
                }
                (saved, keep)
            }
            (Err(err), Some(overflow))
                if matches!(
                    err.kind(),
                    ErrorKind::CookieTooLarge { .. }
                        | ErrorKind::TooManyChunks { .. }
                        | ErrorKind::RequestCookiesTooLarge { .. }
                ) =>
            {
                let written = overflow
                    .save(record.id, plan.expiry_date, &record.data, incoming_stored)
                    .await;
                if let Err(err) = written {
                    self.state().store_failed = true;
                    return Err(err);
                }
                let saved = {
                    let mut state = self.state();
                    if plan.same_session {
                        state.incoming_stored = true;
                    }
                    self.seal_cookie(&state, &plan, record.id, &HashMap::new(), true)?
                };
                (saved, Some(Box::new(record.clone())))
            }
            (Err(err), _) => return Err(err.into()),
        };
        // The record is kept for a later `load` in this request when the cookie cannot be
        // read back from its first header (chunked) or holds only a reference (overflow).
        let mut state = self.state();
        state.saved_record = keep;
        state.saved = Some(saved);
        state.deleted = false;
        Ok(())
    }

    /// The creation time and sealed expiry of a seal of session `id` now.
    fn plan(&self, state: &mut State, id: Id) -> Plan {
        // A new id (fresh session, `cycle_id`) starts a new lifetime.
        let same_session = state.created_id == Some(id);
        // A new id is issued now: read the clock again rather than use the request's start,
        // so that a subject revoked earlier in this request (a password change that logs in
        // again) does not revoke the session issued after it.
        let created_at = if same_session {
            state.created_at
        } else {
            match state.new_created {
                Some((new_id, at)) if new_id == id => at,
                _ => {
                    let at = OffsetDateTime::now_utc().max(self.now);
                    state.new_created = Some((id, at));
                    at
                }
            }
        };
        Plan {
            created_at,
            expiry_date: self.sealed_expiry(state.expiry, created_at),
            same_session,
        }
    }

    /// Seals session `id` with `data` into a `Set-Cookie`; `stored`: the data is in the
    /// overflow store (`data` is then empty).
    fn seal_cookie(
        &self,
        state: &State,
        plan: &Plan,
        id: Id,
        data: &HashMap<String, serde_json::Value>,
        stored: bool,
    ) -> Result<Saved, Error> {
        let config: &Config = &self.shared.config;
        let (created_at, expiry_date) = (plan.created_at, plan.expiry_date);
        // With a store: format version 2, carrying the last check (a new id has nothing to
        // be revoked by yet, so it counts as checked now) and whether the data is stored.
        let v2 = self.shared.revocation.is_some() || self.shared.overflow.is_some();
        let revocation = v2.then_some(StoreFields {
            checked_at: if plan.same_session {
                state.checked_at
            } else {
                Some(self.now)
            },
            stored,
        });
        let payload = PayloadView {
            id,
            expiry_date,
            created_at,
            data,
            revocation,
        };
        let cookie = &self.shared.cookie;
        let max_age = Config::max_age(state.expiry, expiry_date, self.now);
        // Allocated once, at its final length: `name=`, the value, then exactly the
        // attributes `finish` appends.
        let mut header = Vec::new();
        let sealed = self.shared.keys.seal_payload_into(
            &config.name,
            payload,
            &mut header,
            (cookie.prefix().as_bytes(), cookie.suffix_len_for(max_age)),
            MAX_VALUE_LEN * config.chunks,
        );
        if let Err(err) = sealed {
            // Too large even before the attributes: report the whole `Set-Cookie` against
            // the budget (or what chunks can carry).
            return Err(match err.kind() {
                ErrorKind::CookieTooLarge { size, .. } => {
                    let size = cookie.prefix_len() + size + cookie.suffix_len_for(max_age);
                    Error::new(if config.chunks > 1 {
                        ErrorKind::TooManyChunks {
                            size,
                            cap: config.chunks,
                        }
                    } else {
                        ErrorKind::CookieTooLarge {
                            size,
                            limit: config.budget,
                        }
                    })
                }
                _ => err,
            });
        }
        let value_end = header.len();
        cookie.finish(&mut header, max_age);
        let size = header.len();
        if size <= config.budget && size <= MAX_SET_COOKIE_LEN {
            self.warn_if_near_budget(size);
            let header = to_header(header)?;
            return Ok(Saved {
                header,
                chunks: Vec::new(),
                id,
            });
        }
        if config.chunks > 1 {
            let value = header
                .get(cookie.prefix_len()..value_end)
                .ok_or(Error::new(ErrorKind::Cipher))?;
            return self.seal_chunks(value, max_age, id, size);
        }
        Err(Error::new(ErrorKind::CookieTooLarge {
            size,
            limit: config.budget,
        }))
    }

    /// Cuts a sealed value too large for one cookie over as few chunk cookies as fit
    /// (`chunks.rs`), each within the budget, all within the request budget.
    fn seal_chunks(
        &self,
        value: &[u8],
        max_age: Option<time::Duration>,
        id: Id,
        single: usize,
    ) -> Result<Saved, Error> {
        let config: &Config = &self.shared.config;
        let cookie = &self.shared.cookie;
        let suffix = cookie.suffix_len_for(max_age);
        let budget = config.budget.min(MAX_SET_COOKIE_LEN);
        let room: Vec<usize> = (0..config.chunks)
            .map(|index| {
                cookie
                    .chunk_prefix(index)
                    .map_or(0, |prefix| budget.saturating_sub(prefix.len() + suffix))
            })
            .collect();
        let too_many = Error::new(ErrorKind::TooManyChunks {
            size: single,
            cap: config.chunks,
        });
        let parts =
            crate::middleware::chunks::split(value, &room).ok_or_else(|| too_many.clone())?;
        let count = parts.len();
        let mut request = 2 * (count - 1);
        let mut headers = Vec::with_capacity(count);
        for (index, part) in parts.into_iter().enumerate() {
            // Chunk i is `name.i=part`; the base cookie `name=COUNT.part`.
            let prefix = cookie.chunk_prefix(index).ok_or_else(|| too_many.clone())?;
            let mut header = Vec::with_capacity(budget);
            header.extend_from_slice(prefix.as_bytes());
            if index == 0 {
                header.push(b'0' + u8::try_from(count).unwrap_or(0));
                header.push(b'.');
            }
            header.extend_from_slice(part);
            request += header.len();
            cookie.finish(&mut header, max_age);
            headers.push(to_header(header)?);
        }
        if request > config.request_budget {
            return Err(Error::new(ErrorKind::RequestCookiesTooLarge {
                size: request,
                limit: config.request_budget,
            }));
        }
        let mut headers = headers.into_iter();
        let header = headers.next().ok_or(too_many)?;
        Ok(Saved {
            header,
            chunks: headers.collect(),
            id,
        })
    }

    /// Logs once per layer when a session cookie comes within 10 % of the budget.
    fn warn_if_near_budget(&self, size: usize) {
        let budget = self.shared.config.budget;
        if size as f64 >= NEAR_BUDGET * budget as f64
            && !self.shared.near_budget_warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                size,
                budget,
                "a session cookie is {size} bytes, within 10% of the {budget}-byte budget: \
                 larger sessions will fail to save (configure with_chunks or with_overflow, \
                 or keep less in the session); logged once"
            );
        }
    }

    fn load_record(&self, id: &Id) -> Option<Record> {
        let mut state = self.state();
        if state.opened_id == Some(*id) {
            // The first load takes the record; a later one (`Session::load`) decodes it again.
            return match state.opened.take() {
                Some(record) => Some(record),
                None => state.fallback.as_deref().cloned().or_else(|| {
                    state
                        .plaintext
                        .as_ref()
                        .and_then(Plaintext::decode)
                        .map(|sealed| sealed.record)
                }),
            };
        }
        // A record saved earlier in this request (after `cycle_id`, say): the one written to
        // the overflow store, or open what we sealed.
        let saved = state.saved.as_ref().filter(|saved| saved.id == *id)?;
        if let Some(record) = state.saved_record.as_deref().filter(|r| r.id == *id) {
            return Some(record.clone());
        }
        let value = self.shared.cookie.value_of(saved.header.as_bytes())?;
        self.shared
            .keys
            .open_detailed(&self.shared.config.name, value, self.now, MAX_VALUE_LEN)
            .ok()
            .map(|opened| opened.sealed.record)
    }

    fn delete_record(&self, id: &Id) {
        let mut state = self.state();
        if state.opened_id == Some(*id) {
            state.opened = None;
            state.plaintext = None;
            state.fallback = None;
            state.opened_id = None;
            state.opened_expiry = None;
        }
        if state.saved.as_ref().is_some_and(|saved| saved.id == *id) {
            state.saved = None;
        }
        state.deleted = true;
    }
}

#[async_trait]
impl SessionStore for RequestStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits and sessions live in cookies, so there is nothing to
        // collide with (overflow records are keyed by a hash of the id).
        self.save_record(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.save_record(record).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.load_record(session_id))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.delete_record(session_id);
        Ok(())
    }
}

/// Prints no session data and no cookie.
impl fmt::Debug for RequestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("RequestStore")
            .field("opened", &state.opened.is_some())
            .field("saved", &state.saved.is_some())
            .field("deleted", &state.deleted)
            .finish_non_exhaustive()
    }
}
