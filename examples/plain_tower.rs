//! The session layer without axum: a `tower::service_fn` served by hyper 1 + hyper-util.
//!
//! ```text
//! cargo run --example plain_tower
//! curl -c jar -b jar http://127.0.0.1:3001/    # 1, then 2, 3, ... with the cookie jar
//! ```
//!
//! The layer puts a `tower_sessions_sealed::Session` (the tower-sessions `Session`) into
//! the request's extensions; the handler takes it from there and keeps a counter in it.
//! `hyper_util::service::TowerToHyperService` adapts the tower service for hyper.
//!
//! Keys come from `SESSION_KEYS` when it is set (see `cargo run --example keygen`);
//! otherwise a random key is used and the sessions die with the process.

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::Layer as _;
use tower::service_fn;
use tower_sessions_sealed::{Expiry, KeyRing, KeyRingError, Session, SessionManagerLayer};

const ADDR: &str = "127.0.0.1:3001";
const KEYS_VAR: &str = "SESSION_KEYS";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("plain_tower: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let keys = match KeyRing::from_env(KEYS_VAR) {
        Ok(keys) => keys,
        Err(KeyRingError::MissingVar { .. }) => {
            eprintln!(
                "WARNING: {KEYS_VAR} is not set; using a random key (sessions end with this \
                 process and are not shared). Set it with: \
                 export {KEYS_VAR}=$(cargo run -q --example keygen)"
            );
            KeyRing::generate()
        }
        Err(err) => return Err(format!("invalid session keys: {err}")),
    };

    let layer = SessionManagerLayer::new(keys)
        // Plain http on localhost: browsers would not send a `Secure` cookie back. Keep the
        // default (`true`) anywhere else.
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(30)));
    layer
        .check()
        .map_err(|err| format!("session layer configuration: {err}"))?;

    // `SessionManager<ServiceFn<_>>`: a plain tower service, cloned for every connection.
    let service = layer.layer(service_fn(handle));

    let listener = tokio::net::TcpListener::bind(ADDR)
        .await
        .map_err(|err| format!("cannot listen on {ADDR}: {err}"))?;
    eprintln!("plain_tower listening on http://{ADDR} (Ctrl-C to stop)");

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    eprintln!("accept failed: {err}");
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection from {peer}: {err}");
            }
        });
    }
    eprintln!("plain_tower stopped");
    Ok(())
}

/// Counts the requests of one session.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        // Only if the service is used without the layer.
        return Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no session layer\n".to_owned(),
        ));
    };
    match count(&session).await {
        Ok(n) => Ok(text(
            StatusCode::OK,
            format!("request {n} of this session (path {})\n", req.uri().path()),
        )),
        Err(err) => {
            eprintln!("session error: {err}");
            Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "session error\n".to_owned(),
            ))
        }
    }
}

async fn count(session: &Session) -> Result<u64, tower_sessions_sealed::session::Error> {
    let n = session
        .get::<u64>("n")
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    session.insert("n", n).await?;
    Ok(n)
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
