//! [`SessionManager`]: opens the session cookie before the inner service runs.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::COOKIE;
use http::{HeaderMap, Request, Response};
use time::OffsetDateTime;
use tower_service::Service;
use tower_sessions_core::Session;

use crate::backends::overflow::Overflow;
use crate::backends::revocation::{CookieSession, Revocation};
use crate::backends::tombstone;
use crate::format::seal::{MAX_VALUE_LEN, Opened};
use crate::key::KeyRing;
use crate::middleware::body::ResponseBody;
use crate::middleware::config::{Config, CookieTemplate, MAX_CHUNKS};
use crate::middleware::future::{Finished, Pending, ResponseFuture, unavailable};
use crate::middleware::request_store::RequestStore;

/// At most this many bytes of `Cookie` headers are inspected per request.
pub(crate) const MAX_COOKIE_HEADER_BYTES: usize = 64 * 1024;
/// At most this many `Cookie` header fields are inspected per request.
pub(crate) const MAX_COOKIE_HEADERS: usize = 64;
/// At most this many cookies with the session cookie's name are tried (one AEAD open each).
pub(crate) const MAX_CANDIDATES: usize = 4;

/// What every clone of the service shares: keys, configuration, prepared cookie strings.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) config: Config,
    pub(crate) cookie: CookieTemplate,
    pub(crate) revocation: Option<Arc<Revocation>>,
    pub(crate) overflow: Option<Arc<Overflow>>,
    /// Whether the layer has logged that sessions come close to the cookie budget.
    pub(crate) near_budget_warned: std::sync::atomic::AtomicBool,
}

/// Middleware that gives every request a `tower_sessions_core::Session` backed by a sealed
/// cookie. Built by [`SessionManagerLayer`](crate::SessionManagerLayer).
///
/// In `call` it reads the request's session cookie and opens it (one AEAD open), so the
/// `Session` the handler sees carries only an authenticated id. After the inner service
/// answers, [`ResponseFuture`] seals the session into a `Set-Cookie` if needed.
///
/// See the [crate-level example](crate).
#[derive(Debug, Clone)]
pub struct SessionManager<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> SessionManager<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The wrapped service.
    ///
    /// ```
    /// use tower::{Layer, service_fn};
    /// use tower_sessions_sealed::{KeyRing, SessionManagerLayer};
    ///
    /// let svc = service_fn(|_req: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// });
    /// let manager = SessionManagerLayer::new(KeyRing::generate()).layer(svc);
    /// let _inner = manager.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// What the request's cookies held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// No cookie with the session cookie's name.
    Absent,
    /// Only cookies that did not open (garbage, tampered, expired, unknown key...).
    Invalid,
    /// Several authentic cookies for different sessions (cookie tossing): none is used.
    Ambiguous,
    /// One authentic session.
    Valid {
        /// Sealed under an older key of the ring: re-seal under the newest.
        rotated: bool,
    },
}

/// The bounds are tower-sessions' own: with revocation, the inner service is called from
/// the response future once the store has answered, so it is cloned (the ready one moves
/// into the future, as `tower`'s guides describe).
impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionManager<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let now = OffsetDateTime::now_utc();
        let (mut incoming, mut opened) = read_session_cookie(req.headers(), &self.shared, now);
        let stored = opened
            .as_ref()
            .and_then(|opened| opened.revocation)
            .is_some_and(|fields| fields.stored);
        if stored && self.shared.overflow.is_none() {
            tracing::debug!(
                reason = "overflowed session, but no overflow store is configured",
                "session cookie rejected"
            );
            (incoming, opened) = (Incoming::Invalid, None);
        }
        let revocation = self.shared.revocation.as_deref();
        let cookie = opened.as_ref().and_then(|opened| {
            let needed = revocation.is_some() || self.shared.overflow.is_some();
            needed.then(|| CookieSession::of(opened, revocation))
        });
        let due = match (revocation, &opened) {
            (Some(revocation), Some(opened)) => {
                let checked_at = opened.revocation.and_then(|fields| fields.checked_at);
                revocation.check_due(checked_at, now)
            }
            _ => false,
        };
        if let (true, Some(cookie)) = (due || stored, &cookie) {
            let ready = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, ready);
            let checking = Checking {
                request: req,
                incoming,
                opened,
                cookie: cookie.clone(),
                check: due,
                stored,
            };
            return ResponseFuture::checking(Box::pin(checked_call(
                inner,
                checking,
                Arc::clone(&self.shared),
                now,
            )));
        }
        let pending = start(&self.shared, &mut req, incoming, opened, cookie, now, false);
        ResponseFuture::new(self.inner.call(req), pending)
    }
}

/// A request whose cookie needs the store first: a revocation check, or the data of an
/// overflowed session, or both.
struct Checking<ReqBody> {
    request: Request<ReqBody>,
    incoming: Incoming,
    opened: Option<Opened>,
    cookie: CookieSession,
    /// Ask the revocation store.
    check: bool,
    /// Load the data from the overflow store.
    stored: bool,
}

/// Gives the request its `Session` (over a fresh per-request store) and prepares what the
/// response future needs.
fn start<ReqBody>(
    shared: &Arc<Shared>,
    req: &mut Request<ReqBody>,
    incoming: Incoming,
    opened: Option<Opened>,
    cookie: Option<CookieSession>,
    now: OffsetDateTime,
    checked_now: bool,
) -> Pending {
    let id = opened.as_ref().map(|opened| opened.sealed.record.id);
    let store = Arc::new(RequestStore::new(
        Arc::clone(shared),
        opened,
        now,
        checked_now,
    ));
    let session = Session::new(id, Arc::clone(&store), shared.config.expiry);
    req.extensions_mut().insert(session.clone());
    Pending::new(session, store, Arc::clone(shared), incoming, cookie)
}

/// Asks the store about the cookie (the revocation check and the overflowed data, both at
/// once), then runs the request as [`SessionManager::call`] does: with its session if it is
/// not revoked and its data opened, with a fresh one (and the cookie removed) if it is
/// revoked or its stored record is missing, or not at all if the store failed (fail
/// closed: `503`).
async fn checked_call<S, ReqBody, ResBody>(
    mut inner: S,
    checking: Checking<ReqBody>,
    shared: Arc<Shared>,
    now: OffsetDateTime,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Send + 'static,
{
    let Checking {
        mut request,
        incoming,
        mut opened,
        cookie,
        check,
        stored,
    } = checking;
    let mut cookie = cookie;
    let revocation = shared.revocation.as_deref().filter(|_| check);
    let overflow = shared.overflow.as_deref().filter(|_| stored);
    let load = async {
        match overflow {
            Some(overflow) => overflow.load(cookie.id).await.map(Some),
            None => Ok(None),
        }
    };
    let (checked, loaded) = match revocation {
        // The subject is in the stored data: load it first, then check.
        Some(revocation) if overflow.is_some() && revocation.has_subject() => {
            let loaded = load.await;
            if let Ok(Some(Some(data))) = &loaded {
                cookie.subject = revocation.subject_of(data);
            }
            (revocation.is_revoked(&cookie).await.map(Some), loaded)
        }
        Some(revocation) => {
            let check = revocation.is_revoked(&cookie);
            let (checked, loaded) = tombstone::join(check, load).await;
            (checked.map(Some), loaded)
        }
        None => (Ok(None), load.await),
    };

    let mut checked_now = false;
    let mut refused = false;
    match checked {
        Ok(Some(false)) => checked_now = true,
        Ok(Some(true)) => {
            tracing::debug!(reason = "revoked", "session cookie rejected");
            refused = true;
        }
        Ok(None) => {}
        Err(err) if revocation.is_some_and(Revocation::fail_open) => tracing::warn!(
            error = %err,
            "revocation store failed; failing open: the session is accepted unchecked"
        ),
        Err(err) => {
            tracing::error!(
                error = %err,
                "revocation store failed; answering 503 (fail closed)"
            );
            return Ok(unavailable());
        }
    }
    match loaded {
        Ok(Some(Some(data))) => {
            if let Some(opened) = opened.as_mut() {
                opened.sealed.record.data = data;
            }
        }
        Ok(Some(None)) => {
            tracing::debug!(
                reason = "the overflowed session's record is missing or did not open",
                "session cookie rejected"
            );
            refused = true;
        }
        Ok(None) => {}
        Err(err) if refused => {
            tracing::debug!(error = %err, "overflow store failed for a revoked session");
        }
        Err(err) => {
            tracing::error!(
                error = %err,
                "overflow store failed; answering 503 (fail closed)"
            );
            return Ok(unavailable());
        }
    }
    let (incoming, opened, cookie) = if refused {
        (Incoming::Invalid, None, None)
    } else {
        (incoming, opened, Some(cookie))
    };
    let pending = start(
        &shared,
        &mut request,
        incoming,
        opened,
        cookie,
        now,
        checked_now,
    );
    let response = inner.call(request).await?;
    Ok(match pending.finish(response) {
        Finished::Done(response) => response,
        Finished::Save(future) => future.await,
    })
}

/// Finds the cookies named like the session cookie in the (bounded) `Cookie` headers and
/// opens them.
///
/// Duplicate names happen when a sibling subdomain or another path sets a cookie with the
/// same name ("cookie tossing"). Cookies that do not open are ignored; if the ones that do
/// open carry different session ids, none is used (the request gets a fresh session), so
/// an attacker's authentic cookie is never mixed with, or preferred to, the victim's.
pub(crate) fn read_session_cookie(
    headers: &HeaderMap,
    shared: &Shared,
    now: OffsetDateTime,
) -> (Incoming, Option<Opened>) {
    let name = &*shared.config.name;
    let chunks = shared.config.chunks;
    let mut candidates = 0;
    let mut chosen: Option<Opened> = None;
    let mut ambiguous = false;
    let mut budget = MAX_COOKIE_HEADER_BYTES;
    // With chunking, candidates are opened once every chunk cookie has been seen.
    let mut bases: [Option<&[u8]>; MAX_CANDIDATES] = [None; MAX_CANDIDATES];
    let mut parts: [Option<&[u8]>; MAX_CHUNKS] = [None; MAX_CHUNKS];

    'headers: for header in headers.get_all(COOKIE).iter().take(MAX_COOKIE_HEADERS) {
        let mut bytes = header.as_bytes();
        if bytes.len() > budget {
            // Inspect what fits, up to the last complete cookie; ignore the rest.
            tracing::debug!("Cookie headers over the inspection limit; the rest is ignored");
            let fits = bytes.get(..budget).unwrap_or_default();
            bytes = fits
                .iter()
                .rposition(|b| *b == b';')
                .and_then(|cut| fits.get(..cut))
                .unwrap_or_default();
            budget = 0;
        } else {
            budget -= bytes.len();
        }
        for (cookie_name, value) in cookie_pairs(bytes) {
            if cookie_name != name.as_bytes() {
                // A chunk: the first cookie of each chunk name counts.
                if chunks > 1
                    && let Some(index) = chunk_index(cookie_name, name, chunks)
                    && let Some(slot @ None) = parts.get_mut(index)
                {
                    *slot = Some(value);
                }
                continue;
            }
            candidates += 1;
            if candidates > MAX_CANDIDATES {
                tracing::debug!("too many session cookies in one request; the rest is ignored");
                break 'headers;
            }
            if chunks > 1 {
                if let Some(slot) = bases.get_mut(candidates - 1) {
                    *slot = Some(value);
                }
            } else {
                consider(
                    shared,
                    value,
                    MAX_VALUE_LEN,
                    now,
                    &mut chosen,
                    &mut ambiguous,
                );
            }
        }
    }
    for base in bases.into_iter().flatten() {
        match crate::middleware::chunks::parse_base(base) {
            None => consider(
                shared,
                base,
                MAX_VALUE_LEN,
                now,
                &mut chosen,
                &mut ambiguous,
            ),
            Some((count, first)) => match reassemble(first, count, &parts, chunks) {
                Some(value) => {
                    let max_len = MAX_VALUE_LEN * count;
                    consider(shared, &value, max_len, now, &mut chosen, &mut ambiguous);
                }
                None => tracing::debug!(
                    reason = "chunked session cookie with a bad count or missing chunks",
                    "session cookie rejected"
                ),
            },
        }
    }

    if ambiguous {
        tracing::debug!(
            reason = "several authentic session cookies with different ids",
            "session cookies ignored"
        );
        return (Incoming::Ambiguous, None);
    }
    match chosen {
        Some(opened) => (
            Incoming::Valid {
                rotated: !opened.by_primary,
            },
            Some(opened),
        ),
        None if candidates > 0 => (Incoming::Invalid, None),
        None => (Incoming::Absent, None),
    }
}

/// Opens one candidate value and keeps it unless another authentic one names another
/// session (then neither is used).
/// `max_len`: one cookie's cap, or the count of a chunked one times it.
fn consider(
    shared: &Shared,
    value: &[u8],
    max_len: usize,
    now: OffsetDateTime,
    chosen: &mut Option<Opened>,
    ambiguous: &mut bool,
) {
    let config = &shared.config;
    let opened = match shared.keys.open_detailed(&config.name, value, now, max_len) {
        Ok(opened) => opened,
        Err(reason) => {
            tracing::debug!(reason = reason.as_str(), "session cookie rejected");
            return;
        }
    };
    if let Some(end) = config.lifetime_end(opened.sealed.created_at)
        && end <= now
    {
        tracing::debug!(
            reason = "maximum lifetime reached",
            "session cookie rejected"
        );
        return;
    }
    match chosen {
        None => *chosen = Some(opened),
        Some(first) if first.sealed.record.id == opened.sealed.record.id => {}
        Some(_) => *ambiguous = true,
    }
}

/// `i` if `cookie_name` is `name.i`, 1 ≤ i < `chunks`.
fn chunk_index(cookie_name: &[u8], name: &str, chunks: usize) -> Option<usize> {
    let rest = cookie_name
        .strip_prefix(name.as_bytes())?
        .strip_prefix(b".")?;
    let index = match rest {
        [digit @ b'1'..=b'9'] => usize::from(digit - b'0'),
        _ => return None,
    };
    (index < chunks).then_some(index)
}

/// The whole value of a chunked cookie: its first part and chunks 1..count, or `None` if
/// the count is out of range or a chunk is missing.
fn reassemble(
    first: &[u8],
    count: usize,
    parts: &[Option<&[u8]>],
    chunks: usize,
) -> Option<Vec<u8>> {
    if !(2..=chunks).contains(&count) {
        return None;
    }
    let rest = parts.get(1..count)?;
    let len = first.len()
        + rest
            .iter()
            .map(|part| part.map_or(0, <[u8]>::len))
            .sum::<usize>();
    let mut value = Vec::with_capacity(len);
    value.extend_from_slice(first);
    for part in rest {
        value.extend_from_slice((*part)?);
    }
    Some(value)
}

/// The `name=value` pairs of one `Cookie` header field (RFC 6265 §4.2.1, parsed leniently
/// as §5.4 and browsers do): pairs separated by `;`, whitespace around names and values
/// ignored, pieces without `=` skipped. Values are taken as they are (a quoted value keeps
/// its quotes, and so is never a sealed value).
///
/// Works on bytes: the session cookie's value is base64url, so nothing needs to be valid
/// UTF-8, and no other cookie is decoded or copied (this replaced `cookie::Cookie::
/// split_parse` after UTF-8 validation, which cost several passes over the whole header).
fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b';', header).chain(std::iter::once(header.len()));
    std::iter::from_fn(move || {
        let end = ends.next()?;
        let pair = header.get(start..end).unwrap_or_default();
        start = end + 1;
        Some(pair)
    })
    .filter_map(|pair| {
        let eq = memchr::memchr(b'=', pair)?;
        let (name, value) = pair.split_at(eq);
        Some((name.trim_ascii(), value.get(1..)?.trim_ascii()))
    })
}

#[cfg(test)]
mod tests {
    use super::cookie_pairs;

    #[test]
    fn cookie_pairs_split_like_browsers_send_them() {
        let pairs: Vec<_> = cookie_pairs(b" a=1;b = 2 ;;c=\"q\"; d=x=y; noeq ;e=; =v\xff")
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        let expected: Vec<(&[u8], &[u8])> = vec![
            (b"a", b"1"),
            (b"b", b"2"),
            (b"c", b"\"q\""),
            (b"d", b"x=y"),
            (b"e", b""),
            (b"", b"v\xff"),
        ];
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(pairs, expected);
    }
}
