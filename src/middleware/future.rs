//! [`ResponseFuture`]: after the inner service answers, decides what the response says
//! about the session cookie.
//!
//! Decision order (first match wins), for a session the handler did **not** modify:
//! 1. `delete` was called and the request had a session cookie → removal cookie;
//! 2. the handler called `save` explicitly → that `Set-Cookie` (unless 5xx);
//! 3. valid cookie, not 5xx, and a refresh is due (key rotated, `always_save`, or sliding
//!    `OnInactivity` expiry past its refresh share) → re-sealed `Set-Cookie`;
//! 4. the request's session cookie did not open → removal cookie;
//! 5. otherwise nothing.
//!
//! For a **modified** session (which needs the async `Session` API):
//! 1. the session is empty (flushed, or emptied with no id) → removal cookie if the request
//!    had one, whatever the status;
//! 2. 5xx → nothing is saved (the client keeps its previous cookie); an invalid incoming
//!    cookie is still removed;
//! 3. otherwise `Session::save` seals it → `Set-Cookie`; if it cannot be sealed (too large),
//!    the response is replaced by a `500` with a short body and no `Set-Cookie`.
//!
//! With revocation, a response whose action ends the request's authentic session (removes
//! its cookie, or sets a cookie with another id) is sent only after the old id's tombstone
//! is written; if that write fails the response is a `503` without `Set-Cookie` (unless
//! failing open). Before any of this, the service may have checked the cookie against the
//! store (the `Checking` state).
//!
//! Every response gets `Vary: Cookie`; every response that sets or removes the cookie gets
//! `Cache-Control: no-store` unless the application set a `Cache-Control` itself.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;
use time::OffsetDateTime;
use tower_sessions_core::{Expiry, Session};

use crate::backends::revocation::CookieSession;
use crate::middleware::body::ResponseBody;
use crate::middleware::request_store::{RequestStore, Saved};
use crate::middleware::service::{Incoming, Shared};

type SaveFuture<B> = Pin<Box<dyn Future<Output = Response<ResponseBody<B>>> + Send>>;
type CheckFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

/// Body of the `500` answered when a modified session cannot be sealed.
const SAVE_FAILED_BODY: &str = "session could not be saved\n";
/// Body of the `503` answered when the revocation store fails (fail closed).
const UNAVAILABLE_BODY: &str = "session store unavailable\n";

pin_project! {
    /// Response future of [`SessionManager`](crate::SessionManager).
    ///
    /// See the [crate-level example](crate).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        // The revocation store is being asked; the inner service runs after it answers.
        Checking {
            future: CheckFuture<B, E>,
        },
        Inner {
            #[pin]
            future: F,
            pending: Option<Pending>,
        },
        Saving {
            future: SaveFuture<B>,
        },
        Done,
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn new(future: F, pending: Pending) -> Self {
        Self {
            state: State::Inner {
                future,
                pending: Some(pending),
            },
        }
    }

    pub(crate) fn checking(future: CheckFuture<B, E>) -> Self {
        Self {
            state: State::Checking { future },
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Send + 'static,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking { future } => {
                    let output = ready!(future.as_mut().poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(output);
                }
                StateProj::Inner { future, pending } => {
                    let response = ready!(future.poll(cx))?;
                    let Some(pending) = pending.take() else {
                        return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                    };
                    match pending.finish(response) {
                        Finished::Done(response) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(response));
                        }
                        Finished::Save(future) => this.state.set(State::Saving { future }),
                    }
                }
                StateProj::Saving { future } => {
                    let response = ready!(future.as_mut().poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}

/// The answer when the revocation store fails and the layer fails closed: `503`, no
/// `Set-Cookie` (the client keeps its cookie and can retry), not cacheable.
pub(crate) fn unavailable<B>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::message(UNAVAILABLE_BODY));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    add_vary_cookie(headers);
    response
}

/// What the service hands to its response future.
pub(crate) struct Pending {
    session: Session,
    store: Arc<RequestStore>,
    shared: Arc<Shared>,
    incoming: Incoming,
    /// The request's authentic session, when revocation is on (its tombstone is written if
    /// the response ends it).
    cookie: Option<CookieSession>,
}

/// What [`Pending::finish`] leaves to do.
pub(crate) enum Finished<B> {
    /// The response is ready.
    Done(Response<ResponseBody<B>>),
    /// The session must be saved or its tombstone written first.
    Save(SaveFuture<B>),
}

enum Action {
    Nothing,
    Set(Saved),
    Remove,
    /// Re-seal an unmodified overflowed session: its record is written again first.
    RefreshStored,
}

impl Pending {
    pub(crate) fn new(
        session: Session,
        store: Arc<RequestStore>,
        shared: Arc<Shared>,
        incoming: Incoming,
        cookie: Option<CookieSession>,
    ) -> Self {
        Self {
            session,
            store,
            shared,
            incoming,
            cookie,
        }
    }

    pub(crate) fn finish<B: Send + 'static>(self, response: Response<B>) -> Finished<B> {
        if self.session.is_modified() {
            return Finished::Save(Box::pin(self.finish_modified(response)));
        }
        let action = self.unmodified_action(response.status().is_server_error());
        let response = response.map(ResponseBody::inner);
        if matches!(action, Action::RefreshStored) {
            return Finished::Save(Box::pin(self.refresh_stored(response)));
        }
        if self.ends_session(&action).is_some() {
            return Finished::Save(Box::pin(self.conclude(response, action)));
        }
        Finished::Done(self.apply(response, action))
    }

    /// Re-seals an unmodified overflowed session (its record is written again with the new
    /// expiry); a store failure is a `503`.
    async fn refresh_stored<B>(
        self,
        response: Response<ResponseBody<B>>,
    ) -> Response<ResponseBody<B>> {
        let action = match self.store.reseal_stored().await {
            Some(Ok(saved)) => Action::Set(saved),
            Some(Err(err)) => {
                tracing::error!(
                    error = %err,
                    "overflow store failed while re-sealing; answering 503 (fail closed)"
                );
                return unavailable();
            }
            None => Action::Nothing,
        };
        self.conclude(response, action).await
    }

    /// The request's authentic session, if `action` ends it: removes its cookie, or
    /// replaces it with one for another id (`cycle_id`).
    fn ends_session(&self, action: &Action) -> Option<&CookieSession> {
        let cookie = self.cookie.as_ref()?;
        let ends = match action {
            Action::Nothing | Action::RefreshStored => false,
            Action::Remove => true,
            Action::Set(saved) => saved.id != cookie.id,
        };
        ends.then_some(cookie)
    }

    /// Writes the tombstone of a session `action` ends (fail closed: a `503` without
    /// `Set-Cookie` if the store fails), then applies `action`.
    async fn conclude<B>(
        self,
        response: Response<ResponseBody<B>>,
        action: Action,
    ) -> Response<ResponseBody<B>> {
        if let (Some(cookie), Some(revocation)) =
            (self.ends_session(&action), self.shared.revocation.as_ref())
            && let Err(err) = revocation.end(cookie, OffsetDateTime::now_utc()).await
        {
            if !revocation.fail_open() {
                tracing::error!(
                    error = %err,
                    "the ended session's tombstone could not be written; answering 503 \
                     (fail closed)"
                );
                return unavailable();
            }
            tracing::warn!(
                error = %err,
                "the ended session's tombstone could not be written; failing open: copies \
                 of its cookie stay valid"
            );
        }
        if let (Some(cookie), Some(overflow)) =
            (self.ends_session(&action), self.shared.overflow.as_ref())
            && self.store.incoming_stored()
            && let Err(err) = overflow.delete(cookie.id).await
        {
            tracing::warn!(
                error = %err,
                "the ended session's overflow record could not be deleted; it expires by itself"
            );
        }
        self.apply(response, action)
    }

    /// The session's id and data are exactly what the request's cookie carried.
    fn unmodified_action(&self, server_error: bool) -> Action {
        let had_cookie = self.incoming != Incoming::Absent;
        if self.store.is_deleted() {
            return if had_cookie {
                Action::Remove
            } else {
                Action::Nothing
            };
        }
        if let Some(saved) = self.store.take_saved() {
            // An explicit `save()` on an unmodified session: send what it sealed (upstream
            // sends nothing here, tower-sessions issue #195).
            if !server_error {
                return Action::Set(saved);
            }
        }
        match self.incoming {
            Incoming::Valid { rotated }
                if !server_error && self.refresh_due(rotated) && self.store.incoming_stored() =>
            {
                Action::RefreshStored
            }
            Incoming::Valid { rotated } if !server_error && self.refresh_due(rotated) => {
                match self.store.reseal_opened() {
                    Some(Ok(saved)) => Action::Set(saved),
                    Some(Err(err)) => {
                        tracing::error!(error = %err, "session cookie could not be re-sealed");
                        Action::Nothing
                    }
                    None => Action::Nothing,
                }
            }
            Incoming::Invalid => Action::Remove,
            _ => Action::Nothing,
        }
    }

    /// Whether an unmodified valid session is re-issued on this response.
    fn refresh_due(&self, rotated: bool) -> bool {
        let config = &self.shared.config;
        if rotated || config.always_save {
            return true;
        }
        // An amortized revocation check carries its time in the cookie.
        if self.store.checked_now()
            && self
                .shared
                .revocation
                .as_ref()
                .is_some_and(|revocation| revocation.revalidates())
        {
            return true;
        }
        let expiry = self.session.expiry();
        let Some(Expiry::OnInactivity(window)) = expiry else {
            return false;
        };
        let Some(current) = self.store.opened_expiry() else {
            return false;
        };
        let gain = self.store.next_expiry(expiry) - current;
        gain.is_positive()
            && gain.as_seconds_f64() >= config.refresh_after * window.as_seconds_f64()
    }

    async fn finish_modified<B>(self, response: Response<B>) -> Response<ResponseBody<B>> {
        let server_error = response.status().is_server_error();
        let action = if self.session.is_empty().await {
            if self.incoming == Incoming::Absent {
                Action::Nothing
            } else {
                Action::Remove
            }
        } else if server_error {
            if self.incoming == Incoming::Invalid {
                Action::Remove
            } else {
                Action::Nothing
            }
        } else {
            self.store.set_expiry(self.session.expiry());
            match self.session.save().await {
                Ok(()) => match self.store.take_saved() {
                    Some(saved) => Action::Set(saved),
                    // Emptied, with revocation: the session ended.
                    None if self.store.is_deleted() && self.incoming != Incoming::Absent => {
                        Action::Remove
                    }
                    None => Action::Nothing,
                },
                Err(err) if self.store.store_failed() => {
                    tracing::error!(
                        error = %err,
                        "overflow store failed; answering 503 without Set-Cookie (fail closed)"
                    );
                    return unavailable();
                }
                Err(err) => {
                    tracing::error!(
                        error = %err,
                        "session could not be saved; answering 500 without Set-Cookie"
                    );
                    let mut failed = Response::new(ResponseBody::message(SAVE_FAILED_BODY));
                    *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    failed.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    return self.apply(failed, Action::Nothing);
                }
            }
        };
        let response = response.map(ResponseBody::inner);
        if self.ends_session(&action).is_none() {
            return self.apply(response, action);
        }
        // Only with a store (revocation or overflow): kept in its own allocation so that the
        // stateless path's future stays small.
        Box::pin(self.conclude(response, action)).await
    }

    fn apply<B>(
        &self,
        mut response: Response<ResponseBody<B>>,
        action: Action,
    ) -> Response<ResponseBody<B>> {
        let headers = response.headers_mut();
        add_vary_cookie(headers);
        let template = &self.shared.cookie;
        // With chunking, every write removes the chunk indices it does not use, up to the
        // cap (another tab may have written more than this request saw).
        let unused = match action {
            Action::Nothing | Action::RefreshStored => return response,
            Action::Set(saved) => {
                headers.append(SET_COOKIE, saved.header);
                let used = saved.chunks.len();
                for chunk in saved.chunks {
                    headers.append(SET_COOKIE, chunk);
                }
                used
            }
            Action::Remove => {
                headers.append(SET_COOKIE, template.removal.clone());
                0
            }
        };
        for removal in template.chunk_removals.iter().skip(unused) {
            headers.append(SET_COOKIE, removal.clone());
        }
        if !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

/// Adds `Vary: Cookie` unless the response already varies on it (or on everything).
fn add_vary_cookie(headers: &mut HeaderMap) {
    let varies = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .map(str::trim)
                .any(|field| field == "*" || field.eq_ignore_ascii_case("cookie"))
        })
    });
    if !varies {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}
